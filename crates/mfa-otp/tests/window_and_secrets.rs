//! Window, replay, resynchronisation and secret-rule behaviour, by example and by property.
#![allow(clippy::unwrap_used)]

use mfa_otp::{Algorithm, Code, Error, Hotp, HotpParams, Secret, SecretRule, Totp, TotpParams, Window};
use proptest::prelude::*;

fn rfc_secret() -> Secret {
    Secret::from_bytes(b"12345678901234567890").unwrap()
}

#[test]
fn window_bounds_are_exact() {
    let totp = Totp::new(&rfc_secret(), TotpParams::default()).unwrap();
    let now: u64 = 1_700_000_000;
    let step = now / 30;
    let window = Window { behind: 2, ahead: 1 };
    for offset in -4i64..=4 {
        let s = step.checked_add_signed(offset).unwrap();
        let code = totp.generate_at_step(s);
        let accepted = (-2..=1).contains(&offset);
        assert_eq!(
            totp.verify(&code, now, window),
            accepted.then_some(s),
            "offset {offset}"
        );
    }
}

#[test]
fn verify_after_refuses_replays_and_older_steps() {
    let totp = Totp::new(&rfc_secret(), TotpParams::default()).unwrap();
    let now = 1_700_000_000;
    let step = now / 30;
    let previous = totp.generate_at_step(step - 1);
    let current = totp.generate_at_step(step);
    assert_eq!(
        totp.verify_after(&previous, now, Window::default(), Some(step - 2)),
        Some(step - 1)
    );
    assert_eq!(
        totp.verify_after(&previous, now, Window::default(), Some(step - 1)),
        None
    );
    // Once the current step is used, the previous one is refused too: steps only move forward.
    assert_eq!(
        totp.verify_after(&previous, now, Window::default(), Some(step)),
        None
    );
    assert_eq!(
        totp.verify_after(&current, now, Window::default(), Some(step)),
        None
    );
    assert_eq!(
        totp.verify_after(&current, now, Window::default(), Some(u64::MAX)),
        None
    );
}

#[test]
fn hotp_look_ahead_and_resync() {
    let hotp = Hotp::new(&rfc_secret(), HotpParams::default()).unwrap();
    let c25 = hotp.generate(25);
    assert_eq!(hotp.verify(&c25, 20, 5), Some(25));
    assert_eq!(hotp.verify(&c25, 20, 4), None);
    assert_eq!(
        hotp.verify(&c25, 26, 100),
        None,
        "counters before the expected one are never accepted"
    );
    // RFC 4226 section 7.4: two consecutive codes far ahead resynchronise the counter.
    let (a, b) = (hotp.generate(500), hotp.generate(501));
    assert_eq!(hotp.resync(&a, &b, 10, 1000), Some(501));
    assert_eq!(hotp.resync(&b, &a, 10, 1000), None, "order matters");
    assert_eq!(
        hotp.resync(&a, &hotp.generate(502), 10, 1000),
        None,
        "must be consecutive"
    );
    assert_eq!(hotp.resync(&a, &b, 10, 400), None, "outside the window");
}

#[test]
fn code_of_another_length_never_matches() {
    let six = Totp::new(&rfc_secret(), TotpParams::default()).unwrap();
    let eight = Totp::new(
        &rfc_secret(),
        TotpParams {
            digits: 8,
            ..TotpParams::default()
        },
    )
    .unwrap();
    let code8 = eight.generate(59).unwrap();
    assert_eq!(six.verify(&code8, 59, Window::default()), None);
    // The 6-digit code is the 8-digit one's last six digits, and still only counts with 6 digits configured.
    let last_six = Code::parse(&code8.to_string()[2..]).unwrap();
    assert_eq!(six.verify(&last_six, 59, Window::EXACT), Some(1));
    assert_eq!(eight.verify(&last_six, 59, Window::EXACT), None);
}

#[test]
fn secret_rules() {
    let ten = [7u8; 10];
    let sixteen = [7u8; 16];
    assert_eq!(
        Secret::from_bytes(&ten).unwrap_err(),
        Error::SecretTooShort {
            bits: 80,
            required: 128
        }
    );
    assert!(Secret::from_bytes(&sixteen).is_ok());
    assert!(Secret::from_bytes_with(&ten, SecretRule::AllowLegacy80).is_ok());
    assert_eq!(
        Secret::from_bytes_with(&ten[..9], SecretRule::AllowLegacy80).unwrap_err(),
        Error::SecretTooShort {
            bits: 72,
            required: 80
        }
    );
    assert!(Secret::from_bytes_with(&ten[..1], SecretRule::AllowAnyLength).is_ok());
    for rule in [
        SecretRule::Standard,
        SecretRule::AllowLegacy80,
        SecretRule::AllowAnyLength,
    ] {
        assert_eq!(
            Secret::from_bytes_with(&[], rule).unwrap_err(),
            Error::EmptySecret
        );
        assert_eq!(
            Secret::from_base32_with("  ==", rule).unwrap_err(),
            Error::EmptySecret
        );
    }
    assert_eq!(
        Secret::from_bytes(&[1; 129]).unwrap_err(),
        Error::SecretTooLong { bytes: 129 }
    );
    assert!(matches!(
        Secret::from_base32(&"A".repeat(400)),
        Err(Error::SecretTooLong { .. })
    ));
    assert!(Secret::generate().unwrap().bits() == 160);
    assert!(matches!(
        Secret::generate_len(10),
        Err(Error::SecretTooShort { .. })
    ));
    assert_ne!(Secret::generate().unwrap(), Secret::generate().unwrap());
}

