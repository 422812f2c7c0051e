//! The vendor-neutral delivery: a JSON POST signed as Standard Webhooks 1.0.0 says.

use core::fmt;
use core::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use mfa::{Channel, Clock, MessageId, PhoneMessage, PhoneNumber, SystemClock};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::combinators::{channel_name, purpose_name};
use crate::http::{Answer, HttpClient, Verdict, base_url, is_language_tag, random_id};
use crate::provider::phone_delivery;
use crate::{ConfigError, Provider, SendError, SmsTemplate, VoiceScript, WebhookConfig};

const NAME: &str = "webhook";

/// The prefix of a serialised secret (Standard Webhooks, "Signature scheme").
const SECRET_PREFIX: &str = "whsec_";

/// How far a verified timestamp may be from now, in seconds: the five minutes the specification's
/// libraries use against replays.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 5 * 60;

/// A Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64 random bytes (the
/// specification's bounds). Zeroized on drop; `Debug` shows `<redacted>`.
///
/// Make one with `echo "whsec_$(openssl rand -base64 32)"` and give it to both sides.
///
/// ```
/// use mfa_delivery::WebhookSecret;
///
/// // The example of the Standard Webhooks reference libraries (see the crate's tests).
/// let secret: WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse()?;
/// assert_eq!(
///     secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#),
///     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
/// );
/// assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
/// # Ok::<(), mfa_delivery::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct WebhookSecret {
    /// HMAC-SHA256 keyed with the secret (its key state zeroizes on drop).
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl FromStr for WebhookSecret {
    type Err = ConfigError;

    /// Reads `whsec_<base64>` (the prefix may be left out, as the reference libraries allow).
    fn from_str(text: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::Invalid {
            field: "webhook.secrets (MFA_WEBHOOK_SECRET)",
            reason: reason.to_owned(),
        };
        let text = text.trim();
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let key = Zeroizing::new(
            STANDARD
                .decode(encoded.as_bytes())
                .map_err(|_| invalid("must be whsec_ followed by base64"))?,
        );
        if !(24..=64).contains(&key.len()) {
            return Err(invalid(
                "must hold 24 to 64 bytes (Standard Webhooks); make one with: echo \"whsec_$(openssl rand -base64 32)\"",
            ));
        }
        let keyed =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&key).map_err(|_| invalid("cannot key HMAC-SHA256"))?;
        Ok(WebhookSecret { keyed })
    }
}

impl WebhookSecret {
    fn mac(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The signature of `body` sent as message `msg_id` at `timestamp` (Unix seconds):
    /// `v1,` and the base64 HMAC-SHA256 of `{msg_id}.{timestamp}.{body}`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.mac(msg_id, timestamp, body).finalize().into_bytes();
        format!("v1,{}", STANDARD.encode(tag))
    }

    /// Checks a received webhook, as a receiver does: the `webhook-timestamp` header must be within
    /// five minutes of `now` (Unix seconds), and one of the space-separated `v1,` signatures of
    /// the `webhook-signature` header must be this secret's (compared in constant time; other
    /// versions are skipped).
    ///
    /// ```
    /// use mfa_delivery::{SignatureError, WebhookSecret};
    ///
    /// let secret: WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse()?;
    /// let body = br#"{"test": 2432232314}"#;
    /// let header = "v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    /// assert_eq!(secret.verify("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", header, body, 1614265400), Ok(()));
    /// assert_eq!(
    ///     secret.verify("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", header, body, 1614266000),
    ///     Err(SignatureError::TooOld)
    /// );
    /// # Ok::<(), mfa_delivery::ConfigError>(())
    /// ```
    pub fn verify(
        &self,
        msg_id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let timestamp: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| SignatureError::BadTimestamp)?;
        if now.saturating_sub(timestamp) > WEBHOOK_TOLERANCE_SECS {
            return Err(SignatureError::TooOld);
        }
        if timestamp.saturating_sub(now) > WEBHOOK_TOLERANCE_SECS {
            return Err(SignatureError::TooNew);
        }
        let expected = self.mac(msg_id, timestamp, body).finalize().into_bytes();
        let mut matched = subtle::Choice::from(0u8);
        for candidate in signatures.split(' ') {
            let Some(("v1", encoded)) = candidate.split_once(',') else {
                continue;
            };
            if let Ok(given) = STANDARD.decode(encoded) {
                matched |= given.as_slice().ct_eq(expected.as_slice());
            }
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(SignatureError::NoMatch)
        }
    }
}

