//! Authenticator apps: `accept_totp_step` (and its race) and `update_app_secret`.

use std::sync::Arc;

use mfa_otp::TotpParams;

use super::{Failure, OrFail, RACERS, app_method, at, count_true, fresh_user, named, phone_method, race};
use crate::{Credential, KeyId, MethodId, PhoneKind, SealedSecret, Store, ThrottleRule, ThrottleState};

/// `accept_totp_step`: strictly increasing steps only, resets the failure counter, refuses phones and
/// unknown methods; `update_app_secret` keeps the accepted step.
pub async fn totp_steps<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("totp_steps", async {
        let user = fresh_user("totp_steps")?;
        let app = app_method("app", 0)?;
        let phone = phone_method(PhoneKind::Mobile, "+14155550100", 1)?;
        store
            .insert_method_capped(&user, app.clone(), 5)
            .await
            .or_fail("insert")?;
        store
            .insert_method_capped(&user, phone.clone(), 1)
            .await
            .or_fail("insert")?;

        let rule = ThrottleRule::default();
        for i in 0..3 {
            store
                .begin_attempt(&user, at(i), &rule)
                .await
                .or_fail("begin_attempt")?;
        }
        ensure!(
            store
                .accept_totp_step(&user, app.id, 100)
                .await
                .or_fail("accept_totp_step")?,
            "the first step was refused"
        );
        ensure!(
            store.throttle_state(&user).await.or_fail("throttle_state")? == ThrottleState::default(),
            "accept_totp_step did not reset the failure counter"
        );
        ensure!(
            !store
                .accept_totp_step(&user, app.id, 100)
                .await
                .or_fail("accept_totp_step")?,
            "the same step was accepted twice"
        );
        ensure!(
            !store
                .accept_totp_step(&user, app.id, 99)
                .await
                .or_fail("accept_totp_step")?,
            "an older step was accepted"
        );
        store
            .begin_attempt(&user, at(5), &rule)
            .await
            .or_fail("begin_attempt")?;
        ensure!(
            store
                .throttle_state(&user)
                .await
                .or_fail("throttle_state")?
                .failures
                == 1,
            "a refused step reset the failure counter"
        );
        ensure!(
            store
                .accept_totp_step(&user, app.id, 101)
                .await
                .or_fail("accept_totp_step")?,
            "a newer step was refused"
        );
        ensure!(
            !store
                .accept_totp_step(&user, phone.id, 500)
                .await
                .or_fail("accept_totp_step")?,
            "a phone accepted a TOTP step"
        );
        let unknown = MethodId::generate().map_err(|e| e.to_string())?;
        ensure!(
            !store
                .accept_totp_step(&user, unknown, 500)
                .await
                .or_fail("accept_totp_step")?,
            "an unknown method accepted a step"
        );
        let other = fresh_user("totp_steps")?;
        ensure!(
            !store
                .accept_totp_step(&other, app.id, 500)
                .await
                .or_fail("accept_totp_step")?,
            "another user's method accepted a step"
        );

        let resealed = SealedSecret::from_parts(KeyId(2), vec![0x5A; 60]);
        ensure!(
            store
                .update_app_secret(&user, app.id, resealed.clone())
                .await
                .or_fail("update_app_secret")?,
            "update_app_secret refused an app"
        );
        ensure!(
            !store
                .update_app_secret(&user, phone.id, resealed.clone())
                .await
                .or_fail("update_app_secret")?,
            "update_app_secret changed a phone"
        );
        ensure!(
            !store
                .update_app_secret(&user, unknown, resealed.clone())
                .await
                .or_fail("update_app_secret")?,
            "update_app_secret made a method"
        );
        let listed = store.list_methods(&user).await.or_fail("list_methods")?;
        let stored = listed
            .iter()
            .find(|m| m.id == app.id)
            .map(|m| m.credential.clone());
        let expected = Credential::AuthenticatorApp {
            secret: resealed,
            params: TotpParams::default(),
            last_accepted_step: Some(101),
        };
        ensure!(
            stored.as_ref() == Some(&expected),
            "after update_app_secret the app reads {stored:?}"
        );
        ensure!(
            !store
                .accept_totp_step(&user, app.id, 101)
                .await
                .or_fail("accept_totp_step")?,
            "update_app_secret reset the accepted step"
        );
        Ok(())
    })
    .await
}

/// `accept_totp_step` under a race: of the racers with one step, exactly one wins.
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
            async move { store.accept_totp_step(&user, id, 55_555_555).await }
        })
        .await?;
        ensure!(
            count_true(&results) == 1,
            "{RACERS} racers with one step: {} accepted",
            count_true(&results)
        );
        Ok(())
    })
    .await
}
