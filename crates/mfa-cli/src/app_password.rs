//! `mfa app-password new | hash | verify --hash PHC`: app passwords for clients that cannot do MFA.

use std::io::{self, BufRead, Read};

use clap::Subcommand;
use mfa_app_password::{AppPassword, Format, Hasher, normalize};
use zeroize::Zeroizing;

use crate::cli::{Fail, MAX_STDIN_LINE, Outcome, print};

/// `mfa app-password` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AppPasswordCommand {
    /// Prints a new app password: 16 random lowercase letters in four groups of four
    New,
    /// Reads an app password from standard input (one line, as typed) and prints its argon2id PHC string
    /// (OWASP parameters m=19456 KiB, t=2, p=1)
    Hash,
    /// Reads an app password from standard input and checks it against an argon2 PHC string: exit 0 if it
    /// matches, 1 if not
    Verify {
        /// The stored argon2 PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash)
        #[arg(long = "hash", value_name = "PHC")]
        phc: String,
    },
}

pub(crate) fn run(command: AppPasswordCommand) -> Result<Outcome, Fail> {
    match command {
        AppPasswordCommand::New => {
            let password = AppPassword::generate(Format::default())
                .map_err(|e| Fail::new("cannot generate an app password", e))?;
            let mut line = Zeroizing::new(String::with_capacity(password.expose().len() + 1));
            line.push_str(password.expose());
            line.push('\n');
            print(line.as_bytes())?;
            Ok(Outcome::Done)
        }
        AppPasswordCommand::Hash => {
            let typed = read_password()?;
            let phc = Hasher::default()
                .hash(&typed)
                .map_err(|e| Fail::new("cannot hash", e))?;
            print(format!("{phc}\n").as_bytes())?;
            Ok(Outcome::Done)
        }
        AppPasswordCommand::Verify { phc } => {
            let hasher = Hasher::default();
            // A malformed or too costly PHC string is bad input, whatever the password.
            hasher
                .needs_rehash(&phc)
                .map_err(|e| Fail::new("invalid --hash", e))?;
            let typed = read_password()?;
            let matched = hasher
                .verify(&typed, &phc)
                .map_err(|e| Fail::new("invalid --hash", e))?;
            Ok(if matched { Outcome::Done } else { Outcome::NotValid })
        }
    }
}

/// One line of standard input (at most 4 KiB), zeroized when dropped; it must look like an app password
/// (letters, optionally grouped with spaces or dashes).
fn read_password() -> Result<Zeroizing<String>, Fail> {
    let mut line = Zeroizing::new(String::with_capacity(MAX_STDIN_LINE as usize));
    io::stdin()
        .lock()
        .take(MAX_STDIN_LINE)
        .read_line(&mut line)
        .map_err(|e| Fail::new("cannot read the app password from standard input", e))?;
    if normalize(&line).is_none() {
        return Err(Fail::msg(
            "standard input is not an app password: letters, optionally grouped with spaces or dashes",
        ));
    }
    Ok(line)
}
