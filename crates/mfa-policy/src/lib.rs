#![doc = include_str!("../README.md")]

mod config;
mod decision;
mod error;
mod fatigue;
mod policy;
mod state;
mod time;

pub use config::{MAX_REMEMBER_DEVICE, MIN_REMEMBER_DEVICE, PolicyConfig, RestrictedMethods};
pub use decision::{Action, Decision, Reason, Recommendation};
pub use error::Error;
pub use fatigue::{PushFatigue, PushStrikes};
pub use policy::Policy;
pub use state::{
    CLOCK_SKEW_TOLERANCE, Client, DeviceState, Method, MfaState, Purpose, SensitiveAction, SignInContext,
    UserState,
};
pub use time::UnixTime;
