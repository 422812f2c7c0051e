use core::fmt;
use std::string::String;
use std::vec::Vec;

use mfa_otp::{Algorithm, Hotp, HotpParams, Secret, SecretRule, Totp, TotpParams};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use zeroize::Zeroizing;

use crate::Error;

/// Characters left as they are in labels and parameter values: RFC 3986 "unreserved" only. Everything else,
/// including space, `:`, `@`, `&`, `+`, `%`, `#`, `?`, `/`, `=` and every non-ASCII byte of the UTF-8
/// encoding, is percent-encoded, so no reader can mistake it for a delimiter (and `+` is never read as a
/// space by form decoders such as Python's `parse_qsl`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// TOTP or HOTP, with the value that only that type has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Time-based (RFC 6238): codes change every `period` seconds.
    Totp {
        /// Time step in seconds, at least 1.
        period: u64,
    },
    /// Counter-based (RFC 4226): `counter` is the moving factor of the next code.
    Hotp {
        /// The initial counter.
        counter: u64,
    },
}

impl Kind {
    /// `"totp"` or `"hotp"`, as in the URI.
    ///
    /// ```
    /// assert_eq!(mfa_enroll::Kind::Hotp { counter: 0 }.name(), "hotp");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Totp { .. } => "totp",
            Kind::Hotp { .. } => "hotp",
        }
    }
}

/// What to do when the issuer prefix of the label and the `issuer` parameter differ.
///
/// The Key Uri Format says both "should be equal"; [`KeyUri::parse`] refuses a URI where they are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum IssuerConflict {
    /// Refuse the URI with [`Error::IssuerMismatch`].
    #[default]
    Reject,
    /// Take the `issuer` parameter, as Google Authenticator does, and ignore the label prefix.
    PreferParameter,
}

/// One credential as an authenticator app sees it: secret, type, issuer, account and code settings.
///
/// Read from an `otpauth://` Key URI with [`parse`](Self::parse), from an authenticator export with
/// [`Migration::parse`](crate::Migration::parse), or built with [`totp`](Self::totp) / [`hotp`](Self::hotp)
/// and the `with_*` methods; written with [`to_uri`](Self::to_uri). The secret is an [`mfa_otp::Secret`]:
/// zeroized on drop and absent from `Debug`.
///
/// ```
/// use mfa_enroll::{KeyUri, Kind};
/// use mfa_otp::Algorithm;
///
/// let key = KeyUri::parse(
///     "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ\
///      &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
/// )?;
/// assert_eq!(key.issuer(), Some("ACME Co"));
/// assert_eq!(key.account(), "john.doe@email.com");
/// assert_eq!(key.kind(), Kind::Totp { period: 30 });
/// assert_eq!(key.algorithm(), Algorithm::Sha1);
/// assert!(!format!("{key:?}").contains("HXDM"));
///
/// let totp = key.to_totp()?;
/// assert_eq!(totp.generate(1_700_000_000)?.to_string().len(), 6);
/// # Ok::<(), mfa_enroll::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUri {
    secret: Secret,
    kind: Kind,
    issuer: Option<String>,
    account: String,
    algorithm: Algorithm,
    digits: u8,
    image: Option<String>,
}

/// A URI that contains a secret: zeroized on drop, `Debug` shows only its length, and it has no `==`
/// (compare the parsed [`KeyUri`]s, whose secrets compare in constant time).
///
/// Read it with [`as_str`](Self::as_str) where it must go (a QR code, a response to the enrolling user);
/// never log it.
///
/// ```
/// use mfa_enroll::KeyUri;
/// use mfa_otp::Secret;
///
/// let uri = KeyUri::totp(Secret::generate()?, "alice").to_uri()?;
/// assert!(uri.as_str().starts_with("otpauth://totp/alice?secret="));
/// assert!(format!("{uri:?}").starts_with("SecretUri { len: "));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SecretUri(Zeroizing<String>);

impl SecretUri {
    pub(crate) fn new(text: Zeroizing<String>) -> Self {
        SecretUri(text)
    }

    /// The URI text. It contains the secret.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUri {{ len: {}, .. }}", self.0.len())
    }
}

impl KeyUri {
    /// A TOTP credential with the defaults every app supports: SHA-1, 6 digits, 30 seconds, no issuer.
    pub fn totp(secret: Secret, account: impl Into<String>) -> Self {
        Self::with_kind(secret, account.into(), Kind::Totp { period: 30 })
    }

