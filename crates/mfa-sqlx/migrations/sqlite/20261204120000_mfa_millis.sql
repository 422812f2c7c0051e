-- Instants become milliseconds since the Unix epoch (they were whole seconds), so that a revocation and a
-- verification made in the same second keep their order. The JSON records need no change: their instants
-- read as seconds with an optional fraction.
UPDATE mfa_users SET locked_until = locked_until * 1000 WHERE locked_until IS NOT NULL;
UPDATE mfa_phone_challenges SET expires_at = expires_at * 1000;
UPDATE mfa_phone_sends SET sent_at = sent_at * 1000;
UPDATE mfa_devices SET created_at = created_at * 1000, last_used_at = last_used_at * 1000;