/// Why a webhook's signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// `webhook-timestamp` is not a number of seconds.
    #[error("the webhook-timestamp header is not a Unix time in seconds")]
    BadTimestamp,
    /// Older than five minutes: a replay, or a clock far behind.
    #[error("the webhook is older than five minutes")]
    TooOld,
    /// More than five minutes ahead.
    #[error("the webhook's timestamp is more than five minutes ahead")]
    TooNew,
    /// No `v1` signature matches.
    #[error("no signature matches")]
    NoMatch,
}

/// The JSON body of a code webhook. Field order is fixed (the bytes are what is signed).
///
/// ```json
/// {"type":"mfa.phone_code","idempotency_key":"msg_…","channel":"sms","to":"+14155552671",
///  "purpose":"sign_in","issuer":"Example","text":"123456 is your Example verification code. …",
///  "code":"123456","ttl_secs":300,"expires_at":1700000300,"locale":"en"}
/// ```
#[derive(Serialize)]
struct CodeWebhook<'a> {
    r#type: &'static str,
    idempotency_key: &'a str,
    channel: &'static str,
    to: &'a str,
    purpose: &'static str,
    issuer: &'a str,
    text: &'a str,
    code: &'a str,
    ttl_secs: u64,
    expires_at: i64,
    locale: &'a str,
}

/// Sends codes to an HTTPS endpoint of the host's choosing (an SMS gateway, a telecom's API behind
/// a small adapter, a queue), signed as [Standard Webhooks] 1.0.0 specifies, so the receiver can use
/// any of its reference libraries to check them.
///
/// `POST {url}` with `Content-Type: application/json` and the headers `webhook-id` (a random
/// `msg_...` id, the same for every retry of one send: the receiver's idempotency key),
/// `webhook-timestamp` (the attempt's Unix time) and `webhook-signature` (`v1,<base64 HMAC-SHA256
/// of id.timestamp.body>` for each configured secret, space-separated, so a secret can be rotated
/// without downtime). The body (see the crate's README for an example) carries `type`
/// (`mfa.phone_code`), `idempotency_key` (the `webhook-id`), `channel` (`sms` or `voice`), `to`
/// (E.164), `purpose` (`sign_in` or `registration`), `issuer`, `text` (the SMS text, or the voice
/// script as plain speech), `code`, `ttl_secs`, `expires_at` (Unix seconds) and `locale`.
///
/// The receiver answers 2xx, with an empty body or a JSON object whose optional `id` is its message
/// id (else the `webhook-id` is); 4xx with `{"error": "number_refused"}` when it cannot reach the
/// number; 429 with `Retry-After` when busy; 5xx when it failed. Retries reuse the id and the body
/// and sign a new timestamp.
///
/// [Standard Webhooks]: https://www.standardwebhooks.com/
///
/// ```
/// use mfa_delivery::{HttpClient, HttpConfig, Secret, SmsTemplate, Webhook, WebhookConfig};
///
/// let config = WebhookConfig {
///     url: "https://sms-gateway.internal.example/codes".into(),
///     secrets: vec![Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")],
///     locale: "en".into(),
/// };
/// let webhook = Webhook::new(&config, HttpClient::new(&HttpConfig::default())?, SmsTemplate::default())?;
/// assert!(!format!("{webhook:?}").contains("MfKQ9r8"));
/// # Ok::<(), mfa_delivery::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Webhook {
    http: HttpClient,
    url: Url,
    secrets: Arc<[WebhookSecret]>,
    locale: String,
    clock: Arc<dyn Clock>,
    template: SmsTemplate,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &redacted_url(&self.url))
            .field("secrets", &self.secrets.len())
            .field("locale", &self.locale)
            .finish_non_exhaustive()
    }
}

