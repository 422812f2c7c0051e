//! Prints the Key URI this crate builds for each credential in a JSON-lines file read from standard input
//! (fields: type, issuer, account, secret, algorithm, digits, period, counter), one URI per line.
//! `tests/data/pyotp/gen.py` feeds it `cases.jsonl` and has pyotp read the output.

use std::io::{BufRead, Write};

use mfa_enroll::KeyUri;
use mfa_otp::{Secret, SecretRule};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let case: serde_json::Value = serde_json::from_str(&line)?;
        let text = |k: &str| case[k].as_str().map(str::to_owned);
        let number = |k: &str| case[k].as_u64();
        let secret = Secret::from_base32_with(&text("secret").ok_or("secret")?, SecretRule::AllowLegacy80)?;
        let account = text("account").ok_or("account")?;
        let key = match text("type").as_deref() {
            Some("hotp") => KeyUri::hotp(secret, account, number("counter").ok_or("counter")?),
            _ => KeyUri::totp(secret, account).with_period(number("period").ok_or("period")?),
        };
        let key = key
            .with_issuer(text("issuer").unwrap_or_default())
            .with_algorithm(text("algorithm").ok_or("algorithm")?.parse()?)
            .with_digits(u8::try_from(number("digits").ok_or("digits")?)?);
        writeln!(out, "{}", key.to_uri()?.as_str())?;
    }
    Ok(())
}
