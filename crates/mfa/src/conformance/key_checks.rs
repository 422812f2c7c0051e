//! Key check values: `key_checks`, `record_key_checks` (set-if-absent) and its race.
//!
//! The record is the store's, not a user's: these checks use random key ids, and take the tag
//! secret's check as they find it, so they pass on a database that other checks or runs share.

use std::sync::Arc;

use super::{Failure, OrFail, RACERS, named, race, tag};
use crate::{CheckedKey, KeyCheck, KeyId, MethodId, Store, Tag};

/// A key id no other check or run uses (32 random bits).
fn fresh_key() -> Result<CheckedKey, String> {
    let bytes = MethodId::generate().map_err(|e| e.to_string())?;
    let [a, b, c, d, ..] = *bytes.as_bytes();
    Ok(CheckedKey::Ring(KeyId(u32::from_be_bytes([a, b, c, d]))))
}

fn check(key: CheckedKey, value: Tag) -> KeyCheck {
    KeyCheck { key, value }
}

/// Checks are recorded when absent, never replaced, returned in the order asked, and listed.
pub async fn key_checks<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("key_checks", async {
        let (a, b, c) = (fresh_key()?, fresh_key()?, fresh_key()?);
        let listed = |all: &[KeyCheck], key: CheckedKey| {
            all.iter().filter(|k| k.key == key).copied().collect::<Vec<_>>()
        };
        let before = store.key_checks().await.or_fail("key_checks")?;
        ensure!(listed(&before, a).is_empty(), "a key never recorded is listed");
        let first = vec![check(a, tag(1)), check(b, tag(2))];
        let recorded = store
            .record_key_checks(first.clone())
            .await
            .or_fail("record_key_checks")?;
        ensure!(
            recorded == first,
            "record_key_checks did not return the checks it recorded"
        );
        // A second value for `a` does not replace the first; `c` is new; the order is the caller's.
        let second = vec![check(c, tag(4)), check(a, tag(3))];
        let recorded = store
            .record_key_checks(second)
            .await
            .or_fail("record_key_checks")?;
        ensure!(
            recorded == vec![check(c, tag(4)), check(a, tag(1))],
            "record_key_checks replaced a recorded check or answered out of order"
        );
        let all = store.key_checks().await.or_fail("key_checks")?;
        for expected in [check(a, tag(1)), check(b, tag(2)), check(c, tag(4))] {
            ensure!(
                listed(&all, expected.key) == vec![expected],
                "key_checks does not list {} once with its recorded value",
                expected.key
            );
        }
        ensure!(
            store
                .record_key_checks(Vec::new())
                .await
                .or_fail("record_key_checks")?
                .is_empty(),
            "record_key_checks of nothing returned something"
        );
        // The tag secret's check: one per store, whatever this run proposes.
        let found = listed(&all, CheckedKey::TagSecret);
        ensure!(found.len() <= 1, "key_checks lists the tag secret twice");
        let proposed = check(CheckedKey::TagSecret, tag(5));
        let recorded = store
            .record_key_checks(vec![proposed])
            .await
            .or_fail("record_key_checks")?;
        let expected = found.first().copied().unwrap_or(proposed);
        ensure!(
            recorded == vec![expected],
            "the tag secret's check is not the one recorded first"
        );
        let again = store
            .record_key_checks(vec![check(CheckedKey::TagSecret, tag(6))])
            .await
            .or_fail("record_key_checks")?;
        ensure!(again == vec![expected], "the tag secret's check was replaced");
        let all = store.key_checks().await.or_fail("key_checks")?;
        ensure!(
            listed(&all, CheckedKey::TagSecret) == vec![expected],
            "key_checks does not list the tag secret's recorded check"
        );
        Ok(())
    })
    .await
}

/// Racing `record_key_checks` with different values for one key: all get the same one, one of theirs.
pub async fn key_check_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("key_check_race", async {
        let key = fresh_key()?;
        let results = race(&store, move |store, i| async move {
            let value = tag(u8::try_from(i).unwrap_or(u8::MAX).wrapping_add(10));
            store.record_key_checks(vec![check(key, value)]).await
        })
        .await?;
        let Some(winner) = results.first().and_then(|r| r.first()).copied() else {
            return Err("record_key_checks returned nothing".to_owned());
        };
        ensure!(
            results.iter().all(|r| r == &vec![winner]),
            "{RACERS} racers were answered with different checks for one key"
        );
        let proposed =
            (0..RACERS).any(|i| tag(u8::try_from(i).unwrap_or(u8::MAX).wrapping_add(10)) == winner.value);
        ensure!(
            proposed && winner.key == key,
            "the recorded check is none of the proposed ones"
        );
        let all = store.key_checks().await.or_fail("key_checks")?;
        ensure!(
            all.iter().filter(|k| k.key == key).copied().collect::<Vec<_>>() == vec![winner],
            "key_checks does not list the race's winner once"
        );
        Ok(())
    })
    .await
}
