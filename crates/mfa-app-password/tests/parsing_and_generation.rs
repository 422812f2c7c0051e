//! The two parsers (PHC strings, typed passwords) and generation: typed errors for malformed input,
//! properties over arbitrary input, and unbiased letters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mfa_app_password::{
    AppPassword, AppPasswordId, Argon2Hash, Argon2Params, Error, Format, Hasher, Limits, Variant, normalize,
};
use proptest::prelude::*;

const GOOD: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0";
const SALT: &str = "c2FsdHNhbHRzYWx0c2FsdA";
const HASH: &str = "IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0";

#[test]
fn malformed_phc_strings_are_typed_errors() {
    let long = format!("{GOOD}{}", "A".repeat(600));
    let cases = [
        "",
        "argon2id$v=19$m=19456,t=2,p=1$c2FsdA$c2FsdA",
        "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$ARGON2ID$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=18$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=019$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$t=2,m=19456,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=19456,t=2$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=+19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=019456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=99999999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=19456,t=2,p=0$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=7,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=19456,t=2,p=1,keyid=AAAA$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=19456,t=2,p=1,x=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=19456,t=2,p=1,data=$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA==$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdB$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNh_HRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$SU1R",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0$",
        &long,
    ];
    for phc in cases {
        let err = Argon2Hash::parse(phc, &Limits::default()).unwrap_err();
        assert!(matches!(err, Error::MalformedHash { .. }), "{phc}: {err:?}");
        assert!(!err.to_string().contains('\n'));
        assert!(matches!(
            Hasher::default().verify("abcdefghijklmnop", phc),
            Err(Error::MalformedHash { .. })
        ));
        assert!(Hasher::default().needs_rehash(phc).is_err());
    }
}

#[test]
fn costs_above_the_limits_are_refused_before_hashing() {
    let limits = Limits {
        max_m_kib: 65_536,
        max_t: 4,
        max_p: 4,
    };
    for (params, what, value, max) in [
        ("m=65537,t=1,p=1", "m", 65_537, 65_536),
        ("m=4294967295,t=1,p=1", "m", u32::MAX, 65_536),
        ("m=64,t=5,p=1", "t", 5, 4),
        ("m=4096,t=1,p=5", "p", 5, 4),
    ] {
        let phc = format!("$argon2id$v=19${params}${SALT}${HASH}");
        assert_eq!(
            Argon2Hash::parse(&phc, &limits).unwrap_err(),
            Error::CostTooHigh { what, value, max },
            "{phc}"
        );
    }
    let at_limit = format!("$argon2id$v=19$m=65536,t=4,p=4${SALT}${HASH}");
    assert!(Argon2Hash::parse(&at_limit, &limits).is_ok());
}

