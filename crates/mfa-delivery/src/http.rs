//! The one HTTPS client every provider shares, and its bounded retries.

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode, Url};
use rustls_platform_verifier::BuilderVerifierExt as _;

use mfa::PhoneNumber;

use crate::{ConfigError, HttpConfig, SendError};

/// The most of an answer's body that is read: providers answer with a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

/// The HTTPS client the providers share: one connection pool, TLS by rustls with the *ring*
/// cryptography and the operating system's root certificates (no OpenSSL), HTTP/1.1, no redirects,
/// a timeout per attempt, and the retry policy of its [`HttpConfig`]. Clones share the pool.
///
/// ```
/// use mfa_delivery::{HttpClient, HttpConfig};
///
/// let http = HttpClient::new(&HttpConfig::default())?;
/// # let _ = http;
/// # Ok::<(), mfa_delivery::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    config: Arc<HttpConfig>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with `config`'s timeouts and retries, checked first.
    pub fn new(config: &HttpConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let client_error = |reason: String| ConfigError::Client { reason };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| client_error(format!("TLS versions: {e}")))?
            .with_platform_verifier()
            .map_err(|e| client_error(format!("the system's root certificates: {e}")))?
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(concat!("mfa-delivery/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(config.attempt_timeout_ms))
            .build()
            .map_err(|e| client_error(e.without_url().to_string()))?;
        Ok(HttpClient {
            client,
            config: Arc::new(config.clone()),
        })
    }

    /// The client's settings.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    pub(crate) fn post(&self, url: Url) -> RequestBuilder {
        self.client.post(url)
    }

    /// Sends the request `build` makes for each attempt (numbered from 1) and reads the answer with
    /// `interpret`; retries what it calls [`Verdict::Retry`] (and transport failures) up to the
    /// configured number of attempts, waiting the backoff or the provider's `Retry-After`.
    pub(crate) async fn send<T>(
        &self,
        provider: &'static str,
        mut build: impl FnMut(u32) -> Result<RequestBuilder, SendError> + Send,
        interpret: impl Fn(Answer) -> Verdict<T> + Send,
    ) -> Result<T, SendError> {
        let config = &self.config;
        let mut attempt = 1u32;
        loop {
            let request = build(attempt)?;
            let verdict = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(response.headers());
                    match read_body(response).await {
                        Ok(body) => interpret(Answer {
                            status,
                            retry_after,
                            body,
                        }),
                        // Accepted, then the answer was lost: another attempt might send twice.
                        Err(error) if status.is_success() => {
                            Verdict::Fail(self.transport_error(provider, &error))
                        }
                        Err(error) => Verdict::Retry(self.transport_error(provider, &error)),
                    }
                }
                Err(error) => Verdict::Retry(self.transport_error(provider, &error)),
            };
            let error = match verdict {
                Verdict::Done(value) => return Ok(value),
                Verdict::Fail(error) => return Err(error),
                Verdict::Retry(error) => error,
            };
            if attempt >= config.max_attempts || !error.is_transient() {
                return Err(error);
            }
            let backoff = Duration::from_millis(
                config
                    .retry_backoff_ms
                    .saturating_mul(1u64 << (attempt - 1).min(16)),
            );
            let wait = match &error {
                SendError::RateLimited {
                    retry_after: Some(after),
                    ..
                } => {
                    if after.as_millis() > u128::from(config.max_retry_after_ms) {
                        return Err(error);
                    }
                    *after
                }
                _ => backoff,
            };
            tracing::debug!(
                target: "mfa_delivery",
                provider,
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "{provider} attempt {attempt} failed, retrying: {error}"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    fn transport_error(&self, provider: &'static str, error: &reqwest::Error) -> SendError {
        let detail = if error.is_timeout() {
            format!("no answer within {} ms", self.config.attempt_timeout_ms)
        } else if error.is_connect() {
            "could not connect".to_owned()
        } else {
            // The request went out, the answer did not come back whole (a reset connection).
            "the connection failed before the answer was complete".to_owned()
        };
        SendError::Unavailable { provider, detail }
    }
}

/// What a provider answered.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

/// What to do with an answer.
pub(crate) enum Verdict<T> {
    /// Sent.
    Done(T),
    /// A transient failure worth another attempt.
    Retry(SendError),
    /// A failure another attempt would not change (or that might send twice: a 2xx we cannot read).
    Fail(SendError),
}

impl Answer {
    /// The usual meaning of an error status: 429 and 408 and 5xx are worth retrying, 401 and 403 are
    /// rejected credentials, other statuses are rejected requests. `code` is the provider's error
    /// code, when its body has one.
    pub(crate) fn error_verdict<T>(&self, provider: &'static str, code: Option<&str>) -> Verdict<T> {
        let status = self.status.as_u16();
        let code = code.map(|c| format!(", error {c}")).unwrap_or_default();
        match status {
            429 => Verdict::Retry(SendError::RateLimited {
                provider,
                retry_after: self.retry_after,
            }),
            408 | 500..=599 => Verdict::Retry(SendError::Unavailable {
                provider,
                detail: format!("HTTP {status}{code}"),
            }),
            401 | 403 => Verdict::Fail(SendError::Rejected {
                provider,
                detail: format!("credentials rejected (HTTP {status}{code})"),
            }),
            _ => Verdict::Fail(SendError::Rejected {
                provider,
                detail: format!("HTTP {status}{code}"),
            }),
        }
    }

