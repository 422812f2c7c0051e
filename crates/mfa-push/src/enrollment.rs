use core::fmt;

use mfa_policy::UnixTime;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize as _, Zeroizing};

use crate::check::{b64, b64_fixed, display_text, json, required, to_json, version};
use crate::encoding::{Canonical, tag};
use crate::keys::Signature;
use crate::{
    DeviceId, DeviceKey, DevicePublicKey, EnrollmentId, EnrollmentOffer, EnrollmentSecret, Error,
    PROTOCOL_VERSION, SecretDigest, ServiceKey,
};

/// The longest device label, in bytes of UTF-8.
pub const MAX_LABEL_LEN: usize = 64;
/// The longest wake-channel kind, in bytes.
pub const MAX_WAKE_KIND_LEN: usize = 32;
/// The longest wake-channel address, in bytes.
pub const MAX_WAKE_ADDRESS_LEN: usize = 2048;

/// How the service may wake the device when a challenge is waiting (PROTOCOL.md, "Wake-up").
///
/// `poll` (no address: the device polls, the default), or another kind with the address the service's
/// wake-up delivery uses, such as `webhook` and an `https://` URL. Which kinds a service supports is
/// its choice; the protocol carries any kind of 1 to 32 characters `a-z`, `0-9`, `-` with an address of
/// 1 to 2048 printable ASCII characters.
///
/// ```
/// use mfa_push::WakeChannel;
///
/// assert_eq!(WakeChannel::poll().kind(), "poll");
/// let hook = WakeChannel::new("webhook", "https://relay.example/wake/123")?;
/// assert_eq!(hook.address(), "https://relay.example/wake/123");
/// assert!(WakeChannel::new("poll", "x").is_err());
/// assert!(WakeChannel::new("webhook", "").is_err());
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "WakeRepr", into = "WakeRepr")]
pub struct WakeChannel {
    kind: String,
    address: String,
}

#[derive(Serialize, Deserialize)]
struct WakeRepr {
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
}

impl WakeChannel {
    /// The device polls: the default.
    pub fn poll() -> Self {
        WakeChannel {
            kind: "poll".to_owned(),
            address: String::new(),
        }
    }

    /// A checked channel.
    pub fn new(kind: &str, address: &str) -> Result<Self, Error> {
        if kind.is_empty()
            || kind.len() > MAX_WAKE_KIND_LEN
            || !kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Error::Malformed {
                what: "wake kind",
                reason: "must be 1 to 32 characters a-z, 0-9 and '-'",
            });
        }
        if kind == "poll" {
            if !address.is_empty() {
                return Err(Error::Malformed {
                    what: "wake address",
                    reason: "poll takes no address",
                });
            }
        } else if address.is_empty()
            || address.len() > MAX_WAKE_ADDRESS_LEN
            || !address.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::Malformed {
                what: "wake address",
                reason: "must be 1 to 2048 printable ASCII characters",
            });
        }
        Ok(WakeChannel {
            kind: kind.to_owned(),
            address: address.to_owned(),
        })
    }

    /// The kind: `"poll"`, `"webhook"`, ...
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The address (empty for `poll`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Whether the device only polls.
    pub fn is_poll(&self) -> bool {
        self.kind == "poll"
    }
}

impl Default for WakeChannel {
    fn default() -> Self {
        Self::poll()
    }
}

impl TryFrom<WakeRepr> for WakeChannel {
    type Error = Error;
    fn try_from(r: WakeRepr) -> Result<Self, Error> {
        WakeChannel::new(
            &required(r.kind, "wake kind")?,
            r.address.as_deref().unwrap_or(""),
        )
    }
}

impl From<WakeChannel> for WakeRepr {
    fn from(w: WakeChannel) -> Self {
        WakeRepr {
            kind: Some(w.kind),
            address: (!w.address.is_empty()).then_some(w.address),
        }
    }
}

