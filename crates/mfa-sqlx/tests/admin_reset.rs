//! An administrator's reset gets past damaged rows: `require_reregistration` removes the pending
//! registration, the methods, the phone code, the recovery codes and the devices without reading
//! them (issue 12, item 6d).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::future::Future;
use std::sync::Arc;

use mfa::{
    Channel, Config, KeyId, KeyRing, ManualClock, Mfa, PhoneKind, RecordingPhoneDelivery, Store, StoreError,
    TagSecret, UnixTime, UserId,
};
use mfa_enroll::KeyUri;
use mfa_sqlx::SqliteStore;
use mfa_sqlx::sqlx;

/// What the damage writes: a pending registration, a method and a phone code that are not JSON.
const DAMAGE: [&str; 3] = [
    "UPDATE mfa_pending SET record = '{\"method\": 7' WHERE user_id = $1",
    "UPDATE mfa_methods SET record = 'not json' WHERE user_id = $1",
    "UPDATE mfa_phone_challenges SET record = '[' WHERE user_id = $1",
];

/// Registers an app, begins a phone registration (a pending registration and its code), damages
/// their rows with `damage`, and resets the user.
async fn reset_past_damage<S, F, Fut>(store: S, damage: F)
where
    S: Store + Clone + 'static,
    F: FnOnce(UserId) -> Fut,
    Fut: Future<Output = ()>,
{
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(common::T0)));
    let phones = RecordingPhoneDelivery::new();
    let mfa = Mfa::new(
        Config {
            issuer: "Example".to_owned(),
            ..Config::default()
        },
        KeyRing::new(KeyId(1), &[0x11; 32]).unwrap(),
        TagSecret::from_bytes(&[0x33; 32]).unwrap(),
        store.clone(),
        phones.clone(),
    )
    .unwrap()
    .with_clock(clock.clone());
    let user = common::user("reset_past_damage");
    let enrollment = mfa
        .begin_app_enrollment(&user, "alice", "Phone", None)
        .await
        .unwrap();
    let totp = KeyUri::parse(enrollment.uri().as_str())
        .unwrap()
        .to_totp()
        .unwrap();
    let code = totp.generate(common::T0.unsigned_abs()).unwrap().to_string();
    let enrolled = mfa
        .confirm_app_enrollment(&user, enrollment.method(), &code)
        .await
        .unwrap();
    mfa.begin_phone_enrollment(
        &user,
        PhoneKind::Mobile,
        "+14155550100",
        Channel::Sms,
        Some(enrolled.proof.at()),
    )
    .await
    .unwrap();
    damage(user.clone()).await;
    assert!(matches!(
        store.get_pending(&user).await,
        Err(StoreError::Corrupt(_))
    ));

    mfa.require_reregistration(&user).await.unwrap();

    assert!(store.get_pending(&user).await.unwrap().is_none());
    assert!(store.list_methods(&user).await.unwrap().is_empty());
    assert!(store.list_devices(&user).await.unwrap().is_empty());
    assert_eq!(store.recovery_codes_left(&user).await.unwrap(), 0);
    // And the user can register again.
    let enrollment = mfa
        .begin_app_enrollment(&user, "alice", "Phone", None)
        .await
        .unwrap();
    assert!(store.get_pending(&user).await.unwrap().is_some());
    drop(enrollment);
}

#[tokio::test]
async fn sqlite_admin_reset_gets_past_damaged_rows() {
    let store = SqliteStore::in_memory().await.unwrap();
    let pool = store.pool().clone();
    reset_past_damage(store, |user| async move {
        for sql in DAMAGE {
            sqlx::query(sql).bind(user.as_str()).execute(&pool).await.unwrap();
        }
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mfa_phone_challenges WHERE user_id = $1")
            .bind(user.as_str())
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(left, 1);
    })
    .await;
}

#[tokio::test]
async fn postgres_admin_reset_gets_past_damaged_rows() {
    common::with_pg_schema("postgres_admin_reset", |schema| async move {
        let store = schema.store(4).await;
        let pool = store.pool().clone();
        let damaging = pool.clone();
        reset_past_damage(store, |user| async move {
            let pool = damaging;
            for sql in DAMAGE {
                sqlx::query(sql).bind(user.as_str()).execute(&pool).await.unwrap();
            }
        })
        .await;
        pool.close().await;
    })
    .await;
}
