//! Shared set-up of the flow tests: a service over MemoryStore with a manual clock and recorders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mfa::store::{
    Attempt, AttemptTarget, DeviceRecord, Loaded, MethodRecord, PendingEnrollment, PhoneChallenge,
    SealedSecret, Tag, ThrottleState, Verdict,
};
use mfa::{
    AppPasswordId, AppPasswordRecord, Channel, Config, DeliveryError, DeviceId, KeyId, KeyRing, ManualClock,
    MemoryStore, MessageId, MethodId, Mfa, PhoneDelivery, PhoneKind, PhoneMessage, PhoneNumber,
    RecordingEventSink, RecordingPhoneDelivery, SendLimit, Store, StoreError, TagSecret, ThrottleRule,
    UnixTime, UserId, UserRecord, Verified,
};
use mfa_app_password::Argon2Params;
use mfa_enroll::KeyUri;
use mfa_otp::Totp;

pub const START: i64 = 1_700_000_010;
pub const KEY_1: [u8; 32] = [0x11; 32];
pub const KEY_2: [u8; 32] = [0x22; 32];
pub const TAG_SECRET: [u8; 32] = [0x33; 32];

pub type Service<S = MemoryStore> = Mfa<S, TestPhones>;

pub struct Harness<S = MemoryStore> {
    pub mfa: Arc<Service<S>>,
    pub store: S,
    /// Every message the service handed to the delivery (also those it was then told had failed).
    pub phones: RecordingPhoneDelivery,
    /// The delivery the service sends through: records, then fails on demand.
    pub delivery: TestPhones,
    pub clock: Arc<ManualClock>,
    pub events: RecordingEventSink,
    /// The instant of the proof the last registration through `enroll_*` made.
    pub registered_at: Arc<std::sync::Mutex<Option<UnixTime>>>,
}

/// Test configuration: cheap argon2 so app-password tests are fast.
pub fn config() -> Config {
    let mut config = Config {
        issuer: "Example".to_owned(),
        ..Config::default()
    };
    config.app_passwords.params = Argon2Params {
        m_kib: 256,
        t: 1,
        p: 1,
    };
    config
}

pub fn harness() -> Harness {
    harness_with(config(), KeyRing::new(KeyId(1), &KEY_1).unwrap())
}

pub fn harness_with(config: Config, keys: KeyRing) -> Harness {
    build(
        config,
        keys,
        MemoryStore::new(),
        Arc::new(ManualClock::new(UnixTime::from_secs(START))),
    )
}

pub fn build(config: Config, keys: KeyRing, store: MemoryStore, clock: Arc<ManualClock>) -> Harness {
    build_on(config, keys, store, clock)
}

/// The test harness over any store.
pub fn build_on<S: Store + Clone>(
    config: Config,
    keys: KeyRing,
    store: S,
    clock: Arc<ManualClock>,
) -> Harness<S> {
    let delivery = TestPhones::default();
    let phones = delivery.recording.clone();
    let events = RecordingEventSink::new();
    let mfa = Mfa::new(
        config,
        keys,
        TagSecret::from_bytes(&TAG_SECRET).unwrap(),
        store.clone(),
        delivery.clone(),
    )
    .unwrap()
    .with_clock(clock.clone())
    .with_events(Arc::new(events.clone()));
    Harness {
        mfa: Arc::new(mfa),
        store,
        phones,
        delivery,
        clock,
        events,
        registered_at: Arc::default(),
    }
}

/// Runs `n` tasks that start together behind a barrier, the `i`-th running `task(i)`; returns their
/// outputs in task order.
pub async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, work) = (barrier.clone(), task(i));
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut outputs = Vec::with_capacity(n);
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}

pub fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

/// The default harness over a [`YieldingStore`] around a MemoryStore (for races).
pub fn yielding_harness_with(config: Config) -> Harness<YieldingStore<MemoryStore>> {
    build_on(
        config,
        KeyRing::new(KeyId(1), &KEY_1).unwrap(),
        YieldingStore(MemoryStore::new(), BeforeAppPasswordInsert::default()),
        Arc::new(ManualClock::new(UnixTime::from_secs(START))),
    )
}

impl<S: Store> Harness<S> {
    pub fn now(&self) -> UnixTime {
        use mfa::Clock;
        self.clock.now()
    }

