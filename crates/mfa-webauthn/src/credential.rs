use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{AuthenticationResult, Credential, Passkey, SecurityKey};

use crate::Error;
use crate::error::json_reason;

/// Which authenticator a registration asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A passkey: a discoverable credential (the browser is asked for a resident key) that verifies
    /// its user (PIN, biometric, device unlock) every time, and may be synced between the user's
    /// devices by their platform or password manager.
    Passkey,
    /// A security key as a second factor after the password: the credential may stay on the server
    /// side (non-discoverable), user verification is asked for but not required.
    SecurityKey,
}

/// A registered credential, as a store keeps it: its id, public key, signature counter and backup
/// flags, and the user verification policy it was registered under. Nothing in it is secret.
///
/// It serialises with serde (JSON: `{"kind": "passkey", "credential": {...}}`, the credential in
/// webauthn-rs's own format); [`to_json`](Self::to_json) and [`from_json`](Self::from_json) do it
/// without serde in the caller. After each successful authentication, [`apply`](Self::apply) the
/// result and store the credential again when it says it changed.
///
/// ```
/// use mfa_webauthn::{Error, StoredCredential};
///
/// assert!(matches!(StoredCredential::from_json("{}"), Err(Error::State { .. })));
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredCredential {
    kind: CredentialKind,
    credential: Credential,
}

impl StoredCredential {
    pub(crate) fn new(kind: CredentialKind, credential: Credential) -> Self {
        StoredCredential { kind, credential }
    }

    pub(crate) fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The credential id, as the authenticator made it (at most 1023 bytes).
    pub fn id(&self) -> &[u8] {
        &self.credential.cred_id
    }

    /// The credential id in unpadded base64url, as browsers show it (`PublicKeyCredential.id`):
    /// for a unique index in a store, or for logs.
    pub fn id_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.id())
    }

    /// What was registered.
    pub fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// The last signature counter seen. Synced passkeys keep it at 0.
    pub fn counter(&self) -> u32 {
        self.credential.counter
    }

    /// Whether the authenticator said the credential may be backed up or synced (a multi-device
    /// credential).
    pub fn backup_eligible(&self) -> bool {
        self.credential.backup_eligible
    }

    /// Whether the authenticator said, the last time, that the credential is backed up.
    pub fn backed_up(&self) -> bool {
        self.credential.backup_state
    }

    /// Takes in what an authentication with this credential proved: the new signature counter and
    /// backup state. Returns `true` if the credential changed and must be stored again; `false` if
    /// nothing changed or the authentication was made with another credential.
    pub fn apply(&mut self, authenticated: &Authenticated) -> bool {
        let result = &authenticated.result;
        if result.cred_id().as_slice() != self.id() {
            return false;
        }
        // webauthn-rs's own update rules: the counter only moves forward; a security key's backup
        // eligibility never changes, a passkey's may become eligible.
        let (changed, credential) = match self.kind {
            CredentialKind::Passkey => {
                let mut passkey = Passkey::from(self.credential.clone());
                (passkey.update_credential(result), Credential::from(passkey))
            }
            CredentialKind::SecurityKey => {
                let mut key = SecurityKey::from(self.credential.clone());
                (key.update_credential(result), Credential::from(key))
            }
        };
        if changed == Some(true) {
            self.credential = credential;
            true
        } else {
            false
        }
    }

    /// This credential as JSON, for a store.
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string(self).map_err(|_| Error::Internal {
            reason: "a credential could not be serialised",
        })
    }

    /// A credential read back from [`to_json`](Self::to_json).
    pub fn from_json(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| Error::State {
            what: "credential",
            reason: json_reason(&e),
        })
    }
}

impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredential")
            .field("id", &self.id_text())
            .field("kind", &self.kind)
            .field("counter", &self.counter())
            .field("backup_eligible", &self.backup_eligible())
            .field("backed_up", &self.backed_up())
            .finish_non_exhaustive()
    }
}

/// What a successful authentication proved: which credential, its new signature counter and backup
/// state, and whether the user was verified. Give it to [`StoredCredential::apply`].
#[derive(Clone)]
pub struct Authenticated {
    result: AuthenticationResult,
}

impl Authenticated {
    pub(crate) fn new(result: AuthenticationResult) -> Self {
        Authenticated { result }
    }

    /// The id of the credential that signed.
    pub fn credential_id(&self) -> &[u8] {
        self.result.cred_id()
    }

    /// The signature counter the authenticator sent (0 for most synced passkeys).
    pub fn counter(&self) -> u32 {
        self.result.counter()
    }

    /// Whether the authenticator says the credential is backed up now.
    pub fn backed_up(&self) -> bool {
        self.result.backup_state()
    }

    /// Whether the authenticator says the credential may be backed up.
    pub fn backup_eligible(&self) -> bool {
        self.result.backup_eligible()
    }

    /// Whether the user was verified (PIN, biometric, device unlock), not only present.
    pub fn user_verified(&self) -> bool {
        self.result.user_verified()
    }
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("credential_id", &URL_SAFE_NO_PAD.encode(self.credential_id()))
            .field("counter", &self.counter())
            .field("backed_up", &self.backed_up())
            .field("backup_eligible", &self.backup_eligible())
            .field("user_verified", &self.user_verified())
            .finish()
    }
}
