use std::time::Duration;

use mfa_policy::UnixTime;
use serde::{Deserialize, Serialize};

use crate::check::{b64, b64_fixed, json, required, to_json, version};
use crate::encoding::{Canonical, tag};
use crate::keys::Signature;
use crate::{ChallengeId, DeviceId, DeviceKey, DevicePublicKey, Error, Nonce, PROTOCOL_VERSION, TypedNumber};

/// How far a request's timestamp may be from the service's clock, either way: 60 seconds.
pub const REQUEST_WINDOW: Duration = Duration::from_secs(60);

/// Whether a request made at `timestamp` (whole seconds) may be accepted `now`: at most
/// [`REQUEST_WINDOW`] apart, either way ([`Error::ClockSkew`] otherwise).
///
/// ```
/// use mfa_push::{check_request_time, Error, UnixTime};
///
/// let now = UnixTime::from_secs(1_700_000_000);
/// assert!(check_request_time(UnixTime::from_secs(1_699_999_940), now).is_ok());
/// assert_eq!(check_request_time(UnixTime::from_secs(1_700_000_061), now), Err(Error::ClockSkew));
/// ```
pub fn check_request_time(timestamp: UnixTime, now: UnixTime) -> Result<(), Error> {
    let apart = (i128::from(timestamp.as_secs()) - i128::from(now.as_secs())).abs();
    if apart > i128::from(REQUEST_WINDOW.as_secs()) {
        return Err(Error::ClockSkew);
    }
    Ok(())
}

/// What a replay cache remembers of an accepted request: the device, its nonce, and until when
/// (its timestamp plus [`REQUEST_WINDOW`]; afterwards the window refuses the request anyway).
/// Serialisable, for a store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplayKey {
    device_id: DeviceId,
    nonce: Nonce,
    keep_until: UnixTime,
}

impl ReplayKey {
    /// The entry for `nonce` from `device_id` in a request stamped `timestamp`.
    pub fn new(device_id: DeviceId, nonce: Nonce, timestamp: UnixTime) -> Self {
        let keep_until = UnixTime::from_secs(timestamp.as_secs()).saturating_add(REQUEST_WINDOW);
        ReplayKey {
            device_id,
            nonce,
            keep_until,
        }
    }

    /// The device.
    pub fn device_id(&self) -> &DeviceId {
        &self.device_id
    }

    /// The nonce.
    pub fn nonce(&self) -> &Nonce {
        &self.nonce
    }

    /// The last second the entry must be kept; it may be dropped after.
    pub fn keep_until(&self) -> UnixTime {
        self.keep_until
    }
}

/// The header every device request carries and signs first.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    device_id: DeviceId,
    timestamp: i64,
    nonce: Nonce,
}

impl Header {
    fn new(device_id: &DeviceId, now: UnixTime, nonce: Nonce) -> Self {
        Header {
            device_id: device_id.clone(),
            timestamp: now.as_secs(),
            nonce,
        }
    }

    fn canonical(&self, tag: &'static str) -> Canonical {
        Canonical::new(tag)
            .text(self.device_id.as_str())
            .int(self.timestamp)
            .bytes(self.nonce.as_bytes())
    }

    fn read(
        v: Option<i64>,
        device_id: Option<String>,
        timestamp: Option<i64>,
        nonce: Option<String>,
    ) -> Result<Self, Error> {
        version(v)?;
        Ok(Header {
            device_id: DeviceId::new(&required(device_id, "device_id")?)?,
            timestamp: required(timestamp, "timestamp")?,
            nonce: required(nonce, "nonce")?.parse()?,
        })
    }

    /// The window, then the signature; the replay key to remember once both pass.
    fn verify(
        &self,
        bytes: &[u8],
        signature: &Signature,
        key: &DevicePublicKey,
        now: UnixTime,
    ) -> Result<ReplayKey, Error> {
        let timestamp = UnixTime::from_secs(self.timestamp);
        check_request_time(timestamp, now)?;
        key.verify(bytes, signature)?;
        Ok(ReplayKey::new(self.device_id.clone(), self.nonce, timestamp))
    }
}

/// A device's request for its pending challenges, `POST {base}/pending` (PROTOCOL.md, "Fetch").
///
/// ```
/// use mfa_push::{Algorithm, DeviceId, DeviceKey, FetchRequest, MemoryReplayCache, ReplayCache, Error, UnixTime};
///
/// let now = UnixTime::from_secs(1_700_000_000);
/// let key = DeviceKey::generate(Algorithm::EcdsaP256)?;
/// let device = DeviceId::new("dev-1")?;
/// let body = FetchRequest::sign(&key, &device, now)?.to_json();
///
/// // The service: parse, look the device's key up by its id, verify, remember the nonce.
/// let request = FetchRequest::from_json(body.as_bytes())?;
/// assert_eq!(request.device_id(), &device);
/// let replay = request.verify(&key.public_key(), now)?;
/// let mut cache = MemoryReplayCache::new(10_000);
/// cache.remember(&replay, now)?;
/// assert_eq!(cache.remember(&replay, now), Err(Error::Replayed));
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    header: Header,
    signature: Signature,
}

