//! The texts that reach phones: SMS that fit one segment, voice scripts that read slowly.

use mfa::PhoneMessage;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::ConfigError;

/// The characters of the GSM 03.38 default alphabet (one septet each), as 3GPP TS 23.038 §6.2.1
/// lists them (the escape to the extension table left out).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table (TS 23.038 §6.2.1.1): two septets each, the escape and the character.
const GSM7_EXTENSION: &str = "^{}\\[~]|€";

/// One SMS segment: 160 septets in GSM-7 (TS 23.038), 70 UTF-16 units in UCS-2.
pub const GSM7_SEGMENT: usize = 160;
/// One SMS segment in UCS-2, for texts with a character outside GSM-7.
pub const UCS2_SEGMENT: usize = 70;

/// The longest WebOTP domain accepted, so that the shortest text with it still fits one segment.
const MAX_WEBOTP_DOMAIN: usize = 100;

/// How a text is encoded on the air, and what it costs there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    /// Every character is in the GSM 03.38 alphabet: 160 septets per segment.
    Gsm7,
    /// At least one is not: UCS-2, 70 characters per segment.
    Ucs2,
}

/// The encoding of `text` and its length in that encoding's units (septets, or UTF-16 units).
///
/// ```
/// use mfa_delivery::{SmsEncoding, sms_length};
///
/// assert_eq!(sms_length("123456 is your code"), (SmsEncoding::Gsm7, 19));
/// assert_eq!(sms_length("{code}"), (SmsEncoding::Gsm7, 8)); // braces are in the extension table
/// assert_eq!(sms_length("Ünïcode ✓"), (SmsEncoding::Ucs2, 9));
/// ```
pub fn sms_length(text: &str) -> (SmsEncoding, usize) {
    let mut septets = 0usize;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXTENSION.contains(c) {
            septets += 2;
        } else {
            return (SmsEncoding::Ucs2, text.encode_utf16().count());
        }
    }
    (SmsEncoding::Gsm7, septets)
}

/// Whether `text` goes in one SMS segment.
pub fn fits_one_segment(text: &str) -> bool {
    match sms_length(text) {
        (SmsEncoding::Gsm7, n) => n <= GSM7_SEGMENT,
        (SmsEncoding::Ucs2, n) => n <= UCS2_SEGMENT,
    }
}

/// The SMS text: the code first (phones offer to copy it), the service, the validity, a warning not
/// to share it, and optionally a [WebOTP] line, `@domain #code`, with which a browser on the phone
/// offers to fill the code in on that domain's pages.
///
/// The text always fits one SMS segment (160 GSM-7 characters; 70 when the issuer's name has a
/// character outside GSM-7): when the full sentence does not, a shorter one is used, then the
/// issuer's name is shortened, then left out. Line breaks and control characters in the issuer's
/// name become spaces, so it cannot forge the WebOTP line (which must be the last).
///
/// [WebOTP]: https://wicg.github.io/web-otp/
///
/// ```
/// use mfa::{MessagePurpose, PhoneMessage};
/// use mfa_delivery::{SmsTemplate, fits_one_segment};
///
/// let message = PhoneMessage::new("Example", "123456", MessagePurpose::SignIn, 300);
/// assert_eq!(
///     SmsTemplate::default().render(&message).as_str(),
///     "123456 is your Example verification code. It expires in 5 minutes. Do not share it."
/// );
/// let webotp = SmsTemplate::with_webotp("login.example.com")?;
/// let text = webotp.render(&message);
/// assert!(text.ends_with("\n\n@login.example.com #123456"));
/// assert!(fits_one_segment(&text));
///
/// let long = PhoneMessage::new(&"Very Long Company Name ".repeat(10), "123456", MessagePurpose::SignIn, 300);
/// assert!(fits_one_segment(&webotp.render(&long)));
/// # Ok::<(), mfa_delivery::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsTemplate {
    /// The domain of the WebOTP line (`login.example.com`), none by default. The host name of the
    /// page where users type the code: browsers fill it in only there.
    #[serde(default)]
    pub webotp_domain: Option<String>,
}

