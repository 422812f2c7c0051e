//! Configuration: a serde struct, or environment variables, checked at start-up.

use std::time::Duration;

use mfa::BoxedPhoneDelivery;
use serde::Deserialize;

use crate::{BoxedProvider, ConfigError, Failover, Provider, Secret, SmsTemplate, Timeout, Traced};

/// Timeouts and retries of the HTTPS client, shared by every provider.
///
/// A send makes at most `max_attempts` attempts, each cut off after `attempt_timeout_ms`; it
/// retries only transient failures (timeouts, reset connections, 5xx, 429, a provider's
/// throttling), waiting `retry_backoff_ms`, doubled at each retry, or the provider's
/// `Retry-After` when it is at most `max_retry_after_ms` (a longer one fails the send at once with
/// [`SendError::RateLimited`](crate::SendError::RateLimited)). The whole send, retries included,
/// is cut off after `call_timeout_ms` ([`Timeout`]), so that a [`Failover`] has time left.
///
/// ```
/// use mfa_delivery::HttpConfig;
///
/// let config = HttpConfig::default();
/// assert_eq!((config.attempt_timeout_ms, config.max_attempts, config.call_timeout_ms), (5_000, 3, 12_000));
/// config.validate()?;
/// # Ok::<(), mfa_delivery::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Time allowed for one attempt, from connecting to the end of the answer (100 to 60 000 ms;
    /// `MFA_DELIVERY_ATTEMPT_TIMEOUT_MS`, default 5 000).
    pub attempt_timeout_ms: u64,
    /// Time allowed to connect, TLS included (100 to 30 000 ms; `MFA_DELIVERY_CONNECT_TIMEOUT_MS`,
    /// default 3 000).
    pub connect_timeout_ms: u64,
    /// Attempts per send, the first included (1 to 5; `MFA_DELIVERY_MAX_ATTEMPTS`, default 3).
    pub max_attempts: u32,
    /// Wait before the first retry, doubled for each next one (0 to 10 000 ms;
    /// `MFA_DELIVERY_RETRY_BACKOFF_MS`, default 250).
    pub retry_backoff_ms: u64,
    /// The longest `Retry-After` waited for (0 to 60 000 ms; `MFA_DELIVERY_MAX_RETRY_AFTER_MS`,
    /// default 2 000).
    pub max_retry_after_ms: u64,
    /// Time allowed per provider for a whole send, retries included (at least
    /// `attempt_timeout_ms`, at most 120 000 ms; `MFA_DELIVERY_CALL_TIMEOUT_MS`, default 12 000).
    pub call_timeout_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            attempt_timeout_ms: 5_000,
            connect_timeout_ms: 3_000,
            max_attempts: 3,
            retry_backoff_ms: 250,
            max_retry_after_ms: 2_000,
            call_timeout_ms: 12_000,
        }
    }
}

impl HttpConfig {
    /// Checks the ranges given on each field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn range(field: &'static str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::Invalid {
                    field,
                    reason: format!("must be between {min} and {max}"),
                })
            }
        }
        range(
            "http.attempt_timeout_ms (MFA_DELIVERY_ATTEMPT_TIMEOUT_MS)",
            self.attempt_timeout_ms,
            100,
            60_000,
        )?;
        range(
            "http.connect_timeout_ms (MFA_DELIVERY_CONNECT_TIMEOUT_MS)",
            self.connect_timeout_ms,
            100,
            30_000,
        )?;
        range(
            "http.max_attempts (MFA_DELIVERY_MAX_ATTEMPTS)",
            u64::from(self.max_attempts),
            1,
            5,
        )?;
        range(
            "http.retry_backoff_ms (MFA_DELIVERY_RETRY_BACKOFF_MS)",
            self.retry_backoff_ms,
            0,
            10_000,
        )?;
        range(
            "http.max_retry_after_ms (MFA_DELIVERY_MAX_RETRY_AFTER_MS)",
            self.max_retry_after_ms,
            0,
            60_000,
        )?;
        range(
            "http.call_timeout_ms (MFA_DELIVERY_CALL_TIMEOUT_MS)",
            self.call_timeout_ms,
            self.attempt_timeout_ms,
            120_000,
        )
    }
}

