//! `mfa secret`, `mfa code`, `mfa verify`.

use std::io::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use mfa_otp::{Code, Hotp, HotpParams, Secret, Totp, TotpParams, Window};

use crate::cli::{Fail, HotpArgs, Outcome, Settings, parse_time, print, read_secret, rfc3339};

#[derive(Debug, Args)]
pub(crate) struct SecretArgs {
    /// Length of the secret in bytes (16 to 128)
    #[arg(long, default_value_t = mfa_otp::DEFAULT_SECRET_BYTES, value_name = "N")]
    bytes: usize,
}

#[derive(Debug, Args)]
pub(crate) struct CodeArgs {
    /// Base32 secret as people type it (any case, spaces, padding), or hexadecimal with --hex; `-`
    /// reads it from standard input
    #[arg(long, value_name = "SECRET")]
    secret: String,
    /// The secret is in hexadecimal (oathtool's default form), not base32
    #[arg(long)]
    hex: bool,
    #[command(flatten)]
    settings: Settings,
    /// The time instead of now: Unix seconds (1796378400) or RFC 3339 with its offset
    /// (2026-12-04T10:00:00Z)
    #[arg(
        long,
        value_name = "TIME",
        value_parser = parse_time,
        allow_negative_numbers = true,
        conflicts_with = "hotp"
    )]
    time: Option<u64>,
    #[command(flatten)]
    hotp: HotpArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CodeCommandArgs {
    #[command(flatten)]
    otp: CodeArgs,
    /// Also list the codes of the N steps (HOTP: counters) before and after, each with its step and
    /// start time; the current one is marked with `*`
    #[arg(short = 'w', long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=1000))]
    window: Option<u16>,
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
    let secret = read_secret(&args.secret, args.hex)?;
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

pub(crate) fn code(args: CodeCommandArgs) -> Result<Outcome, Fail> {
    let generator = generator(&args.otp)?;
    let Some(window) = args.window else {
        let code = match generator {
            Generator::Totp(totp, now) => totp.generate(now).map_err(|e| Fail::new("invalid time", e))?,
            Generator::Hotp(hotp, counter) => hotp.generate(counter),
        };
        print(format!("{code}\n").as_bytes())?;
        return Ok(Outcome::Done);
    };
    let window = u64::from(window);
    let mut out = String::new();
    match generator {
        Generator::Totp(totp, now) => {
            let current = totp.step_at(now).map_err(|e| Fail::new("invalid time", e))?;
            let (first, last) = (current.saturating_sub(window), current.saturating_add(window));
            let width = last.to_string().len();
            let period = args.otp.settings.period;
            for step in first..=last {
                let mark = if step == current { '*' } else { ' ' };
                let start = step.checked_mul(period).map_or_else(|| "-".to_owned(), rfc3339);
                let code = totp.generate_at_step(step);
                out.push_str(&format!("{mark} step {step:>width$}  {start}  {code}\n"));
            }
        }
        Generator::Hotp(hotp, current) => {
            let (first, last) = (current.saturating_sub(window), current.saturating_add(window));
            let width = last.to_string().len();
            for counter in first..=last {
                let mark = if counter == current { '*' } else { ' ' };
                let code = hotp.generate(counter);
                out.push_str(&format!("{mark} counter {counter:>width$}  {code}\n"));
            }
        }
    }
    print(out.as_bytes())?;
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
    let end = last.saturating_mul(period).saturating_add(period - 1);
    format!(
        "no TOTP step from {first} to {last} matches ({} to {}, --skew {skew} around {})",
        rfc3339(first.saturating_mul(period)),
        rfc3339(end),
        rfc3339(now),
    )
}
