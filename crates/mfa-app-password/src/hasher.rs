use core::fmt;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::phc::{Argon2Hash, Variant};
use crate::{Error, normalize};

/// Salt length of new hashes: 16 bytes, RFC 9106 section 3.1's recommendation.
pub const SALT_LEN: usize = 16;
/// Hash (tag) length of new hashes: 32 bytes, RFC 9106 section 4's recommendation.
pub const HASH_LEN: usize = 32;

/// Argon2 cost parameters: memory in KiB, passes and lanes.
///
/// The default is OWASP's floor for argon2id (Password Storage Cheat Sheet): m = 19456 KiB (19 MiB),
/// t = 2, p = 1. Each verification or hash allocates `m_kib` KiB for its duration, so a service that
/// allows `n` concurrent verifications needs `n × m_kib` KiB for them (about 19 MiB each by default).
///
/// ```
/// use mfa_app_password::Argon2Params;
///
/// let owasp = Argon2Params::default();
/// assert_eq!((owasp.m_kib, owasp.t, owasp.p), (19456, 2, 1));
/// assert!(owasp.meets_owasp_floor());
/// // RFC 9106's second recommended option also meets it.
/// assert!(Argon2Params { m_kib: 65536, t: 3, p: 4 }.meets_owasp_floor());
/// assert!(!Argon2Params { m_kib: 4096, t: 2, p: 1 }.meets_owasp_floor());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory in KiB (1 KiB blocks); at least 8 × `p`.
    pub m_kib: u32,
    /// Passes over memory; at least 1.
    pub t: u32,
    /// Lanes; at least 1. (Hashing runs the lanes one after another: this crate does not spawn threads.)
    pub p: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Argon2Params {
            m_kib: 19_456,
            t: 2,
            p: 1,
        }
    }
}

impl Argon2Params {
    /// Whether these parameters are at least one of OWASP's equivalent argon2id configurations:
    /// (m, t) ≥ (47104, 1), (19456, 2), (12288, 3), (9216, 4) or (7168, 5), p ≥ 1.
    pub fn meets_owasp_floor(&self) -> bool {
        const FLOOR: [(u32, u32); 5] = [(47_104, 1), (19_456, 2), (12_288, 3), (9_216, 4), (7_168, 5)];
        FLOOR.iter().any(|&(m, t)| self.m_kib >= m && self.t >= t)
    }

    pub(crate) fn check_argon2(&self) -> Result<(), Error> {
        if self.t < 1 || self.p < 1 || self.p > 0x00FF_FFFF {
            return Err(Error::InvalidParams {
                reason: "t and p must be at least 1, p below 2^24",
            });
        }
        if u64::from(self.m_kib) < 8 * u64::from(self.p) {
            return Err(Error::InvalidParams {
                reason: "m must be at least 8 KiB per lane",
            });
        }
        Ok(())
    }

    fn to_argon2(self, data: &[u8], out_len: usize) -> Result<argon2::Params, Error> {
        let mut builder = argon2::ParamsBuilder::new();
        builder
            .m_cost(self.m_kib)
            .t_cost(self.t)
            .p_cost(self.p)
            .output_len(out_len);
        if !data.is_empty() {
            let data = argon2::AssociatedData::new(data).map_err(|e| Error::Hashing(e.to_string()))?;
            builder.data(data);
        }
        builder.build().map_err(|e| Error::Hashing(e.to_string()))
    }
}

/// The most a stored PHC string may ask for. Verification refuses anything above with
/// [`Error::CostTooHigh`] before allocating, so a corrupted or hostile stored hash cannot exhaust memory or
/// time.
///
/// Defaults: m ≤ 262144 KiB (256 MiB), t ≤ 16, p ≤ 16. They admit OWASP's and RFC 9106's second
/// recommended configuration (64 MiB, t = 3, p = 4), not its first (2 GiB); raise them if you import such
/// hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Limits {
    /// Most memory in KiB.
    pub max_m_kib: u32,
    /// Most passes.
    pub max_t: u32,
    /// Most lanes.
    pub max_p: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_m_kib: 262_144,
            max_t: 16,
            max_p: 16,
        }
    }
}

