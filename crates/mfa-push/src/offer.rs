use core::fmt;
use std::time::Duration;

use mfa_policy::UnixTime;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use zeroize::Zeroizing;

use crate::check::display_text;
use crate::{EnrollmentId, EnrollmentSecret, Error, PROTOCOL_VERSION, PendingEnrollment, ServicePublicKey};

/// How long an enrollment offer (a QR code) can be answered: 4 minutes.
pub const ENROLLMENT_TTL: Duration = Duration::from_secs(240);
/// The longest lifetime an offer may have: 15 minutes.
pub const MAX_ENROLLMENT_TTL: Duration = Duration::from_secs(900);
/// The longest base URL, in bytes.
pub const MAX_BASE_URL_LEN: usize = 256;
/// The longest issuer, in bytes of UTF-8.
pub const MAX_ISSUER_LEN: usize = 64;
/// The longest account label, in bytes of UTF-8.
pub const MAX_ACCOUNT_LEN: usize = 128;
/// The longest enrollment URI a parser reads, in bytes.
pub const MAX_URI_LEN: usize = 2048;

/// The enrollment URI's scheme and host: `mfa-push://enroll`.
const PREFIX: &str = "mfa-push://enroll?";

/// Left as they are in parameter values: RFC 3986 "unreserved" only; everything else is
/// percent-encoded (a space is `%20`, never `+`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The device endpoints, relative to the base URL of the enrollment URI.
///
/// ```
/// use mfa_push::Endpoint;
///
/// assert_eq!(Endpoint::Answer.url("https://example.com/mfa/push"), "https://example.com/mfa/push/answer");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST {base}/enroll`: the enrollment answer.
    Enroll,
    /// `POST {base}/pending`: fetch the pending challenges.
    Pending,
    /// `POST {base}/answer`: answer one challenge.
    Answer,
}

impl Endpoint {
    /// Its path below the base URL: `"enroll"`, `"pending"` or `"answer"`.
    pub const fn path(self) -> &'static str {
        match self {
            Endpoint::Enroll => "enroll",
            Endpoint::Pending => "pending",
            Endpoint::Answer => "answer",
        }
    }

    /// `base_url/path`.
    pub fn url(self, base_url: &str) -> String {
        format!("{base_url}/{}", self.path())
    }
}

/// What an [`EnrollmentOffer`] is made of (all public, for the facade and test vectors).
#[derive(Debug, Clone)]
pub struct OfferParts {
    /// The base URL of the device endpoints (see [`EnrollmentOffer::base_url`]).
    pub base_url: String,
    /// The one-time enrollment id.
    pub enrollment_id: EnrollmentId,
    /// The secret nonce.
    pub secret: EnrollmentSecret,
    /// The last instant (in whole seconds) the offer can be answered.
    pub expires_at: UnixTime,
    /// The key the service signs with.
    pub service_key: ServicePublicKey,
    /// Who the account is with, shown in the authenticator's list ("Example Corp").
    pub issuer: String,
    /// Whose account it is, shown under the issuer ("alice@example.com").
    pub account: String,
}

/// An enrollment offer: what the QR code on the registration page carries, as an `mfa-push://enroll`
/// URI (PROTOCOL.md, "Enrollment URI").
///
/// The service makes one with [`generate`](Self::generate), shows [`to_uri`](Self::to_uri) as a QR
/// code and keeps [`pending`](Self::pending); the device reads it with [`parse`](Self::parse) and
/// answers with [`EnrollmentAnswer::sign`](crate::EnrollmentAnswer::sign). It holds the secret:
/// `Debug` does not show it, the URI is zeroized on drop.
///
/// ```
/// use mfa_push::{EnrollmentOffer, ServiceKey, UnixTime};
///
/// let service = ServiceKey::generate()?;
/// let now = UnixTime::from_secs(1_700_000_000);
/// let offer = EnrollmentOffer::generate("https://example.com/mfa/push", service.public_key(), "Example", "alice", now)?;
/// let uri = offer.to_uri();
/// assert!(uri.starts_with("mfa-push://enroll?v=1&url=https%3A%2F%2Fexample.com%2Fmfa%2Fpush&id="));
///
/// let read = EnrollmentOffer::parse(&uri)?;
/// assert_eq!(read.enrollment_id(), offer.enrollment_id());
/// assert_eq!(read.expires_at(), UnixTime::from_secs(1_700_000_240));
/// assert!(!format!("{read:?}").contains(&*read.secret().to_text()));
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Clone)]
pub struct EnrollmentOffer {
    base_url: String,
    enrollment_id: EnrollmentId,
    secret: EnrollmentSecret,
    expires_at: i64,
    service_key: ServicePublicKey,
    issuer: String,
    account: String,
}

