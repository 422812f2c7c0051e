//! Recovery codes: looked up by tag, consumed once.

use std::sync::Arc;

use super::super::{Failure, OrFail, at, fresh_user, named, race, tag};
use super::{Seen, attempt_with, failures, kind, lenient, race_outcome};
use crate::{Attempt, AttemptTarget, Consume, LoadedCredential, Store, UserId, Verdict};

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
