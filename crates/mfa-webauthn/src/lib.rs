#![doc = include_str!("../README.md")]

mod config;
mod credential;
mod error;
mod relying_party;
mod state;

pub use config::WebauthnConfig;
pub use credential::{Authenticated, CredentialKind, StoredCredential};
pub use error::Error;
pub use relying_party::{MAX_RESPONSE_LEN, RelyingParty};
pub use state::{AuthenticationState, RegistrationState};
