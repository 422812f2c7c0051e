//! App passwords for legacy clients: created once with step-up, listed without plaintext, verified
//! (last use recorded) only where the state and policy allow, revoked one by one or all at once, and
//! capped at 40 per user even when creates race.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use mfa::{
    Clock, Error, EventKind, Factor, KeyId, KeyRing, MemoryStore, MfaState, Policy, PolicyConfig, Reason,
    Store,
};

fn ring() -> KeyRing {
    KeyRing::new(KeyId(1), &KEY_1).unwrap()
}

fn secs(h: &Harness) -> u64 {
    h.now().as_secs() as u64
}

#[tokio::test]
async fn the_plaintext_is_shown_once_and_never_stored() {
    let h = harness();
    let alice = user("alice");
    let at = h.registered(&alice).await;
    h.events.clear();
    let created = h
        .mfa
        .create_app_password(&alice, "Thunderbird", at)
        .await
        .unwrap();
    let shown = created.password.expose().to_owned();
    // 16 lowercase letters in groups of four (75 bits).
    let groups: Vec<&str> = shown.split(' ').collect();
    assert_eq!(groups.len(), 4, "{shown}");
    assert!(
        groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_lowercase())),
        "{shown}"
    );
    let bare = shown.replace(' ', "");
    let debug = format!("{created:?}");
    assert!(!debug.contains(&shown) && !debug.contains(&bare), "{debug}");

    let list = h.mfa.list_app_passwords(&alice).await.unwrap();
    assert_eq!(list.len(), 1);
    let record = &list[0];
    assert_eq!(record.id, created.id);
    assert_eq!(record.name, "Thunderbird");
    assert_eq!(record.created_at.as_secs(), secs(&h) as i64);
    assert_eq!(record.last_used_at, None);
    let debug = format!("{record:?}");
    assert!(!debug.contains(&shown) && !debug.contains(&bare), "{debug}");
    // Issue 12, item 9: the list is what a browser may see: no hash, in Debug or JSON.
    let json = serde_json::to_string(&list).unwrap();
    assert!(!json.contains("argon2") && !debug.contains("argon2"), "{json}");
    let stored = h.store.list_app_passwords(&alice).await.unwrap();
    assert!(!json.contains(stored[0].hash()), "{json}");

    for text in [h.store_json(), h.events_json()] {
        assert!(!text.contains(&shown) && !text.contains(&bare));
        // Half of it (40 bits) would not turn up by chance either.
        assert!(!text.contains(&bare[..8]) && !text.contains(&bare[8..]));
    }
    assert_eq!(
        h.events.kinds(),
        vec![EventKind::AppPasswordCreated { id: created.id }]
    );
}

#[tokio::test]
async fn a_legacy_client_signs_in_with_it_and_its_last_use_is_recorded() {
    let h = harness();
    let alice = user("alice");
    h.mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap();
    let (app, totp) = h.enroll_app(&alice, None).await;
    let proof = h.verify_next(&alice, app, &totp).await;
    let mail = h
        .mfa
        .create_app_password(&alice, "Mail", Some(proof.at()))
        .await
        .unwrap();
    let calendar = h
        .mfa
        .create_app_password(&alice, "Calendar", Some(proof.at()))
        .await
        .unwrap();
    h.events.clear();

    h.advance(3600);
    let typed = calendar.password.expose().to_uppercase().replace(' ', "-");
    assert_eq!(
        h.mfa.verify_app_password(&alice, &typed, None).await.unwrap(),
        calendar.id
    );
    assert_eq!(
        h.events.kinds(),
        vec![EventKind::AppPasswordUsed { id: calendar.id }]
    );
    let list = h.mfa.list_app_passwords(&alice).await.unwrap();
    assert_eq!(list[0].last_used_at, None);
    assert_eq!(list[1].last_used_at.map(|t| t.as_secs() as u64), Some(secs(&h)));

    h.advance(60);
    let typed = mail.password.expose().replace(' ', "");
    assert_eq!(
        h.mfa.verify_app_password(&alice, &typed, None).await.unwrap(),
        mail.id
    );
    let list = h.mfa.list_app_passwords(&alice).await.unwrap();
    assert_eq!(list[0].last_used_at.map(|t| t.as_secs() as u64), Some(secs(&h)));
    assert_eq!(
        list[1].last_used_at.map(|t| t.as_secs() as u64),
        Some(secs(&h) - 60)
    );
}

