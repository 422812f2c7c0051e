//! Passkeys in the SQL stores, beyond the conformance suite: a rename survives the credential's update
//! by a verification, the challenge goes with its user, the method's `kind` column, and a damaged
//! challenge is a corrupt error; checked against the memory store too, which holds the reference
//! semantics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use mfa::store::{
    Attempt, AttemptTarget, Consume, Credential, LoadedCredential, MethodRecord, PasskeyChallenge, Verdict,
};
use mfa::{MemoryStore, MethodId, Store, StoreError, UnixTime, UserId};
use mfa_sqlx::SqliteStore;

fn at(secs: i64) -> UnixTime {
    UnixTime::from_secs(common::T0 + secs)
}

fn passkey() -> MethodRecord {
    MethodRecord {
        id: MethodId::generate().unwrap(),
        name: "YubiKey".to_owned(),
        created_at: at(0),
        credential: Credential::Passkey {
            credential_id: "AAECAwQFBgcICQ".to_owned(),
            credential: r#"{"counter":1}"#.to_owned(),
        },
    }
}

fn challenge(created: i64) -> PasskeyChallenge {
    PasskeyChallenge {
        state: r#"{"challenge":"c"}"#.to_owned(),
        created_at: at(created),
        expires_at: at(created + 300),
    }
}

/// An attempt on the passkey `id`: what the check was shown (method, challenge), and the outcome.
async fn attempt<S: Store>(
    store: &S,
    user: &UserId,
    id: MethodId,
    verdict: Verdict,
) -> Attempt<(Option<MethodRecord>, Option<PasskeyChallenge>)> {
    store
        .attempt(
            user,
            AttemptTarget::Passkey(id),
            at(10),
            &common::lenient(),
            |loaded| {
                let seen = match loaded.credential {
                    LoadedCredential::Passkey { method, challenge } => (method.cloned(), challenge.cloned()),
                    other => panic!("a passkey attempt loaded {other:?}"),
                };
                (verdict, seen)
            },
        )
        .await
        .unwrap()
}

async fn all<S: Store>(store: &S) {
    // A rename, then an accepted verification: the new credential and the new name are both kept.
    let user = common::user("passkey-rename");
    let key = passkey();
    assert!(store.insert_method_capped(&user, key.clone(), 10).await.unwrap());
    store.put_passkey_challenge(&user, challenge(0)).await.unwrap();
    assert!(
        store
            .rename_method(&user, key.id, "Blue key".to_owned())
            .await
            .unwrap()
    );
    let updated = r#"{"counter":2}"#.to_owned();
    let accepted = attempt(
        store,
        &user,
        key.id,
        Verdict::Accept(Consume::Passkey {
            credential: updated.clone(),
        }),
    )
    .await;
    assert!(
        matches!(&accepted, Attempt::Accepted((Some(m), Some(_))) if m.name == "Blue key"),
        "{accepted:?}"
    );
    let methods = store.list_methods(&user).await.unwrap();
    assert_eq!(methods.len(), 1);
    assert_eq!(methods[0].name, "Blue key");
    assert_eq!(
        methods[0].credential,
        Credential::Passkey {
            credential_id: "AAECAwQFBgcICQ".to_owned(),
            credential: updated,
        }
    );

    // An acceptance of a method that is gone consumes nothing: it counts as a rejection, and the
    // challenge is used up all the same.
    let user = common::user("passkey-gone");
    store.put_passkey_challenge(&user, challenge(0)).await.unwrap();
    let unknown = MethodId::generate().unwrap();
    let rejected = attempt(
        store,
        &user,
        unknown,
        Verdict::Accept(Consume::Passkey {
            credential: "{}".to_owned(),
        }),
    )
    .await;
    assert!(
        matches!(
            &rejected,
            Attempt::Rejected {
                value: (None, Some(_)),
                failures: 1
            }
        ),
        "{rejected:?}"
    );
    let after = attempt(store, &user, unknown, Verdict::Abort).await;
    assert!(matches!(&after, Attempt::Aborted((None, None))), "{after:?}");

    // The challenge goes with its user.
    let user = common::user("passkey-deleted");
    let key = passkey();
    assert!(store.insert_method_capped(&user, key.clone(), 10).await.unwrap());
    store.put_passkey_challenge(&user, challenge(0)).await.unwrap();
    store.delete_user(&user).await.unwrap();
    assert!(store.insert_method_capped(&user, key.clone(), 10).await.unwrap());
    let after = attempt(store, &user, key.id, Verdict::Abort).await;
    assert!(matches!(&after, Attempt::Aborted((Some(_), None))), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_keeps_the_passkey_contract() {
    all(&MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_in_memory_keeps_the_passkey_contract() {
    all(&SqliteStore::in_memory().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_keeps_the_passkey_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("mfa.sqlite3")).await.unwrap();
    store.migrate().await.unwrap();
    all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_keeps_the_passkey_contract() {
    common::with_pg_schema("postgres_keeps_the_passkey_contract", |schema| async move {
        let store = schema.store(4).await;
        all(&store).await;
        store.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_is_of_kind_passkey_and_a_damaged_challenge_is_a_corrupt_error() {
    let store = SqliteStore::in_memory().await.unwrap();
    let user = common::user("passkey-damaged");
    let key = passkey();
    assert!(store.insert_method_capped(&user, key.clone(), 10).await.unwrap());
    let kind: String = mfa_sqlx::sqlx::query_scalar("SELECT kind FROM mfa_methods WHERE user_id = $1")
        .bind(user.as_str())
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(kind, "passkey");

    store.put_passkey_challenge(&user, challenge(0)).await.unwrap();
    mfa_sqlx::sqlx::query("UPDATE mfa_passkey_challenges SET record = '{' WHERE user_id = $1")
        .bind(user.as_str())
        .execute(store.pool())
        .await
        .unwrap();
    let read = store
        .attempt(
            &user,
            AttemptTarget::Passkey(key.id),
            at(10),
            &common::lenient(),
            |_| (Verdict::Reject, ()),
        )
        .await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
    // A challenge no one can read can still be replaced.
    store.put_passkey_challenge(&user, challenge(1)).await.unwrap();
    let after = attempt(&store, &user, key.id, Verdict::Abort).await;
    assert!(
        matches!(&after, Attempt::Aborted((Some(_), Some(c))) if *c == challenge(1)),
        "{after:?}"
    );
}
