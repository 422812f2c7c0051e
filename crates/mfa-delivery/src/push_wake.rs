//! Waking push devices through a signed webhook: the service tells the host's push gateway (the relay
//! that speaks to FCM, APNs or a self-hosted notifier) which device to wake, and nothing more.

use core::fmt;
use std::sync::Arc;

use mfa::{Clock, PushWake, SystemClock, WakeError, WakeFuture};
use mfa_push::{Wake, WakeChannel};
use reqwest::Url;
use serde::Serialize;

use crate::http::{Answer, HttpClient, Verdict, random_id};
use crate::webhook::{WebhookSecret, endpoint, redacted_url, signed_post};
use crate::{ConfigError, SendError, WebhookConfig};

const NAME: &str = "push wake webhook";

/// A [`PushWake`] that POSTs each wake to a gateway as a Standard Webhooks 1.0.0 signed JSON body:
///
/// ```json
/// {"type": "mfa.push_wake", "wake_kind": "fcm", "wake_address": "<the device's token>",
///  "wake": {"v": 1, "device_id": "...", "challenge_id": "...", "signature": "..."}}
/// ```
///
/// `wake_kind` and `wake_address` are what the device gave at enrollment; `wake` is the protocol's
/// signed wake-up (`mfa-push`'s `PROTOCOL.md`), which carries the device and challenge ids only, so the
/// gateway and the push provider learn nothing of the sign-in. The gateway answers 2xx when it handed
/// the wake on, and **404 or 410 when the address is gone** (the app was uninstalled): that becomes
/// [`WakeError::Gone`], which the facade reports and does not retry. 429, 408 and 5xx are retried as
/// configured in [`HttpConfig`](crate::HttpConfig), with the same `webhook-id`.
///
/// ```
/// use mfa_delivery::{HttpClient, HttpConfig, PushWakeWebhook, Secret, WebhookConfig};
///
/// let config = WebhookConfig {
///     url: "https://push-gateway.example.com/wake".into(),
///     secrets: vec![Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")],
///     locale: "en".into(),
/// };
/// let wake = PushWakeWebhook::new(&config, HttpClient::new(&HttpConfig::default())?)?;
/// assert!(!format!("{wake:?}").contains("MfKQ9r8"));
/// # Ok::<(), mfa_delivery::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct PushWakeWebhook {
    http: HttpClient,
    url: Url,
    secrets: Arc<[WebhookSecret]>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for PushWakeWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushWakeWebhook")
            .field("url", &redacted_url(&self.url))
            .field("secrets", &self.secrets.len())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct WakeWebhook<'a> {
    r#type: &'static str,
    wake_kind: &'a str,
    wake_address: &'a str,
    wake: serde_json::Value,
}

impl PushWakeWebhook {
    /// Checks `config` (its URL and secrets; the locale is not used) and builds the wake on `http`.
    pub fn new(config: &WebhookConfig, http: HttpClient) -> Result<Self, ConfigError> {
        let (url, secrets) = endpoint(config)?;
        Ok(PushWakeWebhook {
            http,
            url,
            secrets,
            clock: Arc::new(SystemClock),
        })
    }

    /// Reads the time from `clock` (`webhook-timestamp`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    async fn post(&self, channel: &WakeChannel, wake: &Wake) -> Result<(), WakeError> {
        let failed = |detail: String| WakeError::Failed(format!("{NAME}: {detail}"));
        let id = random_id(NAME, "msg_").map_err(|e| failed(e.to_string()))?;
        let wake =
            serde_json::from_str(&wake.to_json()).map_err(|_| failed("the wake did not serialise".into()))?;
        let body = serde_json::to_vec(&WakeWebhook {
            r#type: "mfa.push_wake",
            wake_kind: channel.kind(),
            wake_address: channel.address(),
            wake,
        })
        .map_err(|_| failed("the body could not be written".into()))?;
        let sent = self
            .http
            .send(
                NAME,
                |_| {
                    let timestamp = self.clock.now().as_secs();
                    Ok(signed_post(
                        &self.http,
                        &self.url,
                        &self.secrets,
                        &id,
                        timestamp,
                        &body,
                    ))
                },
                interpret,
            )
            .await;
        match sent {
            Ok(()) => Ok(()),
            Err(SendError::NumberRefused { .. }) => Err(WakeError::Gone),
            Err(error) => Err(failed(error.to_string())),
        }
    }
}

impl PushWake for PushWakeWebhook {
    fn wake<'a>(&'a self, channel: &'a WakeChannel, wake: &'a Wake) -> WakeFuture<'a> {
        Box::pin(self.post(channel, wake))
    }
}

fn interpret(answer: Answer) -> Verdict<()> {
    match answer.status.as_u16() {
        200..=299 => Verdict::Done(()),
        // The address is gone: reported as such, never retried.
        404 | 410 => Verdict::Fail(SendError::NumberRefused {
            provider: NAME,
            detail: format!("the wake address is gone (HTTP {})", answer.status.as_u16()),
        }),
        _ => answer.error_verdict(NAME, None),
    }
}
