use core::fmt;

use aes_gcm_siv::Aes256GcmSiv;
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, Zeroizing};

use crate::ids::random_bytes;
use crate::{Error, MethodId, UserId};

/// Bytes of an encryption key of a [`KeyRing`]: 256 bits.
pub const KEY_BYTES: usize = 32;
/// The leading byte of a secret sealed in the current format: AES-256-GCM-SIV (RFC 8452).
const FORMAT_AES256_GCM_SIV: u8 = 0x01;
const FORMAT_BYTES: usize = 1;
/// AES-GCM-SIV's nonce (RFC 8452: 96 bits).
const NONCE_BYTES: usize = 12;
/// The nonce of the first format, which had no leading byte: XChaCha20-Poly1305's 192 bits.
const LEGACY_NONCE_BYTES: usize = 24;
/// Both formats end with a 128-bit tag.
const TAG_BYTES: usize = 16;
const SEAL_DOMAIN: &[u8] = b"mfa/totp-secret/v1\0";
/// HKDF-SHA-256 salt and info of the AES-256-GCM-SIV key derived from a key of the ring.
const SUBKEY_SALT: &[u8] = b"mfa-kit/key-ring/v1";
const SUBKEY_AES256_GCM_SIV: &[u8] = b"aes-256-gcm-siv";
/// HKDF-SHA-256 info of the subkey of a key's check value (under the salt of its kind of key).
const SUBKEY_KEY_CHECK: &[u8] = b"key-check";
/// The label a check value is the HMAC of (then the key id, for a key of the ring).
const KEY_CHECK_RING: &[u8] = b"mfa-kit/key-check/v1\0key-ring\0";
const KEY_CHECK_TAG_SECRET: &[u8] = b"mfa-kit/key-check/v1\0tag-secret\0";
/// HKDF-SHA-256 salt of the subkeys of a [`TagSecret`].
const TAG_SECRET_SALT: &[u8] = b"mfa-kit/tag-secret/v1";

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

