#![doc = include_str!("../README.md")]

mod challenge;
mod check;
mod encoding;
mod enrollment;
mod error;
mod ids;
mod keys;
mod number;
mod offer;
mod replay;
mod request;
mod secret;
mod wake;
mod wire;

#[cfg(test)]
mod tamper;

pub use challenge::{
    Challenge, DEFAULT_CHALLENGE_TTL, MAX_APPLICATION_LEN, MAX_CHALLENGE_TTL, MAX_CLIENT_IP_LEN,
    MAX_LOCATION_LEN, MAX_USER_LEN, MIN_CHALLENGE_TTL, PendingChallenges, Requester, SignedChallenge,
};
pub use encoding::PROTOCOL_VERSION;
pub use enrollment::{
    EnrollmentAnswer, EnrollmentReceipt, MAX_LABEL_LEN, MAX_WAKE_ADDRESS_LEN, MAX_WAKE_KIND_LEN, NewDevice,
    PendingEnrollment, WakeChannel,
};
pub use error::Error;
pub use ids::{ChallengeId, DeviceId, EnrollmentId, MAX_ID_LEN, Nonce};
pub use keys::{
    Algorithm, DeviceKey, DevicePublicKey, ED25519_PUBLIC_KEY_LEN, P256_PUBLIC_KEY_LEN, SIGNATURE_LEN,
    ServiceKey, ServicePublicKey,
};
/// Instants, in milliseconds since the Unix epoch; the protocol carries whole seconds.
pub use mfa_policy::UnixTime;
pub use number::{Digits, MatchNumber, TypedNumber};
pub use offer::{
    ENROLLMENT_TTL, Endpoint, EnrollmentOffer, MAX_ACCOUNT_LEN, MAX_BASE_URL_LEN, MAX_ENROLLMENT_TTL,
    MAX_ISSUER_LEN, MAX_URI_LEN, OfferParts,
};
pub use replay::{MemoryReplayCache, ReplayCache};
pub use request::{
    AnswerRequest, Decision, FetchRequest, REQUEST_WINDOW, ReplayKey, VerifiedAnswer, check_request_time,
};
pub use secret::{EnrollmentSecret, SECRET_LEN, SecretDigest};
pub use wake::Wake;
pub use wire::{AnswerResult, ErrorBody, ErrorCode, MAX_BODY_BYTES};
