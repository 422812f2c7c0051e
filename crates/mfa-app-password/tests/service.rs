//! The multi-record flow: issue, verify as typed, scopes, expiry, the cap, tag collisions, imports and
//! refresh; and that no plaintext reaches a record, a `Debug` string or serde.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mfa_app_password::{
    AppPasswordName, AppPasswordRecord, AppPasswords, Argon2Hash, Argon2Params, Config, Error, Format,
    IssueOptions, Limits, Scope, TagKey, normalize,
};

const NOW: u64 = 1_700_000_000;
const SMALL: Argon2Params = Argon2Params {
    m_kib: 256,
    t: 1,
    p: 1,
};

fn service() -> AppPasswords {
    let config = Config {
        params: SMALL,
        ..Config::default()
    };
    AppPasswords::new(config, TagKey::from_bytes(&[42u8; 32]).unwrap()).unwrap()
}

fn issue_many(service: &AppPasswords, n: usize) -> (Vec<AppPasswordRecord>, Vec<String>) {
    let mut records = Vec::new();
    let mut shown = Vec::new();
    for i in 0..n {
        let issued = service
            .issue(
                records.len(),
                &format!("device {i}"),
                IssueOptions::default(),
                NOW,
            )
            .unwrap();
        shown.push(issued.password.expose().to_owned());
        records.push(issued.record);
    }
    (records, shown)
}

#[test]
fn each_of_forty_verifies_as_typed_and_only_itself() {
    let service = service();
    let (records, shown) = issue_many(&service, 40);
    for (i, password) in shown.iter().enumerate() {
        let compact = password.replace(' ', "");
        let variants = [
            password.clone(),
            compact.clone(),
            password.to_uppercase(),
            password.replace(' ', "-"),
            format!("  {}\t", password.replace(' ', " - ")),
            compact
                .chars()
                .enumerate()
                .map(|(j, c)| if j % 2 == 0 { c.to_ascii_uppercase() } else { c })
                .collect(),
        ];
        for typed in &variants {
            let found = service.verify(typed, &records, NOW, None).unwrap().expect(typed);
            assert_eq!(found.index, i);
            assert_eq!(found.id, records[i].id());
            assert!(!found.needs_refresh);
        }
    }
}

#[test]
fn wrong_passwords_are_one_opaque_none() {
    let service = service();
    let (records, shown) = issue_many(&service, 5);
    let p = shown[2].replace(' ', "");
    let mut one_off = p.clone().into_bytes();
    one_off[7] = if one_off[7] == b'a' { b'b' } else { b'a' };
    let wrong = [
        String::from_utf8(one_off).unwrap(),
        p[..15].to_owned(),
        format!("{p}a"),
        p.chars().rev().collect(),
        "abcd efgh ijkl mnop".to_owned(),
        // Not an app password at all: refused without hashing, still just `None`.
        format!("{p}1"),
        "pässwörd".to_owned(),
        String::new(),
        " - - ".to_owned(),
        "a".repeat(10_000),
    ];
    for typed in &wrong {
        assert_eq!(
            service.verify(typed, &records, NOW, None).unwrap(),
            None,
            "{typed}"
        );
    }
    assert_eq!(service.verify(&p, &[], NOW, None).unwrap(), None);
}

#[test]
fn another_service_key_finds_nothing() {
    let config = Config {
        params: SMALL,
        ..Config::default()
    };
    let other = AppPasswords::new(config, TagKey::from_bytes(&[43u8; 32]).unwrap()).unwrap();
    // Under another key a record's 16-bit tag matches only by chance (2^-16 per record, so about 1 in
    // 22,000 for three records); a second fresh set failing too (about 1 in 5 * 10^8) means the tag is
    // not keyed.
    let finds_any = || {
        let (records, shown) = issue_many(&service(), 3);
        shown
            .iter()
            .any(|p| other.verify(p, &records, NOW, None).unwrap().is_some())
    };
    assert!(!finds_any() || !finds_any());
}

