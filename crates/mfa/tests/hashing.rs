//! App-password hashing runs off the async worker threads (issue 12, item 8): a flow that hashes
//! hands the work to the blocking pool and yields, so the runtime's threads stay free for other
//! requests; a dropped flow leaks no hashing slot and stores nothing half-done.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use common::*;

/// A harness whose hashes take long enough (several milliseconds even in an optimised build) that a
/// hash handed to the blocking pool cannot have finished by the time the first poll looks at it, even
/// when the test's thread is descheduled between the two on a loaded machine. With the shared
/// test configuration's 256 KiB, one pass, a hash took about 0.2 ms, and the first poll sometimes
/// found it done under load.
fn slow_hashing(concurrency: Option<usize>) -> Harness {
    let mut config = config();
    config.app_passwords.params = mfa_app_password::Argon2Params {
        m_kib: 16 * 1024,
        t: 2,
        p: 1,
    };
    config.max_concurrent_hashes = concurrency;
    harness_with(config, mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap())
}

/// Polls `future` once, as a runtime would on its first turn.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[tokio::test]
async fn verifying_an_app_password_yields_while_it_hashes() {
    let h = slow_hashing(None);
    let alice = user("alice");
    let at = h.registered(&alice).await;
    let created = h.mfa.create_app_password(&alice, "Mail", at).await.unwrap();
    let typed = created.password.expose().to_owned();

    let mut verify = pin!(h.mfa.verify_app_password(&alice, &typed, None));
    // MemoryStore answers at once: on a current-thread runtime, a flow that hashed inline would be
    // done after one poll, having held the only worker thread for the whole argon2 evaluation.
    assert!(
        poll_once(verify.as_mut()).is_pending(),
        "the verification hashed on the async thread"
    );
    assert_eq!(verify.await.unwrap(), created.id);
}

#[tokio::test]
async fn creating_an_app_password_yields_while_it_hashes() {
    let h = slow_hashing(None);
    let alice = user("alice");
    let at = h.registered(&alice).await;

    let mut create = pin!(h.mfa.create_app_password(&alice, "Mail", at));
    assert!(
        poll_once(create.as_mut()).is_pending(),
        "the creation hashed on the async thread"
    );
    let created = create.await.unwrap();
    let list = h.mfa.list_app_passwords(&alice).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, created.id);
}

fn one_hash_at_a_time() -> Harness {
    let mut config = config();
    config.max_concurrent_hashes = Some(1);
    harness_with(config, mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap())
}

#[tokio::test]
async fn dropped_flows_leak_no_hashing_slot_and_store_nothing() {
    let h = slow_hashing(Some(1));
    let alice = user("alice");
    let at = h.registered(&alice).await;
    let created = h.mfa.create_app_password(&alice, "Mail", at).await.unwrap();
    let typed = created.password.expose().to_owned();

    // Each flow is dropped while its hash runs (holding the only slot), as when a client hangs up.
    for _ in 0..3 {
        let mut verify = Box::pin(h.mfa.verify_app_password(&alice, &typed, None));
        assert!(poll_once(verify.as_mut()).is_pending());
        drop(verify);
        let mut create = Box::pin(h.mfa.create_app_password(&alice, "Calendar", at));
        assert!(poll_once(create.as_mut()).is_pending());
        drop(create);
    }
    // Nothing half-done was stored: no new app password, no use recorded.
    let list = h.mfa.list_app_passwords(&alice).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].last_used_at, None);

    // The slot came back: the next verification gets it (and would wait forever if it had leaked).
    let verified = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        h.mfa.verify_app_password(&alice, &typed, None),
    )
    .await
    .expect("the hashing slot was leaked");
    assert_eq!(verified.unwrap(), created.id);
    let list = h.mfa.list_app_passwords(&alice).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].last_used_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_verifications_all_finish_through_a_small_pool() {
    let h = one_hash_at_a_time();
    let alice = user("alice");
    let at = h.registered(&alice).await;
    let created = h.mfa.create_app_password(&alice, "Mail", at).await.unwrap();
    let typed = created.password.expose().to_owned();
    let mfa = h.mfa.clone();
    let outcomes = race(8, |_| {
        let (mfa, alice, typed) = (mfa.clone(), alice.clone(), typed.clone());
        async move { mfa.verify_app_password(&alice, &typed, None).await }
    })
    .await;
    assert!(outcomes.iter().all(|o| o.as_ref().ok() == Some(&created.id)));
}

#[test]
fn max_concurrent_hashes_is_checked() {
    for bad in [0, 1025, usize::MAX] {
        let mut config = config();
        config.max_concurrent_hashes = Some(bad);
        assert!(
            matches!(try_new(config), Err(mfa::Error::InvalidConfig { .. })),
            "{bad}"
        );
    }
    for good in [1, 4, 1024] {
        let mut config = config();
        config.max_concurrent_hashes = Some(good);
        assert!(try_new(config.clone()).is_ok(), "{good}");
        assert_eq!(config.hashing_concurrency(), good);
    }
    let parsed: mfa::Config = serde_json::from_str(r#"{ "max_concurrent_hashes": null }"#).unwrap();
    assert_eq!(parsed.max_concurrent_hashes, None);
    assert_eq!(
        parsed.hashing_concurrency(),
        (std::thread::available_parallelism().unwrap().get() - 1).max(1)
    );
}
