//! Vonage: the SMS API (`/sms/json`) and the Voice API (`/v1/calls` with a talk NCCO).

use core::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mfa::{Channel, Clock, MessageId, PhoneMessage, PhoneNumber, SystemClock};
use reqwest::Url;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use crate::http::{Answer, HttpClient, Verdict, base_url, is_e164, is_language_tag, join, random_id};
use crate::provider::phone_delivery;
use crate::{
    ConfigError, Provider, Secret, SendError, SmsEncoding, SmsTemplate, VoiceScript, VonageConfig, sms_length,
};

const NAME: &str = "vonage";

/// The longest a code call may last, in seconds (the Voice API's `length_timer`).
const CALL_LENGTH_TIMER_SECS: u32 = 90;

/// How long a Voice API token is valid, in seconds (Vonage's default is 15 minutes; one request
/// needs far less).
const JWT_TTL_SECS: i64 = 300;

/// Vonage's SMS API and Voice API.
///
/// - SMS: `POST {sms_base}/sms/json`, HTTP Basic with the API key and secret, form fields `from`,
///   `to` (the number without `+`, as Vonage writes numbers), `text` (the [`SmsTemplate`]'s text),
///   `type` (`unicode` when the text is not GSM-7, else `text`), `ttl` (the code's lifetime in
///   milliseconds, at least Vonage's 20 000) and `client-ref` (a random id, for support). Vonage
///   answers 200 with `messages[0].status`: `0` and a `message-id` is sent; `1` (throttled) is a
///   rate limit, `5` (internal error) unavailable, `6`, `7` and `33` (unknown prefix, barred,
///   de-activated number) refuse the number, the others reject the request.
/// - Voice: `POST {voice_base}/v1/calls` with `Authorization: Bearer` and a JWT signed RS256 by the
///   application's private key (claims `application_id`, `iat`, `jti`, `exp`), a JSON body with
///   `to` and `from` phone endpoints, an `ncco` of two `talk` actions (the code digit by digit,
///   then again: [`VoiceScript::speech_parts`]) in the configured `language`, and `length_timer`
///   (90 seconds). The answer's `uuid` is the message id.
///
/// Neither API takes an idempotency key: a retry after a timeout or a 5xx may send the same code
/// twice (never two different codes).
///
/// ```
/// use mfa_delivery::{HttpClient, HttpConfig, Secret, SmsTemplate, Vonage, VonageConfig};
///
/// let config = VonageConfig {
///     api_key: Some("a1b2c3d4".into()),
///     api_secret: Some(Secret::new("your_api_secret")),
///     from: Some("Example".into()),
///     ..VonageConfig::default()
/// };
/// let vonage = Vonage::new(&config, HttpClient::new(&HttpConfig::default())?, SmsTemplate::default())?;
/// assert!(vonage.has_sms() && !vonage.has_voice());
/// assert!(!format!("{vonage:?}").contains("your_api_secret"));
/// # Ok::<(), mfa_delivery::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Vonage {
    http: HttpClient,
    clock: Arc<dyn Clock>,
    sms: Option<SmsSettings>,
    voice: Option<VoiceSettings>,
    template: SmsTemplate,
}

#[derive(Clone)]
struct SmsSettings {
    api_key: String,
    api_secret: Secret,
    from: String,
    url: Url,
}

#[derive(Clone)]
struct VoiceSettings {
    application_id: String,
    key: Arc<RsaKeyPair>,
    from: String,
    url: Url,
    language: String,
}

impl fmt::Debug for Vonage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Vonage");
        if let Some(sms) = &self.sms {
            out.field("api_key", &sms.api_key)
                .field("api_secret", &sms.api_secret)
                .field("from", &sms.from);
        }
        if let Some(voice) = &self.voice {
            out.field("application_id", &voice.application_id)
                .field("private_key", &"<redacted>")
                .field("voice_from", &voice.from);
        }
        out.finish_non_exhaustive()
    }
}

impl Vonage {
    /// Checks `config` and builds the provider on `http`, with `template` for SMS texts. Reads the
    /// private key file if the configuration names one.
    pub fn new(config: &VonageConfig, http: HttpClient, template: SmsTemplate) -> Result<Self, ConfigError> {
        template.validate()?;
        let sms = sms_settings(config)?;
        let voice = voice_settings(config)?;
        if sms.is_none() && voice.is_none() {
            return Err(ConfigError::Missing {
                field: "vonage.api_key (VONAGE_API_KEY) for SMS or vonage.application_id (VONAGE_APPLICATION_ID) for voice",
            });
        }
        Ok(Vonage {
            http,
            clock: Arc::new(SystemClock),
            sms,
            voice,
            template,
        })
    }

