//! Recovery codes: the set, their strength, shown once, replaced sets, single use (also raced), the
//! count left, events, and lenient typing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::*;
use mfa::{Error, EventKind, Factor, Reason, RecoveryCodes, Store, UserId};

const CROCKFORD: &str = "0123456789abcdefghjkmnpqrstvwxyz";

/// Registers an app for `user` (recovery codes need a method) and generates a set with a fresh
/// verification.
async fn codes_for<S: Store>(h: &Harness<S>, user: &UserId) -> RecoveryCodes {
    let at = h.registered(user).await;
    h.mfa.generate_recovery_codes(user, at).await.unwrap()
}

#[tokio::test]
async fn a_set_has_ten_distinct_codes_of_80_bits() {
    let h = harness();
    let alice = user("alice");
    let codes = codes_for(&h, &alice).await;
    assert_eq!(codes.len(), 10);
    let mut distinct = HashSet::new();
    for code in codes.codes() {
        // 16 symbols of a 32-symbol alphabet, grouped by four: 16 × 5 = 80 bits (at least 64).
        assert_eq!(code.len(), 19, "{code}");
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4, "{code}");
        for group in groups {
            assert_eq!(group.len(), 4, "{code}");
            assert!(group.chars().all(|c| CROCKFORD.contains(c)), "{code}");
        }
        distinct.insert(code.to_owned());
    }
    assert_eq!(distinct.len(), 10);
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 10);
    assert_eq!(
        h.events.kinds().last(),
        Some(&EventKind::RecoveryCodesGenerated { count: 10 })
    );
    assert_eq!(format!("{codes:?}"), "RecoveryCodes(10 codes, redacted)");
}

#[tokio::test]
async fn codes_use_the_whole_alphabet() {
    // 50 codes of 16 symbols: 800 symbols. Every one of the 32 symbols should appear (a symbol is
    // missing with a chance of about 32 × (31/32)^800, under 10^-9).
    let mut config = config();
    config.recovery_codes = 50;
    let h = harness_with(config, mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap());
    let codes = codes_for(&h, &user("alice")).await;
    assert_eq!(codes.len(), 50);
    let seen: HashSet<char> = codes.codes().flat_map(str::chars).filter(|c| *c != '-').collect();
    assert_eq!(seen.len(), 32, "{seen:?}");
}

#[tokio::test]
async fn the_set_size_is_configurable_within_bounds() {
    let mut small = config();
    small.recovery_codes = 3;
    let h = harness_with(small, mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap());
    let alice = user("alice");
    assert_eq!(codes_for(&h, &alice).await.len(), 3);
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 3);
    for n in [0, 51] {
        let mut config = config();
        config.recovery_codes = n;
        assert!(
            matches!(
                try_new(config),
                Err(Error::InvalidConfig {
                    reason: "recovery_codes must be 1 to 50"
                })
            ),
            "{n}"
        );
    }
}

#[tokio::test]
async fn the_store_never_holds_a_code() {
    let h = harness();
    let alice = user("alice");
    let codes = codes_for(&h, &alice).await;
    let stored = h.store_json();
    let events = h.events_json();
    for code in codes.codes() {
        let bare: String = code.chars().filter(|c| *c != '-').collect();
        for form in [code.to_owned(), bare.clone(), bare.to_uppercase()] {
            assert!(!stored.contains(&form), "{form} in the store");
            assert!(!events.contains(&form), "{form} in the events");
        }
        // Half a code (40 bits) turns up in base64 text by chance about once in 10^14 positions.
        let (first, second) = bare.split_at(8);
        assert!(
            !stored.contains(first) && !stored.contains(second),
            "half of {code} stored"
        );
    }
}

#[tokio::test]
async fn a_code_is_single_use_and_tells_how_many_are_left() {
    let h = harness();
    let alice = user("alice");
    let codes = codes_for(&h, &alice).await;
    let list: Vec<String> = codes.codes().map(str::to_owned).collect();
    h.events.clear();

    let proof = h.mfa.redeem_recovery_code(&alice, &list[3]).await.unwrap();
    assert_eq!(proof.factor(), Factor::RecoveryCode);
    assert_eq!(proof.method(), None);
    assert_eq!(proof.recovery_codes_left(), Some(9));
    assert_eq!(proof.user(), &alice);
    assert_eq!(proof.at(), h.now());
    assert_eq!(
        h.events.kinds(),
        vec![
            EventKind::RecoveryCodeUsed { remaining: 9 },
            EventKind::VerificationSucceeded {
                factor: Factor::RecoveryCode,
                method: None
            },
        ]
    );
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 9);

    assert!(matches!(
        h.mfa.redeem_recovery_code(&alice, &list[3]).await,
        Err(Error::Rejected)
    ));
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 9);
    assert!(h.events.kinds().contains(&EventKind::VerificationFailed {
        factor: Factor::RecoveryCode,
        failures: Some(1)
    }));

    // The others all work, each once, and the count goes down to zero.
    let mut left = 9;
    for (i, code) in list.iter().enumerate() {
        if i == 3 {
            continue;
        }
        left -= 1;
        let proof = h.mfa.redeem_recovery_code(&alice, code).await.unwrap();
        assert_eq!(proof.recovery_codes_left(), Some(left));
    }
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 0);
    assert!(matches!(
        h.mfa.redeem_recovery_code(&alice, &list[0]).await,
        Err(Error::Rejected)
    ));
}

