#![no_main]
//! Keys from text (the environment or a file): `KeyRing::parse` and `TagSecret::parse` accept what
//! they document or refuse it with a typed error, never a panic.

use libfuzzer_sys::fuzz_target;
use mfa::{KeyRing, TagSecret};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = KeyRing::parse(text);
    let _ = TagSecret::parse(text);
});