impl EnrollmentOffer {
    /// A checked offer of these parts.
    pub fn new(parts: OfferParts) -> Result<Self, Error> {
        check_base_url(&parts.base_url)?;
        display_text(&parts.issuer, "issuer", MAX_ISSUER_LEN, false)?;
        display_text(&parts.account, "account", MAX_ACCOUNT_LEN, false)?;
        Ok(EnrollmentOffer {
            base_url: parts.base_url,
            enrollment_id: parts.enrollment_id,
            secret: parts.secret,
            expires_at: parts.expires_at.as_secs(),
            service_key: parts.service_key,
            issuer: parts.issuer,
            account: parts.account,
        })
    }

    /// A new offer with a random id and secret, answerable for [`ENROLLMENT_TTL`] from `now`.
    pub fn generate(
        base_url: &str,
        service_key: ServicePublicKey,
        issuer: &str,
        account: &str,
        now: UnixTime,
    ) -> Result<Self, Error> {
        Self::new(OfferParts {
            base_url: base_url.to_owned(),
            enrollment_id: EnrollmentId::generate()?,
            secret: EnrollmentSecret::generate()?,
            expires_at: UnixTime::from_secs(now.as_secs()).saturating_add(ENROLLMENT_TTL),
            service_key,
            issuer: issuer.to_owned(),
            account: account.to_owned(),
        })
    }

    /// The base URL of the device endpoints: `https://` (or `http://` to `localhost`, `127.0.0.1` or
    /// `[::1]`, for development), a host, an optional port and path, no query, fragment, user name or
    /// trailing `/`; at most [`MAX_BASE_URL_LEN`] bytes of ASCII.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The one-time id.
    pub fn enrollment_id(&self) -> &EnrollmentId {
        &self.enrollment_id
    }

    /// The secret nonce.
    pub fn secret(&self) -> &EnrollmentSecret {
        &self.secret
    }

    /// The last second the offer can be answered.
    pub fn expires_at(&self) -> UnixTime {
        UnixTime::from_secs(self.expires_at)
    }

    /// The service's public key, which the device pins.
    pub fn service_key(&self) -> &ServicePublicKey {
        &self.service_key
    }

    /// Who the account is with.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whose account it is.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// What the service keeps until the offer is answered or expires.
    pub fn pending(&self) -> PendingEnrollment {
        PendingEnrollment::new(
            self.enrollment_id.clone(),
            self.secret.digest(),
            self.expires_at(),
        )
    }

    /// The `mfa-push://enroll?...` URI, parameters in the order of PROTOCOL.md. It holds the secret:
    /// show it as a QR code to the user who is enrolling, never log it.
    pub fn to_uri(&self) -> Zeroizing<String> {
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        Zeroizing::new(format!(
            "{PREFIX}v={PROTOCOL_VERSION}&url={}&id={}&secret={}&exp={}&key={}&issuer={}&account={}",
            enc(&self.base_url),
            self.enrollment_id,
            &*self.secret.to_text(),
            self.expires_at,
            self.service_key,
            enc(&self.issuer),
            enc(&self.account),
        ))
    }

    /// Reads an enrollment URI. The scheme and host match without regard to case; parameters come in
    /// any order, each at most once; unknown parameters are ignored; values are percent-decoded
    /// (`+` is a plus sign).
    pub fn parse(uri: &str) -> Result<Self, Error> {
        const WHAT: &str = "enrollment URI";
        if uri.len() > MAX_URI_LEN {
            return Err(Error::Malformed {
                what: WHAT,
                reason: "longer than 2048 bytes",
            });
        }
        let query = uri
            .get(..PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(PREFIX))
            .map(|_| &uri[PREFIX.len()..])
            .ok_or(Error::Malformed {
                what: WHAT,
                reason: "does not begin with mfa-push://enroll?",
            })?;
        if query.contains('#') {
            return Err(Error::Malformed {
                what: WHAT,
                reason: "has a fragment",
            });
        }
        let mut v = None;
        let mut url = None;
        let mut id = None;
        let mut secret = None;
        let mut exp = None;
        let mut key = None;
        let mut issuer = None;
        let mut account = None;
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').ok_or(Error::Malformed {
                what: WHAT,
                reason: "a parameter without '='",
            })?;
            // Unknown parameters are ignored, but must be well formed too.
            let value = decode(value)?;
            let slot = match name {
                "v" => &mut v,
                "url" => &mut url,
                "id" => &mut id,
                "secret" => &mut secret,
                "exp" => &mut exp,
                "key" => &mut key,
                "issuer" => &mut issuer,
                "account" => &mut account,
                _ => continue,
            };
            if slot.is_some() {
                return Err(Error::Malformed {
                    what: WHAT,
                    reason: "a parameter appears twice",
                });
            }
            *slot = Some(value);
        }
        let missing = |what: &'static str| Error::Malformed {
            what,
            reason: "missing",
        };
        match v.as_deref() {
            None => return Err(missing("v")),
            Some("1") => {}
            Some(_) => return Err(Error::UnsupportedVersion),
        }
        let secret = Zeroizing::new(secret.ok_or(missing("secret"))?);
        let exp = exp.ok_or(missing("exp"))?;
        Self::new(OfferParts {
            base_url: url.ok_or(missing("url"))?,
            enrollment_id: EnrollmentId::new(&id.ok_or(missing("id"))?)?,
            secret: secret.parse()?,
            expires_at: UnixTime::from_secs(parse_secs(&exp, "exp")?),
            service_key: key.ok_or(missing("key"))?.parse()?,
            issuer: issuer.ok_or(missing("issuer"))?,
            account: account.ok_or(missing("account"))?,
        })
    }
}

