use core::fmt;
use core::future::Future;
use core::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Error;

/// A phone number in E.164 form: `+`, then 8 to 15 digits, the first not 0 (ITU-T E.164 allows at
/// most 15 digits).
///
/// Parsing accepts spaces, dashes, dots and parentheses between digits, as people type them, and
/// requires the leading `+` with the country code: guessing a country is the host's business. A
/// national trunk prefix written in parentheses after the country code, `(0)`, is dropped, so
/// `+44 (0)20 7946 0958` is the same number as `+44 20 7946 0958` (a 0 outside parentheses, or with
/// other digits inside them, is kept: Italian numbers begin with it).
/// `Display` and [`as_str`](Self::as_str) give the full number for the provider; `Debug` and
/// [`masked`](Self::masked) show the last two digits only, for logs and UIs.
///
/// ```
/// use mfa::PhoneNumber;
///
/// let number: PhoneNumber = "+1 (415) 555-2671".parse()?;
/// assert_eq!(number.as_str(), "+14155552671");
/// assert_eq!(number.masked(), "+*********71");
/// assert_eq!(format!("{number:?}"), "PhoneNumber(+*********71)");
/// assert!("4155552671".parse::<PhoneNumber>().is_err()); // no country code
/// assert!("+0123456789".parse::<PhoneNumber>().is_err());
/// assert!("+1234567".parse::<PhoneNumber>().is_err()); // 7 digits
/// assert_eq!("+44 (0)20 7946 0958".parse::<PhoneNumber>()?.as_str(), "+442079460958");
/// # Ok::<(), mfa::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Reads a number as typed; see the type's docs for what is accepted.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let trimmed = input.trim();
        let Some(rest) = trimmed.strip_prefix('+') else {
            return Err(Error::InvalidPhoneNumber {
                reason: "must start with + and the country code",
            });
        };
        let mut number = String::with_capacity(16);
        number.push('+');
        let mut previous_was_digit = false;
        // Where the digits of the last parenthesised group begin.
        let mut group = None;
        for c in rest.chars() {
            match c {
                '0'..='9' => {
                    if number.len() == 1 && c == '0' {
                        return Err(Error::InvalidPhoneNumber {
                            reason: "country codes do not start with 0",
                        });
                    }
                    if number.len() > 15 {
                        return Err(Error::InvalidPhoneNumber {
                            reason: "more than 15 digits",
                        });
                    }
                    number.push(c);
                    previous_was_digit = true;
                }
                ' ' | '-' | '.' | '(' | ')' => {
                    if number.len() == 1 && c != '(' && c != ' ' {
                        return Err(Error::InvalidPhoneNumber {
                            reason: "a separator before the first digit",
                        });
                    }
                    match c {
                        '(' => group = Some(number.len()),
                        // "(0)" after the country code is the national trunk prefix, dialled only
                        // from inside the country ("+44 (0)20 ..."): not part of the E.164 number.
                        ')' => {
                            if let Some(start) = group.take()
                                && start > 1
                                && &number[start..] == "0"
                            {
                                number.truncate(start);
                            }
                        }
                        _ => {}
                    }
                }
                _ => {
                    return Err(Error::InvalidPhoneNumber {
                        reason: "only digits, spaces, dashes, dots and parentheses are allowed",
                    });
                }
            }
        }
        if !previous_was_digit || number.len() < 9 {
            return Err(Error::InvalidPhoneNumber {
                reason: "fewer than 8 digits",
            });
        }
        Ok(PhoneNumber(number))
    }

    /// The number in E.164 form, `+` and digits only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with every digit but the last two replaced by `*`.
    pub fn masked(&self) -> String {
        let digits = self.0.len() - 1;
        let mut out = String::with_capacity(self.0.len());
        out.push('+');
        for (i, c) in self.0.chars().skip(1).enumerate() {
            out.push(if i + 2 >= digits { c } else { '*' });
        }
        out
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl FromStr for PhoneNumber {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        PhoneNumber::parse(s)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        PhoneNumber::parse(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(n: PhoneNumber) -> String {
        n.0
    }
}

/// How a code reaches a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A text message.
    Sms,
    /// A voice call that reads the code out.
    Voice,
}

/// Why a code is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessagePurpose {
    /// A sign-in (or step-up) challenge.
    SignIn,
    /// The test code that confirms a new phone.
    Registration,
}

