use core::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// A credential from the configuration (an auth token, an API secret, a private key, a webhook
/// secret): zeroized on drop, shown as `<redacted>` by `Debug`, and not serialisable.
///
/// ```
/// use mfa_delivery::Secret;
///
/// let token = Secret::new("0123456789abcdef0123456789abcdef");
/// assert_eq!(format!("{token:?}"), "Secret(<redacted>)");
/// let from_json: Secret = serde_json::from_str("\"s3cr3t\"")?;
/// assert!(!format!("{from_json:?}").contains("s3cr3t"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone)]
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The value, for the request that needs it.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Zeroizing::new(String::deserialize(deserializer)?);
        Ok(Secret(value))
    }
}
