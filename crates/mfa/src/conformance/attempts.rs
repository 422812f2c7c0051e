//! `Store::attempt`: one verification in one transaction, for every target, and its races.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mfa_otp::TotpParams;

use super::{Failure, OrFail, RACERS, app_method, at, challenge, fresh_user, named, phone_method, race, tag};
use crate::{
    Attempt, AttemptTarget, Consume, Credential, KeyId, Loaded, LoadedCredential, MethodId, MethodRecord,
    PendingEnrollment, PhoneChallenge, PhoneKind, SealedSecret, Store, ThrottleRule, ThrottleState, UnixTime,
    UserId, UserRecord, Verdict,
};

/// An owned copy of what a check was shown.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Method(Option<MethodRecord>, Option<PhoneChallenge>),
    Pending(Option<PendingEnrollment>, Option<PhoneChallenge>),
    RecoveryCode { found: bool, left: usize },
}

impl Seen {
    fn of(loaded: &Loaded<'_>) -> (UserRecord, Seen) {
        let seen = match loaded.credential {
            LoadedCredential::Method { method, challenge } => {
                Seen::Method(method.cloned(), challenge.cloned())
            }
            LoadedCredential::Pending { pending, challenge } => {
                Seen::Pending(pending.cloned(), challenge.cloned())
            }
            LoadedCredential::RecoveryCode { found, left } => Seen::RecoveryCode { found, left },
        };
        (loaded.user.clone(), seen)
    }
}

type Shown = (UserRecord, Seen);

/// One attempt whose check records what it was shown and answers `verdict`.
async fn attempt_with<S: Store>(
    store: &S,
    user: &UserId,
    target: AttemptTarget<'_>,
    now: UnixTime,
    rule: &ThrottleRule,
    verdict: Verdict,
) -> Result<Attempt<Shown>, String> {
    store
        .attempt(user, target, now, rule, |loaded| (verdict, Seen::of(&loaded)))
        .await
        .or_fail("attempt")
}

/// What an outcome was, without the check's value.
fn kind<T>(attempt: &Attempt<T>) -> String {
    match attempt {
        Attempt::Locked { until } => format!("Locked until {}", until.as_secs()),
        Attempt::Accepted(_) => "Accepted".to_owned(),
        Attempt::Rejected { failures, .. } => format!("Rejected at {failures}"),
        Attempt::Aborted(_) => "Aborted".to_owned(),
    }
}

async fn failures<S: Store>(store: &S, user: &UserId) -> Result<ThrottleState, String> {
    store.throttle_state(user).await.or_fail("throttle_state")
}

fn lenient() -> ThrottleRule {
    ThrottleRule {
        free_attempts: 100,
        ..ThrottleRule::default()
    }
}