/// A TOTP secret as a [`Store`](crate::Store) holds it: AEAD ciphertext under the key
/// [`key_id`](Self::key_id).
///
/// The bytes are a format byte (`0x01`: AES-256-GCM-SIV, RFC 8452), the 12-byte random nonce, the
/// ciphertext and the 16-byte tag. The associated data binds the ciphertext to its format, key id, user
/// and method, so a ciphertext copied to another user or method does not decrypt. Secrets sealed before
/// the format byte existed (24-byte nonce, ciphertext, 16-byte tag, XChaCha20-Poly1305) still open; see
/// [`KeyRing`]. `Debug` shows the key id and the length only.
///
/// A SQL store keeps it as two columns and rebuilds it when reading:
///
/// ```
/// use mfa::KeyId;
/// use mfa::store::SealedSecret;
///
/// # let sealed = SealedSecret::from_parts(KeyId(1), vec![0xa5; 49]);
/// // Writing: `key_id` into an integer column, `as_bytes` into a binary one.
/// let (key_id, bytes) = (sealed.key_id().0, sealed.as_bytes().to_vec());
/// // Reading back.
/// let read = SealedSecret::from_parts(KeyId(key_id), bytes);
/// assert_eq!(read, sealed);
/// assert_eq!(format!("{read:?}"), "SealedSecret { key_id: KeyId(1), len: 49 }");
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

    /// Format byte, nonce, ciphertext and tag, to store as one binary column.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the bytes have the current format's leading byte and room for its nonce and tag.
    fn looks_current(&self) -> bool {
        self.bytes.first() == Some(&FORMAT_AES256_GCM_SIV)
            && self.bytes.len() >= FORMAT_BYTES + NONCE_BYTES + TAG_BYTES
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
/// # The cipher
///
/// Secrets are sealed with AES-256-GCM-SIV (RFC 8452) under a key that HKDF-SHA-256 (RFC 5869)
/// derives from the configured one, with a random 96-bit nonce per seal. Why this AEAD, measured by
/// `cargo bench --bench aead` (the root README has the figures): on x86-64 with AES-NI, opening a sealed
/// 20-byte secret took 0.60 µs with AES-256-GCM-SIV, 0.31 µs with AES-256-GCM and 1.70 µs with
/// XChaCha20-Poly1305 (the `poly1305` crate's AVX2 set-up dominates so short a message). AES-GCM is the
/// faster of the two AES modes but not safe with random nonces at any scale: NIST SP 800-38D §8.3 caps
/// a key at 2^32 seals with random 96-bit nonces, and a single repeated nonce (probability about
/// q²/2^97 after q seals) gives away the GHASH key and so forgeries under that key. Every
/// [`begin_app_enrollment`](crate::Mfa::begin_app_enrollment) seals, abandoned ones included, so the
/// count is not ours to bound. AES-GCM-SIV is nonce-misuse resistant (RFC 8452 §1, §9): a repeated
/// nonce reveals only that the same plaintext was sealed with the same associated data (here: the same
/// method's secret, resealed), nothing else, and its bounds with random nonces allow far more seals
/// per key than AES-GCM's (RFC 8452 §9). The 0.3 µs it costs over AES-GCM buys that. Without AES-NI (and CLMUL) both AES modes fall back to constant-time software
/// and are slower; the format byte lets a later version choose another AEAD without guesswork.
///
/// # Earlier secrets
///
/// Secrets sealed before the format byte existed (XChaCha20-Poly1305 under the configured key itself:
/// 24-byte nonce ‖ ciphertext ‖ 16-byte tag, the same associated data without the format byte) still
/// open: a secret whose first byte is not the format byte is opened in that format, and one whose first
/// byte is (so does 1 in 256 of the old ones, whose first byte is random) is tried as AES-256-GCM-SIV
/// and then as XChaCha20-Poly1305. AEAD authentication makes this trial unambiguous: a ciphertext opens
/// under at most one of the two (a false open needs a forged 128-bit tag). Opening tells which format a
/// secret was in, so old-format secrets, the 1 in 256 that begin with the format byte included, are
/// re-sealed in the new format on their next successful verification, or by
/// [`Mfa::reencrypt_user`](crate::Mfa::reencrypt_user).
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
    keys: Vec<(KeyId, Ciphers)>,
}

/// The ciphers of one key: the one that seals, and the first format's, which only opens.
#[derive(Clone)]
struct Ciphers {
    seal: Aes256GcmSiv,
    legacy: XChaCha20Poly1305,
    /// The key's check value (see [`KeyCheck`]).
    check: Tag,
}

