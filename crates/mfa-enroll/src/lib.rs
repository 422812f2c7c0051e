#![doc = include_str!("../README.md")]

mod enrollment;
mod error;
mod migration;
mod protobuf;
mod qr;
mod uri;

pub use enrollment::Enrollment;
pub use error::Error;
pub use migration::{Batch, Migration};
pub use qr::{DEFAULT_PNG_SCALE, QUIET_ZONE, QrCode, TerminalTheme};
pub use uri::{IssuerConflict, KeyUri, Kind, SecretUri};
