use core::fmt;

use rand_core::CryptoRng;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Error, base32};

/// The longest secret accepted, in bytes (1024 bits, the SHA-512 block size).
pub const MAX_SECRET_BYTES: usize = 128;
/// Length of a generated secret unless asked otherwise: 160 bits, as RFC 4226 section 4 (R6) recommends.
pub const DEFAULT_SECRET_BYTES: usize = 20;

/// Which secret lengths are acceptable when a secret is read or made.
///
/// | rule | minimum | source |
/// |---|---|---|
/// | [`Standard`](SecretRule::Standard) | 128 bits | RFC 4226 section 4, requirement R6 |
/// | [`AllowLegacy80`](SecretRule::AllowLegacy80) | 80 bits | what many services issued; use only to keep existing credentials working |
/// | [`AllowAnyLength`](SecretRule::AllowAnyLength) | 8 bits | operator and test tools (like `oathtool`); never for credentials you issue |
///
/// Empty secrets are refused under every rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SecretRule {
    /// At least 128 bits.
    #[default]
    Standard,
    /// At least 80 bits: an explicit opt-in for secrets that existing services issued.
    AllowLegacy80,
    /// Any non-empty secret: for operator tools and interoperability tests only.
    AllowAnyLength,
}

impl SecretRule {
    /// The fewest bits this rule accepts.
    pub const fn min_bits(self) -> usize {
        match self {
            SecretRule::Standard => 128,
            SecretRule::AllowLegacy80 => 80,
            SecretRule::AllowAnyLength => 8,
        }
    }
}

/// A shared HOTP/TOTP secret (the key K of RFC 4226).
///
/// Zeroizes on drop; `Debug` shows only its length; equality is constant time. It holds its bytes inline,
/// so it needs no allocator.
///
/// ```
/// use mfa_otp::{Secret, SecretRule};
///
/// // As people type it: lowercase, grouped, with or without padding.
/// let typed = Secret::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq")?;
/// assert_eq!(typed.to_base32().as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
/// assert_eq!(format!("{typed:?}"), "Secret { bits: 160, .. }");
///
/// // 80-bit secrets from older services need an explicit opt-in.
/// assert!(Secret::from_base32("JBSWY3DPEHPK3PXP").is_err());
/// let legacy = Secret::from_base32_with("JBSWY3DPEHPK3PXP", SecretRule::AllowLegacy80)?;
/// assert_eq!(legacy.bits(), 80);
/// # Ok::<(), mfa_otp::Error>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret {
    bytes: [u8; MAX_SECRET_BYTES],
    len: usize,
}

impl Secret {
    fn checked(bytes: [u8; MAX_SECRET_BYTES], len: usize, rule: SecretRule) -> Result<Self, Error> {
        let secret = Secret { bytes, len };
        if len == 0 {
            return Err(Error::EmptySecret);
        }
        if len * 8 < rule.min_bits() {
            return Err(Error::SecretTooShort {
                bits: len * 8,
                required: rule.min_bits(),
            });
        }
        Ok(secret)
    }