    /// The proof of the last registration through `enroll_*`: a fresh MFA for a step-up (a proof
    /// made before that registration, in the same instant, is revoked by it).
    pub fn last_registration(&self) -> Option<UnixTime> {
        *self.registered_at.lock().unwrap()
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Registers an authenticator app for a user without methods; returns its id and TOTP.
    pub async fn enroll_app(&self, user: &UserId, last_mfa: Option<UnixTime>) -> (MethodId, Totp) {
        let enrollment = self
            .mfa
            .begin_app_enrollment(user, "alice@example.com", "My phone", last_mfa)
            .await
            .unwrap();
        let totp = KeyUri::parse(enrollment.uri().as_str())
            .unwrap()
            .to_totp()
            .unwrap();
        let code = self.code(&totp);
        let enrolled = self
            .mfa
            .confirm_app_enrollment(user, enrollment.method(), &code)
            .await
            .unwrap();
        *self.registered_at.lock().unwrap() = Some(enrolled.proof.at());
        (enrollment.method(), totp)
    }

    /// Gives a user without methods an authenticator app and verifies with it (30 s later); returns
    /// the verification time, fresh for step-up (recovery codes and app passwords need a method).
    pub async fn registered(&self, user: &UserId) -> Option<UnixTime> {
        let (app, totp) = self.enroll_app(user, None).await;
        Some(self.verify_next(user, app, &totp).await.at())
    }

    /// Registers a mobile phone; returns its id.
    pub async fn enroll_mobile(&self, user: &UserId, number: &str, last_mfa: Option<UnixTime>) -> MethodId {
        let sent = self
            .mfa
            .begin_phone_enrollment(user, PhoneKind::Mobile, number, Channel::Sms, last_mfa)
            .await
            .unwrap();
        let code = self.phones.last_code_to(&number.parse().unwrap()).unwrap();
        let enrolled = self
            .mfa
            .confirm_phone_enrollment(user, sent.method, &code)
            .await
            .unwrap();
        *self.registered_at.lock().unwrap() = Some(enrolled.proof.at());
        sent.method
    }

    /// The app's code now.
    pub fn code(&self, totp: &Totp) -> String {
        totp.generate(self.now().as_secs() as u64).unwrap().to_string()
    }

    /// A fresh verification with the app at the next time step.
    pub async fn verify_next(&self, user: &UserId, method: MethodId, totp: &Totp) -> Verified {
        self.advance(30);
        self.mfa.verify(user, method, &self.code(totp)).await.unwrap()
    }

    pub async fn store_failures(&self, user: &UserId) -> u32 {
        self.store.throttle_state(user).await.unwrap().failures
    }

    /// A 6-digit code the app does not show at any step from two before now to two after (so it is
    /// wrong whatever the verification window).
    pub fn wrong_code(&self, totp: &Totp) -> String {
        let now = self.now().as_secs() as u64;
        let window: Vec<String> = (0..=4u64)
            .map(|i| totp.generate(now + i * 30 - 60).unwrap().to_string())
            .collect();
        let mut n: u32 = window[2].parse().unwrap();
        loop {
            n = (n + 1) % 1_000_000;
            let candidate = format!("{n:06}");
            if !window.contains(&candidate) {
                return candidate;
            }
        }
    }

    pub fn events_json(&self) -> String {
        serde_json::to_string(&self.events.events()).unwrap()
    }
}

impl Harness<MemoryStore> {
    pub fn store_json(&self) -> String {
        self.store.to_json().to_string()
    }
}

/// A 6-digit code that differs from the one code `right` (a phone code: only one is outstanding; for
/// an app use [`Harness::wrong_code`], which avoids the whole window).
pub fn wrong(right: &str) -> String {
    let n: u32 = right.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

/// The test configuration with phone sends limited only loosely (for tests not about send limits).
pub fn loose_sends_config() -> Config {
    let mut config = config();
    config.phone_sends = mfa::SendLimit {
        per_user: 1000,
        per_number: 1000,
        window: Duration::from_secs(900),
        min_interval: Duration::ZERO,
    };
    config
}

/// Whether `Mfa::new` accepts `config` (with the test keys).
pub fn try_new(config: Config) -> Result<(), mfa::Error> {
    Mfa::new(
        config,
        KeyRing::new(KeyId(1), &KEY_1).unwrap(),
        TagSecret::from_bytes(&TAG_SECRET).unwrap(),
        MemoryStore::new(),
        RecordingPhoneDelivery::new(),
    )
    .map(|_| ())
}

impl<S: Store> Harness<S> {
    /// Makes the next send reach the phone (it is recorded) and then report `error`, as a provider
    /// does when it times out after delivering.
    pub fn fail_after_delivery(&self, error: DeliveryError) {
        self.delivery.failures.lock().unwrap().push(error);
    }

    /// The code of the last message to `number`.
    pub fn last_code(&self, number: &str) -> String {
        self.phones
            .last_code_to(&number.parse().unwrap())
            .expect("a code was sent")
            .to_string()
    }

    /// Messages sent so far.
    pub fn sent_count(&self) -> usize {
        self.phones.sent().len()
    }
}

/// The tests' phone delivery: records every message in a [`RecordingPhoneDelivery`] (which can also
/// fail before sending, with `fail_next`), then, if one is queued, reports an error although the
/// message went out.
#[derive(Debug, Clone, Default)]
pub struct TestPhones {
    pub recording: RecordingPhoneDelivery,
    failures: Arc<Mutex<Vec<DeliveryError>>>,
}

impl PhoneDelivery for TestPhones {
    async fn send(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, DeliveryError> {
        let id = self.recording.send(to, channel, message).await?;
        let mut failures = self.failures.lock().unwrap();
        if failures.is_empty() {
            Ok(id)
        } else {
            Err(failures.remove(0))
        }
    }
}

/// A store that yields to the scheduler before every call, so that racing flows interleave at each
/// store call even on one core; and runs a planted step (another request's writes) just before the
/// next app-password insert.
#[derive(Debug, Clone, Default)]
pub struct YieldingStore<S>(pub S, pub BeforeAppPasswordInsert);

type Step = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// What runs just before the next app-password insert (once).
#[derive(Clone, Default)]
pub struct BeforeAppPasswordInsert(Arc<std::sync::Mutex<Option<Step>>>);

impl BeforeAppPasswordInsert {
    pub fn plant(&self, step: impl std::future::Future<Output = ()> + Send + 'static) {
        *self.0.lock().unwrap() = Some(Box::pin(step));
    }

    async fn run(&self) {
        let step = self.0.lock().unwrap().take();
        if let Some(step) = step {
            step.await;
        }
    }
}

impl std::fmt::Debug for BeforeAppPasswordInsert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeforeAppPasswordInsert")
    }
}

impl<S: Store> Store for YieldingStore<S> {
    async fn get_user(&self, user: &UserId) -> Result<Option<UserRecord>, StoreError> {
        tokio::task::yield_now().await;
        self.0.get_user(user).await
    }

