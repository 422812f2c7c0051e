-- Passkeys (WebAuthn): a passkey is a method like the others (kind 'passkey', its credential in the
-- method's record); the outstanding sign-in challenge is kept here.

-- At most one outstanding passkey challenge per user, used once by the verification that answers it,
-- right or wrong. record: JSON of mfa::store::PasskeyChallenge; expires_at: milliseconds.
CREATE TABLE mfa_passkey_challenges (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    record     TEXT    NOT NULL
);
