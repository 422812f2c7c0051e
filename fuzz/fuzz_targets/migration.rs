#![no_main]
//! Authenticator export parsing: the protocol buffer from raw bytes and the whole URI from text never panic;
//! whatever parses and exports back parses to the same credentials.

use libfuzzer_sys::fuzz_target;
use mfa_enroll::Migration;

fn check(migration: Migration) {
    if let Ok(uri) = migration.to_uri() {
        let again = Migration::parse(uri.as_str()).expect("an exported URI parses");
        assert_eq!(again, migration);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Migration::from_protobuf(data) {
        check(m);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(m) = Migration::parse(text)
    {
        check(m);
    }
});
