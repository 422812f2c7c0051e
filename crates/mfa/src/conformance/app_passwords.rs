//! App passwords: `insert_app_password_capped` (and its race), `list_app_passwords`, `update_app_password`,
//! `delete_app_password`, `delete_all_app_passwords`.

use std::sync::Arc;

use mfa_app_password::AppPasswordRecord;

use super::{
    Failure, OrFail, RACERS, T0, app_password_record, cheap_app_passwords, count_true, fresh_user, named,
    race,
};
use crate::{Store, StoreError};

/// App passwords: the cap, insertion order, updates, deletes.
pub async fn app_passwords<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("app_passwords", async {
        let service = cheap_app_passwords()?;
        let user = fresh_user("app_passwords")?;
        let a = app_password_record(&service, "iPhone mail")?;
        let b = app_password_record(&service, "Thunderbird")?;
        // (what went wrong if the store answers otherwise, record, expected), in this order, cap 2.
        let inserts = [
            ("the first was refused below the cap", a.clone(), true),
            ("the second was refused below the cap", b.clone(), true),
            ("passed the cap", app_password_record(&service, "third")?, false),
        ];
        for (what, record, expected) in inserts {
            let inserted = store
                .insert_app_password_capped(&user, record, 2)
                .await
                .or_fail("insert")?;
            ensure!(inserted == expected, "{what}");
        }
        let duplicate = store.insert_app_password_capped(&user, a.clone(), 9).await;
        ensure!(
            matches!(duplicate, Err(StoreError::Duplicate)),
            "a duplicate id gave {duplicate:?}"
        );
        let listed = store
            .list_app_passwords(&user)
            .await
            .or_fail("list_app_passwords")?;
        ensure!(
            listed == [a.clone(), b.clone()],
            "list_app_passwords is not what was inserted, oldest first"
        );

        let mut used = a.clone();
        used.mark_used(T0.as_secs().unsigned_abs() + 60);
        ensure!(
            store
                .update_app_password(&user, used.clone())
                .await
                .or_fail("update_app_password")?,
            "update refused"
        );
        ensure!(
            store.list_app_passwords(&user).await.or_fail("list")?[0] == used,
            "the update was not stored"
        );
        let other = fresh_user("app_passwords")?;
        ensure!(
            !store
                .update_app_password(&other, used.clone())
                .await
                .or_fail("update_app_password")?,
            "updated another user's"
        );
        ensure!(
            store.list_app_passwords(&other).await.or_fail("list")?.is_empty(),
            "update_app_password created a record"
        );
        // (what went wrong if the store answers otherwise, whose, expected), in this order, all of `a`.
        let deletes = [
            ("deleted another user's", &other, false),
            ("delete refused", &user, true),
            ("deleted twice", &user, false),
        ];
        for (what, who, expected) in deletes {
            let deleted = store
                .delete_app_password(who, a.id())
                .await
                .or_fail("delete_app_password")?;
            ensure!(deleted == expected, "{what}");
        }
        ensure!(
            !store
                .update_app_password(&user, used)
                .await
                .or_fail("update_app_password")?,
            "update re-created a deleted record"
        );
        ensure!(
            store
                .insert_app_password_capped(&user, app_password_record(&service, "new")?, 2)
                .await
                .or_fail("insert")?,
            "a deleted one still counts"
        );
        ensure!(
            store
                .delete_all_app_passwords(&user)
                .await
                .or_fail("delete_all")?
                == 2,
            "delete_all miscounted"
        );
        ensure!(
            store.list_app_passwords(&user).await.or_fail("list")?.is_empty(),
            "delete_all left records"
        );
        Ok(())
    })
    .await
}

/// `insert_app_password_capped` under a race: never more than the cap.
pub async fn app_password_cap_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("app_password_cap_race", async {
        let service = cheap_app_passwords()?;
        let user = fresh_user("app_password_cap_race")?;
        let records: Vec<AppPasswordRecord> = (0..RACERS)
            .map(|i| app_password_record(&service, &format!("client {i}")))
            .collect::<Result<_, _>>()?;
        let records = Arc::new(records);
        let shared = user.clone();
        let results = race(&store, move |store, i| {
            let user = shared.clone();
            let records = Arc::clone(&records);
            async move {
                store
                    .insert_app_password_capped(&user, records[i].clone(), 3)
                    .await
            }
        })
        .await?;
        let stored = store.list_app_passwords(&user).await.or_fail("list")?.len();
        ensure!(
            count_true(&results) == 3 && stored == 3,
            "{RACERS} racing inserts with cap 3: {} accepted, {stored} stored",
            count_true(&results)
        );
        Ok(())
    })
    .await
}
