use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use serde::{Deserialize, Serialize};

use crate::{Argon2Params, Error, Limits};

/// The longest PHC string read, in bytes. Longest legitimate: ~200 (64-byte salt and hash, 32-byte data).
const MAX_PHC_LEN: usize = 512;
/// Salts shorter than this are refused (argon2's minimum, RFC 9106 section 3.1).
pub(crate) const MIN_SALT: usize = 8;
/// Salts longer than this are refused.
pub(crate) const MAX_SALT: usize = 64;
/// Hashes shorter than this are refused (argon2's minimum tag length, RFC 9106 section 3.1).
pub(crate) const MIN_HASH: usize = 4;
/// Hashes longer than this are refused.
pub(crate) const MAX_HASH: usize = 64;
/// Associated data (`data=`) longer than this is refused (the RustCrypto `argon2` limit).
const MAX_DATA: usize = 32;

/// The argon2 variant (RFC 9106 section 3.1, the `y` input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Variant {
    /// Data-dependent memory access.
    Argon2d,
    /// Data-independent memory access.
    Argon2i,
    /// Hybrid; the one RFC 9106 and OWASP recommend, and the one this crate hashes with.
    Argon2id,
}

impl Variant {
    /// The PHC identifier: `argon2d`, `argon2i` or `argon2id`.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Argon2d => "argon2d",
            Variant::Argon2i => "argon2i",
            Variant::Argon2id => "argon2id",
        }
    }

    pub(crate) fn to_argon2(self) -> argon2::Algorithm {
        match self {
            Variant::Argon2d => argon2::Algorithm::Argon2d,
            Variant::Argon2i => argon2::Algorithm::Argon2i,
            Variant::Argon2id => argon2::Algorithm::Argon2id,
        }
    }
}

/// A parsed argon2 PHC string, checked against [`Limits`] before anything is allocated for hashing.
///
/// Reads what the reference implementation (libargon2, and so argon2-cffi, PHP, …) and RustCrypto `argon2`
/// write: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, with any of the three variants, version 19 or 16
/// (`v=16`, or no `v=` at all as older libargon2 wrote), optional associated data (`,data=<b64>` after
/// `p`), a salt of 8 to 64 bytes and a hash of 4 to 64 bytes, both unpadded standard base64. `keyid` is
/// refused: this crate cannot know which key it names.
///
/// ```
/// use mfa_app_password::{Argon2Hash, Limits, Variant};
///
/// let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0";
/// let parsed = Argon2Hash::parse(phc, &Limits::default())?;
/// assert_eq!(parsed.variant(), Variant::Argon2id);
/// assert_eq!(parsed.params().m_kib, 19456);
/// assert_eq!(parsed.to_string(), phc);
///
/// // A hostile string asking for 4 TiB is refused before any allocation.
/// let hostile = "$argon2id$v=19$m=4294967295,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0";
/// assert!(Argon2Hash::parse(hostile, &Limits::default()).is_err());
/// # Ok::<(), mfa_app_password::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Argon2Hash {
    pub(crate) variant: Variant,
    pub(crate) version: u32,
    pub(crate) params: Argon2Params,
    pub(crate) data: Vec<u8>,
    pub(crate) salt: Vec<u8>,
    pub(crate) hash: Vec<u8>,
}

fn malformed(reason: &'static str) -> Error {
    Error::MalformedHash { reason }
}

/// A PHC decimal: 1 to 10 digits, no sign, no leading zero, fits in u32.
fn decimal(s: &str, what: &'static str) -> Result<u32, Error> {
    let ok = !s.is_empty()
        && s.len() <= 10
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if !ok {
        return Err(malformed(what));
    }
    s.parse::<u32>().map_err(|_| malformed(what))
}

fn b64(s: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    B64.decode(s).map_err(|_| malformed(what))
}

