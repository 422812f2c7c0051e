//! Shared set-up of the flow tests: a service over MemoryStore with a manual clock and recorders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use mfa::{
    Channel, Config, KeyId, KeyRing, ManualClock, MemoryStore, MethodId, Mfa, PhoneKind, RecordingEventSink,
    RecordingPhoneDelivery, TagSecret, UnixTime, UserId, Verified,
};
use mfa_app_password::Argon2Params;
use mfa_enroll::KeyUri;
use mfa_otp::Totp;

pub const START: i64 = 1_700_000_010;
pub const KEY_1: [u8; 32] = [0x11; 32];
pub const KEY_2: [u8; 32] = [0x22; 32];
pub const TAG_SECRET: [u8; 32] = [0x33; 32];

pub type Service = Mfa<MemoryStore, RecordingPhoneDelivery>;

pub struct Harness {
    pub mfa: Arc<Service>,
    pub store: MemoryStore,
    pub phones: RecordingPhoneDelivery,
    pub clock: Arc<ManualClock>,
    pub events: RecordingEventSink,
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
    let phones = RecordingPhoneDelivery::new();
    let events = RecordingEventSink::new();
    let mfa = Mfa::new(
        config,
        keys,
        TagSecret::from_bytes(&TAG_SECRET).unwrap(),
        store.clone(),
        phones.clone(),
    )
    .unwrap()
    .with_clock(clock.clone())
    .with_events(Arc::new(events.clone()));
    Harness {
        mfa: Arc::new(mfa),
        store,
        phones,
        clock,
        events,
    }
}

pub fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

impl Harness {
    pub fn now(&self) -> UnixTime {
        use mfa::Clock;
        self.clock.now()
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
        self.mfa
            .confirm_app_enrollment(user, enrollment.method(), &code)
            .await
            .unwrap();
        (enrollment.method(), totp)
    }

    /// Registers a mobile phone; returns its id.
    pub async fn enroll_mobile(&self, user: &UserId, number: &str, last_mfa: Option<UnixTime>) -> MethodId {
        let sent = self
            .mfa
            .begin_phone_enrollment(user, PhoneKind::Mobile, number, Channel::Sms, last_mfa)
            .await
            .unwrap();
        let code = self.phones.last_code_to(&number.parse().unwrap()).unwrap();
        self.mfa
            .confirm_phone_enrollment(user, sent.method, &code)
            .await
            .unwrap();
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
        use mfa::Store;
        self.store.throttle_state(user).await.unwrap().failures
    }

    pub fn store_json(&self) -> String {
        self.store.to_json().to_string()
    }

    pub fn events_json(&self) -> String {
        serde_json::to_string(&self.events.events()).unwrap()
    }
}

/// A 6-digit code that differs from `right`.
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

impl Harness {
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
