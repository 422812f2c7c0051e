#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod combinators;
mod config;
mod error;
#[cfg(feature = "http")]
mod http;
mod provider;
#[cfg(feature = "webhook")]
mod push_wake;
mod secret;
mod text;
#[cfg(feature = "twilio")]
mod twilio;
#[cfg(feature = "vonage")]
mod vonage;
#[cfg(feature = "webhook")]
mod webhook;

pub use combinators::{Failover, Timeout, Traced, TracingDelivery};
pub use config::{
    DeliveryConfig, HttpConfig, ProviderConfig, TwilioConfig, VonageConfig, WebhookConfig, from_env,
};
pub use error::{ConfigError, SendError};
#[cfg(feature = "http")]
pub use http::HttpClient;
pub use provider::{Adapt, BoxedProvider, Provider};
#[cfg(feature = "webhook")]
pub use push_wake::PushWakeWebhook;
pub use secret::Secret;
pub use text::{
    GSM7_SEGMENT, SmsEncoding, SmsTemplate, UCS2_SEGMENT, VoiceScript, fits_one_segment, sms_length,
};
#[cfg(feature = "twilio")]
pub use twilio::Twilio;
#[cfg(feature = "vonage")]
pub use vonage::Vonage;
#[cfg(feature = "webhook")]
pub use webhook::{SignatureError, WEBHOOK_TOLERANCE_SECS, Webhook, WebhookSecret};
