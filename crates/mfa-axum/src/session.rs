//! The sign-in state kept in the tower-sessions session, and the steps that move it on.

use std::future::Future;

use axum::http::HeaderMap;
use mfa::{
    Action, Enrolled, MethodId, Mfa, PhoneDelivery, PushEnrollment, PushOrigin, PushSent, PushStatus, SignIn,
    SignInContext, Store, UnixTime, UserId, UserRecord, Verified,
};
use mfa_push::ChallengeId;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::csrf::CSRF_SESSION_KEY;
use crate::{DeviceCookie, ErrorResponse, MfaWeb, Rejection};

/// The session key of the sign-in state.
const STATE_KEY: &str = "mfa_axum.sign_in";
/// The session key of the push this session waits for.
const PUSH_KEY: &str = "mfa_axum.push";
/// The session key of the push app registration this session waits for.
const PUSH_ENROLLMENT_KEY: &str = "mfa_axum.push_enrollment";

/// The host's password check: this crate keeps no password. Answers the user whose password this
/// is, `None` for a wrong user name or password (one answer for both).
///
/// ```
/// use mfa::UserId;
/// use mfa_axum::PasswordCheck;
///
/// struct Accounts; // your users table
///
/// impl PasswordCheck for Accounts {
///     type Error = std::convert::Infallible;
///     async fn check(&self, username: &str, password: &str) -> Result<Option<UserId>, Self::Error> {
///         // Compare an argon2id hash here; this demo knows one account.
///         Ok((username == "alice" && password == "correct horse")
///             .then(|| UserId::new("user-42"))
///             .and_then(Result::ok))
///     }
/// }
/// ```
pub trait PasswordCheck: Send + Sync {
    /// What a failed check (not a wrong password: a database error) is.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The user whose name and password these are, or `None`.
    fn check(
        &self,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Result<Option<UserId>, Self::Error>> + Send;
}

/// Where a sign-in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SignInStage {
    /// The password was checked; the facade has not been asked yet.
    PasswordChecked,
    /// The facade asked for a second factor (or a registration, or a reconfirmation).
    SecondFactorPending,
    /// Signed in.
    SignedIn,
}

/// The sign-in state of a session, as checked against the user's revocation instants.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignInState {
    /// Whose session this is.
    pub user: UserId,
    /// Where the sign-in stands.
    pub stage: SignInStage,
    /// When the password was checked: the session's issue instant, which revocations compare with.
    pub started_at: UnixTime,
    /// When a second factor was last proven in this session, unless a revocation since made that
    /// proof void. `None` after a sign-in a remembered device or the policy spared.
    pub mfa_at: Option<UnixTime>,
}

/// What the session stores: milliseconds, so that the order of a revocation and a proof in the same
/// second survives.
#[derive(Serialize, Deserialize)]
struct Stored {
    user: UserId,
    stage: SignInStage,
    started_at_ms: i64,
    mfa_at_ms: Option<i64>,
}

impl From<&SignInState> for Stored {
    fn from(state: &SignInState) -> Self {
        Stored {
            user: state.user.clone(),
            stage: state.stage,
            started_at_ms: state.started_at.as_millis(),
            mfa_at_ms: state.mfa_at.map(UnixTime::as_millis),
        }
    }
}

impl From<Stored> for SignInState {
    fn from(stored: Stored) -> Self {
        SignInState {
            user: stored.user,
            stage: stored.stage,
            started_at: UnixTime::from_millis(stored.started_at_ms),
            mfa_at: stored.mfa_at_ms.map(UnixTime::from_millis),
        }
    }
}

/// A push sent for this session's sign-in (or step-up): only this session collects its approval.
#[derive(Serialize, Deserialize)]
struct StoredPush {
    user: UserId,
    challenge: ChallengeId,
}

/// A push app registration begun in this session: only this session collects its proof.
#[derive(Serialize, Deserialize)]
struct StoredPushEnrollment {
    user: UserId,
    method: MethodId,
    challenge: ChallengeId,
}

/// The answer of [`MfaWeb::begin_sign_in`]: the facade's answer, where the session now stands, and the
/// device cookie to send (refreshed when a remembered device spared the prompt, cleared when the
/// facade refused it). Send the cookie with the response whatever else you do.
#[derive(Debug)]
#[non_exhaustive]
pub struct SignInStep {
    /// The facade's decision and the methods to offer.
    pub sign_in: SignIn,
    /// [`SignInStage::SignedIn`] when the policy asked for nothing, else
    /// [`SignInStage::SecondFactorPending`].
    pub stage: SignInStage,
    /// A `Set-Cookie` for the remembered-device cookie, if it changes.
    pub cookie: Option<DeviceCookie>,
}