impl fmt::Debug for EnrollmentOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollmentOffer")
            .field("base_url", &self.base_url)
            .field("enrollment_id", &self.enrollment_id)
            .field("expires_at", &self.expires_at)
            .field("service_key", &self.service_key)
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// Whole seconds since the epoch: optional `-`, 1 to 19 ASCII digits, no leading zero.
pub(crate) fn parse_secs(text: &str, what: &'static str) -> Result<i64, Error> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = !digits.is_empty()
        && digits.len() <= 19
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    match text.parse::<i64>() {
        Ok(n) if plain && text != "-0" => Ok(n),
        _ => Err(Error::Malformed {
            what,
            reason: "not an integer number of seconds",
        }),
    }
}

/// Strict percent-decoding into UTF-8: every `%` starts two hexadecimal digits.
fn decode(text: &str) -> Result<String, Error> {
    const WHAT: &str = "enrollment URI";
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
            match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => {
                    return Err(Error::Malformed {
                        what: WHAT,
                        reason: "a '%' not followed by two hexadecimal digits",
                    });
                }
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::Malformed {
        what: WHAT,
        reason: "a percent-encoded value that is not UTF-8",
    })
}

fn check_base_url(url: &str) -> Result<(), Error> {
    let bad = |reason: &'static str| Error::Malformed { what: "url", reason };
    if url.len() > MAX_BASE_URL_LEN {
        return Err(bad("longer than 256 bytes"));
    }
    let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(bad(
            "must begin with https:// (or http:// to the loopback address)",
        ));
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']').ok_or(bad("an IPv6 host without ']'"))?;
        let (host, rest) = authority.split_at(end + 1);
        if !host[1..end]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            || end < 3
        {
            return Err(bad("not an IPv6 address between '[' and ']'"));
        }
        (host, rest)
    } else {
        let end = authority.find(':').unwrap_or(authority.len());
        let (host, rest) = authority.split_at(end);
        let label_ok = |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !host.split('.').all(label_ok) {
            return Err(bad(
                "the host may hold only letters, digits, '-' and '.' between labels",
            ));
        }
        (host, rest)
    };
    if !port.is_empty() {
        let digits = port.strip_prefix(':').unwrap_or("");
        if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("a port must be ':' and 1 to 5 digits"));
        }
    }
    if !secure && !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
        return Err(bad("http:// is allowed only to localhost, 127.0.0.1 or [::1]"));
    }
    let path_ok = path.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'/' | b'-'
                    | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            )
    });
    if !path_ok {
        return Err(bad(
            "the path may hold only RFC 3986 path characters (no query, fragment, space or non-ASCII)",
        ));
    }
    if url.ends_with('/') {
        return Err(bad("ends with '/'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        for good in [
            "https://example.com",
            "https://example.com:8443/mfa/push",
            "http://127.0.0.1:8080/push",
            "http://localhost",
            "http://[::1]:3000/a",
            "https://[2001:db8::1]/x",
        ] {
            assert!(check_base_url(good).is_ok(), "{good}");
        }
        for bad in [
            "https://example.com/",
            "ftp://example.com",
            "http://example.com/push",
            "http://127.0.0.2/push",
            "https://user@example.com",
            "https://example.com/a?b=c",
            "https://example.com/a#b",
            "https://example.com/a b",
            "https://",
            "https://exämple.com",
            "http://[::1]evil/a",
            "https://example.com:/a",
            "https://example.com:80:80",
            "https://a..b",
            "https://[]",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seconds_are_plain_integers() {
        assert_eq!(parse_secs("1700000000", "t"), Ok(1_700_000_000));
        assert_eq!(parse_secs("-5", "t"), Ok(-5));
        assert_eq!(parse_secs("0", "t"), Ok(0));
        for bad in ["", "+5", "05", "-0", "1e3", " 5", "99999999999999999999"] {
            assert!(parse_secs(bad, "t").is_err(), "{bad}");
        }
    }
}