#[test]
fn scopes_and_expiry() {
    let service = service();
    let imap = IssueOptions::default().scope(Scope::new("imap").unwrap());
    let a = service.issue(0, "imap only", imap, NOW).unwrap();
    let b = service
        .issue(1, "expiring", IssueOptions::default().expires_at(NOW + 100), NOW)
        .unwrap();
    let c = service
        .issue(2, "anything", IssueOptions::default(), NOW)
        .unwrap();
    let records = vec![a.record, b.record, c.record];
    let (pa, pb, pc) = (a.password.expose(), b.password.expose(), c.password.expose());

    assert_eq!(
        service
            .verify(pa, &records, NOW, Some("imap"))
            .unwrap()
            .map(|m| m.index),
        Some(0)
    );
    assert_eq!(service.verify(pa, &records, NOW, Some("smtp")).unwrap(), None);
    assert_eq!(service.verify(pa, &records, NOW, None).unwrap(), None);
    assert_eq!(
        service
            .verify(pc, &records, NOW, Some("smtp"))
            .unwrap()
            .map(|m| m.index),
        Some(2)
    );

    assert_eq!(
        service
            .verify(pb, &records, NOW + 99, None)
            .unwrap()
            .map(|m| m.index),
        Some(1)
    );
    assert_eq!(service.verify(pb, &records, NOW + 100, None).unwrap(), None);
    assert!(records[1].is_expired(NOW + 100) && !records[1].is_expired(NOW + 99));
}

#[test]
fn the_cap_is_enforced_and_configurable() {
    let service = service();
    assert_eq!(service.max_per_user(), 40);
    assert!(
        service
            .issue(39, "fortieth", IssueOptions::default(), NOW)
            .is_ok()
    );
    assert_eq!(
        service
            .issue(40, "forty-first", IssueOptions::default(), NOW)
            .unwrap_err(),
        Error::TooManyAppPasswords { max: 40 }
    );
    let config = Config {
        params: SMALL,
        max_per_user: 2,
        ..Config::default()
    };
    let small = AppPasswords::new(config, TagKey::generate().unwrap()).unwrap();
    assert_eq!(
        small.issue(2, "third", IssueOptions::default(), NOW).unwrap_err(),
        Error::TooManyAppPasswords { max: 2 }
    );
    for bad in [0, 1001] {
        let config = Config {
            max_per_user: bad,
            ..Config::default()
        };
        assert!(matches!(
            AppPasswords::new(config, TagKey::generate().unwrap()),
            Err(Error::InvalidConfig { .. })
        ));
    }
}

#[test]
fn names_are_validated() {
    let service = service();
    for bad in ["", "   ", "tab\there", "bell\u{7}", "nul\0", &"é".repeat(101)] {
        assert!(
            matches!(
                service.issue(0, bad, IssueOptions::default(), NOW),
                Err(Error::InvalidName { .. })
            ),
            "{bad:?}"
        );
    }
    let name = "é".repeat(100);
    assert_eq!(
        service
            .issue(0, &name, IssueOptions::default(), NOW)
            .unwrap()
            .record
            .name()
            .as_str(),
        name
    );
}

#[test]
fn all_candidates_with_a_colliding_tag_are_verified() {
    let service = service();
    let (records, shown) = issue_many(&service, 2);
    // A record with the same id and tag as record 0 but the hash of record 1's password: its tag matches
    // record 0's password, so it is a candidate; argon2 rejects it and the search goes on to record 0.
    let mut json: serde_json::Value = serde_json::to_value(&records[0]).unwrap();
    json["hash"] = serde_json::to_value(records[1].hash()).unwrap();
    let decoy: AppPasswordRecord = serde_json::from_value(json).unwrap();
    let list = vec![decoy, records[0].clone()];
    let found = service.verify(&shown[0], &list, NOW, None).unwrap().unwrap();
    assert_eq!(found.index, 1);
    // Record 1's password does not match the decoy's tag, so it is not found there.
    assert_eq!(service.verify(&shown[1], &list, NOW, None).unwrap(), None);
}

