use core::fmt;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, Zeroizing};

use crate::ids::random_bytes;
use crate::{Error, MethodId, UserId};

/// Bytes of an encryption key (XChaCha20-Poly1305: 256 bits).
pub const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
const SEAL_DOMAIN: &[u8] = b"mfa/totp-secret/v1\0";

/// The name of one encryption key of a [`KeyRing`], stored beside every ciphertext it made.
///
/// ```
/// let id = mfa::KeyId(3);
/// assert_eq!(id.to_string(), "3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(pub u32);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A TOTP secret as a [`Store`](crate::Store) holds it: XChaCha20-Poly1305 ciphertext under the key
/// [`key_id`](Self::key_id).
///
/// The bytes are the 24-byte random nonce, the ciphertext and the 16-byte Poly1305 tag. The associated
/// data binds the ciphertext to its user and method, so a ciphertext copied to another user or method
/// does not decrypt. `Debug` shows the key id and the length only.
///
/// A SQL store keeps it as two columns and rebuilds it when reading:
///
/// ```
/// use mfa::{KeyId, SealedSecret};
///
/// # let sealed = SealedSecret::from_parts(KeyId(1), vec![0xa5; 60]);
/// // Writing: `key_id` into an integer column, `as_bytes` into a binary one.
/// let (key_id, bytes) = (sealed.key_id().0, sealed.as_bytes().to_vec());
/// // Reading back.
/// let read = SealedSecret::from_parts(KeyId(key_id), bytes);
/// assert_eq!(read, sealed);
/// assert_eq!(format!("{read:?}"), "SealedSecret { key_id: KeyId(1), len: 60 }");
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    key_id: KeyId,
    #[serde(with = "crate::record::base64_bytes")]
    bytes: Vec<u8>,
}

impl SealedSecret {
    /// A sealed secret as read back from storage.
    pub fn from_parts(key_id: KeyId, bytes: Vec<u8>) -> Self {
        SealedSecret { key_id, bytes }
    }

    /// The key it was sealed under.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Nonce, ciphertext and tag, to store as one binary column.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The encryption keys of TOTP secrets at rest: one current key that seals, older ones that still open.
///
/// Rotation: add a new key as current and keep the old ones. Secrets sealed under an old key are
/// re-sealed under the current one when they are next used, or by
/// [`Mfa::reencrypt_user`](crate::Mfa::reencrypt_user); drop an old key once no record names it.
/// Keys come from your configuration or KMS, 32 bytes from a CSPRNG each, and never reach the Store.
/// Keys zeroize on drop; `Debug` lists the ids only.
///
/// ```
/// use mfa::{KeyId, KeyRing};
///
/// let old = [7u8; 32]; // from your secret configuration
/// let new = [9u8; 32];
/// let ring = KeyRing::new(KeyId(2), &new)?.with_previous(KeyId(1), &old)?;
/// assert_eq!(ring.current_id(), KeyId(2));
/// assert_eq!(format!("{ring:?}"), "KeyRing { current: KeyId(2), ids: [KeyId(2), KeyId(1)] }");
/// assert!(KeyRing::new(KeyId(1), &[0u8; 16]).is_err());
/// # Ok::<(), mfa::Error>(())
/// ```
#[derive(Clone)]
pub struct KeyRing {
    current: KeyId,
    keys: Vec<(KeyId, XChaCha20Poly1305)>,
}

impl KeyRing {
    /// A ring whose current key is `key` (32 bytes), named `id`.
    pub fn new(id: KeyId, key: &[u8]) -> Result<Self, Error> {
        Ok(KeyRing {
            current: id,
            keys: vec![(id, cipher(key)?)],
        })
    }

    /// A ring with a new random current key: for tests and development only, since secrets sealed
    /// under it are lost with the process.
    pub fn generate(id: KeyId) -> Result<Self, Error> {
        let key = Zeroizing::new(random_bytes::<KEY_BYTES>()?);
        Self::new(id, &key[..])
    }

