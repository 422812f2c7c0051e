use serde::{Deserialize, Serialize};

use crate::check::{b64, b64_fixed, json, required, to_json, version};
use crate::encoding::{Canonical, tag};
use crate::keys::Signature;
use crate::{ChallengeId, DeviceId, Error, PROTOCOL_VERSION, ServiceKey, ServicePublicKey};

/// A wake-up: "device D, challenge C is waiting", and nothing else a push provider or relay could
/// learn from (no user, application, address or number). Signed with the service key so that a device
/// or its relay can tell the service's wake-ups from others; a device that receives one fetches its
/// pending challenges as usual (PROTOCOL.md, "Wake-up").
///
/// ```
/// use mfa_push::{ChallengeId, DeviceId, ServiceKey, Wake};
///
/// let service = ServiceKey::generate()?;
/// let device = DeviceId::new("dev-1")?;
/// let wake = Wake::sign(&service, device.clone(), ChallengeId::new("c1")?);
/// let read = Wake::from_json(wake.to_json().as_bytes())?;
/// assert_eq!(read.verify(&service.public_key(), &device)?.as_str(), "c1");
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wake {
    device_id: DeviceId,
    challenge_id: ChallengeId,
    signature: Signature,
}

#[derive(Serialize, Deserialize)]
struct WakeWire {
    v: Option<i64>,
    device_id: Option<String>,
    challenge_id: Option<String>,
    signature: Option<String>,
}

impl Wake {
    /// The wake-up for `challenge_id` to `device_id`.
    pub fn sign(service_key: &ServiceKey, device_id: DeviceId, challenge_id: ChallengeId) -> Self {
        let signature = service_key.sign(&Self::bytes(&device_id, &challenge_id));
        Wake {
            device_id,
            challenge_id,
            signature,
        }
    }

    fn bytes(device_id: &DeviceId, challenge_id: &ChallengeId) -> Vec<u8> {
        Canonical::new(tag::WAKE)
            .text(device_id.as_str())
            .text(challenge_id.as_str())
            .finish()
    }

    /// The signed bytes: the tag `mfa-push/v1/wake`, then device id and challenge id.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        Self::bytes(&self.device_id, &self.challenge_id)
    }

    /// The body.
    pub fn to_json(&self) -> String {
        to_json(&WakeWire {
            v: Some(i64::from(PROTOCOL_VERSION)),
            device_id: Some(self.device_id.to_string()),
            challenge_id: Some(self.challenge_id.to_string()),
            signature: Some(b64(&self.signature)),
        })
    }

    /// Reads a body.
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        let w: WakeWire = json(body, "wake")?;
        version(w.v)?;
        Ok(Wake {
            device_id: DeviceId::new(&required(w.device_id, "device_id")?)?,
            challenge_id: ChallengeId::new(&required(w.challenge_id, "challenge_id")?)?,
            signature: b64_fixed(&required(w.signature, "signature")?, "signature")?,
        })
    }

    /// Checks the signature with the pinned service key and that it is for this device; gives the
    /// challenge id (then fetch: the wake-up itself is never shown).
    pub fn verify(
        &self,
        service_key: &ServicePublicKey,
        device_id: &DeviceId,
    ) -> Result<&ChallengeId, Error> {
        service_key.verify(&self.canonical_bytes(), &self.signature)?;
        if &self.device_id != device_id {
            return Err(Error::WrongRecipient { what: "wake" });
        }
        Ok(&self.challenge_id)
    }

    /// The device, unchecked until [`verify`](Self::verify).
    pub fn device_id(&self) -> &DeviceId {
        &self.device_id
    }

    /// The challenge, unchecked until [`verify`](Self::verify).
    pub fn challenge_id(&self) -> &ChallengeId {
        &self.challenge_id
    }

    /// The signature (64 bytes).
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }
}
