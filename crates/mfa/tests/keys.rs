//! The start-up key check (issue 12, item 12): `Mfa::check_keys` records each key's check value in
//! the store and refuses a key whose recorded check differs, naming it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mfa::{
    CheckedKey, Config, Error, KeyId, KeyRing, MemoryStore, Mfa, RecordingPhoneDelivery, Store, TagSecret,
};

fn service(
    store: &MemoryStore,
    keys: KeyRing,
    tag_secret: [u8; 32],
) -> Mfa<MemoryStore, RecordingPhoneDelivery> {
    Mfa::new(
        Config::default(),
        keys,
        TagSecret::from_bytes(&tag_secret).unwrap(),
        store.clone(),
        RecordingPhoneDelivery::new(),
    )
    .unwrap()
}

fn ring(keys: &[(u32, u8)]) -> KeyRing {
    let mut ring = KeyRing::new(KeyId(keys[0].0), &[keys[0].1; 32]).unwrap();
    for (id, byte) in &keys[1..] {
        ring = ring.with_previous(KeyId(*id), &[*byte; 32]).unwrap();
    }
    ring
}

fn recorded(checks: &[mfa::store::KeyCheck]) -> Vec<CheckedKey> {
    let mut keys: Vec<CheckedKey> = checks.iter().map(|c| c.key).collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn the_first_start_records_and_the_same_keys_pass() {
    let store = MemoryStore::new();
    service(&store, ring(&[(1, 0x11)]), [0x22; 32])
        .check_keys()
        .await
        .unwrap();
    assert_eq!(
        recorded(&store.key_checks().await.unwrap()),
        vec![CheckedKey::Ring(KeyId(1)), CheckedKey::TagSecret]
    );
    // A restart with the same keys (loaded again from text) passes and records nothing new.
    let keys = KeyRing::parse(&format!("1:{}", "11".repeat(32))).unwrap();
    service(&store, keys, [0x22; 32]).check_keys().await.unwrap();
    assert_eq!(store.key_checks().await.unwrap().len(), 2);
    // The store holds check values, not keys.
    for check in store.key_checks().await.unwrap() {
        assert_ne!(check.value.as_bytes(), &[0x11; 32]);
        assert_ne!(check.value.as_bytes(), &[0x22; 32]);
    }
}

#[tokio::test]
async fn a_wrong_key_of_the_ring_is_refused_by_name() {
    let store = MemoryStore::new();
    service(&store, ring(&[(2, 0x12), (1, 0x11)]), [0x22; 32])
        .check_keys()
        .await
        .unwrap();
    // The previous key mistyped.
    let error = service(&store, ring(&[(2, 0x12), (1, 0x10)]), [0x22; 32])
        .check_keys()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::WrongKey {
                key: CheckedKey::Ring(KeyId(1))
            }
        ),
        "{error:?}"
    );
    // Two keys swapped between their ids: the current one is named first.
    let error = service(&store, ring(&[(2, 0x11), (1, 0x12)]), [0x22; 32])
        .check_keys()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::WrongKey {
                key: CheckedKey::Ring(KeyId(2))
            }
        ),
        "{error:?}"
    );
    // A refused start records no new key beside the wrong one.
    let error = service(&store, ring(&[(3, 0x13), (1, 0x10)]), [0x22; 32])
        .check_keys()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::WrongKey {
                key: CheckedKey::Ring(KeyId(1))
            }
        ),
        "{error:?}"
    );
    assert!(!recorded(&store.key_checks().await.unwrap()).contains(&CheckedKey::Ring(KeyId(3))));
    let message = error.to_string();
    assert_eq!(
        message,
        "wrong key: the key 1 of the key ring is not the one this store was used with \
         (its check value differs from the recorded one)"
    );
}

#[tokio::test]
async fn a_wrong_tag_secret_is_refused_by_name() {
    let store = MemoryStore::new();
    service(&store, ring(&[(1, 0x11)]), [0x22; 32])
        .check_keys()
        .await
        .unwrap();
    let error = service(&store, ring(&[(1, 0x11)]), [0x23; 32])
        .check_keys()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::WrongKey {
                key: CheckedKey::TagSecret
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("wrong key: the tag secret is not the one")
    );
}

#[tokio::test]
async fn a_rotation_records_the_new_key_and_dropping_an_old_one_passes() {
    let store = MemoryStore::new();
    service(&store, ring(&[(1, 0x11)]), [0x22; 32])
        .check_keys()
        .await
        .unwrap();
    service(&store, ring(&[(2, 0x12), (1, 0x11)]), [0x22; 32])
        .check_keys()
        .await
        .unwrap();
    assert_eq!(
        recorded(&store.key_checks().await.unwrap()),
        vec![
            CheckedKey::Ring(KeyId(1)),
            CheckedKey::Ring(KeyId(2)),
            CheckedKey::TagSecret
        ]
    );
    // Key 1 dropped once nothing uses it: still fine; its check stays, so id 1 cannot come back as
    // another key.
    service(&store, ring(&[(2, 0x12)]), [0x22; 32])
        .check_keys()
        .await
        .unwrap();
    let error = service(&store, ring(&[(1, 0x31)]), [0x22; 32])
        .check_keys()
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::WrongKey {
            key: CheckedKey::Ring(KeyId(1))
        }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_agree() {
    let store = MemoryStore::new();
    let mut handles = Vec::new();
    for i in 0..8u8 {
        let mfa = service(&store, ring(&[(1, 0x40 + (i % 2))]), [0x22; 32]);
        handles.push(tokio::spawn(async move { mfa.check_keys().await.is_ok() }));
    }
    let mut passed = [0usize; 2];
    for (i, handle) in handles.into_iter().enumerate() {
        if handle.await.unwrap() {
            passed[i % 2] += 1;
        }
    }
    // One of the two keys won; every instance with it passed, every other was refused.
    assert!(passed == [4, 0] || passed == [0, 4], "{passed:?}");
}
