#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Key URIs: the Key Uri Format's published examples, reserved and non-ASCII characters, round trips, and a
//! typed error for every malformed input.

use mfa_enroll::{Error, IssuerConflict, KeyUri, Kind};
use mfa_otp::{Algorithm, Secret, SecretRule};
use proptest::prelude::*;

fn secret(b32: &str) -> Secret {
    Secret::from_base32_with(b32, SecretRule::AllowLegacy80).unwrap()
}

/// The examples of the Key Uri Format (google/google-authenticator wiki, "Key-Uri-Format").
#[test]
fn published_examples() {
    let key = KeyUri::parse("otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example")
        .unwrap();
    assert_eq!(key.issuer(), Some("Example"));
    assert_eq!(key.account(), "alice@google.com");
    assert_eq!(key.kind(), Kind::Totp { period: 30 });
    assert_eq!(key.algorithm(), Algorithm::Sha1);
    assert_eq!(key.digits(), 6);
    // The wiki: "JBSWY3DPEHPK3PXP" has the value { 'H', 'e', 'l', 'l', 'o', '!', 0xDE, 0xAD, 0xBE, 0xEF }.
    assert_eq!(key.secret().expose_bytes(), b"Hello!\xde\xad\xbe\xef");
    assert_eq!(key.secret().bits(), 80);

    let key = KeyUri::parse(
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ\
         &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
    )
    .unwrap();
    assert_eq!(key.issuer(), Some("ACME Co"));
    assert_eq!(key.account(), "john.doe@email.com");
    assert_eq!(
        key.secret().to_base32().as_str(),
        "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"
    );

    // "Valid values might include Example:alice@gmail.com, Provider1:Alice%20Smith or
    // Big%20Corporation%3Aalice%40bigco.com".
    for (label, issuer, account) in [
        ("Example:alice@gmail.com", "Example", "alice@gmail.com"),
        ("Provider1:Alice%20Smith", "Provider1", "Alice Smith"),
        (
            "Big%20Corporation%3Aalice%40bigco.com",
            "Big Corporation",
            "alice@bigco.com",
        ),
        // "optional spaces may precede the account name"
        ("Provider1:%20%20Alice", "Provider1", "Alice"),
        ("Provider1: Alice", "Provider1", "Alice"),
    ] {
        let key = KeyUri::parse(&format!("otpauth://totp/{label}?secret=JBSWY3DPEHPK3PXP")).unwrap();
        assert_eq!((key.issuer(), key.account()), (Some(issuer), account), "{label}");
    }
}

#[test]
fn hotp_and_parameters() {
    let key = KeyUri::parse(
        "otpauth://hotp/Acme:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=42&algorithm=sha256\
         &digits=8&image=https%3A%2F%2Fexample.com%2Flogo.png&foo=bar",
    )
    .unwrap();
    assert_eq!(key.kind(), Kind::Hotp { counter: 42 });
    assert_eq!(key.counter(), Some(42));
    assert_eq!(key.period(), None);
    assert_eq!(key.algorithm(), Algorithm::Sha256);
    assert_eq!(key.digits(), 8);
    assert_eq!(key.image(), Some("https://example.com/logo.png"));
    assert!(key.to_totp().is_err());
    // RFC 4226 Appendix D secret "12345678901234567890": counter 0 -> 755224 (6 digits, SHA-1).
    let rfc = KeyUri::parse("otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0").unwrap();
    assert_eq!(rfc.to_hotp().unwrap().generate(0).to_string(), "755224");
    // RFC 6238 Appendix B, SHA-1, T = 59 -> 94287082.
    let rfc = KeyUri::parse("otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8").unwrap();
    assert_eq!(
        rfc.to_totp().unwrap().generate(59).unwrap().to_string(),
        "94287082"
    );
}

