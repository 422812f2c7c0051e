//! Twilio: SMS through the Messages resource, voice through the Calls resource, API version
//! 2010-04-01.

use core::fmt;

use mfa::{Channel, MessageId, PhoneMessage, PhoneNumber};
use reqwest::Url;
use serde::Deserialize;

use crate::http::{Answer, HttpClient, Verdict, base_url, is_e164, is_language_tag, join};
use crate::provider::phone_delivery;
use crate::{ConfigError, Provider, Secret, SendError, SmsTemplate, TwilioConfig, VoiceScript};

const NAME: &str = "twilio";

/// Twilio error codes that mean "this number cannot be reached", whoever sends: invalid numbers
/// (21211, 21217, 21421, 13224), unreachable or unroutable ones (21214, 21612), landlines and
/// numbers without SMS (21614, 21635), destinations blocked by Twilio or the account's geographic
/// permissions (21216, 21408, 21215) and recipients who replied STOP (21610).
const NUMBER_REFUSED: [u32; 12] = [
    13224, 21211, 21214, 21215, 21216, 21217, 21408, 21421, 21610, 21612, 21614, 21635,
];

/// The longest a code call may last, in seconds (Twilio's `TimeLimit`): the script takes about 40
/// seconds for 8 digits, so an answering machine or a held line costs no more than this.
const CALL_TIME_LIMIT_SECS: &str = "90";

/// Twilio's Programmable Messaging and Voice, REST API version 2010-04-01.
///
/// - SMS: `POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic with the
///   account SID and auth token, form fields `To`, `From` and/or `MessagingServiceSid`, `Body` (the
///   [`SmsTemplate`]'s text) and `ValidityPeriod` (the code's lifetime: Twilio drops a message still
///   queued after it). The answer's `sid` (`SM...`) is the message id.
/// - Voice: `POST {api_base}/2010-04-01/Accounts/{AccountSid}/Calls.json`, form fields `To`,
///   `From` (the voice caller id), `Twiml` (inline TwiML that reads the code digit by digit, slowly,
///   twice: [`VoiceScript::twiml`]) and `TimeLimit` (90 seconds). The answer's `sid` (`CA...`) is
///   the message id.
///
/// Errors: Twilio's JSON error (`code`, `message`, `more_info`, `status`) is read for its code
/// only (its message repeats the number): the number-related codes are
/// [`SendError::NumberRefused`], 401 is rejected credentials, 429 a rate limit with its
/// `Retry-After`, 5xx unavailable. Twilio has no idempotency key for these resources: a retry after
/// a timeout or a 5xx may send the same code twice (never two different codes).
///
/// ```
/// use mfa_delivery::{HttpClient, HttpConfig, Secret, SmsTemplate, Twilio, TwilioConfig};
///
/// let config = TwilioConfig {
///     account_sid: "AC0123456789abcdef0123456789abcdef".into(),
///     auth_token: Secret::new("your_auth_token"),
///     from: Some("+15005550006".into()),
///     ..TwilioConfig::default()
/// };
/// let twilio = Twilio::new(&config, HttpClient::new(&HttpConfig::default())?, SmsTemplate::default())?;
/// assert!(format!("{twilio:?}").contains("AC0123456789abcdef0123456789abcdef"));
/// assert!(!format!("{twilio:?}").contains("your_auth_token"));
/// # Ok::<(), mfa_delivery::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Twilio {
    http: HttpClient,
    account_sid: String,
    auth_token: Secret,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    voice_from: Option<String>,
    messages_url: Url,
    calls_url: Url,
    voice_language: String,
    template: SmsTemplate,
}

impl fmt::Debug for Twilio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Twilio")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &self.auth_token)
            .field("from", &self.from)
            .field("messaging_service_sid", &self.messaging_service_sid)
            .field("voice_from", &self.voice_from)
            .field("messages_url", &self.messages_url.as_str())
            .finish_non_exhaustive()
    }
}