    /// An HOTP credential starting at `counter`: SHA-1, 6 digits, no issuer.
    pub fn hotp(secret: Secret, account: impl Into<String>, counter: u64) -> Self {
        Self::with_kind(secret, account.into(), Kind::Hotp { counter })
    }

    fn with_kind(secret: Secret, account: String, kind: Kind) -> Self {
        KeyUri {
            secret,
            kind,
            issuer: None,
            account,
            algorithm: Algorithm::Sha1,
            digits: 6,
            image: None,
        }
    }

    /// Sets the issuer (the provider or service); an empty issuer means none.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        self.issuer = (!issuer.is_empty()).then_some(issuer);
        self
    }

    /// Sets the HMAC algorithm. Many apps silently use SHA-1 whatever the URI says: choose another only
    /// when you know the user's app supports it.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sets the number of digits (6 to 10 are accepted by [`to_uri`](Self::to_uri); apps support 6 and 8).
    #[must_use]
    pub fn with_digits(mut self, digits: u8) -> Self {
        self.digits = digits;
        self
    }

    /// Sets the TOTP period in seconds; no effect on an HOTP credential.
    #[must_use]
    pub fn with_period(mut self, period: u64) -> Self {
        if let Kind::Totp { .. } = self.kind {
            self.kind = Kind::Totp { period };
        }
        self
    }

    /// Sets the `image` parameter, a logo URL some apps show next to the account.
    #[must_use]
    pub fn with_image(mut self, image: impl Into<String>) -> Self {
        let image = image.into();
        self.image = (!image.is_empty()).then_some(image);
        self
    }

    /// The shared secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// TOTP with its period, or HOTP with its counter.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The TOTP period, `None` for HOTP.
    pub fn period(&self) -> Option<u64> {
        match self.kind {
            Kind::Totp { period } => Some(period),
            Kind::Hotp { .. } => None,
        }
    }

    /// The HOTP counter, `None` for TOTP.
    pub fn counter(&self) -> Option<u64> {
        match self.kind {
            Kind::Hotp { counter } => Some(counter),
            Kind::Totp { .. } => None,
        }
    }

    /// The issuer, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The account name (usually the user's e-mail address or user name).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The HMAC algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Digits per code.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// The logo URL of the `image` parameter, if any.
    pub fn image(&self) -> Option<&str> {
        self.image.as_deref()
    }

    /// Parameters for [`mfa_otp::Totp`], `None` for an HOTP credential.
    pub fn totp_params(&self) -> Option<TotpParams> {
        self.period().map(|period| TotpParams {
            algorithm: self.algorithm,
            digits: self.digits,
            period,
            t0: 0,
        })
    }

    /// Parameters for [`mfa_otp::Hotp`], `None` for a TOTP credential.
    pub fn hotp_params(&self) -> Option<HotpParams> {
        self.counter().map(|_| HotpParams {
            algorithm: self.algorithm,
            digits: self.digits,
        })
    }

    /// A keyed TOTP generator and verifier for this credential.
    pub fn to_totp(&self) -> Result<Totp, Error> {
        let params = self.totp_params().ok_or(Error::WrongType {
            expected: "totp",
            actual: "hotp",
        })?;
        Ok(Totp::new(&self.secret, params)?)
    }

    /// A keyed HOTP generator and verifier for this credential (start from [`counter`](Self::counter)).
    pub fn to_hotp(&self) -> Result<Hotp, Error> {
        let params = self.hotp_params().ok_or(Error::WrongType {
            expected: "hotp",
            actual: "totp",
        })?;
        Ok(Hotp::new(&self.secret, params)?)
    }

    /// Reads an `otpauth://` Key URI; a label issuer that differs from the `issuer` parameter is an error.
    ///
    /// Accepted, as apps produce them: the scheme, type and parameter names in any letter case; the
    /// label separator as `:` or `%3A`, with optional spaces before the account; base32 secrets in either
    /// case, padded or not, of at least 80 bits ([`SecretRule::AllowLegacy80`]); `algorithm` in any
    /// letter case; `+` as a space in parameter values (form encoding); unknown parameters (ignored).
    /// Refused with a typed [`Error`]: everything else, including a parameter that decides the codes
    /// (`secret`, `issuer`, `algorithm`, `digits`, `period`, `counter`) given twice, and an issuer
    /// holding a `:` (literal or `%3A`, in the label or the parameter), which the format does not allow
    /// and [`to_uri`](Self::to_uri) refuses too ([`Error::InvalidLabel`]).
    pub fn parse(uri: &str) -> Result<Self, Error> {
        Self::parse_with(uri, IssuerConflict::Reject)
    }

    /// Reads an `otpauth://` Key URI, choosing what to do when the two issuers differ.
    ///
    /// ```
    /// use mfa_enroll::{Error, IssuerConflict, KeyUri};
    ///
    /// let uri = "otpauth://totp/Old%20Name:bob?secret=JBSWY3DPEHPK3PXP&issuer=New%20Name";
    /// assert_eq!(KeyUri::parse(uri), Err(Error::IssuerMismatch));
    /// let key = KeyUri::parse_with(uri, IssuerConflict::PreferParameter)?;
    /// assert_eq!(key.issuer(), Some("New Name"));
    /// # Ok::<(), mfa_enroll::Error>(())
    /// ```
    pub fn parse_with(uri: &str, conflict: IssuerConflict) -> Result<Self, Error> {
        let uri = uri.trim();
        let rest = strip_prefix_ignore_case(uri, "otpauth://").ok_or(Error::NotOtpauth)?;
        // A fragment is not part of the key (our own output encodes every `#`).
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (type_name, rest) = rest.split_once('/').ok_or(Error::MissingLabel)?;
        let is_totp = if type_name.eq_ignore_ascii_case("totp") {
            true
        } else if type_name.eq_ignore_ascii_case("hotp") {
            false
        } else {
            return Err(Error::UnknownType);
        };
        let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
        if label.is_empty() {
            return Err(Error::MissingLabel);
        }
        let (label_issuer, account) = parse_label(label)?;

        let mut params = Params::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            params.set(name, value)?;
        }

        let secret_text = params.secret.ok_or(Error::MissingSecret)?;
        if secret_text.trim().is_empty() {
            return Err(Error::MissingSecret);
        }
        let secret = Secret::from_base32_with(&secret_text, SecretRule::AllowLegacy80)
            .map_err(Error::InvalidSecret)?;

        let issuer = match (label_issuer, params.issuer.filter(|i| !i.is_empty())) {
            // Form encoders write a space as `+` in the label too ("Big+Co:jane" with issuer=Big+Co);
            // the label's `+` read as a space is the same issuer, not a conflict.
            (Some(label), Some(param)) if label != param && label.replace('+', " ") != param => {
                match conflict {
                    IssuerConflict::Reject => return Err(Error::IssuerMismatch),
                    IssuerConflict::PreferParameter => Some(param),
                }
            }
            (label, param) => param.or(label),
        };
        // The format allows no colon in an issuer (it separates issuer and account in the label), and
        // `to_uri` refuses one: refused here too, so that what parses can be written back.
        if issuer.as_deref().is_some_and(|i| i.contains(':')) {
            return Err(Error::InvalidLabel(ISSUER_COLON));
        }
        let algorithm = match params.algorithm {
            Some(text) => text
                .parse::<Algorithm>()
                .map_err(|_| Error::UnsupportedAlgorithm)?,
            None => Algorithm::Sha1,
        };
        let digits = match params.digits {
            Some(text) => parse_digits(&text)?,
            None => 6,
        };
        let kind = if is_totp {
            let period = match params.period {
                Some(text) => parse_uint(&text)
                    .filter(|&p| p >= 1)
                    .ok_or(Error::InvalidPeriod)?,
                None => 30,
            };
            Kind::Totp { period }
        } else {
            let text = params.counter.ok_or(Error::MissingCounter)?;
            Kind::Hotp {
                counter: parse_uint(&text).ok_or(Error::InvalidCounter)?,
            }
        };
        Ok(KeyUri {
            secret,
            kind,
            issuer,
            account,
            algorithm,
            digits,
            image: params.image.filter(|i| !i.is_empty()),
        })
    }

    /// Writes the `otpauth://` Key URI.
    ///
    /// Every parameter is written explicitly (`secret`, `issuer`, `algorithm`, `digits`, `period` or
    /// `counter`, `image`); the secret as canonical base32 (uppercase, unpadded); the issuer both as the
    /// label prefix and as the parameter, as the Key Uri Format recommends. Issuer and account are
    /// percent-encoded except for RFC 3986 unreserved characters, so a space is `%20` (never `+`), a `:`
    /// inside the account is `%3A` while the separator is a literal `:`, and non-ASCII text is UTF-8
    /// percent-encoded.
    ///
    /// Refused: an empty account; an issuer containing `:`; an account containing `:` without an issuer;
    /// an account starting with a space when there is an issuer (readers strip those spaces); digits
    /// outside 6 to 10; a zero period.
    ///
    /// ```
    /// use mfa_enroll::KeyUri;
    /// use mfa_otp::Secret;
    ///
    /// let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// let uri = KeyUri::totp(secret, "jane+test@example.com").with_issuer("Big Corp & Co").to_uri()?;
    /// assert_eq!(
    ///     uri.as_str(),
    ///     "otpauth://totp/Big%20Corp%20%26%20Co:jane%2Btest%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
    ///      &issuer=Big%20Corp%20%26%20Co&algorithm=SHA1&digits=6&period=30"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_uri(&self) -> Result<SecretUri, Error> {
        self.validate()?;
        let account = encode(&self.account);
        let issuer = self.issuer.as_deref().map(encode);
        let image = self.image.as_deref().map(encode);
        let secret = self.secret.to_base32();
        let mut tail = String::new();
        match self.kind {
            Kind::Totp { period } => {
                tail.push_str("&period=");
                tail.push_str(&period.to_string());
            }
            Kind::Hotp { counter } => {
                tail.push_str("&counter=");
                tail.push_str(&counter.to_string());
            }
        }
        if let Some(image) = &image {
            tail.push_str("&image=");
            tail.push_str(image);
        }
        let issuer_len = issuer.as_ref().map_or(0, |i| 2 * i.len() + 9);
        // Allocated once at its final size, so no copy of the secret is left behind by a reallocation.
        let capacity = 64 + account.len() + issuer_len + secret.len() + tail.len();
        let mut out = Zeroizing::new(String::with_capacity(capacity));
        out.push_str("otpauth://");
        out.push_str(self.kind.name());
        out.push('/');
        if let Some(issuer) = &issuer {
            out.push_str(issuer);
            out.push(':');
        }
        out.push_str(&account);
        out.push_str("?secret=");
        out.push_str(&secret);
        if let Some(issuer) = &issuer {
            out.push_str("&issuer=");
            out.push_str(issuer);
        }
        out.push_str("&algorithm=");
        out.push_str(self.algorithm.name());
        out.push_str("&digits=");
        out.push_str(&self.digits.to_string());
        out.push_str(&tail);
        Ok(SecretUri::new(out))
    }

    /// Checks what [`to_uri`](Self::to_uri) and the export refuse.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        validate_label(self.issuer.as_deref(), &self.account)?;
        if !(mfa_otp::MIN_DIGITS..=mfa_otp::MAX_DIGITS).contains(&self.digits) {
            return Err(Error::InvalidDigits);
        }
        if self.period() == Some(0) {
            return Err(Error::InvalidPeriod);
        }
        Ok(())
    }

    /// A credential from the parts of an export record (label already split).
    pub(crate) fn from_parts(
        secret: Secret,
        kind: Kind,
        issuer: Option<String>,
        account: String,
        algorithm: Algorithm,
        digits: u8,
    ) -> Self {
        KeyUri {
            secret,
            kind,
            issuer,
            account,
            algorithm,
            digits,
            image: None,
        }
    }
}

