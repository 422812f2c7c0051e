//! Malformed, tampered, replayed, expired and wrongly-signed input: each refused with its typed error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mfa_push::*;
use serde_json::{Value, json};

fn now() -> UnixTime {
    UnixTime::from_secs(1_700_000_000)
}

fn answer_body() -> Value {
    let key = DeviceKey::from_bytes(Algorithm::Ed25519, &[5; 32]).unwrap();
    let body = AnswerRequest::sign(
        &key,
        &DeviceId::new("d").unwrap(),
        &ChallengeId::new("c").unwrap(),
        Decision::Approve("42".parse().unwrap()),
        now(),
    )
    .unwrap()
    .to_json();
    serde_json::from_str(&body).unwrap()
}

fn parse(body: &Value) -> Result<AnswerRequest, Error> {
    AnswerRequest::from_json(body.to_string().as_bytes())
}

fn malformed(result: Result<AnswerRequest, Error>, what: &str) {
    match result {
        Err(Error::Malformed { what: w, .. }) => assert_eq!(w, what),
        other => panic!("expected malformed {what}, got {other:?}"),
    }
}

#[test]
fn bodies_of_the_wrong_shape() {
    assert!(parse(&answer_body()).is_ok());
    for (member, value, what) in [
        ("v", json!(null), "v"),
        ("device_id", json!("a b"), "device_id"),
        ("device_id", json!(""), "device_id"),
        ("nonce", json!("AAAA"), "nonce"),
        ("nonce", json!("AAAAAAAAAAAAAAAAAAAAAA=="), "nonce"),
        ("signature", json!("!!"), "signature"),
        ("decision", json!("maybe"), "decision"),
        ("number", json!("4"), "number"),
        ("number", json!("4242"), "number"),
        ("number", json!("4a"), "number"),
        ("challenge_id", json!("x".repeat(65)), "challenge_id"),
    ] {
        let mut body = answer_body();
        body[member] = value;
        malformed(parse(&body), what);
    }
    // Wrong JSON types and duplicates are refused as the whole body.
    for text in [
        r#"{"v":1,"timestamp":"1700000000"}"#.to_owned(),
        r#"{"v":1.0}"#.to_owned(),
        r#"[1]"#.to_owned(),
        r#"{"v":1,"v":1}"#.to_owned(),
        String::new(),
    ] {
        malformed(AnswerRequest::from_json(text.as_bytes()), "answer request");
    }
    let mut body = answer_body();
    body.as_object_mut().unwrap().remove("number");
    malformed(parse(&body), "number");
    let mut body = answer_body();
    body["decision"] = json!("deny");
    malformed(parse(&body), "number");
    let mut body = answer_body();
    body.as_object_mut().unwrap().remove("signature");
    malformed(parse(&body), "signature");
    // Unknown members are ignored.
    let mut body = answer_body();
    body["later"] = json!({"anything": [1, 2]});
    assert!(parse(&body).is_ok());
}

#[test]
fn versions_and_sizes() {
    let mut body = answer_body();
    body["v"] = json!(2);
    assert_eq!(parse(&body), Err(Error::UnsupportedVersion));
    let mut body = answer_body();
    body["padding"] = json!("x".repeat(MAX_BODY_BYTES));
    assert_eq!(parse(&body), Err(Error::TooLarge { max: MAX_BODY_BYTES }));
    assert_eq!(Error::TooLarge { max: 1 }.code().status(), 413);
}

#[test]
fn enrollment_uris() {
    let service = ServiceKey::from_seed(&[1; 32]);
    let offer =
        EnrollmentOffer::generate("https://example.com/p", service.public_key(), "Ex", "a", now()).unwrap();
    let uri = offer.to_uri().to_string();
    assert!(EnrollmentOffer::parse(&uri).is_ok());
    assert!(EnrollmentOffer::parse(&uri.replace("mfa-push://enroll", "MFA-PUSH://Enroll")).is_ok());
    assert!(EnrollmentOffer::parse(&format!("{uri}&future=1")).is_ok());
    let bad = |text: &str, what: &str| match EnrollmentOffer::parse(text) {
        Err(Error::Malformed { what: w, .. }) => assert_eq!(w, what, "{text}"),
        other => panic!("{text}: {other:?}"),
    };
    bad(&uri.replace("mfa-push://", "otpauth://"), "enrollment URI");
    bad(&format!("{uri}&id=x"), "enrollment URI");
    bad(&format!("{uri}#frag"), "enrollment URI");
    bad(&format!("{uri}&x"), "enrollment URI");
    bad(&format!("{uri}&x=%zz"), "enrollment URI");
    bad(&format!("{uri}&x=%ff"), "enrollment URI");
    bad(&uri.replace("&exp=", "&exp=0"), "exp");
    bad(&uri.replace("&secret=", "&secret=A"), "secret");
    bad(&uri.replace("&issuer=Ex", "&issuer=E%0Ax"), "issuer");
    bad(&uri.replace("https%3A", "http%3A"), "url");
    bad(&uri.replace("&key=", "&nokey="), "key");
    bad(&"x".repeat(MAX_URI_LEN + 1), "enrollment URI");
    assert_eq!(
        EnrollmentOffer::parse(&uri.replace("v=1", "v=2")).unwrap_err(),
        Error::UnsupportedVersion
    );
    // A key that is no point of small order is refused.
    let weak = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; // the identity point
    let key = service.public_key().to_string();
    bad(&uri.replace(&key, weak), "service key");
}