#[test]
fn lenient_forms_are_read() {
    let key = KeyUri::parse(
        "  OTPAUTH://TOTP/Ex:a?SECRET=jbsw%20y3dp%20ehpk%203pxp%3D%3D%3D%3D&Algorithm=Sha512&PERIOD=60#frag\n",
    )
    .unwrap();
    assert_eq!(key.secret().to_base32().as_str(), "JBSWY3DPEHPK3PXP");
    assert_eq!(key.algorithm(), Algorithm::Sha512);
    assert_eq!(key.period(), Some(60));
    // `+` is a space in parameter values, a plus in the label.
    let key = KeyUri::parse("otpauth://totp/a+b?secret=JBSWY3DPEHPK3PXP&issuer=Big+Co").unwrap();
    assert_eq!((key.issuer(), key.account()), (Some("Big Co"), "a+b"));
    // An empty issuer parameter is no issuer.
    let key = KeyUri::parse("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=").unwrap();
    assert_eq!(key.issuer(), None);
    // Issuers that agree, and the parameter alone.
    let key = KeyUri::parse("otpauth://totp/Ex:a?secret=JBSWY3DPEHPK3PXP&issuer=Ex").unwrap();
    assert_eq!(key.issuer(), Some("Ex"));
    let key = KeyUri::parse("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=Ex").unwrap();
    assert_eq!((key.issuer(), key.account()), (Some("Ex"), "a"));
}

#[test]
fn issuer_conflict() {
    let uri = "otpauth://totp/A:x?secret=JBSWY3DPEHPK3PXP&issuer=B";
    assert_eq!(KeyUri::parse(uri), Err(Error::IssuerMismatch));
    assert_eq!(
        KeyUri::parse_with(uri, IssuerConflict::Reject),
        Err(Error::IssuerMismatch)
    );
    let key = KeyUri::parse_with(uri, IssuerConflict::PreferParameter).unwrap();
    assert_eq!((key.issuer(), key.account()), (Some("B"), "x"));
}

/// A literal `:` separates issuer and account; `%3A` after it is part of the account (as pyotp reads it).
#[test]
fn colons_in_accounts() {
    let key = KeyUri::totp(secret("JBSWY3DPEHPK3PXP"), "urn:user:42").with_issuer("Ex");
    let uri = key.to_uri().unwrap();
    assert!(uri.as_str().starts_with("otpauth://totp/Ex:urn%3Auser%3A42?"));
    assert_eq!(KeyUri::parse(uri.as_str()).unwrap(), key);

    let no_issuer = KeyUri::totp(secret("JBSWY3DPEHPK3PXP"), "urn:user:42");
    assert!(matches!(no_issuer.to_uri(), Err(Error::InvalidLabel(_))));
    let colon_issuer = KeyUri::totp(secret("JBSWY3DPEHPK3PXP"), "a").with_issuer("A:B");
    assert!(matches!(colon_issuer.to_uri(), Err(Error::InvalidLabel(_))));
    let spaced = KeyUri::totp(secret("JBSWY3DPEHPK3PXP"), " a").with_issuer("A");
    assert!(matches!(spaced.to_uri(), Err(Error::InvalidLabel(_))));
    // Without an issuer, leading spaces are part of the account and survive.
    let spaced = KeyUri::totp(secret("JBSWY3DPEHPK3PXP"), " a");
    assert_eq!(KeyUri::parse(spaced.to_uri().unwrap().as_str()).unwrap(), spaced);
}

#[test]
fn reserved_and_non_ascii_characters_are_encoded() {
    let key = KeyUri::totp(secret("JBSWY3DPEHPK3PXP"), "j d&e+f@g%h#i?j:k/l=m;n,o")
        .with_issuer("Ünïcødé 株式会社 & Co");
    let uri = key.to_uri().unwrap();
    assert_eq!(
        uri.as_str(),
        "otpauth://totp/%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%E6%A0%AA%E5%BC%8F%E4%BC%9A%E7%A4%BE%20%26%20Co:\
         j%20d%26e%2Bf%40g%25h%23i%3Fj%3Ak%2Fl%3Dm%3Bn%2Co?secret=JBSWY3DPEHPK3PXP\
         &issuer=%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%E6%A0%AA%E5%BC%8F%E4%BC%9A%E7%A4%BE%20%26%20Co\
         &algorithm=SHA1&digits=6&period=30"
    );
    assert!(uri.as_str().is_ascii());
    assert!(!uri.as_str().contains('+'));
    assert_eq!(KeyUri::parse(uri.as_str()).unwrap(), key);
}

