//! Round trips and robustness: whatever is built parses back to the same values and verifies; whatever
//! the input, the parsers return a value or a typed error, never panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use mfa_push::*;
use proptest::prelude::*;

/// Display text: any characters but controls and bidirectional formatting, within `max` bytes.
fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), min..=max / 4)
        .prop_map(move |chars| {
            chars
                .into_iter()
                .filter(|c| {
                    !c.is_control()
                        && !matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
                })
                .collect::<String>()
        })
        .prop_filter("long enough", move |s| s.len() >= min)
}

fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,64}"
}

fn base_url() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("https://example.com".to_owned()),
            Just("https://a-b.example.org:8443".to_owned()),
            Just("http://127.0.0.1:8080".to_owned()),
            Just("https://[2001:db8::1]".to_owned()),
        ],
        "(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{1,20}){0,3}",
    )
        .prop_map(|(origin, path)| format!("{origin}{path}"))
}

fn ed25519() -> DeviceKey {
    DeviceKey::from_bytes(Algorithm::Ed25519, &[5; 32]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn enrollment_uris_round_trip(
        base_url in base_url(),
        enrollment_id in id(),
        secret in any::<[u8; 32]>(),
        exp in any::<i64>(),
        seed in any::<[u8; 32]>(),
        issuer in text(1, MAX_ISSUER_LEN),
        account in text(1, MAX_ACCOUNT_LEN),
    ) {
        let offer = EnrollmentOffer::new(OfferParts {
            base_url,
            enrollment_id: EnrollmentId::new(&enrollment_id).unwrap(),
            secret: EnrollmentSecret::from_bytes(secret),
            expires_at: UnixTime::from_secs(exp),
            service_key: ServiceKey::from_seed(&seed).public_key(),
            issuer,
            account,
        }).unwrap();
        let uri = offer.to_uri();
        prop_assert!(uri.len() <= MAX_URI_LEN);
        let read = EnrollmentOffer::parse(&uri).unwrap();
        prop_assert_eq!(read.base_url(), offer.base_url());
        prop_assert_eq!(read.enrollment_id(), offer.enrollment_id());
        prop_assert_eq!(read.secret().as_bytes(), offer.secret().as_bytes());
        prop_assert_eq!(read.expires_at(), offer.expires_at());
        prop_assert_eq!(read.service_key(), offer.service_key());
        prop_assert_eq!(read.issuer(), offer.issuer());
        prop_assert_eq!(read.account(), offer.account());
        prop_assert_eq!(&*read.to_uri(), &*uri);
    }

    #[test]
    fn enrollment_answers_round_trip(label in text(1, MAX_LABEL_LEN), address in "[!-~]{1,200}", poll in any::<bool>()) {
        let now = UnixTime::from_secs(1_700_000_000);
        let service = ServiceKey::from_seed(&[1; 32]);
        let offer = EnrollmentOffer::generate("https://example.com/p", service.public_key(), "Example", "alice", now).unwrap();
        let wake = if poll { WakeChannel::poll() } else { WakeChannel::new("webhook", &address).unwrap() };
        let key = ed25519();
        let answer = EnrollmentAnswer::sign(&offer, &key, &label, wake.clone()).unwrap();
        let read = EnrollmentAnswer::from_json(answer.to_json().as_bytes()).unwrap();
        prop_assert_eq!(read.canonical_bytes(), answer.canonical_bytes());
        let device = offer.pending().verify(&read, now).unwrap();
        prop_assert_eq!(device.label(), label.as_str());
        prop_assert_eq!(device.wake(), &wake);
        let stored: NewDevice = serde_json::from_str(&serde_json::to_string(&device).unwrap()).unwrap();
        prop_assert_eq!(stored, device);
    }

    #[test]
    fn challenges_round_trip(
        user in text(1, MAX_USER_LEN),
        application in text(1, MAX_APPLICATION_LEN),
        client_ip in text(0, MAX_CLIENT_IP_LEN),
        location in text(0, MAX_LOCATION_LEN),
        created in -1_000_000_000_000i64..1_000_000_000_000,
        ttl in 30u64..=600,
        three in any::<bool>(),
        challenge_id in id(),
        device_id in id(),
    ) {
        let service = ServiceKey::from_seed(&[2; 32]);
        let device_id = DeviceId::new(&device_id).unwrap();
        let requester = Requester { user, application, client_ip, location };
        let digits = if three { Digits::Three } else { Digits::Two };
        let now = UnixTime::from_secs(created);
        let challenge = Challenge::new(
            ChallengeId::new(&challenge_id).unwrap(), device_id.clone(), requester, now, Duration::from_secs(ttl), digits,
        ).unwrap();
        // In a store.
        let stored: Challenge = serde_json::from_str(&serde_json::to_string(&challenge).unwrap()).unwrap();
        prop_assert_eq!(&stored, &challenge);
        // On the wire.
        let reply = PendingChallenges::new(now, vec![challenge.sign(&service)]);
        let read = PendingChallenges::from_json(reply.to_json().as_bytes()).unwrap();
        prop_assert_eq!(&read, &reply);
        prop_assert_eq!(read.challenges()[0].verify(&service.public_key(), &device_id, now).unwrap(), &challenge);
    }

    #[test]
    fn requests_round_trip(
        device_id in id(),
        challenge_id in id(),
        ts in any::<i64>().prop_map(|t| t / 1000),
        nonce in any::<[u8; 16]>(),
        decision in 0u8..3,
        number in 10u16..1000,
    ) {
        let key = ed25519();
        let device_id = DeviceId::new(&device_id).unwrap();
        let now = UnixTime::from_secs(ts);
        let fetch = FetchRequest::sign_with_nonce(&key, &device_id, now, Nonce::from_bytes(nonce));
        let read = FetchRequest::from_json(fetch.to_json().as_bytes()).unwrap();
        prop_assert_eq!(&read, &fetch);
        prop_assert!(read.verify(&key.public_key(), now).is_ok());

        let decision = match decision {
            0 => Decision::Approve(number.to_string().parse().unwrap()),
            1 => Decision::Deny,
            _ => Decision::Report,
        };
        let challenge_id = ChallengeId::new(&challenge_id).unwrap();
        let answer = AnswerRequest::sign_with_nonce(&key, &device_id, &challenge_id, decision, now, Nonce::from_bytes(nonce));
        let read = AnswerRequest::from_json(answer.to_json().as_bytes()).unwrap();
        prop_assert_eq!(&read, &answer);
        let verified = read.verify(&key.public_key(), now).unwrap();
        prop_assert_eq!(verified.decision(), &decision);
        prop_assert_eq!(verified.challenge_id(), &challenge_id);
    }

    #[test]
    fn match_numbers_round_trip(three in any::<bool>()) {
        let digits = if three { Digits::Three } else { Digits::Two };
        let number = MatchNumber::generate(digits).unwrap();
        let text = number.to_string();
        prop_assert_eq!(text.len(), digits.count());
        prop_assert!(!text.starts_with('0'));
        prop_assert_eq!(text.parse::<MatchNumber>().unwrap(), number);
        prop_assert!(number.matches(&text.parse().unwrap()));
        let stored: MatchNumber = serde_json::from_str(&serde_json::to_string(&number).unwrap()).unwrap();
        prop_assert_eq!(stored, number);
    }

    #[test]
    fn parsers_never_panic_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = EnrollmentAnswer::from_json(&body);
        let _ = FetchRequest::from_json(&body);
        let _ = AnswerRequest::from_json(&body);
        let _ = EnrollmentReceipt::from_json(&body);
        let _ = PendingChallenges::from_json(&body);
        let _ = Wake::from_json(&body);
        let _ = AnswerResult::from_json(&body);
        let _ = ErrorBody::from_json(&body);
        if let Ok(text) = std::str::from_utf8(&body) {
            let _ = EnrollmentOffer::parse(text);
            let _ = text.parse::<TypedNumber>();
            let _ = text.parse::<MatchNumber>();
            let _ = text.parse::<Nonce>();
            let _ = text.parse::<ServicePublicKey>();
        }
    }

    #[test]
    fn uri_parser_never_panics_near_valid_uris(cut in 0usize..400, junk in "[%&=#?a-z0-9]{0,8}") {
        let service = ServiceKey::from_seed(&[1; 32]);
        let offer = EnrollmentOffer::generate("https://example.com/p", service.public_key(), "Ex ample", "a@b", UnixTime::from_secs(0)).unwrap();
        let uri = offer.to_uri();
        let cut = cut.min(uri.len());
        let mangled = format!("{}{junk}{}", &uri[..cut], &uri[cut..]);
        let _ = EnrollmentOffer::parse(&mangled);
    }

    #[test]
    fn json_parsers_never_panic_near_valid_bodies(cut in 0usize..400, junk in "[\\[\\]{}\":,0-9a-z\\\\]{0,6}") {
        let key = ed25519();
        let now = UnixTime::from_secs(1_700_000_000);
        let device = DeviceId::new("d").unwrap();
        let body = AnswerRequest::sign(&key, &device, &ChallengeId::new("c").unwrap(), Decision::Approve("42".parse().unwrap()), now).unwrap().to_json();
        let cut = cut.min(body.len());
        let mangled = format!("{}{junk}{}", &body[..cut], &body[cut..]);
        if let Ok(request) = AnswerRequest::from_json(mangled.as_bytes()) {
            let _ = request.verify(&key.public_key(), now);
        }
        let _ = FetchRequest::from_json(mangled.as_bytes());
    }
}
