//! The start-up key check on a database file: recorded once, read back after a restart, a wrong key
//! refused by name; a damaged row is a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mfa::{
    CheckedKey, Config, Error, KeyId, KeyRing, Mfa, RecordingPhoneDelivery, Store, StoreError, TagSecret,
};
use mfa_sqlx::{SqliteStore, sqlx};

async fn start(path: &std::path::Path, key: u8) -> Result<SqliteStore, Error> {
    let store = SqliteStore::open(path).await?;
    store.migrate().await?;
    let mfa = Mfa::new(
        Config::default(),
        KeyRing::new(KeyId(1), &[key; 32])?,
        TagSecret::from_bytes(&[0x22; 32])?,
        store.clone(),
        RecordingPhoneDelivery::new(),
    )?;
    mfa.check_keys().await?;
    Ok(store)
}

#[tokio::test]
async fn a_wrong_key_is_refused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.sqlite3");
    let first = start(&path, 0x11).await.unwrap();
    first.pool().close().await;
    let again = start(&path, 0x11).await.unwrap();
    assert_eq!(again.key_checks().await.unwrap().len(), 2);
    again.pool().close().await;
    let error = start(&path, 0x12).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::WrongKey {
                key: CheckedKey::Ring(KeyId(1))
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_damaged_key_check_is_a_corrupt_error() {
    let store = SqliteStore::in_memory().await.unwrap();
    sqlx::query("INSERT INTO mfa_key_checks (key_name, check_value) VALUES ('key-ring/1', x'00')")
        .execute(store.pool())
        .await
        .unwrap();
    let error = store.key_checks().await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
    sqlx::query("UPDATE mfa_key_checks SET key_name = 'someone else''s', check_value = zeroblob(32)")
        .execute(store.pool())
        .await
        .unwrap();
    let error = store.key_checks().await.unwrap_err();
    assert!(error.to_string().contains("unknown key name"), "{error}");
}
