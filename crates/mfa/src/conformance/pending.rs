//! Pending enrollments: `put_pending`, `get_pending`, `take_pending` (and its race),
//! `update_pending_secret` (and its race with `take_pending`).

use std::sync::Arc;

use super::{Failure, OrFail, RACERS, app_method, at, count_true, fresh_user, named, phone_method, race};
use crate::{Credential, KeyId, PendingEnrollment, PhoneKind, SealedSecret, Store};

/// Pending enrollments: one per user, replaced by the next, taken only by their id, once.
pub async fn pending<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("pending", async {
        let user = fresh_user("pending")?;
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.is_none(),
            "an unknown user has a pending enrollment"
        );
        let first = PendingEnrollment {
            method: app_method("first", 0)?,
            expires_at: at(600),
        };
        let second = PendingEnrollment {
            method: phone_method(PhoneKind::Mobile, "+14155550100", 5)?,
            expires_at: at(605),
        };
        // (what went wrong if the store answers otherwise, the enrollment put and then read back).
        let puts = [
            ("get_pending differs from what was put", &first),
            ("put_pending did not replace", &second),
        ];
        for (what, put) in puts {
            store
                .put_pending(&user, put.clone())
                .await
                .or_fail("put_pending")?;
            ensure!(
                store.get_pending(&user).await.or_fail("get_pending")?.as_ref() == Some(put),
                "{what}"
            );
        }
        let other = fresh_user("pending")?;
        // (what went wrong if the store answers otherwise, whose, method id, expected), in this order.
        let takes = [
            ("took a replaced enrollment", &user, first.method.id, None),
            ("took another user's enrollment", &other, second.method.id, None),
            ("take_pending missed", &user, second.method.id, Some(&second)),
            ("took one enrollment twice", &user, second.method.id, None),
        ];
        for (what, who, id, expected) in takes {
            let taken = store.take_pending(who, id).await.or_fail("take_pending")?;
            ensure!(taken.as_ref() == expected, "{what}");
        }
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.is_none(),
            "take_pending left it in place"
        );
        Ok(())
    })
    .await
}

/// `take_pending` under a race: exactly one racer gets it.
pub async fn pending_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("pending_race", async {
        let user = fresh_user("pending_race")?;
        let pending = PendingEnrollment {
            method: app_method("app", 0)?,
            expires_at: at(600),
        };
        let id = pending.method.id;
        store.put_pending(&user, pending).await.or_fail("put_pending")?;
        let shared = user.clone();
        let results = race(&store, move |store, _| {
            let user = shared.clone();
            async move { store.take_pending(&user, id).await.map(|p| p.is_some()) }
        })
        .await?;
        ensure!(
            count_true(&results) == 1,
            "{RACERS} racers took the pending enrollment {} times",
            count_true(&results)
        );
        Ok(())
    })
    .await
}

fn with_secret(pending: &PendingEnrollment, secret: &SealedSecret) -> PendingEnrollment {
    let mut expected = pending.clone();
    if let Credential::AuthenticatorApp { secret: stored, .. } = &mut expected.method.credential {
        *stored = secret.clone();
    }
    expected
}

/// `update_pending_secret`: replaces the secret of the pending app registration with that id, and
/// nothing else; refuses another id, a phone's registration, another user's, and one taken (it is not
/// brought back).
pub async fn pending_secret<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("pending_secret", async {
        let user = fresh_user("pending_secret")?;
        let other = fresh_user("pending_secret")?;
        let new_secret = SealedSecret::from_parts(KeyId(2), vec![0x5C; 61]);
        let app = PendingEnrollment {
            method: app_method("app", 0)?,
            expires_at: at(600),
        };
        let id = app.method.id;
        ensure!(
            !store
                .update_pending_secret(&user, id, new_secret.clone())
                .await
                .or_fail("update_pending_secret")?,
            "updated the pending registration of a user without one"
        );
        store
            .put_pending(&user, app.clone())
            .await
            .or_fail("put_pending")?;
        let wrong_id = app_method("other", 0)?.id;
        // (what went wrong if the store answers otherwise, whose, method id).
        let refusals = [
            ("updated a registration under another id", &user, wrong_id),
            ("updated another user's registration", &other, id),
        ];
        for (what, who, method) in refusals {
            let updated = store
                .update_pending_secret(who, method, new_secret.clone())
                .await
                .or_fail("update_pending_secret")?;
            ensure!(!updated, "{what}");
        }
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.as_ref() == Some(&app),
            "a refused update changed the registration"
        );
        ensure!(
            store
                .update_pending_secret(&user, id, new_secret.clone())
                .await
                .or_fail("update_pending_secret")?,
            "update_pending_secret refused the pending app registration"
        );
        let expected = with_secret(&app, &new_secret);
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.as_ref() == Some(&expected),
            "update_pending_secret did not store the secret alone"
        );
        ensure!(
            store
                .take_pending(&user, id)
                .await
                .or_fail("take_pending")?
                .as_ref()
                == Some(&expected),
            "take_pending did not return the updated registration"
        );
        ensure!(
            !store
                .update_pending_secret(&user, id, new_secret.clone())
                .await
                .or_fail("update_pending_secret")?,
            "updated a registration already taken"
        );
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.is_none(),
            "update_pending_secret brought back a taken registration"
        );
        let phone = PendingEnrollment {
            method: phone_method(PhoneKind::Mobile, "+14155550100", 0)?,
            expires_at: at(600),
        };
        let phone_id = phone.method.id;
        store
            .put_pending(&user, phone.clone())
            .await
            .or_fail("put_pending")?;
        ensure!(
            !store
                .update_pending_secret(&user, phone_id, new_secret)
                .await
                .or_fail("update_pending_secret")?,
            "gave a phone's registration a secret"
        );
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.as_ref() == Some(&phone),
            "a refused update changed a phone's registration"
        );
        Ok(())
    })
    .await
}

/// `update_pending_secret` racing `take_pending`: exactly one take gets the registration, with the
/// first secret or one of the updates', and no update brings it back afterwards.
pub async fn pending_secret_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("pending_secret_race", async {
        let user = fresh_user("pending_secret_race")?;
        let pending = PendingEnrollment {
            method: app_method("app", 0)?,
            expires_at: at(600),
        };
        let id = pending.method.id;
        store
            .put_pending(&user, pending.clone())
            .await
            .or_fail("put_pending")?;
        let secret = |i: usize| SealedSecret::from_parts(KeyId(2), vec![u8::try_from(i).unwrap_or(0); 60]);
        let shared = user.clone();
        let results = race(&store, move |store, i| {
            let user = shared.clone();
            async move {
                if i % 2 == 0 {
                    let taken = store.take_pending(&user, id).await?;
                    Ok(taken.map(|p| p.method.credential))
                } else {
                    store.update_pending_secret(&user, id, secret(i)).await?;
                    Ok(None)
                }
            }
        })
        .await?;
        let taken: Vec<Credential> = results.into_iter().flatten().collect();
        ensure!(
            taken.len() == 1,
            "{RACERS} racers took the pending registration {} times",
            taken.len()
        );
        let allowed = std::iter::once(pending.method.credential.clone()).chain(
            (0..RACERS)
                .filter(|i| i % 2 == 1)
                .map(|i| with_secret(&pending, &secret(i)).method.credential),
        );
        let mut allowed = allowed;
        ensure!(
            allowed.any(|c| Some(&c) == taken.first()),
            "the registration taken holds a secret no one wrote"
        );
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.is_none(),
            "an update brought the taken registration back"
        );
        Ok(())
    })
    .await
}