/// What the service keeps of an offer until it is answered (once) or expires: its id, the digest of
/// its secret and its expiry. Serialisable, for the store.
///
/// ```
/// use mfa_push::{Algorithm, DeviceKey, EnrollmentAnswer, EnrollmentOffer, Error, ServiceKey, UnixTime, WakeChannel};
///
/// let now = UnixTime::from_secs(1_700_000_000);
/// let service = ServiceKey::generate()?;
/// let offer = EnrollmentOffer::generate("https://example.com/push", service.public_key(), "Example", "alice", now)?;
/// let pending = offer.pending(); // stored
///
/// // The device.
/// let key = DeviceKey::generate(Algorithm::EcdsaP256)?;
/// let answer = EnrollmentAnswer::sign(&offer, &key, "Pixel 8", WakeChannel::poll())?;
/// let body = answer.to_json();
///
/// // The service.
/// let answer = EnrollmentAnswer::from_json(body.as_bytes())?;
/// let device = pending.verify(&answer, now)?;
/// assert_eq!(device.public_key(), &key.public_key());
/// assert_eq!(device.label(), "Pixel 8");
/// let late = UnixTime::from_secs(1_700_000_241);
/// assert_eq!(pending.verify(&answer, late), Err(Error::EnrollmentExpired));
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEnrollment {
    enrollment_id: EnrollmentId,
    secret_digest: SecretDigest,
    expires_at: UnixTime,
}

impl PendingEnrollment {
    /// A pending enrollment as read back from a store.
    pub fn new(enrollment_id: EnrollmentId, secret_digest: SecretDigest, expires_at: UnixTime) -> Self {
        PendingEnrollment {
            enrollment_id,
            secret_digest,
            expires_at: UnixTime::from_secs(expires_at.as_secs()),
        }
    }

    /// The id it is looked up by.
    pub fn enrollment_id(&self) -> &EnrollmentId {
        &self.enrollment_id
    }

    /// The digest of the secret.
    pub fn secret_digest(&self) -> &SecretDigest {
        &self.secret_digest
    }

    /// The last second it can be answered.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// Checks an answer, in this order: it names this enrollment ([`Error::WrongRecipient`]), `now` is
    /// not past the expiry ([`Error::EnrollmentExpired`]), the secret matches in constant time
    /// ([`Error::SecretMismatch`]), the proof of possession verifies with the key sent
    /// ([`Error::BadSignature`]).
    ///
    /// The service deletes the pending enrollment in the same transaction whatever the outcome, so an
    /// offer is answered at most once.
    pub fn verify(&self, answer: &EnrollmentAnswer, now: UnixTime) -> Result<NewDevice, Error> {
        if answer.enrollment_id != self.enrollment_id {
            return Err(Error::WrongRecipient {
                what: "enrollment answer",
            });
        }
        if now.as_secs() > self.expires_at.as_secs() {
            return Err(Error::EnrollmentExpired);
        }
        if !self.secret_digest.matches(&answer.secret) {
            return Err(Error::SecretMismatch);
        }
        answer
            .public_key
            .verify(&answer.canonical_bytes(), &answer.signature)?;
        Ok(NewDevice {
            public_key: answer.public_key,
            label: answer.label.clone(),
            wake: answer.wake.clone(),
        })
    }
}

/// A device the service has just enrolled: what it stores with the [`DeviceId`] it gives it (and the
/// user, and the service key the device pinned). Serialisable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDevice {
    public_key: DevicePublicKey,
    label: String,
    wake: WakeChannel,
}

impl NewDevice {
    /// The key its requests are checked with.
    pub fn public_key(&self) -> &DevicePublicKey {
        &self.public_key
    }

    /// The name the device gave itself ("Pixel 8").
    pub fn label(&self) -> &str {
        &self.label
    }

    /// How to wake it.
    pub fn wake(&self) -> &WakeChannel {
        &self.wake
    }
}

/// The device's answer to an enrollment offer, `POST {base}/enroll` (PROTOCOL.md, "Enrollment
/// answer"): the offer's id and secret, the new public key, a label and a wake channel, signed with
/// the new key (proof of possession). It holds the secret: `Debug` does not show it, the JSON is
/// zeroized on drop.
#[derive(Clone)]
pub struct EnrollmentAnswer {
    enrollment_id: EnrollmentId,
    secret: EnrollmentSecret,
    public_key: DevicePublicKey,
    label: String,
    wake: WakeChannel,
    signature: Signature,
}