    /// The same ring with an older key that still opens what it sealed. Fails on a duplicate id.
    pub fn with_previous(mut self, id: KeyId, key: &[u8]) -> Result<Self, Error> {
        if self.keys.iter().any(|(known, _)| *known == id) {
            return Err(Error::InvalidKey {
                reason: "two keys of the key ring have the same id",
            });
        }
        self.keys.push((id, cipher(key)?));
        Ok(self)
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> KeyId {
        self.current
    }

    /// Whether `sealed` is under the current key.
    pub(crate) fn is_current(&self, sealed: &SealedSecret) -> bool {
        sealed.key_id == self.current
    }

    fn key(&self, id: KeyId) -> Option<&XChaCha20Poly1305> {
        self.keys.iter().find(|(known, _)| *known == id).map(|(_, c)| c)
    }

    /// Seals `plaintext` for (`user`, `method`) under the current key with a fresh random nonce.
    pub(crate) fn seal(
        &self,
        user: &UserId,
        method: MethodId,
        plaintext: &[u8],
    ) -> Result<SealedSecret, Error> {
        let cipher = self
            .key(self.current)
            .ok_or(Error::UnknownKey { id: self.current })?;
        let nonce_bytes = random_bytes::<NONCE_BYTES>()?;
        let nonce = XNonce::from(nonce_bytes);
        let aad = associated_data(user, method, self.current);
        let mut bytes = Vec::with_capacity(NONCE_BYTES + plaintext.len() + TAG_BYTES);
        bytes.extend_from_slice(&nonce_bytes);
        bytes.extend_from_slice(plaintext);
        let tag = cipher
            .encrypt_inout_detached(&nonce, &aad, bytes[NONCE_BYTES..].as_mut().into())
            .map_err(|_| Error::Decrypt)?;
        bytes.extend_from_slice(&tag);
        Ok(SealedSecret {
            key_id: self.current,
            bytes,
        })
    }

    /// Opens a secret sealed for (`user`, `method`). [`Error::UnknownKey`] when the ring lacks its key,
    /// [`Error::Decrypt`] when it was altered or belongs to another user or method.
    pub(crate) fn open(
        &self,
        user: &UserId,
        method: MethodId,
        sealed: &SealedSecret,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let cipher = self
            .key(sealed.key_id)
            .ok_or(Error::UnknownKey { id: sealed.key_id })?;
        let bytes = &sealed.bytes;
        if bytes.len() < NONCE_BYTES + TAG_BYTES {
            return Err(Error::Decrypt);
        }
        let (nonce, rest) = bytes.split_at(NONCE_BYTES);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| Error::Decrypt)?;
        let tag = chacha20poly1305::Tag::try_from(tag).map_err(|_| Error::Decrypt)?;
        let aad = associated_data(user, method, sealed.key_id);
        let mut plaintext = Zeroizing::new(ciphertext.to_vec());
        cipher
            .decrypt_inout_detached(&nonce, &aad, plaintext.as_mut_slice().into(), &tag)
            .map_err(|_| Error::Decrypt)?;
        Ok(plaintext)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<KeyId> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("KeyRing")
            .field("current", &self.current)
            .field("ids", &ids)
            .finish()
    }
}

fn cipher(key: &[u8]) -> Result<XChaCha20Poly1305, Error> {
    if key.len() != KEY_BYTES {
        return Err(Error::InvalidKey {
            reason: "an encryption key must be 32 bytes",
        });
    }
    XChaCha20Poly1305::new_from_slice(key).map_err(|_| Error::InvalidKey {
        reason: "rejected by XChaCha20-Poly1305",
    })
}

/// Domain ‖ key id ‖ method id ‖ user id: a ciphertext opens only for the user and method it was made for.
fn associated_data(user: &UserId, method: MethodId, key: KeyId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(SEAL_DOMAIN.len() + 4 + 16 + user.as_str().len());
    aad.extend_from_slice(SEAL_DOMAIN);
    aad.extend_from_slice(&key.0.to_be_bytes());
    aad.extend_from_slice(method.as_bytes());
    aad.extend_from_slice(user.as_str().as_bytes());
    aad
}

/// An HMAC-SHA-256 tag as a [`Store`](crate::Store) holds it in place of a phone code or a recovery
/// code, or the SHA-256 of a remembered-device token.
///
/// Equality is constant time; `Debug` shows nothing of it.
///
/// ```
/// use mfa::Tag;
///
/// let stored = Tag::from_bytes([7; 32]); // as read from a 32-byte binary column
/// assert_eq!(stored, Tag::from_bytes(*stored.as_bytes()));
/// assert_ne!(stored, Tag::from_bytes([8; 32]));
/// assert_eq!(format!("{stored:?}"), "Tag(..)");
/// ```
#[derive(Clone, Copy, Serialize, Deserialize)]
pub struct Tag(#[serde(with = "crate::record::base64_array")] [u8; 32]);

impl Tag {
    /// A tag as read back from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Tag(bytes)
    }

    /// The 32 bytes, to store as a binary column.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl ConstantTimeEq for Tag {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Tag {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Tag {}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tag(..)")
    }
}

