#![no_main]
//! otpauth:// Key URI parsing: never panics; whatever parses and builds back parses to the same credential,
//! in both issuer-conflict modes.

use libfuzzer_sys::fuzz_target;
use mfa_enroll::{IssuerConflict, KeyUri};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for conflict in [IssuerConflict::Reject, IssuerConflict::PreferParameter] {
        if let Ok(key) = KeyUri::parse_with(text, conflict) {
            if let Ok(uri) = key.to_uri() {
                let again = KeyUri::parse(uri.as_str()).expect("a built URI parses");
                assert_eq!(again, key);
            }
            let _ = key.to_totp();
            let _ = key.to_hotp();
        }
    }
});