/// `attempt` and the throttle: a rejection counts, the lock comes at the threshold for a growing time
/// (capped), a locked user's attempt is refused without running the check or counting, an abort
/// writes nothing, an acceptance resets; other users and `update_user` leave the counter alone.
pub async fn throttle<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("throttle", async {
        let user = fresh_user("throttle")?;
        store
            .replace_recovery_codes(&user, vec![tag(1)])
            .await
            .or_fail("replace_recovery_codes")?;
        let rule = ThrottleRule {
            free_attempts: 3,
            base_lock: Duration::from_secs(30),
            max_lock: Duration::from_secs(100),
        };
        ensure!(
            failures(&*store, &user).await? == ThrottleState::default(),
            "an unknown user has failures"
        );
        let wrong = tag(9);
        let target = AttemptTarget::RecoveryCode(&wrong);
        // (now, verdict, expected outcome, expected state after)
        let steps: [(i64, Verdict, &str, u32, Option<i64>); 8] = [
            (0, Verdict::Reject, "Rejected at 1", 1, None),
            (0, Verdict::Reject, "Rejected at 2", 2, None),
            (0, Verdict::Reject, "Rejected at 3", 3, Some(30)),
            (29, Verdict::Reject, "Locked until 1700000030", 3, Some(30)),
            (30, Verdict::Reject, "Rejected at 4", 4, Some(90)),
            (90, Verdict::Reject, "Rejected at 5", 5, Some(190)),
            (189, Verdict::Abort, "Locked until 1700000190", 5, Some(190)),
            (190, Verdict::Abort, "Aborted", 5, Some(190)),
        ];
        for (n, (now, verdict, expected, count, until)) in steps.into_iter().enumerate() {
            let ran = AtomicBool::new(false);
            let attempt = store
                .attempt(&user, target, at(now), &rule, |_| {
                    ran.store(true, Ordering::SeqCst);
                    (verdict, ())
                })
                .await
                .or_fail("attempt")?;
            ensure!(
                kind(&attempt) == expected,
                "step {n} at +{now}: {attempt:?}, not {expected}"
            );
            ensure!(
                ran.load(Ordering::SeqCst) != matches!(attempt, Attempt::Locked { .. }),
                "step {n}: the check ran {} while the outcome is {attempt:?}",
                ran.load(Ordering::SeqCst)
            );
            let state = failures(&*store, &user).await?;
            let wanted = ThrottleState {
                failures: count,
                locked_until: until.map(at),
            };
            ensure!(state == wanted, "after step {n}: {state:?}, not {wanted:?}");
        }

        let other = fresh_user("throttle")?;
        ensure!(
            failures(&*store, &other).await? == ThrottleState::default(),
            "failures leaked to another user"
        );
        let attempt = attempt_with(&*store, &other, target, at(100), &rule, Verdict::Reject).await?;
        ensure!(
            kind(&attempt) == "Rejected at 1",
            "another user is locked: {attempt:?}"
        );

        store
            .update_user(&user, |r| r.blocked_by_admin = false)
            .await
            .or_fail("update_user")?;
        ensure!(
            failures(&*store, &user).await?.failures == 5,
            "update_user touched the failure counter"
        );
        let code = tag(1);
        let right = AttemptTarget::RecoveryCode(&code);
        let attempt = attempt_with(
            &*store,
            &user,
            right,
            at(200),
            &rule,
            Verdict::Accept(Consume::RecoveryCode),
        )
        .await?;
        ensure!(
            kind(&attempt) == "Accepted",
            "a right code after the lock: {attempt:?}"
        );
        ensure!(
            failures(&*store, &user).await? == ThrottleState::default(),
            "an acceptance did not reset the failure counter"
        );
        let attempt = attempt_with(&*store, &user, target, at(200), &rule, Verdict::Reject).await?;
        ensure!(kind(&attempt) == "Rejected at 1", "after the reset: {attempt:?}");
        Ok(())
    })
    .await
}

/// Racing rejections: exactly `free_attempts` racers are counted (1..=5, once each), the rest are
/// locked out, and the count is exact.
pub async fn throttle_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("throttle_race", async {
        let user = fresh_user("throttle_race")?;
        let shared = user.clone();
        let results = race(&store, move |store, _| {
            let user = shared.clone();
            async move {
                let wrong = tag(9);
                let target = AttemptTarget::RecoveryCode(&wrong);
                store
                    .attempt(&user, target, at(0), &ThrottleRule::default(), |_| {
                        (Verdict::Reject, ())
                    })
                    .await
            }
        })
        .await?;
        let counted: BTreeSet<u32> = results
            .iter()
            .filter_map(|a| match a {
                Attempt::Rejected { failures, .. } => Some(*failures),
                _ => None,
            })
            .collect();
        let locked = results
            .iter()
            .filter(|a| matches!(a, Attempt::Locked { .. }))
            .count();
        ensure!(
            counted == (1..=5).collect() && locked == RACERS - 5,
            "{RACERS} racing attempts with 5 free: counted {counted:?}, {locked} locked"
        );
        let state = failures(&*store, &user).await?;
        ensure!(
            state
                == ThrottleState {
                    failures: 5,
                    locked_until: Some(at(30))
                },
            "after the race: {state:?}"
        );
        Ok(())
    })
    .await
}

