#![doc = include_str!("../README.md")]

mod error;
mod generate;
mod hasher;
mod name;
mod normalize;
mod phc;
mod record;
mod service;
mod tag;

pub use error::Error;
pub use generate::{AppPassword, Format, MAX_LENGTH, MIN_LENGTH};
pub use hasher::{Argon2Params, HASH_LEN, Hasher, Limits, Pepper, SALT_LEN};
pub use normalize::normalize;
pub use phc::{Argon2Hash, Variant};
pub use record::{AppPasswordId, AppPasswordName, AppPasswordRecord, MAX_NAME_CHARS, Scope};
pub use service::{AppPasswords, Config, DEFAULT_MAX_PER_USER, IssueOptions, Issued, Match};
pub use tag::TagKey;
