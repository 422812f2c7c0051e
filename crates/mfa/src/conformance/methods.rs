//! Methods: `list_methods`, `get_user_and_methods`, `insert_method_capped` (and its race), `remove_method`, `remove_all_methods`.

use std::sync::Arc;

use super::{Failure, OrFail, RACERS, app_method, count_true, fresh_user, named, phone_method, race};
use crate::{MethodId, MethodKind, PhoneKind, Store, StoreError};

/// Methods: insertion order, caps per kind, duplicates refused, removal, isolation between users.
pub async fn methods<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("methods", async {
        let user = fresh_user("methods")?;
        let first = app_method("first", 0)?;
        let second = app_method("second", 10)?;
        let mobile = phone_method(PhoneKind::Mobile, "+14155550100", 20)?;
        // (what went wrong if the store answers otherwise, method, cap, expected), in this order.
        let inserts = [
            ("the first app was refused below the cap", first.clone(), 2, true),
            (
                "the second app was refused below the cap",
                second.clone(),
                2,
                true,
            ),
            (
                "a third app was inserted with cap 2",
                app_method("third", 30)?,
                2,
                false,
            ),
            (
                "a phone was refused because of apps: caps are per kind",
                mobile.clone(),
                1,
                true,
            ),
            (
                "a second mobile was inserted with cap 1",
                phone_method(PhoneKind::Mobile, "+14155550101", 40)?,
                1,
                false,
            ),
            (
                "an office phone was refused because of the mobile: caps are per kind",
                phone_method(PhoneKind::Office, "+14155550102", 50)?,
                1,
                true,
            ),
        ];
        for (what, method, cap, expected) in inserts {
            let inserted = store
                .insert_method_capped(&user, method, cap)
                .await
                .or_fail("insert")?;
            ensure!(inserted == expected, "{what}");
        }
        let duplicate = store.insert_method_capped(&user, first.clone(), 9).await;
        ensure!(
            matches!(duplicate, Err(StoreError::Duplicate)),
            "a duplicate id gave {duplicate:?}, not Duplicate"
        );

        let listed = store.list_methods(&user).await.or_fail("list_methods")?;
        let ids: Vec<MethodId> = listed.iter().map(|m| m.id).collect();
        ensure!(
            ids.len() == 4 && ids[..3] == [first.id, second.id, mobile.id],
            "list_methods is not oldest first: {ids:?}"
        );
        ensure!(
            listed[0] == first && listed[2] == mobile,
            "a listed method differs from what was inserted"
        );
        ensure!(
            listed[3].kind() == MethodKind::Phone(PhoneKind::Office),
            "the office phone came back as {:?}",
            listed[3].kind()
        );

        // Both reads at once answer what each answers alone: the methods with a record (set here) and
        // without one, and for a user the store has never seen.
        for with_record in [false, true] {
            if with_record {
                store
                    .update_user(&user, |r| r.blocked_by_admin = true)
                    .await
                    .or_fail("update_user")?;
            }
            let both = store
                .get_user_and_methods(&user)
                .await
                .or_fail("get_user_and_methods")?;
            let record = store.get_user(&user).await.or_fail("get_user")?;
            ensure!(
                both.0 == record && both.1 == listed,
                "get_user_and_methods answered {both:?}, not get_user's {record:?} and list_methods' {listed:?}"
            );
        }

        let other = fresh_user("methods")?;
        ensure!(
            store
                .list_methods(&other)
                .await
                .or_fail("list_methods")?
                .is_empty(),
            "methods leaked to another user"
        );
        let nothing = store
            .get_user_and_methods(&other)
            .await
            .or_fail("get_user_and_methods")?;
        ensure!(
            nothing.0.is_none() && nothing.1.is_empty(),
            "get_user_and_methods of an unknown user answered {nothing:?}"
        );
        // (what went wrong if the store answers otherwise, whose, method id, expected), in this order.
        let removals = [
            ("removed another user's method", &other, first.id, None),
            ("remove_method missed", &user, second.id, Some(&second)),
            ("removed twice", &user, second.id, None),
        ];
        for (what, who, id, expected) in removals {
            let removed = store.remove_method(who, id).await.or_fail("remove_method")?;
            ensure!(
                removed.as_ref() == expected,
                "{what}: remove_method returned {removed:?}"
            );
        }
        ensure!(
            store
                .insert_method_capped(&user, app_method("again", 60)?, 2)
                .await
                .or_fail("insert")?,
            "a removed method still counts toward the cap"
        );
        ensure!(
            store
                .remove_all_methods(&user)
                .await
                .or_fail("remove_all_methods")?
                == 4,
            "remove_all_methods miscounted"
        );
        ensure!(
            store
                .list_methods(&user)
                .await
                .or_fail("list_methods")?
                .is_empty(),
            "methods survived remove_all_methods"
        );
        Ok(())
    })
    .await
}

/// `insert_method_capped` under a race: never more than the cap.
pub async fn methods_cap_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("methods_cap_race", async {
        let user = fresh_user("methods_cap_race")?;
        let shared = user.clone();
        let results = race(&store, move |store, i| {
            let user = shared.clone();
            let method = app_method(&format!("app {i}"), i as i64);
            async move {
                match method {
                    Ok(method) => store.insert_method_capped(&user, method, 5).await,
                    Err(e) => Err(StoreError::Corrupt(e)),
                }
            }
        })
        .await?;
        let listed = store.list_methods(&user).await.or_fail("list_methods")?.len();
        ensure!(
            count_true(&results) == 5 && listed == 5,
            "{RACERS} racing inserts with cap 5: {} accepted, {listed} stored",
            count_true(&results)
        );
        Ok(())
    })
    .await
}
