//! `mfa authenticator`: a complete authenticator in the terminal, for development and tests. Push
//! enrollments of the mfa-push protocol (`enroll`, `pending`, `approve`, `deny`, `watch`) and TOTP/HOTP
//! accounts (`add`, `code`), kept in one file of the user's (mode 0600), optionally sealed under a
//! passphrase.

mod http;
mod otp;
mod push;
mod store;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::{Fail, Outcome};
use store::{PassphraseSource, Store};

/// `mfa authenticator [--file PATH] [--passphrase-env VAR | --passphrase] COMMAND`.
#[derive(Debug, Args)]
pub(crate) struct AuthenticatorArgs {
    /// The authenticator's file (default: $MFA_AUTHENTICATOR_FILE, else
    /// $XDG_CONFIG_HOME/mfa/authenticator.json or ~/.config/mfa/authenticator.json)
    #[arg(long, global = true, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Seal (or open) the file with the passphrase in this environment variable
    #[arg(long, global = true, value_name = "VAR", conflicts_with = "passphrase")]
    passphrase_env: Option<String>,
    /// Seal (or open) the file with a passphrase asked on the terminal (a sealed file is asked for
    /// anyway when standard input is a terminal)
    #[arg(long, global = true)]
    passphrase: bool,
    #[command(subcommand)]
    command: AuthenticatorCommand,
}

/// `mfa authenticator` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuthenticatorCommand {
    /// Enrolls in push approval: answers an mfa-push://enroll?... offer with a new device key, checks
    /// the service's signed receipt, and saves the enrollment
    Enroll(push::EnrollArgs),
    /// Shows the sign-in requests waiting for an answer (never their number: it is on the sign-in page)
    Pending(push::PendingArgs),
    /// Approves a request with the number shown on the sign-in page
    Approve(push::ApproveArgs),
    /// Denies a request; with --report, reports it as suspicious too
    Deny(push::DenyArgs),
    /// Polls for requests and shows each new one as it arrives (it answers none)
    Watch(push::WatchArgs),
    /// Adds a TOTP or HOTP account from its otpauth:// URI
    Add(otp::AddArgs),
    /// Prints the current code of a TOTP account (an HOTP account's next code)
    Code(otp::CodeArgs),
    /// Lists the push enrollments and the TOTP/HOTP accounts, by name (never a secret)
    List,
    /// Removes a push enrollment or an account from the file (the service is not told)
    Remove(otp::RemoveArgs),
}

pub(crate) fn run(args: AuthenticatorArgs) -> Result<Outcome, Fail> {
    let source = match (args.passphrase_env, args.passphrase) {
        (Some(var), _) => PassphraseSource::Env(var),
        (None, true) => PassphraseSource::Prompt,
        (None, false) => PassphraseSource::None,
    };
    let store = Store::open(store::path(args.file)?, &source)?;
    match args.command {
        AuthenticatorCommand::Enroll(a) => push::enroll(store, a),
        AuthenticatorCommand::Pending(a) => push::pending(store, a),
        AuthenticatorCommand::Approve(a) => push::approve(store, a),
        AuthenticatorCommand::Deny(a) => push::deny(store, a),
        AuthenticatorCommand::Watch(a) => push::watch(store, a),
        AuthenticatorCommand::Add(a) => otp::add(store, a),
        AuthenticatorCommand::Code(a) => otp::code(store, a),
        AuthenticatorCommand::List => otp::list(store),
        AuthenticatorCommand::Remove(a) => otp::remove(store, a),
    }
}
