use core::fmt;
use core::str::FromStr;

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Error;
use crate::check::{b64, b64_fixed, b64_vec, required};
use crate::ids::random_bytes;

/// Bytes of every signature of the protocol: Ed25519's 64 (RFC 8032), and ECDSA P-256's `r ‖ s`, two
/// 32-byte big-endian integers (IEEE P1363, as in JOSE's ES256), never DER.
pub const SIGNATURE_LEN: usize = 64;
/// Bytes of a P-256 public key: the uncompressed SEC1 point `0x04 ‖ X ‖ Y`.
pub const P256_PUBLIC_KEY_LEN: usize = 65;
/// Bytes of an Ed25519 public key.
pub const ED25519_PUBLIC_KEY_LEN: usize = 32;

pub(crate) type Signature = [u8; SIGNATURE_LEN];

/// The signature algorithm of a device key.
///
/// ```
/// use mfa_push::Algorithm;
///
/// assert_eq!(Algorithm::EcdsaP256.name(), "ES256");
/// assert_eq!("Ed25519".parse::<Algorithm>()?, Algorithm::Ed25519);
/// assert!("RS256".parse::<Algorithm>().is_err());
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA on NIST P-256 with SHA-256 (`"ES256"`): what phones' secure hardware holds (Android
    /// Keystore / StrongBox, the Secure Enclave).
    #[serde(rename = "ES256")]
    EcdsaP256,
    /// Ed25519 (`"Ed25519"`, RFC 8032, pure, no pre-hash): for software authenticators.
    #[serde(rename = "Ed25519")]
    Ed25519,
}

impl Algorithm {
    /// The name on the wire and in the signed bytes.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256 => "ES256",
            Algorithm::Ed25519 => "Ed25519",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "ES256" => Ok(Algorithm::EcdsaP256),
            "Ed25519" => Ok(Algorithm::Ed25519),
            _ => Err(Error::Malformed {
                what: "algorithm",
                reason: "must be \"ES256\" or \"Ed25519\"",
            }),
        }
    }
}

/// The service's signing key (Ed25519): it signs enrollment receipts, challenges and wake-ups, which
/// devices check with the [`ServicePublicKey`] they received in the enrollment URI.
///
/// Keep its 32-byte seed beside the key ring of secrets, in the host's secret configuration; every
/// device enrolled under it pins its public key, so losing it means enrolling every device again.
/// Zeroized on drop; `Debug` shows the public key only.
///
/// ```
/// use mfa_push::ServiceKey;
///
/// let key = ServiceKey::from_seed(&[7; 32]);
/// let public = key.public_key();
/// assert_eq!(public.to_string().len(), 43);
/// assert_eq!(format!("{key:?}"), format!("ServiceKey {{ public_key: {public} }}"));
/// assert_eq!(ServiceKey::from_seed(&key.seed()).public_key(), public);
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Clone)]
pub struct ServiceKey(ed25519_dalek::SigningKey);

impl ServiceKey {
    /// The key of this 32-byte seed (RFC 8032's private key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        ServiceKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// A new key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        let seed = Zeroizing::new(random_bytes::<32>()?);
        Ok(Self::from_seed(&seed))
    }

    /// The seed, to store in the host's secret configuration.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public key that goes into enrollment URIs.
    pub fn public_key(&self) -> ServicePublicKey {
        ServicePublicKey(self.0.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        ed25519_dalek::Signer::sign(&self.0, message).to_bytes()
    }
}

impl fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceKey")
            .field("public_key", &format_args!("{}", self.public_key()))
            .finish()
    }
}

fn ed25519_public(bytes: &[u8; 32], what: &'static str) -> Result<ed25519_dalek::VerifyingKey, Error> {
    match ed25519_dalek::VerifyingKey::from_bytes(bytes) {
        Ok(key) if !key.is_weak() => Ok(key),
        Ok(_) => Err(Error::Malformed {
            what,
            reason: "a weak Ed25519 key (a point of small order)",
        }),
        Err(_) => Err(Error::Malformed {
            what,
            reason: "not an Ed25519 public key",
        }),
    }
}

fn ed25519_verify(
    key: &ed25519_dalek::VerifyingKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), Error> {
    // Strict: a non-canonical `S`, a small-order `R` or key are refused (no signature malleability).
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
        .map_err(|_| Error::BadSignature)
}

