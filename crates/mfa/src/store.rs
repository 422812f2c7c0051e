use core::future::Future;

use mfa_app_password::{AppPasswordId, AppPasswordRecord};
use mfa_policy::UnixTime;

use crate::{
    Attempt, DeviceId, DeviceRecord, MethodId, MethodRecord, PendingEnrollment, PhoneChallenge, PhoneNumber,
    SealedSecret, SendLimit, StoreError, Tag, ThrottleRule, ThrottleState, UserId, UserRecord,
};

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
/// * [`begin_attempt`](Self::begin_attempt) counts a failure *before* a code is checked, so N racing
///   guesses cannot slip past the lock;
/// * [`accept_totp_step`](Self::accept_totp_step), [`consume_phone_challenge`](Self::consume_phone_challenge)
///   and [`consume_recovery_code`](Self::consume_recovery_code) are compare-and-set or delete-if-present
///   operations: of two racing requests with the same code exactly one gets `true`/`Some`, and the same
///   transaction resets the failure count;
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
    /// challenge, failure counter, recovery codes, app passwords, remembered devices. Phone sends
    /// already counted toward a number's limit may stay.
    fn delete_user(&self, user: &UserId) -> impl Future<Output = Result<(), StoreError>> + Send;

    // ---------------------------------------------------------------- methods

    /// The user's registered methods, oldest first.
    fn list_methods(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<MethodRecord>, StoreError>> + Send;

    /// Atomically: if the user has fewer than `cap` methods of `method`'s [`kind`](MethodRecord::kind),
    /// inserts it and returns `true`; otherwise changes nothing and returns `false`. Racing inserts
    /// never leave more than `cap` of a kind. [`StoreError::Duplicate`] if the id exists.
    fn insert_method_capped(
        &self,
        user: &UserId,
        method: MethodRecord,
        cap: usize,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes one method and returns it, or `None` if the user has no such method.
    fn remove_method(
        &self,
        user: &UserId,
        method: MethodId,
    ) -> impl Future<Output = Result<Option<MethodRecord>, StoreError>> + Send;

    /// Removes all of the user's methods and returns how many there were.
    fn remove_all_methods(&self, user: &UserId) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Atomic compare-and-set of an authenticator app's last accepted time step: if the method exists,
    /// is an authenticator app, and has no accepted step or one lower than `step`, stores `step` as
    /// `last_accepted_step`, **resets the user's failure counter** (failures 0, no lock) in the same
    /// transaction, and returns `true`. Otherwise changes nothing and returns `false` (a replay).
    ///
    /// Of any number of racing calls with the same `step`, exactly one returns `true`.
    fn accept_totp_step(
        &self,
        user: &UserId,
        method: MethodId,
        step: u64,
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

    // ---------------------------------------------------------------- throttling

    /// Atomically starts a verification attempt, counting it as a failure until a success resets it:
    ///
    /// * if the user is locked (`locked_until > now`): returns [`Attempt::Locked`] and counts nothing;
    /// * otherwise increments `failures`, and if `rule.lock_for(failures)` is `Some(d)` sets
    ///   `locked_until = now + d`; returns [`Attempt::Counted`] with the new count.
    ///
    /// N racing calls on an unlocked user at 0 failures yield the counts 1..=N, each exactly once (until
    /// a lock stops them).
    fn begin_attempt(
        &self,
        user: &UserId,
        now: UnixTime,
        rule: &ThrottleRule,
    ) -> impl Future<Output = Result<Attempt, StoreError>> + Send;

    /// Sets the user's failures to 0 and removes any lock.
    fn reset_failures(&self, user: &UserId) -> impl Future<Output = Result<(), StoreError>> + Send;

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

    /// Atomically: if the user has an outstanding phone code whose tag equals `tag` and `now <
    /// expires_at`, deletes it, **resets the user's failure counter** in the same transaction and
    /// returns it. Otherwise returns `None`, leaving a live challenge in place (an expired one may be
    /// deleted). Of racing calls with the right tag, exactly one gets `Some`.
    fn consume_phone_challenge(
        &self,
        user: &UserId,
        tag: &Tag,
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<PhoneChallenge>, StoreError>> + Send;

    /// Atomically checks the send limits and records a send: if, within `limit.window` before `now`, the
    /// user was sent fewer than `limit.per_user` codes, `number` fewer than `limit.per_number` codes (all
    /// users together), and the user's last send is at least `limit.min_interval` old, records a send of
    /// (`user`, `number`, `now`) and returns `true`; otherwise records nothing and returns `false`.
    /// Racing calls never exceed either limit. Sends older than the window may be pruned.
    fn record_phone_send(
        &self,
        user: &UserId,
        number: &PhoneNumber,
        now: UnixTime,
        limit: &SendLimit,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    // ---------------------------------------------------------------- recovery codes

    /// Replaces the user's recovery codes with these tags (all old codes stop working).
    fn replace_recovery_codes(
        &self,
        user: &UserId,
        tags: Vec<Tag>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically: if one of the user's recovery codes has this tag, deletes it, **resets the user's
    /// failure counter** in the same transaction, and returns how many codes are left. Otherwise
    /// `None`. Of racing calls with the same tag, exactly one gets `Some`.
    fn consume_recovery_code(
        &self,
        user: &UserId,
        tag: &Tag,
    ) -> impl Future<Output = Result<Option<usize>, StoreError>> + Send;

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

    /// Stores a remembered device. [`StoreError::Duplicate`] if the id exists.
    fn insert_device(
        &self,
        user: &UserId,
        device: DeviceRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

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
}
