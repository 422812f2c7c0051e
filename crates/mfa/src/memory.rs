use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use mfa_app_password::{AppPasswordId, AppPasswordRecord};
use mfa_policy::UnixTime;
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::{
    Attempt, AttemptTarget, Consume, Credential, DeviceId, DeviceRecord, KeyCheck, Loaded, LoadedCredential,
    MethodId, MethodRecord, PasskeyChallenge, PendingEnrollment, PhoneChallenge, PhoneNumber, PhoneSend,
    PushAnswered, PushChallenge, PushFatigue, PushStart, PushState, SealedSecret, SendLimit, Store,
    StoreError, Tag, ThrottleRule, ThrottleState, UserId, UserRecord, Verdict,
};

#[derive(Debug, Default, Serialize)]
struct UserData {
    record: Option<UserRecord>,
    methods: Vec<MethodRecord>,
    pending: Option<PendingEnrollment>,
    throttle: ThrottleState,
    challenge: Option<PhoneChallenge>,
    push: Option<PushChallenge>,
    passkey_challenge: Option<PasskeyChallenge>,
    sends: Vec<UnixTime>,
    recovery_codes: Vec<Tag>,
    app_passwords: Vec<AppPasswordRecord>,
    devices: Vec<DeviceRecord>,
}

#[derive(Debug, Default)]
struct State {
    /// Each user's data behind a lock of its own: one user's operations (a verification's check
    /// included) do not hold up another's.
    users: HashMap<UserId, Arc<Mutex<UserData>>>,
    // Keyed by `PhoneNumber`, whose `Debug` masks all but two digits: the store's `Debug` shows no
    // full number.
    number_sends: HashMap<PhoneNumber, Vec<UnixTime>>,
    /// Recorded key check values, in the order they were recorded.
    key_checks: Vec<KeyCheck>,
    /// Nonces of push device requests (device id, nonce) and until when each is kept.
    push_nonces: HashMap<(String, [u8; 16]), UnixTime>,
}

/// A [`Store`] in memory: for tests, development and small single-process programs. Everything is lost
/// when the process ends.
///
/// Each user's data has a mutex of its own (a verification's check runs under it, so one user's
/// attempts take turns while other users' run in parallel), the map of users and the per-number send
/// counts one more; none is held across an `.await`, so every method is atomic and the whole
/// conformance suite, races included, passes. Clones share the same data.
///
/// ```
/// use mfa::{MemoryStore, Store, UserId};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let user = UserId::new("u1")?;
/// store.update_user(&user, |r| r.mfa_on_every_sign_in = true).await?;
/// assert!(store.get_user(&user).await?.is_some_and(|r| r.mfa_on_every_sign_in));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        locked(&self.state)
    }

    /// The user's data, created if missing. The map's lock is held only to find it, and no one who
    /// holds a user's lock asks for the map's (the order is always map, then user): no deadlock.
    fn with_user<T>(&self, user: &UserId, f: impl FnOnce(&mut UserData) -> T) -> T {
        let cell = Arc::clone(self.lock().users.entry(user.clone()).or_default());
        f(&mut locked(&cell))
    }

    fn read_user<T>(&self, user: &UserId, f: impl FnOnce(&UserData) -> T) -> T {
        let cell = self.lock().users.get(user).cloned();
        match cell {
            Some(cell) => f(&locked(&cell)),
            None => f(&UserData::default()),
        }
    }

    /// Everything the store holds, as JSON: what a database would hold. For tests (for example, to
    /// check that no plaintext secret is in it) and debugging.
    pub fn to_json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Snapshot<'a> {
            users: HashMap<&'a UserId, serde_json::Value>,
            number_sends: &'a HashMap<PhoneNumber, Vec<UnixTime>>,
        }
        let state = self.lock();
        let users = state
            .users
            .iter()
            .map(|(id, cell)| {
                let data = serde_json::to_value(&*locked(cell)).unwrap_or(serde_json::Value::Null);
                (id, data)
            })
            .collect();
        let snapshot = Snapshot {
            users,
            number_sends: &state.number_sends,
        };
        serde_json::to_value(&snapshot).unwrap_or(serde_json::Value::Null)
    }
}