#[test]
fn imports_verify_untagged_then_refresh() {
    let service = service();
    // argon2-cffi 25.1.0: hash_secret(b"abcdefghijklmnop", b"somesaltsomesalt", 2, 4096, 1, 32, Type.I, 19)
    let phc =
        "$argon2i$v=19$m=4096,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$fJVra3Pwx71uP+00xxYbf9zz0IM7apGk+wasxJ7lo4I";
    let (mut records, _) = issue_many(&service, 3);
    records.insert(
        1,
        service
            .import(3, phc, "old system", IssueOptions::default(), NOW)
            .unwrap(),
    );
    assert!(!records[1].is_tagged());

    let found = service
        .verify("ABCD EFGH IJKL MNOP", &records, NOW, None)
        .unwrap()
        .unwrap();
    assert_eq!(found.index, 1);
    assert!(found.needs_refresh);
    service.refresh("ABCD EFGH IJKL MNOP", &mut records[1]).unwrap();
    assert!(records[1].is_tagged());
    assert!(records[1].hash().starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
    let found = service
        .verify("abcdefghijklmnop", &records, NOW, None)
        .unwrap()
        .unwrap();
    assert_eq!((found.index, found.needs_refresh), (1, false));

    assert!(matches!(
        service.import(0, "$argon2id$v=19$m=4096", "broken", IssueOptions::default(), NOW),
        Err(Error::MalformedHash { .. })
    ));
    assert!(matches!(
        service.refresh("abcd 1234", &mut records[1]),
        Err(Error::NotAnAppPassword)
    ));
}

#[test]
fn stronger_parameters_ask_for_a_refresh() {
    let weak = service();
    let (records, shown) = issue_many(&weak, 2);
    let config = Config {
        params: Argon2Params {
            m_kib: 512,
            t: 1,
            p: 1,
        },
        ..Config::default()
    };
    let strong = AppPasswords::new(config, TagKey::from_bytes(&[42u8; 32]).unwrap()).unwrap();
    let found = strong.verify(&shown[1], &records, NOW, None).unwrap().unwrap();
    assert!(found.needs_refresh);
    let mut record = records[1].clone();
    strong.refresh(&shown[1], &mut record).unwrap();
    assert!(!strong.hasher().needs_rehash(record.hash()).unwrap());
}

#[test]
fn damaged_and_hostile_records_are_skipped_without_locking_out_the_others() {
    let service = service();
    let (records, shown) = issue_many(&service, 2);
    for hash in [
        // Costs far above the limits: never evaluated.
        "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$fJVra3Pwx71uP+00xxYbf9zz0IM7apGk+wasxJ7lo4I",
        "$argon2id$v=19$m=256,t=4294967295,p=1$c29tZXNhbHRzb21lc2FsdA$fJVra3Pwx71uP+00xxYbf9zz0IM7apGk+wasxJ7lo4I",
        // Malformed.
        "$argon2id$v=19$m=256,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$$$",
    ] {
        let mut json = serde_json::to_value(&records[0]).unwrap();
        json["hash"] = serde_json::to_value(hash).unwrap();
        let damaged: AppPasswordRecord = serde_json::from_value(json).unwrap();
        assert!(Argon2Hash::parse(damaged.hash(), &service.hasher().limits()).is_err());
        // The damaged record's own password can no longer match it ...
        assert_eq!(
            service
                .verify(&shown[0], std::slice::from_ref(&damaged), NOW, None)
                .unwrap(),
            None
        );
        // ... and the user's other app password still works beside it.
        let list = vec![damaged, records[1].clone()];
        let found = service.verify(&shown[1], &list, NOW, None).unwrap().unwrap();
        assert_eq!(found.index, 1);
    }
}

#[test]
fn imports_count_toward_the_cap() {
    let config = Config {
        params: SMALL,
        max_per_user: 2,
        ..Config::default()
    };
    let service = AppPasswords::new(config, TagKey::from_bytes(&[42u8; 32]).unwrap()).unwrap();
    let phc =
        "$argon2i$v=19$m=4096,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$fJVra3Pwx71uP+00xxYbf9zz0IM7apGk+wasxJ7lo4I";
    assert!(
        service
            .import(1, phc, "old system", IssueOptions::default(), NOW)
            .is_ok()
    );
    assert!(matches!(
        service.import(2, phc, "old system", IssueOptions::default(), NOW),
        Err(Error::TooManyAppPasswords { max: 2 })
    ));
}

#[test]
fn names_with_invisible_or_direction_characters_are_refused() {
    for name in [
        "Mail\u{200B}",
        "\u{202E}liaM",
        "Out\u{2066}look",
        "\u{FEFF}iPhone",
        "soft\u{AD}hyphen",
    ] {
        assert!(
            matches!(AppPasswordName::new(name), Err(Error::InvalidName { .. })),
            "{name:?}"
        );
    }
    assert!(AppPasswordName::new("Mail on Zoë's iPhone (日本)").is_ok());
}

#[test]
fn records_round_trip_through_serde_and_validate_on_the_way_in() {
    let service = service();
    let issued = service
        .issue(
            0,
            "Thunderbird",
            IssueOptions::default()
                .scope(Scope::new("smtp").unwrap())
                .expires_at(NOW + 9),
            NOW,
        )
        .unwrap();
    let json = serde_json::to_string(&issued.record).unwrap();
    let back: AppPasswordRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, issued.record);
    assert_eq!(back.scope().map(Scope::as_str), Some("smtp"));
    assert_eq!(
        (back.created_at(), back.expires_at(), back.last_used_at()),
        (NOW, Some(NOW + 9), None)
    );
    let plain = normalize(issued.password.expose()).unwrap();
    assert!(!json.contains(plain.as_str()) && !json.contains(issued.password.expose()));

    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    for (field, bad) in [
        ("name", "\u{1b}[31m"),
        ("name", ""),
        ("scope", "IMAP"),
        ("id", "xyz"),
    ] {
        let mut v = value.clone();
        v[field] = serde_json::Value::String(bad.to_owned());
        assert!(
            serde_json::from_value::<AppPasswordRecord>(v).is_err(),
            "{field}={bad:?}"
        );
    }
}

