//! Passkeys: the outstanding challenge, loaded with the method and used once by the attempt that
//! answers it (right or wrong), the credential replaced on success; renaming a method.

use std::sync::Arc;

use super::{Failure, OrFail, RACERS, at, count_true, fresh_user, named, race};
use crate::{
    Attempt, AttemptTarget, Consume, Credential, LoadedCredential, MethodId, MethodRecord, PasskeyChallenge,
    Store, ThrottleRule, UserId, Verdict,
};

fn passkey(created: i64) -> Result<MethodRecord, String> {
    Ok(MethodRecord {
        id: MethodId::generate().map_err(|e| e.to_string())?,
        name: "YubiKey".to_owned(),
        created_at: at(created),
        credential: Credential::Passkey {
            credential_id: "AAECAwQFBgcICQ".to_owned(),
            credential: r#"{"counter":1}"#.to_owned(),
        },
    })
}

fn challenge(created: i64, state: &str) -> PasskeyChallenge {
    PasskeyChallenge {
        state: state.to_owned(),
        created_at: at(created),
        expires_at: at(created + 300),
    }
}

fn lenient() -> ThrottleRule {
    ThrottleRule {
        free_attempts: 100,
        ..ThrottleRule::default()
    }
}

type Seen = (Option<MethodRecord>, Option<PasskeyChallenge>);

async fn attempt<S: Store>(
    store: &S,
    user: &UserId,
    method: MethodId,
    verdict: Verdict,
) -> Result<Attempt<Seen>, String> {
    store
        .attempt(
            user,
            AttemptTarget::Passkey(method),
            at(10),
            &lenient(),
            |loaded| {
                let seen = match loaded.credential {
                    LoadedCredential::Passkey { method, challenge } => (method.cloned(), challenge.cloned()),
                    _ => (None, None),
                };
                (verdict, seen)
            },
        )
        .await
        .or_fail("attempt")
}

/// The challenge is shown with the method; a rejection and an acceptance each use it up, an abort
/// leaves it; an acceptance stores the new credential text; a new challenge replaces the old one.
pub async fn passkey_challenges<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("passkey_challenges", async {
        let user = fresh_user("passkey_challenges")?;
        let key = passkey(0)?;
        let id = key.id;
        store.insert_method_capped(&user, key.clone(), 10).await.or_fail("insert_method_capped")?;
        let first = challenge(0, r#"{"challenge":"first"}"#);
        let second = challenge(1, r#"{"challenge":"second"}"#);
        store.put_passkey_challenge(&user, first).await.or_fail("put_passkey_challenge")?;
        store.put_passkey_challenge(&user, second.clone()).await.or_fail("put_passkey_challenge")?;

        let aborted = attempt(&*store, &user, id, Verdict::Abort).await?;
        ensure!(
            matches!(&aborted, Attempt::Aborted((Some(m), Some(c))) if *m == key && *c == second),
            "the check was not shown the method and the latest challenge: {aborted:?}"
        );
        let rejected = attempt(&*store, &user, id, Verdict::Reject).await?;
        ensure!(
            matches!(&rejected, Attempt::Rejected { value: (_, Some(c)), failures: 1 } if *c == second),
            "an abort used up the challenge, or the rejection was not counted: {rejected:?}"
        );
        let after = attempt(&*store, &user, id, Verdict::Abort).await?;
        ensure!(
            matches!(&after, Attempt::Aborted((Some(_), None))),
            "a rejection did not use up the challenge: {after:?}"
        );

        store.put_passkey_challenge(&user, challenge(2, "{}")).await.or_fail("put_passkey_challenge")?;
        let updated = r#"{"counter":2}"#.to_owned();
        let accepted = attempt(&*store, &user, id, Verdict::Accept(Consume::Passkey { credential: updated.clone() })).await?;
        ensure!(matches!(accepted, Attempt::Accepted(_)), "an acceptance: {accepted:?}");
        let methods = store.list_methods(&user).await.or_fail("list_methods")?;
        ensure!(
            matches!(&methods[..], [MethodRecord { credential: Credential::Passkey { credential, .. }, .. }] if *credential == updated),
            "the credential was not replaced: {methods:?}"
        );
        ensure!(
            store.throttle_state(&user).await.or_fail("throttle_state")?.failures == 0,
            "an acceptance did not reset the failures"
        );
        let again = attempt(&*store, &user, id, Verdict::Accept(Consume::Passkey { credential: updated })).await?;
        ensure!(
            matches!(again, Attempt::Rejected { value: (_, None), .. }),
            "a used challenge was accepted again: {again:?}"
        );
        // Another user's challenge is never shown.
        let other = fresh_user("passkey_challenges")?;
        store.put_passkey_challenge(&other, challenge(3, "{}")).await.or_fail("put_passkey_challenge")?;
        let shown = attempt(&*store, &user, id, Verdict::Abort).await?;
        ensure!(matches!(shown, Attempt::Aborted((_, None))), "another user's challenge was shown: {shown:?}");
        Ok(())
    })
    .await
}

/// Of racing answers to one passkey challenge, one is accepted.
pub async fn passkey_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("passkey_race", async {
        let user = fresh_user("passkey_race")?;
        let key = passkey(0)?;
        let id = key.id;
        store
            .insert_method_capped(&user, key, 10)
            .await
            .or_fail("insert_method_capped")?;
        store
            .put_passkey_challenge(&user, challenge(0, "{}"))
            .await
            .or_fail("put_passkey_challenge")?;
        let results = race(&store, |store, i| {
            let user = user.clone();
            async move {
                let credential = format!(r#"{{"counter":{}}}"#, i + 2);
                let attempt = store
                    .attempt(&user, AttemptTarget::Passkey(id), at(10), &lenient(), |_| {
                        (Verdict::Accept(Consume::Passkey { credential }), ())
                    })
                    .await?;
                Ok(matches!(attempt, Attempt::Accepted(())))
            }
        })
        .await?;
        ensure!(
            count_true(&results) == 1,
            "{} of {RACERS} racing answers to one challenge were accepted",
            count_true(&results)
        );
        Ok(())
    })
    .await
}

/// A method is renamed in place; an unknown method, or another user's, is not.
pub async fn rename_method<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("rename_method", async {
        let user = fresh_user("rename_method")?;
        let key = passkey(0)?;
        store
            .insert_method_capped(&user, key.clone(), 10)
            .await
            .or_fail("insert_method_capped")?;
        ensure!(
            store
                .rename_method(&user, key.id, "Blue key".to_owned())
                .await
                .or_fail("rename_method")?,
            "rename_method missed the method"
        );
        let methods = store.list_methods(&user).await.or_fail("list_methods")?;
        ensure!(
            methods.len() == 1 && methods[0].name == "Blue key" && methods[0].credential == key.credential,
            "the rename changed something else or nothing: {methods:?}"
        );
        let other = fresh_user("rename_method")?;
        ensure!(
            !store
                .rename_method(&other, key.id, "x".to_owned())
                .await
                .or_fail("rename_method")?,
            "another user's method was renamed"
        );
        let unknown = MethodId::generate().map_err(|e| e.to_string())?;
        ensure!(
            !store
                .rename_method(&user, unknown, "x".to_owned())
                .await
                .or_fail("rename_method")?,
            "an unknown method was renamed"
        );
        Ok(())
    })
    .await
}
