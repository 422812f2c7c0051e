-- mfa-sqlx schema for PostgreSQL (11 or later). Run by PgStore::migrate(), or by your own migration tool
-- (the tables are created in the first schema of the search_path).
-- Secrets never reach these tables: TOTP secrets are ciphertext inside the JSON records, codes and tokens
-- are 32-byte tags (HMAC-SHA-256 or SHA-256), app passwords are argon2id hashes.

-- One row per user: the user's settings (JSON of mfa::UserRecord, NULL until first written) and the
-- failure counter. Every write transaction of a user starts by locking this row (an upsert), which
-- serialises the user's writes across all service instances.
CREATE TABLE mfa_users (
    user_id      TEXT   NOT NULL PRIMARY KEY,
    record       TEXT,
    failures     BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT
);

-- Registered methods in insertion order (seq). record: JSON of mfa::MethodRecord; for authenticator
-- apps the column last_accepted_step is authoritative (it moves by a conditional UPDATE).
CREATE TABLE mfa_methods (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            TEXT   NOT NULL REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    method_id          BYTEA  NOT NULL,
    kind               TEXT   NOT NULL,
    last_accepted_step BIGINT,
    record             TEXT   NOT NULL,
    UNIQUE (user_id, method_id)
);

-- At most one pending enrollment per user. record: JSON of mfa::PendingEnrollment.
CREATE TABLE mfa_pending (
    user_id   TEXT  NOT NULL PRIMARY KEY REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    method_id BYTEA NOT NULL,
    record    TEXT  NOT NULL
);

-- At most one outstanding phone code per user: its tag, never the code. record: JSON of
-- mfa::PhoneChallenge.
CREATE TABLE mfa_phone_challenges (
    user_id    TEXT   NOT NULL PRIMARY KEY REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    tag        BYTEA  NOT NULL,
    expires_at BIGINT NOT NULL,
    record     TEXT   NOT NULL
);

-- One row per phone number ever sent a code: locked (an upsert) while a send is checked and recorded,
-- which serialises the per-number limit across users and instances.
CREATE TABLE mfa_phone_numbers (
    number TEXT NOT NULL PRIMARY KEY
);

-- Phone codes sent, for the send limits (per user and per number). Kept when a user is deleted, so
-- deleting and re-creating a user does not reset the limits; pruned once older than the window.
CREATE TABLE mfa_phone_sends (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id TEXT   NOT NULL,
    number  TEXT   NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX mfa_phone_sends_user ON mfa_phone_sends (user_id, sent_at);
CREATE INDEX mfa_phone_sends_number ON mfa_phone_sends (number, sent_at);

-- Unused recovery codes: HMAC tags.
CREATE TABLE mfa_recovery_codes (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id TEXT   NOT NULL REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    tag     BYTEA  NOT NULL
);
CREATE INDEX mfa_recovery_codes_user_tag ON mfa_recovery_codes (user_id, tag);

-- App passwords in insertion order. record: JSON of mfa_app_password::AppPasswordRecord (argon2id hash).
CREATE TABLE mfa_app_passwords (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     TEXT   NOT NULL REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    password_id BYTEA  NOT NULL,
    record      TEXT   NOT NULL,
    UNIQUE (user_id, password_id)
);

-- Remembered devices: the SHA-256 of each device's token, never the token.
CREATE TABLE mfa_devices (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      TEXT   NOT NULL REFERENCES mfa_users (user_id) ON DELETE CASCADE,
    device_id    BYTEA  NOT NULL,
    token_hash   BYTEA  NOT NULL,
    name         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    UNIQUE (user_id, device_id)
);
CREATE INDEX mfa_devices_user_token ON mfa_devices (user_id, token_hash);