/// The message with a one-time code for a [`PhoneDelivery`]. `Debug` hides the code; the code zeroizes
/// on drop.
///
/// ```
/// use mfa::{Channel, MessagePurpose, PhoneMessage};
///
/// let message = PhoneMessage::new("Example", "123456", MessagePurpose::SignIn, 300);
/// assert_eq!(
///     message.text(Channel::Sms).as_str(),
///     "123456 is your Example verification code. It expires in 5 minutes. Do not share it."
/// );
/// assert!(message.text(Channel::Voice).contains("1, 2, 3, 4, 5, 6"));
/// assert!(!format!("{message:?}").contains("123456"));
/// ```
#[derive(Clone)]
pub struct PhoneMessage {
    issuer: String,
    code: Zeroizing<String>,
    purpose: MessagePurpose,
    ttl_secs: u64,
}

impl PhoneMessage {
    /// A message from `issuer` with `code`, valid for `ttl_secs`.
    pub fn new(issuer: &str, code: &str, purpose: MessagePurpose, ttl_secs: u64) -> Self {
        PhoneMessage {
            issuer: issuer.to_owned(),
            code: Zeroizing::new(code.to_owned()),
            purpose,
            ttl_secs,
        }
    }

    /// The code alone, for providers that fill their own templates.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Sign-in or registration.
    pub fn purpose(&self) -> MessagePurpose {
        self.purpose
    }

    /// The name of the service.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// How long the code is valid, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// The text to send: the code first for SMS (so phones can offer to fill it in), digit by digit and
    /// twice for a voice call.
    pub fn text(&self, channel: Channel) -> Zeroizing<String> {
        let minutes = self.ttl_secs.div_ceil(60);
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        match channel {
            Channel::Sms => Zeroizing::new(format!(
                "{} is your {} verification code. It expires in {minutes} {unit}. Do not share it.",
                self.code.as_str(),
                self.issuer
            )),
            Channel::Voice => {
                let spoken: Vec<String> = self.code.chars().map(String::from).collect();
                let spoken = Zeroizing::new(spoken.join(", "));
                Zeroizing::new(format!(
                    "Your {} verification code is {}. Again: {}.",
                    self.issuer,
                    spoken.as_str(),
                    spoken.as_str()
                ))
            }
        }
    }
}

impl fmt::Debug for PhoneMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneMessage")
            .field("issuer", &self.issuer)
            .field("code", &"<redacted>")
            .field("purpose", &self.purpose)
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

/// The provider's id of a sent message (for support and delivery receipts). Not a secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub String);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a [`PhoneDelivery`] could not send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The provider could not be reached or failed; trying again later may work.
    #[error("the phone provider is unavailable: {reason}")]
    Unavailable {
        /// What the provider or the transport said (no code, no number).
        reason: String,
    },
    /// The provider refused the number (invalid, unreachable, landline for SMS, blocked country).
    #[error("the phone provider refused the number")]
    NumberRefused,
    /// The provider's rate limit was reached.
    #[error("the phone provider's rate limit was reached")]
    RateLimited {
        /// When to try again, if the provider said.
        retry_after: Option<Duration>,
    },
}

