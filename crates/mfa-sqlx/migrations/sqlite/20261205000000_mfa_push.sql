-- Push approvals (mfa-push): push apps found by their device id whoever their user is, push enrollments
-- by their offer's id, one outstanding push per user, the run of unanswered pushes (MFA fatigue), and the
-- nonces of device requests (replay protection).

-- The user's run of pushes denied, reported or left unanswered (mfa_policy::PushStrikes): reset with the
-- failure counter by a successful verification. push_strikes_since: the run's first strike, milliseconds.
ALTER TABLE mfa_users ADD COLUMN push_strikes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mfa_users ADD COLUMN push_strikes_since INTEGER;

-- The device id (mfa_push::DeviceId text) of a push app, NULL for other methods: device requests carry
-- only it. Unique across users.
ALTER TABLE mfa_methods ADD COLUMN push_device TEXT;
CREATE UNIQUE INDEX mfa_methods_push_device ON mfa_methods (push_device);

-- The offer's id (mfa_push::EnrollmentId text) of a pending push app, NULL for other registrations: the
-- device answers with it alone. Unique across users.
ALTER TABLE mfa_pending ADD COLUMN push_enrollment TEXT;
CREATE UNIQUE INDEX mfa_pending_push_enrollment ON mfa_pending (push_enrollment);

-- At most one outstanding push per user: the challenge the device signs over and the tag of the number the
-- sign-in page shows, never the number. record: JSON of mfa::store::PushChallenge; the column state
-- (mfa::store::PushState's name) is authoritative: it moves by a conditional UPDATE when the push is
-- answered, and replaces the record's state when read.
CREATE TABLE mfa_push_challenges (
    user_id      TEXT    NOT NULL PRIMARY KEY REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    challenge_id TEXT    NOT NULL,
    method_id    BLOB    NOT NULL,
    state        TEXT    NOT NULL,
    expires_at   INTEGER NOT NULL,
    record       TEXT    NOT NULL
);

-- Nonces of accepted device requests, each kept until keep_until (milliseconds) so that a request is
-- accepted once. Not per user (kept when a user is deleted); pruned once past keep_until.
CREATE TABLE mfa_push_nonces (
    device_id  TEXT    NOT NULL,
    nonce      BLOB    NOT NULL,
    keep_until INTEGER NOT NULL,
    PRIMARY KEY (device_id, nonce)
);
CREATE INDEX mfa_push_nonces_keep_until ON mfa_push_nonces (keep_until);
