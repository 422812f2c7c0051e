-- mfa-sqlx schema for SQLite (3.35 or later). Run by SqliteStore::migrate(), or by your own migration tool.
-- Secrets never reach these tables: TOTP secrets are ciphertext inside the JSON records, codes and tokens
-- are 32-byte tags (HMAC-SHA-256 or SHA-256), app passwords are argon2id hashes.

-- One row per user: the user's settings (JSON of mfa::UserRecord, NULL until first written) and the
-- failure counter. Every write transaction of a user starts by writing this row.
CREATE TABLE mfa_users (
    user_id      TEXT    NOT NULL PRIMARY KEY,
    record       TEXT,
    failures     INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER
);

-- Registered methods in insertion order (seq). record: JSON of mfa::MethodRecord; for authenticator
-- apps the column last_accepted_step is authoritative (it moves by a conditional UPDATE).
CREATE TABLE mfa_methods (
    seq                INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id            TEXT    NOT NULL REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    method_id          BLOB    NOT NULL,
    kind               TEXT    NOT NULL,
    last_accepted_step INTEGER,
    record             TEXT    NOT NULL,
    UNIQUE (user_id, method_id)
);

-- At most one pending enrollment per user. record: JSON of mfa::PendingEnrollment.
CREATE TABLE mfa_pending (
    user_id   TEXT NOT NULL PRIMARY KEY REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    method_id BLOB NOT NULL,
    record    TEXT NOT NULL
);

-- At most one outstanding phone code per user: its tag, never the code. record: JSON of
-- mfa::PhoneChallenge.
CREATE TABLE mfa_phone_challenges (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    tag        BLOB    NOT NULL,
    expires_at INTEGER NOT NULL,
    record     TEXT    NOT NULL
);

-- Phone codes sent, for the send limits (per user and per number). Kept when a user is deleted, so
-- deleting and re-creating a user does not reset the limits; pruned once older than the window.
CREATE TABLE mfa_phone_sends (
    seq     INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id TEXT    NOT NULL,
    number  TEXT    NOT NULL,
    sent_at INTEGER NOT NULL
);
CREATE INDEX mfa_phone_sends_user ON mfa_phone_sends (user_id, sent_at);
CREATE INDEX mfa_phone_sends_number ON mfa_phone_sends (number, sent_at);

-- Unused recovery codes: HMAC tags.
CREATE TABLE mfa_recovery_codes (
    seq     INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id TEXT    NOT NULL REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    tag     BLOB    NOT NULL
);
CREATE INDEX mfa_recovery_codes_user_tag ON mfa_recovery_codes (user_id, tag);

-- App passwords in insertion order. record: JSON of mfa_app_password::AppPasswordRecord (argon2id hash).
CREATE TABLE mfa_app_passwords (
    seq         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT    NOT NULL REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    password_id BLOB    NOT NULL,
    record      TEXT    NOT NULL,
    UNIQUE (user_id, password_id)
);

-- Remembered devices: the SHA-256 of each device's token, never the token.
CREATE TABLE mfa_devices (
    seq          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id      TEXT    NOT NULL REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    device_id    BLOB    NOT NULL,
    token_hash   BLOB    NOT NULL,
    name         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    UNIQUE (user_id, device_id)
);
CREATE INDEX mfa_devices_user_token ON mfa_devices (user_id, token_hash);
