//! Remembered devices: `insert_device`, `find_device`, `touch_device`, `list_devices`, `forget_device`,
//! `forget_all_devices`.

use std::sync::Arc;

use super::{Failure, OrFail, at, fresh_user, named, tag};
use crate::{DeviceId, DeviceRecord, Store, StoreError};

/// Remembered devices: found by token hash for their user only, touched, listed, forgotten.
pub async fn devices<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("devices", async {
        let user = fresh_user("devices")?;
        let other = fresh_user("devices")?;
        let device = |n: u8, created: i64| -> Result<DeviceRecord, String> {
            Ok(DeviceRecord {
                id: DeviceId::generate().map_err(|e| e.to_string())?,
                name: format!("device {n}"),
                token_hash: tag(n),
                created_at: at(created),
                last_used_at: at(created),
            })
        };
        let laptop = device(1, 0)?;
        let phone = device(2, 10)?;
        store
            .insert_device(&user, laptop.clone())
            .await
            .or_fail("insert_device")?;
        store
            .insert_device(&user, phone.clone())
            .await
            .or_fail("insert_device")?;
        let duplicate = store.insert_device(&user, laptop.clone()).await;
        ensure!(
            matches!(duplicate, Err(StoreError::Duplicate)),
            "a duplicate id gave {duplicate:?}"
        );
        // (what went wrong if the store answers otherwise, whose, token hash, expected).
        let finds = [
            ("find_device missed", &user, tag(1), Some(&laptop)),
            ("a device was found for another user", &other, tag(1), None),
            ("an unknown token was found", &user, tag(3), None),
        ];
        for (what, who, token_hash, expected) in finds {
            let found = store.find_device(who, &token_hash).await.or_fail("find_device")?;
            ensure!(found.as_ref() == expected, "{what}");
        }
        // (what went wrong if the store answers otherwise, whose, expected), in this order.
        let touches = [
            ("touch refused", &user, true),
            ("touched another user's device", &other, false),
        ];
        for (what, who, expected) in touches {
            let touched = store
                .touch_device(who, laptop.id, at(500))
                .await
                .or_fail("touch_device")?;
            ensure!(touched == expected, "{what}");
        }
        let found = store.find_device(&user, &tag(1)).await.or_fail("find_device")?;
        ensure!(
            found.as_ref().map(|d| d.last_used_at) == Some(at(500)),
            "touch_device did not store last_used_at: {found:?}"
        );
        let listed: Vec<DeviceId> = store
            .list_devices(&user)
            .await
            .or_fail("list_devices")?
            .iter()
            .map(|d| d.id)
            .collect();
        ensure!(
            listed == [laptop.id, phone.id],
            "list_devices is not oldest first"
        );
        // (what went wrong if the store answers otherwise, whose, expected), in this order.
        let forgets = [
            ("forgot another user's device", &other, false),
            ("forget refused", &user, true),
            ("forgot twice", &user, false),
        ];
        for (what, who, expected) in forgets {
            let forgotten = store
                .forget_device(who, phone.id)
                .await
                .or_fail("forget_device")?;
            ensure!(forgotten == expected, "{what}");
        }
        ensure!(
            store
                .find_device(&user, &tag(2))
                .await
                .or_fail("find_device")?
                .is_none(),
            "a forgotten device was found"
        );
        store
            .insert_device(&user, device(5, 20)?)
            .await
            .or_fail("insert_device")?;
        ensure!(
            store
                .forget_all_devices(&user)
                .await
                .or_fail("forget_all_devices")?
                == 2,
            "forget_all_devices miscounted"
        );
        ensure!(
            store
                .list_devices(&user)
                .await
                .or_fail("list_devices")?
                .is_empty(),
            "devices survived forget_all_devices"
        );
        Ok(())
    })
    .await
}
