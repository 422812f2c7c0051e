//! The user record: `get_user`, `update_user` (and its race), and `delete_user`.

use std::sync::Arc;

use mfa_policy::{MfaState, UnixTime};

use super::{
    Failure, OrFail, RACERS, app_method, app_password_record, at, challenge, cheap_app_passwords, fresh_user,
    named, phone_method, race, tag,
};
use crate::{
    Attempt, AttemptTarget, DeviceId, DeviceRecord, LoadedCredential, PendingEnrollment, PhoneKind, Store,
    ThrottleRule, ThrottleState, Verdict,
};

/// `get_user`, `update_user`: unknown users read as `None`; updates start from the default record and
/// are returned as stored.
pub async fn users<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("users", async {
        let user = fresh_user("users")?;
        ensure!(
            store.get_user(&user).await.or_fail("get_user")?.is_none(),
            "an unknown user has a record"
        );
        let stored = store
            .update_user(&user, |r| {
                r.mfa = MfaState::Enforced;
                r.password_changed_at = Some(at(5));
            })
            .await
            .or_fail("update_user")?;
        ensure!(
            stored.mfa == MfaState::Enforced,
            "update_user did not return the changed record"
        );
        ensure!(
            !stored.blocked_by_admin,
            "update_user did not start from the default record"
        );
        let read = store.get_user(&user).await.or_fail("get_user")?;
        ensure!(
            read.as_ref() == Some(&stored),
            "get_user returned {read:?}, not what was stored"
        );
        let again = store
            .update_user(&user, |r| r.suspicious_activity_reported = true)
            .await
            .or_fail("update_user")?;
        ensure!(
            again.password_changed_at == Some(at(5)) && again.suspicious_activity_reported,
            "a second update_user lost the first one's change"
        );
        let other = fresh_user("users")?;
        ensure!(
            store.get_user(&other).await.or_fail("get_user")?.is_none(),
            "a record leaked to another user"
        );
        Ok(())
    })
    .await
}

/// `update_user` under a race: every one of the racing read-modify-writes is kept.
pub async fn users_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("users_race", async {
        let user = fresh_user("users_race")?;
        let shared = user.clone();
        race(&store, move |store, _| {
            let user = shared.clone();
            async move {
                store
                    .update_user(&user, |r| {
                        let n = r.security_info_confirmed_at.map_or(0, UnixTime::as_secs);
                        r.security_info_confirmed_at = Some(UnixTime::from_secs(n + 1));
                    })
                    .await
            }
        })
        .await?;
        let record = store.get_user(&user).await.or_fail("get_user")?;
        let count = record
            .and_then(|r| r.security_info_confirmed_at)
            .map(UnixTime::as_secs);
        ensure!(
            count == Some(RACERS as i64),
            "{RACERS} racing updates left the count at {count:?}: updates were lost"
        );
        Ok(())
    })
    .await
}

/// `delete_user` removes every kind of record of that user and nothing of another.
pub async fn delete_user<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("delete_user", async {
        let user = fresh_user("delete_user")?;
        let other = fresh_user("delete_user")?;
        let service = cheap_app_passwords()?;
        let mut app_ids = Vec::new();
        for who in [&user, &other] {
            store
                .update_user(who, |r| r.mfa = MfaState::Enabled)
                .await
                .or_fail("update_user")?;
            let app = app_method("app", 0)?;
            let app_id = app.id;
            app_ids.push(app_id);
            store
                .insert_method_capped(who, app, 5)
                .await
                .or_fail("insert_method_capped")?;
            let pending = PendingEnrollment {
                method: app_method("pending", 1)?,
                expires_at: at(600),
            };
            store.put_pending(who, pending).await.or_fail("put_pending")?;
            store
                .put_phone_challenge(who, challenge(app_id, tag(1), 0, 300))
                .await
                .or_fail("put_phone_challenge")?;
            store
                .attempt(
                    who,
                    AttemptTarget::Method(app_id),
                    at(0),
                    &ThrottleRule::default(),
                    |_| (Verdict::Reject, ()),
                )
                .await
                .or_fail("attempt")?;
            store
                .replace_recovery_codes(who, vec![tag(2), tag(3)])
                .await
                .or_fail("replace_recovery_codes")?;
            let record = app_password_record(&service, "mail")?;
            store
                .insert_app_password_capped(who, record, 40)
                .await
                .or_fail("insert_app_password_capped")?;
            let device = DeviceRecord {
                id: DeviceId::generate().map_err(|e| e.to_string())?,
                name: "laptop".to_owned(),
                token_hash: tag(4),
                created_at: at(0),
                last_used_at: at(0),
            };
            store
                .insert_device_capped(who, device, 20)
                .await
                .or_fail("insert_device_capped")?;
        }
        store.delete_user(&user).await.or_fail("delete_user")?;
        ensure!(
            store.get_user(&user).await.or_fail("get_user")?.is_none(),
            "the record survived delete_user"
        );
        ensure!(
            store
                .list_methods(&user)
                .await
                .or_fail("list_methods")?
                .is_empty(),
            "methods survived"
        );
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.is_none(),
            "the pending enrollment survived"
        );
        // The phone code is gone too: a phone registered again under the same id is shown none.
        let mut phone = phone_method(PhoneKind::Mobile, "+14155550100", 2)?;
        phone.id = app_ids[0];
        store
            .insert_method_capped(&user, phone, 1)
            .await
            .or_fail("insert_method_capped")?;
        let shown = store
            .attempt(
                &user,
                AttemptTarget::Method(app_ids[0]),
                at(1),
                &ThrottleRule::default(),
                |loaded| {
                    let code = match loaded.credential {
                        LoadedCredential::Method { challenge, .. } => challenge.is_some(),
                        _ => true,
                    };
                    (Verdict::Abort, code)
                },
            )
            .await
            .or_fail("attempt")?;
        ensure!(
            shown == Attempt::Aborted(false),
            "the phone challenge survived: {shown:?}"
        );
        store
            .remove_all_methods(&user)
            .await
            .or_fail("remove_all_methods")?;
        ensure!(
            store.throttle_state(&user).await.or_fail("throttle_state")? == ThrottleState::default(),
            "the failure counter survived"
        );
        ensure!(
            store
                .recovery_codes_left(&user)
                .await
                .or_fail("recovery_codes_left")?
                == 0,
            "recovery codes survived"
        );
        ensure!(
            store
                .list_app_passwords(&user)
                .await
                .or_fail("list_app_passwords")?
                .is_empty(),
            "app passwords survived"
        );
        ensure!(
            store
                .list_devices(&user)
                .await
                .or_fail("list_devices")?
                .is_empty(),
            "devices survived"
        );

        ensure!(
            store.get_user(&other).await.or_fail("get_user")?.is_some(),
            "delete_user removed another user"
        );
        ensure!(
            store.list_methods(&other).await.or_fail("list_methods")?.len() == 1,
            "another user's methods went"
        );
        ensure!(
            store
                .recovery_codes_left(&other)
                .await
                .or_fail("recovery_codes_left")?
                == 2,
            "another user's codes went"
        );
        ensure!(
            store.list_devices(&other).await.or_fail("list_devices")?.len() == 1,
            "another user's devices went"
        );
        Ok(())
    })
    .await
}