#[test]
fn accepted_variations() {
    // No version field: libargon2 before 1.3 wrote none, and it means version 16.
    let no_version = Argon2Hash::parse(
        &format!("$argon2i$m=4096,t=2,p=1${SALT}${HASH}"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        (no_version.variant(), no_version.version()),
        (Variant::Argon2i, 16)
    );
    assert!(no_version.to_string().starts_with("$argon2i$v=16$"));
    // Associated data, round-tripped.
    let with_data = format!("$argon2id$v=19$m=64,t=1,p=1,data=BAQEBAQEBAQEBAQE${SALT}${HASH}");
    assert_eq!(
        Argon2Hash::parse(&with_data, &Limits::default())
            .unwrap()
            .to_string(),
        with_data
    );
    // Associated data changes the hash: it verifies only with the data it was made with.
    let hasher = Hasher::new(
        Argon2Params {
            m_kib: 64,
            t: 1,
            p: 1,
        },
        Limits::default(),
    )
    .unwrap();
    let phc = hasher.hash("abcdefghijklmnop").unwrap();
    assert!(hasher.verify("abcdefghijklmnop", &phc).unwrap());
    let tampered = phc.replacen("p=1", "p=1,data=BAQEBAQEBAQEBAQE", 1);
    assert!(!hasher.verify("abcdefghijklmnop", &tampered).unwrap());
}

#[test]
fn hashing_refuses_what_is_not_an_app_password() {
    let hasher = Hasher::new(
        Argon2Params {
            m_kib: 64,
            t: 1,
            p: 1,
        },
        Limits::default(),
    )
    .unwrap();
    for bad in ["", "  ", "abc1", "pass word!", "ünïcode", &"a".repeat(257)] {
        assert_eq!(hasher.hash(bad).unwrap_err(), Error::NotAnAppPassword, "{bad:?}");
    }
    assert!(hasher.hash(&"a".repeat(256)).is_ok());
    assert!(matches!(
        hasher.hash_with_salt("abc", b"short"),
        Err(Error::InvalidParams { .. })
    ));
}

#[test]
fn rejection_sampling_maps_bytes_without_bias() {
    // A "generator" that yields 234..=255 (all rejected), then 0, 27, 54, ... (accepted: b % 26).
    struct Script(Vec<u8>, usize);
    impl rand_core::TryRng for Script {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            unimplemented!()
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            unimplemented!()
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for b in dst {
                *b = self.0[self.1 % self.0.len()];
                self.1 += 1;
            }
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Script {}
    let mut script: Vec<u8> = (234..=255).collect();
    script.extend((0..12u16).map(|i| (i * 27 % 234) as u8));
    script.extend([233, 232]); // the largest accepted bytes: 233 % 26 = 25 ('z'), 232 % 26 = 24 ('y')
    script.resize(64, 255);
    let mut rng = Script(script, 0);
    let password = AppPassword::generate_with(Format::new(14, 7).unwrap(), &mut rng).unwrap();
    // 0, 27, 54, ..., 216, 9, 36, 63 mod 26 = 0, 1, 2, ..., 11; then 233 and 232 mod 26 = 25, 24.
    assert_eq!(password.expose(), "abcdefg hijklzy");
    assert_eq!(password.letters(), 14);

    // A broken generator that yields only rejected bytes is an error, not an endless loop.
    let mut broken = Script(vec![255], 0);
    assert_eq!(
        AppPassword::generate_with(Format::default(), &mut broken).unwrap_err(),
        Error::RandomUnavailable
    );
}

#[test]
fn generated_letters_are_uniform() {
    // 26 000 letters from the OS CSPRNG; chi-square with 25 degrees of freedom. The 1e-6 upper tail is
    // about 71, so an unbiased generator fails this test once in a million runs; a 10% bias on one letter
    // (what `% 26` on a byte gives 'a'..'v' vs 'w'..'z') would be far above it.
    let mut counts = [0u64; 26];
    let format = Format::new(64, 0).unwrap();
    let mut total = 0u64;
    while total < 26_000 {
        for b in AppPassword::generate(format).unwrap().expose().bytes() {
            counts[usize::from(b - b'a')] += 1;
            total += 1;
        }
    }
    let expected = total as f64 / 26.0;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi2 < 71.0, "chi2 = {chi2}, counts = {counts:?}");
}

#[test]
fn formats() {
    assert_eq!(Format::default().bits(), 75);
    assert_eq!(Format::new(12, 0).unwrap().bits(), 56);
    for (length, group) in [(11, 0), (65, 0), (16, 1), (16, 17)] {
        assert!(
            matches!(Format::new(length, group), Err(Error::InvalidFormat { .. })),
            "{length} {group}"
        );
    }
    let p = AppPassword::generate(Format::new(13, 4).unwrap()).unwrap();
    assert_eq!(
        p.expose().split(' ').map(str::len).collect::<Vec<_>>(),
        [4, 4, 4, 1]
    );
    let p = AppPassword::generate(Format::new(12, 0).unwrap()).unwrap();
    assert_eq!(p.expose().len(), 12);
}

fn group(s: &str, seps: &[(usize, &'static str)], upper: &[bool]) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if let Some((_, sep)) = seps.iter().find(|(at, _)| *at == i) {
            out.push_str(sep);
        }
        out.push(if upper[i % upper.len()] {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn normalize_ignores_separators_and_case(
        letters in "[a-z]{1,64}",
        seps in proptest::collection::vec((0usize..64, prop::sample::select(vec![" ", "-", "\t", " - ", "  "])), 0..8),
        upper in proptest::collection::vec(any::<bool>(), 1..8),
    ) {
        let typed = format!(" {} ", group(&letters, &seps, &upper));
        let normalized = normalize(&typed).unwrap();
        prop_assert_eq!(normalized.as_str(), letters.as_str());
    }

    #[test]
    fn normalize_is_letters_or_nothing(typed in "\\PC{0,80}") {
        match normalize(&typed) {
            Some(n) => {
                prop_assert!(!n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase()));
                let again = normalize(&n).unwrap();
                prop_assert_eq!(again.as_str(), n.as_str());
            }
            None => prop_assert!(
                typed.chars().all(|c| c == '-' || c.is_whitespace())
                    || typed.chars().any(|c| !(c.is_ascii_alphabetic() || c == '-' || c.is_whitespace()))
            ),
        }
    }

    #[test]
    fn generated_passwords_follow_their_format(length in 12usize..=64, group in 0usize..=12) {
        let group = if group == 1 { 0 } else { group.min(length) };
        let format = Format::new(length, group).unwrap();
        let p = AppPassword::generate(format).unwrap();
        let shown = p.expose();
        prop_assert_eq!(normalize(shown).unwrap().len(), length);
        prop_assert!(shown.bytes().all(|b| b.is_ascii_lowercase() || b == b' '));
        let groups: Vec<usize> = shown.split(' ').map(str::len).collect();
        if group == 0 {
            prop_assert_eq!(groups, vec![length]);
        } else {
            prop_assert!(groups[..groups.len() - 1].iter().all(|&g| g == group));
            prop_assert!(groups[groups.len() - 1] >= 1 && groups[groups.len() - 1] <= group);
        }
    }

    #[test]
    fn phc_parsing_never_panics(s in "\\PC{0,200}") {
        let _ = Argon2Hash::parse(&s, &Limits::default());
    }

    #[test]
    fn phc_mutations_never_panic(i in 0usize..GOOD.len(), c in any::<char>()) {
        let mut s = GOOD.to_owned();
        s.replace_range(i..=i, &c.to_string());
        if let Ok(parsed) = Argon2Hash::parse(&s, &Limits::default()) {
            // Whatever parses re-encodes to a string that parses to the same value.
            prop_assert_eq!(Argon2Hash::parse(&parsed.to_string(), &Limits::default()).unwrap(), parsed);
        }
    }

    #[test]
    fn phc_encoding_round_trips(
        variant in prop::sample::select(vec!["argon2d", "argon2i", "argon2id"]),
        version in prop::sample::select(vec![16u32, 19]),
        p in 1u32..=16, m_extra in 0u32..100_000, t in 1u32..=16,
        salt in proptest::collection::vec(any::<u8>(), 8..=64),
        hash in proptest::collection::vec(any::<u8>(), 4..=64),
    ) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        let m = 8 * p + m_extra;
        let phc = format!("${variant}$v={version}$m={m},t={t},p={p}${}${}", b64.encode(&salt), b64.encode(&hash));
        let parsed = Argon2Hash::parse(&phc, &Limits::default()).unwrap();
        prop_assert_eq!(parsed.params(), Argon2Params { m_kib: m, t, p });
        prop_assert_eq!((parsed.salt_len(), parsed.hash_len()), (salt.len(), hash.len()));
        prop_assert_eq!(parsed.to_string(), phc);
    }

    #[test]
    fn ids_round_trip(bytes in any::<[u8; 16]>()) {
        let id = AppPasswordId::from_bytes(bytes);
        prop_assert_eq!(id.to_string().parse::<AppPasswordId>().unwrap(), id);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn hash_then_verify(letters in "[a-z]{12,32}", other in "[a-z]{12,32}") {
        let hasher = Hasher::new(Argon2Params { m_kib: 32, t: 1, p: 1 }, Limits::default()).unwrap();
        let phc = hasher.hash(&letters).unwrap();
        prop_assert!(hasher.verify(&letters.to_uppercase(), &phc).unwrap());
        prop_assert_eq!(hasher.verify(&other, &phc).unwrap(), other == letters);
        prop_assert!(!hasher.needs_rehash(&phc).unwrap());
    }
}
