use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::check::{b64, b64_fixed};
use crate::encoding::{Canonical, tag};
use crate::ids::random_bytes;

/// Bytes of an enrollment secret.
pub const SECRET_LEN: usize = 32;

/// The secret nonce of an enrollment offer: 32 random bytes that only the QR code (and the device that
/// scanned it) know. The device sends it back in its answer; the service keeps only its
/// [`SecretDigest`].
///
/// Zeroized on drop; `Debug` does not show it; not serialisable.
///
/// ```
/// use mfa_push::EnrollmentSecret;
///
/// let secret = EnrollmentSecret::generate()?;
/// let digest = secret.digest();
/// assert!(digest.matches(&secret));
/// assert!(!digest.matches(&EnrollmentSecret::generate()?));
/// assert_eq!(format!("{secret:?}"), "EnrollmentSecret(..)");
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Clone)]
pub struct EnrollmentSecret(Zeroizing<[u8; SECRET_LEN]>);

impl EnrollmentSecret {
    /// A new secret from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        Ok(EnrollmentSecret(Zeroizing::new(random_bytes()?)))
    }

    /// The secret of these bytes (for test vectors).
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> Self {
        EnrollmentSecret(Zeroizing::new(bytes))
    }

    /// The 32 bytes, as signed in the answer.
    pub fn as_bytes(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }

    /// The text in the URI and the answer: 43 characters of base64url.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(b64(&self.0[..]))
    }

    /// What the service stores: SHA-256 of the canonical bytes of the tag
    /// `mfa-push/v1/enrollment-secret` and the secret.
    pub fn digest(&self) -> SecretDigest {
        let input = Zeroizing::new(Canonical::new(tag::ENROLLMENT_SECRET).bytes(&self.0[..]).finish());
        SecretDigest(Sha256::digest(&input[..]).into())
    }
}

impl FromStr for EnrollmentSecret {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(EnrollmentSecret(Zeroizing::new(b64_fixed(s, "secret")?)))
    }
}

impl fmt::Debug for EnrollmentSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnrollmentSecret(..)")
    }
}

/// The hash of an [`EnrollmentSecret`] that the service keeps with a pending enrollment: a 256-bit
/// random secret needs no salt or slow hash, and the digest opens nothing by itself.
///
/// Serialised as base64url. Compared in constant time.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// Whether `secret` is the one this digest was made from, compared in constant time.
    pub fn matches(&self, secret: &EnrollmentSecret) -> bool {
        secret.digest().0.ct_eq(&self.0).into()
    }

    /// The digest of these bytes, as read back from a store.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretDigest(bytes)
    }

    /// The 32 bytes, to store.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

impl TryFrom<String> for SecretDigest {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        b64_fixed(&s, "secret digest").map(SecretDigest)
    }
}

impl From<SecretDigest> for String {
    fn from(d: SecretDigest) -> String {
        b64(&d.0)
    }
}
