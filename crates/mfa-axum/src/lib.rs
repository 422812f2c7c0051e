#![doc = include_str!("../README.md")]

mod csrf;
mod device_cookie;
mod error;
mod extract;
mod json;
#[cfg(feature = "webauthn")]
mod passkey;
mod push;
mod session;
mod web;

pub use csrf::{CSRF_FIELD, CSRF_HEADER, CsrfToken, require_csrf};
pub use device_cookie::{DeviceCookie, device_cookie};
pub use error::{ErrorResponse, Rejection};
pub use extract::{PendingSecondFactor, SignedIn, StepUp, StepUpWithin};
pub use json::json_routes;
pub use push::push_device_routes;
pub use session::{PasswordCheck, SignInStage, SignInState, SignInStep};
pub use web::{MfaWeb, WebConfig};