#[derive(Serialize, Deserialize)]
struct FetchWire {
    v: Option<i64>,
    device_id: Option<String>,
    timestamp: Option<i64>,
    nonce: Option<String>,
    signature: Option<String>,
}

impl FetchRequest {
    /// A request signed `now` with a fresh nonce.
    pub fn sign(key: &DeviceKey, device_id: &DeviceId, now: UnixTime) -> Result<Self, Error> {
        Ok(Self::sign_with_nonce(key, device_id, now, Nonce::generate()?))
    }

    /// A request with the given nonce (for test vectors: a device never reuses a nonce).
    pub fn sign_with_nonce(key: &DeviceKey, device_id: &DeviceId, now: UnixTime, nonce: Nonce) -> Self {
        let header = Header::new(device_id, now, nonce);
        let signature = key.sign(&header.canonical(tag::FETCH).finish());
        FetchRequest { header, signature }
    }

    /// Reads a body (at most [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES)).
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        let w: FetchWire = json(body, "fetch request")?;
        Ok(FetchRequest {
            header: Header::read(w.v, w.device_id, w.timestamp, w.nonce)?,
            signature: b64_fixed(&required(w.signature, "signature")?, "signature")?,
        })
    }

    /// The body to send.
    pub fn to_json(&self) -> String {
        to_json(&FetchWire {
            v: Some(i64::from(PROTOCOL_VERSION)),
            device_id: Some(self.header.device_id.to_string()),
            timestamp: Some(self.header.timestamp),
            nonce: Some(self.header.nonce.to_string()),
            signature: Some(b64(&self.signature)),
        })
    }

    /// The signed bytes: the tag `mfa-push/v1/fetch`, then device id, timestamp and nonce.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        self.header.canonical(tag::FETCH).finish()
    }

    /// The device it claims to come from: the service looks its key up by this id.
    pub fn device_id(&self) -> &DeviceId {
        &self.header.device_id
    }

    /// The timestamp it claims.
    pub fn timestamp(&self) -> UnixTime {
        UnixTime::from_secs(self.header.timestamp)
    }

    /// The signature (64 bytes).
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Checks the timestamp against `now` ([`Error::ClockSkew`]) and the signature with the device's
    /// key ([`Error::BadSignature`]). The nonce is then for the replay cache: the service remembers the
    /// returned key ([`ReplayCache::remember`](crate::ReplayCache::remember)) before it answers.
    pub fn verify(&self, key: &DevicePublicKey, now: UnixTime) -> Result<ReplayKey, Error> {
        self.header
            .verify(&self.canonical_bytes(), &self.signature, key, now)
    }
}

/// What the device answers to a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// "Yes, it's me", with the number the user typed from the sign-in page.
    Approve(TypedNumber),
    /// "No, it's not me".
    Deny,
    /// "No, it's not me", and report it as suspicious.
    Report,
}

impl Decision {
    /// `"approve"`, `"deny"` or `"report"`.
    pub const fn name(&self) -> &'static str {
        match self {
            Decision::Approve(_) => "approve",
            Decision::Deny => "deny",
            Decision::Report => "report",
        }
    }

    /// The number's text, empty unless approving.
    fn number(&self) -> &str {
        match self {
            Decision::Approve(n) => n.as_str(),
            Decision::Deny | Decision::Report => "",
        }
    }
}

/// A device's answer to one challenge, `POST {base}/answer` (PROTOCOL.md, "Answer").
///
/// ```
/// use mfa_push::{AnswerRequest, Algorithm, ChallengeId, Decision, DeviceId, DeviceKey, Error, UnixTime};
///
/// let now = UnixTime::from_secs(1_700_000_000);
/// let key = DeviceKey::generate(Algorithm::Ed25519)?;
/// let device = DeviceId::new("dev-1")?;
/// let body = AnswerRequest::sign(&key, &device, &ChallengeId::new("c1")?, Decision::Deny, now)?.to_json();
///
/// let request = AnswerRequest::from_json(body.as_bytes())?;
/// let verified = request.verify(&key.public_key(), now)?;
/// assert_eq!(verified.decision(), &Decision::Deny);
///
/// // Another key, or a body changed in transit, is refused.
/// let other = DeviceKey::generate(Algorithm::Ed25519)?;
/// assert_eq!(request.verify(&other.public_key(), now).unwrap_err(), Error::BadSignature);
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRequest {
    header: Header,
    challenge_id: ChallengeId,
    decision: Decision,
    signature: Signature,
}

