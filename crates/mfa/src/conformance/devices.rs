//! Remembered devices: `insert_device_capped` (and its race), `find_device`, `touch_device`,
//! `list_devices`, `forget_device`, `forget_all_devices`.

use std::sync::Arc;

use super::{Failure, OrFail, RACERS, at, fresh_user, named, race, tag};
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
        for d in [&laptop, &phone] {
            let evicted = store
                .insert_device_capped(&user, d.clone(), 20)
                .await
                .or_fail("insert_device_capped")?;
            ensure!(evicted.is_empty(), "evicted {evicted:?} below the cap");
        }
        let duplicate = store.insert_device_capped(&user, laptop.clone(), 20).await;
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
            .insert_device_capped(&user, device(5, 20)?, 20)
            .await
            .or_fail("insert_device_capped")?;
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

fn device_record(n: u8, last_used: i64) -> Result<DeviceRecord, String> {
    Ok(DeviceRecord {
        id: DeviceId::generate().map_err(|e| e.to_string())?,
        name: format!("device {n}"),
        token_hash: tag(n),
        created_at: at(0),
        last_used_at: at(last_used),
    })
}

async fn listed_ids<S: Store>(store: &S, user: &crate::UserId) -> Result<Vec<DeviceId>, String> {
    Ok(store
        .list_devices(user)
        .await
        .or_fail("list_devices")?
        .iter()
        .map(|d| d.id)
        .collect())
}

/// `insert_device_capped` beyond the cap: the least recently used of the others go (by last use, then
/// the oldest inserted), never the new one, and their ids are returned least recently used first; a
/// duplicate changes nothing; another user's devices do not count.
pub async fn device_cap<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("device_cap", async {
        let user = fresh_user("device_cap")?;
        let other = fresh_user("device_cap")?;
        store
            .insert_device_capped(&other, device_record(9, 0)?, 1)
            .await
            .or_fail("insert_device_capped")?;
        // Last used at 30, 10, 20, 10: by last use the order is b, d (b inserted first), c, a.
        let a = device_record(1, 30)?;
        let b = device_record(2, 10)?;
        let c = device_record(3, 20)?;
        let d = device_record(4, 10)?;
        for device in [&a, &b, &c, &d] {
            let evicted = store
                .insert_device_capped(&user, device.clone(), 4)
                .await
                .or_fail("insert_device_capped")?;
            ensure!(evicted.is_empty(), "evicted {evicted:?} at or below the cap");
        }
        // A duplicate id: refused, and nothing is evicted.
        let duplicate = store.insert_device_capped(&user, a.clone(), 1).await;
        ensure!(
            matches!(duplicate, Err(StoreError::Duplicate)),
            "a duplicate id gave {duplicate:?}"
        );
        ensure!(
            listed_ids(&*store, &user).await? == [a.id, b.id, c.id, d.id],
            "a refused duplicate changed the devices"
        );
        // A new device, itself the least recently used of all, with the cap lowered to 2: it stays,
        // with the most recently used other (a); b, then d (equal last use, inserted later), then c go.
        let e = device_record(5, 0)?;
        let evicted = store
            .insert_device_capped(&user, e.clone(), 2)
            .await
            .or_fail("insert_device_capped")?;
        ensure!(
            evicted == [b.id, d.id, c.id],
            "evicted {evicted:?}, expected the least recently used b, d, c"
        );
        ensure!(
            listed_ids(&*store, &user).await? == [a.id, e.id],
            "the devices left are not a and the new one"
        );
        // A touch makes a device recently used: now e outlives a.
        store
            .touch_device(&user, e.id, at(40))
            .await
            .or_fail("touch_device")?;
        let f = device_record(6, 50)?;
        let evicted = store
            .insert_device_capped(&user, f.clone(), 2)
            .await
            .or_fail("insert_device_capped")?;
        ensure!(
            evicted == [a.id],
            "evicted {evicted:?}, expected a (touched e is newer)"
        );
        // A cap of 0 counts as 1: the new device stays alone.
        let g = device_record(7, 60)?;
        let evicted = store
            .insert_device_capped(&user, g.clone(), 0)
            .await
            .or_fail("insert_device_capped")?;
        ensure!(evicted == [e.id, f.id], "a cap of 0 evicted {evicted:?}");
        ensure!(
            listed_ids(&*store, &user).await? == [g.id],
            "a cap of 0 did not keep the new device alone"
        );
        ensure!(
            listed_ids(&*store, &other).await?.len() == 1,
            "another user's device was touched"
        );
        Ok(())
    })
    .await
}

/// `insert_device_capped` under a race: the user never has more than the cap, every evicted device is
/// reported exactly once, and every device is either kept or reported.
pub async fn device_cap_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("device_cap_race", async {
        const CAP: usize = 5;
        let user = fresh_user("device_cap_race")?;
        let devices: Vec<DeviceRecord> = (0..RACERS)
            .map(|i| device_record(u8::try_from(i).unwrap_or(u8::MAX), i64::try_from(i).unwrap_or(0)))
            .collect::<Result<_, _>>()?;
        let ids: Vec<DeviceId> = devices.iter().map(|d| d.id).collect();
        let shared = user.clone();
        let results = race(&store, move |store, i| {
            let (user, device) = (shared.clone(), devices[i].clone());
            async move { store.insert_device_capped(&user, device, CAP).await }
        })
        .await?;
        let kept = listed_ids(&*store, &user).await?;
        ensure!(
            kept.len() == CAP,
            "{RACERS} racing inserts with a cap of {CAP} left {} devices",
            kept.len()
        );
        let mut evicted: Vec<DeviceId> = results.into_iter().flatten().collect();
        let reported = evicted.len();
        evicted.sort();
        evicted.dedup();
        ensure!(evicted.len() == reported, "a device was reported evicted twice");
        ensure!(
            evicted.len() == RACERS - CAP,
            "{} evictions reported, expected {}",
            evicted.len(),
            RACERS - CAP
        );
        ensure!(
            ids.iter().all(|id| kept.contains(id) != evicted.contains(id)),
            "a device is both kept and reported evicted, or neither"
        );
        Ok(())
    })
    .await
}