impl Limits {
    pub(crate) fn check(&self, params: &Argon2Params) -> Result<(), Error> {
        let over = |what, value: u32, max: u32| {
            if value > max {
                Err(Error::CostTooHigh { what, value, max })
            } else {
                Ok(())
            }
        };
        over("m", params.m_kib, self.max_m_kib)?;
        over("t", params.t, self.max_t)?;
        over("p", params.p, self.max_p)
    }
}

/// A server-side secret mixed into every hash as argon2's secret input K (RFC 9106 section 3.1): a
/// stolen database without the pepper cannot be attacked offline at all.
///
/// 16 to 64 bytes; keep it outside the database (configuration, KMS). Zeroizes on drop; `Debug` redacts it.
/// Hashes made with a pepper verify only with it, and hashes made elsewhere without one verify only
/// without it.
///
/// ```
/// use mfa_app_password::Pepper;
///
/// let pepper = Pepper::from_bytes(&[7u8; 32])?;
/// assert_eq!(format!("{pepper:?}"), "Pepper(..)");
/// assert!(Pepper::from_bytes(&[7u8; 8]).is_err());
/// # Ok::<(), mfa_app_password::Error>(())
/// ```
#[derive(Clone)]
pub struct Pepper(Zeroizing<Vec<u8>>);

impl Pepper {
    /// A pepper of 16 to 64 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if !(16..=64).contains(&bytes.len()) {
            return Err(Error::InvalidKey {
                what: "pepper",
                reason: "must be 16 to 64 bytes",
            });
        }
        Ok(Pepper(Zeroizing::new(bytes.to_vec())))
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(..)")
    }
}

/// Hashes and verifies single app passwords as argon2 PHC strings.
///
/// New hashes are argon2id, version 19, with the configured [`Argon2Params`], a 16-byte random salt and a
/// 32-byte hash. Verification reads any argon2 PHC string within [`Limits`] (see [`Argon2Hash`]), so hashes
/// move between implementations. Passwords are [`normalize`]d first: separators and case do not matter.
///
/// ```
/// use mfa_app_password::{Argon2Params, Hasher, Limits};
///
/// // Small parameters to keep the example quick; `Hasher::default()` is OWASP's m=19456 KiB, t=2, p=1.
/// let hasher = Hasher::new(Argon2Params { m_kib: 256, t: 1, p: 1 }, Limits::default())?;
/// let phc = hasher.hash("abcd efgh ijkl mnop")?;
/// assert!(hasher.verify("ABCD-EFGH-IJKL-MNOP", &phc)?);
/// assert!(hasher.verify("abcdefghijklmnop", &phc)?);
/// assert!(!hasher.verify("abcd efgh ijkl mnoq", &phc)?);
/// assert!(hasher.verify("abcd efgh ijkl mnop", "$argon2id$v=19$m=19456,t=2").is_err());
///
/// // Raise the parameters later: stored hashes below them report that they need a rehash.
/// let stronger = Hasher::new(Argon2Params { m_kib: 512, t: 1, p: 1 }, Limits::default())?;
/// assert!(stronger.needs_rehash(&phc)?);
/// # Ok::<(), mfa_app_password::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Hasher {
    params: Argon2Params,
    limits: Limits,
    pepper: Option<Pepper>,
}

impl Hasher {
    /// A hasher with these parameters, which must be valid for argon2 and within `limits` (so that its own
    /// hashes verify).
    pub fn new(params: Argon2Params, limits: Limits) -> Result<Self, Error> {
        params.check_argon2()?;
        limits.check(&params).map_err(|_| Error::InvalidParams {
            reason: "above the configured limits",
        })?;
        Ok(Hasher {
            params,
            limits,
            pepper: None,
        })
    }

    /// The same hasher with a server-side pepper.
    #[must_use]
    pub fn with_pepper(mut self, pepper: Pepper) -> Self {
        self.pepper = Some(pepper);
        self
    }

    /// Parameters for new hashes.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// Limits on stored hashes.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// KiB allocated while one new hash is computed. A verification allocates the `m` of the stored
    /// string instead, at most [`Limits::max_m_kib`].
    pub fn memory_per_hash_kib(&self) -> u32 {
        self.params.m_kib
    }

