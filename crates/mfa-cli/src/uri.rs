//! `mfa uri new`, `mfa uri parse`.

use clap::{Args, Subcommand};
use mfa_enroll::{IssuerConflict, KeyUri};
use mfa_otp::Secret;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::{Fail, HotpArgs, Outcome, Settings, print, read_secret};

#[derive(Debug, Subcommand)]
pub(crate) enum UriCommand {
    /// Prints a new otpauth:// URI; a 160-bit secret is generated when none is given
    New(NewArgs),
    /// Prints what an otpauth:// URI holds, as one JSON object
    Parse(ParseArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The provider or service, shown by the app
    #[arg(long, value_name = "I")]
    issuer: String,
    /// The account name (usually the user's e-mail address)
    #[arg(long, value_name = "A")]
    account: String,
    /// Base32 secret as people type it (hexadecimal with --hex); `-` reads it from standard input
    #[arg(long, value_name = "SECRET")]
    secret: Option<String>,
    /// The secret is in hexadecimal (oathtool's default form), not base32
    #[arg(long, requires = "secret")]
    hex: bool,
    #[command(flatten)]
    hotp: HotpArgs,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Debug, Args)]
pub(crate) struct ParseArgs {
    /// The otpauth:// URI
    uri: String,
    /// When the label's issuer and the issuer parameter differ, take the parameter instead of failing
    #[arg(long)]
    prefer_issuer_parameter: bool,
}

pub(crate) fn run(command: UriCommand) -> Result<Outcome, Fail> {
    match command {
        UriCommand::New(args) => new(args),
        UriCommand::Parse(args) => parse(args),
    }
}

fn new(args: NewArgs) -> Result<Outcome, Fail> {
    let secret = match &args.secret {
        Some(text) => read_secret(text, args.hex)?,
        None => Secret::generate().map_err(|e| Fail::new("cannot make a secret", e))?,
    };
    let key = match (args.hotp.hotp, args.hotp.counter) {
        (true, Some(counter)) => KeyUri::hotp(secret, args.account, counter),
        _ => KeyUri::totp(secret, args.account).with_period(args.settings.period),
    };
    let key = key
        .with_issuer(args.issuer)
        .with_algorithm(args.settings.algorithm.into())
        .with_digits(args.settings.digits);
    let uri = key.to_uri().map_err(|e| Fail::new("cannot build the URI", e))?;
    let mut line = Zeroizing::new(String::with_capacity(uri.as_str().len() + 1));
    line.push_str(uri.as_str());
    line.push('\n');
    print(line.as_bytes())?;
    Ok(Outcome::Done)
}

/// The JSON shape of one credential, fields in this order.
#[derive(Serialize)]
pub(crate) struct Json<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    issuer: Option<&'a str>,
    account: &'a str,
    secret: &'a str,
    algorithm: &'static str,
    digits: u8,
    period: Option<u64>,
    counter: Option<u64>,
}

/// Serialises credentials with `to_json` and prints the result and a newline.
pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<(), Fail> {
    let mut text =
        Zeroizing::new(serde_json::to_string(value).map_err(|e| Fail::new("cannot write JSON", e))?);
    text.push('\n');
    print(text.as_bytes())
}

/// Calls `f` with the JSON view of `key` (whose secret text lives only for the call).
pub(crate) fn with_json<R>(key: &KeyUri, f: impl FnOnce(Json<'_>) -> R) -> R {
    let secret = key.secret().to_base32();
    f(Json {
        kind: key.kind().name(),
        issuer: key.issuer(),
        account: key.account(),
        secret: &secret,
        algorithm: key.algorithm().name(),
        digits: key.digits(),
        period: key.period(),
        counter: key.counter(),
    })
}

fn parse(args: ParseArgs) -> Result<Outcome, Fail> {
    let conflict = if args.prefer_issuer_parameter {
        IssuerConflict::PreferParameter
    } else {
        IssuerConflict::Reject
    };
    let key = KeyUri::parse_with(&args.uri, conflict).map_err(|e| match e {
        mfa_enroll::Error::IssuerMismatch => Fail::new(
            "invalid URI",
            format!("{e} (--prefer-issuer-parameter takes the issuer parameter's)"),
        ),
        e => Fail::new("invalid URI", e),
    })?;
    with_json(&key, |json| print_json(&json))?;
    Ok(Outcome::Done)
}
