//! The push protocol over HTTP: one POST of a JSON body, its reply read within the protocol's size
//! limit, and every failure as a typed [`PushError`] with what to do about it.

use std::fmt;
use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use mfa_push::{ErrorBody, ErrorCode, MAX_BODY_BYTES, UnixTime};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use rustls_platform_verifier::BuilderVerifierExt as _;

/// Connect and whole-request time limits.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request to the service failed.
#[derive(Debug)]
pub(crate) enum PushError {
    /// The HTTP client could not be built (TLS configuration, the system's root certificates).
    Client(String),
    /// The service could not be reached, or the connection failed (DNS, TCP, TLS, a timeout).
    Transport { url: String, reason: String },
    /// The service answered with one of the protocol's errors (PROTOCOL.md, section 9).
    Service {
        code: ErrorCode,
        status: u16,
        server_time: UnixTime,
        retry_after: Option<u64>,
    },
    /// The service answered with a status and a body that are not the protocol's.
    UnexpectedStatus { status: u16 },
    /// The reply is longer than the protocol allows.
    TooLarge,
    /// A reply that is not the protocol's message, or that does not verify.
    Protocol {
        what: &'static str,
        error: mfa_push::Error,
    },
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Client(reason) => write!(f, "cannot set up the HTTPS client: {reason}"),
            PushError::Transport { url, reason } => write!(f, "cannot reach {url}: {reason}"),
            PushError::Service {
                code,
                status,
                server_time,
                retry_after,
            } => {
                write!(f, "the service refused the request ({status} {code}): ")?;
                match code {
                    ErrorCode::Malformed => f.write_str(
                        "it could not read the request; this authenticator and the service disagree on the protocol",
                    ),
                    ErrorCode::UnsupportedVersion => {
                        f.write_str("it speaks another version of the protocol than this authenticator (1)")
                    }
                    ErrorCode::Unauthorized => f.write_str(
                        "it does not know this device, or the signature did not verify: the enrollment was \
                         removed or revoked; enroll again",
                    ),
                    ErrorCode::ClockSkew => write!(
                        f,
                        "this computer's clock is more than 60 s off the service's (which says {}): set the clock",
                        server_time_text(*server_time)
                    ),
                    ErrorCode::NotPending => f.write_str(
                        "no such request is pending for this device: it was answered, ended, or is for another device",
                    ),
                    ErrorCode::Replayed => f.write_str("it had already received this request (replay); try again"),
                    ErrorCode::EnrollmentUnusable => f.write_str(
                        "the enrollment offer is unknown, already used, expired, or its secret does not match; \
                         ask for a new QR code",
                    ),
                    ErrorCode::Expired => f.write_str("the sign-in request expired"),
                    ErrorCode::TooLarge => f.write_str("the request was too large for it"),
                    ErrorCode::RateLimited => match retry_after {
                        Some(s) => write!(f, "too many requests; try again in {s} s"),
                        None => f.write_str("too many requests; try again later"),
                    },
                    ErrorCode::Internal => f.write_str("the service failed; try again later"),
                    _ => f.write_str("an error of the protocol this authenticator does not know"),
                }
            }
            PushError::UnexpectedStatus { status } => write!(
                f,
                "the service answered HTTP {status} without a protocol error body: is the URL the push endpoints' base?"
            ),
            PushError::TooLarge => write!(f, "the service's reply is longer than {MAX_BODY_BYTES} bytes"),
            PushError::Protocol { what, error } => write!(f, "the service's {what} is not valid: {error}"),
        }
    }
}

impl PushError {
    /// Worth trying again later, as `watch` does: the network, the service's load, its failures.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            PushError::Transport { .. }
                | PushError::Service {
                    code: ErrorCode::RateLimited | ErrorCode::Internal | ErrorCode::Replayed,
                    ..
                }
        )
    }
}

fn server_time_text(t: UnixTime) -> String {
    u64::try_from(t.as_secs()).map_or_else(|_| t.as_secs().to_string(), crate::cli::rfc3339)
}

/// The device's clock, to the millisecond.
pub(crate) fn now() -> UnixTime {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    UnixTime::from_millis(millis)
}

/// The client: TLS by rustls with the *ring* provider and the operating system's roots (as
/// mfa-delivery's), HTTP/1.1, no redirects, no proxy, time limits. `http://` works for the loopback
/// base URLs the protocol allows in development.
#[derive(Debug)]
pub(crate) struct Client(reqwest::blocking::Client);

impl Client {
    pub(crate) fn new() -> Result<Self, PushError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| PushError::Client(format!("TLS versions: {e}")))?
            .with_platform_verifier()
            .map_err(|e| PushError::Client(format!("the system's root certificates: {e}")))?
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let client = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(concat!("mfa-authenticator/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| PushError::Client(e.without_url().to_string()))?;
        Ok(Client(client))
    }

    /// POSTs `body` to `url`; returns the status and the body of a 2xx reply, or the typed error of any
    /// other.
    pub(crate) fn post(&self, url: &str, body: &str) -> Result<(u16, Vec<u8>), PushError> {
        let transport = |e: reqwest::Error| PushError::Transport {
            url: url.to_owned(),
            reason: error_chain(&e.without_url()),
        };
        let response = self
            .0
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(CACHE_CONTROL, "no-store")
            .body(body.to_owned())
            .send()
            .map_err(transport)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut reply = Vec::new();
        response
            .take(MAX_BODY_BYTES as u64 + 1)
            .read_to_end(&mut reply)
            .map_err(|e| PushError::Transport {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        if reply.len() > MAX_BODY_BYTES {
            return Err(PushError::TooLarge);
        }
        if (200..300).contains(&status) {
            return Ok((status, reply));
        }
        match ErrorBody::from_json(&reply) {
            Ok(error) => Err(PushError::Service {
                code: error.code(),
                status,
                server_time: error.server_time(),
                retry_after,
            }),
            Err(_) => Err(PushError::UnexpectedStatus { status }),
        }
    }
}

/// An error and its sources on one line ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}
