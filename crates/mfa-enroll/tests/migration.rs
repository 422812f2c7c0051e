#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The authenticator export format: hand-made payloads field by field, base64 variants, round trips, and a
//! typed error for every malformed input.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mfa_enroll::{Batch, Error, KeyUri, Kind, Migration};
use mfa_otp::{Algorithm, Secret, SecretRule};
use proptest::prelude::*;

// A protocol-buffer writer independent of the crate's, from the wire format
// (https://protobuf.dev/programming-guides/encoding/).
fn varint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}
fn vfield(num: u64, value: u64) -> Vec<u8> {
    [varint(num << 3), varint(value)].concat()
}
fn bfield(num: u64, bytes: &[u8]) -> Vec<u8> {
    [varint(num << 3 | 2), varint(bytes.len() as u64), bytes.to_vec()].concat()
}

/// OtpParameters with the given fields; `None` leaves a field out.
fn params(
    secret: &[u8],
    name: &str,
    issuer: &str,
    alg: u64,
    digits: u64,
    ty: u64,
    counter: Option<u64>,
) -> Vec<u8> {
    let mut p = [
        bfield(1, secret),
        bfield(2, name.as_bytes()),
        bfield(3, issuer.as_bytes()),
        vfield(4, alg),
        vfield(5, digits),
        vfield(6, ty),
    ]
    .concat();
    if let Some(c) = counter {
        p.extend(vfield(7, c));
    }
    p
}

fn uri_of(payload: &[u8]) -> String {
    let b64 = STANDARD.encode(payload);
    format!(
        "otpauth-migration://offline?data={}",
        b64.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
    )
}

#[test]
fn reads_every_field() {
    let payload = [
        bfield(
            1,
            &params(
                b"Hello!\xde\xad\xbe\xef",
                "Example:alice@google.com",
                "Example",
                1,
                1,
                2,
                None,
            ),
        ),
        bfield(1, &params(&[0x31; 20], "bob", "", 3, 2, 1, Some(42))),
        bfield(1, &params(&[0x32; 32], "carol", "Ünï", 2, 0, 0, None)),
        vfield(2, 1),
        vfield(3, 2),
        vfield(4, 1),
        vfield(5, 0x7fff_ffff),
    ]
    .concat();
    let m = Migration::parse(&uri_of(&payload)).unwrap();
    assert_eq!(
        m.batch,
        Batch {
            version: 1,
            size: 2,
            index: 1,
            id: 0x7fff_ffff
        }
    );
    let [a, b, c] = &m.credentials[..] else {
        panic!("three credentials")
    };
    assert_eq!((a.issuer(), a.account()), (Some("Example"), "alice@google.com"));
    assert_eq!(a.secret().to_base32().as_str(), "JBSWY3DPEHPK3PXP");
    assert_eq!(
        (a.kind(), a.algorithm(), a.digits()),
        (Kind::Totp { period: 30 }, Algorithm::Sha1, 6)
    );
    assert_eq!((b.issuer(), b.account()), (None, "bob"));
    assert_eq!(
        (b.kind(), b.algorithm(), b.digits()),
        (Kind::Hotp { counter: 42 }, Algorithm::Sha512, 8)
    );
    // Unspecified digits (0) are six, unspecified type (0) is TOTP.
    assert_eq!((c.issuer(), c.account()), (Some("Ünï"), "carol"));
    assert_eq!(
        (c.kind(), c.algorithm(), c.digits()),
        (Kind::Totp { period: 30 }, Algorithm::Sha256, 6)
    );
}

