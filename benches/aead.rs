//! Opening a sealed TOTP secret under three AEADs, side by side in one run: XChaCha20-Poly1305 (what
//! `mfa::KeyRing` sealed with first), AES-256-GCM and AES-256-GCM-SIV (RFC 8452).
//!
//! Each case opens the same thing `KeyRing::open` does: a 20-byte secret (160 bits, the usual TOTP
//! secret) sealed with associated data shaped like ours (domain, key id, method id, user id), copied
//! into a fresh buffer and decrypted in place with the tag checked. The ciphers are keyed once, as a
//! key ring keeps them; building the associated data is the same for all three and left out.
//! Every cipher picks its back end at run time (AES-NI and CLMUL for AES and the GHASH/POLYVAL hashes,
//! AVX2 for Poly1305 where the CPU has them).
//!
//! `cargo bench --bench aead -- --warm-up-time 1 --measurement-time 3` prints criterion's figures, then
//! the medians and each one's ratio to XChaCha20-Poly1305.

#![allow(clippy::expect_used, clippy::panic)] // A benchmark with a broken setup should stop loudly.

use std::hint::black_box;

use aes_gcm::Aes256Gcm;
use aes_gcm_siv::Aes256GcmSiv;
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::array::Array;
use chacha20poly1305::aead::array::typenum::Unsigned;
use chacha20poly1305::aead::{AeadCore, AeadInOut, KeyInit};
use criterion::{Criterion, criterion_group};

#[path = "support/sealed.rs"]
mod sealed;
mod support;

use sealed::{SECRET, associated_data, open, seal};

const GROUP: &str = "aead";
const KEY: [u8; 32] = [0x42; 32];

/// The cases, in the order they are measured and reported.
const CASES: [&str; 3] = ["open_xchacha20poly1305", "open_aes256gcm", "open_aes256gcmsiv"];

fn bench_open<A: AeadInOut + AeadCore>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    cipher: A,
) {
    let aad = associated_data();
    let sealed = seal(&cipher, &aad);
    assert_eq!(open(&cipher, &aad, &sealed), SECRET, "{name}: round trip");
    let mut tampered = sealed.clone();
    tampered[A::NonceSize::USIZE] ^= 1;
    let nonce = Array::<u8, A::NonceSize>::try_from(&tampered[..A::NonceSize::USIZE]).expect("nonce size");
    let (ciphertext, tag) = tampered[A::NonceSize::USIZE..].split_at(SECRET.len());
    let tag = Array::<u8, A::TagSize>::try_from(tag).expect("tag size");
    let mut buffer = ciphertext.to_vec();
    assert!(
        cipher
            .decrypt_inout_detached(&nonce, &aad, buffer.as_mut_slice().into(), &tag)
            .is_err(),
        "{name}: a tampered ciphertext must not open"
    );
    c.bench_function(name, |b| {
        b.iter(|| open(black_box(&cipher), black_box(&aad), black_box(&sealed)))
    });
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group(GROUP);
    let [xchacha, gcm, siv] = CASES;
    bench_open(&mut g, xchacha, XChaCha20Poly1305::new(&KEY.into()));
    bench_open(&mut g, gcm, Aes256Gcm::new(&KEY.into()));
    bench_open(&mut g, siv, Aes256GcmSiv::new(&KEY.into()));
    g.finish();
}

fn report() {
    println!("\nmedians (ns per open of a sealed 20-byte secret):");
    let base = support::median_ns(GROUP, CASES[0]);
    for name in CASES {
        let median = support::median_ns(GROUP, name);
        let ratio = match (median, base) {
            (Some(m), Some(b)) if b > 0.0 => format!("{:.2}", m / b),
            _ => "n/a".to_owned(),
        };
        match median {
            Some(m) => println!("  {name:<24} {m:>10.1}   / xchacha20poly1305 {ratio:>6}"),
            None => println!("  {name:<24} {:>10}", "n/a"),
        }
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    println!(
        "CPU features seen: aes {}, pclmulqdq {}, avx2 {}",
        std::arch::is_x86_feature_detected!("aes"),
        std::arch::is_x86_feature_detected!("pclmulqdq"),
        std::arch::is_x86_feature_detected!("avx2"),
    );
}

criterion_group!(aead, benches);

fn main() {
    aead();
    Criterion::default().configure_from_args().final_summary();
    // In `cargo test --benches` mode nothing is measured, so there is nothing to report.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        report();
    }
}