/// Sixteen redemptions of one code race: one succeeds.
async fn race_one_code<S: Store + 'static>(h: Harness<S>) {
    let alice = user("alice");
    let codes = codes_for(&h, &alice).await;
    let code = codes.codes().next().unwrap().to_owned();
    let results = race(16, |_| {
        let (mfa, alice, code) = (h.mfa.clone(), alice.clone(), code.clone());
        async move { mfa.redeem_recovery_code(&alice, &code).await }
    })
    .await;
    let mut accepted = Vec::new();
    for result in results {
        match result {
            Ok(proof) => accepted.push(proof.recovery_codes_left()),
            Err(Error::Rejected | Error::Locked { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted, vec![Some(9)]);
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_racing_redemptions_of_one_code_succeed_once() {
    for _ in 0..10 {
        race_one_code(harness()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_racing_redemptions_of_one_code_succeed_once_when_every_store_call_yields() {
    for _ in 0..10 {
        race_one_code(yielding_harness_with(config())).await;
    }
}

/// The ten codes of a set are redeemed at once: each succeeds, and the counts left are 9 down to 0,
/// each once.
async fn race_every_code<S: Store + 'static>(h: Harness<S>) {
    let alice = user("alice");
    let codes = codes_for(&h, &alice).await;
    let codes: Vec<String> = codes.codes().map(str::to_owned).collect();
    let results = race(codes.len(), |i| {
        let (mfa, alice, code) = (h.mfa.clone(), alice.clone(), codes[i].clone());
        async move { mfa.redeem_recovery_code(&alice, &code).await }
    })
    .await;
    let mut left = Vec::new();
    for result in results {
        left.push(result.unwrap().recovery_codes_left().unwrap());
    }
    left.sort_unstable();
    assert_eq!(left, (0..10).collect::<Vec<usize>>());
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 0);
}

/// Every attempt counts as a failure until it succeeds, so ten racing attempts could reach the
/// default lock at five; allow eleven here, these races are about the count.
fn eleven_free_attempts() -> mfa::Config {
    let mut config = config();
    config.throttle.free_attempts = 11;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_redemptions_of_different_codes_each_count_down_once() {
    for _ in 0..10 {
        race_every_code(harness_with(
            eleven_free_attempts(),
            mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap(),
        ))
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_redemptions_of_different_codes_count_down_once_when_every_store_call_yields() {
    for _ in 0..10 {
        race_every_code(yielding_harness_with(eleven_free_attempts())).await;
    }
}

#[tokio::test]
async fn a_user_without_a_method_gets_none_and_reregistration_deletes_them() {
    let h = harness();
    let alice = user("alice");
    assert!(matches!(
        h.mfa.generate_recovery_codes(&alice, None).await,
        Err(Error::NotAllowed(Reason::RegistrationRequired))
    ));
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 0);
    assert!(h.events.kinds().is_empty());

    // The codes stand in for the methods: when the methods go, so do they.
    let codes = codes_for(&h, &alice).await;
    let at = Some(h.now());
    h.mfa.require_reregistration(&alice).await.unwrap();
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 0);
    assert!(matches!(
        h.mfa
            .redeem_recovery_code(&alice, codes.codes().next().unwrap())
            .await,
        Err(Error::Rejected)
    ));
    assert!(matches!(
        h.mfa.generate_recovery_codes(&alice, at).await,
        Err(Error::NotAllowed(Reason::RegistrationRequired))
    ));
}

#[tokio::test]
async fn a_new_set_replaces_the_old_one_and_needs_a_fresh_verification() {
    let h = harness();
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    assert!(matches!(
        h.mfa.generate_recovery_codes(&alice, None).await,
        Err(Error::StepUpRequired)
    ));
    let proof = h.verify_next(&alice, app, &totp).await;
    let old: Vec<String> = h
        .mfa
        .generate_recovery_codes(&alice, Some(proof.at()))
        .await
        .unwrap()
        .codes()
        .map(str::to_owned)
        .collect();
    h.mfa.redeem_recovery_code(&alice, &old[0]).await.unwrap();
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 9);

    // A recovery code is a verification too: it allows the new set.
    let proof = h.mfa.redeem_recovery_code(&alice, &old[1]).await.unwrap();
    let new: Vec<String> = h
        .mfa
        .generate_recovery_codes(&alice, Some(proof.at()))
        .await
        .unwrap()
        .codes()
        .map(str::to_owned)
        .collect();
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 10);
    assert!(old.iter().all(|c| !new.contains(c)));
    for code in &old[2..] {
        assert!(matches!(
            h.mfa.redeem_recovery_code(&alice, code).await,
            Err(Error::Rejected)
        ));
        h.advance(3600); // past any lock
    }
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 10);
    h.mfa.redeem_recovery_code(&alice, &new[9]).await.unwrap();
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 9);
}

#[tokio::test]
async fn codes_belong_to_their_user() {
    let h = harness();
    let (alice, bob) = (user("alice"), user("bob"));
    let alices = codes_for(&h, &alice).await;
    let bobs = codes_for(&h, &bob).await;
    let code = alices.codes().next().unwrap();
    assert!(matches!(
        h.mfa.redeem_recovery_code(&bob, code).await,
        Err(Error::Rejected)
    ));
    assert_eq!(h.mfa.recovery_codes_left(&bob).await.unwrap(), 10);
    h.mfa.redeem_recovery_code(&alice, code).await.unwrap();
    h.mfa
        .redeem_recovery_code(&bob, bobs.codes().next().unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn typing_is_lenient_about_case_separators_and_look_alikes() {
    // A set of 50, so that codes holding both 1 and 0 (about one in seven) are there for the
    // look-alike spellings; a new set is drawn in the rare case there are fewer than two.
    let mut config = config();
    config.recovery_codes = 50;
    let h = harness_with(config, mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap());
    let alice = user("alice");
    let at = h.registered(&alice).await;
    let mut sets = 0;
    let (plain, look_alike) = loop {
        let list: Vec<String> = h
            .mfa
            .generate_recovery_codes(&alice, at)
            .await
            .unwrap()
            .codes()
            .map(str::to_owned)
            .collect();
        let (with_both, others): (Vec<String>, Vec<String>) =
            list.into_iter().partition(|c| c.contains('1') && c.contains('0'));
        if with_both.len() >= 2 {
            break (others, with_both);
        }
        sets += 1;
        assert!(sets < 20, "20 sets without two codes holding both 1 and 0");
    };
    let spellings: [fn(&str) -> String; 4] = [
        |c| c.to_uppercase(),
        |c| c.replace('-', ""),
        |c| c.replace('-', " "),
        |c| format!("  {}\t", c.replace('-', "  ")),
    ];
    // Look-alikes: I and L read as 1, O as 0.
    let look_alikes: [fn(&str) -> String; 2] = [
        |c| c.replace('1', "I").replace('0', "o"),
        |c| c.replace('1', "l").replace('0', "O").to_uppercase(),
    ];
    let cases = plain
        .iter()
        .zip(spellings)
        .chain(look_alike.iter().zip(look_alikes));
    for (code, variant) in cases {
        let typed = variant(code);
        h.mfa
            .redeem_recovery_code(&alice, &typed)
            .await
            .unwrap_or_else(|e| panic!("{typed:?} for {code:?}: {e:?}"));
        // And once redeemed, the original spelling is used up too.
        assert!(matches!(
            h.mfa.redeem_recovery_code(&alice, code).await,
            Err(Error::Rejected)
        ));
        h.advance(3600);
    }
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 44);
}

#[tokio::test]
async fn malformed_codes_are_typed_errors_and_not_counted() {
    let h = harness();
    let alice = user("alice");
    let codes = codes_for(&h, &alice).await;
    let code = codes.codes().next().unwrap().to_owned();
    for typed in [
        String::new(),
        "   ".to_owned(),
        code[..18].to_owned(),                                      // 15 symbols
        format!("{code}0"),                                         // 17 symbols
        code.replacen(|c: char| c.is_ascii_alphanumeric(), "u", 1), // u is not in the alphabet
        code.replace('-', "_"),
        format!("{}é", &code[..18]),
        "１２３４-５６７８-９０ab-cdef".to_owned(), // full-width digits
    ] {
        assert!(
            matches!(
                h.mfa.redeem_recovery_code(&alice, &typed).await,
                Err(Error::InvalidCode { .. })
            ),
            "{typed:?}"
        );
    }
    assert_eq!(h.store_failures(&alice).await, 0);
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 10);
    h.mfa.redeem_recovery_code(&alice, &code).await.unwrap();
}

#[tokio::test]
async fn a_suspicious_activity_report_stops_redemptions_until_cleared() {
    let h = harness();
    let alice = user("alice");
    let codes = codes_for(&h, &alice).await;
    let code = codes.codes().next().unwrap();
    h.mfa.report_suspicious_activity(&alice).await.unwrap();
    assert!(matches!(
        h.mfa.redeem_recovery_code(&alice, code).await,
        Err(Error::NotAllowed(mfa::Reason::SuspiciousActivityReported))
    ));
    assert_eq!(h.mfa.recovery_codes_left(&alice).await.unwrap(), 10);
    h.mfa.clear_suspicious_activity(&alice).await.unwrap();
    h.mfa.redeem_recovery_code(&alice, code).await.unwrap();
}