#[test]
fn base64_and_uri_variants() {
    let payload = [
        bfield(1, &params(&[0xfb; 16], "a?b", "", 1, 1, 2, None)),
        vfield(2, 1),
    ]
    .concat();
    let std_b64 = STANDARD.encode(&payload);
    assert!(std_b64.contains('+') || std_b64.contains('/'));
    let variants = [
        format!("otpauth-migration://offline?data={std_b64}"),
        format!(
            "otpauth-migration://offline?data={}",
            std_b64.trim_end_matches('=')
        ),
        format!(
            "otpauth-migration://offline?data={}",
            URL_SAFE_NO_PAD.encode(&payload)
        ),
        format!(
            "OTPAUTH-MIGRATION://Offline?foo=1&data={}&bar",
            std_b64.replace('+', " ")
        ),
        uri_of(&payload),
        format!("  {}#x\n", uri_of(&payload)),
    ];
    for uri in variants {
        let m = Migration::parse(&uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(m.credentials[0].account(), "a?b", "{uri}");
    }
}

#[test]
fn unknown_fields_are_skipped() {
    let mut record = params(&[1; 16], "a", "I", 1, 1, 2, None);
    record.extend(bfield(8, b"unique id"));
    record.extend(vfield(99, 5));
    record.extend([0x0d, 1, 2, 3, 4]); // field 1 (secret) as fixed32: a known field of the wrong type
    let wrong = Migration::from_protobuf(&bfield(1, &record));
    assert_eq!(
        wrong,
        Err(Error::MalformedProtobuf("wrong wire type for a known field"))
    );
    record.truncate(record.len() - 5);
    record.extend([0x45, 1, 2, 3, 4]); // field 8, fixed32
    record.extend([0x49, 1, 2, 3, 4, 5, 6, 7, 8]); // field 9, fixed64
    let payload = [bfield(1, &record), bfield(6, b"future"), vfield(7, 1)].concat();
    let m = Migration::from_protobuf(&payload).unwrap();
    assert_eq!(m.credentials[0].account(), "a");
    assert_eq!(
        m.batch,
        Batch {
            version: 0,
            size: 0,
            index: 0,
            id: 0
        }
    );
}

#[test]
fn malformed_exports_are_typed_errors() {
    let one = |p: Vec<u8>| uri_of(&bfield(1, &p));
    let cases: Vec<(String, Error)> = vec![
        (
            "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP".into(),
            Error::NotMigration,
        ),
        ("otpauth-migration://online?data=AA".into(), Error::NotMigration),
        ("otpauth-migration://offline".into(), Error::MissingData),
        ("otpauth-migration://offline?data=".into(), Error::MissingData),
        (
            "otpauth-migration://offline?data=AA&data=AA".into(),
            Error::DuplicateParameter("data"),
        ),
        (
            "otpauth-migration://offline?data=%zz".into(),
            Error::InvalidPercentEncoding("data parameter"),
        ),
        (
            "otpauth-migration://offline?data=%FF".into(),
            Error::InvalidUtf8("data parameter"),
        ),
        ("otpauth-migration://offline?data=*".into(), Error::InvalidBase64),
        ("otpauth-migration://offline?data=A".into(), Error::InvalidBase64),
        (
            uri_of(&[0x0a, 0x05, 0x00]),
            Error::MalformedProtobuf("field runs past the end"),
        ),
        (uri_of(&[0x08]), Error::MalformedProtobuf("truncated varint")),
        (
            uri_of(&[0xff; 12]),
            Error::MalformedProtobuf("varint longer than 64 bits"),
        ),
        (uri_of(&[0x00]), Error::MalformedProtobuf("invalid field number")),
        (uri_of(&[0x0b]), Error::MalformedProtobuf("unsupported wire type")),
        (
            uri_of(&vfield(1, 5)),
            Error::MalformedProtobuf("wrong wire type for a known field"),
        ),
        (
            uri_of(&bfield(2, b"x")),
            Error::MalformedProtobuf("wrong wire type for a known field"),
        ),
        (one(params(b"", "a", "", 1, 1, 2, None)), Error::MissingSecret),
        (
            one(params(&[1; 9], "a", "", 1, 1, 2, None)),
            Error::InvalidSecret(mfa_otp::Error::SecretTooShort {
                bits: 72,
                required: 80,
            }),
        ),
        (
            one(params(&[1; 129], "a", "", 1, 1, 2, None)),
            Error::InvalidSecret(mfa_otp::Error::SecretTooLong { bytes: 129 }),
        ),
        (
            one(params(&[1; 16], "a", "", 4, 1, 2, None)),
            Error::Md5Unsupported,
        ),
        (
            one(params(&[1; 16], "a", "", 5, 1, 2, None)),
            Error::UnsupportedMigrationValue {
                field: "algorithm",
                value: 5,
            },
        ),
        (
            one(params(&[1; 16], "a", "", 1, 3, 2, None)),
            Error::UnsupportedMigrationValue {
                field: "digits",
                value: 3,
            },
        ),
        (
            one(params(&[1; 16], "a", "", 1, 1, 3, None)),
            Error::UnsupportedMigrationValue {
                field: "type",
                value: 3,
            },
        ),
        (
            one(params(&[1; 16], "a", "", 1, 1, 1, Some(u64::MAX))),
            Error::InvalidCounter,
        ),
        (one(params(&[1; 16], "", "", 1, 1, 2, None)), Error::EmptyAccount),
        (
            one(params(&[1; 16], "Ex: ", "Ex", 1, 1, 2, None)),
            Error::EmptyAccount,
        ),
        (
            one([bfield(1, &[1; 16]), bfield(2, b"\xff")].concat()),
            Error::InvalidUtf8("account name"),
        ),
        (
            one([bfield(1, &[1; 16]), bfield(2, b"a"), bfield(3, b"\xc3")].concat()),
            Error::InvalidUtf8("issuer"),
        ),
        (
            one([bfield(1, &[1; 16]), bfield(2, b"a"), vfield(4, 1), bfield(4, b"")].concat()),
            Error::MalformedProtobuf("wrong wire type for a known field"),
        ),
    ];
    for (uri, expected) in cases {
        assert_eq!(Migration::parse(&uri), Err(expected), "{uri}");
    }
}

#[test]
fn export_refuses_what_the_format_cannot_carry() {
    let s = || Secret::from_bytes(&[9; 20]).unwrap();
    let bad = [
        (KeyUri::totp(s(), "a").with_period(60), "period"),
        (KeyUri::totp(s(), "a").with_digits(7), "digits"),
        (KeyUri::hotp(s(), "a", u64::MAX), "counter"),
    ];
    for (key, what) in bad {
        assert!(
            matches!(Migration::new(vec![key]).to_uri(), Err(Error::NotExportable(_))),
            "{what}"
        );
    }
    assert!(matches!(
        Migration::new(vec![KeyUri::totp(s(), "x:y")]).to_uri(),
        Err(Error::InvalidLabel(_))
    ));
    assert_eq!(
        Migration::new(vec![KeyUri::totp(s(), "")]).to_uri().unwrap_err(),
        Error::EmptyAccount
    );
    // The empty export is valid.
    let empty = Migration::new(vec![]);
    assert_eq!(Migration::parse(empty.to_uri().unwrap().as_str()).unwrap(), empty);
    assert!(!format!("{:?}", empty.to_uri().unwrap()).contains("data="));
}

fn exportable_key() -> impl Strategy<Value = KeyUri> {
    (
        prop::collection::vec(any::<u8>(), 10..=128),
        prop::option::of("[^:]{1,12}"),
        "[^ ][^\u{0}]{0,16}",
        prop_oneof![
            Just(Algorithm::Sha1),
            Just(Algorithm::Sha256),
            Just(Algorithm::Sha512)
        ],
        prop_oneof![Just(6u8), Just(8u8)],
        prop::option::of(0u64..=i64::MAX as u64),
    )
        .prop_map(|(bytes, issuer, account, alg, digits, counter)| {
            let secret = Secret::from_bytes_with(&bytes, SecretRule::AllowLegacy80).unwrap();
            let key = match counter {
                Some(c) => KeyUri::hotp(secret, account, c),
                None => KeyUri::totp(secret, account),
            };
            let key = key.with_algorithm(alg).with_digits(digits);
            match issuer {
                Some(i) => key.with_issuer(i),
                None => key,
            }
        })
}

proptest! {
    /// Export then import gives the same credentials and batch fields.
    #[test]
    fn export_import_round_trips(
        keys in prop::collection::vec(exportable_key(), 0..5),
        batch in (any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()),
    ) {
        let mut m = Migration::new(keys);
        m.batch = Batch { version: batch.0, size: batch.1, index: batch.2, id: batch.3 };
        match m.to_uri() {
            Ok(uri) => prop_assert_eq!(Migration::parse(uri.as_str()).unwrap(), m),
            Err(Error::InvalidLabel(_)) => prop_assert!(m.credentials.iter().any(|k| k.issuer().is_none() && k.account().contains(':'))),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    /// Arbitrary payloads never panic.
    #[test]
    fn arbitrary_payloads_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Migration::from_protobuf(&bytes);
        let _ = Migration::parse(&uri_of(&bytes));
    }
}

#[test]
fn accounts_that_start_with_the_issuer_survive() {
    let key = KeyUri::totp(Secret::from_bytes(&[3; 20]).unwrap(), "Ex:inner").with_issuer("Ex");
    let m = Migration::new(vec![key]);
    assert_eq!(Migration::parse(m.to_uri().unwrap().as_str()).unwrap(), m);
}
