//! Extractors: a signed-in user, a sign-in waiting for its second factor, a fresh MFA proof.

use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use mfa::{UnixTime, UserId};
use tower_sessions::Session;

use crate::{MfaWeb, Rejection, SignInStage, SignInState};

/// The session's sign-in state, checked against the user's revocation instants.
async fn state_of<St>(parts: &mut Parts, state: &St) -> Result<(MfaWeb, Option<SignInState>), Rejection>
where
    MfaWeb: FromRef<St>,
    St: Send + Sync,
{
    let web = MfaWeb::from_ref(state);
    let session = Session::from_request_parts(parts, state)
        .await
        .map_err(|(_, why)| {
            tracing::error!(why, "no session: is the SessionManagerLayer applied?");
            Rejection::Internal
        })?;
    let sign_in = web
        .sign_in_state(&session)
        .await
        .map_err(|_| Rejection::Internal)?;
    Ok((web, sign_in))
}

/// A signed-in user: the session passed its password and any second factor the policy asked for,
/// and no revocation since voided it. Otherwise [`Rejection::NotSignedIn`] or
/// [`Rejection::SecondFactorPending`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedIn {
    /// Who.
    pub user: UserId,
    /// When the password was checked.
    pub started_at: UnixTime,
    /// When a second factor was last proven in this session (pass it to the facade's step-up
    /// flows as `last_mfa_at`).
    pub mfa_at: Option<UnixTime>,
}

impl<St> FromRequestParts<St> for SignedIn
where
    MfaWeb: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        match state_of(parts, state).await?.1 {
            Some(s) if s.stage == SignInStage::SignedIn => Ok(SignedIn {
                user: s.user,
                started_at: s.started_at,
                mfa_at: s.mfa_at,
            }),
            Some(_) => Err(Rejection::SecondFactorPending),
            None => Err(Rejection::NotSignedIn),
        }
    }
}

/// A sign-in whose password was checked and whose second factor (or registration) is still to
/// come: the user whose code a verify handler may check. Otherwise [`Rejection::NotSignedIn`] (a
/// signed-in session is not pending either).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingSecondFactor {
    /// Whose sign-in.
    pub user: UserId,
    /// When the password was checked.
    pub started_at: UnixTime,
}

impl<St> FromRequestParts<St> for PendingSecondFactor
where
    MfaWeb: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        match state_of(parts, state).await?.1 {
            Some(s) if s.stage != SignInStage::SignedIn => Ok(PendingSecondFactor {
                user: s.user,
                started_at: s.started_at,
            }),
            _ => Err(Rejection::NotSignedIn),
        }
    }
}

/// A signed-in user whose second factor was proven less than `freshness` ago.
async fn fresh<St>(parts: &mut Parts, state: &St, freshness: Option<Duration>) -> Result<StepUp, Rejection>
where
    MfaWeb: FromRef<St>,
    St: Send + Sync,
{
    let signed_in = SignedIn::from_request_parts(parts, state).await?;
    let web = MfaWeb::from_ref(state);
    let freshness = freshness.unwrap_or_else(|| web.step_up_freshness());
    let now = web.now();
    match signed_in.mfa_at {
        // The facade's rule: fresh strictly before `mfa_at + freshness`.
        Some(at) if now < at.saturating_add(freshness) => Ok(StepUp {
            user: signed_in.user,
            mfa_at: at,
        }),
        _ => Err(Rejection::StepUpRequired),
    }
}

/// A signed-in user who proved a second factor within the policy's step-up freshness (10 minutes in
/// every preset), else [`Rejection::StepUpRequired`]: re-prompt (challenge, verify,
/// [`MfaWeb::mfa_proven`]) and retry. For another period use [`StepUpWithin`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepUp {
    /// Who.
    pub user: UserId,
    /// When the second factor was proven.
    pub mfa_at: UnixTime,
}

impl<St> FromRequestParts<St> for StepUp
where
    MfaWeb: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        fresh(parts, state, None).await
    }
}

/// [`StepUp`] with a freshness of `MINUTES` minutes: `StepUpWithin<5>` takes a second factor proven
/// less than 5 minutes ago.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUpWithin<const MINUTES: u64>(pub StepUp);

impl<St, const MINUTES: u64> FromRequestParts<St> for StepUpWithin<MINUTES>
where
    MfaWeb: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let freshness = Duration::from_secs(MINUTES.saturating_mul(60));
        fresh(parts, state, Some(freshness)).await.map(StepUpWithin)
    }
}
