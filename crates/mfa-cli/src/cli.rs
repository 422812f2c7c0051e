//! What the subcommands share: outcomes, the one-line failure, secrets as typed, code settings, output.

use std::fmt::Display;
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use mfa_otp::{Algorithm, Secret, SecretRule};
use zeroize::Zeroizing;

/// How a subcommand ended when it did not fail.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Exit 0.
    Done,
    /// Exit 1: a code did not verify.
    NotValid,
}

/// Bad input or an I/O failure: exit 2 with this one-line message on stderr.
#[derive(Debug)]
pub(crate) struct Fail(String);

impl Fail {
    pub(crate) fn new(context: &str, error: impl Display) -> Self {
        Fail(format!("{context}: {error}"))
    }

    pub(crate) fn msg(message: impl Into<String>) -> Self {
        Fail(message.into())
    }

    pub(crate) fn report(self) -> ExitCode {
        let line = self.0.replace(['\n', '\r'], " ");
        let _ = writeln!(io::stderr(), "mfa: {line}");
        ExitCode::from(2)
    }
}

/// Help and version go to stdout with exit 0; every other clap error is one line on stderr, exit 2.
/// `root` is the whole command line's definition, to name the subcommand when clap's message has no
/// usage line.
pub(crate) fn usage_error(e: &clap::Error, root: &clap::Command) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = write!(io::stdout(), "{}", e.render());
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let command = command_of_usage(&e.render().to_string(), root);
            let _ = writeln!(
                io::stderr(),
                "mfa: a subcommand is required (see {command} --help)"
            );
            ExitCode::from(2)
        }
        _ => {
            // The first paragraph of clap's message ("error: ..." plus its indented details), on one line.
            let rendered = e.render().to_string();
            let first = rendered.split("\n\n").next().unwrap_or("invalid usage");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let line = first.split_whitespace().collect::<Vec<_>>().join(" ");
            let command = command_of_usage(&rendered, root);
            let _ = writeln!(io::stderr(), "mfa: {line} (see {command} --help)");
            ExitCode::from(2)
        }
    }
}

/// The (sub)command whose usage clap's message shows, `mfa qr` from "Usage: mfa qr [OPTIONS] <URI>":
/// its help is the one that explains the mistake. Clap shows no usage for a value its parser refused
/// (`--time yesterday`): then the subcommands named on the command line.
fn command_of_usage(rendered: &str, root: &clap::Command) -> String {
    let Some(usage) = rendered
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("Usage: "))
    else {
        return command_of_args(root);
    };
    let words: Vec<&str> = usage
        .split_whitespace()
        .take_while(|w| {
            !w.starts_with(['[', '<', '-']) && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .collect();
    if words.first() == Some(&"mfa") {
        words.join(" ")
    } else {
        "mfa".to_owned()
    }
}

/// `mfa code` from `mfa code --time yesterday`: the subcommands at the start of the command line.
fn command_of_args(root: &clap::Command) -> String {
    let mut words = vec![root.get_name().to_owned()];
    let mut current = root;
    for arg in std::env::args_os().skip(1) {
        let Some(sub) = arg.to_str().and_then(|a| current.find_subcommand(a)) else {
            break;
        };
        words.push(sub.get_name().to_owned());
        current = sub;
    }
    words.join(" ")
}

/// The longest line read from standard input: far beyond any secret or app password.
pub(crate) const MAX_STDIN_LINE: u64 = 4096;

/// Reads a secret as people type it: base32 (any case, spaces, dashes, padding), or hexadecimal with
/// `hex` (any case, spaces between bytes, oathtool's default form); any length of at least one byte
/// (like oathtool). `-` reads one line (at most 4 KiB) from standard input, which keeps it out of the
/// process list and shell history.
pub(crate) fn read_secret(text: &str, hex: bool) -> Result<Secret, Fail> {
    let line;
    let text = if text == "-" {
        // Allocated once at its bound, so no copy of the secret is left behind by a regrowth.
        let mut buf = Zeroizing::new(String::with_capacity(MAX_STDIN_LINE as usize));
        io::stdin()
            .lock()
            .take(MAX_STDIN_LINE)
            .read_line(&mut buf)
            .map_err(|e| Fail::new("cannot read the secret from standard input", e))?;
        line = buf;
        line.trim()
    } else {
        text
    };
    if hex {
        return secret_from_hex(text);
    }
    Secret::from_base32_with(text, SecretRule::AllowAnyLength).map_err(|e| Fail::new("invalid secret", e))
}

/// A hex secret; spaces and tabs between digits are dropped. Messages give a position, never a character
/// of the secret.
fn secret_from_hex(text: &str) -> Result<Secret, Fail> {
    if let Some(position) = text
        .chars()
        .position(|c| !c.is_ascii_hexdigit() && !c.is_ascii_whitespace())
    {
        return Err(Fail::msg(format!(
            "invalid hex secret: invalid character at position {position}: expected 0-9 or a-f"
        )));
    }
    let digits: Zeroizing<Vec<u8>> = Zeroizing::new(text.bytes().filter(u8::is_ascii_hexdigit).collect());
    if digits.len() % 2 == 1 {
        return Err(Fail::msg(format!(
            "invalid hex secret: an odd number of hex digits ({}): a byte is two",
            digits.len()
        )));
    }
    let mut bytes = Zeroizing::new(vec![0u8; digits.len() / 2]);
    hex::decode_to_slice(&digits[..], &mut bytes[..])
        .map_err(|_| Fail::msg("invalid hex secret: expected pairs of 0-9 or a-f"))?;
    Secret::from_bytes_with(&bytes, SecretRule::AllowAnyLength).map_err(|e| Fail::new("invalid secret", e))
}

/// How `--time` is written, for its help and its errors.
const TIME_FORMS: &str =
    "expected Unix seconds (like 1796378400) or an RFC 3339 time with its offset (like 2026-12-04T10:00:00Z)";

/// `--time`: Unix seconds, or an RFC 3339 time with its offset (`2026-12-04T10:00:00Z`,
/// `2026-12-04T11:00:00+01:00`); a fraction of a second is dropped. Not before 1970.
pub(crate) fn parse_time(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if let Some(negative) = text.strip_prefix('-')
        && !negative.is_empty()
        && negative.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("before 1970; {TIME_FORMS}"));
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map_err(|_| format!("too large for Unix seconds; {TIME_FORMS}"));
    }
    let at: jiff::Timestamp = text.parse().map_err(|e: jiff::Error| {
        let reason = e.to_string();
        format!("{TIME_FORMS}; as a time it does not read: {reason}")
    })?;
    u64::try_from(at.as_second()).map_err(|_| format!("before 1970; {TIME_FORMS}"))
}

