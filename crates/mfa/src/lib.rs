#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod attempt;
mod blocking;
mod boxed_delivery;
mod clock;
mod config;
#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
mod delivery;
mod error;
mod event;
mod ids;
mod key_text;
mod keys;
mod memory;
mod outcome;
mod push_record;
mod push_wake;
mod record;
mod service;
pub mod store;

// The Store implementer's API is `mfa::store`; the crate's own code names it from the root.
pub(crate) use attempt::{Attempt, AttemptTarget, Consume, Loaded, LoadedCredential, Verdict};
pub use boxed_delivery::BoxedPhoneDelivery;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, MAX_PHONE_CODE_TTL, PushConfig};
pub use delivery::{
    Channel, DeliveryError, DevPhoneDelivery, MessageId, MessagePurpose, PhoneDelivery, PhoneMessage,
    PhoneNumber, RecordingPhoneDelivery, SentMessage,
};
pub use error::{Error, StoreError};
pub use event::{
    Event, EventKind, EventSink, Factor, NoEvents, RecordingEventSink, RevokedBy, TracingEventSink,
};
pub use ids::{DeviceId, MAX_USER_ID_BYTES, MethodId, UserId};
pub use keys::{CheckedKey, KEY_BYTES, KeyId, KeyRing, TagSecret};
pub(crate) use keys::{KeyCheck, SealedSecret, Tag};
pub use memory::MemoryStore;
#[cfg(feature = "webauthn")]
#[cfg_attr(docsrs, doc(cfg(feature = "webauthn")))]
pub use mfa_webauthn::{CredentialKind, WebauthnConfig};
pub use outcome::{
    AppEnrollment, AppPasswordSummary, Challenge, CodeSent, DeviceSummary, DeviceToken, Enrolled,
    MethodSummary, NewAppPassword, PasskeyEnrollment, PasskeySent, PushEnrollment, PushSent, PushStatus,
    RecoveryCodes, RememberedDevice, SignIn, Verified,
};
pub(crate) use push_record::{PushAnswered, PushChallenge, PushStart, PushState};
pub use push_wake::{PollOnly, PushWake, WakeError, WakeFuture};
pub(crate) use record::{
    Credential, DeviceRecord, MethodRecord, PasskeyChallenge, PendingEnrollment, PhoneChallenge, PhoneSend,
    ThrottleState,
};
pub use record::{MethodKind, PhoneKind, SendLimit, ThrottleRule, UserRecord};
pub use service::{MAX_NAME_CHARS, Mfa, PASSKEY_CEREMONY_TTL, PushOrigin};
pub use store::Store;

// The core types that appear in this crate's API.
pub use mfa_app_password::{AppPasswordId, AppPasswordRecord, Argon2Params};
pub use mfa_enroll::TerminalTheme;
pub use mfa_otp::{TotpParams, Window};
pub use mfa_policy::{
    Action, Client, Decision, DeviceState, Method, MfaState, Policy, PolicyConfig, Purpose, PushFatigue,
    Reason, Recommendation, SensitiveAction, SignInContext, UnixTime,
};
