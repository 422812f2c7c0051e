use core::fmt;
use core::future::Future;
use core::pin::Pin;
use std::sync::Arc;

use mfa::{Channel, DeliveryError, MessageId, PhoneDelivery, PhoneMessage, PhoneNumber};

use crate::SendError;

/// A delivery with typed errors: every provider and combinator of this crate is one, and each is
/// also a [`PhoneDelivery`] for [`mfa::Mfa`] (its [`SendError`] becomes a [`DeliveryError`]).
///
/// The combinators ([`Failover`](crate::Failover), [`Timeout`](crate::Timeout),
/// [`Traced`](crate::Traced)) wrap providers, so that a transient error can be told from a permanent
/// one all the way up; a delivery from outside this crate joins them through [`Adapt`].
///
/// ```
/// use mfa::{Channel, MessageId, PhoneMessage, PhoneNumber};
/// use mfa_delivery::{Provider, SendError};
///
/// struct Carrier; // an HTTP client and credentials in real life
///
/// impl Provider for Carrier {
///     fn name(&self) -> &'static str {
///         "carrier"
///     }
///
///     async fn deliver(
///         &self,
///         _to: &PhoneNumber,
///         _channel: Channel,
///         _message: &PhoneMessage,
///     ) -> Result<MessageId, SendError> {
///         Err(SendError::Unavailable { provider: self.name(), detail: "HTTP 503".into() })
///     }
/// }
/// ```
pub trait Provider: Send + Sync {
    /// A short name for logs and errors: `twilio`, `vonage`, `webhook`, ...
    fn name(&self) -> &'static str;

    /// Sends `message` to `to` over `channel`; the provider's id of the message, or why not.
    fn deliver(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> impl Future<Output = Result<MessageId, SendError>> + Send;
}

/// Implements `PhoneDelivery` for a `Provider` of this crate.
macro_rules! phone_delivery {
    ($type:ty $(, $param:ident)*) => {
        impl<$($param: $crate::Provider),*> mfa::PhoneDelivery for $type {
            async fn send(
                &self,
                to: &mfa::PhoneNumber,
                channel: mfa::Channel,
                message: &mfa::PhoneMessage,
            ) -> Result<mfa::MessageId, mfa::DeliveryError> {
                $crate::Provider::deliver(self, to, channel, message)
                    .await
                    .map_err(mfa::DeliveryError::from)
            }
        }
    };
}
pub(crate) use phone_delivery;

/// Any [`PhoneDelivery`] as a [`Provider`], to put a delivery from outside this crate into a
/// [`Failover`](crate::Failover) or a [`Timeout`](crate::Timeout): its refused numbers are
/// permanent, its other errors transient.
///
/// ```
/// use mfa::RecordingPhoneDelivery;
/// use mfa_delivery::{Adapt, Failover, TracingDelivery};
///
/// // Development: log (without codes), and keep the messages for the outbox page.
/// let delivery = Failover::new(Adapt::new("outbox", RecordingPhoneDelivery::new()), TracingDelivery::new());
/// # let _ = delivery;
/// ```
#[derive(Debug, Clone)]
pub struct Adapt<P> {
    name: &'static str,
    inner: P,
}

impl<P: PhoneDelivery> Adapt<P> {
    /// Wraps `inner`, named `name` in logs and errors.
    pub fn new(name: &'static str, inner: P) -> Self {
        Adapt { name, inner }
    }

    /// The wrapped delivery.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: PhoneDelivery> Provider for Adapt<P> {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn deliver(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, SendError> {
        self.inner
            .send(to, channel, message)
            .await
            .map_err(|e| SendError::from_delivery(self.name, e))
    }
}

impl<P: PhoneDelivery> PhoneDelivery for Adapt<P> {
    async fn send(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, DeliveryError> {
        self.inner.send(to, channel, message).await
    }
}

/// The boxed future of [`DynProvider::deliver_boxed`].
type DeliverFuture<'a> = Pin<Box<dyn Future<Output = Result<MessageId, SendError>> + Send + 'a>>;

/// [`Provider`] made object-safe.
trait DynProvider: Send + Sync {
    fn name_dyn(&self) -> &'static str;
    fn deliver_boxed<'a>(
        &'a self,
        to: &'a PhoneNumber,
        channel: Channel,
        message: &'a PhoneMessage,
    ) -> DeliverFuture<'a>;
}

impl<P: Provider> DynProvider for P {
    fn name_dyn(&self) -> &'static str {
        self.name()
    }

    fn deliver_boxed<'a>(
        &'a self,
        to: &'a PhoneNumber,
        channel: Channel,
        message: &'a PhoneMessage,
    ) -> DeliverFuture<'a> {
        Box::pin(self.deliver(to, channel, message))
    }
}

/// Any [`Provider`] behind one type, for deliveries chosen at run time (what
/// [`DeliveryConfig::build`](crate::DeliveryConfig::build) returns). Clones share the provider.
///
/// ```
/// use mfa_delivery::{BoxedProvider, Provider, TracingDelivery};
///
/// let delivery = BoxedProvider::new(TracingDelivery::new());
/// assert_eq!(delivery.name(), "tracing");
/// ```
#[derive(Clone)]
pub struct BoxedProvider {
    inner: Arc<dyn DynProvider>,
}

impl BoxedProvider {
    /// Boxes `provider`.
    pub fn new<P: Provider + 'static>(provider: P) -> Self {
        BoxedProvider {
            inner: Arc::new(provider),
        }
    }
}

impl fmt::Debug for BoxedProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BoxedProvider")
            .field(&self.inner.name_dyn())
            .finish()
    }
}

impl Provider for BoxedProvider {
    fn name(&self) -> &'static str {
        self.inner.name_dyn()
    }

    async fn deliver(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, SendError> {
        self.inner.deliver_boxed(to, channel, message).await
    }
}

phone_delivery!(BoxedProvider);
