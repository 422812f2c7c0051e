//! The protocol's test vectors (`vectors/v1.json`), made by `vectors/generate.py`, an implementation of
//! PROTOCOL.md independent of this crate (Python, signatures by OpenSSL through the `cryptography`
//! package: Ed25519, and ECDSA P-256 with RFC 6979 deterministic k). Checked both ways: the crate's
//! encoding of the vector's values gives its canonical bytes, signatures and JSON bodies; the bodies parse
//! and verify; a flipped bit in a signature or a changed signed value makes verification fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use mfa_push::*;
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../vectors/v1.json")).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn arr32(v: &Value) -> [u8; 32] {
    bytes(v).try_into().unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn secs(v: &Value) -> UnixTime {
    UnixTime::from_secs(v.as_i64().unwrap())
}

struct Keys {
    service: ServiceKey,
    p256: DeviceKey,
    ed25519: DeviceKey,
    p256_id: DeviceId,
    ed25519_id: DeviceId,
}

fn keys(v: &Value) -> Keys {
    let k = &v["keys"];
    Keys {
        service: ServiceKey::from_seed(&arr32(&k["service"]["seed"])),
        p256: DeviceKey::from_bytes(Algorithm::EcdsaP256, &arr32(&k["device_p256"]["scalar"])).unwrap(),
        ed25519: DeviceKey::from_bytes(Algorithm::Ed25519, &arr32(&k["device_ed25519"]["seed"])).unwrap(),
        p256_id: DeviceId::new(s(&k["device_p256"]["device_id"])).unwrap(),
        ed25519_id: DeviceId::new(s(&k["device_ed25519"]["device_id"])).unwrap(),
    }
}

impl Keys {
    fn device(&self, signer: &str) -> (&DeviceKey, &DeviceId) {
        match signer {
            "device_p256" => (&self.p256, &self.p256_id),
            "device_ed25519" => (&self.ed25519, &self.ed25519_id),
            other => panic!("no device {other}"),
        }
    }
}

fn offer(v: &Value) -> EnrollmentOffer {
    let o = &v["enrollment_offer"];
    EnrollmentOffer::new(OfferParts {
        base_url: s(&o["base_url"]).to_owned(),
        enrollment_id: EnrollmentId::new(s(&o["enrollment_id"])).unwrap(),
        secret: EnrollmentSecret::from_bytes(arr32(&o["secret"])),
        expires_at: secs(&o["expires_at"]),
        service_key: ServicePublicKey::from_bytes(&arr32(&o["service_key"])).unwrap(),
        issuer: s(&o["issuer"]).to_owned(),
        account: s(&o["account"]).to_owned(),
    })
    .unwrap()
}

/// The message's JSON with one bit of its signature flipped.
fn flip_signature_bit(json: &str, bit: usize) -> String {
    let mut body: Value = serde_json::from_str(json).unwrap();
    let text = s(&body["signature"]).to_owned();
    let mut signature = base64_decode(&text);
    signature[bit / 8] ^= 1 << (bit % 8);
    body["signature"] = Value::String(base64_encode(&signature));
    body.to_string()
}

