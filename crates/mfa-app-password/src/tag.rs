use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroize;

use crate::{AppPasswordId, Error};

/// Domain separation for the tag MAC, so the key can never produce a value meaningful elsewhere.
const TAG_DOMAIN: &[u8] = b"mfa-app-password/tag/v1\0";

/// The server key of the candidate tags (see the crate docs, "Many app passwords per user").
///
/// 32 to 64 bytes from a CSPRNG, kept outside the database (configuration, KMS). Zeroizes on drop; `Debug`
/// redacts it. Losing it is not fatal: records whose tag no longer matches are not found, so users make
/// new app passwords; keep it stable.
///
/// ```
/// use mfa_app_password::TagKey;
///
/// let key = TagKey::generate()?;
/// assert_eq!(format!("{key:?}"), "TagKey(..)");
/// assert!(TagKey::from_bytes(&[1u8; 16]).is_err());
/// # Ok::<(), mfa_app_password::Error>(())
/// ```
#[derive(Clone)]
pub struct TagKey {
    // HMAC keyed once; the `zeroize` feature of `hmac` wipes its state on drop.
    mac: Hmac<Sha256>,
}

impl TagKey {
    /// A key from 32 to 64 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if !(32..=64).contains(&bytes.len()) {
            return Err(Error::InvalidKey {
                what: "tag key",
                reason: "must be 32 to 64 bytes",
            });
        }
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(bytes).map_err(|_| Error::InvalidKey {
            what: "tag key",
            reason: "rejected by HMAC",
        })?;
        Ok(TagKey { mac })
    }

    /// A new 32-byte key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..]).map_err(|_| Error::RandomUnavailable)?;
        Self::from_bytes(&bytes[..])
    }

    /// The 16-bit tag of a normalized password for one record: the first two bytes of
    /// HMAC-SHA-256(key, domain ‖ id ‖ password).
    pub(crate) fn tag(&self, id: &AppPasswordId, password: &str) -> u16 {
        let mut mac = self.mac.clone();
        mac.update(TAG_DOMAIN);
        mac.update(id.as_bytes());
        mac.update(password.as_bytes());
        let mut out = mac.finalize().into_bytes();
        let tag = u16::from_be_bytes([out[0], out[1]]);
        out.zeroize();
        tag
    }
}

impl fmt::Debug for TagKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TagKey(..)")
    }
}