    /// Reads the time from `clock` (the Voice API token's `iat` and `exp`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Whether SMS are configured.
    pub fn has_sms(&self) -> bool {
        self.sms.is_some()
    }

    /// Whether calls are configured.
    pub fn has_voice(&self) -> bool {
        self.voice.is_some()
    }

    async fn send_sms(
        &self,
        sms: &SmsSettings,
        to: &PhoneNumber,
        message: &PhoneMessage,
    ) -> Result<MessageId, SendError> {
        let text = self.template.render(message);
        let kind = match sms_length(&text).0 {
            SmsEncoding::Gsm7 => "text",
            SmsEncoding::Ucs2 => "unicode",
        };
        let ttl_ms = message
            .ttl_secs()
            .saturating_mul(1000)
            .clamp(20_000, 604_800_000)
            .to_string();
        let reference = random_id(NAME, "mfa_")?;
        let form: [(&str, &str); 6] = [
            ("from", &sms.from),
            ("to", vonage_number(to)),
            ("text", &text),
            ("type", kind),
            ("ttl", &ttl_ms),
            ("client-ref", &reference),
        ];
        self.http
            .send(
                NAME,
                |_| {
                    Ok(self
                        .http
                        .post(sms.url.clone())
                        .basic_auth(&sms.api_key, Some(sms.api_secret.expose()))
                        .form(&form))
                },
                interpret_sms,
            )
            .await
    }

    async fn call(
        &self,
        voice: &VoiceSettings,
        to: &PhoneNumber,
        message: &PhoneMessage,
    ) -> Result<MessageId, SendError> {
        let [first, second] = VoiceScript::new(message).speech_parts();
        let body = Zeroizing::new(
            json!({
                "to": [{ "type": "phone", "number": vonage_number(to) }],
                "from": { "type": "phone", "number": vonage_number_str(&voice.from) },
                "ncco": [
                    { "action": "talk", "text": first.as_str(), "language": voice.language },
                    { "action": "talk", "text": second.as_str(), "language": voice.language },
                ],
                "length_timer": CALL_LENGTH_TIMER_SECS,
            })
            .to_string(),
        );
        self.http
            .send(
                NAME,
                |_| {
                    // A fresh token per attempt: its `jti` is never reused.
                    let token = self.token(voice)?;
                    Ok(self
                        .http
                        .post(voice.url.clone())
                        .bearer_auth(token.as_str())
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body.as_str().to_owned()))
                },
                interpret_call,
            )
            .await
    }

    /// A Voice API JWT: RS256, claims `application_id`, `iat`, `jti`, `exp`.
    fn token(&self, voice: &VoiceSettings) -> Result<Zeroizing<String>, SendError> {
        let now = self.clock.now().as_secs();
        let claims = json!({
            "application_id": voice.application_id,
            "iat": now,
            "jti": random_id(NAME, "")?,
            "exp": now + JWT_TTL_SECS,
        });
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{payload}");
        let mut signature = vec![0u8; voice.key.public().modulus_len()];
        voice
            .key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| SendError::Unavailable {
                provider: NAME,
                detail: "the Voice API token could not be signed".to_owned(),
            })?;
        Ok(Zeroizing::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

impl Provider for Vonage {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn deliver(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, SendError> {
        match (channel, &self.sms, &self.voice) {
            (Channel::Sms, Some(sms), _) => self.send_sms(sms, to, message).await,
            (Channel::Voice, _, Some(voice)) => self.call(voice, to, message).await,
            _ => Err(SendError::Unsupported {
                provider: NAME,
                channel,
            }),
        }
    }
}

phone_delivery!(Vonage);

/// Vonage writes numbers in international form without the `+`.
fn vonage_number(number: &PhoneNumber) -> &str {
    vonage_number_str(number.as_str())
}

fn vonage_number_str(number: &str) -> &str {
    number.strip_prefix('+').unwrap_or(number)
}

fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn sms_settings(config: &VonageConfig) -> Result<Option<SmsSettings>, ConfigError> {
    let key = set(&config.api_key);
    let secret = config.api_secret.as_ref().filter(|s| !s.expose().is_empty());
    let from = set(&config.from);
    if key.is_none() && secret.is_none() && from.is_none() {
        return Ok(None);
    }
    let Some(key) = key else {
        return Err(ConfigError::Missing {
            field: "vonage.api_key (VONAGE_API_KEY)",
        });
    };
    let Some(secret) = secret else {
        return Err(ConfigError::Missing {
            field: "vonage.api_secret (VONAGE_API_SECRET)",
        });
    };
    let Some(from) = from else {
        return Err(ConfigError::Missing {
            field: "vonage.from (VONAGE_FROM)",
        });
    };
    if !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ConfigError::Invalid {
            field: "vonage.api_key (VONAGE_API_KEY)",
            reason: "must be the account's API key: letters and digits".to_owned(),
        });
    }
    if !secret.expose().bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::Invalid {
            field: "vonage.api_secret (VONAGE_API_SECRET)",
            reason: "must be the account's API secret: printable characters, no spaces".to_owned(),
        });
    }
    let number = vonage_number_str(from);
    let is_number = (7..=15).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit());
    let is_alphanumeric = (1..=11).contains(&from.len())
        && from.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
        && from.bytes().any(|b| b.is_ascii_alphabetic());
    if !is_number && !is_alphanumeric {
        return Err(ConfigError::Invalid {
            field: "vonage.from (VONAGE_FROM)",
            reason: "must be a Vonage number (447700900000 or +447700900000) or an alphanumeric sender id (1 to 11 letters, digits and spaces)".to_owned(),
        });
    }
    let base = base_url("vonage.sms_base (VONAGE_SMS_BASE)", &config.sms_base)?;
    Ok(Some(SmsSettings {
        api_key: key.to_owned(),
        api_secret: secret.clone(),
        from: if is_number {
            number.to_owned()
        } else {
            from.to_owned()
        },
        url: join(&base, &["sms", "json"]),
    }))
}

