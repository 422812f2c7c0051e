//! App passwords with the default (OWASP) argon2id parameters: generate, hash, and a sign-in against one
//! and against 40 stored app passwords.
//!
//! `cargo bench -p mfa-app-password` prints criterion's figures, then the medians and the ratio of a
//! sign-in against 40 records to one against a single record (target ≤ 1.2: the tags make the count
//! irrelevant). Keep runs short: `-- --warm-up-time 1 --measurement-time 3`.

#![allow(clippy::expect_used, clippy::panic)] // A benchmark with a broken setup should stop loudly.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group};
use mfa_app_password::{AppPassword, AppPasswords, Config, Format, IssueOptions, TagKey};

const GROUP: &str = "app_password";
const NOW: u64 = 1_700_000_000;

fn benches(c: &mut Criterion) {
    let service = AppPasswords::new(Config::default(), TagKey::generate().expect("key")).expect("service");
    let mut records = Vec::new();
    let mut shown = Vec::new();
    for i in 0..40 {
        let issued = service
            .issue(
                records.len(),
                &format!("device {i}"),
                IssueOptions::default(),
                NOW,
            )
            .expect("issue");
        shown.push(issued.password.expose().to_owned());
        records.push(issued.record);
    }
    let first = shown[0].clone();
    let last = shown[39].clone();
    let hasher = service.hasher().clone();

    let mut g = c.benchmark_group(GROUP);
    g.sample_size(20);
    g.bench_function("generate", |b| {
        b.iter(|| AppPassword::generate(black_box(Format::default())).expect("generate"))
    });
    g.bench_function("hash", |b| {
        b.iter(|| hasher.hash(black_box(&first)).expect("hash"))
    });
    g.bench_function("verify_1", |b| {
        b.iter(|| {
            let m = service
                .verify(black_box(&first), &records[..1], NOW, None)
                .expect("verify");
            assert!(m.is_some());
        })
    });
    g.bench_function("verify_40", |b| {
        b.iter(|| {
            let m = service
                .verify(black_box(&last), &records, NOW, None)
                .expect("verify");
            assert!(m.is_some());
        })
    });
    g.bench_function("verify_40_wrong", |b| {
        b.iter(|| {
            let m = service
                .verify(black_box("abcd efgh ijkl mnop"), &records, NOW, None)
                .expect("verify");
            assert!(m.is_none());
        })
    });
    g.finish();
}

/// Median in nanoseconds of a benchmark of this run, from criterion's own estimates.
fn median_ns(name: &str) -> Option<f64> {
    let mut bases = Vec::new();
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        bases.push(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        bases.push(PathBuf::from(target).join("criterion"));
    }
    // The bench binary lives in <target>/<profile>/deps/.
    if let Some(target) = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.parent()?.to_owned()))
    {
        bases.push(target.join("criterion"));
    }
    bases.iter().find_map(|base| {
        let path = base.join(GROUP).join(name).join("new").join("estimates.json");
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        json["median"]["point_estimate"].as_f64()
    })
}

fn report() {
    let names = ["generate", "hash", "verify_1", "verify_40", "verify_40_wrong"];
    println!("\nmedians:");
    for name in names {
        match median_ns(name) {
            Some(m) if m >= 1e6 => println!("  {name:<18} {:>10.2} ms", m / 1e6),
            Some(m) => println!("  {name:<18} {:>10.2} µs", m / 1e3),
            None => println!("  {name:<18} {:>10}", "n/a"),
        }
    }
    let ratio = |label: &str, num: Option<f64>, den: Option<f64>, target: &str| match (num, den) {
        (Some(n), Some(d)) if d > 0.0 => println!("  {label:<28} {:>6.3}   (target {target})", n / d),
        _ => println!("  {label:<28} {:>6}   (target {target})", "n/a"),
    };
    println!("ratios:");
    ratio(
        "verify 40 / verify 1",
        median_ns("verify_40"),
        median_ns("verify_1"),
        "<= 1.2",
    );
    ratio(
        "wrong vs 40 / verify 1",
        median_ns("verify_40_wrong"),
        median_ns("verify_1"),
        "~ 1",
    );
}

criterion_group!(app_password, benches);

fn main() {
    app_password();
    Criterion::default().configure_from_args().final_summary();
    // In `cargo test --benches` mode nothing is measured, so there is nothing to report.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        report();
    }
}
