//! Send limits: `record_phone_send` (and its race).

use std::sync::Arc;
use std::time::Duration;

use super::{Failure, OrFail, RACERS, at, fresh_user, named, race};
use crate::{MethodId, PhoneNumber, PhoneSend, SendLimit, Store, UserId};

/// A random North American number, so that runs sharing a database do not share numbers.
fn fresh_number() -> Result<PhoneNumber, String> {
    let bytes = MethodId::generate().map_err(|e| e.to_string())?;
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes.as_bytes()[..8]);
    PhoneNumber::parse(&format!("+1{:010}", u64::from_be_bytes(n) % 10_000_000_000))
        .map_err(|e| e.to_string())
}

/// `record_phone_send`: limits per user, per number across users, the minimum interval (also when it
/// is longer than the window), and the sliding window.
pub async fn phone_sends<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("phone_sends", async {
        let limit = SendLimit {
            per_user: 3,
            per_number: 4,
            window: Duration::from_secs(600),
            min_interval: Duration::from_secs(30),
        };
        let alice = fresh_user("phone_sends")?;
        let bob = fresh_user("phone_sends")?;
        let number = fresh_number()?;
        let spare = fresh_number()?;
        // (what went wrong if the store answers otherwise, who, to which number, when, expected: `None`
        // recorded, `Some(t)` refused until `t`), in this order: each case counts against the limits
        // of those before it.
        let sends = [
            ("the first send was refused", &alice, &number, 0, None),
            (
                "a send within min_interval was allowed",
                &alice,
                &spare,
                29,
                Some(30),
            ),
            ("a send after min_interval was refused", &alice, &number, 30, None),
            ("the third send was refused", &alice, &spare, 60, None),
            // Alice's sends at 0, 30, 60: the one at 0 leaves the window at 600.
            (
                "a fourth send per user was allowed",
                &alice,
                &spare,
                90,
                Some(600),
            ),
            ("another user was refused", &bob, &number, 90, None),
            ("the number's fourth send was refused", &bob, &number, 120, None),
            // The number's sends at 0, 30, 90, 120: the one at 0 leaves the window at 600.
            (
                "a fifth send to one number was allowed",
                &bob,
                &number,
                150,
                Some(600),
            ),
            (
                "a refused send was recorded for the user",
                &bob,
                &spare,
                150,
                None,
            ),
            ("the window does not slide", &alice, &number, 601, None),
        ];
        for (what, who, to, when, expected) in sends {
            let answer = store
                .record_phone_send(who, to, at(when), &limit)
                .await
                .or_fail("record_phone_send")?;
            let expected = expected.map_or(PhoneSend::Recorded, |until| PhoneSend::Limited {
                until: at(until),
            });
            ensure!(
                answer == expected,
                "{what} (answered {answer:?}, expected {expected:?})"
            );
        }

        // An interval longer than the window still holds: the last send is kept as long as it
        // matters, whatever the window prunes.
        let long = SendLimit {
            per_user: 5,
            per_number: 10,
            window: Duration::from_secs(60),
            min_interval: Duration::from_secs(3_600),
        };
        let carol = fresh_user("phone_sends")?;
        let to = fresh_number()?;
        for (what, when, expected) in [
            ("the first send was refused", 1_000, None),
            (
                "a send 61 s later, within the interval, was allowed",
                1_061,
                Some(4_600),
            ),
            ("a send just inside the interval was allowed", 4_599, Some(4_600)),
            ("a send once the interval passed was refused", 4_600, None),
        ] {
            let answer = store
                .record_phone_send(&carol, &to, at(when), &long)
                .await
                .or_fail("record_phone_send")?;
            let expected = expected.map_or(PhoneSend::Recorded, |until| PhoneSend::Limited {
                until: at(until),
            });
            ensure!(
                answer == expected,
                "min_interval beyond the window: {what} (answered {answer:?}, expected {expected:?})"
            );
        }
        Ok(())
    })
    .await
}

/// `record_phone_send` under a race of many users on one number: never more than `per_number`.
pub async fn phone_send_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("phone_send_race", async {
        let number = fresh_number()?;
        let users: Vec<UserId> = (0..RACERS)
            .map(|_| fresh_user("phone_send_race"))
            .collect::<Result<_, _>>()?;
        let users = Arc::new(users);
        let limit = SendLimit {
            per_user: 5,
            per_number: 10,
            window: Duration::from_secs(600),
            min_interval: Duration::from_secs(30),
        };
        let results = race(&store, move |store, i| {
            let users = Arc::clone(&users);
            let number = number.clone();
            async move { store.record_phone_send(&users[i], &number, at(0), &limit).await }
        })
        .await?;
        let recorded = results.iter().filter(|answer| answer.is_recorded()).count();
        ensure!(
            recorded == 10,
            "{RACERS} users racing on one number with per_number 10: {recorded} allowed"
        );
        Ok(())
    })
    .await
}
