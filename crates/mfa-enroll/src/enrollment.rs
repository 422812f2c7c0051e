use std::string::String;

use mfa_otp::{Secret, SecretRule};
use zeroize::Zeroizing;

use crate::{Error, KeyUri, QrCode, SecretUri};

/// Everything a page needs to enroll a new authenticator: the credential, its URI, its QR code and the
/// secret in groups of four for people who type it.
///
/// New credentials follow mfa-otp's rules for new secrets (at least 128 bits; 160 generated), even
/// though [`KeyUri::parse`] reads older 80-bit ones. Store [`key`](Self::key)'s secret (encrypted) once
/// the user has proved with a first code that the app has it.
///
/// ```
/// use mfa_enroll::{Enrollment, TerminalTheme};
///
/// let enrollment = Enrollment::generate("Example", "alice@example.com")?;
/// assert_eq!(enrollment.key().secret().bits(), 160);
/// assert!(enrollment.uri().as_str().starts_with("otpauth://totp/Example:alice%40example.com?secret="));
/// // 32 base32 characters in 8 groups: "ABCD EFGH ...".
/// assert_eq!(enrollment.secret_for_typing().len(), 39);
/// let html_img_src = enrollment.qr().to_data_url()?;
/// let for_a_terminal = enrollment.qr().to_terminal(TerminalTheme::DarkBackground);
/// # let _ = (html_img_src, for_a_terminal);
/// # Ok::<(), mfa_enroll::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Enrollment {
    key: KeyUri,
    uri: SecretUri,
    qr: QrCode,
}

impl Enrollment {
    /// A new TOTP credential (160-bit secret from the OS CSPRNG, SHA-1, 6 digits, 30 seconds: what every
    /// app supports) for `account` at `issuer`.
    pub fn generate(issuer: &str, account: &str) -> Result<Self, Error> {
        let secret = Secret::generate()?;
        Self::for_key(KeyUri::totp(secret, account).with_issuer(issuer))
    }

    /// The bundle for a credential you built, for example with other code settings. Refuses secrets
    /// shorter than 128 bits ([`SecretRule::Standard`], RFC 4226 section 4).
    pub fn for_key(key: KeyUri) -> Result<Self, Error> {
        let required = SecretRule::Standard.min_bits();
        let bits = key.secret().bits();
        if bits < required {
            return Err(Error::InvalidSecret(mfa_otp::Error::SecretTooShort {
                bits,
                required,
            }));
        }
        let uri = key.to_uri()?;
        let qr = QrCode::from_uri(&uri)?;
        Ok(Enrollment { key, uri, qr })
    }

    /// The credential.
    pub fn key(&self) -> &KeyUri {
        &self.key
    }

    /// The `otpauth://` URI (contains the secret).
    pub fn uri(&self) -> &SecretUri {
        &self.uri
    }

    /// The QR code of the URI: SVG, PNG, terminal text or `data:` URL.
    pub fn qr(&self) -> &QrCode {
        &self.qr
    }

    /// The secret as uppercase base32 in groups of four separated by spaces, as people type it
    /// (authenticator apps and mfa-otp ignore the spaces).
    pub fn secret_for_typing(&self) -> Zeroizing<String> {
        group_by_four(&self.key.secret().to_base32())
    }
}

fn group_by_four(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len() + text.len() / 4));
    for (i, c) in text.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        assert_eq!(group_by_four("").as_str(), "");
        assert_eq!(group_by_four("ABC").as_str(), "ABC");
        assert_eq!(group_by_four("ABCD").as_str(), "ABCD");
        assert_eq!(group_by_four("ABCDEFGHI").as_str(), "ABCD EFGH I");
    }
}