    /// A secret from raw bytes, at least 128 bits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::from_bytes_with(bytes, SecretRule::Standard)
    }

    /// A secret from raw bytes under an explicit length rule.
    pub fn from_bytes_with(bytes: &[u8], rule: SecretRule) -> Result<Self, Error> {
        if bytes.len() > MAX_SECRET_BYTES {
            return Err(Error::SecretTooLong { bytes: bytes.len() });
        }
        let mut buf = [0u8; MAX_SECRET_BYTES];
        buf[..bytes.len()].copy_from_slice(bytes);
        Self::checked(buf, bytes.len(), rule)
    }

    /// A secret from base32 as people type it (either case, optional `=` padding, spaces or dashes between
    /// groups), at least 128 bits.
    pub fn from_base32(text: &str) -> Result<Self, Error> {
        Self::from_base32_with(text, SecretRule::Standard)
    }

    /// A secret from base32 under an explicit length rule.
    pub fn from_base32_with(text: &str, rule: SecretRule) -> Result<Self, Error> {
        let mut buf = [0u8; MAX_SECRET_BYTES];
        // On error `buf` may hold part of a secret: it is dropped through `Secret` or zeroized here.
        match base32::decode_into(text.as_bytes(), &mut buf) {
            Ok(len) => Self::checked(buf, len, rule),
            Err(e) => {
                buf.zeroize();
                Err(e)
            }
        }
    }

    /// A new secret of `len` bytes from `rng`; `len` must be 16 to [`MAX_SECRET_BYTES`].
    ///
    /// ```
    /// # struct Counter(u8);
    /// # impl rand_core::TryRng for Counter {
    /// #     type Error = core::convert::Infallible;
    /// #     fn try_next_u32(&mut self) -> Result<u32, Self::Error> { unimplemented!() }
    /// #     fn try_next_u64(&mut self) -> Result<u64, Self::Error> { unimplemented!() }
    /// #     fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
    /// #         dst.iter_mut().for_each(|b| { self.0 = self.0.wrapping_add(1); *b = self.0 }); Ok(())
    /// #     }
    /// # }
    /// # impl rand_core::TryCryptoRng for Counter {}
    /// # let mut rng = Counter(0); // your CSPRNG here
    /// let secret = mfa_otp::Secret::generate_with(&mut rng, 32)?;
    /// assert_eq!(secret.bits(), 256);
    /// # Ok::<(), mfa_otp::Error>(())
    /// ```
    pub fn generate_with<R: CryptoRng + ?Sized>(rng: &mut R, len: usize) -> Result<Self, Error> {
        if len > MAX_SECRET_BYTES {
            return Err(Error::SecretTooLong { bytes: len });
        }
        let mut buf = [0u8; MAX_SECRET_BYTES];
        rng.fill_bytes(&mut buf[..len]);
        Self::checked(buf, len, SecretRule::Standard)
    }

    /// A new 160-bit secret from the operating system's CSPRNG.
    #[cfg(feature = "std")]
    pub fn generate() -> Result<Self, Error> {
        Self::generate_len(DEFAULT_SECRET_BYTES)
    }

    /// A new secret of `len` bytes (16 to [`MAX_SECRET_BYTES`]) from the operating system's CSPRNG.
    #[cfg(feature = "std")]
    pub fn generate_len(len: usize) -> Result<Self, Error> {
        if len > MAX_SECRET_BYTES {
            return Err(Error::SecretTooLong { bytes: len });
        }
        let mut buf = [0u8; MAX_SECRET_BYTES];
        getrandom::fill(&mut buf[..len]).map_err(|_| Error::RandomUnavailable)?;
        Self::checked(buf, len, SecretRule::Standard)
    }

    /// The raw key bytes. Handle with care: this is the credential.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Length in bits.
    pub fn bits(&self) -> usize {
        self.len * 8
    }

    /// Length of the canonical base32 encoding, in characters.
    pub fn base32_len(&self) -> usize {
        base32::encoded_len(self.len)
    }

    /// Writes the canonical base32 encoding (uppercase, unpadded) into `out` without allocating.
    /// `out` needs [`base32_len`](Self::base32_len) bytes; zeroize it when done.
    pub fn encode_base32_into<'a>(&self, out: &'a mut [u8]) -> Result<&'a str, Error> {
        base32::encode_into(self.expose_bytes(), out)
    }

    /// The canonical base32 encoding (uppercase, unpadded), zeroized when dropped.
    #[cfg(feature = "std")]
    pub fn to_base32(&self) -> zeroize::Zeroizing<std::string::String> {
        let mut buf = zeroize::Zeroizing::new(std::vec![0u8; self.base32_len()]);
        let mut out = zeroize::Zeroizing::new(std::string::String::with_capacity(buf.len()));
        if let Ok(s) = self.encode_base32_into(&mut buf) {
            out.push_str(s);
        }
        out
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret {{ bits: {}, .. }}", self.bits())
    }
}

impl ConstantTimeEq for Secret {
    fn ct_eq(&self, other: &Self) -> Choice {
        // Lengths are not secret; contents are compared in constant time.
        self.len.ct_eq(&other.len) & self.bytes.ct_eq(&other.bytes)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Secret {}