impl SmsTemplate {
    /// A template with a WebOTP line for `domain`, checked as [`validate`](Self::validate) does.
    pub fn with_webotp(domain: &str) -> Result<Self, ConfigError> {
        let template = SmsTemplate {
            webotp_domain: Some(domain.to_owned()),
        };
        template.validate()?;
        Ok(template)
    }

    /// Checks the WebOTP domain: a host name (lower-case letters, digits, hyphens and dots, no
    /// scheme, port or path), at most 100 characters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        const FIELD: &str = "sms.webotp_domain (MFA_DELIVERY_WEBOTP_DOMAIN)";
        let Some(domain) = &self.webotp_domain else {
            return Ok(());
        };
        let invalid = |reason: &str| ConfigError::Invalid {
            field: FIELD,
            reason: reason.to_owned(),
        };
        if domain.is_empty() || domain.len() > MAX_WEBOTP_DOMAIN {
            return Err(invalid("must be a host name of 1 to 100 characters"));
        }
        let labels_ok = domain.split('.').all(|label| {
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
                "must be a host name in lower case, such as login.example.com (no scheme, port or path)",
            ));
        }
        Ok(())
    }

    /// The text for `message`: see the type's documentation.
    pub fn render(&self, message: &PhoneMessage) -> Zeroizing<String> {
        let code = message.code();
        let issuer = clean_issuer(message.issuer());
        let minutes = message.ttl_secs().div_ceil(60);
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        let suffix = match &self.webotp_domain {
            Some(domain) => Zeroizing::new(format!("\n\n@{domain} #{code}")),
            None => Zeroizing::new(String::new()),
        };
        let long = |issuer: &str| {
            Zeroizing::new(format!(
                "{code} is your {issuer} verification code. It expires in {minutes} {unit}. Do not share it.{}",
                suffix.as_str()
            ))
        };
        let medium = |issuer: &str| {
            Zeroizing::new(format!(
                "{code} is your {issuer} code. Valid {minutes} min. Do not share it.{}",
                suffix.as_str()
            ))
        };
        let short =
            |issuer: &str| Zeroizing::new(format!("{code} is your {issuer} code.{}", suffix.as_str()));
        for candidate in [long(&issuer), medium(&issuer), short(&issuer)] {
            if fits_one_segment(&candidate) {
                return candidate;
            }
        }
        // The issuer's name is too long: shorten it, keeping at least a few characters.
        let chars: Vec<char> = issuer.chars().collect();
        for keep in (4..chars.len()).rev() {
            let shortened: String = chars[..keep].iter().collect();
            let candidate = short(shortened.trim_end());
            if fits_one_segment(&candidate) {
                return candidate;
            }
        }
        // Without it: digits, ASCII and a checked domain (at most 100 characters) always fit.
        Zeroizing::new(format!("{code} is your verification code.{}", suffix.as_str()))
    }
}

/// The issuer's name on one line, trimmed.
fn clean_issuer(issuer: &str) -> String {
    let one_line: String = issuer
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.split_whitespace().collect::<Vec<_>>().join(" ");
    if trimmed.is_empty() {
        "sign-in".to_owned()
    } else {
        trimmed
    }
}

/// What a voice call says: who calls, then the code digit by digit, slowly, twice.
///
/// Providers render it in their own way ([`twiml`](Self::twiml) for Twilio, with a pause after
/// every digit; [`speech`](Self::speech) as plain text, for Vonage's talk action and the webhook),
/// always as words a text-to-speech engine reads well: digits apart, no symbols.
///
/// ```
/// use mfa::{MessagePurpose, PhoneMessage};
/// use mfa_delivery::VoiceScript;
///
/// let message = PhoneMessage::new("Example", "123456", MessagePurpose::SignIn, 300);
/// let script = VoiceScript::new(&message);
/// assert_eq!(
///     script.speech().as_str(),
///     "Your Example verification code is: 1. 2. 3. 4. 5. 6. Again, your code is: 1. 2. 3. 4. 5. 6. Goodbye."
/// );
/// assert!(script.twiml("en-US").contains(r#"<Say language="en-US">1</Say><Pause length="1"/>"#));
/// ```
#[derive(Clone)]
pub struct VoiceScript {
    issuer: String,
    digits: Zeroizing<Vec<char>>,
}