    async fn update_user<F>(&self, user: &UserId, change: F) -> Result<UserRecord, StoreError>
    where
        F: FnOnce(&mut UserRecord) + Send,
    {
        tokio::task::yield_now().await;
        self.0.update_user(user, change).await
    }

    async fn delete_user(&self, user: &UserId) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.0.delete_user(user).await
    }

    async fn list_methods(&self, user: &UserId) -> Result<Vec<MethodRecord>, StoreError> {
        tokio::task::yield_now().await;
        self.0.list_methods(user).await
    }

    async fn insert_method_capped(
        &self,
        user: &UserId,
        method: MethodRecord,
        cap: usize,
    ) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.0.insert_method_capped(user, method, cap).await
    }

    async fn remove_method(
        &self,
        user: &UserId,
        method: MethodId,
    ) -> Result<Option<MethodRecord>, StoreError> {
        tokio::task::yield_now().await;
        self.0.remove_method(user, method).await
    }

    async fn remove_all_methods(&self, user: &UserId) -> Result<usize, StoreError> {
        tokio::task::yield_now().await;
        self.0.remove_all_methods(user).await
    }

    async fn update_app_secret(
        &self,
        user: &UserId,
        method: MethodId,
        secret: SealedSecret,
    ) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.0.update_app_secret(user, method, secret).await
    }

    async fn put_pending(&self, user: &UserId, pending: PendingEnrollment) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.0.put_pending(user, pending).await
    }

    async fn get_pending(&self, user: &UserId) -> Result<Option<PendingEnrollment>, StoreError> {
        tokio::task::yield_now().await;
        self.0.get_pending(user).await
    }

    async fn take_pending(
        &self,
        user: &UserId,
        method: MethodId,
    ) -> Result<Option<PendingEnrollment>, StoreError> {
        tokio::task::yield_now().await;
        self.0.take_pending(user, method).await
    }

    async fn update_pending_secret(
        &self,
        user: &UserId,
        method: MethodId,
        secret: SealedSecret,
    ) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.0.update_pending_secret(user, method, secret).await
    }

    async fn clear_pending(&self, user: &UserId) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.0.clear_pending(user).await
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
        tokio::task::yield_now().await;
        self.0.attempt(user, target, now, rule, check).await
    }

    async fn throttle_state(&self, user: &UserId) -> Result<ThrottleState, StoreError> {
        tokio::task::yield_now().await;
        self.0.throttle_state(user).await
    }

    async fn put_phone_challenge(&self, user: &UserId, challenge: PhoneChallenge) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.0.put_phone_challenge(user, challenge).await
    }

    async fn record_phone_send(
        &self,
        user: &UserId,
        number: &PhoneNumber,
        now: UnixTime,
        limit: &SendLimit,
    ) -> Result<mfa::store::PhoneSend, StoreError> {
        tokio::task::yield_now().await;
        self.0.record_phone_send(user, number, now, limit).await
    }

    async fn find_push_device(
        &self,
        device: &mfa_push::DeviceId,
    ) -> Result<Option<(UserId, MethodRecord)>, StoreError> {
        tokio::task::yield_now().await;
        self.0.find_push_device(device).await
    }

    async fn take_push_enrollment(
        &self,
        enrollment: &mfa_push::EnrollmentId,
    ) -> Result<Option<(UserId, mfa::store::PendingEnrollment)>, StoreError> {
        tokio::task::yield_now().await;
        self.0.take_push_enrollment(enrollment).await
    }

    async fn start_push(
        &self,
        user: &UserId,
        push: mfa::store::PushChallenge,
        now: UnixTime,
        fatigue: &mfa::store::PushFatigue,
    ) -> Result<mfa::store::PushStart, StoreError> {
        tokio::task::yield_now().await;
        self.0.start_push(user, push, now, fatigue).await
    }

    async fn get_push(&self, user: &UserId) -> Result<Option<mfa::store::PushChallenge>, StoreError> {
        tokio::task::yield_now().await;
        self.0.get_push(user).await
    }

    async fn answer_push(
        &self,
        user: &UserId,
        challenge: &mfa_push::ChallengeId,
        state: mfa::store::PushState,
        now: UnixTime,
        rule: &ThrottleRule,
        fatigue: &mfa::store::PushFatigue,
    ) -> Result<Option<mfa::store::PushAnswered>, StoreError> {
        tokio::task::yield_now().await;
        self.0
            .answer_push(user, challenge, state, now, rule, fatigue)
            .await
    }

    async fn remember_push_nonce(
        &self,
        key: &mfa_push::ReplayKey,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.0.remember_push_nonce(key, now).await
    }

    async fn rename_method(&self, user: &UserId, method: MethodId, name: String) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.0.rename_method(user, method, name).await
    }

    async fn put_passkey_challenge(
        &self,
        user: &UserId,
        challenge: mfa::store::PasskeyChallenge,
    ) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.0.put_passkey_challenge(user, challenge).await
    }

    async fn replace_recovery_codes(&self, user: &UserId, tags: Vec<Tag>) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.0.replace_recovery_codes(user, tags).await
    }

    async fn recovery_codes_left(&self, user: &UserId) -> Result<usize, StoreError> {
        tokio::task::yield_now().await;
        self.0.recovery_codes_left(user).await
    }

    async fn insert_app_password_capped(
        &self,
        user: &UserId,
        record: AppPasswordRecord,
        cap: usize,
    ) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.1.run().await;
        self.0.insert_app_password_capped(user, record, cap).await
    }

    async fn list_app_passwords(&self, user: &UserId) -> Result<Vec<AppPasswordRecord>, StoreError> {
        tokio::task::yield_now().await;
        self.0.list_app_passwords(user).await
    }

    async fn update_app_password(
        &self,
        user: &UserId,
        record: AppPasswordRecord,
    ) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.0.update_app_password(user, record).await
    }

    async fn delete_app_password(&self, user: &UserId, id: AppPasswordId) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.0.delete_app_password(user, id).await
    }

    async fn delete_all_app_passwords(&self, user: &UserId) -> Result<usize, StoreError> {
        tokio::task::yield_now().await;
        self.0.delete_all_app_passwords(user).await
    }

    async fn insert_device_capped(
        &self,
        user: &UserId,
        device: DeviceRecord,
        cap: usize,
    ) -> Result<Vec<DeviceId>, StoreError> {
        tokio::task::yield_now().await;
        self.0.insert_device_capped(user, device, cap).await
    }

    async fn find_device(&self, user: &UserId, token_hash: &Tag) -> Result<Option<DeviceRecord>, StoreError> {
        tokio::task::yield_now().await;
        self.0.find_device(user, token_hash).await
    }

    async fn touch_device(&self, user: &UserId, device: DeviceId, now: UnixTime) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.0.touch_device(user, device, now).await
    }

    async fn list_devices(&self, user: &UserId) -> Result<Vec<DeviceRecord>, StoreError> {
        tokio::task::yield_now().await;
        self.0.list_devices(user).await
    }

    async fn forget_device(&self, user: &UserId, device: DeviceId) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.0.forget_device(user, device).await
    }

    async fn forget_all_devices(&self, user: &UserId) -> Result<usize, StoreError> {
        tokio::task::yield_now().await;
        self.0.forget_all_devices(user).await
    }

    async fn key_checks(&self) -> Result<Vec<mfa::store::KeyCheck>, StoreError> {
        tokio::task::yield_now().await;
        self.0.key_checks().await
    }

    async fn record_key_checks(
        &self,
        checks: Vec<mfa::store::KeyCheck>,
    ) -> Result<Vec<mfa::store::KeyCheck>, StoreError> {
        tokio::task::yield_now().await;
        self.0.record_key_checks(checks).await
    }
}