/// A Unix time in RFC 3339, UTC, to the second (`1970-01-01T00:00:30Z`); the Unix seconds past the
/// year 9999.
pub(crate) fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(|| format!("Unix {unix}"), |t| t.to_string())
}

/// `--algorithm` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum AlgorithmArg {
    Sha1,
    Sha256,
    Sha512,
}

impl From<AlgorithmArg> for Algorithm {
    fn from(a: AlgorithmArg) -> Self {
        match a {
            AlgorithmArg::Sha1 => Algorithm::Sha1,
            AlgorithmArg::Sha256 => Algorithm::Sha256,
            AlgorithmArg::Sha512 => Algorithm::Sha512,
        }
    }
}

/// Algorithm, digits and period.
#[derive(Debug, Args)]
pub(crate) struct Settings {
    /// HMAC hash function
    #[arg(long, value_enum, ignore_case = true, default_value = "sha1")]
    pub(crate) algorithm: AlgorithmArg,
    /// Digits per code (6 to 10)
    #[arg(long, default_value_t = 6)]
    pub(crate) digits: u8,
    /// TOTP time step in seconds
    #[arg(long, default_value_t = 30, value_name = "S")]
    pub(crate) period: u64,
}

/// `--hotp --counter N`, always together.
#[derive(Debug, Args)]
pub(crate) struct HotpArgs {
    /// Counter-based HOTP (RFC 4226) instead of TOTP; needs --counter
    #[arg(long, requires = "counter")]
    pub(crate) hotp: bool,
    /// The HOTP counter
    #[arg(long, requires = "hotp", value_name = "N")]
    pub(crate) counter: Option<u64>,
}

/// Writes to standard output.
pub(crate) fn print(bytes: &[u8]) -> Result<(), Fail> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Fail::new("cannot write to standard output", e))
}

/// Writes `bytes` to `path` (or standard output when `None`). Files are created readable by their owner
/// only, because what this tool writes contains secrets.
pub(crate) fn write_output(path: Option<&Path>, bytes: &[u8], binary: bool) -> Result<(), Fail> {
    let Some(path) = path else {
        if binary && io::stdout().is_terminal() {
            return Err(Fail::msg(
                "refusing to write binary data to a terminal; use --output FILE",
            ));
        }
        return print(bytes);
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let context = || format!("cannot write {}", path.display());
    let mut file = options.open(path).map_err(|e| Fail::new(&context(), e))?;
    // `mode` applies only to a file this call creates: an existing one is narrowed before the write.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Fail::new(&context(), e))?;
    }
    file.write_all(bytes).map_err(|e| Fail::new(&context(), e))
}
