//! Recovery codes: `replace_recovery_codes`, `consume_recovery_code` (and its race), `recovery_codes_left`.

use std::sync::Arc;

use super::{Failure, OrFail, RACERS, at, count_true, fresh_user, named, race, tag};
use crate::{Store, ThrottleRule, ThrottleState};

/// Recovery codes: each once, the count of those left, replaced sets, failures reset on success.
pub async fn recovery_codes<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("recovery_codes", async {
        let user = fresh_user("recovery_codes")?;
        store
            .replace_recovery_codes(&user, vec![tag(1), tag(2), tag(3)])
            .await
            .or_fail("replace_recovery_codes")?;
        ensure!(
            store
                .recovery_codes_left(&user)
                .await
                .or_fail("recovery_codes_left")?
                == 3,
            "three codes stored, not three left"
        );
        store
            .begin_attempt(&user, at(0), &ThrottleRule::default())
            .await
            .or_fail("begin_attempt")?;
        ensure!(
            store
                .consume_recovery_code(&user, &tag(9))
                .await
                .or_fail("consume")?
                .is_none(),
            "an unknown code was accepted"
        );
        let other = fresh_user("recovery_codes")?;
        ensure!(
            store
                .consume_recovery_code(&other, &tag(2))
                .await
                .or_fail("consume")?
                .is_none(),
            "another user's code was accepted"
        );
        ensure!(
            store
                .throttle_state(&user)
                .await
                .or_fail("throttle_state")?
                .failures
                == 1,
            "a refused code reset failures"
        );
        ensure!(
            store
                .consume_recovery_code(&user, &tag(2))
                .await
                .or_fail("consume")?
                == Some(2),
            "consuming one of three did not leave 2"
        );
        ensure!(
            store.throttle_state(&user).await.or_fail("throttle_state")? == ThrottleState::default(),
            "a used code did not reset failures"
        );
        ensure!(
            store
                .consume_recovery_code(&user, &tag(2))
                .await
                .or_fail("consume")?
                .is_none(),
            "a code was accepted twice"
        );
        store
            .replace_recovery_codes(&user, vec![tag(4)])
            .await
            .or_fail("replace_recovery_codes")?;
        ensure!(
            store
                .consume_recovery_code(&user, &tag(1))
                .await
                .or_fail("consume")?
                .is_none(),
            "a replaced code was accepted"
        );
        ensure!(
            store
                .consume_recovery_code(&user, &tag(4))
                .await
                .or_fail("consume")?
                == Some(0),
            "the last code did not leave 0"
        );
        Ok(())
    })
    .await
}

/// `consume_recovery_code` under a race: exactly one racer with a code wins.
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
                store
                    .consume_recovery_code(&user, &tag(2))
                    .await
                    .map(|left| left.is_some())
            }
        })
        .await?;
        ensure!(
            count_true(&results) == 1,
            "{RACERS} racers with one recovery code: {} accepted",
            count_true(&results)
        );
        ensure!(
            store
                .recovery_codes_left(&user)
                .await
                .or_fail("recovery_codes_left")?
                == 1,
            "the race removed the wrong number of codes"
        );
        Ok(())
    })
    .await
}