impl UserData {
    /// Deletes the outstanding phone code and push if they were sent to one of `methods`.
    fn drop_challenge_of(&mut self, methods: &[MethodId]) {
        if self
            .challenge
            .as_ref()
            .is_some_and(|c| methods.contains(&c.method))
        {
            self.challenge = None;
        }
        if self.push.as_ref().is_some_and(|p| methods.contains(&p.method)) {
            self.push = None;
        }
    }

    fn load(&self, target: AttemptTarget<'_>) -> LoadedCredential<'_> {
        let phone_challenge = |method: Option<&MethodRecord>| {
            method
                .filter(|m| matches!(m.credential, Credential::Phone { .. }))
                .and(self.challenge.as_ref())
        };
        match target {
            AttemptTarget::Method(id) => {
                let method = self.methods.iter().find(|m| m.id == id);
                LoadedCredential::Method {
                    method,
                    challenge: phone_challenge(method),
                }
            }
            AttemptTarget::Pending(id) => {
                let pending = self.pending.as_ref().filter(|p| p.method.id == id);
                LoadedCredential::Pending {
                    pending,
                    challenge: phone_challenge(pending.map(|p| &p.method)),
                }
            }
            AttemptTarget::RecoveryCode(tag) => LoadedCredential::RecoveryCode {
                found: self.recovery_code(tag).is_some(),
                left: self.recovery_codes.len(),
            },
            AttemptTarget::Passkey(id) => LoadedCredential::Passkey {
                method: self.methods.iter().find(|m| m.id == id),
                challenge: self.passkey_challenge.as_ref(),
            },
            AttemptTarget::Push(id) => {
                let push = self.push.as_ref().filter(|p| p.id() == id);
                LoadedCredential::Push {
                    push,
                    method: push.and_then(|p| self.methods.iter().find(|m| m.id == p.method)),
                }
            }
        }
    }

    /// Consumes what an accepted attempt used up; `false` if it was not there to consume.
    fn consume(&mut self, target: AttemptTarget<'_>, consume: Consume) -> bool {
        match (target, consume) {
            (AttemptTarget::Method(id), Consume::TotpStep { step, resealed }) => {
                let Some(Credential::AuthenticatorApp {
                    secret,
                    last_accepted_step,
                    ..
                }) = self
                    .methods
                    .iter_mut()
                    .find(|m| m.id == id)
                    .map(|m| &mut m.credential)
                else {
                    return false;
                };
                if last_accepted_step.is_some_and(|last| last >= step) {
                    return false;
                }
                *last_accepted_step = Some(step);
                if let Some(resealed) = resealed {
                    *secret = resealed;
                }
                true
            }
            (AttemptTarget::Method(_), Consume::PhoneCode) => self.challenge.take().is_some(),
            (AttemptTarget::Pending(id), Consume::Pending) => {
                if self.pending.as_ref().is_none_or(|p| p.method.id != id) {
                    return false;
                }
                if let Some(pending) = self.pending.take()
                    && matches!(pending.method.credential, Credential::Phone { .. })
                {
                    self.challenge = None;
                }
                true
            }
            (AttemptTarget::RecoveryCode(tag), Consume::RecoveryCode) => match self.recovery_code(tag) {
                Some(index) => {
                    self.recovery_codes.remove(index);
                    true
                }
                None => false,
            },
            (AttemptTarget::Passkey(id), Consume::Passkey { credential }) => {
                let Some(Credential::Passkey {
                    credential: stored, ..
                }) = self
                    .methods
                    .iter_mut()
                    .find(|m| m.id == id)
                    .map(|m| &mut m.credential)
                else {
                    return false;
                };
                if self.passkey_challenge.take().is_none() {
                    return false;
                }
                *stored = credential;
                true
            }
            (AttemptTarget::Push(id), Consume::Push) => {
                if self.push.as_ref().is_none_or(|p| p.id() != id) {
                    return false;
                }
                self.push = None;
                true
            }
            _ => false,
        }
    }

    /// The index of the recovery code with this tag. Compares against every code, so the time taken
    /// does not say which one matched.
    fn recovery_code(&self, tag: &Tag) -> Option<usize> {
        let mut found = None;
        for (index, stored) in self.recovery_codes.iter().enumerate() {
            if bool::from(stored.ct_eq(tag)) {
                found = Some(index);
            }
        }
        found
    }
}

/// A poisoned lock is safe to take over: every operation mutates only after its checks, so a panic
/// while holding one cannot leave a half-done operation visible.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn reset(throttle: &mut ThrottleState) {
    *throttle = ThrottleState::default();
}