/// [`Twilio`](crate::Twilio)'s settings. Environment variables in parentheses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    /// The account SID, `AC` and 32 hexadecimal digits (`TWILIO_ACCOUNT_SID`).
    pub account_sid: String,
    /// The account's auth token (`TWILIO_AUTH_TOKEN`).
    pub auth_token: Secret,
    /// The SMS sender: a Twilio number in E.164 form, a short code or an alphanumeric sender id
    /// (`TWILIO_FROM`). This or `messaging_service_sid` (or both).
    #[serde(default)]
    pub from: Option<String>,
    /// A Messaging Service SID, `MG...`, that picks the sender (`TWILIO_MESSAGING_SERVICE_SID`).
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// The caller id of calls, a Twilio number in E.164 form (`TWILIO_VOICE_FROM`); `from` when it is
    /// a number. Without either, this provider sends SMS only.
    #[serde(default)]
    pub voice_from: Option<String>,
    /// The language of `<Say>` (`TWILIO_VOICE_LANGUAGE`, default `en-US`; the texts are English).
    #[serde(default = "default_voice_language")]
    pub voice_language: String,
    /// The API's base URL (`TWILIO_API_BASE`, default `https://api.twilio.com`; tests point it at a
    /// local server).
    #[serde(default = "default_twilio_base")]
    pub api_base: String,
}

impl Default for TwilioConfig {
    fn default() -> Self {
        TwilioConfig {
            account_sid: String::new(),
            auth_token: Secret::new(""),
            from: None,
            messaging_service_sid: None,
            voice_from: None,
            voice_language: default_voice_language(),
            api_base: default_twilio_base(),
        }
    }
}

fn default_voice_language() -> String {
    "en-US".to_owned()
}

fn default_twilio_base() -> String {
    "https://api.twilio.com".to_owned()
}

fn default_vonage_sms_base() -> String {
    "https://rest.nexmo.com".to_owned()
}

fn default_vonage_voice_base() -> String {
    "https://api.nexmo.com".to_owned()
}

fn default_locale() -> String {
    "en".to_owned()
}

/// [`Vonage`](crate::Vonage)'s settings: the SMS API's (key, secret, sender), the Voice API's
/// (application, private key, caller id), or both. Environment variables in parentheses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VonageConfig {
    /// The account's API key, for SMS (`VONAGE_API_KEY`).
    #[serde(default)]
    pub api_key: Option<String>,
    /// The account's API secret, for SMS (`VONAGE_API_SECRET`).
    #[serde(default)]
    pub api_secret: Option<Secret>,
    /// The SMS sender: a Vonage number (`447700900000`, a `+` allowed) or an alphanumeric sender id
    /// (`VONAGE_FROM`).
    #[serde(default)]
    pub from: Option<String>,
    /// The Voice API application's id, a UUID (`VONAGE_APPLICATION_ID`).
    #[serde(default)]
    pub application_id: Option<String>,
    /// The application's RSA private key in PEM (`VONAGE_PRIVATE_KEY`; `\n` may stand for line
    /// breaks). This or `private_key_path`.
    #[serde(default)]
    pub private_key: Option<Secret>,
    /// A file with the private key, read at start-up (`VONAGE_PRIVATE_KEY_PATH`).
    #[serde(default)]
    pub private_key_path: Option<String>,
    /// The caller id of calls, a Vonage number (`VONAGE_VOICE_FROM`).
    #[serde(default)]
    pub voice_from: Option<String>,
    /// The talk action's language (`VONAGE_VOICE_LANGUAGE`, default `en-US`).
    #[serde(default = "default_voice_language")]
    pub voice_language: String,
    /// The SMS API's base URL (`VONAGE_SMS_BASE`, default `https://rest.nexmo.com`).
    #[serde(default = "default_vonage_sms_base")]
    pub sms_base: String,
    /// The Voice API's base URL (`VONAGE_VOICE_BASE`, default `https://api.nexmo.com`).
    #[serde(default = "default_vonage_voice_base")]
    pub voice_base: String,
}

impl Default for VonageConfig {
    fn default() -> Self {
        VonageConfig {
            api_key: None,
            api_secret: None,
            from: None,
            application_id: None,
            private_key: None,
            private_key_path: None,
            voice_from: None,
            voice_language: default_voice_language(),
            sms_base: default_vonage_sms_base(),
            voice_base: default_vonage_voice_base(),
        }
    }
}

