#![no_main]
//! Base32 secret decoding: never panics, and whatever decodes re-encodes canonically and decodes back.

use libfuzzer_sys::fuzz_target;
use mfa_otp::{Secret, SecretRule};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(secret) = Secret::from_base32_with(text, SecretRule::AllowAnyLength) {
        let canonical = secret.to_base32();
        let again =
            Secret::from_base32_with(&canonical, SecretRule::AllowAnyLength).expect("canonical decodes");
        assert_eq!(again.expose_bytes(), secret.expose_bytes());
    }
});
