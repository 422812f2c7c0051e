#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Interoperability with pyotp 2.12 through recorded data: `tests/data/pyotp/expected.jsonl` is written by
//! `tests/data/pyotp/gen.py`, which has pyotp parse the URIs this crate builds and build its own.

use mfa_enroll::KeyUri;
use mfa_otp::{Secret, SecretRule};
use serde_json::Value;

fn records() -> Vec<Value> {
    include_str!("data/pyotp/expected.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn build(case: &Value) -> KeyUri {
    let secret =
        Secret::from_base32_with(case["secret"].as_str().unwrap(), SecretRule::AllowLegacy80).unwrap();
    let account = case["account"].as_str().unwrap();
    let key = match case["type"].as_str().unwrap() {
        "hotp" => KeyUri::hotp(secret, account, case["counter"].as_u64().unwrap()),
        _ => KeyUri::totp(secret, account).with_period(case["period"].as_u64().unwrap()),
    };
    key.with_issuer(case["issuer"].as_str().unwrap_or(""))
        .with_algorithm(case["algorithm"].as_str().unwrap().parse().unwrap())
        .with_digits(case["digits"].as_u64().unwrap() as u8)
}

/// The same fields, as this crate reads them.
fn fields(key: &KeyUri) -> Value {
    serde_json::json!({
        "type": key.kind().name(),
        "issuer": key.issuer(),
        "account": key.account(),
        "secret": key.secret().to_base32().as_str(),
        "algorithm": key.algorithm().name(),
        "digits": key.digits(),
        "period": key.period(),
        "counter": key.counter(),
    })
}

#[test]
fn pyotp_reads_our_uris_back_and_we_read_pyotps() {
    let records = records();
    assert!(records.len() >= 14);
    for r in &records {
        let case = &r["case"];
        let key = build(case);
        // The data is current: this crate still builds the URI pyotp was given.
        assert_eq!(
            key.to_uri().unwrap().as_str(),
            r["ours"].as_str().unwrap(),
            "{case}"
        );
        // pyotp read back exactly what went in: issuer, account, secret and settings.
        assert_eq!(&r["pyotp_read"], case, "pyotp read {}", r["ours"]);
        // This crate reads pyotp's own URI to the same values (pyotp omits default parameters).
        let theirs = KeyUri::parse(r["pyotp_uri"].as_str().unwrap()).unwrap();
        assert_eq!(&fields(&theirs), case, "{}", r["pyotp_uri"]);
        // And computes the same code as pyotp.
        let code = match key.counter() {
            Some(counter) => key.to_hotp().unwrap().generate(counter).to_string(),
            None => key
                .to_totp()
                .unwrap()
                .generate(1_700_000_000)
                .unwrap()
                .to_string(),
        };
        assert_eq!(code, r["code"].as_str().unwrap(), "{case}");
    }
}