/// [`Webhook`](crate::Webhook)'s settings. Environment variables in parentheses. `Debug` shows the
/// URL without its user information, query and fragment, which may carry a token.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST: `https`, or `http` to a loopback address (`MFA_WEBHOOK_URL`).
    pub url: String,
    /// Signing secrets, `whsec_...`: each signs every request, so a new one can be added, rolled out
    /// to the receiver, and the old one removed (`MFA_WEBHOOK_SECRET`, space-separated).
    pub secrets: Vec<Secret>,
    /// The `locale` field of the body (`MFA_WEBHOOK_LOCALE`, default `en`).
    #[serde(default = "default_locale")]
    pub locale: String,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &url_without_secrets(&self.url))
            .field("secrets", &self.secrets)
            .field("locale", &self.locale)
            .finish()
    }
}

/// `scheme://host/path` of `url`: no user information, query or fragment.
fn url_without_secrets(url: &str) -> String {
    let base = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = base.split_once("://").unwrap_or(("", base));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}/{path}")
}

/// One provider of a [`DeliveryConfig`], tagged by `provider`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProviderConfig {
    /// Twilio.
    Twilio(TwilioConfig),
    /// Vonage.
    Vonage(VonageConfig),
    /// The signed webhook.
    Webhook(WebhookConfig),
}

impl ProviderConfig {
    fn name(&self) -> &'static str {
        match self {
            ProviderConfig::Twilio(_) => "twilio",
            ProviderConfig::Vonage(_) => "vonage",
            ProviderConfig::Webhook(_) => "webhook",
        }
    }
}

/// How codes leave: the providers in failover order, the HTTPS client's timeouts and retries, and
/// the SMS template. From a configuration file with serde, or from environment variables with
/// [`from_env`](Self::from_env); [`build`](Self::build) checks everything and makes the delivery.
///
/// ```
/// use mfa_delivery::DeliveryConfig;
///
/// let config: DeliveryConfig = serde_json::from_str(r#"{
///     "providers": [
///         { "provider": "twilio", "account_sid": "AC0123456789abcdef0123456789abcdef",
///           "auth_token": "token", "from": "+15005550006" },
///         { "provider": "webhook", "url": "https://sms-gateway.internal.example/codes",
///           "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] }
///     ],
///     "sms": { "webotp_domain": "login.example.com" },
///     "http": { "max_attempts": 2 }
/// }"#)?;
/// # #[cfg(all(feature = "twilio", feature = "webhook"))] {
/// let delivery = config.build()?; // Twilio first, the webhook when Twilio is unavailable
/// assert_eq!(mfa_delivery::Provider::name(&delivery), "twilio");
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// The providers: the first sends, each next one takes over on the previous one's transient
    /// errors (`MFA_DELIVERY_PROVIDER`, comma-separated).
    pub providers: Vec<ProviderConfig>,
    /// Timeouts and retries.
    #[serde(default)]
    pub http: HttpConfig,
    /// The SMS text.
    #[serde(default)]
    pub sms: SmsTemplate,
}

