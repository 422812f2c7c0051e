//! `mfa secret`, `mfa code`, `mfa verify`.

use std::io::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use mfa_otp::{Code, Hotp, HotpParams, Secret, Totp, TotpParams, Window};

use crate::cli::{Fail, HotpArgs, Outcome, Settings, print, read_secret};

#[derive(Debug, Args)]
pub(crate) struct SecretArgs {
    /// Length of the secret in bytes (16 to 128)
    #[arg(long, default_value_t = mfa_otp::DEFAULT_SECRET_BYTES, value_name = "N")]
    bytes: usize,
}

#[derive(Debug, Args)]
pub(crate) struct CodeArgs {
    /// Base32 secret as people type it (any case, spaces, padding); `-` reads it from standard input
    #[arg(long, value_name = "B32")]
    secret: String,
    #[command(flatten)]
    settings: Settings,
    /// Unix time in seconds instead of now
    #[arg(long, value_name = "UNIX")]
    time: Option<u64>,
    #[command(flatten)]
    hotp: HotpArgs,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The code to check
    #[arg(long)]
    code: String,
    /// Steps accepted on either side of now (TOTP) or after the counter (HOTP)
    #[arg(long, default_value_t = 1, value_name = "N")]
    skew: u8,
    #[command(flatten)]
    otp: CodeArgs,
}

pub(crate) fn secret(args: SecretArgs) -> Result<Outcome, Fail> {
    let secret = Secret::generate_len(args.bytes).map_err(|e| Fail::new("cannot make a secret", e))?;
    let mut line = secret.to_base32();
    line.push('\n');
    print(line.as_bytes())?;
    Ok(Outcome::Done)
}

enum Generator {
    Totp(Totp, u64),
    Hotp(Hotp, u64),
}

fn generator(args: &CodeArgs) -> Result<Generator, Fail> {
    let secret = read_secret(&args.secret)?;
    let algorithm = args.settings.algorithm.into();
    let digits = args.settings.digits;
    let invalid = |e| Fail::new("invalid settings", e);
    if let (true, Some(counter)) = (args.hotp.hotp, args.hotp.counter) {
        let hotp = Hotp::new(&secret, HotpParams { algorithm, digits }).map_err(invalid)?;
        return Ok(Generator::Hotp(hotp, counter));
    }
    let params = TotpParams {
        algorithm,
        digits,
        period: args.settings.period,
        t0: 0,
    };
    let totp = Totp::new(&secret, params).map_err(invalid)?;
    let now = match args.time {
        Some(t) => t,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Fail::msg("the system clock is before 1970"))?
            .as_secs(),
    };
    Ok(Generator::Totp(totp, now))
}

pub(crate) fn code(args: CodeArgs) -> Result<Outcome, Fail> {
    let code = match generator(&args)? {
        Generator::Totp(totp, now) => totp.generate(now).map_err(|e| Fail::new("invalid time", e))?,
        Generator::Hotp(hotp, counter) => hotp.generate(counter),
    };
    print(format!("{code}\n").as_bytes())?;
    Ok(Outcome::Done)
}

pub(crate) fn verify(args: VerifyArgs) -> Result<Outcome, Fail> {
    let code = Code::parse(&args.code).map_err(|e| Fail::new("invalid code", e))?;
    let (matched, at) = match generator(&args.otp)? {
        Generator::Totp(totp, now) => (totp.verify(&code, now, Window::symmetric(args.skew)), now),
        Generator::Hotp(hotp, counter) => (hotp.verify(&code, counter, u16::from(args.skew)), counter),
    };
    match matched {
        Some(step) => {
            print(format!("{step}\n").as_bytes())?;
            Ok(Outcome::Done)
        }
        None => {
            let _ = writeln!(io::stderr(), "mfa: not valid: {}", searched(&args, at));
            Ok(Outcome::NotValid)
        }
    }
}

/// Which steps or counters a failed `verify` searched around `at` (the time, or the counter), for its
/// message.
fn searched(args: &VerifyArgs, at: u64) -> String {
    let skew = u64::from(args.skew);
    if let (true, Some(counter)) = (args.otp.hotp.hotp, args.otp.hotp.counter) {
        let last = counter.saturating_add(skew);
        return format!(
            "no HOTP counter from {counter} to {last} matches (--counter {counter}, --skew {skew})"
        );
    }
    let period = args.otp.settings.period.max(1);
    let now = at;
    let step = now / period;
    let (first, last) = (step.saturating_sub(skew), step.saturating_add(skew));
    format!(
        "no TOTP step from {first} to {last} matches (Unix times {} to {}, --skew {skew} around {now})",
        first.saturating_mul(period),
        last.saturating_mul(period).saturating_add(period - 1),
    )
}