/// Authenticator apps: the check is shown the method as stored (its last accepted step, its user
/// record, no phone code); `Consume::TotpStep` accepts strictly increasing steps only, stores a
/// resealed secret in the same write, refuses phones, unknown methods and other users' methods.
pub async fn totp_steps<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("totp_steps", async {
        let user = fresh_user("totp_steps")?;
        let app = app_method("app", 0)?;
        let phone = phone_method(PhoneKind::Mobile, "+14155550100", 1)?;
        for method in [&app, &phone] {
            store
                .insert_method_capped(&user, method.clone(), 5)
                .await
                .or_fail("insert")?;
        }
        store
            .update_user(&user, |r| r.mfa_on_every_sign_in = true)
            .await
            .or_fail("update_user")?;
        // Shown with the phone method (whose check compares its method id), never with an app.
        store
            .put_phone_challenge(&user, challenge(app.id, tag(1), 0, 300))
            .await
            .or_fail("put_phone_challenge")?;
        let rule = lenient();
        for i in 0..3 {
            attempt_with(
                &*store,
                &user,
                AttemptTarget::Method(app.id),
                at(i),
                &rule,
                Verdict::Reject,
            )
            .await?;
        }
        let other = fresh_user("totp_steps")?;
        let unknown = MethodId::generate().map_err(|e| e.to_string())?;
        let step = |step, resealed| Verdict::Accept(Consume::TotpStep { step, resealed });
        let resealed = SealedSecret::from_parts(KeyId(2), vec![0x5A; 60]);
        // (who, method, verdict, accepted?, the last step the check must have been shown)
        let cases: [(&UserId, MethodId, Verdict, bool, Option<u64>); 7] = [
            (&user, app.id, step(100, None), true, None),
            (&user, app.id, step(100, None), false, Some(100)),
            (&user, app.id, step(99, None), false, Some(100)),
            (&user, app.id, step(101, Some(resealed.clone())), true, Some(100)),
            (&user, phone.id, step(500, None), false, None),
            (&user, unknown, step(500, None), false, None),
            (&other, app.id, step(500, None), false, None),
        ];
        for (n, (who, method, verdict, accepted, shown_step)) in cases.into_iter().enumerate() {
            let before = failures(&*store, who).await?.failures;
            let attempt = attempt_with(
                &*store,
                who,
                AttemptTarget::Method(method),
                at(10),
                &rule,
                verdict,
            )
            .await?;
            let (record, seen) = match &attempt {
                Attempt::Accepted(shown) | Attempt::Rejected { value: shown, .. } => shown.clone(),
                _ => return Err(format!("case {n}: {attempt:?}")),
            };
            ensure!(
                matches!(attempt, Attempt::Accepted(_)) == accepted,
                "case {n}: {}, expected accepted = {accepted}",
                kind(&attempt)
            );
            let after = failures(&*store, who).await?.failures;
            let counted = if accepted { 0 } else { before + 1 };
            ensure!(
                after == counted,
                "case {n}: failures {before} -> {after}, expected {counted}"
            );
            let Seen::Method(shown, code) = seen else {
                return Err(format!("case {n}: shown {seen:?}"));
            };
            let expected = if *who == user && method == app.id {
                let mut stored = app.clone();
                if let Credential::AuthenticatorApp {
                    last_accepted_step, ..
                } = &mut stored.credential
                {
                    *last_accepted_step = shown_step;
                }
                Some(stored)
            } else if *who == user && method == phone.id {
                Some(phone.clone())
            } else {
                None
            };
            ensure!(
                shown == expected,
                "case {n}: the check was shown {shown:?}, not {expected:?}"
            );
            let expected_code =
                (*who == user && method == phone.id).then(|| challenge(app.id, tag(1), 0, 300));
            ensure!(
                code == expected_code,
                "case {n}: shown the phone code {code:?}, not {expected_code:?}"
            );
            let is_user = *who == user;
            ensure!(
                record.mfa_on_every_sign_in == is_user,
                "case {n}: the check was shown the wrong user record"
            );
        }
        let listed = store.list_methods(&user).await.or_fail("list_methods")?;
        let stored = listed
            .iter()
            .find(|m| m.id == app.id)
            .map(|m| m.credential.clone());
        let expected = Credential::AuthenticatorApp {
            secret: resealed.clone(),
            params: TotpParams::default(),
            last_accepted_step: Some(101),
        };
        ensure!(
            stored.as_ref() == Some(&expected),
            "after the resealing step the app reads {stored:?}"
        );

        // update_app_secret keeps the accepted step; it changes apps only.
        let again = SealedSecret::from_parts(KeyId(3), vec![0x3C; 60]);
        for (method, changes) in [(app.id, true), (phone.id, false), (unknown, false)] {
            let changed = store
                .update_app_secret(&user, method, again.clone())
                .await
                .or_fail("update_app_secret")?;
            ensure!(
                changed == changes,
                "update_app_secret on {method}: {changed}, expected {changes}"
            );
        }
        let attempt = attempt_with(
            &*store,
            &user,
            AttemptTarget::Method(app.id),
            at(20),
            &rule,
            step(101, None),
        )
        .await?;
        ensure!(
            !matches!(attempt, Attempt::Accepted(_)),
            "update_app_secret reset the accepted step"
        );
        Ok(())
    })
    .await
}