impl Twilio {
    /// Checks `config` and builds the provider on `http`, with `template` for SMS texts.
    pub fn new(config: &TwilioConfig, http: HttpClient, template: SmsTemplate) -> Result<Self, ConfigError> {
        template.validate()?;
        let account_sid = config.account_sid.trim();
        if !is_sid(account_sid, "AC") {
            return Err(ConfigError::Invalid {
                field: "twilio.account_sid (TWILIO_ACCOUNT_SID)",
                reason: "must be AC followed by 32 hexadecimal digits".to_owned(),
            });
        }
        let token = config.auth_token.expose();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::Invalid {
                field: "twilio.auth_token (TWILIO_AUTH_TOKEN)",
                reason: "must be the account's auth token: printable characters, no spaces".to_owned(),
            });
        }
        let from = config.from.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if from.is_some_and(|from| !is_sms_sender(from)) {
            return Err(ConfigError::Invalid {
                field: "twilio.from (TWILIO_FROM)",
                reason: "must be a number in E.164 form (+14155552671), a short code or an alphanumeric sender id (1 to 11 letters, digits and spaces)".to_owned(),
            });
        }
        let service = config
            .messaging_service_sid
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if service.is_some_and(|service| !is_sid(service, "MG")) {
            return Err(ConfigError::Invalid {
                field: "twilio.messaging_service_sid (TWILIO_MESSAGING_SERVICE_SID)",
                reason: "must be MG followed by 32 hexadecimal digits".to_owned(),
            });
        }
        if from.is_none() && service.is_none() {
            return Err(ConfigError::Missing {
                field: "twilio.from (TWILIO_FROM) or twilio.messaging_service_sid (TWILIO_MESSAGING_SERVICE_SID)",
            });
        }
        let voice_from = match config
            .voice_from
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(number) if is_e164(number) => Some(number.to_owned()),
            Some(_) => {
                return Err(ConfigError::Invalid {
                    field: "twilio.voice_from (TWILIO_VOICE_FROM)",
                    reason: "must be a number in E.164 form, such as +14155552671".to_owned(),
                });
            }
            // The SMS sender calls as well when it is a phone number.
            None => from.filter(|f| is_e164(f)).map(str::to_owned),
        };
        let language = config.voice_language.trim();
        if !is_language_tag(language) {
            return Err(ConfigError::Invalid {
                field: "twilio.voice_language (TWILIO_VOICE_LANGUAGE)",
                reason: "must be a language tag such as en-US".to_owned(),
            });
        }
        let base = base_url("twilio.api_base (TWILIO_API_BASE)", &config.api_base)?;
        let account = ["2010-04-01", "Accounts", account_sid];
        Ok(Twilio {
            http,
            account_sid: account_sid.to_owned(),
            auth_token: config.auth_token.clone(),
            from: from.map(str::to_owned),
            messaging_service_sid: service.map(str::to_owned),
            voice_from,
            messages_url: join(&base, &[account[0], account[1], account[2], "Messages.json"]),
            calls_url: join(&base, &[account[0], account[1], account[2], "Calls.json"]),
            voice_language: language.to_owned(),
            template,
        })
    }

    /// Whether calls can be made (a voice caller id is configured, or the SMS sender is a number).
    pub fn has_voice(&self) -> bool {
        self.voice_from.is_some()
    }
}

impl Provider for Twilio {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn deliver(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, SendError> {
        let (url, form) = match channel {
            Channel::Sms => {
                let mut form: Vec<(&str, zeroize::Zeroizing<String>)> = Vec::with_capacity(5);
                form.push(("To", to.as_str().to_owned().into()));
                if let Some(from) = &self.from {
                    form.push(("From", from.clone().into()));
                }
                if let Some(service) = &self.messaging_service_sid {
                    form.push(("MessagingServiceSid", service.clone().into()));
                }
                form.push(("Body", self.template.render(message)));
                let validity = message.ttl_secs().clamp(1, 36_000);
                form.push(("ValidityPeriod", validity.to_string().into()));
                (&self.messages_url, form)
            }
            Channel::Voice => {
                let Some(from) = &self.voice_from else {
                    return Err(SendError::Unsupported {
                        provider: NAME,
                        channel,
                    });
                };
                let form: Vec<(&str, zeroize::Zeroizing<String>)> = vec![
                    ("To", to.as_str().to_owned().into()),
                    ("From", from.clone().into()),
                    ("Twiml", VoiceScript::new(message).twiml(&self.voice_language)),
                    ("TimeLimit", CALL_TIME_LIMIT_SECS.to_owned().into()),
                ];
                (&self.calls_url, form)
            }
        };
        let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.http
            .send(
                NAME,
                |_| {
                    Ok(self
                        .http
                        .post(url.clone())
                        .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
                        .form(&fields))
                },
                interpret,
            )
            .await
    }
}

phone_delivery!(Twilio);

/// The parts of Twilio's answers that are read.
#[derive(Deserialize)]
struct Created {
    sid: String,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<u32>,
}

fn interpret(answer: Answer) -> Verdict<MessageId> {
    if answer.status.is_success() {
        return match serde_json::from_slice::<Created>(&answer.body) {
            Ok(created) if !created.sid.is_empty() => Verdict::Done(MessageId(created.sid)),
            _ => answer.malformed(NAME),
        };
    }
    let code = serde_json::from_slice::<TwilioError>(&answer.body)
        .ok()
        .and_then(|e| e.code);
    if let Some(code) = code.filter(|c| NUMBER_REFUSED.contains(c)) {
        return Verdict::Fail(SendError::NumberRefused {
            provider: NAME,
            detail: format!("Twilio error {code} (HTTP {})", answer.status.as_u16()),
        });
    }
    answer.error_verdict(NAME, code.map(|c| c.to_string()).as_deref())
}

/// `prefix` and 32 hexadecimal digits: Twilio's SIDs.
fn is_sid(value: &str, prefix: &str) -> bool {
    value.len() == 34 && value.starts_with(prefix) && value[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A sender Twilio accepts in `From` for SMS: an E.164 number, a short code (5 or 6 digits) or an
/// alphanumeric sender id (1 to 11 letters, digits and spaces, at least one letter).
fn is_sms_sender(value: &str) -> bool {
    let short_code = (5..=6).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
    let alphanumeric = (1..=11).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
        && value.bytes().any(|b| b.is_ascii_alphabetic());
    is_e164(value) || short_code || alphanumeric
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders() {
        assert!(is_sms_sender("+14155552671"));
        assert!(is_sms_sender("Example"));
        assert!(is_sms_sender("12345"));
        assert!(!is_sms_sender("ExampleCorpLtd")); // 14 characters
        assert!(!is_sms_sender("4155552671"));
        assert!(!is_sms_sender("+1 415 555 2671")); // not in E.164 form yet
    }

    #[test]
    fn language_tags() {
        use crate::http::is_language_tag;
        assert!(is_language_tag("en-US"));
        assert!(is_language_tag("de"));
        assert!(!is_language_tag("english"));
        assert!(!is_language_tag("en_US"));
        assert!(!is_language_tag("en-\"US"));
    }
}
