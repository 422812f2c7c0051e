use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The longest [`UserId`], in bytes.
pub const MAX_USER_ID_BYTES: usize = 255;

/// The host's identifier of a user: 1 to 255 bytes of printable text (no control characters).
///
/// `mfa` never interprets it; use your account's primary key or a stable subject id, not an e-mail
/// address that can change.
///
/// ```
/// use mfa::UserId;
///
/// let alice = UserId::new("user-42")?;
/// assert_eq!(alice.as_str(), "user-42");
/// assert!(UserId::new("").is_err());
/// assert!(UserId::new("bad\nid").is_err());
/// # Ok::<(), mfa::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    /// A checked user id.
    pub fn new(id: &str) -> Result<Self, Error> {
        if id.is_empty() || id.len() > MAX_USER_ID_BYTES {
            return Err(Error::InvalidUserId {
                reason: "must be 1 to 255 bytes",
            });
        }
        if id.chars().any(char::is_control) {
            return Err(Error::InvalidUserId {
                reason: "contains control characters",
            });
        }
        Ok(UserId(id.to_owned()))
    }

    /// The id as the host gave it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for UserId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        UserId::new(s)
    }
}

impl TryFrom<String> for UserId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        UserId::new(&s)
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> String {
        id.0
    }
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| Error::RandomUnavailable)?;
    Ok(bytes)
}

macro_rules! random_id {
    ($(#[$meta:meta])* $name:ident, $example:literal) => {
        $(#[$meta])*
        ///
        /// 128 random bits, written as 32 lowercase hexadecimal digits. Not a secret: it may appear in
        /// URLs, logs and events.
        ///
        /// ```
        #[doc = concat!("use mfa::", stringify!($name), ";")]
        ///
        #[doc = concat!("let id: ", stringify!($name), " = \"", $example, "\".parse()?;")]
        #[doc = concat!("assert_eq!(id.to_string(), \"", $example, "\");")]
        #[doc = concat!("assert!(\"xyz\".parse::<", stringify!($name), ">().is_err());")]
        /// # Ok::<(), mfa::Error>(())
        /// ```
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name([u8; 16]);

        impl $name {
            /// A new random id from the operating system's CSPRNG.
            pub fn generate() -> Result<Self, Error> {
                random_bytes().map($name)
            }

            /// The id of these 16 bytes (for stores that keep ids as binary).
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                $name(bytes)
            }

            /// The 16 bytes.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                parse_hex16(s).map($name).ok_or(Error::InvalidId)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

fn parse_hex16(s: &str) -> Option<[u8; 16]> {
    let digits = s.as_bytes();
    if digits.len() != 32 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut bytes = [0u8; 16];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(bytes)
}

random_id!(
    /// The id of a registered method (an authenticator app or a phone), also of its pending enrollment.
    MethodId,
    "00112233445566778899aabbccddeeff"
);

random_id!(
    /// The id of a remembered device.
    DeviceId,
    "ffeeddccbbaa99887766554433221100"
);
