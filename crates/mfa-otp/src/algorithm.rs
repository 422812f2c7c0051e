use core::fmt;
use core::str::FromStr;

use crate::Error;

/// The HMAC hash function of a credential (RFC 6238 section 1.2; RFC 4226 uses SHA-1 only).
///
/// SHA-1 is what nearly every authenticator app expects; HMAC-SHA-1 is not weakened by SHA-1 collisions
/// (RFC 4226 Appendix B.2). Some apps silently use SHA-1 when asked for another algorithm, so only choose
/// SHA-256 or SHA-512 when you know the user's app supports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "UPPERCASE"))]
pub enum Algorithm {
    /// HMAC-SHA-1, the default.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in otpauth URIs: `SHA1`, `SHA256` or `SHA512`.
    ///
    /// ```
    /// assert_eq!(mfa_otp::Algorithm::Sha256.name(), "SHA256");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
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

    /// Reads `SHA1`, `SHA256`, `SHA512` in any letter case, with or without a dash (`sha-256`).
    ///
    /// ```
    /// use mfa_otp::Algorithm;
    /// assert_eq!("sha-256".parse::<Algorithm>(), Ok(Algorithm::Sha256));
    /// assert!("md5".parse::<Algorithm>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let mut buf = [0u8; 6];
        let mut n = 0;
        for b in s.bytes().filter(|&b| b != b'-') {
            if n == buf.len() {
                return Err(Error::UnknownAlgorithm);
            }
            buf[n] = b.to_ascii_uppercase();
            n += 1;
        }
        match &buf[..n] {
            b"SHA1" => Ok(Algorithm::Sha1),
            b"SHA256" => Ok(Algorithm::Sha256),
            b"SHA512" => Ok(Algorithm::Sha512),
            _ => Err(Error::UnknownAlgorithm),
        }
    }
}