/// Racing codes of one step, each check accepting only a step above the one it is shown: exactly
/// one is accepted, every other is counted, and the count is exact.
pub async fn totp_step_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("totp_step_race", async {
        let user = fresh_user("totp_step_race")?;
        let app = app_method("app", 0)?;
        let id = app.id;
        store
            .insert_method_capped(&user, app, 5)
            .await
            .or_fail("insert")?;
        let shared = user.clone();
        let results = race(&store, move |store, _| {
            let user = shared.clone();
            async move {
                store
                    .attempt(&user, AttemptTarget::Method(id), at(0), &lenient(), |loaded| {
                        let last = match loaded.credential {
                            LoadedCredential::Method {
                                method:
                                    Some(MethodRecord {
                                        credential:
                                            Credential::AuthenticatorApp {
                                                last_accepted_step, ..
                                            },
                                        ..
                                    }),
                                ..
                            } => *last_accepted_step,
                            _ => return (Verdict::Abort, ()),
                        };
                        match last.is_some_and(|last| last >= 55_555_555) {
                            true => (Verdict::Reject, ()),
                            false => (
                                Verdict::Accept(Consume::TotpStep {
                                    step: 55_555_555,
                                    resealed: None,
                                }),
                                (),
                            ),
                        }
                    })
                    .await
            }
        })
        .await?;
        race_outcome(&*store, &user, &results, "one step").await
    })
    .await
}

/// Exactly one of the racers accepted, all others rejected with the counts 1..RACERS-1.
async fn race_outcome<S: Store>(
    store: &S,
    user: &UserId,
    results: &[Attempt<()>],
    what: &str,
) -> Result<(), String> {
    let accepted = results
        .iter()
        .filter(|a| matches!(a, Attempt::Accepted(_)))
        .count();
    let counted: BTreeSet<u32> = results
        .iter()
        .filter_map(|a| match a {
            Attempt::Rejected { failures, .. } => Some(*failures),
            _ => None,
        })
        .collect();
    let all: BTreeSet<u32> = (1..RACERS as u32).collect();
    ensure!(
        accepted == 1 && counted == all,
        "{RACERS} racers with {what}: {accepted} accepted, counted {counted:?}"
    );
    let state = failures(store, user).await?;
    ensure!(
        state.failures == RACERS as u32 - 1,
        "after the race with {what}: {state:?}"
    );
    Ok(())
}

