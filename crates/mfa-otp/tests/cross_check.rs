//! Cross-check against independent implementations on thousands of random inputs:
//! totp-rs (6 to 9 digits, its limit) and RustCrypto's `hmac` with RFC 4226 truncation written out
//! here (all digit counts, HOTP).
#![allow(clippy::unwrap_used)]

use hmac::{KeyInit, Mac};
use mfa_otp::{Algorithm, Hotp, HotpParams, Secret, SecretRule, Totp, TotpParams};
use proptest::prelude::*;

fn reference_hotp(algorithm: Algorithm, key: &[u8], counter: u64, digits: u32) -> String {
    fn mac<M: Mac + KeyInit>(key: &[u8], counter: u64) -> Vec<u8> {
        let mut m = <M as KeyInit>::new_from_slice(key).unwrap();
        m.update(&counter.to_be_bytes());
        m.finalize().into_bytes().to_vec()
    }
    let h = match algorithm {
        Algorithm::Sha1 => mac::<hmac::Hmac<sha1::Sha1>>(key, counter),
        Algorithm::Sha256 => mac::<hmac::Hmac<sha2::Sha256>>(key, counter),
        Algorithm::Sha512 => mac::<hmac::Hmac<sha2::Sha512>>(key, counter),
    };
    let offset = (h[h.len() - 1] & 0xf) as usize;
    let bin = u32::from_be_bytes(h[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!(
        "{:0width$}",
        u64::from(bin) % 10u64.pow(digits),
        width = digits as usize
    )
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn totp_matches_totp_rs(
        key in proptest::collection::vec(any::<u8>(), 1..=128),
        algorithm in algorithm(),
        digits in 6u8..=9,
        period in 1u64..=300,
        time in any::<u64>(),
    ) {
        let secret = Secret::from_bytes_with(&key, SecretRule::AllowAnyLength).unwrap();
        let ours = Totp::new(&secret, TotpParams { algorithm, digits, period, t0: 0 }).unwrap();
        let peer_algorithm = match algorithm {
            Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
            Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
            Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
        };
        let peer = totp_rs::Builder::new()
            .with_algorithm(peer_algorithm)
            .with_digits(digits)
            .with_step_duration(period)
            .with_secret(key.clone())
            .build_noncompliant();
        prop_assert_eq!(ours.generate(time).unwrap().to_string(), peer.generate(time).to_string());
    }

    #[test]
    fn hotp_matches_rustcrypto_hmac(
        key in proptest::collection::vec(any::<u8>(), 1..=128),
        algorithm in algorithm(),
        digits in 6u8..=10,
        counter in any::<u64>(),
    ) {
        let secret = Secret::from_bytes_with(&key, SecretRule::AllowAnyLength).unwrap();
        let ours = Hotp::new(&secret, HotpParams { algorithm, digits }).unwrap();
        prop_assert_eq!(
            ours.generate(counter).to_string(),
            reference_hotp(algorithm, &key, counter, u32::from(digits))
        );
    }
}
