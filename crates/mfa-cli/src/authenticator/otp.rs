//! `add`, `code`, `list`, `remove`: TOTP and HOTP accounts kept as their otpauth:// URIs.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use mfa_enroll::{KeyUri, Kind};
use zeroize::Zeroizing;

use super::push::text_input;
use super::store::{OtpAccount, Store};
use crate::cli::{Fail, Outcome, parse_time, print};

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The otpauth://totp/... (or hotp) URI; `-` reads it from standard input (it holds the secret)
    uri: String,
    /// The account's name in this file (default issuer:account, or the account)
    #[arg(long)]
    name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CodeArgs {
    /// The account's name, as `list` shows it
    name: String,
    /// The time instead of now: Unix seconds (1796378400) or RFC 3339 with its offset
    /// (2026-12-04T10:00:00Z); TOTP only
    #[arg(long, value_name = "TIME", value_parser = parse_time, allow_negative_numbers = true)]
    time: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    /// The account's or the push enrollment's name, as `list` shows it
    name: String,
}

fn parse(account: &OtpAccount) -> Result<KeyUri, Fail> {
    KeyUri::parse(&account.uri).map_err(|e| {
        Fail::new(
            &format!("the account {:?} in the file is damaged", account.name),
            e,
        )
    })
}

pub(crate) fn add(mut store: Store, args: AddArgs) -> Result<Outcome, Fail> {
    let text = text_input(&args.uri, "otpauth URI")?;
    let key = KeyUri::parse(&text).map_err(|e| Fail::new("invalid otpauth URI", e))?;
    // Checks that codes can be made with its settings before it is kept.
    match key.kind() {
        Kind::Totp { .. } => key.to_totp().map(drop),
        Kind::Hotp { .. } => key.to_hotp().map(drop),
    }
    .map_err(|e| Fail::new("invalid otpauth URI", e))?;
    let name = args.name.unwrap_or_else(|| match key.issuer() {
        Some(issuer) => format!("{issuer}:{}", key.account()),
        None => key.account().to_owned(),
    });
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(Fail::msg("invalid --name: empty or with control characters"));
    }
    if store.accounts.name_taken(&name) {
        return Err(Fail::msg(format!(
            "an account named {name:?} is already in {}: choose another with --name, or remove it first",
            store.path().display()
        )));
    }
    let uri = key.to_uri().map_err(|e| Fail::new("invalid otpauth URI", e))?;
    store.accounts.otp.push(OtpAccount {
        name: name.clone(),
        uri: Zeroizing::new(uri.as_str().to_owned()),
    });
    store.save()?;
    print(format!("added {name:?} ({})\n", settings(&key)).as_bytes())?;
    Ok(Outcome::Done)
}

fn settings(key: &KeyUri) -> String {
    let algorithm = format!("{:?}", key.algorithm()).to_uppercase();
    match key.kind() {
        Kind::Totp { period } => format!("TOTP, {algorithm}, {} digits, {period} s", key.digits()),
        Kind::Hotp { counter } => format!("HOTP, {algorithm}, {} digits, counter {counter}", key.digits()),
    }
}

pub(crate) fn code(mut store: Store, args: CodeArgs) -> Result<Outcome, Fail> {
    let Some(position) = store.accounts.otp.iter().position(|a| a.name == args.name) else {
        return Err(Fail::msg(format!(
            "no TOTP or HOTP account named {:?} in {} (see mfa authenticator list)",
            args.name,
            store.path().display()
        )));
    };
    let key = parse(&store.accounts.otp[position])?;
    let code = match key.kind() {
        Kind::Totp { .. } => {
            let totp = key.to_totp().map_err(|e| Fail::new("invalid account", e))?;
            let now = match args.time {
                Some(t) => t,
                None => SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_err(|_| Fail::msg("the system clock is before 1970"))?
                    .as_secs(),
            };
            totp.generate(now).map_err(|e| Fail::new("invalid time", e))?
        }
        Kind::Hotp { counter } => {
            if args.time.is_some() {
                return Err(Fail::msg(
                    "--time: this is an HOTP account, whose codes follow a counter",
                ));
            }
            let hotp = key.to_hotp().map_err(|e| Fail::new("invalid account", e))?;
            let code = hotp.generate(counter);
            // The next code is the next counter's: saved before this one is shown.
            let next = counter
                .checked_add(1)
                .ok_or_else(|| Fail::msg("the HOTP counter is at its maximum"))?;
            let mut updated = KeyUri::hotp(key.secret().clone(), key.account(), next)
                .with_algorithm(key.algorithm())
                .with_digits(key.digits());
            if let Some(issuer) = key.issuer() {
                updated = updated.with_issuer(issuer);
            }
            if let Some(image) = key.image() {
                updated = updated.with_image(image);
            }
            let uri = updated.to_uri().map_err(|e| Fail::new("invalid account", e))?;
            store.accounts.otp[position].uri = Zeroizing::new(uri.as_str().to_owned());
            store.save()?;
            code
        }
    };
    print(format!("{code}\n").as_bytes())?;
    Ok(Outcome::Done)
}

pub(crate) fn list(store: Store) -> Result<Outcome, Fail> {
    let mut out = String::new();
    for p in &store.accounts.push {
        out.push_str(&format!(
            "push  {}  device {} ({}, \"{}\") at {}\n",
            p.name, p.device_id, p.algorithm, p.label, p.base_url
        ));
    }
    for a in &store.accounts.otp {
        let line = match KeyUri::parse(&a.uri) {
            Ok(key) => settings(&key),
            Err(_) => "damaged".to_owned(),
        };
        out.push_str(&format!("otp   {}  {line}\n", a.name));
    }
    if out.is_empty() {
        out = format!("no accounts in {}\n", store.path().display());
    }
    print(out.as_bytes())?;
    Ok(Outcome::Done)
}

pub(crate) fn remove(mut store: Store, args: RemoveArgs) -> Result<Outcome, Fail> {
    let before = store.accounts.push.len() + store.accounts.otp.len();
    store.accounts.push.retain(|p| p.name != args.name);
    store.accounts.otp.retain(|a| a.name != args.name);
    if store.accounts.push.len() + store.accounts.otp.len() == before {
        return Err(Fail::msg(format!(
            "no account named {:?} in {} (see mfa authenticator list)",
            args.name,
            store.path().display()
        )));
    }
    store.save()?;
    print(format!("removed {:?}\n", args.name).as_bytes())?;
    Ok(Outcome::Done)
}
