//! Phone codes: `put_phone_challenge`, `consume_phone_challenge` (and its race).

use std::sync::Arc;

use super::{Failure, OrFail, RACERS, at, challenge, count_true, fresh_user, named, race, tag};
use crate::{MethodId, Store, ThrottleRule, ThrottleState};

/// Phone challenges: the right tag once, before expiry; a resend replaces the code; a success resets
/// failures, storing a challenge does not.
pub async fn phone_challenges<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("phone_challenges", async {
        let user = fresh_user("phone_challenges")?;
        let method = MethodId::generate().map_err(|e| e.to_string())?;
        let rule = ThrottleRule::default();
        store
            .begin_attempt(&user, at(0), &rule)
            .await
            .or_fail("begin_attempt")?;
        let first = challenge(method, tag(1), 0, 300);
        store
            .put_phone_challenge(&user, first)
            .await
            .or_fail("put_phone_challenge")?;
        ensure!(
            store
                .throttle_state(&user)
                .await
                .or_fail("throttle_state")?
                .failures
                == 1,
            "sending a code reset the failures"
        );
        let second = challenge(method, tag(2), 10, 300);
        store
            .put_phone_challenge(&user, second.clone())
            .await
            .or_fail("put_phone_challenge")?;
        ensure!(
            store
                .consume_phone_challenge(&user, &tag(1), at(20))
                .await
                .or_fail("consume")?
                .is_none(),
            "the previous code still works after a resend"
        );
        ensure!(
            store
                .consume_phone_challenge(&user, &tag(3), at(20))
                .await
                .or_fail("consume")?
                .is_none(),
            "a wrong tag was accepted"
        );
        let other = fresh_user("phone_challenges")?;
        ensure!(
            store
                .consume_phone_challenge(&other, &tag(2), at(20))
                .await
                .or_fail("consume")?
                .is_none(),
            "another user consumed the code"
        );
        ensure!(
            store
                .throttle_state(&user)
                .await
                .or_fail("throttle_state")?
                .failures
                == 1,
            "a refused code reset the failures"
        );
        let consumed = store
            .consume_phone_challenge(&user, &tag(2), at(309))
            .await
            .or_fail("consume")?;
        ensure!(
            consumed.as_ref() == Some(&second),
            "the right tag before expiry gave {consumed:?} (a wrong tag must not use it up)"
        );
        ensure!(
            store.throttle_state(&user).await.or_fail("throttle_state")? == ThrottleState::default(),
            "a consumed code did not reset the failures"
        );
        ensure!(
            store
                .consume_phone_challenge(&user, &tag(2), at(30))
                .await
                .or_fail("consume")?
                .is_none(),
            "a code was accepted twice"
        );

        store
            .put_phone_challenge(&user, challenge(method, tag(4), 100, 300))
            .await
            .or_fail("put_phone_challenge")?;
        ensure!(
            store
                .consume_phone_challenge(&user, &tag(4), at(400))
                .await
                .or_fail("consume")?
                .is_none(),
            "a code was accepted at its expiry"
        );
        Ok(())
    })
    .await
}

/// `consume_phone_challenge` under a race: exactly one racer with the right tag wins.
pub async fn phone_challenge_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("phone_challenge_race", async {
        let user = fresh_user("phone_challenge_race")?;
        let method = MethodId::generate().map_err(|e| e.to_string())?;
        store
            .put_phone_challenge(&user, challenge(method, tag(9), 0, 300))
            .await
            .or_fail("put_phone_challenge")?;
        let shared = user.clone();
        let results = race(&store, move |store, _| {
            let user = shared.clone();
            async move {
                store
                    .consume_phone_challenge(&user, &tag(9), at(1))
                    .await
                    .map(|c| c.is_some())
            }
        })
        .await?;
        ensure!(
            count_true(&results) == 1,
            "{RACERS} racers with one code: {} accepted",
            count_true(&results)
        );
        Ok(())
    })
    .await
}