impl DeliveryConfig {
    /// Reads the process environment; see [`from_vars`](Self::from_vars).
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_vars(|name| std::env::var_os(name).map(|value| value.to_string_lossy().into_owned()))
    }

    /// Reads the configuration from variables looked up by `var`: `None` when no provider is
    /// configured (the host keeps its development delivery).
    ///
    /// `MFA_DELIVERY_PROVIDER` names the providers in failover order (`twilio`, `vonage`,
    /// `webhook`, comma-separated; `none` for none). Without it, the provider whose variables are
    /// set is used (`TWILIO_ACCOUNT_SID`, `VONAGE_API_KEY` or `VONAGE_APPLICATION_ID`,
    /// `MFA_WEBHOOK_URL`), and setting those of several is an error. Empty variables count as
    /// unset. The crate's README lists every variable.
    ///
    /// ```
    /// use mfa_delivery::DeliveryConfig;
    ///
    /// let vars = [
    ///     ("MFA_WEBHOOK_URL", "https://sms-gateway.internal.example/codes"),
    ///     ("MFA_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    /// ];
    /// let lookup = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
    /// let config = DeliveryConfig::from_vars(lookup)?.expect("a provider");
    /// assert_eq!(config.providers.len(), 1);
    /// assert!(DeliveryConfig::from_vars(|_| None)?.is_none());
    /// # Ok::<(), mfa_delivery::ConfigError>(())
    /// ```
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let var = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let names: Vec<String> = match var("MFA_DELIVERY_PROVIDER") {
            Some(list) if list.eq_ignore_ascii_case("none") => return Ok(None),
            Some(list) => list
                .split(',')
                .map(|name| name.trim().to_ascii_lowercase())
                .collect(),
            None => {
                let mut found = Vec::new();
                if var("TWILIO_ACCOUNT_SID").is_some() {
                    found.push("twilio".to_owned());
                }
                if var("VONAGE_API_KEY").is_some() || var("VONAGE_APPLICATION_ID").is_some() {
                    found.push("vonage".to_owned());
                }
                if var("MFA_WEBHOOK_URL").is_some() {
                    found.push("webhook".to_owned());
                }
                match found.len() {
                    0 => return Ok(None),
                    1 => found,
                    _ => {
                        return Err(ConfigError::Ambiguous {
                            found: found.join(", "),
                        });
                    }
                }
            }
        };
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(ConfigError::Invalid {
                    field: "providers (MFA_DELIVERY_PROVIDER)",
                    reason: format!("names {name} twice"),
                });
            }
        }
        let mut providers = Vec::with_capacity(names.len());
        for name in &names {
            providers.push(match name.as_str() {
                "twilio" => ProviderConfig::Twilio(TwilioConfig {
                    account_sid: required(
                        &var,
                        "twilio.account_sid (TWILIO_ACCOUNT_SID)",
                        "TWILIO_ACCOUNT_SID",
                    )?,
                    auth_token: Secret::new(required(
                        &var,
                        "twilio.auth_token (TWILIO_AUTH_TOKEN)",
                        "TWILIO_AUTH_TOKEN",
                    )?),
                    from: var("TWILIO_FROM"),
                    messaging_service_sid: var("TWILIO_MESSAGING_SERVICE_SID"),
                    voice_from: var("TWILIO_VOICE_FROM"),
                    voice_language: var("TWILIO_VOICE_LANGUAGE").unwrap_or_else(default_voice_language),
                    api_base: var("TWILIO_API_BASE").unwrap_or_else(default_twilio_base),
                }),
                "vonage" => ProviderConfig::Vonage(VonageConfig {
                    api_key: var("VONAGE_API_KEY"),
                    api_secret: var("VONAGE_API_SECRET").map(Secret::new),
                    from: var("VONAGE_FROM"),
                    application_id: var("VONAGE_APPLICATION_ID"),
                    private_key: var("VONAGE_PRIVATE_KEY").map(Secret::new),
                    private_key_path: var("VONAGE_PRIVATE_KEY_PATH"),
                    voice_from: var("VONAGE_VOICE_FROM"),
                    voice_language: var("VONAGE_VOICE_LANGUAGE").unwrap_or_else(default_voice_language),
                    sms_base: var("VONAGE_SMS_BASE").unwrap_or_else(default_vonage_sms_base),
                    voice_base: var("VONAGE_VOICE_BASE").unwrap_or_else(default_vonage_voice_base),
                }),
                "webhook" => ProviderConfig::Webhook(WebhookConfig {
                    url: required(&var, "webhook.url (MFA_WEBHOOK_URL)", "MFA_WEBHOOK_URL")?,
                    secrets: required(&var, "webhook.secrets (MFA_WEBHOOK_SECRET)", "MFA_WEBHOOK_SECRET")?
                        .split_ascii_whitespace()
                        .map(Secret::new)
                        .collect(),
                    locale: var("MFA_WEBHOOK_LOCALE").unwrap_or_else(default_locale),
                }),
                _ => return Err(ConfigError::UnknownProvider { name: name.clone() }),
            });
        }
        let defaults = HttpConfig::default();
        let http = HttpConfig {
            attempt_timeout_ms: number(
                &var,
                "http.attempt_timeout_ms (MFA_DELIVERY_ATTEMPT_TIMEOUT_MS)",
                "MFA_DELIVERY_ATTEMPT_TIMEOUT_MS",
                defaults.attempt_timeout_ms,
            )?,
            connect_timeout_ms: number(
                &var,
                "http.connect_timeout_ms (MFA_DELIVERY_CONNECT_TIMEOUT_MS)",
                "MFA_DELIVERY_CONNECT_TIMEOUT_MS",
                defaults.connect_timeout_ms,
            )?,
            max_attempts: number(
                &var,
                "http.max_attempts (MFA_DELIVERY_MAX_ATTEMPTS)",
                "MFA_DELIVERY_MAX_ATTEMPTS",
                defaults.max_attempts,
            )?,
            retry_backoff_ms: number(
                &var,
                "http.retry_backoff_ms (MFA_DELIVERY_RETRY_BACKOFF_MS)",
                "MFA_DELIVERY_RETRY_BACKOFF_MS",
                defaults.retry_backoff_ms,
            )?,
            max_retry_after_ms: number(
                &var,
                "http.max_retry_after_ms (MFA_DELIVERY_MAX_RETRY_AFTER_MS)",
                "MFA_DELIVERY_MAX_RETRY_AFTER_MS",
                defaults.max_retry_after_ms,
            )?,
            call_timeout_ms: number(
                &var,
                "http.call_timeout_ms (MFA_DELIVERY_CALL_TIMEOUT_MS)",
                "MFA_DELIVERY_CALL_TIMEOUT_MS",
                defaults.call_timeout_ms,
            )?,
        };
        Ok(Some(DeliveryConfig {
            providers,
            http,
            sms: SmsTemplate {
                webotp_domain: var("MFA_DELIVERY_WEBOTP_DOMAIN"),
            },
        }))
    }

    /// Checks every setting and builds the delivery: each provider on one shared
    /// [`HttpClient`](crate::HttpClient), cut off after `http.call_timeout_ms` ([`Timeout`]), logged
    /// ([`Traced`]), the next provider taking over on transient errors ([`Failover`]).
    pub fn build(&self) -> Result<BoxedProvider, ConfigError> {
        self.http.validate()?;
        self.sms.validate()?;
        let Some((last, rest)) = self.providers.split_last() else {
            return Err(ConfigError::Missing {
                field: "providers (MFA_DELIVERY_PROVIDER)",
            });
        };
        #[cfg(feature = "http")]
        let http = crate::HttpClient::new(&self.http)?;
        #[cfg(feature = "http")]
        let limit = Duration::from_millis(self.http.call_timeout_ms);
        let one = |config: &ProviderConfig| -> Result<BoxedProvider, ConfigError> {
            match config {
                #[cfg(feature = "twilio")]
                ProviderConfig::Twilio(twilio) => Ok(wrap(
                    crate::Twilio::new(twilio, http.clone(), self.sms.clone())?,
                    limit,
                )),
                #[cfg(feature = "vonage")]
                ProviderConfig::Vonage(vonage) => Ok(wrap(
                    crate::Vonage::new(vonage, http.clone(), self.sms.clone())?,
                    limit,
                )),
                #[cfg(feature = "webhook")]
                ProviderConfig::Webhook(webhook) => Ok(wrap(
                    crate::Webhook::new(webhook, http.clone(), self.sms.clone())?,
                    limit,
                )),
                #[allow(unreachable_patterns)]
                other => Err(ConfigError::FeatureDisabled {
                    provider: other.name(),
                }),
            }
        };
        let mut chain = one(last)?;
        for config in rest.iter().rev() {
            chain = BoxedProvider::new(Failover::new(one(config)?, chain));
        }
        Ok(chain)
    }
}