    /// A new PHC string for `typed` (normalized first), with a random salt.
    /// [`Error::NotAnAppPassword`] if `typed` is not letters grouped by spaces or dashes.
    pub fn hash(&self, typed: &str) -> Result<String, Error> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|_| Error::RandomUnavailable)?;
        self.hash_with_salt(typed, &salt)
    }

    /// A PHC string for `typed` with the given salt (8 to 64 bytes): for tests and known answers. Use
    /// [`hash`](Self::hash) for real passwords: a salt must be unique.
    pub fn hash_with_salt(&self, typed: &str, salt: &[u8]) -> Result<String, Error> {
        let password = normalize(typed).ok_or(Error::NotAnAppPassword)?;
        Ok(self.hash_normalized(&password, salt)?.to_string())
    }

    pub(crate) fn hash_normalized(&self, password: &str, salt: &[u8]) -> Result<Argon2Hash, Error> {
        if !(crate::phc::MIN_SALT..=crate::phc::MAX_SALT).contains(&salt.len()) {
            return Err(Error::InvalidParams {
                reason: "salt must be 8 to 64 bytes",
            });
        }
        let mut hash = Argon2Hash {
            variant: Variant::Argon2id,
            version: 0x13,
            params: self.params,
            data: Vec::new(),
            salt: salt.to_vec(),
            hash: vec![0u8; HASH_LEN],
        };
        let mut out = Zeroizing::new([0u8; HASH_LEN]);
        self.compute(&hash, password.as_bytes(), &mut out[..])?;
        hash.hash.copy_from_slice(&out[..]);
        Ok(hash)
    }

    /// Whether `typed` is the password `phc` was made from. Input that cannot be an app password (see
    /// [`normalize`]) is `false` without hashing. Errors only for a malformed PHC string or one above the
    /// [`Limits`].
    pub fn verify(&self, typed: &str, phc: &str) -> Result<bool, Error> {
        let stored = Argon2Hash::parse(phc, &self.limits)?;
        match normalize(typed) {
            Some(password) => self.verify_parsed(&password, &stored),
            None => Ok(false),
        }
    }

    pub(crate) fn verify_parsed(&self, password: &str, stored: &Argon2Hash) -> Result<bool, Error> {
        let mut out = Zeroizing::new(vec![0u8; stored.hash.len()]);
        self.compute(stored, password.as_bytes(), &mut out)?;
        Ok(bool::from(out.ct_eq(&stored.hash)))
    }

    /// Runs argon2 for `like`'s variant, version, parameters, data and salt over `password`.
    fn compute(&self, like: &Argon2Hash, password: &[u8], out: &mut [u8]) -> Result<(), Error> {
        let params = like.params.to_argon2(&like.data, out.len())?;
        let version = if like.version == 0x10 {
            argon2::Version::V0x10
        } else {
            argon2::Version::V0x13
        };
        let algorithm = like.variant.to_argon2();
        let context = match &self.pepper {
            Some(pepper) => argon2::Argon2::new_with_secret(&pepper.0, algorithm, version, params)
                .map_err(|e| Error::Hashing(e.to_string()))?,
            None => argon2::Argon2::new(algorithm, version, params),
        };
        context
            .hash_password_into(password, &like.salt, out)
            .map_err(|e| Error::Hashing(e.to_string()))
    }

    /// Whether a stored hash is weaker than what this hasher makes: another variant than argon2id, version
    /// 16, m, t or p below the configured ones, a salt shorter than 16 bytes or a hash shorter than 32.
    /// Rehash at the next successful verification, when the password is at hand.
    pub fn needs_rehash(&self, phc: &str) -> Result<bool, Error> {
        let stored = Argon2Hash::parse(phc, &self.limits)?;
        Ok(self.parsed_needs_rehash(&stored))
    }

    pub(crate) fn parsed_needs_rehash(&self, stored: &Argon2Hash) -> bool {
        let p = stored.params;
        stored.variant != Variant::Argon2id
            || stored.version != 0x13
            || p.m_kib < self.params.m_kib
            || p.t < self.params.t
            || p.p < self.params.p
            || stored.salt.len() < SALT_LEN
            || stored.hash.len() < HASH_LEN
    }
}
