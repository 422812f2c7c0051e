use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use mfa_app_password::{AppPasswordId, AppPasswordRecord};
use mfa_policy::UnixTime;
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::{
    Attempt, Credential, DeviceId, DeviceRecord, MethodId, MethodRecord, PendingEnrollment, PhoneChallenge,
    PhoneNumber, SealedSecret, SendLimit, Store, StoreError, Tag, ThrottleRule, ThrottleState, UserId,
    UserRecord,
};

#[derive(Debug, Default, Serialize)]
struct UserData {
    record: Option<UserRecord>,
    methods: Vec<MethodRecord>,
    pending: Option<PendingEnrollment>,
    throttle: ThrottleState,
    challenge: Option<PhoneChallenge>,
    sends: Vec<UnixTime>,
    recovery_codes: Vec<Tag>,
    app_passwords: Vec<AppPasswordRecord>,
    devices: Vec<DeviceRecord>,
}

#[derive(Debug, Default, Serialize)]
struct State {
    users: HashMap<UserId, UserData>,
    // Keyed by `PhoneNumber`, whose `Debug` masks all but two digits: the store's `Debug` shows no
    // full number.
    number_sends: HashMap<PhoneNumber, Vec<UnixTime>>,
}

/// A [`Store`] in memory: for tests, development and small single-process programs. Everything is lost
/// when the process ends.
///
/// One mutex guards all data and is never held across an `.await`, so every method is atomic and the
/// whole conformance suite, races included, passes. Clones share the same data.
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
        // A panic while holding the lock cannot leave a half-done operation visible: every operation
        // mutates only after its checks. So a poisoned lock is safe to take over.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_user<T>(&self, user: &UserId, f: impl FnOnce(&mut UserData) -> T) -> T {
        let mut state = self.lock();
        f(state.users.entry(user.clone()).or_default())
    }

    fn read_user<T>(&self, user: &UserId, f: impl FnOnce(&UserData) -> T) -> T {
        let state = self.lock();
        match state.users.get(user) {
            Some(data) => f(data),
            None => f(&UserData::default()),
        }
    }

    /// Everything the store holds, as JSON: what a database would hold. For tests (for example, to
    /// check that no plaintext secret is in it) and debugging.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&*self.lock()).unwrap_or(serde_json::Value::Null)
    }
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
        self.with_user(user, |d| {
            if d.methods.iter().any(|m| m.id == method.id) {
                return Err(StoreError::Duplicate);
            }
            let kind = method.kind();
            if d.methods.iter().filter(|m| m.kind() == kind).count() >= cap {
                return Ok(false);
            }
            d.methods.push(method);
            Ok(true)
        })
    }

    async fn remove_method(
        &self,
        user: &UserId,
        method: MethodId,
    ) -> Result<Option<MethodRecord>, StoreError> {
        Ok(self.with_user(user, |d| {
            let index = d.methods.iter().position(|m| m.id == method)?;
            Some(d.methods.remove(index))
        }))
    }

    async fn remove_all_methods(&self, user: &UserId) -> Result<usize, StoreError> {
        Ok(self.with_user(user, |d| std::mem::take(&mut d.methods).len()))
    }

    async fn accept_totp_step(&self, user: &UserId, method: MethodId, step: u64) -> Result<bool, StoreError> {
        Ok(self.with_user(user, |d| {
            let Some(record) = d.methods.iter_mut().find(|m| m.id == method) else {
                return false;
            };
            let Credential::AuthenticatorApp {
                last_accepted_step, ..
            } = &mut record.credential
            else {
                return false;
            };
            if last_accepted_step.is_some_and(|last| last >= step) {
                return false;
            }
            *last_accepted_step = Some(step);
            reset(&mut d.throttle);
            true
        }))
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

    async fn begin_attempt(
        &self,
        user: &UserId,
        now: UnixTime,
        rule: &ThrottleRule,
    ) -> Result<Attempt, StoreError> {
        Ok(self.with_user(user, |d| {
            let throttle = &mut d.throttle;
            if let Some(until) = throttle.locked_until.filter(|until| *until > now) {
                return Attempt::Locked { until };
            }
            throttle.failures = throttle.failures.saturating_add(1);
            if let Some(lock) = rule.lock_for(throttle.failures) {
                throttle.locked_until = Some(now.saturating_add(lock));
            }
            Attempt::Counted {
                failures: throttle.failures,
            }
        }))
    }

    async fn reset_failures(&self, user: &UserId) -> Result<(), StoreError> {
        self.with_user(user, |d| reset(&mut d.throttle));
        Ok(())
    }

    async fn throttle_state(&self, user: &UserId) -> Result<ThrottleState, StoreError> {
        Ok(self.read_user(user, |d| d.throttle))
    }

    async fn put_phone_challenge(&self, user: &UserId, challenge: PhoneChallenge) -> Result<(), StoreError> {
        self.with_user(user, |d| d.challenge = Some(challenge));
        Ok(())
    }

    async fn consume_phone_challenge(
        &self,
        user: &UserId,
        tag: &Tag,
        now: UnixTime,
    ) -> Result<Option<PhoneChallenge>, StoreError> {
        Ok(self.with_user(user, |d| {
            let challenge = d.challenge.as_ref()?;
            if now >= challenge.expires_at {
                d.challenge = None;
                return None;
            }
            if !bool::from(challenge.tag.ct_eq(tag)) {
                return None;
            }
            reset(&mut d.throttle);
            d.challenge.take()
        }))
    }

    async fn record_phone_send(
        &self,
        user: &UserId,
        number: &PhoneNumber,
        now: UnixTime,
        limit: &SendLimit,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let window_start = now.saturating_sub(limit.window);
        let recent = |sends: &mut Vec<UnixTime>| {
            sends.retain(|at| *at > window_start);
            sends.len()
        };
        let user_data = state.users.entry(user.clone()).or_default();
        let user_count = recent(&mut user_data.sends);
        let too_soon = user_data
            .sends
            .iter()
            .max()
            .is_some_and(|last| now < last.saturating_add(limit.min_interval));
        if too_soon || user_count >= limit.per_user as usize {
            return Ok(false);
        }
        let number_sends = state.number_sends.entry(number.clone()).or_default();
        if recent(number_sends) >= limit.per_number as usize {
            return Ok(false);
        }
        number_sends.push(now);
        state.users.entry(user.clone()).or_default().sends.push(now);
        Ok(true)
    }

    async fn replace_recovery_codes(&self, user: &UserId, tags: Vec<Tag>) -> Result<(), StoreError> {
        self.with_user(user, |d| d.recovery_codes = tags);
        Ok(())
    }

    async fn consume_recovery_code(&self, user: &UserId, tag: &Tag) -> Result<Option<usize>, StoreError> {
        Ok(self.with_user(user, |d| {
            // Compare against every code, so the time taken does not say which one matched.
            let mut found = None;
            for (index, stored) in d.recovery_codes.iter().enumerate() {
                if bool::from(stored.ct_eq(tag)) {
                    found = Some(index);
                }
            }
            let index = found?;
            d.recovery_codes.remove(index);
            reset(&mut d.throttle);
            Some(d.recovery_codes.len())
        }))
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

    async fn insert_device(&self, user: &UserId, device: DeviceRecord) -> Result<(), StoreError> {
        self.with_user(user, |d| {
            if d.devices.iter().any(|r| r.id == device.id) {
                return Err(StoreError::Duplicate);
            }
            d.devices.push(device);
            Ok(())
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
}