/// The server secret that keys the HMAC tags of phone codes, recovery codes and app-password candidate
/// tags. HKDF-SHA-256 (RFC 5869) derives one subkey per use from it.
///
/// 32 to 64 bytes from a CSPRNG, kept outside the database and stable over time: changing it makes
/// stored recovery codes and app passwords unusable. A 6-digit code hashed without a key could be
/// found from its hash in a million tries; under a key the database alone does not suffice.
/// Zeroizes on drop; `Debug` redacts it.
///
/// ```
/// use mfa::TagSecret;
///
/// let secret = TagSecret::from_bytes(&[42u8; 32])?;
/// assert_eq!(format!("{secret:?}"), "TagSecret(..)");
/// assert!(TagSecret::from_bytes(&[1u8; 8]).is_err());
/// # Ok::<(), mfa::Error>(())
/// ```
#[derive(Clone)]
pub struct TagSecret {
    phone: Hmac<Sha256>,
    recovery: Hmac<Sha256>,
    app_password: Zeroizing<[u8; 32]>,
}

impl TagSecret {
    /// The secret of 32 to 64 bytes.
    pub fn from_bytes(master: &[u8]) -> Result<Self, Error> {
        if !(32..=64).contains(&master.len()) {
            return Err(Error::InvalidKey {
                reason: "the tag secret must be 32 to 64 bytes",
            });
        }
        let hkdf = Hkdf::<Sha256>::new(Some(b"mfa-kit/tag-secret/v1"), master);
        let derive = |info: &[u8]| -> Result<Zeroizing<[u8; 32]>, Error> {
            let mut okm = Zeroizing::new([0u8; 32]);
            hkdf.expand(info, &mut okm[..]).map_err(|_| Error::InvalidKey {
                reason: "HKDF expansion failed",
            })?;
            Ok(okm)
        };
        let mac = |key: &[u8]| {
            <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).map_err(|_| Error::InvalidKey {
                reason: "rejected by HMAC",
            })
        };
        Ok(TagSecret {
            phone: mac(&derive(b"phone-code")?[..])?,
            recovery: mac(&derive(b"recovery-code")?[..])?,
            app_password: derive(b"app-password-tag")?,
        })
    }

    /// A new random secret: for tests and development only (stored codes die with the process).
    pub fn generate() -> Result<Self, Error> {
        let master = Zeroizing::new(random_bytes::<32>()?);
        Self::from_bytes(&master[..])
    }

    /// The tag of a phone code sent to `user` for `method`.
    pub(crate) fn phone_code(&self, user: &UserId, method: MethodId, code: &str) -> Tag {
        tag(
            &self.phone,
            &[user.as_str().as_bytes(), method.as_bytes(), code.as_bytes()],
        )
    }

    /// The tag of a normalised recovery code of `user`.
    pub(crate) fn recovery_code(&self, user: &UserId, code: &str) -> Tag {
        tag(&self.recovery, &[user.as_str().as_bytes(), code.as_bytes()])
    }

    /// The key of mfa-app-password's candidate tags.
    pub(crate) fn app_password_key(&self) -> Result<mfa_app_password::TagKey, Error> {
        mfa_app_password::TagKey::from_bytes(&self.app_password[..]).map_err(Error::AppPassword)
    }
}

impl fmt::Debug for TagSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TagSecret(..)")
    }
}

/// HMAC over length-prefixed parts, so no two different part lists give the same input.
fn tag(mac: &Hmac<Sha256>, parts: &[&[u8]]) -> Tag {
    let mut mac = mac.clone();
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    let mut out = mac.finalize().into_bytes();
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&out);
    out.zeroize();
    Tag(bytes)
}

/// SHA-256 of a remembered-device token (256 random bits need no key or slow hash).
pub(crate) fn token_hash(token: &[u8]) -> Tag {
    use sha2::Digest;
    Tag(Sha256::digest(token).into())
}
