use std::time::Duration;

use mfa::{Channel, DeliveryError};

/// Why a send failed, and what to do about it: [`is_transient`](Self::is_transient) errors may go
/// away (a retry later, another provider), permanent ones will not until something changes (the
/// number, the configuration, the account).
///
/// The text never holds a code, a credential or a full phone number: providers' own error messages
/// often repeat the number, so only their error codes and HTTP statuses are kept.
///
/// ```
/// use mfa_delivery::SendError;
/// use std::time::Duration;
///
/// let busy = SendError::RateLimited { provider: "twilio", retry_after: Some(Duration::from_secs(2)) };
/// assert!(busy.is_transient());
/// let refused = SendError::NumberRefused { provider: "twilio", detail: "Twilio error 21211 (HTTP 400)".into() };
/// assert!(!refused.is_transient());
/// assert_eq!(refused.to_string(), "twilio refused the number: Twilio error 21211 (HTTP 400)");
/// // What the facade gets.
/// assert_eq!(mfa::DeliveryError::from(refused), mfa::DeliveryError::NumberRefused);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// Permanent: the provider refused this number (invalid, unreachable, not a mobile for SMS, a
    /// destination the account may not reach, unsubscribed). Another provider will not do better.
    #[error("{provider} refused the number: {detail}")]
    NumberRefused {
        /// Which provider.
        provider: &'static str,
        /// The provider's error code and HTTP status.
        detail: String,
    },
    /// Permanent: the provider refused the request itself (rejected credentials, a sender it does
    /// not know, an account without credit, any other 4xx). Fix the configuration or the account.
    #[error("{provider} rejected the request (permanent, check the configuration): {detail}")]
    Rejected {
        /// Which provider.
        provider: &'static str,
        /// The HTTP status and the provider's error code.
        detail: String,
    },
    /// This provider is not configured for this channel (voice without a caller number, say); the
    /// next provider of a [`Failover`](crate::Failover) may be.
    #[error("{provider} is not configured for {channel:?}")]
    Unsupported {
        /// Which provider.
        provider: &'static str,
        /// The channel asked for.
        channel: Channel,
    },
    /// Transient: the provider's rate limit (HTTP 429, or its throttling status).
    #[error("{provider} rate-limited the request{}", retry_after_text(*.retry_after))]
    RateLimited {
        /// Which provider.
        provider: &'static str,
        /// When the provider said to try again.
        retry_after: Option<Duration>,
    },
    /// Transient: the provider could not be reached or failed (a timeout, a reset connection, a 5xx,
    /// an answer that is not what it documents).
    #[error("{provider} is unavailable: {detail}")]
    Unavailable {
        /// Which provider.
        provider: &'static str,
        /// What happened.
        detail: String,
    },
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(after) => format!(" (retry after {} ms)", after.as_millis()),
        None => String::new(),
    }
}

impl SendError {
    /// Whether the error may go away by itself: rate limits and unavailability. Retries and
    /// failover happen only on these.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SendError::RateLimited { .. } | SendError::Unavailable { .. }
        )
    }

    /// The provider that failed.
    pub fn provider(&self) -> &'static str {
        match self {
            SendError::NumberRefused { provider, .. }
            | SendError::Rejected { provider, .. }
            | SendError::Unsupported { provider, .. }
            | SendError::RateLimited { provider, .. }
            | SendError::Unavailable { provider, .. } => provider,
        }
    }

    /// Reads a facade [`DeliveryError`] from a delivery outside this crate: a refused number is
    /// permanent, the rest transient.
    pub fn from_delivery(provider: &'static str, error: DeliveryError) -> Self {
        match error {
            DeliveryError::NumberRefused => SendError::NumberRefused {
                provider,
                detail: "refused by the delivery".to_owned(),
            },
            DeliveryError::RateLimited { retry_after } => SendError::RateLimited {
                provider,
                retry_after,
            },
            DeliveryError::Unavailable { reason } => SendError::Unavailable {
                provider,
                detail: reason,
            },
            // `DeliveryError` is non-exhaustive: what comes later is taken as transient.
            other => SendError::Unavailable {
                provider,
                detail: other.to_string(),
            },
        }
    }
}

impl From<SendError> for DeliveryError {
    /// The facade knows three outcomes: a refused number, a rate limit, and "unavailable", which
    /// carries this error's text, so a permanent rejection says "permanent, check the configuration".
    fn from(error: SendError) -> Self {
        match error {
            SendError::NumberRefused { .. } => DeliveryError::NumberRefused,
            SendError::RateLimited { retry_after, .. } => DeliveryError::RateLimited { retry_after },
            other => DeliveryError::Unavailable {
                reason: other.to_string(),
            },
        }
    }
}

/// A configuration that cannot work, found at start-up. The text names the setting (its serde
/// field and its environment variable) and never repeats a secret's value.
///
/// ```
/// use mfa_delivery::DeliveryConfig;
///
/// let vars = [("MFA_DELIVERY_PROVIDER", "twilio")];
/// let error = DeliveryConfig::from_vars(|name| {
///     vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
/// })
/// .unwrap_err();
/// assert_eq!(error.to_string(), "twilio.account_sid (TWILIO_ACCOUNT_SID) is not set");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("{field} is not set")]
    Missing {
        /// The setting: serde field and environment variable.
        field: &'static str,
    },
    /// A setting has a value that cannot work.
    #[error("{field}: {reason}")]
    Invalid {
        /// The setting: serde field and environment variable.
        field: &'static str,
        /// What is wrong with it (never the value of a secret).
        reason: String,
    },
    /// The provider is not one this crate knows.
    #[error("unknown provider {name:?} (known: twilio, vonage, webhook)")]
    UnknownProvider {
        /// The name given.
        name: String,
    },
    /// The provider's feature was not compiled in.
    #[error("the {provider} provider needs mfa-delivery's `{provider}` feature")]
    FeatureDisabled {
        /// The provider, also the name of its feature.
        provider: &'static str,
    },
    /// Variables of several providers are set and `MFA_DELIVERY_PROVIDER` does not say which to use.
    #[error(
        "variables of several providers are set ({found}): set MFA_DELIVERY_PROVIDER to one of them, or to a comma-separated failover order"
    )]
    Ambiguous {
        /// The providers whose variables are set.
        found: String,
    },
    /// The HTTPS client could not be built.
    #[error("the HTTPS client could not be built: {reason}")]
    Client {
        /// Why.
        reason: String,
    },
}