#[derive(Serialize, Deserialize)]
struct AnswerWire {
    v: Option<i64>,
    enrollment_id: Option<String>,
    secret: Option<String>,
    algorithm: Option<String>,
    public_key: Option<String>,
    label: Option<String>,
    wake: Option<WakeChannel>,
    signature: Option<String>,
}

impl EnrollmentAnswer {
    /// The device's answer to `offer` with its new `key`.
    pub fn sign(
        offer: &EnrollmentOffer,
        key: &DeviceKey,
        label: &str,
        wake: WakeChannel,
    ) -> Result<Self, Error> {
        display_text(label, "label", MAX_LABEL_LEN, false)?;
        let mut answer = EnrollmentAnswer {
            enrollment_id: offer.enrollment_id().clone(),
            secret: offer.secret().clone(),
            public_key: key.public_key(),
            label: label.to_owned(),
            wake,
            signature: [0; 64],
        };
        answer.signature = key.sign(&answer.canonical_bytes());
        Ok(answer)
    }

    /// Reads a body (at most [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES)). The signature is checked by
    /// [`PendingEnrollment::verify`].
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        let w: AnswerWire = json(body, "enrollment answer")?;
        version(w.v)?;
        let secret = Zeroizing::new(required(w.secret, "secret")?);
        let label = required(w.label, "label")?;
        display_text(&label, "label", MAX_LABEL_LEN, false)?;
        Ok(EnrollmentAnswer {
            enrollment_id: EnrollmentId::new(&required(w.enrollment_id, "enrollment_id")?)?,
            secret: secret.parse()?,
            public_key: DevicePublicKey::from_wire(
                &required(w.algorithm, "algorithm")?,
                &required(w.public_key, "public_key")?,
            )?,
            label,
            wake: required(w.wake, "wake")?,
            signature: b64_fixed(&required(w.signature, "signature")?, "signature")?,
        })
    }

    /// The body to send. It holds the secret.
    pub fn to_json(&self) -> Zeroizing<String> {
        let mut wire = AnswerWire {
            v: Some(i64::from(PROTOCOL_VERSION)),
            enrollment_id: Some(self.enrollment_id.to_string()),
            secret: Some(self.secret.to_text().to_string()),
            algorithm: Some(self.public_key.algorithm().name().to_owned()),
            public_key: Some(b64(&self.public_key.to_bytes())),
            label: Some(self.label.clone()),
            wake: Some(self.wake.clone()),
            signature: Some(b64(&self.signature)),
        };
        let body = Zeroizing::new(to_json(&wire));
        if let Some(secret) = wire.secret.as_mut() {
            secret.zeroize();
        }
        body
    }

    /// The signed bytes: the tag `mfa-push/v1/enrollment-answer`, then enrollment id, secret,
    /// algorithm, public key, label, wake kind and wake address. They hold the secret.
    pub fn canonical_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(
            Canonical::new(tag::ENROLLMENT_ANSWER)
                .text(self.enrollment_id.as_str())
                .bytes(self.secret.as_bytes())
                .text(self.public_key.algorithm().name())
                .bytes(&self.public_key.to_bytes())
                .text(&self.label)
                .text(self.wake.kind())
                .text(self.wake.address())
                .finish(),
        )
    }

    /// The enrollment it answers: the service looks up its [`PendingEnrollment`] by it.
    pub fn enrollment_id(&self) -> &EnrollmentId {
        &self.enrollment_id
    }

    /// The new device key.
    pub fn public_key(&self) -> &DevicePublicKey {
        &self.public_key
    }

    /// The device's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The wake channel.
    pub fn wake(&self) -> &WakeChannel {
        &self.wake
    }

    /// The signature (64 bytes).
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }
}

