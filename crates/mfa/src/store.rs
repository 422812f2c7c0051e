//! For Store implementers: the [`Store`] trait and the types its methods take and return.
//!
//! A host that uses a shipped store ([`MemoryStore`](crate::MemoryStore), or `mfa-sqlx`'s SQLite and
//! PostgreSQL stores) needs nothing here but [`Store`] itself, which is also at the crate root for
//! bounds such as `Mfa<S: Store, P>`. A backend implements [`Store`] with these types, and keeps the
//! records as given: they are plain serde data with no plaintext secret in them.
//!
//! ```
//! use mfa::store::{Attempt, AttemptTarget, Credential, MethodRecord, Store, Verdict};
//! ```

use core::future::Future;

use mfa_app_password::{AppPasswordId, AppPasswordRecord};
use mfa_policy::UnixTime;

pub use crate::attempt::{Attempt, AttemptTarget, Consume, Loaded, LoadedCredential, Verdict};
pub use crate::keys::{KeyCheck, SealedSecret, Tag};
pub use crate::push_record::{PushAnswered, PushChallenge, PushStart, PushState};
pub use crate::record::{
    Credential, DeviceRecord, MethodRecord, PasskeyChallenge, PendingEnrollment, PhoneChallenge, PhoneSend,
    ThrottleState,
};
pub use mfa_policy::{PushFatigue, PushStrikes};

use crate::{DeviceId, MethodId, PhoneNumber, SendLimit, StoreError, ThrottleRule, UserId, UserRecord};

/// Where the service keeps users' MFA state: implemented by [`MemoryStore`](crate::MemoryStore) here and
/// by SQL backends in their own crates.
///
/// # The contract
///
/// Every method is one **atomic** operation: linearizable per user, also when several processes share
/// one database (on PostgreSQL a transaction with `SELECT ... FOR UPDATE` on the user's row, or
/// conditional `UPDATE ... WHERE ... RETURNING`; on SQLite `BEGIN IMMEDIATE`). The guarantees of the
/// crate rest on these in particular:
///
/// * [`attempt`](Self::attempt) runs a whole verification (lock check, the facade's check, consuming
///   the proof or counting the failure) in one transaction with one commit, so of racing requests
///   with the same code at most one is accepted, and N racing guesses cannot slip past the lock;
/// * the `*_capped` inserts count and insert in one step, so racing inserts never pass the cap;
/// * [`record_phone_send`](Self::record_phone_send) checks and records a send in one step, per user
///   and per number.
///
/// A Store never sees a plaintext secret: TOTP secrets arrive sealed ([`SealedSecret`], keep its key id
/// beside it), codes and tokens arrive as [`Tag`]s, app passwords as argon2id hashes. Store tags and ids
/// as given; compare tags for equality (an index lookup on a keyed hash or a hash of 256 random bits
/// leaks nothing useful), and the in-memory comparisons of [`Tag`] are constant time.
///
/// Users are created implicitly: every method accepts an unknown user (reads return empty results,
/// [`update_user`](Self::update_user) starts from [`UserRecord::default`]). Lists are in insertion
/// order (oldest first). Times are the facade's clock; a store never reads a clock.
///
/// Every method's future must be `Send`, so the service runs in tokio and axum handlers; implement the
/// methods with `async fn`. Run [`conformance`](crate#the-store-conformance-suite) in your backend's
/// tests: it checks each of these contracts, including the races.
pub trait Store: Send + Sync {
    // ---------------------------------------------------------------- users

    /// The user's record, or `None` if none was ever written.
    fn get_user(&self, user: &UserId) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;

    /// Atomically reads the user's record (or [`UserRecord::default`] if there is none), applies `change`
    /// to it, stores it and returns what was stored. Racing updates are serialised: none is lost.
    ///
    /// `change` is synchronous and quick; a SQL backend runs it between its `SELECT ... FOR UPDATE` and
    /// its `UPDATE` (or `INSERT`) in one transaction.
    fn update_user<F>(
        &self,
        user: &UserId,
        change: F,
    ) -> impl Future<Output = Result<UserRecord, StoreError>> + Send
    where
        F: FnOnce(&mut UserRecord) + Send;

    /// Deletes everything the store holds for the user: record, methods, pending enrollment, phone
    /// challenge, push, passkey challenge, failure counter, recovery codes, app passwords, remembered devices. Phone sends
    /// already counted toward a number's limit may stay, and so may remembered push nonces.
    fn delete_user(&self, user: &UserId) -> impl Future<Output = Result<(), StoreError>> + Send;

    // ---------------------------------------------------------------- methods

