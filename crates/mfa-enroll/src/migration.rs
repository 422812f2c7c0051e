use std::string::String;
use std::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use mfa_otp::{Algorithm, Secret, SecretRule};
use percent_encoding::utf8_percent_encode;
use zeroize::Zeroizing;

use crate::protobuf::{Reader, Value, put_bytes_field, put_varint_field};
use crate::uri::{decode, strip_prefix_ignore_case, validate_label};
use crate::{Error, KeyUri, Kind, SecretUri};

/// The batch fields of an export: one QR code of an export that spans several has `size` > 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Batch {
    /// Format version (1 in current exports).
    pub version: i32,
    /// How many QR codes the export spans.
    pub size: i32,
    /// Which of them this is, from 0.
    pub index: i32,
    /// Identifies the export, the same in every QR code of one export.
    pub id: i32,
}

impl Default for Batch {
    /// Version 1, a single QR code.
    fn default() -> Self {
        Batch {
            version: 1,
            size: 1,
            index: 0,
            id: 0,
        }
    }
}

/// An authenticator export: `otpauth-migration://offline?data=...`, the "transfer accounts" QR code of
/// Google Authenticator, which other apps read and write too.
///
/// `data` is base64 (standard or URL-safe, padded or not, usually percent-encoded) of a protocol buffer:
///
/// ```text
/// MigrationPayload { repeated OtpParameters otp_parameters = 1; int32 version = 2; int32 batch_size = 3;
///                    int32 batch_index = 4; int32 batch_id = 5; }
/// OtpParameters { bytes secret = 1; string name = 2; string issuer = 3;
///                 Algorithm algorithm = 4;   // 0 unspecified (SHA-1), 1 SHA1, 2 SHA256, 3 SHA512, 4 MD5
///                 DigitCount digits = 5;     // 0 unspecified (6), 1 six, 2 eight
///                 OtpType type = 6;          // 0 unspecified (TOTP), 1 HOTP, 2 TOTP
///                 int64 counter = 7; }
/// ```
///
/// The format has no period: every TOTP credential has 30 seconds. Unknown fields are skipped; MD5 and
/// unknown enumeration values are typed errors. A `name` of the form `issuer:account` is split like a
/// Key URI label.
///
/// ```
/// use mfa_enroll::{KeyUri, Migration};
/// use mfa_otp::Secret;
///
/// let alice = KeyUri::totp(Secret::generate()?, "alice@example.com").with_issuer("Example");
/// let bob = KeyUri::hotp(Secret::generate()?, "bob", 7).with_digits(8);
/// let export = Migration::new(vec![alice, bob]);
/// let uri = export.to_uri()?;
/// assert!(uri.as_str().starts_with("otpauth-migration://offline?data="));
/// assert_eq!(Migration::parse(uri.as_str())?, export);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The accounts, in the order of the export.
    pub credentials: Vec<KeyUri>,
    /// Batch fields.
    pub batch: Batch,
}

impl Migration {
    /// An export of `credentials` in a single QR code.
    pub fn new(credentials: Vec<KeyUri>) -> Self {
        Migration {
            credentials,
            batch: Batch::default(),
        }
    }