impl fmt::Debug for EnrollmentAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollmentAnswer")
            .field("enrollment_id", &self.enrollment_id)
            .field("public_key", &self.public_key)
            .field("label", &self.label)
            .field("wake", &self.wake)
            .finish_non_exhaustive()
    }
}

/// The service's reply to an accepted enrollment answer (`201`): the id it gives the device, signed
/// with the service key over the enrollment id, the device id and the device's key, so the device
/// knows the service it pinned accepted this key.
///
/// ```
/// use mfa_push::{Algorithm, DeviceId, DeviceKey, EnrollmentAnswer, EnrollmentOffer, EnrollmentReceipt, ServiceKey, UnixTime, WakeChannel};
///
/// let now = UnixTime::from_secs(1_700_000_000);
/// let service = ServiceKey::generate()?;
/// let offer = EnrollmentOffer::generate("https://example.com/push", service.public_key(), "Example", "alice", now)?;
/// let key = DeviceKey::generate(Algorithm::Ed25519)?;
///
/// // The service, once the answer is verified.
/// let receipt = EnrollmentReceipt::sign(&service, offer.enrollment_id(), DeviceId::new("dev-1")?, &key.public_key());
/// let body = receipt.to_json();
///
/// // The device.
/// let receipt = EnrollmentReceipt::from_json(body.as_bytes())?;
/// assert_eq!(receipt.verify(&offer, &key.public_key())?.as_str(), "dev-1");
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentReceipt {
    device_id: DeviceId,
    signature: Signature,
}

#[derive(Serialize, Deserialize)]
struct ReceiptWire {
    v: Option<i64>,
    device_id: Option<String>,
    signature: Option<String>,
}

impl EnrollmentReceipt {
    /// The receipt for the device `device_id` of key `public_key`, enrolled by `enrollment_id`.
    pub fn sign(
        service_key: &ServiceKey,
        enrollment_id: &EnrollmentId,
        device_id: DeviceId,
        public_key: &DevicePublicKey,
    ) -> Self {
        let signature = service_key.sign(&Self::bytes(enrollment_id, &device_id, public_key));
        EnrollmentReceipt { device_id, signature }
    }

    /// The signed bytes: the tag `mfa-push/v1/enrollment-receipt`, then enrollment id, device id,
    /// algorithm and public key.
    pub fn canonical_bytes(&self, enrollment_id: &EnrollmentId, public_key: &DevicePublicKey) -> Vec<u8> {
        Self::bytes(enrollment_id, &self.device_id, public_key)
    }

    fn bytes(enrollment_id: &EnrollmentId, device_id: &DeviceId, public_key: &DevicePublicKey) -> Vec<u8> {
        Canonical::new(tag::ENROLLMENT_RECEIPT)
            .text(enrollment_id.as_str())
            .text(device_id.as_str())
            .text(public_key.algorithm().name())
            .bytes(&public_key.to_bytes())
            .finish()
    }

    /// Reads the service's reply.
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        let w: ReceiptWire = json(body, "enrollment receipt")?;
        version(w.v)?;
        Ok(EnrollmentReceipt {
            device_id: DeviceId::new(&required(w.device_id, "device_id")?)?,
            signature: b64_fixed(&required(w.signature, "signature")?, "signature")?,
        })
    }

    /// The reply's body.
    pub fn to_json(&self) -> String {
        to_json(&ReceiptWire {
            v: Some(i64::from(PROTOCOL_VERSION)),
            device_id: Some(self.device_id.to_string()),
            signature: Some(b64(&self.signature)),
        })
    }

    /// The device checks the receipt with the service key of the offer it answered and its own public
    /// key, and learns its device id.
    pub fn verify(&self, offer: &EnrollmentOffer, public_key: &DevicePublicKey) -> Result<&DeviceId, Error> {
        offer.service_key().verify(
            &Self::bytes(offer.enrollment_id(), &self.device_id, public_key),
            &self.signature,
        )?;
        Ok(&self.device_id)
    }

    /// The device id, unchecked until [`verify`](Self::verify).
    pub fn device_id(&self) -> &DeviceId {
        &self.device_id
    }

    /// The signature (64 bytes).
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }
}
