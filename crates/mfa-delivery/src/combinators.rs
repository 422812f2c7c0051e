use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mfa::{Channel, MessageId, PhoneMessage, PhoneNumber};

use crate::provider::phone_delivery;
use crate::{Provider, SendError};

/// **Development**: sends nothing, logs each message with [`tracing`] instead: the channel, the
/// masked number, the purpose, the validity and the length of the text, never the code or the text.
/// Answers ids `trace-1`, `trace-2`, ...
///
/// Target `mfa_delivery`, level INFO. Where a developer needs the code itself, the host shows it
/// (the web example's outbox page); this delivery keeps codes out of logs.
///
/// ```
/// use mfa::{Channel, MessagePurpose, PhoneMessage};
/// use mfa_delivery::{Provider, TracingDelivery};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let message = PhoneMessage::new("Example", "123456", MessagePurpose::SignIn, 300);
/// let id = TracingDelivery::new().deliver(&"+14155552671".parse()?, Channel::Sms, &message).await?;
/// // Logged: sms for +*********71 (sign_in, valid 300 s, 83 characters) not sent: tracing delivery
/// assert_eq!(id.0, "trace-1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct TracingDelivery {
    sent: AtomicU64,
}

impl TracingDelivery {
    /// A delivery that logs.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Provider for TracingDelivery {
    fn name(&self) -> &'static str {
        "tracing"
    }

    async fn deliver(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, SendError> {
        let n = self.sent.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        let characters = message.text(channel).chars().count();
        tracing::info!(
            target: "mfa_delivery",
            channel = channel_name(channel),
            to = %to.masked(),
            purpose = purpose_name(message),
            ttl_secs = message.ttl_secs(),
            characters,
            id = n,
            "{} for {} ({}, valid {} s, {characters} characters) not sent: tracing delivery",
            channel_name(channel),
            to.masked(),
            purpose_name(message),
            message.ttl_secs(),
        );
        Ok(MessageId(format!("trace-{n}")))
    }
}

phone_delivery!(TracingDelivery);

pub(crate) fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "sms",
        Channel::Voice => "voice",
    }
}

pub(crate) fn purpose_name(message: &PhoneMessage) -> &'static str {
    match message.purpose() {
        mfa::MessagePurpose::SignIn => "sign_in",
        mfa::MessagePurpose::Registration => "registration",
    }
}

/// Logs every send of a provider with [`tracing`] (target `mfa_delivery`): the provider, the
/// channel, the masked number, the outcome (the message id, or the error and whether it is
/// transient) and the time taken. Never the code, the text or a credential.
///
/// Successes log at INFO, transient errors at WARN, permanent ones at ERROR.
///
/// ```
/// use mfa_delivery::{Provider, Traced, TracingDelivery};
///
/// let delivery = Traced::new(TracingDelivery::new());
/// assert_eq!(delivery.name(), "tracing");
/// ```
#[derive(Debug, Clone)]
pub struct Traced<P> {
    inner: P,
}