/// The checked URL and secrets of a webhook configuration (for codes and for wakes).
pub(crate) fn endpoint(config: &WebhookConfig) -> Result<(Url, Arc<[WebhookSecret]>), ConfigError> {
    let url = base_url("webhook.url (MFA_WEBHOOK_URL)", &config.url)?;
    if config.secrets.is_empty() {
        return Err(ConfigError::Missing {
            field: "webhook.secrets (MFA_WEBHOOK_SECRET)",
        });
    }
    let secrets = config
        .secrets
        .iter()
        .map(|s| s.expose().parse::<WebhookSecret>())
        .collect::<Result<Vec<_>, _>>()?;
    Ok((url, secrets.into()))
}

/// The Standard Webhooks headers for `body`, signed with every secret.
pub(crate) fn signed_post(
    http: &HttpClient,
    url: &Url,
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> reqwest::RequestBuilder {
    let signatures: Vec<String> = secrets
        .iter()
        .map(|secret| secret.sign(id, timestamp, body))
        .collect();
    http.post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signatures.join(" "))
        .body(body.to_vec())
}

/// The URL without its query (which may carry a token).
pub(crate) fn redacted_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    let mut text = shown.to_string();
    if url.query().is_some() {
        text.push_str("?<redacted>");
    }
    text
}

impl Webhook {
    /// Checks `config` and builds the provider on `http`, with `template` for SMS texts.
    pub fn new(config: &WebhookConfig, http: HttpClient, template: SmsTemplate) -> Result<Self, ConfigError> {
        template.validate()?;
        let (url, secrets) = endpoint(config)?;
        let locale = config.locale.trim();
        if !is_language_tag(locale) {
            return Err(ConfigError::Invalid {
                field: "webhook.locale (MFA_WEBHOOK_LOCALE)",
                reason: "must be a language tag such as en or en-GB".to_owned(),
            });
        }
        Ok(Webhook {
            http,
            url,
            secrets,
            locale: locale.to_owned(),
            clock: Arc::new(SystemClock),
            template,
        })
    }

    /// Reads the time from `clock` (`webhook-timestamp`, `expires_at`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl Provider for Webhook {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn deliver(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, SendError> {
        let id = random_id(NAME, "msg_")?;
        let text = match channel {
            Channel::Sms => self.template.render(message),
            Channel::Voice => VoiceScript::new(message).speech(),
        };
        let ttl = i64::try_from(message.ttl_secs()).unwrap_or(i64::MAX);
        let body = Zeroizing::new(
            serde_json::to_vec(&CodeWebhook {
                r#type: "mfa.phone_code",
                idempotency_key: &id,
                channel: channel_name(channel),
                to: to.as_str(),
                purpose: purpose_name(message),
                issuer: message.issuer(),
                text: &text,
                code: message.code(),
                ttl_secs: message.ttl_secs(),
                expires_at: self.clock.now().as_secs().saturating_add(ttl),
                locale: &self.locale,
            })
            .map_err(|_| SendError::Unavailable {
                provider: NAME,
                detail: "the body could not be written".to_owned(),
            })?,
        );
        let fallback_id = id.clone();
        self.http
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
                move |answer| interpret(answer, &fallback_id),
            )
            .await
    }
}

phone_delivery!(Webhook);

