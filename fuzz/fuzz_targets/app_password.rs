#![no_main]
//! App password input: PHC strings (parse, re-encode, verify under small limits) and passwords as typed
//! (normalisation). Never panics; parsed strings round-trip; normalised text is lowercase letters and a
//! fixed point.

use libfuzzer_sys::fuzz_target;
use mfa_app_password::{Argon2Hash, Argon2Params, Hasher, Limits, normalize};

// Small limits keep each argon2 run in the fuzzer under a millisecond.
const LIMITS: Limits = Limits {
    max_m_kib: 64,
    max_t: 2,
    max_p: 2,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line is the typed password, the rest the PHC string.
    let (typed, phc) = text.split_once('\n').unwrap_or((text, text));

    if let Some(n) = normalize(typed) {
        assert!(!n.is_empty() && n.len() <= 256);
        assert!(n.bytes().all(|b| b.is_ascii_lowercase()));
        assert_eq!(normalize(&n).as_deref().map(String::as_str), Some(n.as_str()));
    }

    let hasher = Hasher::new(Argon2Params { m_kib: 8, t: 1, p: 1 }, LIMITS).expect("valid parameters");
    match Argon2Hash::parse(phc, &LIMITS) {
        Ok(parsed) => {
            let encoded = parsed.to_string();
            assert_eq!(
                Argon2Hash::parse(&encoded, &LIMITS).expect("re-encoding parses"),
                parsed
            );
            let p = parsed.params();
            assert!(p.m_kib <= 64 && p.t <= 2 && p.p <= 2);
            let verified = hasher
                .verify(typed, phc)
                .expect("a parsed string verifies without error");
            let _ = hasher.needs_rehash(phc).expect("a parsed string is judged");
            if verified {
                assert!(normalize(typed).is_some());
            }
        }
        Err(_) => assert!(hasher.verify(typed, phc).is_err()),
    }
});