impl core::fmt::Debug for VoiceScript {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VoiceScript")
            .field("issuer", &self.issuer)
            .field("digits", &"<redacted>")
            .finish()
    }
}

impl VoiceScript {
    /// The script for `message`.
    pub fn new(message: &PhoneMessage) -> Self {
        let issuer: String = clean_issuer(message.issuer())
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'' | '.' | '&'))
            .collect();
        VoiceScript {
            issuer: issuer.trim().to_owned(),
            digits: Zeroizing::new(message.code().chars().collect()),
        }
    }

    fn introduction(&self) -> String {
        if self.issuer.is_empty() {
            "Your verification code is:".to_owned()
        } else {
            format!("Your {} verification code is:", self.issuer)
        }
    }

    fn spoken_digits(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::new());
        for (i, digit) in self.digits.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push(*digit);
            out.push('.');
        }
        out
    }

    /// Plain text: digits as sentences of their own (`1. 2. 3.`), which text-to-speech engines
    /// read with a pause after each, the code twice.
    pub fn speech(&self) -> Zeroizing<String> {
        let digits = self.spoken_digits();
        Zeroizing::new(format!(
            "{} {} Again, your code is: {} Goodbye.",
            self.introduction(),
            digits.as_str(),
            digits.as_str()
        ))
    }

    /// The intro and first reading, and the repetition, as two texts (Vonage's two talk actions).
    pub fn speech_parts(&self) -> [Zeroizing<String>; 2] {
        let digits = self.spoken_digits();
        [
            Zeroizing::new(format!("{} {}", self.introduction(), digits.as_str())),
            Zeroizing::new(format!("Again, your code is: {} Goodbye.", digits.as_str())),
        ]
    }

    /// TwiML for Twilio: each digit in its own `<Say>` followed by a one-second `<Pause>`, the code
    /// twice, in `language` (a Twilio `<Say>` language such as `en-US`).
    pub fn twiml(&self, language: &str) -> Zeroizing<String> {
        let language = xml_escape(language);
        let say = |text: &str| format!("<Say language=\"{language}\">{}</Say>", xml_escape(text));
        let mut out = Zeroizing::new(String::with_capacity(1024));
        out.push_str("<Response>");
        out.push_str(&say(&self.introduction()));
        out.push_str("<Pause length=\"1\"/>");
        for round in 0..2 {
            if round == 1 {
                out.push_str(&say("Again, your code is:"));
                out.push_str("<Pause length=\"1\"/>");
            }
            for digit in self.digits.iter() {
                out.push_str(&say(&digit.to_string()));
                out.push_str("<Pause length=\"1\"/>");
            }
        }
        out.push_str(&say("Goodbye."));
        out.push_str("</Response>");
        out
    }
}

