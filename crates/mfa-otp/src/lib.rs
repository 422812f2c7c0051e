#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "std")]
extern crate std;

mod algorithm;
mod base32;
mod code;
mod error;
mod hotp;
mod mac;
mod secret;
#[cfg(target_arch = "x86_64")]
mod sha1_x86;
mod totp;

pub use algorithm::Algorithm;
pub use code::{Code, MAX_DIGITS, MIN_DIGITS};
pub use error::Error;
pub use hotp::{Hotp, HotpParams};
pub use secret::{DEFAULT_SECRET_BYTES, MAX_SECRET_BYTES, Secret, SecretRule};
pub use totp::{Totp, TotpParams, Window};
