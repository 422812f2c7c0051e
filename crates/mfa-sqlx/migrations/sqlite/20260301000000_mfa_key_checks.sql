-- Key check values (mfa::Mfa::check_keys): for each key of the key ring (key_name 'key-ring/<id>') and
-- the tag secret ('tag-secret'), an HMAC-SHA-256 of a fixed label under a subkey of the key, never the
-- key. Written once per key (INSERT ... ON CONFLICT DO NOTHING) and never updated: a start-up with a
-- key whose check differs is refused. Delete the 'tag-secret' row only to replace the tag secret on
-- purpose.
CREATE TABLE mfa_key_checks (
    key_name    TEXT NOT NULL PRIMARY KEY,
    check_value BLOB NOT NULL
);