/// Whether a revocation voids the whole session: a password change, a sign-out everywhere or an
/// administrator's revocation at or after the instant the password was checked. The facade's rule
/// ([`UserRecord::revokes`]); a change of methods voids only the MFA proof.
fn session_revoked(record: &UserRecord, started_at: UnixTime) -> bool {
    UserRecord {
        methods_changed_at: None,
        ..record.clone()
    }
    .revokes(started_at)
}

impl MfaWeb {
    /// The session's sign-in state, checked against the user's revocation instants: a revoked
    /// session is cleared (and `None` answered); an MFA proof that a revocation made void is dropped.
    ///
    /// The extractors call this on every request; call it yourself where you use none.
    pub async fn sign_in_state(&self, session: &Session) -> Result<Option<SignInState>, ErrorResponse> {
        let Some(stored) = session.get::<Stored>(STATE_KEY).await? else {
            return Ok(None);
        };
        let mut state = SignInState::from(stored);
        let record = self.user_record(&state.user).await.map_err(|e| self.error(e))?;
        if session_revoked(&record, state.started_at) {
            self.clear(session).await?;
            return Ok(None);
        }
        if state.mfa_at.is_some_and(|at| record.revokes(at)) {
            state.mfa_at = None;
            session.insert(STATE_KEY, Stored::from(&state)).await?;
        }
        Ok(Some(state))
    }

    /// Checks a user name and password with the host's [`PasswordCheck`]; on success, starts the
    /// sign-in ([`password_checked`](Self::password_checked)). `None` for a wrong name or password.
    pub async fn check_password<C: PasswordCheck>(
        &self,
        session: &Session,
        check: &C,
        username: &str,
        password: &str,
    ) -> Result<Option<UserId>, ErrorResponse> {
        let user = check.check(username, password).await.map_err(|error| {
            tracing::error!(%error, "the password check failed");
            ErrorResponse::internal()
        })?;
        if let Some(user) = &user {
            self.password_checked(session, user.clone()).await?;
        }
        Ok(user)
    }

    /// Records that `user`'s password was checked now: a new session id, and the state
    /// [`SignInStage::PasswordChecked`] with this instant as the session's start.
    pub async fn password_checked(&self, session: &Session, user: UserId) -> Result<(), ErrorResponse> {
        let state = SignInState {
            user,
            stage: SignInStage::PasswordChecked,
            started_at: self.now(),
            mfa_at: None,
        };
        session.cycle_id().await?;
        session.insert(STATE_KEY, Stored::from(&state)).await?;
        Ok(())
    }

    /// Asks the facade whether this sign-in needs a second factor, with the request's
    /// remembered-device cookie. When the policy asks for nothing the session is signed in (with a
    /// new id); otherwise it waits for the second factor. A remembered device that spared the prompt
    /// gets its cookie refreshed; one the facade refused gets it cleared.
    ///
    /// A sign-in the policy denies (an administrator's block, reported suspicious activity) is
    /// cleared from the session and answered [`mfa::Error::NotAllowed`] (403); the cookie is not
    /// touched then.
    pub async fn begin_sign_in<S: Store, P: PhoneDelivery>(
        &self,
        mfa: &Mfa<S, P>,
        session: &Session,
        headers: &HeaderMap,
    ) -> Result<SignInStep, ErrorResponse> {
        let mut state = self.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?;
        let token = self.device_token(headers);
        let context = SignInContext::sign_in(self.now());
        let sign_in = mfa
            .begin_sign_in(&state.user, token.as_deref(), context)
            .await
            .map_err(|e| self.error(e))?;
        let cookie = match (sign_in.device, &token) {
            (Some(device), Some(token)) => {
                let devices = mfa.list_devices(&state.user).await.map_err(|e| self.error(e))?;
                match devices.iter().find(|d| d.id == device) {
                    Some(d) => Some(self.device_cookie_set(token, d.lapses_at)),
                    None => Some(self.device_cookie_clear()),
                }
            }
            (None, Some(_)) => Some(self.device_cookie_clear()),
            _ => None,
        };
        state.stage = match sign_in.decision.action {
            Action::Allow => SignInStage::SignedIn,
            Action::Deny => {
                // A refused sign-in (blocked, suspicious activity reported) leaves nothing behind.
                self.clear(session).await?;
                let reason = sign_in.decision.reasons.first().copied();
                return Err(match reason {
                    Some(reason) => self.error(mfa::Error::NotAllowed(reason)),
                    None => Rejection::NotSignedIn.into(),
                });
            }
            _ => SignInStage::SecondFactorPending,
        };
        if state.stage == SignInStage::SignedIn {
            session.cycle_id().await?;
        }
        session.insert(STATE_KEY, Stored::from(&state)).await?;
        Ok(SignInStep {
            stage: state.stage,
            sign_in,
            cookie,
        })
    }