    /// Reads an `otpauth-migration://offline?data=...` URI.
    pub fn parse(uri: &str) -> Result<Self, Error> {
        let rest = strip_prefix_ignore_case(uri.trim(), "otpauth-migration://").ok_or(Error::NotMigration)?;
        let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
        if !host.trim_end_matches('/').eq_ignore_ascii_case("offline") {
            return Err(Error::NotMigration);
        }
        let query = query.split_once('#').map_or(query, |(before, _)| before);
        let mut data = None;
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name.eq_ignore_ascii_case("data") {
                if data.is_some() {
                    return Err(Error::DuplicateParameter("data"));
                }
                data = Some(Zeroizing::new(decode(value, false, "data parameter")?));
            }
        }
        let data = data.filter(|d| !d.is_empty()).ok_or(Error::MissingData)?;
        let payload = decode_base64(&data)?;
        Self::from_protobuf(&payload)
    }

    /// Reads the protocol buffer inside the `data` parameter (already base64-decoded).
    pub fn from_protobuf(payload: &[u8]) -> Result<Self, Error> {
        let mut credentials = Vec::new();
        let mut batch = Batch {
            version: 0,
            size: 0,
            index: 0,
            id: 0,
        };
        let mut reader = Reader::new(payload);
        while let Some((field, value)) = reader.next_field()? {
            match (field, value) {
                (1, Value::Bytes(bytes)) => credentials.push(read_parameters(bytes)?),
                // int32 values travel as 64-bit varints; negative ones are sign-extended.
                (2, Value::Varint(v)) => batch.version = v as i32,
                (3, Value::Varint(v)) => batch.size = v as i32,
                (4, Value::Varint(v)) => batch.index = v as i32,
                (5, Value::Varint(v)) => batch.id = v as i32,
                (1..=5, _) => return Err(Error::MalformedProtobuf("wrong wire type for a known field")),
                _ => {}
            }
        }
        Ok(Migration { credentials, batch })
    }

    /// The protocol buffer for the `data` parameter.
    pub fn to_protobuf(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let mut out = Zeroizing::new(Vec::new());
        for key in &self.credentials {
            let record = write_parameters(key)?;
            // Reserve first: a reallocation would leave a copy of secrets behind.
            out.reserve(record.len() + 12);
            put_bytes_field(&mut out, 1, &record);
        }
        out.reserve(64);
        put_varint_field(&mut out, 2, self.batch.version as i64 as u64);
        put_varint_field(&mut out, 3, self.batch.size as i64 as u64);
        put_varint_field(&mut out, 4, self.batch.index as i64 as u64);
        put_varint_field(&mut out, 5, self.batch.id as i64 as u64);
        Ok(out)
    }

    /// Writes the `otpauth-migration://offline?data=...` URI: standard padded base64, percent-encoded.
    ///
    /// Refused with [`Error::NotExportable`]: a TOTP period other than 30 seconds, digits other than 6 or
    /// 8; and the label rules of [`KeyUri::to_uri`].
    pub fn to_uri(&self) -> Result<SecretUri, Error> {
        let payload = self.to_protobuf()?;
        let b64 = Zeroizing::new(STANDARD.encode(&*payload));
        let prefix = "otpauth-migration://offline?data=";
        let mut out = Zeroizing::new(String::with_capacity(prefix.len() + b64.len() * 3));
        out.push_str(prefix);
        for chunk in utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC) {
            out.push_str(chunk);
        }
        Ok(SecretUri::new(out))
    }
}

/// Base64 as exports carry it: standard or URL-safe alphabet, `=` padding optional, a space read as `+`
/// (left behind by form decoding).
fn decode_base64(text: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let unpadded = text.trim_end_matches('=');
    let normal: Zeroizing<String> = Zeroizing::new(
        unpadded
            .chars()
            .map(|c| match c {
                '-' | ' ' => '+',
                '_' => '/',
                c => c,
            })
            .collect(),
    );
    let mut out = Zeroizing::new(Vec::with_capacity(normal.len() / 4 * 3 + 3));
    STANDARD_NO_PAD
        .decode_vec(normal.as_bytes(), &mut out)
        .map_err(|_| Error::InvalidBase64)?;
    Ok(out)
}

fn read_parameters(bytes: &[u8]) -> Result<KeyUri, Error> {
    let mut secret: &[u8] = &[];
    let mut name: &[u8] = &[];
    let mut issuer: &[u8] = &[];
    let mut algorithm = 0;
    let mut digits = 0;
    let mut otp_type = 0;
    let mut counter = 0;
    let mut reader = Reader::new(bytes);
    while let Some((field, value)) = reader.next_field()? {
        match (field, value) {
            (1, Value::Bytes(b)) => secret = b,
            (2, Value::Bytes(b)) => name = b,
            (3, Value::Bytes(b)) => issuer = b,
            (4, Value::Varint(v)) => algorithm = v,
            (5, Value::Varint(v)) => digits = v,
            (6, Value::Varint(v)) => otp_type = v,
            (7, Value::Varint(v)) => counter = v,
            (1..=7, _) => return Err(Error::MalformedProtobuf("wrong wire type for a known field")),
            _ => {}
        }
    }
    if secret.is_empty() {
        return Err(Error::MissingSecret);
    }
    let secret = Secret::from_bytes_with(secret, SecretRule::AllowLegacy80).map_err(Error::InvalidSecret)?;
    let algorithm = match algorithm {
        0 | 1 => Algorithm::Sha1,
        2 => Algorithm::Sha256,
        3 => Algorithm::Sha512,
        4 => return Err(Error::Md5Unsupported),
        value => {
            return Err(Error::UnsupportedMigrationValue {
                field: "algorithm",
                value,
            });
        }
    };
    let digits = match digits {
        0 | 1 => 6,
        2 => 8,
        value => {
            return Err(Error::UnsupportedMigrationValue {
                field: "digits",
                value,
            });
        }
    };
    let kind = match otp_type {
        0 | 2 => Kind::Totp { period: 30 },
        // int64 on the wire: a negative counter is sign-extended to a huge varint.
        1 if (counter as i64) >= 0 => Kind::Hotp { counter },
        1 => return Err(Error::InvalidCounter),
        value => return Err(Error::UnsupportedMigrationValue { field: "type", value }),
    };
    let name = core::str::from_utf8(name).map_err(|_| Error::InvalidUtf8("account name"))?;
    let issuer = core::str::from_utf8(issuer).map_err(|_| Error::InvalidUtf8("issuer"))?;
    let (issuer, account) = split_name(issuer, name);
    if account.is_empty() {
        return Err(Error::EmptyAccount);
    }
    Ok(KeyUri::from_parts(
        secret, kind, issuer, account, algorithm, digits,
    ))
}

