//! Only ciphertext and hashes reach the database: the real facade enrolls an app, a phone, recovery
//! codes, an app password and a remembered device (leaving a pending enrollment and a phone code
//! outstanding), then every row of every table, and for SQLite the raw bytes of the database file and
//! its WAL, are searched for each plaintext.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use mfa::{
    Channel, Clock, Config, KeyId, KeyRing, ManualClock, Mfa, MfaState, PhoneKind, Policy, PolicyConfig,
    RecordingPhoneDelivery, Store, TagSecret, UnixTime,
};
use mfa_app_password::Argon2Params;
use mfa_enroll::KeyUri;
use mfa_sqlx::SqliteStore;
use mfa_sqlx::sqlx::{self, Row};

/// A plaintext and the forms it could take in a database.
struct Needle {
    what: String,
    forms: Vec<Vec<u8>>,
}

fn text(what: &str, value: &str) -> Needle {
    Needle {
        what: what.to_owned(),
        forms: vec![value.as_bytes().to_vec()],
    }
}

/// Raw bytes: as they are, in hexadecimal (how PostgreSQL prints bytea) and in base64 (how JSON
/// would carry them).
fn bytes(what: &str, value: &[u8]) -> Needle {
    let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
    Needle {
        what: what.to_owned(),
        forms: vec![
            value.to_vec(),
            hex.into_bytes(),
            URL_SAFE_NO_PAD.encode(value).into_bytes(),
            STANDARD.encode(value).into_bytes(),
            STANDARD_NO_PAD.encode(value).into_bytes(),
        ],
    }
}

/// Runs the story on `store` and returns every plaintext it handled.
async fn story<S: Store + 'static>(store: S) -> Vec<Needle> {
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(common::T0)));
    let mut config = Config {
        issuer: "Example".to_owned(),
        policy: Policy::new(PolicyConfig {
            remember_device: Some(Duration::from_secs(30 * 86_400)),
            ..PolicyConfig::hosted_suite()
        })
        .unwrap(),
        // Eight digits: a phone code cannot turn up by chance inside a stored number.
        phone_code_digits: 8,
        ..Config::default()
    };
    config.app_passwords.params = Argon2Params {
        m_kib: 256,
        t: 1,
        p: 1,
    };
    let phones = RecordingPhoneDelivery::new();
    let mfa = Mfa::new(
        config,
        KeyRing::new(KeyId(1), &[0x11; 32]).unwrap(),
        TagSecret::from_bytes(&[0x33; 32]).unwrap(),
        store,
        phones.clone(),
    )
    .unwrap()
    .with_clock(clock.clone());
    let user = common::user("plaintext");
    let mut needles = Vec::new();
    let secret = |what: &str, uri: &str, needles: &mut Vec<Needle>| {
        let parsed = KeyUri::parse(uri).unwrap();
        needles.push(text(
            &format!("{what} (base32)"),
            parsed.secret().to_base32().as_str(),
        ));
        needles.push(bytes(&format!("{what} (bytes)"), parsed.secret().expose_bytes()));
        parsed.to_totp().unwrap()
    };
    let code_now = |totp: &mfa_otp::Totp| {
        totp.generate(clock.now().as_secs().unsigned_abs())
            .unwrap()
            .to_string()
    };

    mfa.set_mfa_state(&user, MfaState::Enabled).await.unwrap();

    // An authenticator app.
    let enrollment = mfa
        .begin_app_enrollment(&user, "alice@example.com", "My phone", None)
        .await
        .unwrap();
    let totp = secret("TOTP secret", enrollment.uri().as_str(), &mut needles);
    needles.push(text(
        "TOTP secret as typed",
        enrollment.secret_for_typing().as_str(),
    ));
    let code = code_now(&totp);
    mfa.confirm_app_enrollment(&user, enrollment.method(), &code)
        .await
        .unwrap();
    let app = enrollment.method();

    // A mobile phone.
    clock.advance(Duration::from_secs(30));
    let verified = mfa.verify(&user, app, &code_now(&totp)).await.unwrap();
    let number = "+14155550123";
    let sent = mfa
        .begin_phone_enrollment(
            &user,
            PhoneKind::Mobile,
            number,
            Channel::Sms,
            Some(verified.at()),
        )
        .await
        .unwrap();
    let texted = phones.last_code_to(&number.parse().unwrap()).unwrap();
    needles.push(text("phone enrollment code", &texted));
    let verified = mfa
        .confirm_phone_enrollment(&user, sent.method, &texted)
        .await
        .unwrap()
        .proof;

    // Recovery codes, one of them used.
    let codes = mfa
        .generate_recovery_codes(&user, Some(verified.at()))
        .await
        .unwrap();
    for code in codes.codes() {
        needles.push(text("recovery code", code));
        needles.push(text("recovery code without dashes", &code.replace('-', "")));
    }
    let first = codes.codes().next().unwrap().to_owned();
    mfa.redeem_recovery_code(&user, &first).await.unwrap();

    // An app password, used once.
    let created = mfa
        .create_app_password(&user, "Mail", Some(verified.at()))
        .await
        .unwrap();
    let password = created.password.expose().to_owned();
    needles.push(text("app password", &password));
    needles.push(text("app password without spaces", &password.replace(' ', "")));
    mfa.verify_app_password(&user, &password, Some("imap"))
        .await
        .unwrap();

    // A remembered device.
    clock.advance(Duration::from_secs(30));
    let verified = mfa.verify(&user, app, &code_now(&totp)).await.unwrap();
    let remembered = mfa.remember_device(&verified, "Firefox").await.unwrap();
    needles.push(text("device token", remembered.token.expose()));
    needles.push(bytes(
        "device token (bytes)",
        &URL_SAFE_NO_PAD.decode(remembered.token.expose()).unwrap(),
    ));

    // Left outstanding: a phone code and a second app's enrollment.
    clock.advance(Duration::from_secs(60));
    mfa.challenge(&user, Some(sent.method), Some(Channel::Sms))
        .await
        .unwrap();
    let outstanding = phones.last_code_to(&number.parse().unwrap()).unwrap();
    assert_ne!(*outstanding, *texted);
    needles.push(text("outstanding phone code", &outstanding));
    let pending = mfa
        .begin_app_enrollment(&user, "alice@example.com", "Tablet", Some(verified.at()))
        .await
        .unwrap();
    secret("pending TOTP secret", pending.uri().as_str(), &mut needles);
    assert!(mfa.store().get_pending(&user).await.unwrap().is_some());

    needles
}