    /// The user's registered methods, oldest first.
    fn list_methods(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<MethodRecord>, StoreError>> + Send;

    /// The user's record (as [`get_user`](Self::get_user)) and registered methods (as
    /// [`list_methods`](Self::list_methods)): what most flows read first. The default calls the two; a
    /// store that can read both in one round trip overrides it (the SQL stores read them in one
    /// statement, so from one snapshot).
    fn get_user_and_methods(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<(Option<UserRecord>, Vec<MethodRecord>), StoreError>> + Send {
        async move {
            let record = self.get_user(user).await?;
            let methods = self.list_methods(user).await?;
            Ok((record, methods))
        }
    }

    /// Atomically: if the user has fewer than `cap` methods of `method`'s [`kind`](MethodRecord::kind),
    /// inserts it and returns `true`; otherwise changes nothing and returns `false`. Racing inserts
    /// never leave more than `cap` of a kind. [`StoreError::Duplicate`] if the id exists.
    fn insert_method_capped(
        &self,
        user: &UserId,
        method: MethodRecord,
        cap: usize,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes one method and returns it, or `None` if the user has no such method. The outstanding
    /// phone code or push goes with it if it was sent to that method.
    fn remove_method(
        &self,
        user: &UserId,
        method: MethodId,
    ) -> impl Future<Output = Result<Option<MethodRecord>, StoreError>> + Send;

    /// Removes all of the user's methods and returns how many there were; the outstanding phone code
    /// and push go with them.
    fn remove_all_methods(&self, user: &UserId) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Renames one of the user's methods; `false` if there is no such method.
    fn rename_method(
        &self,
        user: &UserId,
        method: MethodId,
        name: String,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces an authenticator app's sealed secret (re-encryption under a newer key), keeping
    /// everything else, `last_accepted_step` included. `false` if there is no such app.
    fn update_app_secret(
        &self,
        user: &UserId,
        method: MethodId,
        secret: SealedSecret,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    // ---------------------------------------------------------------- pending enrollment

    /// Stores the user's pending enrollment, replacing any previous one.
    fn put_pending(
        &self,
        user: &UserId,
        pending: PendingEnrollment,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user's pending enrollment, if any (expired ones included: the facade checks).
    fn get_pending(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Option<PendingEnrollment>, StoreError>> + Send;

    /// Atomically removes and returns the pending enrollment if its method id is `method`; otherwise
    /// changes nothing and returns `None`. Of racing calls, at most one gets it.
    fn take_pending(
        &self,
        user: &UserId,
        method: MethodId,
    ) -> impl Future<Output = Result<Option<PendingEnrollment>, StoreError>> + Send;

    /// Replaces the sealed secret of the user's pending authenticator-app registration (re-encryption
    /// under a newer key) if it is still there with the id `method`; otherwise changes nothing and
    /// returns `false`: a registration taken or replaced meanwhile is not brought back.
    fn update_pending_secret(
        &self,
        user: &UserId,
        method: MethodId,
        secret: SealedSecret,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the user's pending registration, whatever it holds, and the phone code sent for it;
    /// `false` if there was none. Reads nothing of it but its method id, so a damaged row goes too
    /// (an administrator's reset must not stop at it).
    fn clear_pending(&self, user: &UserId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    // ---------------------------------------------------------------- verification

    /// One verification attempt, in **one transaction with one commit**, holding the user's lock
    /// throughout:
    ///
    /// 1. if the user is locked (`locked_until > now`), returns [`Attempt::Locked`]: nothing is
    ///    loaded, checked or counted;
    /// 2. loads the user's record and what `target` names ([`Loaded`]) and calls `check` with it,
    ///    once; `check` is the facade's pure, synchronous verification (open the sealed secret, run the
    ///    TOTP window, compare tags) and does no I/O;
    /// 3. writes its [`Verdict`] (and, for [`AttemptTarget::Passkey`], on acceptance or rejection
    ///    deletes the passkey challenge): [`Accept`](Verdict::Accept) consumes what [`Consume`] says and
    ///    resets the failure count (failures 0, no lock, no push strikes) and returns
    ///    [`Attempt::Accepted`];
    ///    [`Reject`](Verdict::Reject) increments `failures`, sets `locked_until = now + d` if
    ///    `rule.lock_for(failures)` is `Some(d)`, and returns [`Attempt::Rejected`] with the new
    ///    count; [`Abort`](Verdict::Abort) writes nothing and returns [`Attempt::Aborted`];
    /// 4. commits, and only then answers.
    ///
    /// So of any number of racing attempts with the same TOTP step, phone code, recovery code or
    /// pending registration, at most one is accepted, also across processes; N racing rejections of an
    /// unlocked user at 0 failures yield the counts 1..=N, each exactly once, until the lock stops
    /// them. [`Consume::TotpStep`] is still a compare-and-set: a step not above the stored one is not
    /// accepted (the attempt counts as rejected).
    ///
    /// If the returned future is dropped before the commit, the transaction rolls back: nothing is
    /// counted and nothing consumed. That is safe because no answer reaches the caller either, so a
    /// dropped attempt teaches an attacker nothing. (A backend that batches commits, such as
    /// `mfa-sqlx`'s SQLite store, may still commit an attempt whose caller went away once its part of
    /// the batch is done: counted or consumed, and still unanswered, which is as safe.)
    fn attempt<F, T>(
        &self,
        user: &UserId,
        target: AttemptTarget<'_>,
        now: UnixTime,
        rule: &ThrottleRule,
        check: F,
    ) -> impl Future<Output = Result<Attempt<T>, StoreError>> + Send
    where
        F: FnOnce(Loaded<'_>) -> (Verdict, T) + Send,
        T: Send;

    // ---------------------------------------------------------------- throttling

    /// The user's counter (zero and unlocked for an unknown user).
    fn throttle_state(&self, user: &UserId)
    -> impl Future<Output = Result<ThrottleState, StoreError>> + Send;

    // ---------------------------------------------------------------- phone codes

    /// Stores the user's outstanding phone code, replacing any previous one: a resend invalidates the
    /// previous code. Does not touch the failure counter.
    fn put_phone_challenge(
        &self,
        user: &UserId,
        challenge: PhoneChallenge,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically checks the send limits and records a send: if, within `limit.window` before `now`, the
    /// user was sent fewer than `limit.per_user` codes, `number` fewer than `limit.per_number` codes (all
    /// users together), and the user's last send is at least `limit.min_interval` old, records a send of
    /// (`user`, `number`, `now`) and returns [`PhoneSend::Recorded`]; otherwise records nothing and
    /// returns [`PhoneSend::Limited`] with the instant a send fits again. [`PhoneSend::decide`] computes
    /// the answer from the sends read under the lock. Racing calls never exceed either limit. Sends
    /// older than both the window and the interval may be pruned (the interval counts even when it is
    /// longer than the window).
    fn record_phone_send(
        &self,
        user: &UserId,
        number: &PhoneNumber,
        now: UnixTime,
        limit: &SendLimit,
    ) -> impl Future<Output = Result<PhoneSend, StoreError>> + Send;

    // ---------------------------------------------------------------- push approvals

    /// The push app whose device id is `device`, with its user, whoever the user is (device requests
    /// carry only the device id). Device ids are unique across users.
    fn find_push_device(
        &self,
        device: &mfa_push::DeviceId,
    ) -> impl Future<Output = Result<Option<(UserId, MethodRecord)>, StoreError>> + Send;

    /// Atomically removes and returns the pending registration whose credential is a
    /// [`Credential::PushEnrollment`] with this offer id, with its user (expired or not: the facade
    /// checks). Of racing calls, at most one gets it; the first answer uses an offer up, whatever
    /// its outcome.
    fn take_push_enrollment(
        &self,
        enrollment: &mfa_push::EnrollmentId,
    ) -> impl Future<Output = Result<Option<(UserId, PendingEnrollment)>, StoreError>> + Send;

    /// Atomically, holding the user's lock: if the stored push is still
    /// [`Pending`](PushState::Pending) (unanswered, expired or not), adds a strike at `now` to the
    /// user's [`PushStrikes`] ([`PushStrikes::add`]); then, if `fatigue` [stops](PushFatigue::stops)
    /// the strikes, deletes the stored push and returns [`PushStart::Stopped`], and otherwise stores
    /// `push` in place of the previous one and returns [`PushStart::Started`]. So a user has at most
    /// one push, and racing starts never store two.
    fn start_push(
        &self,
        user: &UserId,
        push: PushChallenge,
        now: UnixTime,
        fatigue: &PushFatigue,
    ) -> impl Future<Output = Result<PushStart, StoreError>> + Send;

    /// The user's push, if any (expired or answered ones included: the facade checks).
    fn get_push(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Option<PushChallenge>, StoreError>> + Send;

    /// Atomically answers the user's push: if its id is `challenge`, it is
    /// [`Pending`](PushState::Pending) and `now` is before its expiry, sets its state to `state` (never
    /// `Pending`), and in the same transaction
    /// * for [`WrongNumber`](PushState::WrongNumber) counts a failure as a rejected
    ///   [`attempt`](Self::attempt) does (locking by `rule`) and returns the new count;
    /// * for [`Denied`](PushState::Denied) and [`Reported`](PushState::Reported) adds a strike at
    ///   `now` ([`PushStrikes::add`] with `fatigue`).
    ///
    /// Otherwise changes nothing and returns `None`. Of racing answers, at most one is recorded.
    fn answer_push(
        &self,
        user: &UserId,
        challenge: &mfa_push::ChallengeId,
        state: PushState,
        now: UnixTime,
        rule: &ThrottleRule,
        fatigue: &PushFatigue,
    ) -> impl Future<Output = Result<Option<PushAnswered>, StoreError>> + Send;

    /// Atomically records a device request's nonce until its [`keep_until`](mfa_push::ReplayKey::keep_until)
    /// and returns `true`, unless the same device and nonce are recorded with a `keep_until` after
    /// `now`: then returns `false` and changes nothing. Of racing calls with one key, one gets `true`.
    /// Not per user; entries whose `keep_until` is past may be pruned at any time.
    fn remember_push_nonce(
        &self,
        key: &mfa_push::ReplayKey,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    // ---------------------------------------------------------------- passkeys

    /// Stores the user's outstanding passkey challenge, replacing any previous one. Used up by the
    /// next accepted or rejected [`attempt`](Self::attempt) on an [`AttemptTarget::Passkey`].
    fn put_passkey_challenge(
        &self,
        user: &UserId,
        challenge: PasskeyChallenge,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    // ---------------------------------------------------------------- recovery codes

    /// Replaces the user's recovery codes with these tags (all old codes stop working).
    fn replace_recovery_codes(
        &self,
        user: &UserId,
        tags: Vec<Tag>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// How many recovery codes the user has left.
    fn recovery_codes_left(&self, user: &UserId) -> impl Future<Output = Result<usize, StoreError>> + Send;

    // ---------------------------------------------------------------- app passwords

    /// Atomically: if the user has fewer than `cap` app passwords, inserts `record` and returns `true`;
    /// otherwise `false`. Racing inserts never pass the cap. [`StoreError::Duplicate`] if the id exists.
    /// Persist the whole record (it is serde-serialisable; its hash is an argon2id PHC string).
    fn insert_app_password_capped(
        &self,
        user: &UserId,
        record: AppPasswordRecord,
        cap: usize,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The user's app passwords, oldest first.
    fn list_app_passwords(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<AppPasswordRecord>, StoreError>> + Send;

    /// Replaces the user's app password with `record`'s id (last use, refreshed hash); `false` if it no
    /// longer exists (it is not re-created).
    fn update_app_password(
        &self,
        user: &UserId,
        record: AppPasswordRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes one app password; `false` if there was none.
    fn delete_app_password(
        &self,
        user: &UserId,
        id: AppPasswordId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes all of the user's app passwords and returns how many there were.
    fn delete_all_app_passwords(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    // ---------------------------------------------------------------- remembered devices

    /// Atomically stores a remembered device and, if the user then has more than `cap` devices,
    /// forgets the least recently used of the others (lowest `last_used_at`, the oldest inserted first
    /// among equals) until `cap` are left; returns the ids forgotten, least recently used first. The
    /// new device is never the one forgotten; a `cap` of 0 counts as 1. Racing inserts never leave
    /// more than `cap`. [`StoreError::Duplicate`] if the id exists (and nothing changes).
    fn insert_device_capped(
        &self,
        user: &UserId,
        device: DeviceRecord,
        cap: usize,
    ) -> impl Future<Output = Result<Vec<DeviceId>, StoreError>> + Send;

    /// The user's device whose `token_hash` equals `token_hash`. A device of another user is never
    /// returned.
    fn find_device(
        &self,
        user: &UserId,
        token_hash: &Tag,
    ) -> impl Future<Output = Result<Option<DeviceRecord>, StoreError>> + Send;

    /// Sets a device's `last_used_at`; `false` if the user has no such device.
    fn touch_device(
        &self,
        user: &UserId,
        device: DeviceId,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The user's remembered devices, oldest first.
    fn list_devices(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<DeviceRecord>, StoreError>> + Send;

    /// Forgets one device; `false` if there was none.
    fn forget_device(
        &self,
        user: &UserId,
        device: DeviceId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets all of the user's devices and returns how many there were.
    fn forget_all_devices(&self, user: &UserId) -> impl Future<Output = Result<usize, StoreError>> + Send;

    // ---------------------------------------------------------------- key checks

    /// Every key check value recorded so far, in any order (see
    /// [`Mfa::check_keys`](crate::Mfa::check_keys)). Not per user: one record for the whole store.
    fn key_checks(&self) -> impl Future<Output = Result<Vec<KeyCheck>, StoreError>> + Send;

    /// Atomically records each of `checks` whose [`key`](KeyCheck::key) has no recorded check yet, and
    /// returns the check recorded for each of `checks`' keys afterwards, in the order of `checks`: the
    /// one found, or the one just recorded. A recorded check is never replaced, so of racing calls
    /// with different values for one key, all return the same one. Keep the key as its
    /// [`name`](crate::CheckedKey::name) and the value as 32 bytes.
    fn record_key_checks(
        &self,
        checks: Vec<KeyCheck>,
    ) -> impl Future<Output = Result<Vec<KeyCheck>, StoreError>> + Send;
}
