//! `Store::attempt`: one verification in one transaction, for every target, and its races. One module
//! per target; the throttle, which every target shares, here.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Failure, OrFail, RACERS, at, fresh_user, named, race, tag};
use crate::{
    Attempt, AttemptTarget, Consume, Loaded, LoadedCredential, MethodRecord, PasskeyChallenge,
    PendingEnrollment, PhoneChallenge, PushChallenge, Store, ThrottleRule, ThrottleState, UnixTime, UserId,
    UserRecord, Verdict,
};

mod app;
mod pending;
mod phone;
mod recovery;

pub use app::{totp_step_race, totp_steps};
pub use pending::{clear_pending, pending_attempt_race, pending_attempts};
pub use phone::{phone_challenge_race, phone_challenges, phone_code_goes_with_its_method};
pub use recovery::{recovery_code_race, recovery_codes};

/// An owned copy of what a check was shown.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Method(Option<MethodRecord>, Option<PhoneChallenge>),
    Pending(Option<PendingEnrollment>, Option<PhoneChallenge>),
    RecoveryCode { found: bool, left: usize },
    Push(Option<PushChallenge>, Option<MethodRecord>),
    Passkey(Option<MethodRecord>, Option<PasskeyChallenge>),
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
            LoadedCredential::Push { push, method } => Seen::Push(push.cloned(), method.cloned()),
            LoadedCredential::Passkey { method, challenge } => {
                Seen::Passkey(method.cloned(), challenge.cloned())
            }
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
                ..ThrottleState::default()
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
                    locked_until: Some(at(30)),
                    ..ThrottleState::default()
                },
            "after the race: {state:?}"
        );
        Ok(())
    })
    .await
}
