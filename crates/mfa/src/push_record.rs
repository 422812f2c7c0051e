//! What a [`Store`](crate::Store) keeps of a push approval: the challenge sent to a device, the tag of
//! the number the sign-in page shows (never the number), and how it was answered.

use mfa_policy::UnixTime;
use serde::{Deserialize, Serialize};

use crate::{MethodId, Tag};

/// A user's outstanding push ("Approve sign-in?"): one per user at a time, a new one replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushChallenge {
    /// The push app it was sent to.
    pub method: MethodId,
    /// What the device is shown and signs over: id, device, requester, times, digits.
    pub challenge: mfa_push::Challenge,
    /// HMAC-SHA-256 of the number under the service's [`TagSecret`](crate::TagSecret): the page shows
    /// the number, the store holds only this.
    pub number_tag: Tag,
    /// Where it stands.
    pub state: PushState,
}

impl PushChallenge {
    /// Its id.
    pub fn id(&self) -> &mfa_push::ChallengeId {
        self.challenge.id()
    }

    /// It cannot be answered or collected at or after this instant: one second after the protocol's
    /// `expires_at`, which is the last second it can be answered (`mfa-push`'s `PROTOCOL.md`).
    pub fn expires_at(&self) -> UnixTime {
        self.challenge
            .expires_at()
            .saturating_add(std::time::Duration::from_secs(1))
    }
}

/// Where a push stands. Only a [`Pending`](Self::Pending) push can be answered, and only an
/// [`Approved`](Self::Approved) one can complete a sign-in, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushState {
    /// Sent, not answered yet.
    Pending,
    /// Approved with the right number: the sign-in may collect it.
    Approved,
    /// Denied on the device.
    Denied,
    /// Denied and reported as suspicious on the device.
    Reported,
    /// Approved with a wrong number: refused, and counted as a failure.
    WrongNumber,
}

impl PushState {
    /// Its name in the store and in the status the browser polls.
    pub const fn name(self) -> &'static str {
        match self {
            PushState::Pending => "pending",
            PushState::Approved => "approved",
            PushState::Denied => "denied",
            PushState::Reported => "reported",
            PushState::WrongNumber => "wrong_number",
        }
    }
}

/// The answer of [`Store::start_push`](crate::Store::start_push).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushStart {
    /// The push was stored (replacing the previous one).
    Started,
    /// Pushes stop for this user (MFA fatigue): nothing was stored.
    Stopped,
}

/// The answer of [`Store::answer_push`](crate::Store::answer_push) when the push was pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushAnswered {
    /// For a wrong number: the user's consecutive failures, this one included.
    pub failures: Option<u32>,
}
