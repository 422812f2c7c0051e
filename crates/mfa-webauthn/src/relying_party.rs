use serde_json::Value;
use webauthn_rs::prelude::{
    Credential, Passkey, PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey, Uuid, Webauthn,
    WebauthnBuilder,
};

use crate::error::{Ceremony, from_webauthn, from_webauthn_start, json_reason};
use crate::state::{Authentication, Registration};
use crate::{
    Authenticated, AuthenticationState, CredentialKind, Error, RegistrationState, StoredCredential,
    WebauthnConfig,
};

/// The largest response from a browser that is parsed, in bytes. Real ones are a few hundred bytes
/// to a few kilobytes (a registration with an attestation certificate chain); anything longer is
/// [`Error::Malformed`] before it is read.
pub const MAX_RESPONSE_LEN: usize = 64 * 1024;

/// The longest user name or display name accepted, in bytes.
const MAX_NAME_LEN: usize = 256;

/// The relying party: starts and finishes registrations and authentications.
///
/// Made once from the [`WebauthnConfig`] and shared (it is `Send + Sync` and cheap to clone). Each
/// ceremony has two steps, one per request: `start_*` returns the options for the browser (JSON for
/// `navigator.credentials.create()` or `.get()`) and a state to keep on the server; `finish_*` takes
/// the browser's answer and that state.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    webauthn: Webauthn,
}

impl RelyingParty {
    /// Checks the configuration and makes the relying party.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `rp_id` is not a lowercase domain name (or `localhost`),
    /// `rp_name` is empty, too long or has control characters, or an origin is not an `https://`
    /// origin (`http://` only on `localhost`) whose host is `rp_id` or a subdomain of it.
    pub fn new(config: &WebauthnConfig) -> Result<Self, Error> {
        let checked = config.check()?;
        let invalid = |_| Error::InvalidConfig {
            field: "rp_id",
            reason: "is not an effective domain of the origin",
        };
        let mut builder = WebauthnBuilder::new(&config.rp_id, &checked.origin)
            .map_err(invalid)?
            .rp_name(config.rp_name.trim());
        for origin in &checked.extra_origins {
            builder = builder.append_allowed_origin(origin);
        }
        Ok(RelyingParty {
            webauthn: builder.build().map_err(invalid)?,
        })
    }

    /// Starts registering a passkey or a security key for a user.
    ///
    /// `user_handle` is the user's WebAuthn id: random, stable for the user, and not personal data
    /// (authenticators store it). `user_name` (such as an email address) and `display_name` may be
    /// shown by the browser and the authenticator. `exclude` are the user's registered credentials,
    /// so that an authenticator is not registered twice.
    ///
    /// Returns the `PublicKeyCredentialCreationOptions` as JSON (`{"publicKey": {...}}`), for
    /// `navigator.credentials.create()` once its base64url fields are decoded, and the state to keep
    /// on the server.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUserName`] for an empty name, one longer than 256 bytes or with control
    /// characters.
    pub fn start_registration(
        &self,
        user_handle: [u8; 16],
        user_name: &str,
        display_name: &str,
        kind: CredentialKind,
        exclude: &[StoredCredential],
    ) -> Result<(String, RegistrationState), Error> {
        check_name(user_name, "user_name")?;
        check_name(display_name, "display_name")?;
        let user = Uuid::from_bytes(user_handle);
        let exclude = if exclude.is_empty() {
            None
        } else {
            Some(exclude.iter().map(|c| c.id().to_vec()).collect())
        };
        let (options, state) = match kind {
            CredentialKind::Passkey => {
                let (ccr, state) = self
                    .webauthn
                    .start_passkey_registration(user, user_name, display_name, exclude)
                    .map_err(|e| from_webauthn_start(&e))?;
                let mut options = to_value(&ccr)?;
                require_resident_key(&mut options)?;
                (options, Registration::Passkey(state))
            }
            CredentialKind::SecurityKey => {
                let (ccr, state) = self
                    .webauthn
                    .start_securitykey_registration(user, user_name, display_name, exclude, None, None)
                    .map_err(|e| from_webauthn_start(&e))?;
                (to_value(&ccr)?, Registration::SecurityKey(state))
            }
        };
        Ok((to_string(&options)?, RegistrationState(state)))
    }

    /// Finishes a registration with the browser's answer (the `PublicKeyCredential` from
    /// `navigator.credentials.create()`, as JSON with base64url binary fields) and the state from
    /// [`start_registration`](Self::start_registration), which it consumes.
    ///
    /// Returns the credential to store with the user. Before storing it, check that no other user has
    /// a credential with the same [`id`](StoredCredential::id).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for input that is not a registration response, [`Error::Rejected`] for one
    /// that does not answer this ceremony (challenge, origin, relying party, user verification for a
    /// passkey, an excluded credential).
    pub fn finish_registration(
        &self,
        response: &[u8],
        state: RegistrationState,
    ) -> Result<StoredCredential, Error> {
        let ceremony = Ceremony::Registration;
        let response: RegisterPublicKeyCredential = parse(response, ceremony)?;
        check_type(&response.type_, ceremony)?;
        match state.0 {
            Registration::Passkey(state) => self
                .webauthn
                .finish_passkey_registration(&response, &state)
                .map(|passkey| StoredCredential::new(CredentialKind::Passkey, Credential::from(passkey))),
            Registration::SecurityKey(state) => self
                .webauthn
                .finish_securitykey_registration(&response, &state)
                .map(|key| StoredCredential::new(CredentialKind::SecurityKey, Credential::from(key))),
        }
        .map_err(|e| from_webauthn(&e, ceremony))
    }

