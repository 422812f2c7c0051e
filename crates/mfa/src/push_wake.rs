//! Waking a device when a push waits for it: the trait a push provider implements, and the default
//! that wakes nothing (the device polls).

use core::fmt;
use core::future::Future;
use core::pin::Pin;

use mfa_push::{Wake, WakeChannel};

/// The future a [`PushWake`] returns.
pub type WakeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), WakeError>> + Send + 'a>>;

/// Tells a device that a push waits for it. The [`Wake`] carries the device and challenge ids only,
/// signed by the service: nothing a push provider could learn the sign-in from. The device then
/// fetches the push itself.
///
/// A wake that fails does not fail the sign-in (the device also polls); one that says the device is
/// [`Gone`](WakeError::Gone) raises [`EventKind::PushDeviceGone`](crate::EventKind::PushDeviceGone)
/// and is not retried.
pub trait PushWake: Send + Sync + fmt::Debug {
    /// Wakes the device at `channel` (the kind and address its enrollment gave).
    fn wake<'a>(&'a self, channel: &'a WakeChannel, wake: &'a Wake) -> WakeFuture<'a>;
}

/// Why a wake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WakeError {
    /// The provider says the address no longer exists (the app was uninstalled): do not try again.
    #[error("the device's wake address is gone")]
    Gone,
    /// Any other failure; the device still polls.
    #[error("waking the device failed: {0}")]
    Failed(String),
}

/// Wakes nothing: devices poll (the protocol's `poll` wake channel). The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct PollOnly;

impl PushWake for PollOnly {
    fn wake<'a>(&'a self, _channel: &'a WakeChannel, _wake: &'a Wake) -> WakeFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}