#[test]
fn device_keys_of_the_wrong_kind() {
    let p256 = DeviceKey::from_bytes(Algorithm::EcdsaP256, &[7; 32])
        .unwrap()
        .public_key()
        .to_bytes();
    // Compressed points, other lengths, points off the curve.
    let mut compressed = vec![0x02 | (p256[64] & 1)];
    compressed.extend_from_slice(&p256[1..33]);
    assert!(DevicePublicKey::from_bytes(Algorithm::EcdsaP256, &compressed).is_err());
    let mut off_curve = p256.clone();
    off_curve[64] ^= 1;
    assert!(DevicePublicKey::from_bytes(Algorithm::EcdsaP256, &off_curve).is_err());
    assert!(DevicePublicKey::from_bytes(Algorithm::Ed25519, &p256).is_err());
    assert!(DevicePublicKey::from_bytes(Algorithm::Ed25519, &[0; 32]).is_err());
    // The order n itself is no scalar.
    let n = hex::decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551").unwrap();
    assert!(DeviceKey::from_bytes(Algorithm::EcdsaP256, &n.try_into().unwrap()).is_err());
}

#[test]
fn high_s_p256_signatures_are_accepted_and_zero_ones_refused() {
    // s and n - s both verify (secure hardware does not normalise s).
    let key = DeviceKey::from_bytes(Algorithm::EcdsaP256, &[7; 32]).unwrap();
    let device = DeviceId::new("d").unwrap();
    let request = FetchRequest::sign_with_nonce(&key, &device, now(), Nonce::from_bytes([1; 16]));
    let n: [u8; 32] = hex::decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
        .unwrap()
        .try_into()
        .unwrap();
    let sig = request.signature();
    let mut flipped_s = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(n[i]) - i16::from(sig[32 + i]) - borrow;
        flipped_s[i] = d.rem_euclid(256) as u8;
        borrow = i16::from(d < 0);
    }
    let mut body: Value = serde_json::from_str(&request.to_json()).unwrap();
    let mut high = sig[..32].to_vec();
    high.extend_from_slice(&flipped_s);
    body["signature"] = json!(b64(&high));
    let read = FetchRequest::from_json(body.to_string().as_bytes()).unwrap();
    assert!(read.verify(&key.public_key(), now()).is_ok());
    body["signature"] = json!(b64(&[0; 64]));
    let read = FetchRequest::from_json(body.to_string().as_bytes()).unwrap();
    assert_eq!(read.verify(&key.public_key(), now()), Err(Error::BadSignature));
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[test]
fn typed_errors_map_to_codes() {
    assert_eq!(Error::BadSignature.code(), ErrorCode::Unauthorized);
    assert_eq!(Error::ClockSkew.code(), ErrorCode::ClockSkew);
    assert_eq!(Error::Replayed.code().status(), 409);
    assert_eq!(Error::EnrollmentExpired.code(), ErrorCode::EnrollmentUnusable);
    assert_eq!(Error::SecretMismatch.code(), ErrorCode::EnrollmentUnusable);
    assert_eq!(Error::ChallengeExpired.code().status(), 410);
    assert_eq!(Error::WrongRecipient { what: "answer" }.code().status(), 404);
    // No message quotes the input.
    let secret = "bNbf_K3PCi3C9-Pw9BXaeOSQR7Y-ZizKP5vBCjYmKTw";
    let body = format!(r#"{{"v":1,"secret":{secret}}}"#);
    let error = EnrollmentAnswer::from_json(body.as_bytes()).unwrap_err();
    assert!(!error.to_string().contains("bNbf"));
}