#[tokio::test]
async fn wrong_app_passwords_are_rejected_and_do_not_lock_interactive_sign_in() {
    let h = harness();
    let alice = user("alice");
    h.mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap();
    let (app, totp) = h.enroll_app(&alice, None).await;
    let proof = h.verify_next(&alice, app, &totp).await;
    let created = h
        .mfa
        .create_app_password(&alice, "Mail", Some(proof.at()))
        .await
        .unwrap();
    h.events.clear();
    let shown = created.password.expose().to_owned();
    // The right one with its last letter changed, another of the right shape, other shapes.
    let last = shown.chars().last().unwrap();
    let changed = format!(
        "{}{}",
        &shown[..shown.len() - 1],
        if last == 'a' { 'b' } else { 'a' }
    );
    for typed in [
        changed.as_str(),
        "abcd efgh ijkl mnop",
        "",
        "1234 5678",
        "the account password!",
    ] {
        assert!(
            matches!(
                h.mfa.verify_app_password(&alice, typed, None).await,
                Err(Error::Rejected)
            ),
            "{typed:?}"
        );
    }
    assert_eq!(
        h.events.kinds()[0],
        EventKind::VerificationFailed {
            factor: Factor::AppPassword,
            failures: None
        }
    );
    assert_eq!(h.events.kinds().len(), 5);
    assert_eq!(h.store_failures(&alice).await, 0);
    assert_eq!(
        h.mfa.list_app_passwords(&alice).await.unwrap()[0]
            .last_used_at
            .map(|t| t.as_secs() as u64),
        None
    );
    // Interactive sign-in is untouched.
    h.verify_next(&alice, app, &totp).await;
}

