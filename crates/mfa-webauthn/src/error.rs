use webauthn_rs::prelude::WebauthnError;

/// Everything that can go wrong in this crate.
///
/// A response that parses but does not prove what it should (another challenge, origin or relying
/// party, a bad signature, no user verification where it is required) is one opaque outcome,
/// [`Error::Rejected`]: its message says nothing more, and the detail is only in its `reason` field
/// (and so in `Debug`), for logs. Two outcomes are told apart because a caller acts on them: a
/// signature counter that went backwards ([`Error::CounterRegressed`], a possible cloned
/// authenticator) and a credential that is not among the user's ([`Error::UnknownCredential`]).
///
/// No message quotes the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The relying party settings cannot work: see the field and the reason.
    #[error("invalid WebAuthn configuration: {field}: {reason}")]
    InvalidConfig {
        /// The field of [`WebauthnConfig`](crate::WebauthnConfig).
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A user name or display name that a registration cannot carry.
    #[error("invalid {field} for a WebAuthn registration: {reason}")]
    InvalidUserName {
        /// `user_name` or `display_name`.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// What the browser sent is not a response of the expected kind: not JSON, a field missing or
    /// of the wrong type, bad base64, CBOR or authenticator data, a public key that cannot be read,
    /// or more than [`MAX_RESPONSE_LEN`](crate::MAX_RESPONSE_LEN) bytes.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The message or part of it.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The response does not prove what the ceremony asked: another challenge (a replay), origin or
    /// relying party id, a signature that does not verify, no user presence or verification where it
    /// is required, or a credential this ceremony excluded.
    #[error("the passkey or security key response was rejected")]
    Rejected {
        /// Why, for logs only: never shown to the user, never a reason to answer differently.
        reason: &'static str,
    },
    /// The signature counter of the credential did not advance past the stored one: two copies of the
    /// credential's private key may exist (a cloned authenticator). The authentication is refused.
    #[error("the authenticator's signature counter went backwards: the credential may have been cloned")]
    CounterRegressed,
    /// The response was made with a credential that is not one of those the ceremony was started with.
    #[error("the response names a credential that is not registered for this user")]
    UnknownCredential,
    /// An authentication was started for a user who has no passkey or security key.
    #[error("no passkey or security key to authenticate with")]
    NoCredentials,
    /// A stored ceremony state or credential that does not parse: damaged, or written by an
    /// incompatible version.
    #[error("stored WebAuthn {what} could not be read: {reason}")]
    State {
        /// `registration state`, `authentication state` or `credential`.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// webauthn-rs failed where it should not (for example while serialising options): a bug, not
    /// the user's doing.
    #[error("internal WebAuthn error: {reason}")]
    Internal {
        /// What failed.
        reason: &'static str,
    },
}

/// Which ceremony a webauthn-rs error came from, to name what was malformed.
#[derive(Clone, Copy)]
pub(crate) enum Ceremony {
    Registration,
    Authentication,
}

impl Ceremony {
    pub(crate) fn response(self) -> &'static str {
        match self {
            Ceremony::Registration => "registration response",
            Ceremony::Authentication => "authentication response",
        }
    }
}

/// Why a serde_json parse failed, without quoting the input.
pub(crate) fn json_reason(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Eof => "truncated JSON",
        serde_json::error::Category::Data => "a field is missing, unknown or of the wrong type",
        serde_json::error::Category::Io => "could not be read",
    }
}

/// Maps a webauthn-rs error from a `finish_*` call to this crate's outcome.
pub(crate) fn from_webauthn(e: &WebauthnError, ceremony: Ceremony) -> Error {
    use WebauthnError as W;
    let malformed = |reason| Error::Malformed {
        what: ceremony.response(),
        reason,
    };
    let rejected = |reason| Error::Rejected { reason };
    match e {
        W::CredentialPossibleCompromise => Error::CounterRegressed,
        W::CredentialNotFound => Error::UnknownCredential,

        W::ParseBase64Failure(_) => malformed("bad base64"),
        W::ParseCBORFailure(_) => malformed("bad CBOR in the attestation object"),
        W::ParseJSONFailure(_) => malformed("bad client data JSON"),
        W::ParseNOMFailure | W::ParseInsufficientBytesAvailable => malformed("bad authenticator data"),
        W::MissingAttestationCredentialData => malformed("no attested credential data"),
        W::COSEKeyInvalidCBORValue
        | W::COSEKeyInvalidType
        | W::COSEKeyEDUnsupported
        | W::COSEKeyECDSAXYInvalid
        | W::COSEKeyRSANEInvalid
        | W::COSEKeyECDSAInvalidCurve
        | W::COSEKeyEDDSAXInvalid
        | W::COSEKeyEDDSAInvalidCurve
        | W::COSEKeyInvalidAlgorithm
        | W::EcdsaPointInvalid
        | W::RsaParametersInvalid => malformed("unusable credential public key"),

        W::InvalidClientDataType => rejected("client data of another ceremony type"),
        W::MismatchedChallenge | W::ChallengeNotFound => rejected("challenge mismatch (replay?)"),
        W::InvalidRPOrigin => rejected("origin not allowed"),
        W::CredentialCrossOrigin => rejected("cross-origin ceremony"),
        W::InvalidRPIDHash => rejected("relying party id hash mismatch"),
        W::UserNotPresent => rejected("user not present"),
        W::UserNotVerified => rejected("user not verified"),
        W::AuthenticationFailure | W::SignatureInvalid => rejected("signature does not verify"),
        W::CredentialBackupEligibilityInconsistent => rejected("backup eligibility changed"),
        W::CredentialMayNotBeHardwareBound => rejected("backed up without backup eligibility"),
        // webauthn-rs reports a credential on the exclude list with this error too.
        W::CredentialAlteredAlgFromRequest => rejected("algorithm not offered, or credential excluded"),
        W::CredentialExcludedFromRequest | W::CredentialAlreadyExists => rejected("credential excluded"),
        W::AttestationNotSupported => rejected("attestation format not supported"),
        W::InconsistentUserVerificationPolicy => rejected("inconsistent user verification policy"),
        W::InvalidUserUniqueId => rejected("user handle mismatch"),
        W::InvalidExtensions | W::AuthenticatorDataMissingExtension => rejected("unexpected extensions"),
        _ => rejected("attestation or other check failed"),
    }
}

/// Maps a webauthn-rs error from a `start_*` call: none is expected once the configuration and the
/// names are checked.
pub(crate) fn from_webauthn_start(e: &WebauthnError) -> Error {
    match e {
        WebauthnError::InvalidUsername => Error::InvalidUserName {
            field: "user_name",
            reason: "must not be empty",
        },
        WebauthnError::CredentialNotFound => Error::NoCredentials,
        _ => Error::Internal {
            reason: "webauthn-rs could not start the ceremony",
        },
    }
}