fn voice_settings(config: &VonageConfig) -> Result<Option<VoiceSettings>, ConfigError> {
    let application = set(&config.application_id);
    let inline_key = config
        .private_key
        .as_ref()
        .filter(|k| !k.expose().trim().is_empty());
    let key_path = set(&config.private_key_path);
    let from = set(&config.voice_from);
    if application.is_none() && inline_key.is_none() && key_path.is_none() && from.is_none() {
        return Ok(None);
    }
    let Some(application) = application else {
        return Err(ConfigError::Missing {
            field: "vonage.application_id (VONAGE_APPLICATION_ID)",
        });
    };
    if !is_uuid(application) {
        return Err(ConfigError::Invalid {
            field: "vonage.application_id (VONAGE_APPLICATION_ID)",
            reason: "must be the application's id, a UUID".to_owned(),
        });
    }
    const KEY_FIELD: &str =
        "vonage.private_key or vonage.private_key_path (VONAGE_PRIVATE_KEY or VONAGE_PRIVATE_KEY_PATH)";
    let pem = match (inline_key, key_path) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid {
                field: KEY_FIELD,
                reason: "set one of them, not both".to_owned(),
            });
        }
        (Some(key), None) => Zeroizing::new(key.expose().replace("\\n", "\n")),
        (None, Some(path)) => {
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
                field: KEY_FIELD,
                reason: format!("the file {path} cannot be read: {}", e.kind()),
            })?)
        }
        (None, None) => return Err(ConfigError::Missing { field: KEY_FIELD }),
    };
    let key = rsa_key(&pem).ok_or_else(|| ConfigError::Invalid {
        field: KEY_FIELD,
        reason: "must be the application's RSA private key in PEM (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY), 2048 bits or more".to_owned(),
    })?;
    let Some(from) = from else {
        return Err(ConfigError::Missing {
            field: "vonage.voice_from (VONAGE_VOICE_FROM)",
        });
    };
    let with_plus = if from.starts_with('+') {
        from.to_owned()
    } else {
        format!("+{from}")
    };
    if !is_e164(&with_plus) {
        return Err(ConfigError::Invalid {
            field: "vonage.voice_from (VONAGE_VOICE_FROM)",
            reason: "must be a Vonage number in international form, such as 447700900000".to_owned(),
        });
    }
    let language = config.voice_language.trim();
    if !is_language_tag(language) {
        return Err(ConfigError::Invalid {
            field: "vonage.voice_language (VONAGE_VOICE_LANGUAGE)",
            reason: "must be a language tag such as en-US".to_owned(),
        });
    }
    let base = base_url("vonage.voice_base (VONAGE_VOICE_BASE)", &config.voice_base)?;
    Ok(Some(VoiceSettings {
        application_id: application.to_owned(),
        key: Arc::new(key),
        from: with_plus,
        url: join(&base, &["v1", "calls"]),
        language: language.to_owned(),
    }))
}

