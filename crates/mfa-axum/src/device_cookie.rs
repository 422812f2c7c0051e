//! The remembered-device cookie ("don't ask again on this device").

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponseParts, ResponseParts};
use cookie::{Cookie, SameSite};
use mfa::{Mfa, PhoneDelivery, Store, UnixTime, Verified};

use crate::{ErrorResponse, MfaWeb};

/// A `Set-Cookie` for the remembered-device cookie: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure`
/// unless [`WebConfig::secure_cookies`](crate::WebConfig::secure_cookies) is off, and a `Max-Age` up
/// to the device's lapse instant (`Max-Age=0` to clear it). Return it as a response part.
///
/// `Debug` hides the token.
#[derive(Clone)]
pub struct DeviceCookie {
    header: HeaderValue,
    max_age: i64,
}

impl core::fmt::Debug for DeviceCookie {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceCookie")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl DeviceCookie {
    /// The cookie's `Max-Age` in seconds (0: cleared).
    pub fn max_age(&self) -> i64 {
        self.max_age
    }

    /// Whether this clears the cookie.
    pub fn is_clear(&self) -> bool {
        self.max_age == 0
    }
}

impl IntoResponseParts for DeviceCookie {
    type Error = core::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.headers_mut().append(header::SET_COOKIE, self.header);
        Ok(res)
    }
}

/// The device cookie's value in a request's `Cookie` headers, if any.
///
/// ```
/// use axum::http::{HeaderMap, HeaderValue, header};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(header::COOKIE, HeaderValue::from_static("id=1; mfa_device=abc"));
/// assert_eq!(mfa_axum::device_cookie(&headers, "mfa_device").as_deref(), Some("abc"));
/// assert_eq!(mfa_axum::device_cookie(&headers, "other"), None);
/// ```
pub fn device_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

impl MfaWeb {
    /// The remembered-device token the request carries, if any.
    pub fn device_token(&self, headers: &HeaderMap) -> Option<String> {
        device_cookie(headers, &self.config().device_cookie_name)
    }

    /// Remembers the device after `proof` ([`Mfa::remember_device`]) and answers its cookie, whose
    /// `Max-Age` runs to the device's lapse instant.
    pub async fn remember_device<S: Store, P: PhoneDelivery>(
        &self,
        mfa: &Mfa<S, P>,
        proof: &Verified,
        name: &str,
    ) -> Result<DeviceCookie, ErrorResponse> {
        let device = mfa
            .remember_device(proof, name)
            .await
            .map_err(|e| self.error(e))?;
        Ok(self.device_cookie_set(device.token.expose(), device.lapses_at))
    }

    pub(crate) fn device_cookie_set(&self, token: &str, lapses_at: UnixTime) -> DeviceCookie {
        // Whole seconds left, rounded down: the cookie never outlives the device.
        let max_age = (lapses_at.as_millis() - self.now().as_millis()).max(0) / 1000;
        self.device_cookie_with(token.to_owned(), max_age)
    }

    pub(crate) fn device_cookie_clear(&self) -> DeviceCookie {
        self.device_cookie_with(String::new(), 0)
    }

    fn device_cookie_with(&self, value: String, max_age: i64) -> DeviceCookie {
        let config = self.config();
        let cookie = Cookie::build((config.device_cookie_name.clone(), value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(config.secure_cookies)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age))
            .build();
        // A token is base64url; a cookie name a header cannot carry (a configuration mistake) makes
        // a clearing cookie of the default name instead of a panic.
        match HeaderValue::from_str(&cookie.to_string()) {
            Ok(header) => DeviceCookie { header, max_age },
            Err(_) => DeviceCookie {
                header: HeaderValue::from_static("mfa_device=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"),
                max_age: 0,
            },
        }
    }
}
