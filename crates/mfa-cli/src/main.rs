#![doc = include_str!("../README.md")]

mod app_password;
mod authenticator;
mod cli;
mod key;
mod migration;
mod otp;
mod qr;
mod uri;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser};

use crate::cli::{Fail, Outcome};

/// The command line: one variant per subcommand group; each group lives in its own module.
#[derive(Debug, Parser)]
#[command(
    name = "mfa",
    version,
    about = "An operator's tool for TOTP/HOTP: secrets, codes, otpauth URIs, QR codes, authenticator exports, app passwords, service keys, and a terminal authenticator",
    after_help = "Exit status: 0 ok, 1 verification failed, 2 bad input or usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Prints a new random base32 secret (uppercase, unpadded)
    Secret(otp::SecretArgs),
    /// Prints the TOTP (or HOTP) code; with -w N, the codes around it too
    Code(otp::CodeCommandArgs),
    /// Checks a code: exit 0 and the matched time step (TOTP) or counter (HOTP), or exit 1
    Verify(otp::VerifyArgs),
    /// Builds or reads otpauth:// Key URIs
    #[command(subcommand)]
    Uri(uri::UriCommand),
    /// Draws the QR code of an otpauth:// or otpauth-migration:// URI
    Qr(qr::QrArgs),
    /// Reads or writes authenticator exports (otpauth-migration://offline?data=...)
    #[command(subcommand)]
    Migration(migration::MigrationCommand),
    /// App passwords for mail clients that cannot do MFA: new, hash, verify
    #[command(subcommand)]
    AppPassword(app_password::AppPasswordCommand),
    /// Keys of the mfa service: new (MFA_KEYS entries, MFA_TAG_SECRET)
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// A terminal authenticator for development and tests: push approval (enroll, pending, approve,
    /// deny, watch) and TOTP accounts (add, code, list), kept in a 0600 file
    Authenticator(authenticator::AuthenticatorArgs),
}

fn run(command: Command) -> Result<Outcome, Fail> {
    match command {
        Command::Secret(args) => otp::secret(args),
        Command::Code(args) => otp::code(args),
        Command::Verify(args) => otp::verify(args),
        Command::Uri(command) => uri::run(command),
        Command::Qr(args) => qr::run(args),
        Command::Migration(command) => migration::run(command),
        Command::AppPassword(command) => app_password::run(command),
        Command::Key(command) => key::run(command),
        Command::Authenticator(args) => authenticator::run(args),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::usage_error(&e, &Cli::command()),
    };
    match run(cli.command) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::NotValid) => ExitCode::from(1),
        Err(fail) => fail.report(),
    }
}
