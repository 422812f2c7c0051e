//! Authenticator apps: the method as loaded, the TOTP step's compare-and-set, re-sealing.

use std::sync::Arc;

use mfa_otp::TotpParams;

use super::super::{Failure, OrFail, app_method, at, challenge, fresh_user, named, phone_method, race, tag};
use super::{Seen, attempt_with, failures, kind, lenient, race_outcome};
use crate::{
    Attempt, AttemptTarget, Consume, Credential, KeyId, LoadedCredential, MethodId, MethodRecord, PhoneKind,
    SealedSecret, Store, UserId, Verdict,
};

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