/// Phone codes: a phone's check is shown the outstanding code (the latest sent, expired or not);
/// `Consume::PhoneCode` deletes it; a rejection leaves it; sending a code does not touch the count.
pub async fn phone_challenges<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("phone_challenges", async {
        let user = fresh_user("phone_challenges")?;
        let phone = phone_method(PhoneKind::Mobile, "+14155550100", 0)?;
        let id = phone.id;
        store
            .insert_method_capped(&user, phone, 1)
            .await
            .or_fail("insert")?;
        let rule = lenient();
        let target = AttemptTarget::Method(id);
        attempt_with(&*store, &user, target, at(0), &rule, Verdict::Reject).await?;
        store
            .put_phone_challenge(&user, challenge(id, tag(1), 0, 300))
            .await
            .or_fail("put_phone_challenge")?;
        ensure!(
            failures(&*store, &user).await?.failures == 1,
            "sending a code reset the failures"
        );
        let second = challenge(id, tag(2), 10, 300);
        store
            .put_phone_challenge(&user, second.clone())
            .await
            .or_fail("put_phone_challenge")?;
        let shown = |attempt: &Attempt<Shown>| match attempt {
            Attempt::Accepted((_, Seen::Method(_, code)))
            | Attempt::Rejected {
                value: (_, Seen::Method(_, code)),
                ..
            } => code.clone(),
            _ => None,
        };
        // (now, verdict, accepted?, the code the check must have been shown)
        let cases: [(i64, Verdict, bool, Option<&PhoneChallenge>); 4] = [
            (20, Verdict::Reject, false, Some(&second)),
            // Expired ones are shown too: the check decides.
            (400, Verdict::Reject, false, Some(&second)),
            (30, Verdict::Accept(Consume::PhoneCode), true, Some(&second)),
            (31, Verdict::Accept(Consume::PhoneCode), false, None),
        ];
        for (n, (now, verdict, accepted, expected)) in cases.into_iter().enumerate() {
            let attempt = attempt_with(&*store, &user, target, at(now), &rule, verdict).await?;
            ensure!(
                matches!(attempt, Attempt::Accepted(_)) == accepted,
                "case {n}: {}, expected accepted = {accepted}",
                kind(&attempt)
            );
            let code = shown(&attempt);
            ensure!(
                code.as_ref() == expected,
                "case {n}: shown {code:?}, not {expected:?}"
            );
        }
        ensure!(
            failures(&*store, &user).await?.failures == 1,
            "the count after a rejection, an acceptance and a rejection is not 1"
        );
        let other = fresh_user("phone_challenges")?;
        let attempt = attempt_with(&*store, &other, target, at(20), &rule, Verdict::Reject).await?;
        ensure!(
            shown(&attempt).is_none(),
            "another user was shown this user's code: {attempt:?}"
        );
        Ok(())
    })
    .await
}

/// Racing right codes, each check accepting only while a code is outstanding: exactly one wins.
pub async fn phone_challenge_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("phone_challenge_race", async {
        let user = fresh_user("phone_challenge_race")?;
        let phone = phone_method(PhoneKind::Mobile, "+14155550100", 0)?;
        let id = phone.id;
        store
            .insert_method_capped(&user, phone, 1)
            .await
            .or_fail("insert")?;
        store
            .put_phone_challenge(&user, challenge(id, tag(9), 0, 300))
            .await
            .or_fail("put_phone_challenge")?;
        let shared = user.clone();
        let results = race(&store, move |store, _| {
            let user = shared.clone();
            async move {
                store
                    .attempt(
                        &user,
                        AttemptTarget::Method(id),
                        at(1),
                        &lenient(),
                        |loaded| match loaded.credential {
                            LoadedCredential::Method {
                                challenge: Some(code),
                                ..
                            } if code.tag == tag(9) => (Verdict::Accept(Consume::PhoneCode), ()),
                            _ => (Verdict::Reject, ()),
                        },
                    )
                    .await
            }
        })
        .await?;
        race_outcome(&*store, &user, &results, "one phone code").await
    })
    .await
}

