/// Everything that can go wrong in this crate.
///
/// Messages name the part of the input that is wrong but never repeat a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text does not start with `otpauth://`.
    #[error("not an otpauth URI: it must start with otpauth://")]
    NotOtpauth,
    /// The type after `otpauth://` is neither `totp` nor `hotp`.
    #[error("unknown OTP type: expected otpauth://totp/ or otpauth://hotp/")]
    UnknownType,
    /// Nothing follows the type: the label (`issuer:account`) is missing.
    #[error("the URI has no label (issuer:account) after the type")]
    MissingLabel,
    /// The account name is empty.
    #[error("the account name is empty")]
    EmptyAccount,
    /// The issuer or account cannot be written into a label that every app reads back the same way.
    #[error("invalid label: {0}")]
    InvalidLabel(&'static str),
    /// There is no `secret` parameter, or it is empty.
    #[error("the URI has no secret")]
    MissingSecret,
    /// The secret is not valid base32 or has an unacceptable length.
    #[error("invalid secret: {0}")]
    InvalidSecret(#[source] mfa_otp::Error),
    /// The `algorithm` is not SHA1, SHA256 or SHA512.
    #[error("unsupported algorithm: expected SHA1, SHA256 or SHA512")]
    UnsupportedAlgorithm,
    /// The `digits` value is not a number from 6 to 10.
    #[error("invalid digits: expected a number from 6 to 10")]
    InvalidDigits,
    /// The `period` is not a whole number of seconds of at least 1.
    #[error("invalid period: expected a whole number of seconds, at least 1")]
    InvalidPeriod,
    /// The `counter` is not a whole number from 0 to 2^64 - 1.
    #[error("invalid counter: expected a whole number from 0 to 18446744073709551615")]
    InvalidCounter,
    /// An `hotp` URI without a `counter`.
    #[error("an hotp URI needs a counter parameter")]
    MissingCounter,
    /// A parameter that decides how codes are computed appears twice.
    #[error("the {0} parameter appears more than once")]
    DuplicateParameter(&'static str),
    /// A `%` not followed by two hexadecimal digits.
    #[error("invalid percent-encoding in the {0}")]
    InvalidPercentEncoding(&'static str),
    /// Text that is not UTF-8 once percent-decoded.
    #[error("the {0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// The issuer prefix of the label and the `issuer` parameter differ.
    #[error("the issuer in the label differs from the issuer parameter")]
    IssuerMismatch,
    /// A TOTP conversion of an HOTP credential or the other way round.
    #[error("this is a {actual} credential, not {expected}")]
    WrongType {
        /// The type asked for.
        expected: &'static str,
        /// The type the credential has.
        actual: &'static str,
    },
    /// An error from the OTP core, for example a digit count it does not support.
    #[error(transparent)]
    Otp(#[from] mfa_otp::Error),
    /// The text does not fit into a QR code (at most 2331 bytes at error-correction level M).
    #[error("the text is too long for a QR code")]
    QrTooLong,
    /// A PNG or SVG scale outside 1 to 64 pixels per module.
    #[error("invalid scale: expected 1 to 64 pixels per module")]
    InvalidScale,
    /// The PNG encoder failed.
    #[error("PNG encoding failed")]
    Png,
    /// The text is not an `otpauth-migration://offline?data=...` URI.
    #[error("not an authenticator export: it must start with otpauth-migration://offline")]
    NotMigration,
    /// The export URI has no `data` parameter.
    #[error("the export URI has no data parameter")]
    MissingData,
    /// The `data` parameter is not base64.
    #[error("the export data is not valid base64")]
    InvalidBase64,
    /// The export data is not a well-formed protocol buffer.
    #[error("malformed export data: {0}")]
    MalformedProtobuf(&'static str),
    /// An MD5 credential in an export: no authenticator standard defines MD5 codes.
    #[error("MD5 credentials are not supported")]
    Md5Unsupported,
    /// An enumeration value the export format does not define.
    #[error("unsupported {field} value {value} in the export")]
    UnsupportedMigrationValue {
        /// Which field.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// A credential the export format cannot carry (it has no period, and digits 6 or 8 only).
    #[error("cannot export this credential: {0}")]
    NotExportable(&'static str),
}