impl KeyRing {
    /// A ring whose current key is `key` (32 bytes), named `id`.
    pub fn new(id: KeyId, key: &[u8]) -> Result<Self, Error> {
        Ok(KeyRing {
            current: id,
            keys: vec![(id, Ciphers::new(id, key)?)],
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
        self.keys.push((id, Ciphers::new(id, key)?));
        Ok(self)
    }

    /// Whether the ring has a key named `id`.
    pub(crate) fn has_key(&self, id: KeyId) -> bool {
        self.key(id).is_some()
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> KeyId {
        self.current
    }

    /// The check value of each key of the ring, current first.
    pub(crate) fn key_checks(&self) -> Vec<KeyCheck> {
        self.keys
            .iter()
            .map(|(id, ciphers)| KeyCheck {
                key: CheckedKey::Ring(*id),
                value: ciphers.check,
            })
            .collect()
    }

    fn key(&self, id: KeyId) -> Option<&Ciphers> {
        self.keys.iter().find(|(known, _)| *known == id).map(|(_, c)| c)
    }

    /// Seals `plaintext` for (`user`, `method`) under the current key with a fresh random nonce.
    pub(crate) fn seal(
        &self,
        user: &UserId,
        method: MethodId,
        plaintext: &[u8],
    ) -> Result<SealedSecret, Error> {
        self.seal_with_nonce(user, method, plaintext, random_bytes::<NONCE_BYTES>()?)
    }

    fn seal_with_nonce(
        &self,
        user: &UserId,
        method: MethodId,
        plaintext: &[u8],
        nonce: [u8; NONCE_BYTES],
    ) -> Result<SealedSecret, Error> {
        let ciphers = self
            .key(self.current)
            .ok_or(Error::UnknownKey { id: self.current })?;
        let aad = associated_data(Some(FORMAT_AES256_GCM_SIV), user, method, self.current);
        let start = FORMAT_BYTES + NONCE_BYTES;
        let mut bytes = Vec::with_capacity(start + plaintext.len() + TAG_BYTES);
        bytes.push(FORMAT_AES256_GCM_SIV);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(plaintext);
        let tag = ciphers
            .seal
            .encrypt_inout_detached(&nonce.into(), &aad, bytes[start..].as_mut().into())
            .map_err(|_| Error::Decrypt)?;
        bytes.extend_from_slice(&tag);
        Ok(SealedSecret {
            key_id: self.current,
            bytes,
        })
    }

    /// Opens a secret sealed for (`user`, `method`), in either format (see [`KeyRing`]).
    /// [`Error::UnknownKey`] when the ring lacks its key, [`Error::Decrypt`] when it was altered (its
    /// format byte included) or belongs to another user or method.
    pub(crate) fn open(
        &self,
        user: &UserId,
        method: MethodId,
        sealed: &SealedSecret,
    ) -> Result<Opened, Error> {
        let ciphers = self
            .key(sealed.key_id)
            .ok_or(Error::UnknownKey { id: sealed.key_id })?;
        let bytes = &sealed.bytes;
        if sealed.looks_current() {
            let aad = associated_data(Some(FORMAT_AES256_GCM_SIV), user, method, sealed.key_id);
            if let Ok(plaintext) = open_with(&ciphers.seal, &bytes[FORMAT_BYTES..], NONCE_BYTES, &aad) {
                let current = sealed.key_id == self.current;
                return Ok(Opened { plaintext, current });
            }
            // Else the first format, whose random first byte may equal the format byte.
        }
        let aad = associated_data(None, user, method, sealed.key_id);
        let plaintext = open_with(&ciphers.legacy, bytes, LEGACY_NONCE_BYTES, &aad)?;
        Ok(Opened {
            plaintext,
            current: false,
        })
    }
}

/// A secret [`KeyRing::open`] opened, and whether it was sealed the way the ring seals now (the current
/// format under the current key): one that was not is sealed again when it is next used.
pub(crate) struct Opened {
    pub(crate) plaintext: Zeroizing<Vec<u8>>,
    pub(crate) current: bool,
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

impl Ciphers {
    fn new(id: KeyId, key: &[u8]) -> Result<Self, Error> {
        if key.len() != KEY_BYTES {
            return Err(Error::InvalidKey {
                reason: "an encryption key must be 32 bytes",
            });
        }
        // One key per algorithm: the configured key opens the first format, a subkey seals.
        let hkdf = Hkdf::<Sha256>::new(Some(SUBKEY_SALT), key);
        let subkey = expand(&hkdf, SUBKEY_AES256_GCM_SIV)?;
        let check = key_check_value(
            &expand(&hkdf, SUBKEY_KEY_CHECK)?,
            &[KEY_CHECK_RING, &id.0.to_be_bytes()],
        )?;
        Ok(Ciphers {
            check,
            seal: Aes256GcmSiv::new_from_slice(&subkey[..]).map_err(|_| Error::InvalidKey {
                reason: "rejected by AES-256-GCM-SIV",
            })?,
            legacy: XChaCha20Poly1305::new_from_slice(key).map_err(|_| Error::InvalidKey {
                reason: "rejected by XChaCha20-Poly1305",
            })?,
        })
    }
}

/// Opens `nonce ‖ ciphertext ‖ tag` under `cipher`, whose nonce is `nonce_bytes` long.
fn open_with<A: AeadInOut>(
    cipher: &A,
    bytes: &[u8],
    nonce_bytes: usize,
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if bytes.len() < nonce_bytes + TAG_BYTES {
        return Err(Error::Decrypt);
    }
    let (nonce, rest) = bytes.split_at(nonce_bytes);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_BYTES);
    let nonce = chacha20poly1305::aead::Nonce::<A>::try_from(nonce).map_err(|_| Error::Decrypt)?;
    let tag = chacha20poly1305::aead::Tag::<A>::try_from(tag).map_err(|_| Error::Decrypt)?;
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_inout_detached(&nonce, aad, plaintext.as_mut_slice().into(), &tag)
        .map_err(|_| Error::Decrypt)?;
    Ok(plaintext)
}

/// Domain ‖ format byte ‖ key id ‖ method id ‖ user id: a ciphertext opens only in the format, for the
/// user and the method it was made for. The first format had no format byte (`format` is `None`).
fn associated_data(format: Option<u8>, user: &UserId, method: MethodId, key: KeyId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(SEAL_DOMAIN.len() + 1 + 4 + 16 + user.as_str().len());
    aad.extend_from_slice(SEAL_DOMAIN);
    aad.extend(format);
    aad.extend_from_slice(&key.0.to_be_bytes());
    aad.extend_from_slice(method.as_bytes());
    aad.extend_from_slice(user.as_str().as_bytes());
    aad
}

/// An HMAC-SHA-256 tag as a [`Store`](crate::Store) holds it in place of a phone code or a recovery
/// code, the SHA-256 of a remembered-device token, or a key's check value ([`KeyCheck`]).
///
/// Equality is constant time; `Debug` shows nothing of it.
///
/// ```
/// use mfa::store::Tag;
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
    check: Tag,
}

impl TagSecret {
    /// The secret of 32 to 64 bytes.
    pub fn from_bytes(master: &[u8]) -> Result<Self, Error> {
        if !(32..=64).contains(&master.len()) {
            return Err(Error::InvalidKey {
                reason: "the tag secret must be 32 to 64 bytes",
            });
        }
        let hkdf = Hkdf::<Sha256>::new(Some(TAG_SECRET_SALT), master);
        let derive = |info: &[u8]| expand(&hkdf, info);
        let mac = |key: &[u8]| {
            <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).map_err(|_| Error::InvalidKey {
                reason: "rejected by HMAC",
            })
        };
        Ok(TagSecret {
            phone: mac(&derive(b"phone-code")?[..])?,
            recovery: mac(&derive(b"recovery-code")?[..])?,
            app_password: derive(b"app-password-tag")?,
            check: key_check_value(&derive(SUBKEY_KEY_CHECK)?, &[KEY_CHECK_TAG_SECRET])?,
        })
    }

    /// The secret's check value (see [`KeyCheck`]).
    pub(crate) fn key_check(&self) -> KeyCheck {
        KeyCheck {
            key: CheckedKey::TagSecret,
            value: self.check,
        }
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

    /// The tag of the number a push to `user` shows (under the phone codes' subkey, in a domain of its
    /// own).
    pub(crate) fn push_number(&self, user: &UserId, challenge: &mfa_push::ChallengeId, number: &str) -> Tag {
        tag(
            &self.phone,
            &[
                b"push-number",
                user.as_str().as_bytes(),
                challenge.as_str().as_bytes(),
                number.as_bytes(),
            ],
        )
    }

    /// The WebAuthn user handle of `user`: stable, 16 bytes, and telling nothing of the user id
    /// (W3C Web Authentication §14.6.1: the handle must not carry personal information).
    #[cfg_attr(not(feature = "webauthn"), allow(dead_code))]
    pub(crate) fn webauthn_user_handle(&self, user: &UserId) -> [u8; 16] {
        let tag = tag(&self.phone, &[b"webauthn-user-handle", user.as_str().as_bytes()]);
        let mut handle = [0u8; 16];
        handle.copy_from_slice(&tag.as_bytes()[..16]);
        handle
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

/// 32 bytes of HKDF-SHA-256 output for `info`.
fn expand(hkdf: &Hkdf<Sha256>, info: &[u8]) -> Result<Zeroizing<[u8; 32]>, Error> {
    let mut okm = Zeroizing::new([0u8; 32]);
    hkdf.expand(info, &mut okm[..]).map_err(|_| Error::InvalidKey {
        reason: "HKDF expansion failed",
    })?;
    Ok(okm)
}

/// HMAC-SHA-256 under `subkey` of the concatenated `label` parts: a key check value.
fn key_check_value(subkey: &Zeroizing<[u8; 32]>, label: &[&[u8]]) -> Result<Tag, Error> {
    let mut mac =
        <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&subkey[..]).map_err(|_| Error::InvalidKey {
            reason: "rejected by HMAC",
        })?;
    for part in label {
        mac.update(part);
    }
    Ok(Tag(mac.finalize().into_bytes().into()))
}

/// Which key a [`KeyCheck`] is the check value of.
///
/// A [`Store`](crate::Store) keeps it as its [`name`](Self::name) (`key-ring/3`, `tag-secret`):
///
/// ```
/// use mfa::{CheckedKey, KeyId};
///
/// let key = CheckedKey::Ring(KeyId(3));
/// assert_eq!(key.name(), "key-ring/3");
/// assert_eq!(CheckedKey::from_name("key-ring/3"), Some(key));
/// assert_eq!(CheckedKey::from_name(&CheckedKey::TagSecret.name()), Some(CheckedKey::TagSecret));
/// assert_eq!(key.to_string(), "key 3 of the key ring");
/// assert_eq!(CheckedKey::from_name("key-ring/x"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CheckedKey {
    /// A key of the [`KeyRing`].
    Ring(KeyId),
    /// The [`TagSecret`].
    TagSecret,
}

impl CheckedKey {
    /// The name a store keeps: `key-ring/<id>` or `tag-secret`.
    pub fn name(&self) -> String {
        match self {
            CheckedKey::Ring(id) => format!("key-ring/{id}"),
            CheckedKey::TagSecret => "tag-secret".to_owned(),
        }
    }

    /// The key a stored [`name`](Self::name) names; `None` for any other text.
    pub fn from_name(name: &str) -> Option<Self> {
        if name == "tag-secret" {
            return Some(CheckedKey::TagSecret);
        }
        let id = name.strip_prefix("key-ring/")?;
        // Digits only: no sign, no spaces, no leading zeros but "0" itself, so a name has one form.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || (id.len() > 1 && id.starts_with('0')) {
            return None;
        }
        id.parse().ok().map(|id| CheckedKey::Ring(KeyId(id)))
    }
}

impl fmt::Display for CheckedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckedKey::Ring(id) => write!(f, "key {id} of the key ring"),
            CheckedKey::TagSecret => f.write_str("tag secret"),
        }
    }
}