#[tokio::test]
async fn an_app_password_belongs_to_its_user() {
    let h = harness();
    let (alice, bob) = (user("alice"), user("bob"));
    let (alice_at, bob_at) = (h.registered(&alice).await, h.registered(&bob).await);
    let alices = h.mfa.create_app_password(&alice, "Mail", alice_at).await.unwrap();
    h.mfa.create_app_password(&bob, "Mail", bob_at).await.unwrap();
    assert!(matches!(
        h.mfa
            .verify_app_password(&bob, alices.password.expose(), None)
            .await,
        Err(Error::Rejected)
    ));
    h.mfa
        .verify_app_password(&alice, alices.password.expose(), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn refused_where_the_policy_or_the_users_state_does_not_allow_it() {
    let store = MemoryStore::new();
    let clock = Arc::new(mfa::ManualClock::new(mfa::UnixTime::from_secs(START)));
    let open = build(config(), ring(), store.clone(), clock.clone());
    let mut strict_config = config();
    strict_config.policy = Policy::new(PolicyConfig {
        allow_app_passwords: false,
        ..PolicyConfig::hosted_suite()
    })
    .unwrap();
    let strict = build(strict_config, ring(), store.clone(), clock);

    let alice = user("alice");
    open.mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap();
    let at = open.registered(&alice).await;
    let created = open.mfa.create_app_password(&alice, "Mail", at).await.unwrap();
    let typed = created.password.expose();
    open.mfa.verify_app_password(&alice, typed, None).await.unwrap();

    // A policy without app passwords refuses to create or accept one.
    assert!(matches!(
        strict.mfa.create_app_password(&alice, "Other", at).await,
        Err(Error::NotAllowed(Reason::LegacyClientBlocked))
    ));
    assert!(matches!(
        strict.mfa.verify_app_password(&alice, typed, None).await,
        Err(Error::NotAllowed(Reason::LegacyClientBlocked))
    ));
    assert_eq!(strict.mfa.list_app_passwords(&alice).await.unwrap().len(), 1);

    // A suspicious-activity report or an administrator's block refuses it too.
    open.mfa.report_suspicious_activity(&alice).await.unwrap();
    assert!(matches!(
        open.mfa.verify_app_password(&alice, typed, None).await,
        Err(Error::NotAllowed(Reason::SuspiciousActivityReported))
    ));
    open.mfa.clear_suspicious_activity(&alice).await.unwrap();
    store
        .update_user(&alice, |r| r.blocked_by_admin = true)
        .await
        .unwrap();
    assert!(matches!(
        open.mfa.verify_app_password(&alice, typed, None).await,
        Err(Error::NotAllowed(Reason::BlockedByAdmin))
    ));
    assert!(matches!(
        open.mfa.create_app_password(&alice, "Other", at).await,
        Err(Error::NotAllowed(Reason::BlockedByAdmin))
    ));
    store
        .update_user(&alice, |r| r.blocked_by_admin = false)
        .await
        .unwrap();
    open.mfa.verify_app_password(&alice, typed, None).await.unwrap();
}

#[tokio::test]
async fn creating_one_needs_a_fresh_verification() {
    let h = harness();
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    assert!(matches!(
        h.mfa.create_app_password(&alice, "Mail", None).await,
        Err(Error::StepUpRequired)
    ));
    let proof = h.verify_next(&alice, app, &totp).await;
    h.advance(599);
    h.mfa
        .create_app_password(&alice, "Mail", Some(proof.at()))
        .await
        .unwrap();
    h.advance(1);
    assert!(matches!(
        h.mfa
            .create_app_password(&alice, "Calendar", Some(proof.at()))
            .await,
        Err(Error::StepUpRequired)
    ));
    assert_eq!(h.mfa.list_app_passwords(&alice).await.unwrap().len(), 1);
}

#[tokio::test]
async fn names_are_checked() {
    let h = harness();
    let alice = user("alice");
    let at = h.registered(&alice).await;
    for name in ["", "   ", "Mail\u{202E}", "a\u{0}b", &"n".repeat(101)] {
        assert!(
            matches!(
                h.mfa.create_app_password(&alice, name, at).await,
                Err(Error::InvalidName { .. })
            ),
            "{name:?}"
        );
    }
    assert!(h.mfa.list_app_passwords(&alice).await.unwrap().is_empty());
}

#[tokio::test]
async fn revoking_one_stops_it_and_only_it() {
    let h = harness();
    let alice = user("alice");
    let at = h.registered(&alice).await;
    let mail = h.mfa.create_app_password(&alice, "Mail", at).await.unwrap();
    let calendar = h.mfa.create_app_password(&alice, "Calendar", at).await.unwrap();
    h.mfa.revoke_app_password(&alice, mail.id).await.unwrap();
    assert!(
        h.events
            .kinds()
            .contains(&EventKind::AppPasswordRevoked { id: mail.id })
    );
    assert!(matches!(
        h.mfa
            .verify_app_password(&alice, mail.password.expose(), None)
            .await,
        Err(Error::Rejected)
    ));
    h.mfa
        .verify_app_password(&alice, calendar.password.expose(), None)
        .await
        .unwrap();
    let list = h.mfa.list_app_passwords(&alice).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, calendar.id);
    assert!(matches!(
        h.mfa.revoke_app_password(&alice, mail.id).await,
        Err(Error::NotFound { what: "app password" })
    ));
    // Another user cannot revoke it.
    assert!(matches!(
        h.mfa.revoke_app_password(&user("bob"), calendar.id).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(h.mfa.list_app_passwords(&alice).await.unwrap().len(), 1);
}

#[tokio::test]
async fn deleting_all_stops_every_one() {
    let h = harness();
    let (alice, bob) = (user("alice"), user("bob"));
    let (alice_at, bob_at) = (h.registered(&alice).await, h.registered(&bob).await);
    let mut created = Vec::new();
    for name in ["Mail", "Calendar", "Contacts"] {
        created.push(h.mfa.create_app_password(&alice, name, alice_at).await.unwrap());
    }
    let bobs = h.mfa.create_app_password(&bob, "Mail", bob_at).await.unwrap();
    assert_eq!(h.mfa.delete_all_app_passwords(&alice).await.unwrap(), 3);
    assert!(
        h.events
            .kinds()
            .contains(&EventKind::AllAppPasswordsRevoked { count: 3 })
    );
    assert!(h.mfa.list_app_passwords(&alice).await.unwrap().is_empty());
    for c in &created {
        assert!(matches!(
            h.mfa.verify_app_password(&alice, c.password.expose(), None).await,
            Err(Error::Rejected)
        ));
    }
    // Bob's are untouched.
    h.mfa
        .verify_app_password(&bob, bobs.password.expose(), None)
        .await
        .unwrap();
    assert_eq!(h.mfa.delete_all_app_passwords(&alice).await.unwrap(), 0);
}

#[tokio::test]
async fn at_most_forty_per_user() {
    let h = harness();
    let alice = user("alice");
    let at = h.registered(&alice).await;
    for i in 0..40 {
        h.mfa
            .create_app_password(&alice, &format!("Client {i}"), at)
            .await
            .unwrap();
    }
    assert!(matches!(
        h.mfa.create_app_password(&alice, "One more", at).await,
        Err(Error::LimitReached {
            what: "app passwords",
            max: 40
        })
    ));
    assert_eq!(h.mfa.list_app_passwords(&alice).await.unwrap().len(), 40);
    // Another user has a cap of their own; a revoked one frees a place.
    let bob = user("bob");
    let bob_at = h.registered(&bob).await;
    h.mfa.create_app_password(&bob, "Mail", bob_at).await.unwrap();
    let first = h.mfa.list_app_passwords(&alice).await.unwrap()[0].id;
    h.mfa.revoke_app_password(&alice, first).await.unwrap();
    h.mfa.create_app_password(&alice, "One more", at).await.unwrap();
    assert_eq!(h.mfa.list_app_passwords(&alice).await.unwrap().len(), 40);
}

/// Eight creates race for the last three places under the cap of 40.
async fn race_creates<S: Store + Clone + 'static>(h: Harness<S>) {
    let alice = user("alice");
    let at = h.registered(&alice).await;
    for i in 0..37 {
        h.mfa
            .create_app_password(&alice, &format!("Client {i}"), at)
            .await
            .unwrap();
    }
    let results = race(8, |i| {
        let (mfa, alice) = (h.mfa.clone(), alice.clone());
        async move { mfa.create_app_password(&alice, &format!("Racer {i}"), at).await }
    })
    .await;
    let (mut created, mut refused) = (0, 0);
    for result in results {
        match result {
            Ok(_) => created += 1,
            Err(Error::LimitReached { max: 40, .. }) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created, refused), (3, 5));
    assert_eq!(h.mfa.list_app_passwords(&alice).await.unwrap().len(), 40);
    let created_events = h
        .events
        .kinds()
        .iter()
        .filter(|k| matches!(k, EventKind::AppPasswordCreated { .. }))
        .count();
    assert_eq!(created_events, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_never_pass_the_cap() {
    for _ in 0..5 {
        race_creates(harness()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_never_pass_the_cap_when_every_store_call_yields() {
    for _ in 0..5 {
        race_creates(yielding_harness_with(config())).await;
    }
}

#[tokio::test]
async fn a_user_without_a_method_cannot_create_one() {
    // The password alone must not mint a credential that outlives a later registration.
    let h = harness();
    let alice = user("alice");
    assert!(matches!(
        h.mfa.create_app_password(&alice, "Mail", None).await,
        Err(Error::NotAllowed(Reason::RegistrationRequired))
    ));
    assert!(h.mfa.list_app_passwords(&alice).await.unwrap().is_empty());
    assert!(h.events.kinds().is_empty());
    // Once every method is gone again (re-registration), neither.
    let at = h.registered(&alice).await;
    h.mfa.require_reregistration(&alice).await.unwrap();
    assert!(matches!(
        h.mfa.create_app_password(&alice, "Mail", at).await,
        Err(Error::NotAllowed(Reason::RegistrationRequired))
    ));
}

#[tokio::test]
async fn a_smaller_cap_is_configurable() {
    let mut config = config();
    config.app_passwords.max_per_user = 2;
    let h = harness_with(config, ring());
    let alice = user("alice");
    let at = h.registered(&alice).await;
    h.mfa.create_app_password(&alice, "A", at).await.unwrap();
    h.mfa.create_app_password(&alice, "B", at).await.unwrap();
    assert!(matches!(
        h.mfa.create_app_password(&alice, "C", at).await,
        Err(Error::LimitReached { max: 2, .. })
    ));
}

#[tokio::test]
async fn a_password_change_deletes_them_unless_configured_not_to() {
    for revokes in [true, false] {
        let mut config = config();
        config.password_change_revokes_app_passwords = revokes;
        let h = harness_with(config, ring());
        let (alice, bob) = (user("alice"), user("bob"));
        let (alice_at, bob_at) = (h.registered(&alice).await, h.registered(&bob).await);
        let mail = h.mfa.create_app_password(&alice, "Mail", alice_at).await.unwrap();
        h.mfa
            .create_app_password(&alice, "Calendar", alice_at)
            .await
            .unwrap();
        let bobs = h.mfa.create_app_password(&bob, "Mail", bob_at).await.unwrap();

        h.mfa.password_changed(&alice).await.unwrap();
        let deleted = if revokes { 2 } else { 0 };
        assert_eq!(
            h.events.kinds().last(),
            Some(&EventKind::PasswordChanged {
                devices: 0,
                app_passwords: deleted
            })
        );
        assert_eq!(h.mfa.list_app_passwords(&alice).await.unwrap().len(), 2 - deleted);
        let result = h
            .mfa
            .verify_app_password(&alice, mail.password.expose(), None)
            .await;
        if revokes {
            assert!(matches!(result, Err(Error::Rejected)), "{result:?}");
        } else {
            assert_eq!(result.unwrap(), mail.id);
        }
        // Another user's are untouched either way.
        h.mfa
            .verify_app_password(&bob, bobs.password.expose(), None)
            .await
            .unwrap();
    }
}

/// Issue 12, item 2: a password change that lands while an app password is being created (after the
/// step-up, before the insert) wins: the new app password is not kept, neither when the change is in
/// the second the creation began (it used to be listed and to verify) nor a second later (it used to
/// be listed and counted, and never verified).
#[tokio::test]
async fn an_app_password_whose_creation_a_password_change_overtook_is_not_kept() {
    for later in [0, 1] {
        let h = yielding_harness_with(config());
        let alice = user("alice");
        let at = h.registered(&alice).await;
        let (inner, who, clock) = (h.store.0.clone(), alice.clone(), h.clock.clone());
        // What `password_changed` does, planted between the creation's step-up and its insert.
        h.store.1.plant(async move {
            clock.advance(Duration::from_secs(later));
            let now = clock.now();
            inner
                .update_user(&who, |r| r.password_changed_at = Some(now))
                .await
                .unwrap();
            inner.delete_all_app_passwords(&who).await.unwrap();
        });
        let created = h.mfa.create_app_password(&alice, "Mail", at).await;
        assert!(
            matches!(created, Err(Error::StepUpRequired)),
            "{later}: {created:?}"
        );
        assert!(
            h.mfa.list_app_passwords(&alice).await.unwrap().is_empty(),
            "{later}"
        );
        assert!(
            h.store.list_app_passwords(&alice).await.unwrap().is_empty(),
            "{later}"
        );
    }
}

/// Issue 12, item 2: an app password that can never verify (older than a password change whose
/// deletion did not happen, here a change recorded in the store only) is neither listed nor counted
/// toward the cap.
#[tokio::test]
async fn an_app_password_older_than_a_password_change_is_neither_listed_nor_counted() {
    let mut config = config();
    config.app_passwords.max_per_user = 1;
    let h = harness_with(config, ring());
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    let at = Some(h.verify_next(&alice, app, &totp).await.at());
    h.mfa.create_app_password(&alice, "Old", at).await.unwrap();
    h.advance(1);
    let now = h.now();
    h.store
        .update_user(&alice, |r| r.password_changed_at = Some(now))
        .await
        .unwrap();
    assert!(h.mfa.list_app_passwords(&alice).await.unwrap().is_empty());

    h.advance(1);
    let fresh = h.verify_next(&alice, app, &totp).await;
    let new = h
        .mfa
        .create_app_password(&alice, "New", Some(fresh.at()))
        .await
        .unwrap();
    let listed = h.mfa.list_app_passwords(&alice).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, new.id);
}
