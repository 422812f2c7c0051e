//! Passkeys and security keys (the `webauthn` feature): the registration this session began, and the
//! sign-in by a passkey, completed as a verified code completes it.

use mfa::{
    Challenge, CredentialKind, Enrolled, MethodId, MethodKind, Mfa, PasskeyEnrollment, PasskeySent,
    PhoneDelivery, Store, UserId, Verified,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::{ErrorResponse, MfaWeb, Rejection};

/// The session key of the passkey registration this session began.
pub(crate) const PASSKEY_ENROLLMENT_KEY: &str = "mfa_axum.passkey_enrollment";

/// A passkey registration begun in this session: only this session confirms it.
#[derive(Serialize, Deserialize)]
struct StoredPasskeyEnrollment {
    user: UserId,
    method: MethodId,
}

impl MfaWeb {
    /// Begins registering a passkey or security key named `name` for this session's user
    /// ([`Mfa::begin_passkey_enrollment`], with the session's last MFA time for the step-up;
    /// `user_name` is the account the authenticator shows) and keeps the pending method in the
    /// session, so that [`confirm_passkey_enrollment`](Self::confirm_passkey_enrollment) needs only
    /// the browser's answer. Pass [`PasskeyEnrollment::options`] to `navigator.credentials.create()`.
    /// A new registration replaces the session's previous one.
    pub async fn begin_passkey_enrollment<S: Store, P: PhoneDelivery>(
        &self,
        mfa: &Mfa<S, P>,
        session: &Session,
        user_name: &str,
        name: &str,
        kind: CredentialKind,
    ) -> Result<PasskeyEnrollment, ErrorResponse> {
        let state = self.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?;
        let enrollment = mfa
            .begin_passkey_enrollment(&state.user, user_name, name, kind, state.mfa_at)
            .await
            .map_err(|e| self.error(e))?;
        let stored = StoredPasskeyEnrollment {
            user: state.user,
            method: enrollment.method,
        };
        session.insert(PASSKEY_ENROLLMENT_KEY, stored).await?;
        Ok(enrollment)
    }

    /// Confirms the passkey registration this session began with the browser's answer to
    /// `navigator.credentials.create()` (the `PublicKeyCredential` as JSON,
    /// [`Mfa::confirm_passkey_enrollment`]) and records it as [`enrolled`](Self::enrolled) does (it
    /// completes a pending sign-in or refreshes the session's proof). The registration is the
    /// session's no more, whatever the answer: a refused one begins again.
    ///
    /// [`mfa::Error::NotFound`] (404) when the session began no registration for its user.
    pub async fn confirm_passkey_enrollment<S: Store, P: PhoneDelivery>(
        &self,
        mfa: &Mfa<S, P>,
        session: &Session,
        response: &[u8],
    ) -> Result<Enrolled, ErrorResponse> {
        let state = self.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?;
        let none = || {
            self.error(mfa::Error::NotFound {
                what: "passkey enrollment",
            })
        };
        let stored = session
            .remove::<StoredPasskeyEnrollment>(PASSKEY_ENROLLMENT_KEY)
            .await?
            .ok_or_else(none)?;
        if stored.user != state.user {
            return Err(none());
        }
        let enrolled = mfa
            .confirm_passkey_enrollment(&state.user, stored.method, response)
            .await
            .map_err(|e| self.error(e))?;
        self.enrolled(session, &enrolled).await?;
        Ok(enrolled)
    }

    /// The options for `navigator.credentials.get()` for this session's sign-in at any stage: a
    /// passkey challenge ([`Mfa::challenge`]) for the passkey `method`, or the user's first passkey
    /// when `None`. Never sends a code: `method` must be a passkey or security key.
    ///
    /// [`mfa::Error::NotFound`] (404) when the user has no such passkey.
    pub async fn passkey_options<S: Store, P: PhoneDelivery>(
        &self,
        mfa: &Mfa<S, P>,
        session: &Session,
        method: Option<MethodId>,
    ) -> Result<PasskeySent, ErrorResponse> {
        let state = self.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?;
        let none = || self.error(mfa::Error::NotFound { what: "passkey" });
        let methods = mfa.list_methods(&state.user).await.map_err(|e| self.error(e))?;
        let passkey = methods
            .iter()
            .filter(|m| m.kind == MethodKind::Passkey)
            .find(|m| method.is_none_or(|id| id == m.id))
            .ok_or_else(none)?;
        match mfa
            .challenge(&state.user, Some(passkey.id), None)
            .await
            .map_err(|e| self.error(e))?
        {
            Challenge::Passkey(sent) => Ok(sent),
            _ => Err(none()),
        }
    }

    /// Verifies the browser's answer to `navigator.credentials.get()` ([`Mfa::verify_passkey`]) for
    /// this session's user and completes the sign-in exactly as a verified code does
    /// ([`mfa_proven`](Self::mfa_proven)); the proof is returned for
    /// [`remember_device`](Self::remember_device).
    pub async fn verify_passkey<S: Store, P: PhoneDelivery>(
        &self,
        mfa: &Mfa<S, P>,
        session: &Session,
        response: &[u8],
    ) -> Result<Verified, ErrorResponse> {
        let state = self.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?;
        let proof = mfa
            .verify_passkey(&state.user, response)
            .await
            .map_err(|e| self.error(e))?;
        self.mfa_proven(session, &proof).await?;
        Ok(proof)
    }
}