/// The service's public key (Ed25519, 32 bytes), carried in the enrollment URI and pinned by the
/// device. Written as 43 characters of base64url.
///
/// ```
/// use mfa_push::{ServiceKey, ServicePublicKey};
///
/// let public = ServiceKey::from_seed(&[7; 32]).public_key();
/// assert_eq!(public.to_string().parse::<ServicePublicKey>()?, public);
/// assert!(ServicePublicKey::from_bytes(&[0; 32]).is_err()); // a point of small order
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServicePublicKey(ed25519_dalek::VerifyingKey);

impl ServicePublicKey {
    /// The key of these 32 bytes; refuses bytes that are no point and points of small order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        ed25519_public(bytes, "service key").map(ServicePublicKey)
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), Error> {
        ed25519_verify(&self.0, message, signature)
    }
}

impl fmt::Display for ServicePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&b64(self.0.as_bytes()))
    }
}

impl fmt::Debug for ServicePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServicePublicKey({self})")
    }
}

impl FromStr for ServicePublicKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_bytes(&b64_fixed(s, "service key")?)
    }
}

impl TryFrom<String> for ServicePublicKey {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<ServicePublicKey> for String {
    fn from(key: ServicePublicKey) -> String {
        key.to_string()
    }
}

#[derive(Clone)]
enum Signing {
    P256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A device's private key: what an authenticator keeps (in secure hardware where it can), one per
/// enrollment. For authenticators written in Rust (the `mfa` CLI's), tests and vectors.
///
/// ECDSA signatures are deterministic (RFC 6979), so the crate's test vectors are stable; a device
/// may sign with random `k` instead, the service cannot tell. Zeroized on drop; `Debug` shows the
/// algorithm and the public key only.
///
/// ```
/// use mfa_push::{Algorithm, DeviceKey};
///
/// let key = DeviceKey::generate(Algorithm::EcdsaP256)?;
/// assert_eq!(key.public_key().to_bytes().len(), 65);
/// let again = DeviceKey::from_bytes(Algorithm::EcdsaP256, &key.to_bytes())?;
/// assert_eq!(again.public_key(), key.public_key());
/// assert!(DeviceKey::from_bytes(Algorithm::EcdsaP256, &[0; 32]).is_err()); // not a valid scalar
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Clone)]
pub struct DeviceKey(Signing);

impl DeviceKey {
    /// The key of these 32 bytes: a P-256 scalar (big-endian, 1 to n − 1) or an Ed25519 seed.
    pub fn from_bytes(algorithm: Algorithm, bytes: &[u8; 32]) -> Result<Self, Error> {
        match algorithm {
            Algorithm::EcdsaP256 => p256::ecdsa::SigningKey::from_slice(bytes)
                .map(|k| DeviceKey(Signing::P256(k)))
                .map_err(|_| Error::Malformed {
                    what: "device key",
                    reason: "not a P-256 scalar between 1 and n - 1",
                }),
            Algorithm::Ed25519 => Ok(DeviceKey(Signing::Ed25519(
                ed25519_dalek::SigningKey::from_bytes(bytes),
            ))),
        }
    }

    /// A new key from the operating system's CSPRNG.
    pub fn generate(algorithm: Algorithm) -> Result<Self, Error> {
        // A P-256 scalar is refused with probability below 2^-32 (zero, or at least n); 8 draws that
        // all fail mean a broken generator.
        for _ in 0..8 {
            let bytes = Zeroizing::new(random_bytes::<32>()?);
            if let Ok(key) = Self::from_bytes(algorithm, &bytes) {
                return Ok(key);
            }
        }
        Err(Error::RandomUnavailable)
    }