    /// Starts authenticating a user, known from the first factor, with one of their credentials.
    ///
    /// When all of them are passkeys, user verification is required; when there is a security key
    /// among them, it is preferred (and still required of the passkeys, which were registered so).
    ///
    /// Returns the `PublicKeyCredentialRequestOptions` as JSON (`{"publicKey": {...}}`), for
    /// `navigator.credentials.get()` once its base64url fields are decoded, and the state to keep on
    /// the server.
    ///
    /// # Errors
    ///
    /// [`Error::NoCredentials`] when `credentials` is empty.
    pub fn start_authentication(
        &self,
        credentials: &[StoredCredential],
    ) -> Result<(String, AuthenticationState), Error> {
        if credentials.is_empty() {
            return Err(Error::NoCredentials);
        }
        let all_passkeys = credentials.iter().all(|c| c.kind() == CredentialKind::Passkey);
        let (options, state) = if all_passkeys {
            let passkeys: Vec<Passkey> = credentials
                .iter()
                .map(|c| Passkey::from(c.credential().clone()))
                .collect();
            let (rcr, state) = self
                .webauthn
                .start_passkey_authentication(&passkeys)
                .map_err(|e| from_webauthn_start(&e))?;
            (to_value(&rcr)?, Authentication::Passkey(state))
        } else {
            let keys: Vec<SecurityKey> = credentials
                .iter()
                .map(|c| SecurityKey::from(c.credential().clone()))
                .collect();
            let (rcr, state) = self
                .webauthn
                .start_securitykey_authentication(&keys)
                .map_err(|e| from_webauthn_start(&e))?;
            (to_value(&rcr)?, Authentication::SecurityKey(state))
        };
        Ok((to_string(&options)?, AuthenticationState(state)))
    }

    /// Finishes an authentication with the browser's answer (the `PublicKeyCredential` from
    /// `navigator.credentials.get()`, as JSON with base64url binary fields) and the state from
    /// [`start_authentication`](Self::start_authentication), which it consumes.
    ///
    /// On success, [`apply`](StoredCredential::apply) the result to the credential it names and store
    /// the credential again if that changed it.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for input that is not an authentication response,
    /// [`Error::UnknownCredential`] for a credential the ceremony was not started with,
    /// [`Error::CounterRegressed`] when the signature counter did not advance (a possible clone),
    /// [`Error::Rejected`] for everything else that does not prove this ceremony.
    pub fn finish_authentication(
        &self,
        response: &[u8],
        state: AuthenticationState,
    ) -> Result<Authenticated, Error> {
        let ceremony = Ceremony::Authentication;
        let response: PublicKeyCredential = parse(response, ceremony)?;
        check_type(&response.type_, ceremony)?;
        match state.0 {
            Authentication::Passkey(state) => self.webauthn.finish_passkey_authentication(&response, &state),
            Authentication::SecurityKey(state) => {
                self.webauthn.finish_securitykey_authentication(&response, &state)
            }
        }
        .map(Authenticated::new)
        .map_err(|e| from_webauthn(&e, ceremony))
    }
}

fn check_name(name: &str, field: &'static str) -> Result<(), Error> {
    let reason = if name.trim().is_empty() {
        "must not be empty"
    } else if name.len() > MAX_NAME_LEN {
        "must be at most 256 bytes"
    } else if name.chars().any(char::is_control) {
        "must not contain control characters"
    } else {
        return Ok(());
    };
    Err(Error::InvalidUserName { field, reason })
}

fn parse<T: serde::de::DeserializeOwned>(response: &[u8], ceremony: Ceremony) -> Result<T, Error> {
    if response.len() > MAX_RESPONSE_LEN {
        return Err(Error::Malformed {
            what: ceremony.response(),
            reason: "longer than MAX_RESPONSE_LEN",
        });
    }
    serde_json::from_slice(response).map_err(|e| Error::Malformed {
        what: ceremony.response(),
        reason: json_reason(&e),
    })
}

fn check_type(type_: &str, ceremony: Ceremony) -> Result<(), Error> {
    if type_ == "public-key" {
        Ok(())
    } else {
        Err(Error::Malformed {
            what: ceremony.response(),
            reason: "type is not public-key",
        })
    }
}

fn to_value<T: serde::Serialize>(options: &T) -> Result<Value, Error> {
    serde_json::to_value(options).map_err(|_| Error::Internal {
        reason: "the options could not be serialised",
    })
}

fn to_string(options: &Value) -> Result<String, Error> {
    serde_json::to_string(options).map_err(|_| Error::Internal {
        reason: "the options could not be serialised",
    })
}

/// webauthn-rs's passkey registration leaves residency to the authenticator (`residentKey:
/// "discouraged"`); a passkey here is discoverable, so the options ask for a resident key. This is a
/// request to the browser only: no server can check what the authenticator stored.
fn require_resident_key(options: &mut Value) -> Result<(), Error> {
    let selection = options
        .get_mut("publicKey")
        .and_then(Value::as_object_mut)
        .map(|public_key| {
            public_key
                .entry("authenticatorSelection")
                .or_insert_with(|| Value::Object(serde_json::Map::new()))
        })
        .and_then(Value::as_object_mut)
        .ok_or(Error::Internal {
            reason: "the registration options have an unexpected shape",
        })?;
    selection.insert("residentKey".to_owned(), Value::from("required"));
    selection.insert("requireResidentKey".to_owned(), Value::from(true));
    Ok(())
}
