//! Phone codes: the outstanding code as loaded, and consumed once.

use std::sync::Arc;

use super::super::{Failure, OrFail, at, challenge, fresh_user, named, phone_method, race, tag};
use super::{Seen, Shown, attempt_with, failures, kind, lenient, race_outcome};
use crate::{Attempt, AttemptTarget, Consume, LoadedCredential, PhoneChallenge, PhoneKind, Store, Verdict};

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

/// The outstanding phone code goes with its method: `remove_method` and `remove_all_methods` delete
/// it, and keep a code sent to a method they do not remove.
pub async fn phone_code_goes_with_its_method<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("phone_code_goes_with_its_method", async {
        let rule = lenient();
        // (how the method goes, whether the code was sent to it)
        for (n, (all, sent_to_it)) in [(false, true), (false, false), (true, true)]
            .into_iter()
            .enumerate()
        {
            let user = fresh_user("phone_code_goes_with_its_method")?;
            let phone = phone_method(PhoneKind::Mobile, "+14155550100", 0)?;
            let office = phone_method(PhoneKind::Office, "+14155550101", 0)?;
            for method in [&phone, &office] {
                store
                    .insert_method_capped(&user, method.clone(), 1)
                    .await
                    .or_fail("insert")?;
            }
            let to = if sent_to_it { phone.id } else { office.id };
            store
                .put_phone_challenge(&user, challenge(to, tag(1), 0, 300))
                .await
                .or_fail("put_phone_challenge")?;
            if all {
                store
                    .remove_all_methods(&user)
                    .await
                    .or_fail("remove_all_methods")?;
            } else {
                store
                    .remove_method(&user, phone.id)
                    .await
                    .or_fail("remove_method")?;
            }
            // Registered again under the same ids, the phones are shown only a code that stayed.
            for method in [&phone, &office] {
                let _ = store.insert_method_capped(&user, method.clone(), 1).await;
            }
            let attempt = attempt_with(
                &*store,
                &user,
                AttemptTarget::Method(to),
                at(1),
                &rule,
                Verdict::Abort,
            )
            .await?;
            let shown = match &attempt {
                Attempt::Aborted((_, Seen::Method(_, code))) => code.is_some(),
                other => return Err(format!("case {n}: {other:?}")),
            };
            let stays = !sent_to_it;
            ensure!(
                shown == stays,
                "case {n} (all: {all}, sent to the removed phone: {sent_to_it}): the code {}",
                if shown { "stayed" } else { "went" }
            );
        }
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
