use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::check::{b64, b64_fixed};

/// The longest id, in characters.
pub const MAX_ID_LEN: usize = 64;

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| Error::RandomUnavailable)?;
    Ok(bytes)
}

fn check_id(text: &str, what: &'static str) -> Result<(), Error> {
    if text.is_empty() || text.len() > MAX_ID_LEN {
        return Err(Error::Malformed {
            what,
            reason: "must be 1 to 64 characters",
        });
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::Malformed {
            what,
            reason: "may hold only A-Z, a-z, 0-9, '-' and '_'",
        });
    }
    Ok(())
}

macro_rules! id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        ///
        /// Chosen by the service: 1 to [`MAX_ID_LEN`] characters of `A-Z`, `a-z`, `0-9`, `-` and `_`,
        /// compared exactly (case matters), signed as its ASCII bytes. Not a secret.
        /// [`generate`](Self::generate) makes 128 random bits as 32 lowercase hexadecimal digits, the
        /// form of the `mfa` facade's ids.
        ///
        /// ```
        #[doc = concat!("use mfa_push::", stringify!($name), ";")]
        ///
        #[doc = concat!("let id = ", stringify!($name), "::new(\"00112233445566778899aabbccddeeff\")?;")]
        /// assert_eq!(id.as_str(), "00112233445566778899aabbccddeeff");
        #[doc = concat!("assert_eq!(", stringify!($name), "::generate()?.as_str().len(), 32);")]
        #[doc = concat!("assert!(", stringify!($name), "::new(\"a b\").is_err());")]
        /// # Ok::<(), mfa_push::Error>(())
        /// ```
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// A checked id.
            pub fn new(id: &str) -> Result<Self, Error> {
                check_id(id, $what)?;
                Ok($name(id.to_owned()))
            }

            /// A new random id: 16 bytes of the operating system's CSPRNG in lowercase hexadecimal.
            pub fn generate() -> Result<Self, Error> {
                let bytes: [u8; 16] = random_bytes()?;
                Ok($name(bytes.iter().map(|b| format!("{b:02x}")).collect()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                check_id(&s, $what)?;
                Ok($name(s))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

id!(
    /// The id of one enrollment offer (one QR code), usable once.
    EnrollmentId,
    "enrollment_id"
);

id!(
    /// The id the service gives an enrolled device (one key of one authenticator for one account).
    DeviceId,
    "device_id"
);

id!(
    /// The id of one sign-in challenge.
    ChallengeId,
    "challenge_id"
);

/// The nonce of a device request: 16 random bytes, written as 22 characters of base64url, never used
/// twice by a device (the service's replay cache refuses a repeat within the window).
///
/// ```
/// use mfa_push::Nonce;
///
/// let nonce = Nonce::from_bytes([0; 16]);
/// assert_eq!(nonce.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
/// assert_eq!("AAAAAAAAAAAAAAAAAAAAAA".parse::<Nonce>()?, nonce);
/// assert_ne!(Nonce::generate()?, Nonce::generate()?);
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nonce([u8; 16]);

impl Nonce {
    /// A new nonce from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        random_bytes().map(Nonce)
    }

    /// The nonce of these bytes (for test vectors and stores).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Nonce(bytes)
    }

    /// The 16 bytes, as signed.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&b64(&self.0))
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({self})")
    }
}

impl FromStr for Nonce {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        b64_fixed(s, "nonce").map(Nonce)
    }
}

impl TryFrom<String> for Nonce {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Nonce> for String {
    fn from(n: Nonce) -> String {
        n.to_string()
    }
}