/// The check value of one key, recorded in the [`Store`](crate::Store) by
/// [`Mfa::check_keys`](crate::Mfa::check_keys) so a wrong key is found at start-up, before it seals or
/// tags anything.
///
/// The value is an HMAC-SHA-256 of a fixed label (`mfa-kit/key-check/v1`, the kind of key and, for a
/// key of the ring, its id) under a subkey that HKDF-SHA-256 derives from the key for this use alone:
/// it tells whether a key is the one recorded, and nothing about the key itself. A store keeps it as a
/// name ([`CheckedKey::name`]) and 32 bytes.
///
/// ```
/// use mfa::{CheckedKey, KeyId};
/// use mfa::store::{KeyCheck, Tag};
///
/// // As a store reads it back.
/// let check = KeyCheck { key: CheckedKey::Ring(KeyId(1)), value: Tag::from_bytes([7; 32]) };
/// assert_eq!(check.key.name(), "key-ring/1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCheck {
    /// Which key.
    pub key: CheckedKey,
    /// Its check value.
    pub value: Tag,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// Sealed by the first format's code (commit a57974e, `KeyRing::seal` with XChaCha20-Poly1305)
    /// for `fixture_inputs()`: 24-byte nonce ‖ ciphertext ‖ 16-byte tag, no format byte.
    const LEGACY_SEALED: &str = concat!(
        "a59e1d8b33ef45bf80dc339e2058395b11cd6793e44f819a", // nonce
        "8ee89e0a69f7c152aef25ffeb1ec3fed71f3a2c2",         // ciphertext
        "a6595bd2d09c675dc1b437647bc4e47f",                 // tag
    );

    /// Key ring, user, method and plaintext of the fixtures.
    fn fixture_inputs() -> (KeyRing, UserId, MethodId, Vec<u8>) {
        (
            KeyRing::new(KeyId(7), &[0x42; 32]).unwrap(),
            UserId::new("alice@example.com").unwrap(),
            MethodId::from_bytes(*b"0123456789abcdef"),
            (1..=20).collect(),
        )
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `fixture_inputs()` sealed in the current format with the nonce `b"fixed nonce!"`: format byte ‖
    /// nonce ‖ ciphertext ‖ tag. Checked independently with pyca/cryptography 48 (OpenSSL): HKDF-SHA-256
    /// of the key (salt `mfa-kit/key-ring/v1`, info `aes-256-gcm-siv`), then `AESGCMSIV.encrypt`.
    const CURRENT_SEALED: &str = concat!(
        "01",                                       // format byte
        "6669786564206e6f6e636521",                 // nonce
        "3fd56a5290ba94512300a19367029ff4b9709951", // ciphertext
        "1e63744ff819a9d361c46bfe3badca23",         // tag
    );

    fn seal_legacy(
        ring: &KeyRing,
        user: &UserId,
        method: MethodId,
        plain: &[u8],
        nonce: [u8; 24],
    ) -> Vec<u8> {
        let ciphers = ring.key(ring.current).unwrap();
        let aad = associated_data(None, user, method, ring.current);
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(plain);
        let tag = ciphers
            .legacy
            .encrypt_inout_detached(&nonce.into(), &aad, bytes[LEGACY_NONCE_BYTES..].as_mut().into())
            .unwrap();
        bytes.extend_from_slice(&tag);
        bytes
    }

    #[test]
    fn a_secret_sealed_by_the_first_format_still_opens_and_is_not_current() {
        let (ring, user, method, plain) = fixture_inputs();
        let legacy = SealedSecret::from_parts(KeyId(7), unhex(LEGACY_SEALED));
        assert_eq!(
            legacy.as_bytes().len(),
            LEGACY_NONCE_BYTES + plain.len() + TAG_BYTES
        );
        assert_ne!(legacy.as_bytes()[0], FORMAT_AES256_GCM_SIV);
        assert_eq!(
            &ring.open(&user, method, &legacy).unwrap().plaintext[..],
            &plain[..]
        );
        assert!(!ring.open(&user, method, &legacy).unwrap().current);
        // Under a previous key of a rotated ring too.
        let rotated = KeyRing::new(KeyId(8), &[0x43; 32])
            .unwrap()
            .with_previous(KeyId(7), &[0x42; 32])
            .unwrap();
        assert_eq!(
            &rotated.open(&user, method, &legacy).unwrap().plaintext[..],
            &plain[..]
        );
        assert!(!rotated.open(&user, method, &legacy).unwrap().current);
        // Still bound to its user and method.
        let bob = UserId::new("bob@example.com").unwrap();
        assert!(matches!(ring.open(&bob, method, &legacy), Err(Error::Decrypt)));
        let other = MethodId::from_bytes([0; 16]);
        assert!(matches!(ring.open(&user, other, &legacy), Err(Error::Decrypt)));
    }

    #[test]
    fn the_current_format_matches_its_known_answer() {
        let (ring, user, method, plain) = fixture_inputs();
        let expected: String = CURRENT_SEALED.split_whitespace().collect();
        let sealed = ring
            .seal_with_nonce(&user, method, &plain, *b"fixed nonce!")
            .unwrap();
        assert_eq!(hex(sealed.as_bytes()), expected);
        let stored = SealedSecret::from_parts(KeyId(7), unhex(&expected));
        assert_eq!(
            &ring.open(&user, method, &stored).unwrap().plaintext[..],
            &plain[..]
        );
        assert!(ring.open(&user, method, &stored).unwrap().current);
    }

    #[test]
    fn a_new_seal_starts_with_the_format_byte_and_a_random_nonce() {
        let (ring, user, method, plain) = fixture_inputs();
        let first = ring.seal(&user, method, &plain).unwrap();
        let second = ring.seal(&user, method, &plain).unwrap();
        for sealed in [&first, &second] {
            let bytes = sealed.as_bytes();
            assert_eq!(bytes[0], FORMAT_AES256_GCM_SIV);
            assert_eq!(bytes.len(), FORMAT_BYTES + NONCE_BYTES + plain.len() + TAG_BYTES);
            assert!(!bytes.windows(plain.len()).any(|w| w == &plain[..]));
            assert_eq!(sealed.key_id(), KeyId(7));
            assert!(ring.open(&user, method, sealed).unwrap().current);
            assert_eq!(
                &ring.open(&user, method, sealed).unwrap().plaintext[..],
                &plain[..]
            );
        }
        assert_ne!(first.as_bytes()[1..13], second.as_bytes()[1..13]);
        // Under an old key of the ring: opens, not current.
        let rotated = KeyRing::new(KeyId(8), &[0x43; 32])
            .unwrap()
            .with_previous(KeyId(7), &[0x42; 32])
            .unwrap();
        assert_eq!(
            &rotated.open(&user, method, &first).unwrap().plaintext[..],
            &plain[..]
        );
        assert!(!rotated.open(&user, method, &first).unwrap().current);
    }

    #[test]
    fn an_old_secret_whose_first_byte_is_the_format_byte_still_opens() {
        // 1 in 256 secrets of the first format start with the format byte by chance: the trial of the
        // current format fails its tag check, the first format opens it.
        let (ring, user, method, plain) = fixture_inputs();
        let mut nonce = [0x5a; 24];
        nonce[0] = FORMAT_AES256_GCM_SIV;
        let legacy = SealedSecret::from_parts(KeyId(7), seal_legacy(&ring, &user, method, &plain, nonce));
        assert_eq!(
            &ring.open(&user, method, &legacy).unwrap().plaintext[..],
            &plain[..]
        );
        // Opening tells it from a current one, though its first byte does not.
        assert!(!ring.open(&user, method, &legacy).unwrap().current);
        // And the helper agrees with the code that made the fixture.
        let fixture = unhex(LEGACY_SEALED);
        let again = seal_legacy(&ring, &user, method, &plain, fixture[..24].try_into().unwrap());
        assert_eq!(hex(&again), LEGACY_SEALED);
    }

    #[test]
    fn a_tampered_format_byte_is_a_typed_error() {
        let (ring, user, method, plain) = fixture_inputs();
        let sealed = ring.seal(&user, method, &plain).unwrap();
        for byte in 0..=u8::MAX {
            if byte == FORMAT_AES256_GCM_SIV {
                continue;
            }
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[0] = byte;
            let tampered = SealedSecret::from_parts(KeyId(7), bytes);
            assert!(
                matches!(ring.open(&user, method, &tampered), Err(Error::Decrypt)),
                "format byte {byte:#04x}"
            );
        }
        // An old secret given the format byte does not open either way.
        let mut bytes = unhex(LEGACY_SEALED);
        bytes[0] = FORMAT_AES256_GCM_SIV;
        let tampered = SealedSecret::from_parts(KeyId(7), bytes);
        assert!(matches!(ring.open(&user, method, &tampered), Err(Error::Decrypt)));
        // Every other byte of a new secret is covered by its tag.
        for index in 1..sealed.as_bytes().len() {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[index] ^= 0x01;
            let tampered = SealedSecret::from_parts(KeyId(7), bytes);
            assert!(
                matches!(ring.open(&user, method, &tampered), Err(Error::Decrypt)),
                "byte {index}"
            );
        }
        // An unknown key id is its own error.
        let unknown = SealedSecret::from_parts(KeyId(9), sealed.as_bytes().to_vec());
        assert!(matches!(
            ring.open(&user, method, &unknown),
            Err(Error::UnknownKey { id: KeyId(9) })
        ));
    }

    #[test]
    fn short_input_is_a_typed_error() {
        let (ring, user, method, _) = fixture_inputs();
        let tag_only = FORMAT_BYTES + NONCE_BYTES + TAG_BYTES;
        for len in [
            0,
            1,
            2,
            tag_only - 1,
            tag_only,
            LEGACY_NONCE_BYTES + TAG_BYTES - 1,
            LEGACY_NONCE_BYTES + TAG_BYTES,
        ] {
            for first in [FORMAT_AES256_GCM_SIV, 0x00] {
                let mut bytes = vec![0xa5; len];
                if let Some(b) = bytes.first_mut() {
                    *b = first;
                }
                let short = SealedSecret::from_parts(KeyId(7), bytes);
                assert!(
                    matches!(ring.open(&user, method, &short), Err(Error::Decrypt)),
                    "{len}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_open_and_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..96)) {
            let (ring, user, method, _) = fixture_inputs();
            let sealed = SealedSecret::from_parts(KeyId(7), bytes);
            proptest::prop_assert!(matches!(ring.open(&user, method, &sealed), Err(Error::Decrypt)));
        }
    }

    /// Check values computed independently with Python's `hmac` and `hashlib` (HKDF-SHA-256 as RFC 5869
    /// writes it, then HMAC-SHA-256 of the label).
    #[test]
    fn key_check_values_match_their_known_answers() {
        let (ring, ..) = fixture_inputs();
        assert_eq!(
            ring.key_checks(),
            vec![KeyCheck {
                key: CheckedKey::Ring(KeyId(7)),
                value: Tag(
                    unhex("1062eadccd796d1d5a4c84470f788fef9fbb2ad5be3a444d1e73a0d9cc79c0df")
                        .try_into()
                        .unwrap()
                ),
            }]
        );
        let tags = TagSecret::from_bytes(&[42; 32]).unwrap();
        assert_eq!(
            tags.key_check().value,
            Tag(
                unhex("25038efa2257f812287d7e2939d61173fb6cd35d8652e413bc449623cfbe33f5")
                    .try_into()
                    .unwrap()
            )
        );
        // The same key under another id, or as the tag secret, checks differently.
        let other_id = KeyRing::new(KeyId(8), &[0x42; 32]).unwrap().key_checks();
        assert_ne!(other_id[0].value, ring.key_checks()[0].value);
        let rotated = KeyRing::new(KeyId(8), &[0x43; 32])
            .unwrap()
            .with_previous(KeyId(7), &[0x42; 32])
            .unwrap();
        assert_eq!(rotated.key_checks()[1], ring.key_checks()[0]);
        assert_eq!(rotated.key_checks()[0].key, CheckedKey::Ring(KeyId(8)));
    }

    #[test]
    fn checked_key_names_have_one_form() {
        for name in [
            "key-ring/",
            "key-ring/+1",
            "key-ring/01",
            "key-ring/ 1",
            "key-ring/4294967296",
            "Tag-secret",
            "key-ring/1/",
        ] {
            assert_eq!(CheckedKey::from_name(name), None, "{name}");
        }
        for key in [
            CheckedKey::Ring(KeyId(0)),
            CheckedKey::Ring(KeyId(u32::MAX)),
            CheckedKey::TagSecret,
        ] {
            assert_eq!(CheckedKey::from_name(&key.name()), Some(key));
        }
    }

    #[test]
    fn debug_shows_nothing_secret() {
        let (ring, user, method, plain) = fixture_inputs();
        let sealed = ring.seal(&user, method, &plain).unwrap();
        assert_eq!(
            format!("{sealed:?}"),
            "SealedSecret { key_id: KeyId(7), len: 49 }"
        );
        let legacy = SealedSecret::from_parts(KeyId(7), unhex(LEGACY_SEALED));
        assert_eq!(
            format!("{legacy:?}"),
            "SealedSecret { key_id: KeyId(7), len: 60 }"
        );
        assert_eq!(
            format!("{ring:?}"),
            "KeyRing { current: KeyId(7), ids: [KeyId(7)] }"
        );
    }
}
