//! Pending enrollments: `put_pending`, `get_pending`, `take_pending` (and its race).

use std::sync::Arc;

use super::{Failure, OrFail, RACERS, app_method, at, count_true, fresh_user, named, phone_method, race};
use crate::{PendingEnrollment, PhoneKind, Store};

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
