use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::Url;

use crate::Error;

/// The relying party: the site that passkeys and security keys are registered with.
///
/// `rp_id` is what credentials are bound to: changing it later makes every registered credential
/// unusable. It is the origin's host or a registrable suffix of it (`example.com` for
/// `https://login.example.com`), in lowercase, without scheme or port. `origin` is where the
/// pages that run the ceremonies are served from: `https://` with a host within `rp_id`, or
/// `http://localhost` (any port, `rp_id` `localhost`) for development; browsers refuse WebAuthn on
/// other plain-HTTP origins and on IP addresses. `extra_origins` are further such origins that may
/// run ceremonies for the same `rp_id` (another subdomain, another port).
///
/// ```
/// use mfa_webauthn::WebauthnConfig;
///
/// let config: WebauthnConfig = serde_json::from_str(
///     r#"{"rp_id": "example.com", "rp_name": "Example", "origin": "https://example.com",
///         "extra_origins": ["https://login.example.com"]}"#,
/// )?;
/// assert_eq!(config.extra_origins.len(), 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebauthnConfig {
    /// The relying party id, such as `example.com`.
    pub rp_id: String,
    /// The name that browsers and authenticators may show, such as `Example`.
    pub rp_name: String,
    /// The origin the ceremonies run on, such as `https://example.com`.
    pub origin: String,
    /// Further allowed origins, such as `https://login.example.com`.
    #[serde(default)]
    pub extra_origins: Vec<String>,
}

/// The longest relying party name accepted (authenticators may cut names at 64 bytes).
const MAX_RP_NAME_LEN: usize = 64;

/// What [`WebauthnConfig`] holds, checked.
pub(crate) struct Checked {
    pub(crate) origin: Url,
    pub(crate) extra_origins: Vec<Url>,
}

impl WebauthnConfig {
    pub(crate) fn check(&self) -> Result<Checked, Error> {
        check_rp_id(&self.rp_id)?;
        let name = self.rp_name.trim();
        if name.is_empty() {
            return Err(invalid("rp_name", "must not be empty"));
        }
        if name.len() > MAX_RP_NAME_LEN {
            return Err(invalid("rp_name", "must be at most 64 bytes"));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("rp_name", "must not contain control characters"));
        }
        let origin = check_origin(&self.origin, &self.rp_id, "origin")?;
        let extra_origins = self
            .extra_origins
            .iter()
            .map(|o| check_origin(o, &self.rp_id, "extra_origins"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Checked {
            origin,
            extra_origins,
        })
    }
}

fn invalid(field: &'static str, reason: &'static str) -> Error {
    Error::InvalidConfig { field, reason }
}

fn check_rp_id(rp_id: &str) -> Result<(), Error> {
    let field = "rp_id";
    if rp_id.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if rp_id.contains("://") || rp_id.contains('/') || rp_id.contains(':') {
        return Err(invalid(
            field,
            "must be a bare domain such as example.com: no scheme, port or path",
        ));
    }
    if rp_id.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(invalid(
            field,
            "an IP address cannot be a relying party id; use localhost for development",
        ));
    }
    if rp_id.len() > 253 {
        return Err(invalid(field, "must be at most 253 characters"));
    }
    let labels_ok = rp_id.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if !labels_ok {
        return Err(invalid(
            field,
            "must be a lowercase domain name (letters, digits, hyphens; punycode for other scripts)",
        ));
    }
    if !rp_id.contains('.') && rp_id != "localhost" {
        return Err(invalid(
            field,
            "must be a registrable domain such as example.com, or localhost",
        ));
    }
    Ok(())
}

fn check_origin(origin: &str, rp_id: &str, field: &'static str) -> Result<Url, Error> {
    let url = Url::parse(origin).map_err(|_| invalid(field, "is not a URL such as https://example.com"))?;
    let host = match (url.domain(), url.host_str()) {
        (Some(domain), _) => domain,
        (None, Some(_)) => {
            return Err(invalid(
                field,
                "an IP address origin cannot run WebAuthn; use http://localhost for development",
            ));
        }
        (None, None) => return Err(invalid(field, "has no host")),
    };
    let localhost = host == "localhost" || host.ends_with(".localhost");
    match url.scheme() {
        "https" => {}
        "http" if localhost => {}
        "http" => return Err(invalid(field, "must use https (plain http only on localhost)")),
        _ => return Err(invalid(field, "must be an https:// origin")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(field, "must not contain a user name or password"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            field,
            "must be an origin only: no path, query or fragment",
        ));
    }
    let within = host == rp_id
        || host
            .strip_suffix(rp_id)
            .is_some_and(|prefix| prefix.ends_with('.'));
    if !within {
        return Err(invalid(field, "its host must be rp_id or a subdomain of it"));
    }
    Ok(url)
}
