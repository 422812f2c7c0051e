use std::fmt;

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    PasskeyAuthentication, PasskeyRegistration, SecurityKeyAuthentication, SecurityKeyRegistration,
};

use crate::Error;
use crate::error::json_reason;

/// A registration in progress, between [`start_registration`](crate::RelyingParty::start_registration)
/// and [`finish_registration`](crate::RelyingParty::finish_registration).
///
/// It holds the challenge: keep it on the server (a database row, a server-side session), never in a
/// cookie or a page, and hand it to `finish_registration` once: a finish consumes it, and the store
/// must delete it in the same step that reads it. `Debug` shows its kind only.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct RegistrationState(pub(crate) Registration);

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
pub(crate) enum Registration {
    Passkey(PasskeyRegistration),
    SecurityKey(SecurityKeyRegistration),
}

/// An authentication in progress, between
/// [`start_authentication`](crate::RelyingParty::start_authentication) and
/// [`finish_authentication`](crate::RelyingParty::finish_authentication).
///
/// It holds the challenge and the user's credentials as they were at the start: keep it on the
/// server, never in a cookie or a page, and hand it to `finish_authentication` once: a finish
/// consumes it, and the store must delete it in the same step that reads it (a second finish with a
/// copy of the same state would accept the same response again). `Debug` shows its kind only.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuthenticationState(pub(crate) Authentication);

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
pub(crate) enum Authentication {
    /// Passkeys only: user verification required.
    Passkey(PasskeyAuthentication),
    /// At least one security key: user verification preferred, and still required for the
    /// passkeys among the credentials (they were registered requiring it).
    SecurityKey(SecurityKeyAuthentication),
}

macro_rules! json_methods {
    ($ty:ident, $what:literal) => {
        impl $ty {
            /// This state as JSON, for the server-side store.
            pub fn to_json(&self) -> Result<String, Error> {
                serde_json::to_string(self).map_err(|_| Error::Internal {
                    reason: concat!("a ", $what, " could not be serialised"),
                })
            }

            /// A state read back from [`to_json`](Self::to_json).
            pub fn from_json(json: &str) -> Result<Self, Error> {
                serde_json::from_str(json).map_err(|e| Error::State {
                    what: $what,
                    reason: json_reason(&e),
                })
            }
        }
    };
}

json_methods!(RegistrationState, "registration state");
json_methods!(AuthenticationState, "authentication state");

impl fmt::Debug for RegistrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0 {
            Registration::Passkey(_) => "passkey",
            Registration::SecurityKey(_) => "security_key",
        };
        f.debug_struct("RegistrationState")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AuthenticationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0 {
            Authentication::Passkey(_) => "passkey",
            Authentication::SecurityKey(_) => "security_key",
        };
        f.debug_struct("AuthenticationState")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}