/// `name` may be `issuer:account` (as a Key URI label) or just the account.
fn split_name(issuer: &str, name: &str) -> (Option<String>, String) {
    if issuer.is_empty() {
        match name.split_once(':') {
            Some((prefix, account)) if !prefix.is_empty() => (
                Some(prefix.to_owned()),
                account.trim_start_matches(' ').to_owned(),
            ),
            _ => (None, name.to_owned()),
        }
    } else {
        let account = name
            .strip_prefix(issuer)
            .and_then(|rest| rest.strip_prefix(':'))
            .map_or(name, |rest| rest.trim_start_matches(' '));
        (Some(issuer.to_owned()), account.to_owned())
    }
}

fn write_parameters(key: &KeyUri) -> Result<Zeroizing<Vec<u8>>, Error> {
    validate_label(key.issuer(), key.account())?;
    let digits = match key.digits() {
        6 => 1,
        8 => 2,
        _ => return Err(Error::NotExportable("the export format has 6 or 8 digits only")),
    };
    let (otp_type, counter) = match key.kind() {
        Kind::Totp { period: 30 } => (2, None),
        Kind::Totp { .. } => {
            return Err(Error::NotExportable(
                "the export format has a 30-second period only",
            ));
        }
        Kind::Hotp { counter } => {
            if i64::try_from(counter).is_err() {
                return Err(Error::NotExportable(
                    "the export format has counters below 2^63 only",
                ));
            }
            (1, Some(counter))
        }
    };
    let algorithm = match key.algorithm() {
        Algorithm::Sha1 => 1,
        Algorithm::Sha256 => 2,
        Algorithm::Sha512 => 3,
    };
    let secret = key.secret().expose_bytes();
    let issuer = key.issuer().unwrap_or("");
    let mut out = Zeroizing::new(Vec::with_capacity(
        secret.len() + key.account().len() + 2 * issuer.len() + 48,
    ));
    put_bytes_field(&mut out, 1, secret);
    // An account that itself starts with `issuer:` would lose that prefix when read back: write it as
    // `issuer:account` then, which readers split once.
    let account = key.account();
    let ambiguous = !issuer.is_empty()
        && account
            .strip_prefix(issuer)
            .is_some_and(|rest| rest.starts_with(':'));
    if ambiguous {
        put_bytes_field(&mut out, 2, std::format!("{issuer}:{account}").as_bytes());
    } else {
        put_bytes_field(&mut out, 2, account.as_bytes());
    }
    if !issuer.is_empty() {
        put_bytes_field(&mut out, 3, issuer.as_bytes());
    }
    put_varint_field(&mut out, 4, algorithm);
    put_varint_field(&mut out, 5, digits);
    put_varint_field(&mut out, 6, otp_type);
    if let Some(counter) = counter {
        put_varint_field(&mut out, 7, counter);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_like_labels() {
        assert_eq!(split_name("", "alice"), (None, "alice".into()));
        assert_eq!(split_name("", "Ex:alice"), (Some("Ex".into()), "alice".into()));
        assert_eq!(split_name("", ":alice"), (None, ":alice".into()));
        assert_eq!(split_name("Ex", "Ex: alice"), (Some("Ex".into()), "alice".into()));
        assert_eq!(
            split_name("Ex", "Other:alice"),
            (Some("Ex".into()), "Other:alice".into())
        );
    }

    #[test]
    fn base64_variants() {
        // "\xfb\xff" is "+/8=" in standard and "-_8" in URL-safe base64 (RFC 4648 sections 4 and 5).
        for text in ["+/8=", "+/8", "-_8=", "-_8", " /8"] {
            assert_eq!(
                decode_base64(text).as_deref().map(|v| v.as_slice()),
                Ok(&[0xfb, 0xff][..]),
                "{text}"
            );
        }
        assert_eq!(decode_base64("*"), Err(Error::InvalidBase64));
        assert_eq!(decode_base64("A"), Err(Error::InvalidBase64));
    }
}