/// An RSA private key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`, what Vonage's dashboard gives) or
/// PKCS#1 (`BEGIN RSA PRIVATE KEY`).
fn rsa_key(pem: &str) -> Option<RsaKeyPair> {
    let (label, der) = pem_decode(pem)?;
    match label.as_str() {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der).ok(),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der).ok(),
        _ => None,
    }
}

/// The label and bytes of the first PEM block in `text` (RFC 7468).
fn pem_decode(text: &str) -> Option<(String, Zeroizing<Vec<u8>>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_owned();
    let body = &rest[label_end + 5..];
    let end = body.find(&format!("-----END {label}-----"))?;
    let base64: Zeroizing<String> =
        Zeroizing::new(body[..end].chars().filter(|c| !c.is_whitespace()).collect());
    let der = STANDARD.decode(base64.as_bytes()).ok()?;
    Some((label, Zeroizing::new(der)))
}

/// 8-4-4-4-12 hexadecimal digits.
fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[derive(Deserialize)]
struct SmsAnswer {
    messages: Vec<SmsStatus>,
}

#[derive(Deserialize)]
struct SmsStatus {
    status: String,
    #[serde(rename = "message-id")]
    message_id: Option<String>,
}

fn interpret_sms(answer: Answer) -> Verdict<MessageId> {
    if !answer.status.is_success() {
        return answer.error_verdict(NAME, None);
    }
    let Ok(parsed) = serde_json::from_slice::<SmsAnswer>(&answer.body) else {
        return answer.malformed(NAME);
    };
    let Some(first) = parsed.messages.into_iter().next() else {
        return answer.malformed(NAME);
    };
    let detail = || {
        format!(
            "Vonage SMS status {} (HTTP {})",
            first.status,
            answer.status.as_u16()
        )
    };
    match first.status.as_str() {
        "0" => match first.message_id.filter(|id| !id.is_empty()) {
            Some(id) => Verdict::Done(MessageId(id)),
            None => answer.malformed(NAME),
        },
        "1" => Verdict::Retry(SendError::RateLimited {
            provider: NAME,
            retry_after: answer.retry_after,
        }),
        "5" | "10" => Verdict::Retry(SendError::Unavailable {
            provider: NAME,
            detail: detail(),
        }),
        "6" | "7" | "33" => Verdict::Fail(SendError::NumberRefused {
            provider: NAME,
            detail: detail(),
        }),
        _ => Verdict::Fail(SendError::Rejected {
            provider: NAME,
            detail: detail(),
        }),
    }
}

#[derive(Deserialize)]
struct CallAnswer {
    uuid: String,
}

fn interpret_call(answer: Answer) -> Verdict<MessageId> {
    if !answer.status.is_success() {
        return answer.error_verdict(NAME, None);
    }
    match serde_json::from_slice::<CallAnswer>(&answer.body) {
        Ok(call) if !call.uuid.is_empty() => Verdict::Done(MessageId(call.uuid)),
        _ => answer.malformed(NAME),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert!(is_uuid("aaaaaaaa-bbbb-cccc-dddd-0123456789ab"));
        assert!(!is_uuid("aaaaaaaa-bbbb-cccc-dddd-0123456789a"));
        assert!(!is_uuid("not-a-uuid"));
    }

    #[test]
    fn pem_blocks() {
        let (label, der) =
            pem_decode("junk\n-----BEGIN PRIVATE KEY-----\nAAEC\nAw==\n-----END PRIVATE KEY-----\n").unwrap();
        assert_eq!(label, "PRIVATE KEY");
        assert_eq!(der.as_slice(), &[0, 1, 2, 3]);
        assert!(pem_decode("-----BEGIN PRIVATE KEY-----\nAAEC\n-----END RSA PRIVATE KEY-----").is_none());
        assert!(rsa_key("-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----").is_none());
    }
}