    /// Records a second factor proven in this session (from [`Mfa::verify`] or
    /// [`Mfa::redeem_recovery_code`]): the session is signed in, with the proof's instant as its
    /// last MFA time, and gets a new id. Serves the sign-in's second step and every step-up.
    ///
    /// Refused ([`Rejection::NotSignedIn`]) when the session has no sign-in of the proof's user or a
    /// revocation since the password check cleared it: a password checked before a password change
    /// does not complete a sign-in after it.
    pub async fn mfa_proven(&self, session: &Session, proof: &Verified) -> Result<(), ErrorResponse> {
        let mut state = self.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?;
        if &state.user != proof.user() {
            return Err(Rejection::NotSignedIn.into());
        }
        state.stage = SignInStage::SignedIn;
        state.mfa_at = Some(proof.at());
        session.cycle_id().await?;
        session.insert(STATE_KEY, Stored::from(&state)).await?;
        Ok(())
    }

    /// Records a confirmed registration: its confirmation proved the new method, as
    /// [`mfa_proven`](Self::mfa_proven) with [`Enrolled::proof`].
    pub async fn enrolled(&self, session: &Session, enrolled: &Enrolled) -> Result<(), ErrorResponse> {
        self.mfa_proven(session, &enrolled.proof).await
    }

    /// Sends a push to the push app `method` (or the default method) for this session's sign-in at
    /// any stage ([`Mfa::challenge_push`]) and keeps its id in the session, so that
    /// [`push_status`](Self::push_status) polls it: show [`PushSent::number`] on the page. A new push
    /// replaces the session's previous one.
    pub async fn send_push<S: Store, P: PhoneDelivery>(
        &self,
        mfa: &Mfa<S, P>,
        session: &Session,
        method: Option<MethodId>,
        origin: &PushOrigin,
    ) -> Result<PushSent, ErrorResponse> {
        let state = self.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?;
        let sent = mfa
            .challenge_push(&state.user, method, origin)
            .await
            .map_err(|e| self.error(e))?;
        self.push_sent(session, &sent).await?;
        Ok(sent)
    }

    /// Keeps a push sent for this session's sign-in (by [`Mfa::challenge`] or
    /// [`Mfa::challenge_push`]), so that [`push_status`](Self::push_status) polls it.
    pub async fn push_sent(&self, session: &Session, sent: &PushSent) -> Result<(), ErrorResponse> {
        let state = self.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?;
        let stored = StoredPush {
            user: state.user,
            challenge: sent.challenge.clone(),
        };
        session.insert(PUSH_KEY, stored).await?;
        Ok(())
    }

    /// Polls the push this session sent ([`Mfa::push_status`]). [`PushStatus::Approved`] completes the
    /// sign-in exactly as a verified code does ([`mfa_proven`](Self::mfa_proven)); the proof is
    /// returned for [`remember_device`](Self::remember_device). A push that ended (approved, denied,
    /// wrong number, expired) is forgotten by the session: send another.
    ///
    /// [`mfa::Error::NotFound`] (404) when the session waits for no push of its user.
    pub async fn push_status<S: Store, P: PhoneDelivery>(
        &self,
        mfa: &Mfa<S, P>,
        session: &Session,
    ) -> Result<PushStatus, ErrorResponse> {
        let state = self.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?;
        let none = || self.error(mfa::Error::NotFound { what: "push" });
        let stored = session.get::<StoredPush>(PUSH_KEY).await?.ok_or_else(none)?;
        if stored.user != state.user {
            session.remove_value(PUSH_KEY).await?;
            return Err(none());
        }
        let status = match mfa.push_status(&state.user, &stored.challenge).await {
            Ok(status) => status,
            Err(mfa::Error::NotFound { what }) => {
                session.remove_value(PUSH_KEY).await?;
                return Err(self.error(mfa::Error::NotFound { what }));
            }
            Err(error) => return Err(self.error(error)),
        };
        match &status {
            PushStatus::Waiting { .. } => {}
            PushStatus::Approved(proof) => {
                session.remove_value(PUSH_KEY).await?;
                self.mfa_proven(session, proof).await?;
            }
            _ => {
                session.remove_value(PUSH_KEY).await?;
            }
        }
        Ok(status)
    }