impl<P: Provider> Traced<P> {
    /// Wraps `inner`.
    pub fn new(inner: P) -> Self {
        Traced { inner }
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: Provider> Provider for Traced<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn deliver(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, SendError> {
        let started = Instant::now();
        let result = self.inner.deliver(to, channel, message).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let provider = self.inner.name();
        let channel = channel_name(channel);
        let to = to.masked();
        match &result {
            Ok(id) => tracing::info!(
                target: "mfa_delivery",
                provider, channel, to = %to, elapsed_ms, message_id = %id,
                "{provider} sent {channel} to {to} in {elapsed_ms} ms: {id}"
            ),
            Err(error) if error.is_transient() => tracing::warn!(
                target: "mfa_delivery",
                provider, channel, to = %to, elapsed_ms, transient = true,
                "{provider} could not send {channel} to {to} ({elapsed_ms} ms, transient): {error}"
            ),
            Err(error) => tracing::error!(
                target: "mfa_delivery",
                provider, channel, to = %to, elapsed_ms, transient = false,
                "{provider} could not send {channel} to {to} ({elapsed_ms} ms, permanent): {error}"
            ),
        }
        result
    }
}

phone_delivery!(Traced<P>, P);

/// Sends through `primary`, and through `secondary` when the primary fails with a transient error
/// (or is not configured for the channel). A permanent error (a refused number, rejected
/// credentials) is returned as it is: the secondary is not tried. When both fail, the secondary's
/// error is returned.
///
/// The secondary gets the same [`PhoneMessage`], so the same code: a user who receives both
/// messages (the primary timed out after sending) has one code, not two. Chains nest:
/// `Failover::new(a, Failover::new(b, c))`.
///
/// ```
/// use mfa::{Channel, DeliveryError, MessagePurpose, PhoneMessage, RecordingPhoneDelivery};
/// use mfa_delivery::{Adapt, Failover, Provider};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let primary = RecordingPhoneDelivery::new();
/// let secondary = RecordingPhoneDelivery::new();
/// let delivery = Failover::new(Adapt::new("a", primary.clone()), Adapt::new("b", secondary.clone()));
/// let message = PhoneMessage::new("Example", "123456", MessagePurpose::SignIn, 300);
///
/// primary.fail_next(DeliveryError::Unavailable { reason: "HTTP 503".into() });
/// delivery.deliver(&"+14155552671".parse()?, Channel::Sms, &message).await?;
/// assert_eq!((primary.sent().len(), secondary.sent().len()), (0, 1));
///
/// primary.fail_next(DeliveryError::NumberRefused);
/// assert!(delivery.deliver(&"+14155552671".parse()?, Channel::Sms, &message).await.is_err());
/// assert_eq!(secondary.sent().len(), 1); // a refused number is not handed over
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Failover<P, S> {
    primary: P,
    secondary: S,
}

impl<P: Provider, S: Provider> Failover<P, S> {
    /// `primary` first, `secondary` on its transient errors.
    pub fn new(primary: P, secondary: S) -> Self {
        Failover { primary, secondary }
    }
}

impl<P: Provider, S: Provider> Provider for Failover<P, S> {
    fn name(&self) -> &'static str {
        self.primary.name()
    }

    async fn deliver(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, SendError> {
        match self.primary.deliver(to, channel, message).await {
            Err(error) if error.is_transient() || matches!(error, SendError::Unsupported { .. }) => {
                tracing::warn!(
                    target: "mfa_delivery",
                    from = self.primary.name(),
                    to_provider = self.secondary.name(),
                    "failing over from {} to {}: {error}",
                    self.primary.name(),
                    self.secondary.name(),
                );
                self.secondary.deliver(to, channel, message).await
            }
            other => other,
        }
    }
}

phone_delivery!(Failover<P, S>, P, S);

/// Gives a provider at most `limit` for a whole send, its retries included; past it the send is
/// dropped and fails with a transient [`SendError::Unavailable`] (so a [`Failover`] around it moves
/// on). Each HTTP attempt has its own, shorter timeout as well (see
/// [`HttpConfig`](crate::HttpConfig)).
///
/// ```
/// use mfa_delivery::{Provider, Timeout, TracingDelivery};
/// use std::time::Duration;
///
/// let delivery = Timeout::new(TracingDelivery::new(), Duration::from_secs(10));
/// assert_eq!(delivery.limit(), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
pub struct Timeout<P> {
    inner: P,
    limit: Duration,
}

impl<P: Provider> Timeout<P> {
    /// `inner`, cut off after `limit`.
    pub fn new(inner: P, limit: Duration) -> Self {
        Timeout { inner, limit }
    }

    /// The time allowed per send.
    pub fn limit(&self) -> Duration {
        self.limit
    }
}

impl<P: Provider> Provider for Timeout<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn deliver(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, SendError> {
        match tokio::time::timeout(self.limit, self.inner.deliver(to, channel, message)).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Unavailable {
                provider: self.inner.name(),
                detail: format!("no answer within {} ms", self.limit.as_millis()),
            }),
        }
    }
}

phone_delivery!(Timeout<P>, P);