    /// The 32 bytes to store (see [`from_bytes`](Self::from_bytes)).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        match &self.0 {
            Signing::P256(k) => {
                let mut out = Zeroizing::new([0u8; 32]);
                out.copy_from_slice(&k.to_bytes());
                out
            }
            Signing::Ed25519(k) => Zeroizing::new(k.to_bytes()),
        }
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.0 {
            Signing::P256(_) => Algorithm::EcdsaP256,
            Signing::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// The public key the device sends when it enrolls.
    pub fn public_key(&self) -> DevicePublicKey {
        match &self.0 {
            Signing::P256(k) => DevicePublicKey(Verifying::P256(*k.verifying_key())),
            Signing::Ed25519(k) => DevicePublicKey(Verifying::Ed25519(k.verifying_key())),
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        match &self.0 {
            Signing::P256(k) => {
                let signature: p256::ecdsa::Signature = k.sign(message);
                let mut out = [0u8; SIGNATURE_LEN];
                out.copy_from_slice(&signature.to_bytes());
                out
            }
            Signing::Ed25519(k) => ed25519_dalek::Signer::sign(k, message).to_bytes(),
        }
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey")
            .field("algorithm", &self.algorithm())
            .field(
                "public_key",
                &format_args!("{}", b64(&self.public_key().to_bytes())),
            )
            .finish()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verifying {
    P256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A device's public key, as the service stores it with the device: P-256 (65 bytes, uncompressed
/// SEC1) or Ed25519 (32 bytes).
///
/// Serialised as `{"algorithm": "ES256", "public_key": "<base64url>"}`, the members of the
/// enrollment answer.
///
/// ```
/// use mfa_push::{Algorithm, DeviceKey, DevicePublicKey};
///
/// let public = DeviceKey::from_bytes(Algorithm::Ed25519, &[9; 32])?.public_key();
/// let read = DevicePublicKey::from_bytes(Algorithm::Ed25519, &public.to_bytes())?;
/// assert_eq!(read, public);
/// assert!(DevicePublicKey::from_bytes(Algorithm::EcdsaP256, &public.to_bytes()).is_err());
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DevicePublicKeyRepr", into = "DevicePublicKeyRepr")]
pub struct DevicePublicKey(Verifying);

#[derive(Serialize, Deserialize)]
struct DevicePublicKeyRepr {
    algorithm: Option<String>,
    public_key: Option<String>,
}

impl DevicePublicKey {
    /// The key of `algorithm` in these bytes. A P-256 key must be an uncompressed point on the curve;
    /// an Ed25519 key a point not of small order.
    pub fn from_bytes(algorithm: Algorithm, bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "public_key";
        match algorithm {
            Algorithm::EcdsaP256 => {
                if bytes.len() != P256_PUBLIC_KEY_LEN || bytes.first() != Some(&0x04) {
                    return Err(Error::Malformed {
                        what: WHAT,
                        reason: "a P-256 key must be the 65-byte uncompressed point 04 || X || Y",
                    });
                }
                p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
                    .map(|k| DevicePublicKey(Verifying::P256(k)))
                    .map_err(|_| Error::Malformed {
                        what: WHAT,
                        reason: "not a point of P-256",
                    })
            }
            Algorithm::Ed25519 => {
                let bytes: &[u8; ED25519_PUBLIC_KEY_LEN] =
                    bytes.try_into().map_err(|_| Error::Malformed {
                        what: WHAT,
                        reason: "an Ed25519 key must be 32 bytes",
                    })?;
                ed25519_public(bytes, WHAT).map(|k| DevicePublicKey(Verifying::Ed25519(k)))
            }
        }
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.0 {
            Verifying::P256(_) => Algorithm::EcdsaP256,
            Verifying::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// The key's bytes, as sent and signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.0 {
            Verifying::P256(k) => k.to_sec1_point(false).as_bytes().to_vec(),
            Verifying::Ed25519(k) => k.to_bytes().to_vec(),
        }
    }

    pub(crate) fn from_wire(algorithm: &str, public_key: &str) -> Result<Self, Error> {
        let algorithm: Algorithm = algorithm.parse()?;
        let bytes = b64_vec(public_key, "public_key", P256_PUBLIC_KEY_LEN)?;
        Self::from_bytes(algorithm, &bytes)
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), Error> {
        match &self.0 {
            Verifying::P256(k) => {
                // Both `s` and `n - s` are accepted: secure hardware does not normalise `s`, and
                // nothing here keys on the signature's bytes (the replay cache keys on the nonce).
                let signature =
                    p256::ecdsa::Signature::from_slice(signature).map_err(|_| Error::BadSignature)?;
                k.verify(message, &signature).map_err(|_| Error::BadSignature)
            }
            Verifying::Ed25519(k) => ed25519_verify(k, message, signature),
        }
    }
}

impl fmt::Debug for DevicePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DevicePublicKey({}, {})",
            self.algorithm(),
            b64(&self.to_bytes())
        )
    }
}

impl TryFrom<DevicePublicKeyRepr> for DevicePublicKey {
    type Error = Error;
    fn try_from(r: DevicePublicKeyRepr) -> Result<Self, Error> {
        Self::from_wire(
            &required(r.algorithm, "algorithm")?,
            &required(r.public_key, "public_key")?,
        )
    }
}

impl From<DevicePublicKey> for DevicePublicKeyRepr {
    fn from(k: DevicePublicKey) -> Self {
        DevicePublicKeyRepr {
            algorithm: Some(k.algorithm().name().to_owned()),
            public_key: Some(b64(&k.to_bytes())),
        }
    }
}
