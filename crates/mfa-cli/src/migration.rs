//! `mfa migration parse`, `mfa migration export`.

use clap::{Args, Subcommand};
use mfa_enroll::{IssuerConflict, KeyUri, Migration};
use zeroize::Zeroizing;

use crate::cli::{Fail, Outcome, print};
use crate::uri::with_json;

#[derive(Debug, Subcommand)]
pub(crate) enum MigrationCommand {
    /// Prints the accounts of an otpauth-migration:// export as a JSON array
    Parse(ParseArgs),
    /// Prints one otpauth-migration:// export URI holding the given otpauth:// URIs
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ParseArgs {
    /// The otpauth-migration://offline?data=... URI
    uri: String,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// otpauth:// URIs (30-second TOTP or HOTP, 6 or 8 digits)
    #[arg(required = true)]
    uris: Vec<String>,
}

pub(crate) fn run(command: MigrationCommand) -> Result<Outcome, Fail> {
    match command {
        MigrationCommand::Parse(args) => {
            let export = Migration::parse(&args.uri).map_err(|e| Fail::new("invalid export URI", e))?;
            // The array is assembled from the objects' JSON, allocated once, so every copy of a secret
            // is zeroized.
            let mut items = Vec::with_capacity(export.credentials.len());
            for key in &export.credentials {
                let item = with_json(key, |json| serde_json::to_string(&json).map(Zeroizing::new))
                    .map_err(|e| Fail::new("cannot write JSON", e))?;
                items.push(item);
            }
            let len = items.iter().map(|i| i.len() + 1).sum::<usize>() + 3;
            let mut out = Zeroizing::new(String::with_capacity(len));
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(item);
            }
            out.push_str("]\n");
            print(out.as_bytes())?;
        }
        MigrationCommand::Export(args) => {
            let mut keys = Vec::with_capacity(args.uris.len());
            for (i, uri) in args.uris.iter().enumerate() {
                let key = KeyUri::parse_with(uri, IssuerConflict::PreferParameter)
                    .map_err(|e| Fail::new(&format!("invalid URI #{}", i + 1), e))?;
                keys.push(key);
            }
            let uri = Migration::new(keys)
                .to_uri()
                .map_err(|e| Fail::new("cannot export", e))?;
            let mut line = Zeroizing::new(String::with_capacity(uri.as_str().len() + 1));
            line.push_str(uri.as_str());
            line.push('\n');
            print(line.as_bytes())?;
        }
    }
    Ok(Outcome::Done)
}