/// Why an issuer with a colon is refused, when written and when read.
const ISSUER_COLON: &str = "an issuer cannot contain ':'";

/// The label rules shared by URIs and exports.
pub(crate) fn validate_label(issuer: Option<&str>, account: &str) -> Result<(), Error> {
    if account.is_empty() {
        return Err(Error::EmptyAccount);
    }
    match issuer {
        Some(issuer) if issuer.contains(':') => Err(Error::InvalidLabel(ISSUER_COLON)),
        Some(_) if account.starts_with(' ') => Err(Error::InvalidLabel(
            "an account after an issuer cannot start with a space (readers strip it)",
        )),
        None if account.contains(':') => Err(Error::InvalidLabel(
            "an account containing ':' needs an issuer, or readers take the part before it as the issuer",
        )),
        _ => Ok(()),
    }
}

/// Splits a label into issuer prefix and account. A literal `:` is the separator (a `%3A` after it
/// belongs to the account, as pyotp reads it); without one, an encoded `%3A` separates (the Key Uri
/// Format allows both). Spaces after the separator are dropped.
fn parse_label(label: &str) -> Result<(Option<String>, String), Error> {
    let (issuer, account) = match label.split_once(':') {
        Some((issuer, account)) => (
            Some(decode(issuer, false, "label")?),
            decode(account, false, "label")?,
        ),
        None => {
            let decoded = decode(label, false, "label")?;
            match decoded.split_once(':') {
                Some((issuer, account)) => (Some(issuer.to_owned()), account.to_owned()),
                None => (None, decoded),
            }
        }
    };
    let account = match issuer {
        Some(_) => account.trim_start_matches(' ').to_owned(),
        None => account,
    };
    if account.is_empty() {
        return Err(Error::EmptyAccount);
    }
    Ok((issuer.filter(|i| !i.is_empty()), account))
}