    /// Begins registering a push app for this session's user ([`Mfa::begin_push_enrollment`], with
    /// the session's last MFA time for the step-up) and keeps it in the session, so that
    /// [`push_enrollment_status`](Self::push_enrollment_status) polls it. Show
    /// [`PushEnrollment::qr`] (and the URI, a secret, to this browser only).
    pub async fn begin_push_enrollment<S: Store, P: PhoneDelivery>(
        &self,
        mfa: &Mfa<S, P>,
        session: &Session,
        account: &str,
        name: &str,
    ) -> Result<PushEnrollment, ErrorResponse> {
        let state = self.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?;
        let enrollment = mfa
            .begin_push_enrollment(&state.user, account, name, state.mfa_at)
            .await
            .map_err(|e| self.error(e))?;
        let stored = StoredPushEnrollment {
            user: state.user,
            method: enrollment.method(),
            challenge: enrollment.challenge().clone(),
        };
        session.insert(PUSH_ENROLLMENT_KEY, stored).await?;
        Ok(enrollment)
    }

    /// Polls the push app registration this session began ([`Mfa::push_enrollment_status`]): `None`
    /// while the app has not answered; once it has, the registration, recorded as
    /// [`enrolled`](Self::enrolled) records a confirmed one (it completes a pending sign-in or
    /// refreshes the session's proof).
    ///
    /// [`mfa::Error::NotFound`] (404) when the session waits for no registration, or its offer ended
    /// without one (expired, refused): begin again.
    pub async fn push_enrollment_status<S: Store, P: PhoneDelivery>(
        &self,
        mfa: &Mfa<S, P>,
        session: &Session,
    ) -> Result<Option<Enrolled>, ErrorResponse> {
        let state = self.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?;
        let none = || {
            self.error(mfa::Error::NotFound {
                what: "push enrollment",
            })
        };
        let stored = session
            .get::<StoredPushEnrollment>(PUSH_ENROLLMENT_KEY)
            .await?
            .ok_or_else(none)?;
        if stored.user != state.user {
            session.remove_value(PUSH_ENROLLMENT_KEY).await?;
            return Err(none());
        }
        match mfa
            .push_enrollment_status(&state.user, stored.method, &stored.challenge)
            .await
        {
            Ok(None) => Ok(None),
            Ok(Some(enrolled)) => {
                session.remove_value(PUSH_ENROLLMENT_KEY).await?;
                self.enrolled(session, &enrolled).await?;
                Ok(Some(enrolled))
            }
            Err(error) => {
                if matches!(error, mfa::Error::NotFound { .. }) {
                    session.remove_value(PUSH_ENROLLMENT_KEY).await?;
                }
                Err(self.error(error))
            }
        }
    }

    /// Signs the session out: its sign-in state and CSRF token go, and it gets a new id.
    pub async fn sign_out(&self, session: &Session) -> Result<(), ErrorResponse> {
        self.clear(session).await?;
        session.remove_value(CSRF_SESSION_KEY).await?;
        session.cycle_id().await?;
        Ok(())
    }

    /// Drops the sign-in state (a revoked or refused sign-in); the CSRF token stays, so the sign-in
    /// form the browser shows still posts.
    async fn clear(&self, session: &Session) -> Result<(), ErrorResponse> {
        session.remove_value(STATE_KEY).await?;
        session.remove_value(PUSH_KEY).await?;
        session.remove_value(PUSH_ENROLLMENT_KEY).await?;
        #[cfg(feature = "webauthn")]
        session
            .remove_value(crate::passkey::PASSKEY_ENROLLMENT_KEY)
            .await?;
        Ok(())
    }
}