#[test]
fn built_uris_are_redacted() {
    let key = KeyUri::hotp(secret("JBSWY3DPEHPK3PXP"), "a", 5).with_period(99);
    assert_eq!(key.period(), None, "a period does not turn HOTP into TOTP");
    let uri = key.to_uri().unwrap();
    assert_eq!(
        uri.as_str(),
        "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&counter=5"
    );
    assert!(!format!("{uri:?}").contains("JBSW"));
    assert!(!format!("{key:?}").contains("JBSW"));
}

/// Every malformed input is a typed error.
#[test]
fn malformed_inputs_are_typed_errors() {
    const S: &str = "secret=JBSWY3DPEHPK3PXP";
    let cases: Vec<(String, Error)> = vec![
        ("".into(), Error::NotOtpauth),
        ("http://totp/a?secret=JBSWY3DPEHPK3PXP".into(), Error::NotOtpauth),
        (
            "otpauth:/totp/a?secret=JBSWY3DPEHPK3PXP".into(),
            Error::NotOtpauth,
        ),
        (format!("otpauth://motp/a?{S}"), Error::UnknownType),
        (format!("otpauth:///a?{S}"), Error::UnknownType),
        ("otpauth://totp".into(), Error::MissingLabel),
        (format!("otpauth://totp/?{S}"), Error::MissingLabel),
        (format!("otpauth://totp/Ex:?{S}"), Error::EmptyAccount),
        (format!("otpauth://totp/Ex:%20%20?{S}"), Error::EmptyAccount),
        (format!("otpauth://totp/Ex%3A?{S}"), Error::EmptyAccount),
        ("otpauth://totp/a".into(), Error::MissingSecret),
        ("otpauth://totp/a?issuer=x".into(), Error::MissingSecret),
        ("otpauth://totp/a?secret=".into(), Error::MissingSecret),
        (
            "otpauth://totp/a?secret=JBSWY3DPEHPK3PX1".into(),
            Error::InvalidSecret(mfa_otp::Error::InvalidBase32Character { position: 15 }),
        ),
        (
            "otpauth://totp/a?secret=JBSWY3DPEHPK3P".into(),
            Error::InvalidSecret(mfa_otp::Error::InvalidBase32Length),
        ),
        (
            "otpauth://totp/a?secret=JBSWY3DP".into(),
            Error::InvalidSecret(mfa_otp::Error::SecretTooShort {
                bits: 40,
                required: 80,
            }),
        ),
        (
            format!("otpauth://totp/a?{S}&algorithm=MD5"),
            Error::UnsupportedAlgorithm,
        ),
        (
            format!("otpauth://totp/a?{S}&algorithm="),
            Error::UnsupportedAlgorithm,
        ),
        (format!("otpauth://totp/a?{S}&digits=5"), Error::InvalidDigits),
        (format!("otpauth://totp/a?{S}&digits=11"), Error::InvalidDigits),
        (format!("otpauth://totp/a?{S}&digits=six"), Error::InvalidDigits),
        (format!("otpauth://totp/a?{S}&digits=+6"), Error::InvalidDigits),
        (format!("otpauth://totp/a?{S}&digits=256"), Error::InvalidDigits),
        (format!("otpauth://totp/a?{S}&period=0"), Error::InvalidPeriod),
        (format!("otpauth://totp/a?{S}&period=-30"), Error::InvalidPeriod),
        (format!("otpauth://totp/a?{S}&period=30s"), Error::InvalidPeriod),
        (
            format!("otpauth://totp/a?{S}&period=99999999999999999999"),
            Error::InvalidPeriod,
        ),
        (format!("otpauth://hotp/a?{S}"), Error::MissingCounter),
        (format!("otpauth://hotp/a?{S}&counter=-1"), Error::InvalidCounter),
        (
            format!("otpauth://hotp/a?{S}&counter=18446744073709551616"),
            Error::InvalidCounter,
        ),
        (format!("otpauth://hotp/a?{S}&counter="), Error::InvalidCounter),
        (
            format!("otpauth://totp/a?{S}&{S}"),
            Error::DuplicateParameter("secret"),
        ),
        (
            format!("otpauth://totp/a?{S}&issuer=a&issuer=b"),
            Error::DuplicateParameter("issuer"),
        ),
        (
            format!("otpauth://totp/a?{S}&digits=6&digits=8"),
            Error::DuplicateParameter("digits"),
        ),
        (
            format!("otpauth://totp/a?{S}&period=30&PERIOD=60"),
            Error::DuplicateParameter("period"),
        ),
        (
            format!("otpauth://totp/a?{S}&algorithm=SHA1&algorithm=SHA1"),
            Error::DuplicateParameter("algorithm"),
        ),
        (
            format!("otpauth://hotp/a?{S}&counter=1&counter=2"),
            Error::DuplicateParameter("counter"),
        ),
        (
            format!("otpauth://totp/a%2?{S}"),
            Error::InvalidPercentEncoding("label"),
        ),
        (
            format!("otpauth://totp/a%zz?{S}"),
            Error::InvalidPercentEncoding("label"),
        ),
        (
            format!("otpauth://totp/a?{S}&issuer=%"),
            Error::InvalidPercentEncoding("issuer parameter"),
        ),
        (
            "otpauth://totp/a?secret=%G0".into(),
            Error::InvalidPercentEncoding("secret"),
        ),
        (format!("otpauth://totp/%C3%28?{S}"), Error::InvalidUtf8("label")),
        (
            format!("otpauth://totp/a?{S}&issuer=%FF"),
            Error::InvalidUtf8("issuer parameter"),
        ),
        (format!("otpauth://totp/A:a?{S}&issuer=B"), Error::IssuerMismatch),
    ];
    for (uri, expected) in cases {
        assert_eq!(KeyUri::parse(&uri), Err(expected), "{uri}");
    }
    // Messages are one line and never repeat the secret.
    let err = KeyUri::parse("otpauth://totp/a?secret=JBSWY3DPEHPK3PX1").unwrap_err();
    assert!(!err.to_string().contains("JBSW"));
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn build_refuses_invalid_settings() {
    let key = || KeyUri::totp(secret("JBSWY3DPEHPK3PXP"), "a");
    assert_eq!(key().with_digits(5).to_uri().unwrap_err(), Error::InvalidDigits);
    assert_eq!(key().with_digits(11).to_uri().unwrap_err(), Error::InvalidDigits);
    assert_eq!(key().with_period(0).to_uri().unwrap_err(), Error::InvalidPeriod);
    assert_eq!(
        KeyUri::totp(secret("JBSWY3DPEHPK3PXP"), "").to_uri().unwrap_err(),
        Error::EmptyAccount
    );
    assert_eq!(key().with_issuer("").issuer(), None);
}

fn any_algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

/// Text with the characters that break naive encoders, plus arbitrary Unicode.
fn awkward_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(vec![
                ' ',
                '&',
                '+',
                '@',
                '%',
                '#',
                '?',
                ':',
                '/',
                '=',
                ';',
                '~',
                '\u{e9}',
                '\u{1f600}'
            ]),
            any::<char>(),
            prop::char::range('a', 'z'),
        ],
        1..24,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn any_key() -> impl Strategy<Value = KeyUri> {
    (
        prop::collection::vec(any::<u8>(), 10..=64),
        prop::option::of(awkward_text().prop_map(|s| s.replace(':', "_"))),
        awkward_text(),
        any_algorithm(),
        6u8..=10,
        prop_oneof![(1u64..=u64::MAX).prop_map(Some), Just(None)],
        any::<u64>(),
        prop::option::of("[a-z]{1,8}".prop_map(|s| format!("https://example.com/{s}.png?x=1&y=2"))),
    )
        .prop_map(
            |(bytes, issuer, account, algorithm, digits, period, counter, image)| {
                let secret = Secret::from_bytes_with(&bytes, SecretRule::AllowLegacy80).unwrap();
                let key = match period {
                    Some(p) => KeyUri::totp(secret, account).with_period(p),
                    None => KeyUri::hotp(secret, account, counter),
                };
                let key = key.with_algorithm(algorithm).with_digits(digits);
                let key = match issuer {
                    Some(i) => key.with_issuer(i),
                    None => key,
                };
                match image {
                    Some(i) => key.with_image(i),
                    None => key,
                }
            },
        )
}