impl Store for MemoryStore {
    async fn get_user(&self, user: &UserId) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.read_user(user, |d| d.record.clone()))
    }

    async fn update_user<F>(&self, user: &UserId, change: F) -> Result<UserRecord, StoreError>
    where
        F: FnOnce(&mut UserRecord) + Send,
    {
        Ok(self.with_user(user, |d| {
            let mut record = d.record.clone().unwrap_or_default();
            change(&mut record);
            d.record = Some(record.clone());
            record
        }))
    }

    async fn delete_user(&self, user: &UserId) -> Result<(), StoreError> {
        self.lock().users.remove(user);
        Ok(())
    }

    async fn list_methods(&self, user: &UserId) -> Result<Vec<MethodRecord>, StoreError> {
        Ok(self.read_user(user, |d| d.methods.clone()))
    }

    async fn insert_method_capped(
        &self,
        user: &UserId,
        method: MethodRecord,
        cap: usize,
    ) -> Result<bool, StoreError> {
        // A push app's device id is unique across users: the map's lock is held over the check and
        // the insert (map, then user, as everywhere), so racing inserts cannot both pass it.
        let mut state = self.lock();
        if let Credential::PushApp { device, .. } = &method.credential {
            let taken = state.users.values().any(|cell| {
                locked(cell)
                    .methods
                    .iter()
                    .any(|m| matches!(&m.credential, Credential::PushApp { device: d, .. } if d == device))
            });
            if taken {
                return Err(StoreError::Duplicate);
            }
        }
        let cell = Arc::clone(state.users.entry(user.clone()).or_default());
        let mut d = locked(&cell);
        if d.methods.iter().any(|m| m.id == method.id) {
            return Err(StoreError::Duplicate);
        }
        let kind = method.kind();
        if d.methods.iter().filter(|m| m.kind() == kind).count() >= cap {
            return Ok(false);
        }
        d.methods.push(method);
        Ok(true)
    }

    async fn remove_method(
        &self,
        user: &UserId,
        method: MethodId,
    ) -> Result<Option<MethodRecord>, StoreError> {
        Ok(self.with_user(user, |d| {
            let index = d.methods.iter().position(|m| m.id == method)?;
            let removed = d.methods.remove(index);
            d.drop_challenge_of(&[method]);
            Some(removed)
        }))
    }

    async fn remove_all_methods(&self, user: &UserId) -> Result<usize, StoreError> {
        Ok(self.with_user(user, |d| {
            let removed = std::mem::take(&mut d.methods);
            let ids: Vec<MethodId> = removed.iter().map(|m| m.id).collect();
            d.drop_challenge_of(&ids);
            removed.len()
        }))
    }

    async fn rename_method(&self, user: &UserId, method: MethodId, name: String) -> Result<bool, StoreError> {
        Ok(
            self.with_user(user, |d| match d.methods.iter_mut().find(|m| m.id == method) {
                Some(found) => {
                    found.name = name;
                    true
                }
                None => false,
            }),
        )
    }

    async fn update_app_secret(
        &self,
        user: &UserId,
        method: MethodId,
        secret: SealedSecret,
    ) -> Result<bool, StoreError> {
        Ok(self.with_user(user, |d| {
            match d
                .methods
                .iter_mut()
                .find(|m| m.id == method)
                .map(|m| &mut m.credential)
            {
                Some(Credential::AuthenticatorApp { secret: stored, .. }) => {
                    *stored = secret;
                    true
                }
                _ => false,
            }
        }))
    }

    async fn put_pending(&self, user: &UserId, pending: PendingEnrollment) -> Result<(), StoreError> {
        self.with_user(user, |d| d.pending = Some(pending));
        Ok(())
    }

    async fn get_pending(&self, user: &UserId) -> Result<Option<PendingEnrollment>, StoreError> {
        Ok(self.read_user(user, |d| d.pending.clone()))
    }

    async fn take_pending(
        &self,
        user: &UserId,
        method: MethodId,
    ) -> Result<Option<PendingEnrollment>, StoreError> {
        Ok(self.with_user(user, |d| {
            if d.pending.as_ref().is_some_and(|p| p.method.id == method) {
                d.pending.take()
            } else {
                None
            }
        }))
    }

    async fn update_pending_secret(
        &self,
        user: &UserId,
        method: MethodId,
        secret: SealedSecret,
    ) -> Result<bool, StoreError> {
        Ok(self.with_user(user, |d| {
            match d
                .pending
                .as_mut()
                .filter(|p| p.method.id == method)
                .map(|p| &mut p.method.credential)
            {
                Some(Credential::AuthenticatorApp { secret: stored, .. }) => {
                    *stored = secret;
                    true
                }
                _ => false,
            }
        }))
    }

    async fn clear_pending(&self, user: &UserId) -> Result<bool, StoreError> {
        Ok(self.with_user(user, |d| match d.pending.take() {
            Some(pending) => {
                d.drop_challenge_of(&[pending.method.id]);
                true
            }
            None => false,
        }))
    }

    async fn attempt<F, T>(
        &self,
        user: &UserId,
        target: AttemptTarget<'_>,
        now: UnixTime,
        rule: &ThrottleRule,
        check: F,
    ) -> Result<Attempt<T>, StoreError>
    where
        F: FnOnce(Loaded<'_>) -> (Verdict, T) + Send,
        T: Send,
    {
        // The check runs under the mutex: it is pure and quick, and this makes the whole attempt
        // atomic.
        Ok(self.with_user(user, |d| {
            if let Some(until) = d.throttle.locked_until.filter(|until| *until > now) {
                return Attempt::Locked { until };
            }
            let default = UserRecord::default();
            let (verdict, value) = check(Loaded {
                user: d.record.as_ref().unwrap_or(&default),
                credential: d.load(target),
            });
            let consumed = match verdict {
                Verdict::Abort => return Attempt::Aborted(value),
                Verdict::Accept(consume) => d.consume(target, consume),
                Verdict::Reject => false,
            };
            // A passkey challenge is used once, whatever the outcome.
            if matches!(target, AttemptTarget::Passkey(_)) {
                d.passkey_challenge = None;
            }
            if consumed {
                reset(&mut d.throttle);
                return Attempt::Accepted(value);
            }
            let throttle = &mut d.throttle;
            throttle.failures = throttle.failures.saturating_add(1);
            if let Some(lock) = rule.lock_for(throttle.failures) {
                throttle.locked_until = Some(now.saturating_add(lock));
            }
            Attempt::Rejected {
                value,
                failures: throttle.failures,
            }
        }))
    }

    async fn throttle_state(&self, user: &UserId) -> Result<ThrottleState, StoreError> {
        Ok(self.read_user(user, |d| d.throttle))
    }

    async fn put_phone_challenge(&self, user: &UserId, challenge: PhoneChallenge) -> Result<(), StoreError> {
        self.with_user(user, |d| d.challenge = Some(challenge));
        Ok(())
    }

    async fn record_phone_send(
        &self,
        user: &UserId,
        number: &PhoneNumber,
        now: UnixTime,
        limit: &SendLimit,
    ) -> Result<PhoneSend, StoreError> {
        // The map's lock, then the user's: the per-number counts and the user's are checked and
        // recorded together.
        let mut state = self.lock();
        let cell = Arc::clone(state.users.entry(user.clone()).or_default());
        let mut user_data = locked(&cell);
        // Sends are kept as long as the window or the user's interval needs them (the interval may
        // be longer than the window).
        let kept_from = now.saturating_sub(limit.window.max(limit.min_interval));
        user_data.sends.retain(|at| *at > kept_from);
        let number_sends = state.number_sends.entry(number.clone()).or_default();
        number_sends.retain(|at| *at > kept_from);
        let answer = PhoneSend::decide(&user_data.sends, number_sends, now, limit);
        if answer.is_recorded() {
            number_sends.push(now);
            user_data.sends.push(now);
        }
        Ok(answer)
    }

    async fn find_push_device(
        &self,
        device: &mfa_push::DeviceId,
    ) -> Result<Option<(UserId, MethodRecord)>, StoreError> {
        let users: Vec<(UserId, Arc<Mutex<UserData>>)> = self
            .lock()
            .users
            .iter()
            .map(|(id, cell)| (id.clone(), Arc::clone(cell)))
            .collect();
        Ok(users.into_iter().find_map(|(id, cell)| {
            let found = locked(&cell)
                .methods
                .iter()
                .find(|m| matches!(&m.credential, Credential::PushApp { device: d, .. } if d == device))
                .cloned();
            found.map(|method| (id, method))
        }))
    }

    async fn take_push_enrollment(
        &self,
        enrollment: &mfa_push::EnrollmentId,
    ) -> Result<Option<(UserId, PendingEnrollment)>, StoreError> {
        let users: Vec<(UserId, Arc<Mutex<UserData>>)> = self
            .lock()
            .users
            .iter()
            .map(|(id, cell)| (id.clone(), Arc::clone(cell)))
            .collect();
        Ok(users.into_iter().find_map(|(id, cell)| {
            let mut data = locked(&cell);
            let matches = data.pending.as_ref().is_some_and(|p| {
                matches!(&p.method.credential, Credential::PushEnrollment { offer } if offer.enrollment_id() == enrollment)
            });
            if matches { data.pending.take().map(|p| (id, p)) } else { None }
        }))
    }

    async fn start_push(
        &self,
        user: &UserId,
        push: PushChallenge,
        now: UnixTime,
        fatigue: &PushFatigue,
    ) -> Result<PushStart, StoreError> {
        Ok(self.with_user(user, |d| {
            if d.push.as_ref().is_some_and(|p| p.state == PushState::Pending) {
                d.throttle.push_strikes = d.throttle.push_strikes.add(now, fatigue);
            }
            if fatigue.stops(&d.throttle.push_strikes) {
                d.push = None;
                return PushStart::Stopped;
            }
            d.push = Some(push);
            PushStart::Started
        }))
    }

    async fn get_push(&self, user: &UserId) -> Result<Option<PushChallenge>, StoreError> {
        Ok(self.read_user(user, |d| d.push.clone()))
    }

    async fn answer_push(
        &self,
        user: &UserId,
        challenge: &mfa_push::ChallengeId,
        state: PushState,
        now: UnixTime,
        rule: &ThrottleRule,
        fatigue: &PushFatigue,
    ) -> Result<Option<PushAnswered>, StoreError> {
        Ok(self.with_user(user, |d| {
            let push = d
                .push
                .as_mut()
                .filter(|p| p.id() == challenge && p.state == PushState::Pending && now < p.expires_at())?;
            push.state = state;
            let throttle = &mut d.throttle;
            let failures = match state {
                PushState::WrongNumber => {
                    throttle.failures = throttle.failures.saturating_add(1);
                    if let Some(lock) = rule.lock_for(throttle.failures) {
                        throttle.locked_until = Some(now.saturating_add(lock));
                    }
                    Some(throttle.failures)
                }
                PushState::Denied | PushState::Reported => {
                    throttle.push_strikes = throttle.push_strikes.add(now, fatigue);
                    None
                }
                PushState::Pending | PushState::Approved => None,
            };
            Some(PushAnswered { failures })
        }))
    }

    async fn remember_push_nonce(
        &self,
        key: &mfa_push::ReplayKey,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        state.push_nonces.retain(|_, keep_until| *keep_until > now);
        let entry = (key.device_id().as_str().to_owned(), *key.nonce().as_bytes());
        if state.push_nonces.contains_key(&entry) {
            return Ok(false);
        }
        state.push_nonces.insert(entry, key.keep_until());
        Ok(true)
    }

    async fn put_passkey_challenge(
        &self,
        user: &UserId,
        challenge: PasskeyChallenge,
    ) -> Result<(), StoreError> {
        self.with_user(user, |d| d.passkey_challenge = Some(challenge));
        Ok(())
    }

    async fn replace_recovery_codes(&self, user: &UserId, tags: Vec<Tag>) -> Result<(), StoreError> {
        self.with_user(user, |d| d.recovery_codes = tags);
        Ok(())
    }

    async fn recovery_codes_left(&self, user: &UserId) -> Result<usize, StoreError> {
        Ok(self.read_user(user, |d| d.recovery_codes.len()))
    }

    async fn insert_app_password_capped(
        &self,
        user: &UserId,
        record: AppPasswordRecord,
        cap: usize,
    ) -> Result<bool, StoreError> {
        self.with_user(user, |d| {
            if d.app_passwords.iter().any(|r| r.id() == record.id()) {
                return Err(StoreError::Duplicate);
            }
            if d.app_passwords.len() >= cap {
                return Ok(false);
            }
            d.app_passwords.push(record);
            Ok(true)
        })
    }

    async fn list_app_passwords(&self, user: &UserId) -> Result<Vec<AppPasswordRecord>, StoreError> {
        Ok(self.read_user(user, |d| d.app_passwords.clone()))
    }

    async fn update_app_password(
        &self,
        user: &UserId,
        record: AppPasswordRecord,
    ) -> Result<bool, StoreError> {
        Ok(self.with_user(user, |d| {
            match d.app_passwords.iter_mut().find(|r| r.id() == record.id()) {
                Some(stored) => {
                    *stored = record;
                    true
                }
                None => false,
            }
        }))
    }

    async fn delete_app_password(&self, user: &UserId, id: AppPasswordId) -> Result<bool, StoreError> {
        Ok(self.with_user(user, |d| {
            let before = d.app_passwords.len();
            d.app_passwords.retain(|r| r.id() != id);
            d.app_passwords.len() != before
        }))
    }

    async fn delete_all_app_passwords(&self, user: &UserId) -> Result<usize, StoreError> {
        Ok(self.with_user(user, |d| std::mem::take(&mut d.app_passwords).len()))
    }

    async fn insert_device_capped(
        &self,
        user: &UserId,
        device: DeviceRecord,
        cap: usize,
    ) -> Result<Vec<DeviceId>, StoreError> {
        self.with_user(user, |d| {
            if d.devices.iter().any(|r| r.id == device.id) {
                return Err(StoreError::Duplicate);
            }
            let new = device.id;
            d.devices.push(device);
            let excess = d.devices.len().saturating_sub(cap.max(1));
            // The others by last use, then insertion order (a stable sort keeps it among equals).
            let mut others: Vec<&DeviceRecord> = d.devices.iter().filter(|r| r.id != new).collect();
            others.sort_by_key(|r| r.last_used_at);
            let evicted: Vec<DeviceId> = others.iter().take(excess).map(|r| r.id).collect();
            d.devices.retain(|r| !evicted.contains(&r.id));
            Ok(evicted)
        })
    }

    async fn find_device(&self, user: &UserId, token_hash: &Tag) -> Result<Option<DeviceRecord>, StoreError> {
        Ok(self.read_user(user, |d| {
            d.devices.iter().find(|r| r.token_hash == *token_hash).cloned()
        }))
    }

    async fn touch_device(&self, user: &UserId, device: DeviceId, now: UnixTime) -> Result<bool, StoreError> {
        Ok(
            self.with_user(user, |d| match d.devices.iter_mut().find(|r| r.id == device) {
                Some(record) => {
                    record.last_used_at = now;
                    true
                }
                None => false,
            }),
        )
    }

    async fn list_devices(&self, user: &UserId) -> Result<Vec<DeviceRecord>, StoreError> {
        Ok(self.read_user(user, |d| d.devices.clone()))
    }

    async fn forget_device(&self, user: &UserId, device: DeviceId) -> Result<bool, StoreError> {
        Ok(self.with_user(user, |d| {
            let before = d.devices.len();
            d.devices.retain(|r| r.id != device);
            d.devices.len() != before
        }))
    }

    async fn forget_all_devices(&self, user: &UserId) -> Result<usize, StoreError> {
        Ok(self.with_user(user, |d| std::mem::take(&mut d.devices).len()))
    }

    async fn key_checks(&self) -> Result<Vec<KeyCheck>, StoreError> {
        Ok(self.lock().key_checks.clone())
    }

    async fn record_key_checks(&self, checks: Vec<KeyCheck>) -> Result<Vec<KeyCheck>, StoreError> {
        let mut state = self.lock();
        let mut recorded = Vec::with_capacity(checks.len());
        for check in checks {
            match state.key_checks.iter().find(|known| known.key == check.key) {
                Some(known) => recorded.push(*known),
                None => {
                    state.key_checks.push(check);
                    recorded.push(check);
                }
            }
        }
        Ok(recorded)
    }
}
