use core::fmt;

/// Everything that can go wrong in this crate.
///
/// A code that does not verify is not an error: verification returns `None`, one opaque outcome that
/// does not say which part was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A character outside the base32 alphabet (RFC 4648 section 6) at this byte offset of the input.
    InvalidBase32Character {
        /// Byte offset in the input.
        position: usize,
    },
    /// The base32 text ends in a group of 1, 3 or 6 characters, which no byte string encodes to.
    InvalidBase32Length,
    /// The secret is empty.
    EmptySecret,
    /// The secret is shorter than the rule it was read or made under allows.
    SecretTooShort {
        /// Bits the secret has.
        bits: usize,
        /// Bits the rule requires.
        required: usize,
    },
    /// The secret is longer than [`MAX_SECRET_BYTES`](crate::MAX_SECRET_BYTES).
    SecretTooLong {
        /// Bytes the secret has (or at least has, when decoding stopped early).
        bytes: usize,
    },
    /// An output buffer is too small for the encoding.
    BufferTooSmall {
        /// Bytes the encoding needs.
        needed: usize,
    },
    /// A code contains something other than digits, spaces and dashes, at this byte offset.
    InvalidCodeCharacter {
        /// Byte offset in the input.
        position: usize,
    },
    /// A code has a number of digits outside 6 to 10.
    InvalidCodeLength {
        /// Digits found (counting stops a little past the maximum).
        digits: usize,
    },
    /// A digit count outside 6 to 10 was configured.
    UnsupportedDigits {
        /// The configured count.
        digits: u8,
    },
    /// A TOTP period of zero seconds was configured.
    ZeroPeriod,
    /// A time before the TOTP epoch T0 was given.
    TimeBeforeT0,
    /// An algorithm name that is not SHA1, SHA256 or SHA512.
    UnknownAlgorithm,
    /// The operating system's random number generator failed.
    RandomUnavailable,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::InvalidBase32Character { position } => {
                write!(
                    f,
                    "invalid base32 character at position {position}: expected A-Z or 2-7"
                )
            }
            Error::InvalidBase32Length => {
                f.write_str("invalid base32 length: the last group is incomplete (1, 3 or 6 characters)")
            }
            Error::EmptySecret => f.write_str("the secret is empty"),
            Error::SecretTooShort { bits, required } => {
                write!(f, "the secret has {bits} bits; at least {required} are required")
            }
            Error::SecretTooLong { bytes } => write!(
                f,
                "the secret has {bytes} bytes or more; at most {} are supported",
                crate::MAX_SECRET_BYTES
            ),
            Error::BufferTooSmall { needed } => write!(f, "the output buffer needs {needed} bytes"),
            Error::InvalidCodeCharacter { position } => write!(
                f,
                "invalid character in the code at position {position}: only digits, spaces and dashes are allowed"
            ),
            Error::InvalidCodeLength { digits } => {
                write!(f, "the code has {digits} digits; codes have 6 to 10")
            }
            Error::UnsupportedDigits { digits } => {
                write!(f, "{digits} digits is not supported; use 6 to 10")
            }
            Error::ZeroPeriod => f.write_str("the TOTP period must be at least one second"),
            Error::TimeBeforeT0 => f.write_str("the time is before the TOTP epoch T0"),
            Error::UnknownAlgorithm => f.write_str("unknown algorithm: expected SHA1, SHA256 or SHA512"),
            Error::RandomUnavailable => f.write_str("the system random number generator is unavailable"),
        }
    }
}

impl core::error::Error for Error {}