/// Recovery codes: the check is told whether the tag is one of the user's codes and how many there
/// are; `Consume::RecoveryCode` deletes that one; replaced sets are gone.
pub async fn recovery_codes<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("recovery_codes", async {
        let user = fresh_user("recovery_codes")?;
        let other = fresh_user("recovery_codes")?;
        store
            .replace_recovery_codes(&user, vec![tag(1), tag(2), tag(3)])
            .await
            .or_fail("replace_recovery_codes")?;
        let left = store
            .recovery_codes_left(&user)
            .await
            .or_fail("recovery_codes_left")?;
        ensure!(left == 3, "three codes stored, {left} left");
        let rule = lenient();
        let take = Verdict::Accept(Consume::RecoveryCode);
        // (who, tag, verdict, accepted?, shown found, shown left, left after)
        let cases: [(&UserId, u8, Verdict, bool, bool, usize, usize); 6] = [
            (&user, 9, take.clone(), false, false, 3, 3),
            (&other, 2, take.clone(), false, false, 0, 3),
            (&user, 2, Verdict::Reject, false, true, 3, 3),
            (&user, 2, take.clone(), true, true, 3, 2),
            (&user, 2, take.clone(), false, false, 2, 2),
            (&user, 1, Verdict::Abort, false, true, 2, 2),
        ];
        for (n, (who, code, verdict, accepted, found, shown_left, left)) in cases.into_iter().enumerate() {
            let code = tag(code);
            let attempt = attempt_with(
                &*store,
                who,
                AttemptTarget::RecoveryCode(&code),
                at(0),
                &rule,
                verdict,
            )
            .await?;
            ensure!(
                matches!(attempt, Attempt::Accepted(_)) == accepted,
                "case {n}: {}, expected accepted = {accepted}",
                kind(&attempt)
            );
            let seen = match &attempt {
                Attempt::Accepted((_, seen))
                | Attempt::Rejected { value: (_, seen), .. }
                | Attempt::Aborted((_, seen)) => seen.clone(),
                Attempt::Locked { .. } => return Err(format!("case {n}: locked")),
            };
            let expected = Seen::RecoveryCode {
                found,
                left: shown_left,
            };
            ensure!(seen == expected, "case {n}: shown {seen:?}, not {expected:?}");
            let now_left = store
                .recovery_codes_left(&user)
                .await
                .or_fail("recovery_codes_left")?;
            ensure!(now_left == left, "case {n}: {now_left} codes left, not {left}");
        }
        ensure!(
            failures(&*store, &user).await?.failures == 1,
            "the count after reject, accept, reject and abort is not 1"
        );
        store
            .replace_recovery_codes(&user, vec![tag(4)])
            .await
            .or_fail("replace_recovery_codes")?;
        let replaced = tag(1);
        let attempt = attempt_with(
            &*store,
            &user,
            AttemptTarget::RecoveryCode(&replaced),
            at(0),
            &rule,
            take,
        )
        .await?;
        ensure!(
            !matches!(attempt, Attempt::Accepted(_)),
            "a replaced code was accepted"
        );
        Ok(())
    })
    .await
}

/// Racing redemptions of one recovery code, each check accepting only a code it is told exists:
/// exactly one wins, one code is left.
pub async fn recovery_code_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("recovery_code_race", async {
        let user = fresh_user("recovery_code_race")?;
        store
            .replace_recovery_codes(&user, vec![tag(1), tag(2)])
            .await
            .or_fail("replace_recovery_codes")?;
        let shared = user.clone();
        let results = race(&store, move |store, _| {
            let user = shared.clone();
            async move {
                let code = tag(2);
                store
                    .attempt(
                        &user,
                        AttemptTarget::RecoveryCode(&code),
                        at(0),
                        &lenient(),
                        |loaded| match loaded.credential {
                            LoadedCredential::RecoveryCode { found: true, .. } => {
                                (Verdict::Accept(Consume::RecoveryCode), ())
                            }
                            _ => (Verdict::Reject, ()),
                        },
                    )
                    .await
            }
        })
        .await?;
        race_outcome(&*store, &user, &results, "one recovery code").await?;
        let left = store
            .recovery_codes_left(&user)
            .await
            .or_fail("recovery_codes_left")?;
        ensure!(left == 1, "the race left {left} codes, not 1");
        Ok(())
    })
    .await
}