#[derive(Default)]
struct Params {
    secret: Option<Zeroizing<String>>,
    issuer: Option<String>,
    algorithm: Option<String>,
    digits: Option<String>,
    period: Option<String>,
    counter: Option<String>,
    image: Option<String>,
}

impl Params {
    fn set(&mut self, name: &str, value: &str) -> Result<(), Error> {
        fn once(slot: &mut Option<String>, name: &'static str, value: String) -> Result<(), Error> {
            if slot.replace(value).is_some() {
                return Err(Error::DuplicateParameter(name));
            }
            Ok(())
        }
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "secret" => {
                let value = Zeroizing::new(decode(value, true, "secret")?);
                if self.secret.replace(value).is_some() {
                    return Err(Error::DuplicateParameter("secret"));
                }
                Ok(())
            }
            "issuer" => once(
                &mut self.issuer,
                "issuer",
                decode(value, true, "issuer parameter")?,
            ),
            "algorithm" => once(
                &mut self.algorithm,
                "algorithm",
                decode(value, true, "algorithm")?,
            ),
            "digits" => once(&mut self.digits, "digits", decode(value, true, "digits")?),
            "period" => once(&mut self.period, "period", decode(value, true, "period")?),
            "counter" => once(&mut self.counter, "counter", decode(value, true, "counter")?),
            // The last image wins: it does not change the codes.
            "image" => {
                self.image = Some(decode(value, true, "image parameter")?);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// Percent-decodes `text` strictly: every `%` must start a two-digit hexadecimal escape and the result
/// must be UTF-8. With `plus_is_space`, `+` decodes to a space (form encoding, for query values).
pub(crate) fn decode(text: &str, plus_is_space: bool, what: &'static str) -> Result<String, Error> {
    let bytes = text.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|&b| hex(b));
                let lo = bytes.get(i + 2).and_then(|&b| hex(b));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(Error::InvalidPercentEncoding(what)),
                }
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    match core::str::from_utf8(&out) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => Err(Error::InvalidUtf8(what)),
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A decimal number of ASCII digits only (no sign, no spaces), without overflow.
fn parse_uint(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_digits(text: &str) -> Result<u8, Error> {
    parse_uint(text)
        .filter(|d| (u64::from(mfa_otp::MIN_DIGITS)..=u64::from(mfa_otp::MAX_DIGITS)).contains(d))
        .map(|d| d as u8)
        .ok_or(Error::InvalidDigits)
}

pub(crate) fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_encoded_space_in_both_issuers_is_no_conflict() {
        let uri = "otpauth://totp/Big+Co:jane?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Big+Co";
        let key = KeyUri::parse(uri).unwrap();
        assert_eq!(key.issuer(), Some("Big Co"));
        let other = "otpauth://totp/Big+Co:jane?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Small+Co";
        assert!(matches!(KeyUri::parse(other), Err(Error::IssuerMismatch)));
        // A literal plus, percent-encoded in the parameter, still matches the label's literal plus.
        let plus = "otpauth://totp/A+B:jane?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=A%2BB";
        assert_eq!(KeyUri::parse(plus).unwrap().issuer(), Some("A+B"));
    }

    #[test]
    fn decode_is_strict() {
        assert_eq!(decode("a%20b+c", false, "x").as_deref(), Ok("a b+c"));
        assert_eq!(decode("a%20b+c", true, "x").as_deref(), Ok("a b c"));
        assert_eq!(decode("%e2%82%AC", false, "x").as_deref(), Ok("\u{20ac}"));
        assert_eq!(decode("%", false, "x"), Err(Error::InvalidPercentEncoding("x")));
        assert_eq!(decode("%4", false, "x"), Err(Error::InvalidPercentEncoding("x")));
        assert_eq!(decode("%zz", false, "x"), Err(Error::InvalidPercentEncoding("x")));
        assert_eq!(decode("%ff", false, "x"), Err(Error::InvalidUtf8("x")));
    }

    #[test]
    fn numbers_are_plain_digits() {
        assert_eq!(parse_uint("0"), Some(0));
        assert_eq!(parse_uint("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_uint("18446744073709551616"), None);
        assert_eq!(parse_uint("+1"), None);
        assert_eq!(parse_uint(" 1"), None);
        assert_eq!(parse_uint(""), None);
    }
}