#[cfg_attr(not(feature = "http"), allow(dead_code))]
fn wrap<P: Provider + 'static>(provider: P, limit: Duration) -> BoxedProvider {
    BoxedProvider::new(Traced::new(Timeout::new(provider, limit)))
}

fn required(
    var: &impl Fn(&str) -> Option<String>,
    field: &'static str,
    name: &str,
) -> Result<String, ConfigError> {
    var(name).ok_or(ConfigError::Missing { field })
}

fn number<T: core::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    field: &'static str,
    name: &str,
    default: T,
) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| ConfigError::Invalid {
            field,
            reason: "must be a whole number".to_owned(),
        }),
    }
}

/// The delivery the environment configures, for [`mfa::Mfa<S, BoxedPhoneDelivery>`](mfa::Mfa):
/// `Ok(None)` when no provider is configured (keep the development delivery), an error when the
/// configuration cannot work. Call it once at start-up. See [`DeliveryConfig::from_vars`] for how
/// the provider is chosen and the crate's README for every variable.
///
/// ```
/// use mfa::{BoxedPhoneDelivery, DevPhoneDelivery};
///
/// let delivery = match mfa_delivery::from_env()? {
///     Some(provider) => provider,
///     None => BoxedPhoneDelivery::new(DevPhoneDelivery), // development
/// };
/// # let _ = delivery;
/// # Ok::<(), mfa_delivery::ConfigError>(())
/// ```
pub fn from_env() -> Result<Option<BoxedPhoneDelivery>, ConfigError> {
    match DeliveryConfig::from_env()? {
        Some(config) => Ok(Some(BoxedPhoneDelivery::new(config.build()?))),
        None => Ok(None),
    }
}