/// Sends codes by SMS or voice call: implemented by the host over its provider.
///
/// Implementations must not log [`PhoneMessage::code`] or the text. The future must be `Send`, so it
/// can run in tokio and axum handlers. For tests use [`RecordingPhoneDelivery`]; for a development
/// server [`DevPhoneDelivery`].
///
/// ```
/// use mfa::{Channel, DeliveryError, MessageId, PhoneDelivery, PhoneMessage, PhoneNumber};
///
/// struct MyProvider; // holds an HTTP client and credentials in real life
///
/// impl PhoneDelivery for MyProvider {
///     async fn send(
///         &self,
///         to: &PhoneNumber,
///         channel: Channel,
///         message: &PhoneMessage,
///     ) -> Result<MessageId, DeliveryError> {
///         let _text = message.text(channel); // POST it to the provider for `to`
///         Ok(MessageId(format!("msg-for-{}", to.masked())))
///     }
/// }
/// ```
pub trait PhoneDelivery: Send + Sync {
    /// Sends `message` to `to` over `channel` and returns the provider's message id.
    fn send(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> impl Future<Output = Result<MessageId, DeliveryError>> + Send;
}

/// **Development only**: prints every message, code included, to standard output instead of sending
/// it. Never use it in production: the codes end up wherever standard output goes.
///
/// ```
/// use mfa::{Channel, DevPhoneDelivery, MessagePurpose, PhoneDelivery, PhoneMessage};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let message = PhoneMessage::new("Example", "123456", MessagePurpose::SignIn, 300);
/// let id = DevPhoneDelivery.send(&"+14155552671".parse()?, Channel::Sms, &message).await?;
/// // Standard output: [mfa DevPhoneDelivery] Sms to +14155552671 (dev-...): 123456 is your Example ...
/// assert!(id.0.starts_with("dev-"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DevPhoneDelivery;

impl PhoneDelivery for DevPhoneDelivery {
    async fn send(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, DeliveryError> {
        let id = crate::ids::random_bytes::<8>().map_err(|_| DeliveryError::Unavailable {
            reason: "no random id".to_owned(),
        })?;
        let id = MessageId(format!("dev-{}", u64::from_be_bytes(id)));
        println!(
            "[mfa DevPhoneDelivery] {channel:?} to {to} ({id}): {}",
            message.text(channel).as_str()
        );
        Ok(id)
    }
}

/// One message a [`RecordingPhoneDelivery`] received.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SentMessage {
    /// The number.
    pub to: PhoneNumber,
    /// SMS or voice.
    pub channel: Channel,
    /// The message, code included.
    pub message: PhoneMessage,
    /// The id it answered with.
    pub id: MessageId,
}

#[derive(Debug, Default)]
struct Recording {
    sent: Vec<SentMessage>,
    failures: Vec<DeliveryError>,
}

/// For tests: keeps every message in memory, and fails on demand. Clones share the same recording.
///
/// ```
/// use mfa::{Channel, MessagePurpose, PhoneDelivery, PhoneMessage, PhoneNumber, RecordingPhoneDelivery};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let phones = RecordingPhoneDelivery::new();
/// let to: PhoneNumber = "+14155552671".parse()?;
/// let message = PhoneMessage::new("Example", "123456", MessagePurpose::SignIn, 300);
/// phones.send(&to, Channel::Sms, &message).await?;
/// assert_eq!(phones.last_code_to(&to).as_deref().map(|c| c.as_str()), Some("123456"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct RecordingPhoneDelivery {
    inner: Arc<Mutex<Recording>>,
}

impl RecordingPhoneDelivery {
    /// An empty recording.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recording> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every message so far, oldest first.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.lock().sent.clone()
    }

    /// The code of the last message to `to`.
    pub fn last_code_to(&self, to: &PhoneNumber) -> Option<Zeroizing<String>> {
        self.lock()
            .sent
            .iter()
            .rev()
            .find(|m| &m.to == to)
            .map(|m| Zeroizing::new(m.message.code().to_owned()))
    }

    /// Makes the next send fail with `error` (queued: one error per call).
    pub fn fail_next(&self, error: DeliveryError) {
        self.lock().failures.push(error);
    }
}

impl PhoneDelivery for RecordingPhoneDelivery {
    async fn send(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, DeliveryError> {
        let mut recording = self.lock();
        if !recording.failures.is_empty() {
            return Err(recording.failures.remove(0));
        }
        let id = MessageId(format!("rec-{}", recording.sent.len() + 1));
        recording.sent.push(SentMessage {
            to: to.clone(),
            channel,
            message: message.clone(),
            id: id.clone(),
        });
        Ok(id)
    }
}
