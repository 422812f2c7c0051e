//! Known answers made by another argon2 implementation: argon2-cffi 25.1.0 (Python bindings to the
//! reference C implementation, libargon2), generated with `tests/vectors/gen_argon2_cffi.py`
//! (`argon2.low_level.hash_secret(password, salt, t, m, p, hash_len, type, version)`; the peppered one via
//! `argon2.low_level.core` with the `secret` field of `argon2_context`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mfa_app_password::{Argon2Hash, Argon2Params, Hasher, Limits, Pepper, Variant};

/// (password, PHC string, variant, version, m, t, p, salt length, hash length)
#[allow(clippy::type_complexity)]
const CFFI: &[(&str, &str, Variant, u32, u32, u32, u32, usize, usize)] = &[
    // salt "saltsaltsaltsalt", t=2, m=19456, p=1, hash_len 32, argon2id, v=19 (OWASP floor)
    (
        "abcdefghijklmnop",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        Variant::Argon2id,
        19,
        19456,
        2,
        1,
        16,
        32,
    ),
    // salt "0123456789abcdef", t=3, m=65536, p=4, hash_len 32, argon2id, v=19 (argon2-cffi's default, RFC 9106 low-memory)
    (
        "xkcdcorrecthorse",
        "$argon2id$v=19$m=65536,t=3,p=4$MDEyMzQ1Njc4OWFiY2RlZg$bbmUEm30f7CjPHs0kFin9VdOtdFwZnK1zpOBpuqB22M",
        Variant::Argon2id,
        19,
        65536,
        3,
        4,
        16,
        32,
    ),
    // salt "somesaltsomesalt", t=2, m=4096, p=1, hash_len 32, argon2i, v=19
    (
        "abcdefghijklmnop",
        "$argon2i$v=19$m=4096,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$fJVra3Pwx71uP+00xxYbf9zz0IM7apGk+wasxJ7lo4I",
        Variant::Argon2i,
        19,
        4096,
        2,
        1,
        16,
        32,
    ),
    // salt "somesaltsomesalt", t=2, m=4096, p=1, hash_len 32, argon2d, v=19
    (
        "abcdefghijklmnop",
        "$argon2d$v=19$m=4096,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$+chOgHfyvONRlvtBodBWkfy2YTPOdajoP7dSsY/4GVA",
        Variant::Argon2d,
        19,
        4096,
        2,
        1,
        16,
        32,
    ),
    // salt "somesaltsomesalt", t=2, m=4096, p=1, hash_len 32, argon2id, v=16
    (
        "abcdefghijklmnop",
        "$argon2id$v=16$m=4096,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$99dijtXsDK8q7JYpM+1FYoEy2LC4TtLru7jAUySm3m8",
        Variant::Argon2id,
        16,
        4096,
        2,
        1,
        16,
        32,
    ),
    // salt "somesaltsomesalt", t=1, m=64, p=1, hash_len 16, argon2id, v=19
    (
        "password",
        "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$s0pH2PxtsBd08+8ZO8n1lw",
        Variant::Argon2id,
        19,
        64,
        1,
        1,
        16,
        16,
    ),
    // salt "0123456789abcdef0123456789abcdef", t=2, m=1024, p=2, hash_len 64, argon2id, v=19
    (
        "abcdefghijklmnop",
        "$argon2id$v=19$m=1024,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY$iGp9AHvb4ZlZfmclCrv5QQmef02G6GuEUrM9RL6g2vz9mSoo7GiNykoKtCMPWTK4QbYa6SWuzrOaX9Lw27KS6A",
        Variant::Argon2id,
        19,
        1024,
        2,
        2,
        32,
        64,
    ),
];

/// argon2-cffi 25.1.0 via `argon2.low_level.core` with secret (pepper) = bytes 0x00..=0x1f, password
/// "abcdefghijklmnop", salt "saltsaltsaltsalt", t=2, m=19456, p=1, hash_len 32, argon2id, v=19.
const CFFI_PEPPERED: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$Vm8k+EQu1I8YNuu++O6M7xaLUwJ1qy1piGMlxWQ61MM";

