//! Pending registrations: loaded under their own id, taken once with their phone code.

use std::sync::Arc;

use super::super::{Failure, OrFail, app_method, at, challenge, fresh_user, named, phone_method, race, tag};
use super::{Seen, attempt_with, failures, lenient, race_outcome};
use crate::{
    Attempt, AttemptTarget, Consume, LoadedCredential, MethodId, PendingEnrollment, PhoneKind, Store,
    ThrottleState, Verdict,
};

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

/// `clear_pending`: removes the pending registration whatever its method id, and the phone code sent
/// for it, but not a code sent to a registered phone; `false` when there is none.
pub async fn clear_pending<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("clear_pending", async {
        let rule = lenient();
        let user = fresh_user("clear_pending")?;
        ensure!(
            !store.clear_pending(&user).await.or_fail("clear_pending")?,
            "cleared a pending registration of a user without one"
        );
        // A phone being registered, with its code.
        let pending = PendingEnrollment {
            method: phone_method(PhoneKind::Mobile, "+14155550100", 0)?,
            expires_at: at(600),
        };
        let id = pending.method.id;
        store
            .put_pending(&user, pending.clone())
            .await
            .or_fail("put_pending")?;
        store
            .put_phone_challenge(&user, challenge(id, tag(1), 0, 300))
            .await
            .or_fail("put_phone_challenge")?;
        ensure!(
            store.clear_pending(&user).await.or_fail("clear_pending")?,
            "clear_pending missed the pending registration"
        );
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.is_none(),
            "clear_pending left the pending registration"
        );
        ensure!(
            !store.clear_pending(&user).await.or_fail("clear_pending")?,
            "cleared one pending registration twice"
        );
        // Put back under the same id, it is shown no code: the code went with it.
        store.put_pending(&user, pending).await.or_fail("put_pending")?;
        let attempt = attempt_with(
            &*store,
            &user,
            AttemptTarget::Pending(id),
            at(1),
            &rule,
            Verdict::Abort,
        )
        .await?;
        match &attempt {
            Attempt::Aborted((_, Seen::Pending(Some(_), None))) => {}
            other => return Err(format!("the code outlived clear_pending: {other:?}")),
        }
        // A code sent to a registered phone stays when an app's registration is cleared.
        let user = fresh_user("clear_pending")?;
        let phone = phone_method(PhoneKind::Mobile, "+14155550101", 0)?;
        let phone_id = phone.id;
        store
            .insert_method_capped(&user, phone, 1)
            .await
            .or_fail("insert_method_capped")?;
        store
            .put_phone_challenge(&user, challenge(phone_id, tag(2), 0, 300))
            .await
            .or_fail("put_phone_challenge")?;
        store
            .put_pending(
                &user,
                PendingEnrollment {
                    method: app_method("app", 0)?,
                    expires_at: at(600),
                },
            )
            .await
            .or_fail("put_pending")?;
        ensure!(
            store.clear_pending(&user).await.or_fail("clear_pending")?,
            "clear_pending missed an app's registration"
        );
        let attempt = attempt_with(
            &*store,
            &user,
            AttemptTarget::Method(phone_id),
            at(1),
            &rule,
            Verdict::Abort,
        )
        .await?;
        match &attempt {
            Attempt::Aborted((_, Seen::Method(Some(_), Some(_)))) => {}
            other => {
                return Err(format!(
                    "a registered phone's code went with the registration: {other:?}"
                ));
            }
        }
        Ok(())
    })
    .await
}