/// Pending registrations: the check is shown the user's pending registration only under its own
/// method id, with the phone code when it is a phone's; `Consume::Pending` deletes both.
pub async fn pending_attempts<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("pending_attempts", async {
        let user = fresh_user("pending_attempts")?;
        let rule = lenient();
        let app = PendingEnrollment {
            method: app_method("pending app", 0)?,
            expires_at: at(900),
        };
        store.put_pending(&user, app.clone()).await.or_fail("put_pending")?;
        store
            .put_phone_challenge(&user, challenge(app.method.id, tag(1), 0, 300))
            .await
            .or_fail("put_phone_challenge")?;
        let unknown = MethodId::generate().map_err(|e| e.to_string())?;
        let take = Verdict::Accept(Consume::Pending);
        let attempt = attempt_with(&*store, &user, AttemptTarget::Pending(unknown), at(1), &rule, take.clone()).await?;
        ensure!(
            matches!(&attempt, Attempt::Rejected { value: (_, Seen::Pending(None, None)), .. }),
            "another method id: {attempt:?}"
        );
        let attempt =
            attempt_with(&*store, &user, AttemptTarget::Pending(app.method.id), at(1), &rule, Verdict::Reject).await?;
        ensure!(
            matches!(&attempt, Attempt::Rejected { value: (_, Seen::Pending(Some(p), None)), .. } if *p == app),
            "an app's pending registration: {attempt:?}"
        );
        let attempt = attempt_with(&*store, &user, AttemptTarget::Pending(app.method.id), at(1), &rule, take.clone()).await?;
        ensure!(matches!(attempt, Attempt::Accepted(_)), "taking it: {attempt:?}");
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.is_none(),
            "an accepted pending registration is still there"
        );
        ensure!(
            failures(&*store, &user).await? == ThrottleState::default(),
            "an acceptance did not reset the failures"
        );

        let phone = PendingEnrollment {
            method: phone_method(PhoneKind::Office, "+14155550101", 2)?,
            expires_at: at(900),
        };
        let code = challenge(phone.method.id, tag(2), 2, 300);
        store.put_pending(&user, phone.clone()).await.or_fail("put_pending")?;
        store
            .put_phone_challenge(&user, code.clone())
            .await
            .or_fail("put_phone_challenge")?;
        let target = AttemptTarget::Pending(phone.method.id);
        let attempt = attempt_with(&*store, &user, target, at(3), &rule, take.clone()).await?;
        ensure!(
            matches!(&attempt, Attempt::Accepted((_, Seen::Pending(Some(p), Some(c)))) if *p == phone && *c == code),
            "a phone's pending registration: {attempt:?}"
        );
        let attempt = attempt_with(&*store, &user, target, at(3), &rule, take).await?;
        ensure!(
            matches!(&attempt, Attempt::Rejected { value: (_, Seen::Pending(None, None)), .. }),
            "taken twice: {attempt:?}"
        );
        store
            .insert_method_capped(&user, phone.method.clone(), 1)
            .await
            .or_fail("insert")?;
        let attempt =
            attempt_with(&*store, &user, AttemptTarget::Method(phone.method.id), at(4), &rule, Verdict::Reject).await?;
        ensure!(
            matches!(&attempt, Attempt::Rejected { value: (_, Seen::Method(Some(_), None)), .. }),
            "the phone code outlived its registration: {attempt:?}"
        );
        Ok(())
    })
    .await
}

/// Racing confirmations of one pending registration: exactly one takes it.
pub async fn pending_attempt_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("pending_attempt_race", async {
        let user = fresh_user("pending_attempt_race")?;
        let pending = PendingEnrollment {
            method: app_method("pending app", 0)?,
            expires_at: at(900),
        };
        let id = pending.method.id;
        store.put_pending(&user, pending).await.or_fail("put_pending")?;
        let shared = user.clone();
        let results = race(&store, move |store, _| {
            let user = shared.clone();
            async move {
                store
                    .attempt(
                        &user,
                        AttemptTarget::Pending(id),
                        at(1),
                        &lenient(),
                        |loaded| match loaded.credential {
                            LoadedCredential::Pending { pending: Some(_), .. } => {
                                (Verdict::Accept(Consume::Pending), ())
                            }
                            _ => (Verdict::Reject, ()),
                        },
                    )
                    .await
            }
        })
        .await?;
        race_outcome(&*store, &user, &results, "one pending registration").await
    })
    .await
}