/// The control: what is meant to be stored in clear (the phone number, the device's name) is found,
/// so the search does see the stored data.
fn assert_present(haystack: &[u8], value: &str, place: &str) {
    assert!(
        haystack.windows(value.len()).any(|w| w == value.as_bytes()),
        "{place} does not hold {value:?}: the search cannot see the data"
    );
}

fn assert_absent(haystack: &[u8], needles: &[Needle], place: &str) {
    assert!(!haystack.is_empty(), "{place} is empty: nothing was checked");
    for needle in needles {
        for form in &needle.forms {
            assert!(form.len() >= 6, "{} is too short to search for", needle.what);
            assert!(
                !haystack.windows(form.len()).any(|w| w == form.as_slice()),
                "{place} holds the {} in plaintext",
                needle.what
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_holds_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfa.sqlite3");
    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    let needles = story(store.clone()).await;

    // Every column of every row, as bytes.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert!(tables.len() >= 8, "tables: {tables:?}");
    let mut rows = Vec::new();
    for table in &tables {
        let columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(store.pool())
                .await
                .unwrap();
        for column in columns {
            let values: Vec<Option<Vec<u8>>> =
                sqlx::query_scalar(&format!("SELECT CAST({column} AS BLOB) FROM {table}"))
                    .fetch_all(store.pool())
                    .await
                    .unwrap();
            for value in values.into_iter().flatten() {
                rows.extend_from_slice(&value);
                rows.push(0);
            }
        }
    }
    let records: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mfa_methods")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(records, 2, "the app and the phone");
    assert_present(&rows, "+14155550123", "the table rows");
    assert_present(&rows, "Firefox", "the table rows");
    assert_absent(&rows, &needles, "a table row");

    // The raw files, free pages and WAL frames included (checked before the pool closes, so the WAL
    // still holds recent frames).
    let mut raw = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let file = dir.path().join(format!("mfa.sqlite3{suffix}"));
        if let Ok(content) = std::fs::read(&file) {
            raw.extend_from_slice(&content);
        }
    }
    assert!(
        std::fs::metadata(dir.path().join("mfa.sqlite3-wal")).is_ok_and(|m| m.len() > 0),
        "WAL mode should leave a -wal file"
    );
    assert_present(&raw, "Firefox", "the database files");
    assert_absent(&raw, &needles, "the database files");
    store.pool().close().await;
    let mut closed = Vec::new();
    closed.extend_from_slice(&std::fs::read(&path).unwrap());
    assert_present(&closed, "Firefox", "the checkpointed database file");
    assert_absent(&closed, &needles, "the checkpointed database file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_holds_no_plaintext() {
    common::with_pg_schema("postgres_holds_no_plaintext", |schema| async move {
        let store = schema.store(4).await;
        let needles = story(store.clone()).await;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%'",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert!(tables.len() >= 9, "tables: {tables:?}");
        let mut rows = Vec::new();
        for table in &tables {
            let texts = sqlx::query(&format!("SELECT row_to_json(t)::text FROM {table} t"))
                .fetch_all(store.pool())
                .await
                .unwrap();
            for row in texts {
                let text: String = row.get(0);
                rows.extend_from_slice(text.as_bytes());
                rows.push(b'\n');
            }
        }
        assert_present(&rows, "+14155550123", "the table rows");
        assert_present(&rows, "Firefox", "the table rows");
        assert_absent(&rows, &needles, "a table row");
        store.pool().close().await;
    })
    .await;
}
