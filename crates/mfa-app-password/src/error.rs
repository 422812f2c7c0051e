/// Everything that can go wrong in this crate.
///
/// A password that does not verify is not an error: verification returns `false` or `None`, one opaque
/// outcome that does not say which part was wrong. Errors are for configuration, stored data and input that
/// cannot be an app password at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A stored hash is not a well-formed argon2 PHC string.
    #[error("malformed argon2 PHC string: {reason}")]
    MalformedHash {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A stored hash asks for more memory, time or lanes than the configured [`Limits`](crate::Limits)
    /// allow; it is refused before any memory is allocated.
    #[error("argon2 {what} {value} in PHC string exceeds the limit {max}")]
    CostTooHigh {
        /// `"m"` (KiB), `"t"` (passes) or `"p"` (lanes).
        what: &'static str,
        /// The value found.
        value: u32,
        /// The configured maximum.
        max: u32,
    },
    /// Argon2 parameters that argon2 or the configured limits do not allow.
    #[error("invalid argon2 parameters: {reason}")]
    InvalidParams {
        /// What is wrong with them.
        reason: &'static str,
    },
    /// A generation format outside what the crate supports.
    #[error("invalid app password format: {reason}")]
    InvalidFormat {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A configuration value outside what the crate supports.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tag key or pepper of a length the crate does not accept.
    #[error("invalid {what}: {reason}")]
    InvalidKey {
        /// `"tag key"` or `"pepper"`.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An app password name that is empty, too long, holds a character that renders as nothing or as
    /// something else, or has no visible character (see [`AppPasswordName`](crate::AppPasswordName)).
    #[error("invalid app password name: {reason}")]
    InvalidName {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A scope that is not 1 to 32 characters of `a-z`, `0-9`, `.`, `_` and `-`.
    #[error("invalid scope: 1 to 32 characters of a-z, 0-9, '.', '_' and '-'")]
    InvalidScope,
    /// An app password id that is not 32 lowercase hexadecimal digits.
    #[error("invalid app password id: 32 lowercase hexadecimal digits expected")]
    InvalidId,
    /// Text to be hashed that is not an app password: after removing spaces and dashes it must be 1 to 256
    /// ASCII letters.
    #[error("not an app password: 1 to 256 letters, optionally grouped with spaces or dashes")]
    NotAnAppPassword,
    /// The user already holds the maximum number of app passwords.
    #[error("too many app passwords: at most {max} per user")]
    TooManyAppPasswords {
        /// The configured maximum.
        max: usize,
    },
    /// The random number generator failed (the operating system's, or one that yields only rejected bytes).
    #[error("the random number generator is unavailable or broken")]
    RandomUnavailable,
    /// Argon2 itself failed (for instance, memory could not be allocated).
    #[error("argon2 failed: {0}")]
    Hashing(String),
}
