//! One verification attempt as the Store runs it: load, check, write, commit, all in one transaction.

use mfa_policy::UnixTime;

use crate::{
    MethodId, MethodRecord, PasskeyChallenge, PendingEnrollment, PhoneChallenge, PushChallenge, SealedSecret,
    Tag, UserRecord,
};

/// What a verification attempt proves itself against: what [`Store::attempt`](crate::Store::attempt)
/// loads under the user's lock and hands to the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptTarget<'a> {
    /// A registered method: the store loads it, and when it is a phone, the user's outstanding phone
    /// code.
    Method(MethodId),
    /// The user's pending registration, if its method id is this one: the store loads it, and when it
    /// is a phone, the user's outstanding phone code.
    Pending(MethodId),
    /// A recovery code: the store looks up the user's code with this tag.
    RecoveryCode(&'a Tag),
    /// The user's push, if its id is this one: the store loads it and the push app it was sent to.
    Push(&'a mfa_push::ChallengeId),
    /// A passkey: the store loads the method and the user's outstanding passkey challenge. Unlike the
    /// other targets, the challenge is used up by a rejection too: an accepted or rejected attempt
    /// deletes it (an aborted one leaves it).
    Passkey(MethodId),
}

/// What the store loaded for an attempt, read in the attempt's transaction after the user's row was
/// locked: nothing changes it until the attempt commits.
#[derive(Debug, Clone, Copy)]
pub struct Loaded<'a> {
    /// The user's record ([`UserRecord::default`] if none was written).
    pub user: &'a UserRecord,
    /// What the target names.
    pub credential: LoadedCredential<'a>,
}

/// The credential part of [`Loaded`], one variant per [`AttemptTarget`].
#[derive(Debug, Clone, Copy)]
pub enum LoadedCredential<'a> {
    /// For [`AttemptTarget::Method`]: the method (`None` if the user has no such method), and the
    /// user's outstanding phone code if the method is a phone and one is stored (expired or not: the
    /// check decides).
    Method {
        /// The method.
        method: Option<&'a MethodRecord>,
        /// The outstanding phone code.
        challenge: Option<&'a PhoneChallenge>,
    },
    /// For [`AttemptTarget::Pending`]: the pending registration if its method id is the target's
    /// (expired or not), and the user's outstanding phone code if that registration is a phone's.
    Pending {
        /// The pending registration.
        pending: Option<&'a PendingEnrollment>,
        /// The outstanding phone code.
        challenge: Option<&'a PhoneChallenge>,
    },
    /// For [`AttemptTarget::RecoveryCode`].
    RecoveryCode {
        /// Whether one of the user's recovery codes has the target's tag.
        found: bool,
        /// How many recovery codes the user has, that one included.
        left: usize,
    },
    /// For [`AttemptTarget::Push`]: the user's push if its id is the target's (in any state, expired
    /// or not), and the method it was sent to if the user still has it.
    Push {
        /// The push.
        push: Option<&'a PushChallenge>,
        /// The push app it was sent to.
        method: Option<&'a MethodRecord>,
    },
    /// For [`AttemptTarget::Passkey`]: the method (`None` if the user has no such method) and the
    /// user's outstanding passkey challenge (expired or not: the check decides).
    Passkey {
        /// The method.
        method: Option<&'a MethodRecord>,
        /// The outstanding challenge.
        challenge: Option<&'a PasskeyChallenge>,
    },
}

/// What the check decided; the store writes it in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The proof is right: consume it and reset the user's failure count (no failures, no lock).
    Accept(Consume),
    /// The proof is wrong, expired or used: count one failure, and lock the user if the throttle rule
    /// says so at the new count.
    Reject,
    /// The check could not decide (the method is not allowed, a key is missing from the ring, the
    /// user may not be prompted): write nothing.
    Abort,
}

/// What an accepted proof uses up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consume {
    /// An authenticator app's code: store `step` as the method's last accepted step, if the stored one
    /// is lower (or none), and `resealed` as its sealed secret if given (a secret sealed under an old
    /// key, sealed again under the current one). If the stored step is not lower, nothing is consumed
    /// and the attempt counts as rejected.
    TotpStep {
        /// The time step the code belongs to.
        step: u64,
        /// The secret sealed under the current key, if it was not.
        resealed: Option<SealedSecret>,
    },
    /// The outstanding phone code: delete it.
    PhoneCode,
    /// The pending registration: delete it, and the outstanding phone code if one was loaded.
    Pending,
    /// The recovery code with the target's tag: delete it.
    RecoveryCode,
    /// The user's push: delete it.
    Push,
    /// A passkey's verification: store `credential` as the method's
    /// [`Credential::Passkey`](crate::store::Credential::Passkey) `credential` (its counter and backup
    /// state moved on), and delete the challenge.
    Passkey {
        /// The method's credential after the verification, JSON.
        credential: String,
    },
}

/// The outcome of [`Store::attempt`](crate::Store::attempt). `T` is what the check returned beside its
/// verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt<T> {
    /// The user is locked: nothing was loaded, checked or counted.
    Locked {
        /// When the lock ends.
        until: UnixTime,
    },
    /// The check accepted; the proof was consumed and the failure count reset.
    Accepted(T),
    /// The check rejected (or an accepted TOTP step had been overtaken); one failure was counted.
    Rejected {
        /// What the check returned.
        value: T,
        /// Consecutive failures, this one included.
        failures: u32,
    },
    /// The check aborted; nothing was written.
    Aborted(T),
}