#[derive(Deserialize)]
struct Accepted {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Refusal {
    error: Option<String>,
}

fn interpret(answer: Answer, webhook_id: &str) -> Verdict<MessageId> {
    if answer.status.is_success() {
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Verdict::Done(MessageId(webhook_id.to_owned()));
        }
        return match serde_json::from_slice::<Accepted>(&answer.body) {
            Ok(Accepted { id: Some(id) }) if !id.is_empty() => Verdict::Done(MessageId(id)),
            Ok(_) => Verdict::Done(MessageId(webhook_id.to_owned())),
            Err(_) => answer.malformed(NAME),
        };
    }
    let refusal = serde_json::from_slice::<Refusal>(&answer.body)
        .ok()
        .and_then(|r| r.error);
    if answer.status.is_client_error() && refusal.as_deref() == Some("number_refused") {
        return Verdict::Fail(SendError::NumberRefused {
            provider: NAME,
            detail: format!("number_refused (HTTP {})", answer.status.as_u16()),
        });
    }
    answer.error_verdict(NAME, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries: the JavaScript
    /// test "sign function works" in standard-webhooks/standard-webhooks,
    /// libraries/javascript/src/webhook.test.ts (commit 10d3e46d720c4e5861a792bec25792a04ad4e2b3),
    /// also used by the other languages' tests.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1614265330;
    const SPEC_PAYLOAD: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_specification_example() {
        let secret: WebhookSecret = SPEC_SECRET.parse().unwrap();
        assert_eq!(
            secret.sign(SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD.as_bytes()),
            SPEC_SIGNATURE
        );
        // Without the prefix, as the reference libraries accept too.
        let bare: WebhookSecret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse().unwrap();
        assert_eq!(
            bare.sign(SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD.as_bytes()),
            SPEC_SIGNATURE
        );
    }

    /// The Rust reference library's own example: `test_sign` in
    /// standard-webhooks/standard-webhooks, libraries/rust/src/lib.rs
    /// (commit 1e88c9ce08bb2c605fea9a2a540b4a91d31c7a62).
    #[test]
    fn signs_the_rust_library_example() {
        let secret: WebhookSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".parse().unwrap();
        assert_eq!(
            secret.sign(
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                br#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn verifies_the_specification_example_with_several_signatures() {
        let secret: WebhookSecret = SPEC_SECRET.parse().unwrap();
        let body = SPEC_PAYLOAD.as_bytes();
        // The JavaScript test "multi sig payload is valid": other versions and wrong v1 signatures
        // around the right one.
        let header = format!(
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {SPEC_SIGNATURE} v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
        );
        let ts = SPEC_TIMESTAMP.to_string();
        assert_eq!(
            secret.verify(SPEC_MSG_ID, &ts, &header, body, SPEC_TIMESTAMP),
            Ok(())
        );
        assert_eq!(
            secret.verify(
                SPEC_MSG_ID,
                &ts,
                "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
                body,
                SPEC_TIMESTAMP
            ),
            Err(SignatureError::NoMatch)
        );
        // The signature cut short, or empty.
        assert_eq!(
            secret.verify(SPEC_MSG_ID, &ts, &SPEC_SIGNATURE[..8], body, SPEC_TIMESTAMP),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            secret.verify(SPEC_MSG_ID, &ts, "v1,", body, SPEC_TIMESTAMP),
            Err(SignatureError::NoMatch)
        );
        // Another body, id or timestamp.
        assert!(
            secret
                .verify(
                    SPEC_MSG_ID,
                    &ts,
                    SPEC_SIGNATURE,
                    b"{\"test\":2432232314}",
                    SPEC_TIMESTAMP
                )
                .is_err()
        );
        assert!(
            secret
                .verify("msg_other", &ts, SPEC_SIGNATURE, body, SPEC_TIMESTAMP)
                .is_err()
        );
        assert_eq!(
            secret.verify(SPEC_MSG_ID, "hello", SPEC_SIGNATURE, body, SPEC_TIMESTAMP),
            Err(SignatureError::BadTimestamp)
        );
        // Five minutes either way, and no further.
        assert_eq!(
            secret.verify(SPEC_MSG_ID, &ts, SPEC_SIGNATURE, body, SPEC_TIMESTAMP + 300),
            Ok(())
        );
        assert_eq!(
            secret.verify(SPEC_MSG_ID, &ts, SPEC_SIGNATURE, body, SPEC_TIMESTAMP + 301),
            Err(SignatureError::TooOld)
        );
        assert_eq!(
            secret.verify(SPEC_MSG_ID, &ts, SPEC_SIGNATURE, body, SPEC_TIMESTAMP - 301),
            Err(SignatureError::TooNew)
        );
    }

    #[test]
    fn secrets_are_checked_and_never_shown() {
        assert!("whsec_".parse::<WebhookSecret>().is_err());
        assert!("whsec_not base64!".parse::<WebhookSecret>().is_err());
        // 16 bytes: below the specification's 24.
        assert!("whsec_AAAAAAAAAAAAAAAAAAAAAA==".parse::<WebhookSecret>().is_err());
        let error = "whsec_c2VjcmV0LXZhbHVl"
            .parse::<WebhookSecret>()
            .unwrap_err()
            .to_string();
        assert!(!error.contains("c2VjcmV0LXZhbHVl"), "{error}");
        let secret: WebhookSecret = SPEC_SECRET.parse().unwrap();
        assert!(!format!("{secret:?}").contains("MfKQ"));
    }
}