#[derive(Serialize, Deserialize)]
struct AnswerWire {
    v: Option<i64>,
    device_id: Option<String>,
    timestamp: Option<i64>,
    nonce: Option<String>,
    challenge_id: Option<String>,
    decision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<String>,
    signature: Option<String>,
}

impl AnswerRequest {
    /// An answer signed `now` with a fresh nonce.
    pub fn sign(
        key: &DeviceKey,
        device_id: &DeviceId,
        challenge_id: &ChallengeId,
        decision: Decision,
        now: UnixTime,
    ) -> Result<Self, Error> {
        Ok(Self::sign_with_nonce(
            key,
            device_id,
            challenge_id,
            decision,
            now,
            Nonce::generate()?,
        ))
    }

    /// An answer with the given nonce (for test vectors: a device never reuses a nonce).
    pub fn sign_with_nonce(
        key: &DeviceKey,
        device_id: &DeviceId,
        challenge_id: &ChallengeId,
        decision: Decision,
        now: UnixTime,
        nonce: Nonce,
    ) -> Self {
        let mut request = AnswerRequest {
            header: Header::new(device_id, now, nonce),
            challenge_id: challenge_id.clone(),
            decision,
            signature: [0; 64],
        };
        request.signature = key.sign(&request.canonical_bytes());
        request
    }

    /// Reads a body (at most [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES)).
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        let w: AnswerWire = json(body, "answer request")?;
        let header = Header::read(w.v, w.device_id, w.timestamp, w.nonce)?;
        let decision = match (required(w.decision, "decision")?.as_str(), w.number) {
            ("approve", Some(number)) => Decision::Approve(number.parse()?),
            ("approve", None) => {
                return Err(Error::Malformed {
                    what: "number",
                    reason: "an approval carries the number",
                });
            }
            ("deny", None) => Decision::Deny,
            ("report", None) => Decision::Report,
            ("deny" | "report", Some(_)) => {
                return Err(Error::Malformed {
                    what: "number",
                    reason: "only an approval carries a number",
                });
            }
            _ => {
                return Err(Error::Malformed {
                    what: "decision",
                    reason: "must be \"approve\", \"deny\" or \"report\"",
                });
            }
        };
        Ok(AnswerRequest {
            header,
            challenge_id: ChallengeId::new(&required(w.challenge_id, "challenge_id")?)?,
            decision,
            signature: b64_fixed(&required(w.signature, "signature")?, "signature")?,
        })
    }

    /// The body to send.
    pub fn to_json(&self) -> String {
        to_json(&AnswerWire {
            v: Some(i64::from(PROTOCOL_VERSION)),
            device_id: Some(self.header.device_id.to_string()),
            timestamp: Some(self.header.timestamp),
            nonce: Some(self.header.nonce.to_string()),
            challenge_id: Some(self.challenge_id.to_string()),
            decision: Some(self.decision.name().to_owned()),
            number: match self.decision {
                Decision::Approve(n) => Some(n.to_string()),
                Decision::Deny | Decision::Report => None,
            },
            signature: Some(b64(&self.signature)),
        })
    }

    /// The signed bytes: the tag `mfa-push/v1/answer`, then device id, timestamp, nonce, challenge id,
    /// decision and number (empty unless approving).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        self.header
            .canonical(tag::ANSWER)
            .text(self.challenge_id.as_str())
            .text(self.decision.name())
            .text(self.decision.number())
            .finish()
    }

    /// The device it claims to come from: the service looks its key up by this id.
    pub fn device_id(&self) -> &DeviceId {
        &self.header.device_id
    }

    /// The signature (64 bytes).
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Checks the timestamp against `now` ([`Error::ClockSkew`]) and the signature with the device's
    /// key ([`Error::BadSignature`]); the answer's content is read from the result only.
    pub fn verify(&self, key: &DevicePublicKey, now: UnixTime) -> Result<VerifiedAnswer, Error> {
        let replay_key = self
            .header
            .verify(&self.canonical_bytes(), &self.signature, key, now)?;
        Ok(VerifiedAnswer {
            device_id: self.header.device_id.clone(),
            challenge_id: self.challenge_id.clone(),
            decision: self.decision,
            replay_key,
        })
    }
}

/// An answer whose timestamp and signature checked out: the service remembers its
/// [`replay_key`](Self::replay_key), then applies it to the challenge with
/// [`Challenge::check_answer`](crate::Challenge::check_answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAnswer {
    device_id: DeviceId,
    challenge_id: ChallengeId,
    decision: Decision,
    replay_key: ReplayKey,
}

impl VerifiedAnswer {
    /// The device that signed it.
    pub fn device_id(&self) -> &DeviceId {
        &self.device_id
    }

    /// The challenge it answers.
    pub fn challenge_id(&self) -> &ChallengeId {
        &self.challenge_id
    }

    /// The decision.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// What the replay cache remembers.
    pub fn replay_key(&self) -> &ReplayKey {
        &self.replay_key
    }
}
