#![no_main]
//! Code parsing: never panics, and a parsed code prints as digits that parse to the same code.

use libfuzzer_sys::fuzz_target;
use mfa_otp::Code;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(code) = Code::parse(text) {
        let printed = code.to_string();
        assert_eq!(printed.len(), usize::from(code.digits()));
        assert!(printed.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(Code::parse(&printed).expect("printed code parses"), code);
    }
});
