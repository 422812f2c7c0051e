//! `mfa key new`: a key for the `mfa` facade's key ring (`MFA_KEYS`) or its tag secret
//! (`MFA_TAG_SECRET`).

use std::io::{self, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use crate::cli::{Fail, Outcome, print};

/// Bytes of a new key: what a key of the ring must be, and the tag secret's minimum.
const KEY_BYTES: usize = 32;

/// `mfa key` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Prints a new random 256-bit key in base64 (or hexadecimal), for MFA_TAG_SECRET or, with --id,
    /// as an ID:KEY entry of MFA_KEYS; how to use it goes to standard error
    New(NewArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// Print an entry of the key ring, ID:KEY, for the key id ID (a whole number, new for each key)
    #[arg(long, value_name = "ID")]
    id: Option<u32>,
    /// Hexadecimal instead of base64
    #[arg(long)]
    hex: bool,
}

pub(crate) fn run(command: KeyCommand) -> Result<Outcome, Fail> {
    match command {
        KeyCommand::New(args) => new(args),
    }
}

fn new(args: NewArgs) -> Result<Outcome, Fail> {
    let mut key = Zeroizing::new([0u8; KEY_BYTES]);
    getrandom::fill(&mut key[..]).map_err(|e| Fail::new("cannot generate a key", e))?;
    let mut line = Zeroizing::new(String::with_capacity(16 + 2 * KEY_BYTES));
    if let Some(id) = args.id {
        line.push_str(&id.to_string());
        line.push(':');
    }
    if args.hex {
        for byte in key.iter() {
            line.push(char::from(HEX[usize::from(byte >> 4)]));
            line.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    } else {
        STANDARD.encode_string(&key[..], &mut line);
    }
    line.push('\n');
    print(line.as_bytes())?;
    let note = match args.id {
        Some(id) => format!(
            "mfa: a new key {id} of the key ring. Put it first in MFA_KEYS (the current key comes first): \
             MFA_KEYS=\"{id}:KEY,<the old entries>\"; keep the old entries until every secret is resealed."
        ),
        None => "mfa: a new 256-bit key. As the tag secret: MFA_TAG_SECRET=KEY. For the key ring use \
                 --id ID, or write it as ID:KEY in MFA_KEYS (the current key first)."
            .to_owned(),
    };
    // Advice only: a closed standard error does not fail the command.
    let _ = writeln!(io::stderr(), "{note}");
    Ok(Outcome::Done)
}

const HEX: &[u8; 16] = b"0123456789abcdef";
