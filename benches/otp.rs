//! The OTP hot path against its floor (SHA-1 compressions) and against Rust peers, in one run.
//!
//! `cargo bench --bench otp` prints criterion's figures, then the medians and the ratios the README's table
//! reports. Every verify is given a wrong code, so the whole window of three steps is computed.

#![allow(clippy::expect_used, clippy::panic)] // A benchmark with a broken setup should stop loudly.

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use mfa_otp::{Code, Secret, Totp, TotpParams, Window};

mod support;

const KEY: &[u8; 20] = b"12345678901234567890";
const TIME: u64 = 1_700_000_000;
const GROUP: &str = "otp";

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group(GROUP);

    // The floor: one SHA-1 compression of one block.
    let block = [0x5au8; 64];
    let mut state = [0x6745_2301u32, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    g.bench_function("sha1_compress", |b| {
        b.iter(|| {
            sha1::block_api::compress(&mut state, &[*black_box(&block)]);
            black_box(state[0])
        })
    });

    let secret = Secret::from_bytes(KEY).expect("20-byte key");
    let totp = Totp::new(&secret, TotpParams::default()).expect("default params");
    let good = totp.generate(TIME).expect("time after T0").to_string();
    let wrong = wrong_code(&good);
    let wrong_code = Code::parse(&wrong).expect("six digits");
    assert_eq!(
        totp.verify(&wrong_code, TIME, Window::default()),
        None,
        "wrong code must miss"
    );

    g.bench_function("mfa_otp_generate", |b| b.iter(|| totp.generate(black_box(TIME))));
    g.bench_function("mfa_otp_verify_window1", |b| {
        b.iter(|| totp.verify(black_box(&wrong_code), black_box(TIME), Window::default()))
    });
    // What a caller pays when it keeps nothing between sign-ins: key, parse, verify.
    g.bench_function("mfa_otp_key_and_verify_window1", |b| {
        b.iter(|| {
            let totp = Totp::new(black_box(&secret), TotpParams::default()).expect("default params");
            let code = Code::parse(black_box(&wrong)).expect("six digits");
            totp.verify(&code, black_box(TIME), Window::default())
        })
    });

    let peer = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(KEY.to_vec())
        .build()
        .expect("RFC-compliant totp-rs settings");
    assert_eq!(peer.generate(TIME).to_string(), good, "peers agree");
    g.bench_function("totp_rs_generate", |b| b.iter(|| peer.generate(black_box(TIME))));
    g.bench_function("totp_rs_check_window1", |b| {
        b.iter(|| peer.check(black_box(&wrong), black_box(TIME)))
    });

    g.bench_function("totp_lite_generate", |b| {
        b.iter(|| totp_lite::totp_custom::<sha1_010::Sha1>(30, 6, black_box(KEY), black_box(TIME)))
    });
    // totp-lite has no verifier: a caller generates the three codes of the window and compares.
    g.bench_function("totp_lite_check_window1", |b| {
        b.iter(|| {
            let wrong = black_box(wrong.as_str());
            [TIME - 30, TIME, TIME + 30]
                .into_iter()
                .any(|t| totp_lite::totp_custom::<sha1_010::Sha1>(30, 6, KEY, black_box(t)) == wrong)
        })
    });
    g.finish();
}

/// A code that differs from `good` in every digit.
fn wrong_code(good: &str) -> String {
    good.bytes()
        .map(|d| char::from(b'0' + (d - b'0' + 5) % 10))
        .collect()
}

fn report() {
    let names = [
        "sha1_compress",
        "mfa_otp_generate",
        "mfa_otp_verify_window1",
        "mfa_otp_key_and_verify_window1",
        "totp_rs_generate",
        "totp_rs_check_window1",
        "totp_lite_generate",
        "totp_lite_check_window1",
    ];
    let medians: Vec<Option<f64>> = names.iter().map(|n| support::median_ns(GROUP, n)).collect();
    let get = |n: &str| names.iter().position(|x| *x == n).and_then(|i| medians[i]);
    println!("\nmedians (ns):");
    for (name, m) in names.iter().zip(&medians) {
        match m {
            Some(m) => println!("  {name:<32} {m:>10.1}"),
            None => println!("  {name:<32} {:>10}", "n/a"),
        }
    }
    let ratio = |label: &str, num: Option<f64>, den: Option<f64>, target: &str| match (num, den) {
        (Some(n), Some(d)) if d > 0.0 => println!("  {label:<48} {:>6.2}   (target {target})", n / d),
        _ => println!("  {label:<48} {:>6}   (target {target})", "n/a"),
    };
    let compress = get("sha1_compress");
    println!("ratios:");
    ratio(
        "verify ±1 / (6 × one compression)",
        get("mfa_otp_verify_window1"),
        compress.map(|c| 6.0 * c),
        "<= 1.3",
    );
    ratio(
        "generate / (2 × one compression)",
        get("mfa_otp_generate"),
        compress.map(|c| 2.0 * c),
        "<= 1.3",
    );
    ratio(
        "totp-rs 6 check / our verify",
        get("totp_rs_check_window1"),
        get("mfa_otp_verify_window1"),
        ">= 2",
    );
    ratio(
        "totp-lite 2 check / our verify",
        get("totp_lite_check_window1"),
        get("mfa_otp_verify_window1"),
        "-",
    );
    ratio(
        "totp-rs 6 generate / our generate",
        get("totp_rs_generate"),
        get("mfa_otp_generate"),
        "-",
    );
    ratio(
        "totp-lite 2 generate / our generate",
        get("totp_lite_generate"),
        get("mfa_otp_generate"),
        "-",
    );
}

criterion_group!(otp, benches);

fn main() {
    otp();
    Criterion::default().configure_from_args().final_summary();
    // In `cargo test --benches` mode nothing is measured, so there is nothing to report.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        report();
    }
}