proptest! {
    /// Build then parse gives the same credential, whenever the label is one readers agree on.
    #[test]
    fn build_then_parse_round_trips(key in any_key()) {
        match key.to_uri() {
            Ok(uri) => {
                prop_assert!(uri.as_str().is_ascii());
                prop_assert_eq!(KeyUri::parse(uri.as_str()).unwrap(), key);
            }
            Err(Error::InvalidLabel(_)) => {
                let account_colon = key.issuer().is_none() && key.account().contains(':');
                let leading_space = key.issuer().is_some() && key.account().starts_with(' ');
                prop_assert!(account_colon || leading_space);
            }
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    /// Parsing arbitrary text never panics; what parses builds back to a URI that parses the same.
    #[test]
    fn parse_never_panics(tail in "\\PC{0,80}") {
        let text = format!("otpauth://totp/{tail}");
        if let Ok(key) = KeyUri::parse(&text)
            && let Ok(uri) = key.to_uri()
        {
            prop_assert_eq!(KeyUri::parse(uri.as_str()).unwrap(), key);
        }
    }
}

/// The Key URI format: "Neither issuer nor account name may themselves contain a colon", and the
/// issuer parameter should equal the label's prefix. The writer refuses such an issuer, so the reader
/// does too, wherever it comes from (issue 12, item 6c): whatever parses can be written back.
#[test]
fn an_issuer_holding_a_colon_is_refused_as_the_writer_refuses_it() {
    const S: &str = "secret=JBSWY3DPEHPK3PXP";
    for uri in [
        format!("otpauth://totp/a?{S}&issuer=A%3AB"),
        format!("otpauth://totp/a?{S}&issuer=A:B"),
        format!("otpauth://totp/A%3AB:a?{S}"),
        format!("otpauth://totp/A%3AB:a?{S}&issuer=A%3AB"),
        format!("otpauth://hotp/a?{S}&counter=1&issuer=A%3aB"),
    ] {
        for conflict in [IssuerConflict::Reject, IssuerConflict::PreferParameter] {
            let parsed = KeyUri::parse_with(&uri, conflict);
            assert_eq!(
                parsed,
                Err(Error::InvalidLabel("an issuer cannot contain ':'")),
                "{uri}"
            );
        }
    }
    // The label's issuer is fine, the parameter preferred over it is not.
    let uri = format!("otpauth://totp/A:a?{S}&issuer=B%3AC");
    assert_eq!(
        KeyUri::parse_with(&uri, IssuerConflict::PreferParameter),
        Err(Error::InvalidLabel("an issuer cannot contain ':'"))
    );
    // A colon in the account after an issuer stays readable, as before.
    let key = KeyUri::parse(&format!("otpauth://totp/Ex:urn%3Auser?{S}&issuer=Ex")).unwrap();
    assert_eq!((key.issuer(), key.account()), (Some("Ex"), "urn:user"));
}