    /// A success whose body is not what the provider documents: not retried (the provider may have
    /// sent the message), but transient, so a failover moves on.
    pub(crate) fn malformed<T>(&self, provider: &'static str) -> Verdict<T> {
        Verdict::Fail(SendError::Unavailable {
            provider,
            detail: format!(
                "HTTP {} with a body that is not the documented JSON",
                self.status.as_u16()
            ),
        })
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok(body)
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7) as Unix seconds.
fn parse_http_date(value: &str) -> Option<u64> {
    let mut parts = value.split_ascii_whitespace();
    let _weekday = parts.next()?;
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = parts.next()?.parse().ok()?;
    let mut time = parts.next()?.split(':');
    let hour: u64 = time.next()?.parse().ok()?;
    let minute: u64 = time.next()?.parse().ok()?;
    let second: u64 = time.next()?.parse().ok()?;
    if parts.next()? != "GMT"
        || !(1..=31).contains(&day)
        || !(1970..=9999).contains(&year)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), from 1970-01-01.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// A base URL from the configuration: `https`, or `http` to a loopback address (tests, a receiver
/// on the same machine). `field` names the setting in errors.
pub(crate) fn base_url(field: &'static str, value: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        field,
        reason: reason.to_owned(),
    };
    let url = Url::parse(value.trim()).map_err(|_| invalid("is not a URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not hold credentials"));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not have a fragment"));
    }
    let Some(host) = url.host_str() else {
        return Err(invalid("has no host"));
    };
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(invalid(
            "must be https (http only to 127.0.0.1, ::1 or localhost)",
        )),
        _ => Err(invalid("must be an https URL")),
    }
}

/// `base` with `segments` appended to its path.
#[cfg_attr(not(any(feature = "twilio", feature = "vonage")), allow(dead_code))]
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

/// A number already in E.164 form.
#[cfg_attr(not(any(feature = "twilio", feature = "vonage")), allow(dead_code))]
pub(crate) fn is_e164(value: &str) -> bool {
    PhoneNumber::parse(value).is_ok_and(|n| n.as_str() == value)
}

/// A language tag such as `en`, `en-US` or `cmn-Hans-CN`: letters and digits in parts of 1 to 8,
/// joined by hyphens, the first part 2 or 3 letters.
pub(crate) fn is_language_tag(value: &str) -> bool {
    let mut parts = value.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A random id: `prefix`, then 16 random bytes in unpadded base64url (no `.`, as Standard Webhooks
/// asks of message ids).
#[cfg_attr(not(any(feature = "vonage", feature = "webhook")), allow(dead_code))]
pub(crate) fn random_id(provider: &'static str, prefix: &str) -> Result<String, SendError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| SendError::Unavailable {
        provider,
        detail: "the operating system's random generator failed".to_owned(),
    })?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse() {
        // RFC 9110's example, and the Unix epoch.
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
            Some(1_835_481_599)
        );
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 CET"), None);
        assert_eq!(parse_http_date("soon"), None);
        // A year past 9999 is refused, not overflowed.
        assert_eq!(
            parse_http_date("Sun, 06 Nov 100000000000000000 08:49:37 GMT"),
            None
        );
        assert_eq!(
            parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(253_402_300_799)
        );
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, "Thu, 01 Jan 1970 00:00:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
    }

    #[test]
    fn base_urls_are_https_or_loopback() {
        assert!(base_url("f", "https://api.twilio.com").is_ok());
        assert!(base_url("f", "http://127.0.0.1:8080/hook").is_ok());
        assert!(base_url("f", "http://[::1]:8080").is_ok());
        assert!(base_url("f", "http://localhost:9").is_ok());
        assert!(base_url("f", "http://example.com").is_err());
        assert!(base_url("f", "ftp://example.com").is_err());
        assert!(base_url("f", "https://user:pw@example.com").is_err());
        assert!(base_url("f", "not a url").is_err());
    }

    #[test]
    fn paths_join() {
        let base = Url::parse("https://api.twilio.com").unwrap();
        assert_eq!(
            join(&base, &["2010-04-01", "Accounts", "AC1", "Messages.json"]).as_str(),
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
        );
        let prefixed = Url::parse("http://127.0.0.1:1/mock/").unwrap();
        assert_eq!(
            join(&prefixed, &["v1", "calls"]).as_str(),
            "http://127.0.0.1:1/mock/v1/calls"
        );
    }

    #[test]
    fn ids_have_no_dots() {
        let id = random_id("t", "msg_").unwrap();
        assert_eq!(id.len(), 4 + 22);
        assert!(!id.contains('.'));
    }
}