#[test]
fn debug_output_reveals_nothing() {
    let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    let totp = Totp::new(&secret, TotpParams::default()).unwrap();
    let code = totp.generate(59).unwrap();
    for text in [format!("{secret:?}"), format!("{totp:?}"), format!("{code:?}")] {
        assert!(
            !text.contains("GEZD") && !text.contains(&code.to_string()) && !text.contains("49"),
            "{text}"
        );
    }
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

/// Inserts separators and changes letter case the way people retype a secret.
fn retyped(canonical: &str, seps: &[u8], lower: &[bool], pad: bool) -> String {
    let mut out = String::new();
    for (i, c) in canonical.chars().enumerate() {
        let c = if lower[i % lower.len()] {
            c.to_ascii_lowercase()
        } else {
            c
        };
        out.push(c);
        match seps[i % seps.len()] % 8 {
            0 => out.push(' '),
            1 => out.push('-'),
            _ => {}
        }
    }
    if pad {
        let padded = canonical.len().div_ceil(8) * 8;
        out.extend(std::iter::repeat_n('=', padded - canonical.len()));
    }
    out
}

proptest! {
    #[test]
    fn base32_round_trips_and_survives_retyping(
        bytes in proptest::collection::vec(any::<u8>(), 1..=128),
        seps in proptest::collection::vec(any::<u8>(), 1..16),
        lower in proptest::collection::vec(any::<bool>(), 1..16),
        pad in any::<bool>(),
    ) {
        let secret = Secret::from_bytes_with(&bytes, SecretRule::AllowAnyLength).unwrap();
        let canonical = secret.to_base32();
        prop_assert!(canonical.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        prop_assert_eq!(canonical.len(), (bytes.len() * 8).div_ceil(5));
        let typed = retyped(&canonical, &seps, &lower, pad);
        let back = Secret::from_base32_with(&typed, SecretRule::AllowAnyLength).unwrap();
        prop_assert_eq!(back.expose_bytes(), &bytes[..]);
    }

    #[test]
    fn base32_decoding_never_panics(text in ".{0,300}") {
        let _ = Secret::from_base32_with(&text, SecretRule::AllowAnyLength);
    }

    #[test]
    fn codes_print_zero_padded_and_parse_back(value in 0u64..10_000_000_000, digits in 6u8..=10, sep in 0usize..12) {
        let text = format!("{:0width$}", value % 10u64.pow(u32::from(digits)), width = usize::from(digits));
        let code = Code::parse(&text).unwrap();
        prop_assert_eq!(code.to_string(), text.clone());
        prop_assert_eq!(code.digits(), digits);
        if sep > 0 && sep < text.len() {
            let (a, b) = text.split_at(sep);
            prop_assert_eq!(Code::parse(&format!("{a} {b}")).unwrap(), code.clone());
            prop_assert_eq!(Code::parse(&format!("{a}-{b}")).unwrap(), code.clone());
            let (letter, doubled) = (format!("{a}x{b}"), format!("{a}  {b}"));
            prop_assert!(Code::parse(&letter).is_err());
            prop_assert!(Code::parse(&doubled).is_err());
        }
    }

    #[test]
    fn code_parsing_never_panics(text in ".{0,40}") {
        let _ = Code::parse(&text);
    }

    #[test]
    fn verify_accepts_exactly_the_window(
        key in proptest::collection::vec(any::<u8>(), 16..=64),
        algorithm in algorithm(),
        digits in 6u8..=10,
        period in 1u64..=120,
        now in 0u64..=u64::MAX,
        behind in 0u8..=3,
        ahead in 0u8..=3,
        offset in -5i64..=5,
    ) {
        let secret = Secret::from_bytes(&key).unwrap();
        let totp = Totp::new(&secret, TotpParams { algorithm, digits, period, t0: 0 }).unwrap();
        let step = now / period;
        let Some(target) = step.checked_add_signed(offset) else { return Ok(()) };
        let code = totp.generate_at_step(target);
        let window = Window { behind, ahead };
        let result = totp.verify(&code, now, window);
        let inside = offset >= -i64::from(behind) && offset <= i64::from(ahead);
        if inside {
            // Another step in the window may share the code by chance; the match is then that step.
            let matched = result.unwrap();
            prop_assert_eq!(totp.generate_at_step(matched), code);
        } else {
            // A step outside the window is only accepted when an inside step has the same code.
            if let Some(matched) = result {
                prop_assert_ne!(matched, target);
                prop_assert_eq!(totp.generate_at_step(matched), code);
            }
        }
    }
}
