//! [`MfaWeb`]: what the extractors and sign-in steps need from the host's state.

use core::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use mfa::{Clock, Error, Mfa, PhoneDelivery, Store, UnixTime, UserId, UserRecord};

/// Settings of the web layer. Every field has a default ([`WebConfig::default`]): cookies for HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebConfig {
    /// The name of the remembered-device cookie (default `mfa_device`).
    pub device_cookie_name: String,
    /// Whether cookies carry `Secure` (default `true`). Turn it off only for plain HTTP on localhost
    /// during development ([`WebConfig::localhost_http`]): browsers refuse to store a `Secure` cookie
    /// sent over plain HTTP, except from localhost.
    pub secure_cookies: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            device_cookie_name: "mfa_device".to_owned(),
            secure_cookies: true,
        }
    }
}

impl WebConfig {
    /// For a development server on `http://127.0.0.1` or `http://localhost`: cookies without `Secure`.
    ///
    /// ```
    /// assert!(!mfa_axum::WebConfig::localhost_http().secure_cookies);
    /// assert!(mfa_axum::WebConfig::default().secure_cookies);
    /// ```
    pub fn localhost_http() -> Self {
        WebConfig {
            secure_cookies: false,
            ..WebConfig::default()
        }
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the extractors read from the facade: the user's record with its revocation instants.
trait UserRecords: Send + Sync {
    fn user_record<'a>(&'a self, user: &'a UserId) -> BoxFuture<'a, Result<UserRecord, Error>>;
}

impl<S: Store + 'static, P: PhoneDelivery + 'static> UserRecords for Mfa<S, P> {
    fn user_record<'a>(&'a self, user: &'a UserId) -> BoxFuture<'a, Result<UserRecord, Error>> {
        Box::pin(async move { Ok(self.store().get_user(user).await?.unwrap_or_default()) })
    }
}

/// The web layer's handle: the facade (for the users' revocation instants), the clock, the policy's
/// step-up freshness and the [`WebConfig`]. Cheap to clone; put it in your router's state and give
/// the extractors access to it with [`FromRef`](axum::extract::FromRef).
///
/// It is built from the same `Arc<Mfa<S, P>>` your handlers use, for any [`Store`] and
/// [`PhoneDelivery`]; the extractors themselves have no type parameters.
#[derive(Clone)]
pub struct MfaWeb {
    inner: Arc<Inner>,
}

struct Inner {
    records: Arc<dyn UserRecords>,
    config: WebConfig,
    clock: Arc<dyn Clock>,
    step_up_freshness: Duration,
}

impl fmt::Debug for MfaWeb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaWeb")
            .field("config", &self.inner.config)
            .field("clock", &self.inner.clock)
            .field("step_up_freshness", &self.inner.step_up_freshness)
            .finish_non_exhaustive()
    }
}

impl MfaWeb {
    /// The web layer over `mfa`, reading time from the facade's own clock ([`Mfa::clock`]), so the
    /// two never drift apart.
    pub fn new<S: Store + 'static, P: PhoneDelivery + 'static>(
        mfa: Arc<Mfa<S, P>>,
        config: WebConfig,
    ) -> Self {
        let step_up_freshness = mfa.policy().config().step_up_freshness;
        let clock = Arc::clone(mfa.clock());
        MfaWeb {
            inner: Arc::new(Inner {
                records: mfa,
                config,
                clock,
                step_up_freshness,
            }),
        }
    }

    /// The same layer reading time from `clock`.
    #[must_use]
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        let inner = &self.inner;
        MfaWeb {
            inner: Arc::new(Inner {
                records: Arc::clone(&inner.records),
                config: inner.config.clone(),
                clock,
                step_up_freshness: inner.step_up_freshness,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    /// The current instant by this layer's clock.
    pub fn now(&self) -> UnixTime {
        self.inner.clock.now()
    }

    /// How recent an MFA proof must be for [`StepUp`](crate::StepUp): the policy's step-up freshness.
    pub fn step_up_freshness(&self) -> Duration {
        self.inner.step_up_freshness
    }

    pub(crate) async fn user_record(&self, user: &UserId) -> Result<UserRecord, Error> {
        self.inner.records.user_record(user).await
    }
}
