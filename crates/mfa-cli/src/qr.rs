//! `mfa qr`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use mfa_enroll::{IssuerConflict, KeyUri, Migration, QrCode, TerminalTheme};

use crate::cli::{Fail, Outcome, write_output};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// PNG image
    Png,
    /// SVG image
    Svg,
    /// Unicode half blocks, to scan from the terminal
    Terminal,
    /// data:image/png;base64,... for an HTML <img src>
    DataUrl,
}

#[derive(Debug, Args)]
pub(crate) struct QrArgs {
    /// The otpauth:// or otpauth-migration:// URI (checked before it is drawn)
    uri: String,
    /// What to draw
    #[arg(long, value_enum, default_value = "terminal")]
    format: Format,
    /// Write to this file (created readable by its owner only) instead of standard output
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Pixels per module of a PNG or SVG (1 to 64; default 8)
    #[arg(long, value_name = "PX")]
    scale: Option<u32>,
    /// Terminal drawing for dark text on a light background (the default suits dark terminals)
    #[arg(long)]
    light_background: bool,
}

pub(crate) fn run(args: QrArgs) -> Result<Outcome, Fail> {
    let text = args.uri.trim();
    let is_migration = text
        .get(..20)
        .is_some_and(|p| p.eq_ignore_ascii_case("otpauth-migration://"));
    if is_migration {
        Migration::parse(text).map_err(|e| Fail::new("invalid export URI", e))?;
    } else {
        KeyUri::parse_with(text, IssuerConflict::PreferParameter).map_err(|e| Fail::new("invalid URI", e))?;
    }
    let qr = QrCode::encode(text).map_err(|e| Fail::new("cannot draw the QR code", e))?;
    let fail = |e| Fail::new("cannot draw the QR code", e);
    let output = args.output.as_deref();
    if args.scale.is_some() && matches!(args.format, Format::Terminal | Format::DataUrl) {
        return Err(Fail::msg(
            "--scale applies to --format png and svg only (a terminal code is one character per module)",
        ));
    }
    let scale = args.scale.unwrap_or(mfa_enroll::DEFAULT_PNG_SCALE);
    match args.format {
        Format::Png => write_output(output, &qr.to_png_scaled(scale).map_err(fail)?, true),
        Format::Svg => write_output(output, qr.to_svg_scaled(scale).map_err(fail)?.as_bytes(), false),
        Format::DataUrl => {
            let mut url = qr.to_data_url().map_err(fail)?;
            url.push('\n');
            write_output(output, url.as_bytes(), false)
        }
        Format::Terminal => {
            let theme = if args.light_background {
                TerminalTheme::LightBackground
            } else {
                TerminalTheme::DarkBackground
            };
            write_output(output, qr.to_terminal(theme).as_bytes(), false)
        }
    }?;
    Ok(Outcome::Done)
}