impl Argon2Hash {
    /// Parses `phc`, refusing anything malformed with [`Error::MalformedHash`] and costs above `limits` with
    /// [`Error::CostTooHigh`].
    pub fn parse(phc: &str, limits: &Limits) -> Result<Self, Error> {
        if phc.len() > MAX_PHC_LEN {
            return Err(malformed("longer than 512 bytes"));
        }
        let rest = phc
            .strip_prefix('$')
            .ok_or_else(|| malformed("does not start with '$'"))?;
        let fields: Vec<&str> = rest.split('$').collect();
        let (id, version, params, salt, hash) = match fields.as_slice() {
            [id, v, p, s, h] => (*id, Some(*v), *p, *s, *h),
            [id, p, s, h] => (*id, None, *p, *s, *h),
            _ => return Err(malformed("expected $id[$v=..]$params$salt$hash")),
        };
        let variant = match id {
            "argon2id" => Variant::Argon2id,
            "argon2i" => Variant::Argon2i,
            "argon2d" => Variant::Argon2d,
            _ => return Err(malformed("algorithm is not argon2d, argon2i or argon2id")),
        };
        let version = match version {
            None => 0x10,
            Some(v) => {
                let v = v
                    .strip_prefix("v=")
                    .ok_or_else(|| malformed("expected v=<version>"))?;
                match decimal(v, "version is not a decimal")? {
                    v @ (0x10 | 0x13) => v,
                    _ => return Err(malformed("version is neither 16 nor 19")),
                }
            }
        };

        let mut parts = params.split(',');
        let mut field = |name: &'static str, what: &'static str| -> Result<u32, Error> {
            let part = parts.next().ok_or_else(|| malformed("expected m=..,t=..,p=.."))?;
            let value = part
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix('='))
                .ok_or_else(|| malformed("expected m=..,t=..,p=.. in this order"))?;
            decimal(value, what)
        };
        let m_kib = field("m", "m is not a decimal")?;
        let t = field("t", "t is not a decimal")?;
        let p = field("p", "p is not a decimal")?;
        let mut data = Vec::new();
        for part in parts {
            if let Some(d) = part.strip_prefix("data=") {
                if !data.is_empty() {
                    return Err(malformed("data given twice"));
                }
                data = b64(d, "data is not unpadded base64")?;
                if data.is_empty() || data.len() > MAX_DATA {
                    return Err(malformed("data must be 1 to 32 bytes"));
                }
            } else if part.starts_with("keyid=") {
                return Err(malformed("keyid is not supported"));
            } else {
                return Err(malformed("unknown parameter"));
            }
        }
        let params = Argon2Params { m_kib, t, p };
        params
            .check_argon2()
            .map_err(|_| malformed("m, t, p outside what argon2 allows"))?;
        limits.check(&params)?;

        let salt = b64(salt, "salt is not unpadded base64")?;
        if !(MIN_SALT..=MAX_SALT).contains(&salt.len()) {
            return Err(malformed("salt must be 8 to 64 bytes"));
        }
        let hash = b64(hash, "hash is not unpadded base64")?;
        if !(MIN_HASH..=MAX_HASH).contains(&hash.len()) {
            return Err(malformed("hash must be 4 to 64 bytes"));
        }
        Ok(Argon2Hash {
            variant,
            version,
            params,
            data,
            salt,
            hash,
        })
    }

    /// The argon2 variant.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The argon2 version: 19 (0x13, current) or 16 (0x10).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Memory (KiB), passes and lanes.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// Salt length in bytes.
    pub fn salt_len(&self) -> usize {
        self.salt.len()
    }

    /// Hash (tag) length in bytes.
    pub fn hash_len(&self) -> usize {
        self.hash.len()
    }
}

/// The canonical PHC encoding (always with `v=`), which [`Argon2Hash::parse`] reads back unchanged.
impl fmt::Display for Argon2Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Argon2Params { m_kib, t, p } = self.params;
        write!(
            f,
            "${}$v={}$m={m_kib},t={t},p={p}",
            self.variant.as_str(),
            self.version
        )?;
        if !self.data.is_empty() {
            write!(f, ",data={}", B64.encode(&self.data))?;
        }
        write!(f, "${}${}", B64.encode(&self.salt), B64.encode(&self.hash))
    }
}

/// Shows the parameters, not the salt or hash.
impl fmt::Debug for Argon2Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2Hash")
            .field("variant", &self.variant)
            .field("version", &self.version)
            .field("params", &self.params)
            .field("salt_len", &self.salt.len())
            .field("hash_len", &self.hash.len())
            .finish_non_exhaustive()
    }
}