#[test]
fn nothing_secret_in_debug() {
    let service = service();
    let issued = service.issue(0, "Phone", IssueOptions::default(), NOW).unwrap();
    let plain = normalize(issued.password.expose()).unwrap();
    let debug = format!("{issued:?} {service:?}");
    assert!(!debug.contains(issued.password.expose()) && !debug.contains(plain.as_str()));
    assert!(!debug.contains(issued.record.hash()));
    assert!(
        !debug.contains(&issued.record.hash()[30..]),
        "no part of the hash either"
    );
}

#[test]
fn formats_and_configuration() {
    let config = Config {
        params: SMALL,
        format: Format::new(20, 5).unwrap(),
        ..Config::default()
    };
    let service = AppPasswords::new(config, TagKey::generate().unwrap()).unwrap();
    let issued = service.issue(0, "x", IssueOptions::default(), NOW).unwrap();
    assert_eq!(
        issued
            .password
            .expose()
            .split(' ')
            .map(str::len)
            .collect::<Vec<_>>(),
        [5, 5, 5, 5]
    );
    assert!(
        service
            .verify(issued.password.expose(), &[issued.record], NOW, None)
            .unwrap()
            .is_some()
    );

    let over = Config {
        params: Argon2Params {
            m_kib: 1 << 20,
            t: 1,
            p: 1,
        },
        ..Config::default()
    };
    assert!(matches!(
        AppPasswords::new(over, TagKey::generate().unwrap()),
        Err(Error::InvalidParams { .. })
    ));
    let raised = Config {
        params: Argon2Params {
            m_kib: 1 << 20,
            t: 1,
            p: 1,
        },
        limits: Limits {
            max_m_kib: 1 << 20,
            ..Limits::default()
        },
        ..Config::default()
    };
    assert!(AppPasswords::new(raised, TagKey::generate().unwrap()).is_ok());
    for bad in [
        Argon2Params { m_kib: 7, t: 1, p: 1 },
        Argon2Params {
            m_kib: 64,
            t: 0,
            p: 1,
        },
        Argon2Params {
            m_kib: 64,
            t: 1,
            p: 9,
        },
    ] {
        let config = Config {
            params: bad,
            ..Config::default()
        };
        assert!(matches!(
            AppPasswords::new(config, TagKey::generate().unwrap()),
            Err(Error::InvalidParams { .. })
        ));
    }
}

#[test]
fn the_service_is_shareable() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<AppPasswords>();
    assert_send_sync::<AppPasswordRecord>();
}