/// Escapes the five XML special characters.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfa::MessagePurpose;
    use proptest::prelude::*;

    #[test]
    fn gsm7_tables_have_the_right_sizes() {
        // 128 positions, less the escape; 9 extension characters (without the page break).
        assert_eq!(GSM7_BASIC.chars().count(), 127);
        assert_eq!(GSM7_EXTENSION.chars().count(), 9);
    }

    #[test]
    fn the_default_template_fits_with_typical_issuers() {
        for issuer in ["Example", "Contoso Ltd", "A fairly long company name, Inc."] {
            for code in ["123456", "12345678"] {
                let message = PhoneMessage::new(issuer, code, MessagePurpose::SignIn, 600);
                let text = SmsTemplate::with_webotp("accounts.example.com")
                    .unwrap()
                    .render(&message);
                assert!(text.starts_with(&format!("{code} is your {issuer} verification code.")));
                assert!(fits_one_segment(&text), "{} septets", sms_length(&text).1);
            }
        }
    }

    #[test]
    fn a_non_gsm_issuer_fits_in_ucs2() {
        let message = PhoneMessage::new("Ωmega Ünïted ✓ Services", "123456", MessagePurpose::SignIn, 300);
        let text = SmsTemplate::with_webotp("example.com").unwrap().render(&message);
        assert_eq!(sms_length(&text).0, SmsEncoding::Ucs2);
        assert!(fits_one_segment(&text));
        assert!(text.ends_with("\n\n@example.com #123456"));
    }

    #[test]
    fn an_issuer_cannot_forge_the_webotp_line() {
        let message = PhoneMessage::new("Evil\n@evil.example #", "123456", MessagePurpose::SignIn, 300);
        let text = SmsTemplate::with_webotp("example.com").unwrap().render(&message);
        assert_eq!(text.lines().filter(|l| l.starts_with('@')).count(), 1);
        assert!(text.ends_with("\n\n@example.com #123456"));
    }

    #[test]
    fn webotp_domains_are_checked() {
        for bad in [
            "",
            "https://example.com",
            "Example.com",
            "example.com:443",
            "a..b",
            "-a.com",
            "ex ample.com",
        ] {
            assert!(SmsTemplate::with_webotp(bad).is_err(), "{bad}");
        }
        assert!(SmsTemplate::with_webotp(&"a".repeat(101)).is_err());
        assert!(SmsTemplate::with_webotp("xn--bcher-kva.example").is_ok());
    }

    #[test]
    fn voice_scripts_escape_xml_and_read_every_digit_twice() {
        let message = PhoneMessage::new("<Tom & Jerry's>", "90210", MessagePurpose::Registration, 300);
        let script = VoiceScript::new(&message);
        let twiml = script.twiml("en-GB");
        assert!(twiml.starts_with(
            "<Response><Say language=\"en-GB\">Your Tom &amp; Jerry&apos;s verification code is:</Say>"
        ));
        assert!(!twiml.contains("<Tom"));
        assert_eq!(twiml.matches("<Say language=\"en-GB\">9</Say>").count(), 2);
        assert_eq!(twiml.matches("<Say language=\"en-GB\">0</Say>").count(), 4);
        assert_eq!(twiml.matches("<Pause length=\"1\"/>").count(), 1 + 5 + 1 + 5);
        assert_eq!(
            script.speech().as_str(),
            "Your Tom & Jerry's verification code is: 9. 0. 2. 1. 0. Again, your code is: 9. 0. 2. 1. 0. Goodbye."
        );
        assert!(!format!("{script:?}").contains('9'));
    }

    proptest! {
        #[test]
        fn every_text_fits_one_segment(
            issuer in "\\PC{0,200}",
            digits in 6usize..=8,
            ttl in 60u64..=600,
            domain in proptest::option::of("[a-z0-9]{1,30}(\\.[a-z0-9]{1,20}){0,3}"),
        ) {
            let code: String = "12345678"[..digits].to_owned();
            let message = PhoneMessage::new(&issuer, &code, MessagePurpose::SignIn, ttl);
            let template = SmsTemplate { webotp_domain: domain.clone() };
            prop_assert!(template.validate().is_ok());
            let text = template.render(&message);
            prop_assert!(fits_one_segment(&text), "{:?}: {:?}", text.as_str(), sms_length(&text));
            let start = format!("{code} is your ");
            prop_assert!(text.starts_with(&start));
            if let Some(domain) = domain {
                let webotp_line = format!("\n\n@{domain} #{code}");
                prop_assert!(text.ends_with(&webotp_line));
            }
        }

        #[test]
        fn long_domains_still_fit(issuer in "\\PC{0,200}", domain in "[a-z]{60}\\.[a-z]{39}") {
            let message = PhoneMessage::new(&issuer, "12345678", MessagePurpose::SignIn, 600);
            let text = SmsTemplate::with_webotp(&domain).unwrap().render(&message);
            prop_assert!(fits_one_segment(&text));
        }
    }
}