fn pepper() -> Pepper {
    let bytes: Vec<u8> = (0u8..32).collect();
    Pepper::from_bytes(&bytes).unwrap()
}

#[test]
fn argon2_cffi_strings_parse_with_their_parameters() {
    for &(_, phc, variant, version, m, t, p, salt, hash) in CFFI {
        let parsed = Argon2Hash::parse(phc, &Limits::default()).unwrap();
        assert_eq!(parsed.variant(), variant, "{phc}");
        assert_eq!(parsed.version(), version, "{phc}");
        assert_eq!(parsed.params(), Argon2Params { m_kib: m, t, p }, "{phc}");
        assert_eq!((parsed.salt_len(), parsed.hash_len()), (salt, hash), "{phc}");
        assert_eq!(parsed.to_string(), phc, "canonical re-encoding");
    }
}

#[test]
fn argon2_cffi_strings_verify_and_reject_wrong_passwords() {
    let hasher = Hasher::default();
    for &(password, phc, _, _, m, t, ..) in CFFI {
        assert!(hasher.verify(password, phc).unwrap(), "{phc}");
        if m * t > 50_000 {
            // Unoptimised test builds run argon2 slowly: the heaviest vector gets one wrong try only.
            assert!(!hasher.verify("abcdefghijklmnoq", phc).unwrap());
            continue;
        }
        // As typed: uppercase with separators is the same password.
        let typed = password
            .to_uppercase()
            .chars()
            .flat_map(|c| [c, '-'])
            .collect::<String>();
        assert!(hasher.verify(&typed, phc).unwrap(), "{typed} {phc}");
        // One letter off, one letter short, one letter more.
        let mut off = password.to_owned();
        let last = off.pop().unwrap();
        assert!(!hasher.verify(&off, phc).unwrap());
        off.push(if last == 'z' { 'a' } else { 'z' });
        assert!(!hasher.verify(&off, phc).unwrap());
        assert!(!hasher.verify(&format!("{password}a"), phc).unwrap());
        // With a pepper the same strings no longer verify.
        assert!(
            !hasher
                .clone()
                .with_pepper(pepper())
                .verify(password, phc)
                .unwrap()
        );
    }
}

#[test]
fn our_hashes_equal_argon2_cffi_for_the_same_salt() {
    let owasp = Hasher::default();
    assert_eq!(
        owasp
            .hash_with_salt("abcd efgh ijkl mnop", b"saltsaltsaltsalt")
            .unwrap(),
        CFFI[0].1
    );
    let cffi_default = Hasher::new(
        Argon2Params {
            m_kib: 65536,
            t: 3,
            p: 4,
        },
        Limits::default(),
    )
    .unwrap();
    assert_eq!(
        cffi_default
            .hash_with_salt("XKCD-correct-HORSE", b"0123456789abcdef")
            .unwrap(),
        CFFI[1].1
    );
}

#[test]
fn peppered_known_answer() {
    let peppered = Hasher::default().with_pepper(pepper());
    assert_eq!(
        peppered
            .hash_with_salt("abcdefghijklmnop", b"saltsaltsaltsalt")
            .unwrap(),
        CFFI_PEPPERED
    );
    assert!(peppered.verify("abcd efgh ijkl mnop", CFFI_PEPPERED).unwrap());
    assert!(
        !Hasher::default()
            .verify("abcd efgh ijkl mnop", CFFI_PEPPERED)
            .unwrap()
    );
    let other = Pepper::from_bytes(&[0u8; 32]).unwrap();
    assert!(
        !Hasher::default()
            .with_pepper(other)
            .verify("abcdefghijklmnop", CFFI_PEPPERED)
            .unwrap()
    );
}

#[test]
fn needs_rehash_against_owasp_defaults() {
    let hasher = Hasher::default();
    let needs: Vec<bool> = CFFI
        .iter()
        .map(|&(_, phc, ..)| hasher.needs_rehash(phc).unwrap())
        .collect();
    // Only the OWASP-floor argon2id v19 string and argon2-cffi's stronger default are current.
    assert_eq!(needs, [false, false, true, true, true, true, true]);
}
