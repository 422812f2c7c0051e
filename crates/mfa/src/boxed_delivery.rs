//! [`BoxedPhoneDelivery`]: any [`PhoneDelivery`] behind one type, chosen at run time.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use std::sync::Arc;

use crate::{Channel, DeliveryError, MessageId, PhoneDelivery, PhoneMessage, PhoneNumber};

/// The boxed future of [`DynPhoneDelivery::send_boxed`].
type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<MessageId, DeliveryError>> + Send + 'a>>;

/// [`PhoneDelivery`] made object-safe: the future is boxed.
trait DynPhoneDelivery: Send + Sync {
    fn send_boxed<'a>(
        &'a self,
        to: &'a PhoneNumber,
        channel: Channel,
        message: &'a PhoneMessage,
    ) -> SendFuture<'a>;
}

impl<P: PhoneDelivery> DynPhoneDelivery for P {
    fn send_boxed<'a>(
        &'a self,
        to: &'a PhoneNumber,
        channel: Channel,
        message: &'a PhoneMessage,
    ) -> SendFuture<'a> {
        Box::pin(self.send(to, channel, message))
    }
}

/// Any [`PhoneDelivery`] behind one type, for a host that picks its delivery at run time
/// (development printing or a real provider, one provider or another, from configuration):
/// `Mfa<S, BoxedPhoneDelivery>` is one type whichever it holds. Each send costs one allocation for
/// its future, nothing next to a provider's round trip. Clones share the delivery.
///
/// ```
/// use mfa::{
///     BoxedPhoneDelivery, Config, DevPhoneDelivery, KeyId, KeyRing, MemoryStore, Mfa,
///     RecordingPhoneDelivery, TagSecret,
/// };
///
/// # fn from_config(dev: bool) -> Result<(), Box<dyn std::error::Error>> {
/// let delivery = if dev {
///     BoxedPhoneDelivery::new(DevPhoneDelivery)
/// } else {
///     // Your SMS and voice provider here.
///     BoxedPhoneDelivery::new(RecordingPhoneDelivery::new())
/// };
/// let mfa: Mfa<MemoryStore, BoxedPhoneDelivery> = Mfa::new(
///     Config::default(),
///     KeyRing::new(KeyId(1), &[0x11; 32])?,
///     TagSecret::from_bytes(&[0x22; 32])?,
///     MemoryStore::new(),
///     delivery,
/// )?;
/// assert!(format!("{:?}", mfa.delivery()).contains("PhoneDelivery"));
/// # Ok(()) }
/// # from_config(true)?;
/// # from_config(false)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct BoxedPhoneDelivery {
    inner: Arc<dyn DynPhoneDelivery>,
    /// The wrapped type's name, for `Debug`.
    name: &'static str,
}

impl BoxedPhoneDelivery {
    /// Wraps `delivery`.
    pub fn new<P: PhoneDelivery + 'static>(delivery: P) -> Self {
        BoxedPhoneDelivery {
            inner: Arc::new(delivery),
            name: core::any::type_name::<P>(),
        }
    }
}

impl fmt::Debug for BoxedPhoneDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BoxedPhoneDelivery").field(&self.name).finish()
    }
}

impl PhoneDelivery for BoxedPhoneDelivery {
    async fn send(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, DeliveryError> {
        self.inner.send_boxed(to, channel, message).await
    }
}