/// The message's JSON with `member` set to `value`.
fn with_member(json: &str, member: &str, value: Value) -> String {
    let mut body: Value = serde_json::from_str(json).unwrap();
    body[member] = value;
    body.to_string()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        bits = (bits << 6) | B64.iter().position(|&b| b == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

const SIGNATURE_BITS: [usize; 4] = [0, 255, 256, 511];

#[test]
fn keys_are_those_of_the_seeds() {
    let v = vectors();
    let k = keys(&v);
    assert_eq!(
        k.service.public_key().to_bytes().to_vec(),
        bytes(&v["keys"]["service"]["public_key"])
    );
    assert_eq!(
        k.p256.public_key().to_bytes(),
        bytes(&v["keys"]["device_p256"]["public_key"])
    );
    assert_eq!(
        k.ed25519.public_key().to_bytes(),
        bytes(&v["keys"]["device_ed25519"]["public_key"])
    );
}

#[test]
fn enrollment_uri_both_ways() {
    let v = vectors();
    let offer = offer(&v);
    let uri = s(&v["enrollment_offer"]["uri"]);
    assert_eq!(&*offer.to_uri(), uri);
    let read = EnrollmentOffer::parse(uri).unwrap();
    assert_eq!(read.base_url(), offer.base_url());
    assert_eq!(read.enrollment_id(), offer.enrollment_id());
    assert_eq!(read.secret().as_bytes(), offer.secret().as_bytes());
    assert_eq!(read.expires_at(), offer.expires_at());
    assert_eq!(read.service_key(), offer.service_key());
    assert_eq!(read.issuer(), "Example Corp");
    assert_eq!(read.account(), "alice@example.com");
    assert_eq!(&*read.to_uri(), uri);
}

#[test]
fn secret_digest() {
    let v = vectors();
    let secret = EnrollmentSecret::from_bytes(arr32(&v["enrollment_offer"]["secret"]));
    assert_eq!(
        secret.digest().as_bytes().to_vec(),
        bytes(&v["secret_digest"]["sha256"])
    );
}

#[test]
fn the_canonical_example_of_the_specification() {
    let v = vectors();
    let key = DeviceKey::from_bytes(Algorithm::Ed25519, &[1; 32]).unwrap();
    let request = FetchRequest::sign_with_nonce(
        &key,
        &DeviceId::new("d1").unwrap(),
        UnixTime::from_secs(1_700_000_000),
        Nonce::from_bytes([0; 16]),
    );
    assert_eq!(
        request.canonical_bytes(),
        bytes(&v["canonical_example"]["canonical"])
    );
}

#[test]
fn enrollment_answers() {
    let v = vectors();
    let k = keys(&v);
    let offer = offer(&v);
    let pending = offer.pending();
    let now = offer.expires_at();
    for name in ["enrollment_answer_es256", "enrollment_answer_ed25519"] {
        let m = &v["messages"][name];
        let values = &m["values"];
        let (key, _) = k.device(s(&m["signer"]));
        let wake = WakeChannel::new(s(&values["wake_kind"]), s(&values["wake_address"])).unwrap();

        // Encode: the same bytes, signature and body.
        let answer = EnrollmentAnswer::sign(&offer, key, s(&values["label"]), wake).unwrap();
        assert_eq!(
            answer.canonical_bytes().to_vec(),
            bytes(&m["canonical"]),
            "{name}"
        );
        assert_eq!(answer.signature().to_vec(), bytes(&m["signature"]), "{name}");
        assert_eq!(&*answer.to_json(), s(&m["json"]), "{name}");

        // Decode: the body parses and verifies.
        let read = EnrollmentAnswer::from_json(s(&m["json"]).as_bytes()).unwrap();
        let device = pending.verify(&read, now).unwrap();
        assert_eq!(device.public_key(), &key.public_key());
        assert_eq!(device.label(), s(&values["label"]));

        // Tampered: a signature bit, or a signed value.
        for bit in SIGNATURE_BITS {
            let body = flip_signature_bit(s(&m["json"]), bit);
            let read = EnrollmentAnswer::from_json(body.as_bytes()).unwrap();
            assert_eq!(
                pending.verify(&read, now),
                Err(Error::BadSignature),
                "{name} bit {bit}"
            );
        }
        let body = with_member(s(&m["json"]), "label", Value::String("Pixel 9".into()));
        let read = EnrollmentAnswer::from_json(body.as_bytes()).unwrap();
        assert_eq!(pending.verify(&read, now), Err(Error::BadSignature), "{name}");
        // Past the expiry, and with another secret.
        let late = UnixTime::from_secs(now.as_secs() + 1);
        let read = EnrollmentAnswer::from_json(s(&m["json"]).as_bytes()).unwrap();
        assert_eq!(pending.verify(&read, late), Err(Error::EnrollmentExpired));
        let other = EnrollmentSecret::from_bytes([9; 32]);
        let body = with_member(
            s(&m["json"]),
            "secret",
            Value::String(other.to_text().to_string()),
        );
        let read = EnrollmentAnswer::from_json(body.as_bytes()).unwrap();
        assert_eq!(pending.verify(&read, now), Err(Error::SecretMismatch));
    }
}

#[test]
fn enrollment_receipts() {
    let v = vectors();
    let k = keys(&v);
    let offer = offer(&v);
    for (name, signer) in [
        ("enrollment_receipt_es256", "device_p256"),
        ("enrollment_receipt_ed25519", "device_ed25519"),
    ] {
        let m = &v["messages"][name];
        let (key, device_id) = k.device(signer);
        let receipt = EnrollmentReceipt::sign(
            &k.service,
            offer.enrollment_id(),
            device_id.clone(),
            &key.public_key(),
        );
        assert_eq!(
            receipt.canonical_bytes(offer.enrollment_id(), &key.public_key()),
            bytes(&m["canonical"])
        );
        assert_eq!(receipt.signature().to_vec(), bytes(&m["signature"]));
        assert_eq!(receipt.to_json(), s(&m["json"]));

        let read = EnrollmentReceipt::from_json(s(&m["json"]).as_bytes()).unwrap();
        assert_eq!(read.verify(&offer, &key.public_key()).unwrap(), device_id);

        for bit in SIGNATURE_BITS {
            let read =
                EnrollmentReceipt::from_json(flip_signature_bit(s(&m["json"]), bit).as_bytes()).unwrap();
            assert_eq!(read.verify(&offer, &key.public_key()), Err(Error::BadSignature));
        }
        // Another device id, or a receipt for another key.
        let body = with_member(
            s(&m["json"]),
            "device_id",
            Value::String("5a1b2c3d4e5f60718293a4b5c6d7e8f8".into()),
        );
        let read = EnrollmentReceipt::from_json(body.as_bytes()).unwrap();
        assert_eq!(read.verify(&offer, &key.public_key()), Err(Error::BadSignature));
        let read = EnrollmentReceipt::from_json(s(&m["json"]).as_bytes()).unwrap();
        let other = if signer == "device_p256" {
            &k.ed25519
        } else {
            &k.p256
        };
        assert_eq!(read.verify(&offer, &other.public_key()), Err(Error::BadSignature));
    }
}

fn challenge_of(m: &Value) -> Challenge {
    let values = &m["values"];
    let created = values["created_at"].as_i64().unwrap();
    let expires = values["expires_at"].as_i64().unwrap();
    Challenge::new(
        ChallengeId::new(s(&values["challenge_id"])).unwrap(),
        DeviceId::new(s(&values["device_id"])).unwrap(),
        Requester {
            user: s(&values["user"]).to_owned(),
            application: s(&values["application"]).to_owned(),
            client_ip: s(&values["client_ip"]).to_owned(),
            location: s(&values["location"]).to_owned(),
        },
        UnixTime::from_secs(created),
        Duration::from_secs((expires - created) as u64),
        Digits::try_from(values["digits"].as_i64().unwrap()).unwrap(),
    )
    .unwrap()
}

#[test]
fn challenges() {
    let v = vectors();
    let k = keys(&v);
    for (name, signer) in [
        ("challenge_es256", "device_p256"),
        ("challenge_ed25519_three_digits", "device_ed25519"),
    ] {
        let m = &v["messages"][name];
        let (_, device_id) = k.device(signer);
        let challenge = challenge_of(m);
        let signed = challenge.sign(&k.service);
        assert_eq!(challenge.canonical_bytes(), bytes(&m["canonical"]), "{name}");
        assert_eq!(signed.signature().to_vec(), bytes(&m["signature"]), "{name}");

        // The item as a reply carries it.
        let reply = PendingChallenges::new(challenge.created_at(), vec![signed.clone()]);
        let expected = format!(r#""challenges":[{}]}}"#, s(&m["json"]));
        assert!(reply.to_json().ends_with(&expected), "{name}");

        // The device's checks.
        let service = k.service.public_key();
        let wrap = |item: &str| format!(r#"{{"v":1,"server_time":0,"challenges":[{item}]}}"#);
        let read = PendingChallenges::from_json(wrap(s(&m["json"])).as_bytes()).unwrap();
        let now = challenge.created_at();
        assert_eq!(
            read.challenges()[0].verify(&service, device_id, now).unwrap(),
            &challenge
        );
        for bit in SIGNATURE_BITS {
            let read = PendingChallenges::from_json(wrap(&flip_signature_bit(s(&m["json"]), bit)).as_bytes())
                .unwrap();
            assert_eq!(
                read.challenges()[0].verify(&service, device_id, now),
                Err(Error::BadSignature)
            );
        }
        let tampered = with_member(s(&m["json"]), "application", Value::String("Evil Mail".into()));
        let read = PendingChallenges::from_json(wrap(&tampered).as_bytes()).unwrap();
        assert_eq!(
            read.challenges()[0].verify(&service, device_id, now),
            Err(Error::BadSignature)
        );
        let tampered = with_member(
            s(&m["json"]),
            "expires_at",
            Value::from(challenge.expires_at().as_secs() + 1),
        );
        let read = PendingChallenges::from_json(wrap(&tampered).as_bytes()).unwrap();
        assert_eq!(
            read.challenges()[0].verify(&service, device_id, now),
            Err(Error::BadSignature)
        );
        // Signed by another key; for another device; expired; from the future.
        let other = ServiceKey::from_seed(&[3; 32]).public_key();
        assert_eq!(
            read.challenges()[0].verify(&other, device_id, now),
            Err(Error::BadSignature)
        );
        let mine = &signed;
        let other_device = if signer == "device_p256" {
            &k.ed25519_id
        } else {
            &k.p256_id
        };
        assert_eq!(
            mine.verify(&service, other_device, now),
            Err(Error::WrongRecipient { what: "challenge" })
        );
        let after = UnixTime::from_secs(challenge.expires_at().as_secs() + 1);
        assert_eq!(
            mine.verify(&service, device_id, after),
            Err(Error::ChallengeExpired)
        );
        let before = UnixTime::from_secs(challenge.created_at().as_secs() - 61);
        assert_eq!(mine.verify(&service, device_id, before), Err(Error::ClockSkew));
    }
}

#[test]
fn the_pending_reply() {
    let v = vectors();
    let k = keys(&v);
    let challenge = challenge_of(&v["messages"]["challenge_es256"]);
    let reply = PendingChallenges::new(
        UnixTime::from_secs(1_700_000_301),
        vec![challenge.sign(&k.service)],
    );
    assert_eq!(reply.to_json(), s(&v["pending_reply"]));
    assert_eq!(
        PendingChallenges::from_json(s(&v["pending_reply"]).as_bytes()).unwrap(),
        reply
    );
}

#[test]
fn fetch_requests() {
    let v = vectors();
    let k = keys(&v);
    for name in ["fetch_es256", "fetch_ed25519"] {
        let m = &v["messages"][name];
        let values = &m["values"];
        let (key, device_id) = k.device(s(&m["signer"]));
        let ts = secs(&values["timestamp"]);
        let nonce = Nonce::from_bytes(bytes(&values["nonce"]).try_into().unwrap());
        let request = FetchRequest::sign_with_nonce(key, device_id, ts, nonce);
        assert_eq!(request.canonical_bytes(), bytes(&m["canonical"]), "{name}");
        assert_eq!(request.signature().to_vec(), bytes(&m["signature"]), "{name}");
        assert_eq!(request.to_json(), s(&m["json"]), "{name}");

        let read = FetchRequest::from_json(s(&m["json"]).as_bytes()).unwrap();
        let replay = read.verify(&key.public_key(), ts).unwrap();
        assert_eq!(replay.nonce(), &nonce);
        assert_eq!(replay.keep_until(), UnixTime::from_secs(ts.as_secs() + 60));

        for bit in SIGNATURE_BITS {
            let read = FetchRequest::from_json(flip_signature_bit(s(&m["json"]), bit).as_bytes()).unwrap();
            assert_eq!(read.verify(&key.public_key(), ts), Err(Error::BadSignature));
        }
        let moved = ts.as_secs() ^ 1;
        let read =
            FetchRequest::from_json(with_member(s(&m["json"]), "timestamp", Value::from(moved)).as_bytes())
                .unwrap();
        assert_eq!(read.verify(&key.public_key(), ts), Err(Error::BadSignature));
        // Another device's key; outside the window.
        let other = if s(&m["signer"]) == "device_p256" {
            &k.ed25519
        } else {
            &k.p256
        };
        assert_eq!(read.verify(&other.public_key(), ts), Err(Error::BadSignature));
        let read = FetchRequest::from_json(s(&m["json"]).as_bytes()).unwrap();
        assert!(
            read.verify(&key.public_key(), UnixTime::from_secs(ts.as_secs() + 60))
                .is_ok()
        );
        assert_eq!(
            read.verify(&key.public_key(), UnixTime::from_secs(ts.as_secs() + 61)),
            Err(Error::ClockSkew)
        );
        assert_eq!(
            read.verify(&key.public_key(), UnixTime::from_secs(ts.as_secs() - 61)),
            Err(Error::ClockSkew)
        );
        // Replayed.
        let mut cache = MemoryReplayCache::new(16);
        cache.remember(&replay, ts).unwrap();
        let again = read.verify(&key.public_key(), ts).unwrap();
        assert_eq!(cache.remember(&again, ts), Err(Error::Replayed));
    }
}

#[test]
fn answer_requests() {
    let v = vectors();
    let k = keys(&v);
    let challenges = [
        challenge_of(&v["messages"]["challenge_es256"]),
        challenge_of(&v["messages"]["challenge_ed25519_three_digits"]),
    ];
    let number: MatchNumber = "42".parse().unwrap();
    for (name, expected) in [
        ("answer_approve_es256", AnswerResult::Approved),
        ("answer_deny_ed25519", AnswerResult::Denied),
        ("answer_report_es256", AnswerResult::Reported),
    ] {
        let m = &v["messages"][name];
        let values = &m["values"];
        let (key, device_id) = k.device(s(&m["signer"]));
        let ts = secs(&values["timestamp"]);
        let nonce = Nonce::from_bytes(bytes(&values["nonce"]).try_into().unwrap());
        let challenge_id = ChallengeId::new(s(&values["challenge_id"])).unwrap();
        let decision = match s(&values["decision"]) {
            "approve" => Decision::Approve(s(&values["number"]).parse().unwrap()),
            "deny" => Decision::Deny,
            "report" => Decision::Report,
            other => panic!("{other}"),
        };
        let request = AnswerRequest::sign_with_nonce(key, device_id, &challenge_id, decision, ts, nonce);
        assert_eq!(request.canonical_bytes(), bytes(&m["canonical"]), "{name}");
        assert_eq!(request.signature().to_vec(), bytes(&m["signature"]), "{name}");
        assert_eq!(request.to_json(), s(&m["json"]), "{name}");

        let read = AnswerRequest::from_json(s(&m["json"]).as_bytes()).unwrap();
        let verified = read.verify(&key.public_key(), ts).unwrap();
        assert_eq!(verified.decision(), &decision);
        let challenge = challenges.iter().find(|c| c.id() == &challenge_id).unwrap();
        let shown = MatchNumber::generate(challenge.digits()).unwrap();
        let shown = if challenge.digits() == Digits::Two {
            number
        } else {
            shown
        };
        assert_eq!(
            challenge.check_answer(&shown, &verified, ts),
            Ok(expected),
            "{name}"
        );

        for bit in SIGNATURE_BITS {
            let read = AnswerRequest::from_json(flip_signature_bit(s(&m["json"]), bit).as_bytes()).unwrap();
            assert_eq!(read.verify(&key.public_key(), ts), Err(Error::BadSignature));
        }
        // Another decision, or another number, under the same signature.
        let tampered = if let Decision::Approve(_) = decision {
            with_member(s(&m["json"]), "number", Value::String("43".into()))
        } else {
            let flipped = if s(&values["decision"]) == "deny" {
                "report"
            } else {
                "deny"
            };
            with_member(s(&m["json"]), "decision", Value::String(flipped.into()))
        };
        let read = AnswerRequest::from_json(tampered.as_bytes()).unwrap();
        assert_eq!(
            read.verify(&key.public_key(), ts),
            Err(Error::BadSignature),
            "{name}"
        );
    }

    // The right signature with the wrong number: refused by the number, not the signature.
    let m = &v["messages"]["answer_approve_es256"];
    let verified = AnswerRequest::from_json(s(&m["json"]).as_bytes())
        .unwrap()
        .verify(&k.p256.public_key(), secs(&m["values"]["timestamp"]))
        .unwrap();
    let shown: MatchNumber = "24".parse().unwrap();
    assert_eq!(
        challenges[0].check_answer(&shown, &verified, secs(&m["values"]["timestamp"])),
        Ok(AnswerResult::WrongNumber)
    );
    // Answering the other device's challenge.
    assert_eq!(
        challenges[1].check_answer(&shown, &verified, secs(&m["values"]["timestamp"])),
        Err(Error::WrongRecipient { what: "answer" })
    );
}

#[test]
fn wake() {
    let v = vectors();
    let k = keys(&v);
    let m = &v["messages"]["wake_es256"];
    let challenge_id = ChallengeId::new(s(&m["values"]["challenge_id"])).unwrap();
    let wake = Wake::sign(&k.service, k.p256_id.clone(), challenge_id.clone());
    assert_eq!(wake.canonical_bytes(), bytes(&m["canonical"]));
    assert_eq!(wake.signature().to_vec(), bytes(&m["signature"]));
    assert_eq!(wake.to_json(), s(&m["json"]));
    let read = Wake::from_json(s(&m["json"]).as_bytes()).unwrap();
    assert_eq!(
        read.verify(&k.service.public_key(), &k.p256_id).unwrap(),
        &challenge_id
    );
    for bit in SIGNATURE_BITS {
        let read = Wake::from_json(flip_signature_bit(s(&m["json"]), bit).as_bytes()).unwrap();
        assert_eq!(
            read.verify(&k.service.public_key(), &k.p256_id),
            Err(Error::BadSignature)
        );
    }
    let tampered = with_member(
        s(&m["json"]),
        "challenge_id",
        Value::String("c0ffee00c0ffee00c0ffee00c0ffee01".into()),
    );
    let read = Wake::from_json(tampered.as_bytes()).unwrap();
    assert_eq!(
        read.verify(&k.service.public_key(), &k.p256_id),
        Err(Error::BadSignature)
    );
}

#[test]
fn replies() {
    let v = vectors();
    assert_eq!(AnswerResult::Approved.to_json(), s(&v["answer_result"]));
    let body = ErrorBody::new(ErrorCode::ClockSkew, UnixTime::from_secs(1_700_000_400));
    assert_eq!(body.to_json(), s(&v["error_body"]));
    assert_eq!(
        ErrorBody::from_json(s(&v["error_body"]).as_bytes()).unwrap(),
        body
    );
}

#[test]
fn the_test_base64_helpers_agree_with_the_vectors() {
    let v = vectors();
    let secret = bytes(&v["enrollment_offer"]["secret"]);
    let text = EnrollmentSecret::from_bytes(secret.clone().try_into().unwrap()).to_text();
    assert_eq!(base64_encode(&secret), *text);
    assert_eq!(base64_decode(&text), secret);
}
