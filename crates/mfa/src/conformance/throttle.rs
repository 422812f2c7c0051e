//! Throttling: `begin_attempt` (and its race), `throttle_state`, `reset_failures`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::{Failure, OrFail, RACERS, at, fresh_user, named, race};
use crate::{Attempt, Store, ThrottleRule, ThrottleState};

/// `begin_attempt`: counts before the check, locks at the threshold for a growing time, refuses
/// without counting while locked; `reset_failures` clears both.
pub async fn throttle<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("throttle", async {
        let user = fresh_user("throttle")?;
        let rule = ThrottleRule {
            free_attempts: 3,
            base_lock: Duration::from_secs(30),
            max_lock: Duration::from_secs(100),
        };
        ensure!(
            store.throttle_state(&user).await.or_fail("throttle_state")? == ThrottleState::default(),
            "an unknown user has failures"
        );
        for expected in 1..=2 {
            let attempt = store
                .begin_attempt(&user, at(0), &rule)
                .await
                .or_fail("begin_attempt")?;
            ensure!(
                attempt == Attempt::Counted { failures: expected },
                "attempt {expected} gave {attempt:?}"
            );
        }
        let attempt = store
            .begin_attempt(&user, at(0), &rule)
            .await
            .or_fail("begin_attempt")?;
        ensure!(
            attempt == Attempt::Counted { failures: 3 },
            "the attempt at the threshold gave {attempt:?}"
        );
        let state = store.throttle_state(&user).await.or_fail("throttle_state")?;
        ensure!(
            state
                == ThrottleState {
                    failures: 3,
                    locked_until: Some(at(30))
                },
            "at the threshold the state is {state:?}"
        );
        let attempt = store
            .begin_attempt(&user, at(29), &rule)
            .await
            .or_fail("begin_attempt")?;
        ensure!(
            attempt == Attempt::Locked { until: at(30) },
            "during the lock: {attempt:?}"
        );
        ensure!(
            store
                .throttle_state(&user)
                .await
                .or_fail("throttle_state")?
                .failures
                == 3,
            "a locked attempt was counted"
        );
        let attempt = store
            .begin_attempt(&user, at(30), &rule)
            .await
            .or_fail("begin_attempt")?;
        ensure!(
            attempt == Attempt::Counted { failures: 4 },
            "when the lock ended: {attempt:?}"
        );
        let state = store.throttle_state(&user).await.or_fail("throttle_state")?;
        ensure!(
            state.locked_until == Some(at(90)),
            "the second lock is not 60 s: {state:?}"
        );
        let attempt = store
            .begin_attempt(&user, at(90), &rule)
            .await
            .or_fail("begin_attempt")?;
        ensure!(
            attempt == Attempt::Counted { failures: 5 },
            "after the second lock: {attempt:?}"
        );
        let state = store.throttle_state(&user).await.or_fail("throttle_state")?;
        ensure!(
            state.locked_until == Some(at(190)),
            "the third lock is not capped at 100 s: {state:?}"
        );

        let other = fresh_user("throttle")?;
        ensure!(
            store.throttle_state(&other).await.or_fail("throttle_state")? == ThrottleState::default(),
            "failures leaked to another user"
        );
        let attempt = store
            .begin_attempt(&other, at(100), &rule)
            .await
            .or_fail("begin_attempt")?;
        ensure!(
            attempt == Attempt::Counted { failures: 1 },
            "another user is locked: {attempt:?}"
        );

        store
            .update_user(&user, |r| r.blocked_by_admin = false)
            .await
            .or_fail("update_user")?;
        ensure!(
            store
                .throttle_state(&user)
                .await
                .or_fail("throttle_state")?
                .failures
                == 5,
            "update_user touched the failure counter"
        );
        store.reset_failures(&user).await.or_fail("reset_failures")?;
        ensure!(
            store.throttle_state(&user).await.or_fail("throttle_state")? == ThrottleState::default(),
            "reset_failures left {:?}",
            store.throttle_state(&user).await
        );
        let attempt = store
            .begin_attempt(&user, at(100), &rule)
            .await
            .or_fail("begin_attempt")?;
        ensure!(
            attempt == Attempt::Counted { failures: 1 },
            "after reset_failures: {attempt:?}"
        );
        Ok(())
    })
    .await
}

/// `begin_attempt` under a race: exactly `free_attempts` racers are counted (1..=5, once each), the
/// rest are locked out, and the count is exact.
pub async fn throttle_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("throttle_race", async {
        let user = fresh_user("throttle_race")?;
        let shared = user.clone();
        let results = race(&store, move |store, _| {
            let user = shared.clone();
            async move { store.begin_attempt(&user, at(0), &ThrottleRule::default()).await }
        })
        .await?;
        let counted: BTreeSet<u32> = results
            .iter()
            .filter_map(|a| match a {
                Attempt::Counted { failures } => Some(*failures),
                Attempt::Locked { .. } => None,
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
        let state = store.throttle_state(&user).await.or_fail("throttle_state")?;
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
