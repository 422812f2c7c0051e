//! A store that fails or changes underneath a flow: every flow answers with a typed error (never a
//! panic), nothing is sent when the send could not be recorded, a counted attempt stays counted, and
//! an app password revoked while it is being checked does not sign in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use mfa::store::{
    Attempt, AttemptTarget, DeviceRecord, Loaded, MethodRecord, PendingEnrollment, PhoneChallenge,
    SealedSecret, Tag, ThrottleState, Verdict,
};
use mfa::{
    AppPasswordId, AppPasswordRecord, Channel, DeviceId, Error, EventKind, KeyId, KeyRing, ManualClock,
    MemoryStore, MethodId, MfaState, PhoneKind, PhoneNumber, SendLimit, SignInContext, Store, StoreError,
    ThrottleRule, UnixTime, UserId, UserRecord,
};

const MOBILE: &str = "+14155550100";

/// MemoryStore with faults on demand: fail the calls named in `failing` (`"*"`: all), and revoke an
/// app password right after `list_app_passwords` read it (a revocation racing a verification).
/// Also fails only the k-th call from now on (`fail_call`).
#[derive(Debug, Clone, Default)]
struct FaultyStore {
    inner: MemoryStore,
    failing: Arc<Mutex<Vec<&'static str>>>,
    revoke_after_list: Arc<Mutex<Option<(UserId, AppPasswordId)>>>,
    nth: Arc<Mutex<NthCall>>,
}

/// Fail the `fail_at`-th call counted since it was set (0: none); `fired` tells whether it did.
#[derive(Debug, Default)]
struct NthCall {
    calls: usize,
    fail_at: usize,
    fired: bool,
}

impl FaultyStore {
    fn fail(&self, calls: &[&'static str]) {
        *self.failing.lock().unwrap() = calls.to_vec();
    }

    /// From now on fail the `k`-th store call (0: none). Returns whether the previous setting fired.
    fn fail_call(&self, k: usize) -> bool {
        let mut nth = self.nth.lock().unwrap();
        let fired = nth.fired;
        *nth = NthCall {
            calls: 0,
            fail_at: k,
            fired: false,
        };
        fired
    }

    fn check(&self, call: &'static str) -> Result<(), StoreError> {
        let failing = self.failing.lock().unwrap();
        let mut nth = self.nth.lock().unwrap();
        nth.calls += 1;
        let nth_fails = nth.fail_at != 0 && nth.calls == nth.fail_at;
        if nth_fails {
            nth.fired = true;
        }
        if nth_fails || failing.iter().any(|f| *f == "*" || *f == call) {
            return Err(StoreError::backend(std::io::Error::other("connection reset")));
        }
        Ok(())
    }
}

impl Store for FaultyStore {
    async fn get_user(&self, user: &UserId) -> Result<Option<UserRecord>, StoreError> {
        self.check("get_user")?;
        self.inner.get_user(user).await
    }

    async fn update_user<F>(&self, user: &UserId, change: F) -> Result<UserRecord, StoreError>
    where
        F: FnOnce(&mut UserRecord) + Send,
    {
        self.check("update_user")?;
        self.inner.update_user(user, change).await
    }

    async fn delete_user(&self, user: &UserId) -> Result<(), StoreError> {
        self.check("delete_user")?;
        self.inner.delete_user(user).await
    }

    async fn list_methods(&self, user: &UserId) -> Result<Vec<MethodRecord>, StoreError> {
        self.check("list_methods")?;
        self.inner.list_methods(user).await
    }

    async fn insert_method_capped(
        &self,
        user: &UserId,
        method: MethodRecord,
        cap: usize,
    ) -> Result<bool, StoreError> {
        self.check("insert_method_capped")?;
        self.inner.insert_method_capped(user, method, cap).await
    }

    async fn remove_method(
        &self,
        user: &UserId,
        method: MethodId,
    ) -> Result<Option<MethodRecord>, StoreError> {
        self.check("remove_method")?;
        self.inner.remove_method(user, method).await
    }

    async fn remove_all_methods(&self, user: &UserId) -> Result<usize, StoreError> {
        self.check("remove_all_methods")?;
        self.inner.remove_all_methods(user).await
    }

    async fn update_app_secret(
        &self,
        user: &UserId,
        method: MethodId,
        secret: SealedSecret,
    ) -> Result<bool, StoreError> {
        self.check("update_app_secret")?;
        self.inner.update_app_secret(user, method, secret).await
    }

    async fn put_pending(&self, user: &UserId, pending: PendingEnrollment) -> Result<(), StoreError> {
        self.check("put_pending")?;
        self.inner.put_pending(user, pending).await
    }

    async fn get_pending(&self, user: &UserId) -> Result<Option<PendingEnrollment>, StoreError> {
        self.check("get_pending")?;
        self.inner.get_pending(user).await
    }

    async fn take_pending(
        &self,
        user: &UserId,
        method: MethodId,
    ) -> Result<Option<PendingEnrollment>, StoreError> {
        self.check("take_pending")?;
        self.inner.take_pending(user, method).await
    }

    async fn update_pending_secret(
        &self,
        user: &UserId,
        method: MethodId,
        secret: SealedSecret,
    ) -> Result<bool, StoreError> {
        self.check("update_pending_secret")?;
        self.inner.update_pending_secret(user, method, secret).await
    }

    async fn clear_pending(&self, user: &UserId) -> Result<bool, StoreError> {
        self.check("clear_pending")?;
        self.inner.clear_pending(user).await
    }

    async fn attempt<F, T>(
        &self,
        user: &UserId,
        target: AttemptTarget<'_>,
        now: UnixTime,
        rule: &ThrottleRule,
        check: F,
    ) -> Result<Attempt<T>, StoreError>
    where
        F: FnOnce(Loaded<'_>) -> (Verdict, T) + Send,
        T: Send,
    {
        self.check("attempt")?;
        self.inner.attempt(user, target, now, rule, check).await
    }

    async fn throttle_state(&self, user: &UserId) -> Result<ThrottleState, StoreError> {
        self.check("throttle_state")?;
        self.inner.throttle_state(user).await
    }

    async fn put_phone_challenge(&self, user: &UserId, challenge: PhoneChallenge) -> Result<(), StoreError> {
        self.check("put_phone_challenge")?;
        self.inner.put_phone_challenge(user, challenge).await
    }

    async fn record_phone_send(
        &self,
        user: &UserId,
        number: &PhoneNumber,
        now: UnixTime,
        limit: &SendLimit,
    ) -> Result<mfa::store::PhoneSend, StoreError> {
        self.check("record_phone_send")?;
        self.inner.record_phone_send(user, number, now, limit).await
    }

    async fn find_push_device(
        &self,
        device: &mfa_push::DeviceId,
    ) -> Result<Option<(UserId, mfa::store::MethodRecord)>, StoreError> {
        self.check("find_push_device")?;
        self.inner.find_push_device(device).await
    }

    async fn take_push_enrollment(
        &self,
        enrollment: &mfa_push::EnrollmentId,
    ) -> Result<Option<(UserId, mfa::store::PendingEnrollment)>, StoreError> {
        self.check("take_push_enrollment")?;
        self.inner.take_push_enrollment(enrollment).await
    }

    async fn start_push(
        &self,
        user: &UserId,
        push: mfa::store::PushChallenge,
        now: UnixTime,
        fatigue: &mfa::store::PushFatigue,
    ) -> Result<mfa::store::PushStart, StoreError> {
        self.check("start_push")?;
        self.inner.start_push(user, push, now, fatigue).await
    }

    async fn get_push(&self, user: &UserId) -> Result<Option<mfa::store::PushChallenge>, StoreError> {
        self.check("get_push")?;
        self.inner.get_push(user).await
    }

    async fn answer_push(
        &self,
        user: &UserId,
        challenge: &mfa_push::ChallengeId,
        state: mfa::store::PushState,
        now: UnixTime,
        rule: &mfa::ThrottleRule,
        fatigue: &mfa::store::PushFatigue,
    ) -> Result<Option<mfa::store::PushAnswered>, StoreError> {
        self.check("answer_push")?;
        self.inner
            .answer_push(user, challenge, state, now, rule, fatigue)
            .await
    }

    async fn remember_push_nonce(
        &self,
        key: &mfa_push::ReplayKey,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.check("remember_push_nonce")?;
        self.inner.remember_push_nonce(key, now).await
    }

    async fn rename_method(&self, user: &UserId, method: MethodId, name: String) -> Result<bool, StoreError> {
        self.check("rename_method")?;
        self.inner.rename_method(user, method, name).await
    }

    async fn put_passkey_challenge(
        &self,
        user: &UserId,
        challenge: mfa::store::PasskeyChallenge,
    ) -> Result<(), StoreError> {
        self.check("put_passkey_challenge")?;
        self.inner.put_passkey_challenge(user, challenge).await
    }

    async fn replace_recovery_codes(&self, user: &UserId, tags: Vec<Tag>) -> Result<(), StoreError> {
        self.check("replace_recovery_codes")?;
        self.inner.replace_recovery_codes(user, tags).await
    }

    async fn recovery_codes_left(&self, user: &UserId) -> Result<usize, StoreError> {
        self.check("recovery_codes_left")?;
        self.inner.recovery_codes_left(user).await
    }

    async fn insert_app_password_capped(
        &self,
        user: &UserId,
        record: AppPasswordRecord,
        cap: usize,
    ) -> Result<bool, StoreError> {
        self.check("insert_app_password_capped")?;
        self.inner.insert_app_password_capped(user, record, cap).await
    }

    async fn list_app_passwords(&self, user: &UserId) -> Result<Vec<AppPasswordRecord>, StoreError> {
        self.check("list_app_passwords")?;
        let list = self.inner.list_app_passwords(user).await?;
        let revoke = self.revoke_after_list.lock().unwrap().take();
        if let Some((owner, id)) = revoke {
            assert!(self.inner.delete_app_password(&owner, id).await?);
        }
        Ok(list)
    }

    async fn update_app_password(
        &self,
        user: &UserId,
        record: AppPasswordRecord,
    ) -> Result<bool, StoreError> {
        self.check("update_app_password")?;
        self.inner.update_app_password(user, record).await
    }

    async fn delete_app_password(&self, user: &UserId, id: AppPasswordId) -> Result<bool, StoreError> {
        self.check("delete_app_password")?;
        self.inner.delete_app_password(user, id).await
    }

    async fn delete_all_app_passwords(&self, user: &UserId) -> Result<usize, StoreError> {
        self.check("delete_all_app_passwords")?;
        self.inner.delete_all_app_passwords(user).await
    }

    async fn insert_device_capped(
        &self,
        user: &UserId,
        device: DeviceRecord,
        cap: usize,
    ) -> Result<Vec<DeviceId>, StoreError> {
        self.check("insert_device_capped")?;
        self.inner.insert_device_capped(user, device, cap).await
    }

    async fn find_device(&self, user: &UserId, token_hash: &Tag) -> Result<Option<DeviceRecord>, StoreError> {
        self.check("find_device")?;
        self.inner.find_device(user, token_hash).await
    }

    async fn touch_device(&self, user: &UserId, device: DeviceId, now: UnixTime) -> Result<bool, StoreError> {
        self.check("touch_device")?;
        self.inner.touch_device(user, device, now).await
    }

    async fn list_devices(&self, user: &UserId) -> Result<Vec<DeviceRecord>, StoreError> {
        self.check("list_devices")?;
        self.inner.list_devices(user).await
    }

    async fn forget_device(&self, user: &UserId, device: DeviceId) -> Result<bool, StoreError> {
        self.check("forget_device")?;
        self.inner.forget_device(user, device).await
    }

    async fn forget_all_devices(&self, user: &UserId) -> Result<usize, StoreError> {
        self.check("forget_all_devices")?;
        self.inner.forget_all_devices(user).await
    }

    async fn key_checks(&self) -> Result<Vec<mfa::store::KeyCheck>, StoreError> {
        self.check("key_checks")?;
        self.inner.key_checks().await
    }

    async fn record_key_checks(
        &self,
        checks: Vec<mfa::store::KeyCheck>,
    ) -> Result<Vec<mfa::store::KeyCheck>, StoreError> {
        self.check("record_key_checks")?;
        self.inner.record_key_checks(checks).await
    }
}

type Faulty = Harness<FaultyStore>;

fn faulty() -> Faulty {
    build_on(
        loose_sends_config(),
        KeyRing::new(KeyId(1), &KEY_1).unwrap(),
        FaultyStore::default(),
        Arc::new(ManualClock::new(UnixTime::from_secs(START))),
    )
}

/// The failure count, read past the faults.
async fn failures(f: &Faulty, user: &UserId) -> u32 {
    f.store.inner.throttle_state(user).await.unwrap().failures
}

fn is_backend_error(result: &Error) -> bool {
    matches!(result, Error::Store(StoreError::Backend(_)))
        && result.to_string() == "store backend failed: connection reset"
}

#[tokio::test]
async fn every_flow_reports_a_failing_store_as_a_typed_error() {
    let f = faulty();
    let alice = user("alice");
    // A working account first: a phone, recovery codes, an app password, a remembered device.
    let sent = f
        .mfa
        .begin_phone_enrollment(&alice, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
        .await
        .unwrap();
    let mobile = f
        .mfa
        .confirm_phone_enrollment(&alice, sent.method, &f.last_code(MOBILE))
        .await
        .unwrap()
        .method
        .id;
    f.advance(1);
    f.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    let proof = f.mfa.verify(&alice, mobile, &f.last_code(MOBILE)).await.unwrap();
    let codes = f
        .mfa
        .generate_recovery_codes(&alice, Some(proof.at()))
        .await
        .unwrap();
    let password = f
        .mfa
        .create_app_password(&alice, "Mail", Some(proof.at()))
        .await
        .unwrap();
    let device = f.mfa.remember_device(&proof, "Laptop").await.unwrap();
    let sent_before = f.phones.sent().len();
    let events_before = f.events.events().len();

    f.store.fail(&["*"]);
    let recovery = codes.codes().next().unwrap();
    let at = Some(proof.at());
    let results: Vec<(&str, Error)> = vec![
        (
            "verify",
            f.mfa.verify(&alice, mobile, "123456").await.unwrap_err(),
        ),
        (
            "challenge",
            f.mfa.challenge(&alice, Some(mobile), None).await.unwrap_err(),
        ),
        (
            "begin_sign_in",
            f.mfa
                .begin_sign_in(
                    &alice,
                    Some(device.token.expose()),
                    SignInContext::sign_in(f.now()),
                )
                .await
                .unwrap_err(),
        ),
        (
            "redeem",
            f.mfa.redeem_recovery_code(&alice, recovery).await.unwrap_err(),
        ),
        ("codes left", f.mfa.recovery_codes_left(&alice).await.unwrap_err()),
        (
            "generate codes",
            f.mfa.generate_recovery_codes(&alice, at).await.unwrap_err(),
        ),
        (
            "create app password",
            f.mfa.create_app_password(&alice, "Other", at).await.unwrap_err(),
        ),
        (
            "verify app password",
            f.mfa
                .verify_app_password(&alice, password.password.expose(), None)
                .await
                .unwrap_err(),
        ),
        (
            "list app passwords",
            f.mfa.list_app_passwords(&alice).await.unwrap_err(),
        ),
        (
            "revoke app password",
            f.mfa.revoke_app_password(&alice, password.id).await.unwrap_err(),
        ),
        (
            "delete all",
            f.mfa.delete_all_app_passwords(&alice).await.unwrap_err(),
        ),
        (
            "remember",
            f.mfa.remember_device(&proof, "Phone").await.unwrap_err(),
        ),
        ("list devices", f.mfa.list_devices(&alice).await.unwrap_err()),
        (
            "forget",
            f.mfa.forget_device(&alice, device.id).await.unwrap_err(),
        ),
        ("list methods", f.mfa.list_methods(&alice).await.unwrap_err()),
        (
            "recommendations",
            f.mfa.recommendations(&alice).await.unwrap_err(),
        ),
        (
            "begin app",
            f.mfa
                .begin_app_enrollment(&alice, "alice", "App", at)
                .await
                .unwrap_err(),
        ),
        (
            "begin phone",
            f.mfa
                .begin_phone_enrollment(&alice, PhoneKind::Office, "+442071838750", Channel::Voice, at)
                .await
                .unwrap_err(),
        ),
        (
            "set default",
            f.mfa.set_default_method(&alice, mobile).await.unwrap_err(),
        ),
        (
            "remove",
            f.mfa.remove_method(&alice, mobile, at).await.unwrap_err(),
        ),
        (
            "set state",
            f.mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap_err(),
        ),
        (
            "reregister",
            f.mfa.require_reregistration(&alice).await.unwrap_err(),
        ),
        (
            "revoke sessions",
            f.mfa.revoke_mfa_sessions(&alice).await.unwrap_err(),
        ),
        ("sign out", f.mfa.sign_out_everywhere(&alice).await.unwrap_err()),
        (
            "password changed",
            f.mfa.password_changed(&alice).await.unwrap_err(),
        ),
        (
            "report",
            f.mfa.report_suspicious_activity(&alice).await.unwrap_err(),
        ),
        (
            "clear",
            f.mfa.clear_suspicious_activity(&alice).await.unwrap_err(),
        ),
        ("reencrypt", f.mfa.reencrypt_user(&alice).await.unwrap_err()),
        (
            "step-up",
            f.mfa
                .check_step_up(&alice, mfa::SensitiveAction::ChangePassword, at)
                .await
                .unwrap_err(),
        ),
    ];
    for (flow, error) in &results {
        assert!(is_backend_error(error), "{flow}: {error:?}");
    }
    // Nothing was sent and nothing was reported as done.
    assert_eq!(f.phones.sent().len(), sent_before);
    assert_eq!(f.events.events().len(), events_before);

    // Once the store is back, the account is as it was.
    f.store.fail(&[]);
    assert_eq!(f.mfa.recovery_codes_left(&alice).await.unwrap(), 10);
    assert_eq!(f.mfa.list_app_passwords(&alice).await.unwrap().len(), 1);
    assert_eq!(f.mfa.list_devices(&alice).await.unwrap().len(), 1);
    f.mfa.redeem_recovery_code(&alice, recovery).await.unwrap();
}

#[tokio::test]
async fn no_code_is_sent_unless_the_send_and_its_code_were_recorded() {
    let f = faulty();
    let alice = user("alice");
    let sent = f
        .mfa
        .begin_phone_enrollment(&alice, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
        .await
        .unwrap();
    let mobile = f
        .mfa
        .confirm_phone_enrollment(&alice, sent.method, &f.last_code(MOBILE))
        .await
        .unwrap()
        .method
        .id;
    for call in ["record_phone_send", "put_phone_challenge"] {
        f.store.fail(&[call]);
        let error = f.mfa.challenge(&alice, Some(mobile), None).await.unwrap_err();
        assert!(is_backend_error(&error), "{call}: {error:?}");
        assert_eq!(f.phones.sent().len(), 1, "{call}");
        let sent_events = f
            .events
            .kinds()
            .iter()
            .filter(|k| matches!(k, EventKind::ChallengeSent { .. }))
            .count();
        assert_eq!(sent_events, 1, "{call}");
    }
    f.store.fail(&[]);
    f.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    assert_eq!(f.phones.sent().len(), 2);
}

#[tokio::test]
async fn an_attempt_the_store_failed_to_commit_counted_nothing_and_used_up_nothing() {
    // One store call, one transaction: when it fails, nothing of it happened, and the caller got no
    // answer about the code either. The code still works, and the failure count is untouched.
    let f = faulty();
    let alice = user("alice");
    let sent = f
        .mfa
        .begin_phone_enrollment(&alice, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
        .await
        .unwrap();
    let mobile = f
        .mfa
        .confirm_phone_enrollment(&alice, sent.method, &f.last_code(MOBILE))
        .await
        .unwrap()
        .method
        .id;
    assert!(f.mfa.verify(&alice, mobile, "000000").await.is_err());
    assert_eq!(failures(&f, &alice).await, 1);
    f.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    let code = f.last_code(MOBILE);
    f.store.fail(&["attempt"]);
    let error = f.mfa.verify(&alice, mobile, &code).await.unwrap_err();
    assert!(is_backend_error(&error), "{error:?}");
    assert_eq!(failures(&f, &alice).await, 1);
    f.store.fail(&[]);
    f.mfa.verify(&alice, mobile, &code).await.unwrap();
    assert_eq!(failures(&f, &alice).await, 0);
}

#[tokio::test]
async fn an_app_password_revoked_while_it_is_checked_does_not_sign_in() {
    let f = faulty();
    let alice = user("alice");
    let at = f.registered(&alice).await;
    let mail = f.mfa.create_app_password(&alice, "Mail", at).await.unwrap();
    let calendar = f.mfa.create_app_password(&alice, "Calendar", at).await.unwrap();
    f.events.clear();
    // The revocation lands between the read of the records and the recording of the use.
    *f.store.revoke_after_list.lock().unwrap() = Some((alice.clone(), mail.id));
    assert!(matches!(
        f.mfa
            .verify_app_password(&alice, mail.password.expose(), None)
            .await,
        Err(Error::Rejected)
    ));
    assert!(
        !f.events
            .kinds()
            .contains(&EventKind::AppPasswordUsed { id: mail.id })
    );
    // It was not brought back, and the other one is unaffected.
    let list = f.mfa.list_app_passwords(&alice).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, calendar.id);
    f.mfa
        .verify_app_password(&alice, calendar.password.expose(), None)
        .await
        .unwrap();
}

/// Runs a flow with its k-th store call failing, for k = 1, 2, ... until the flow gets through all of
/// its calls and succeeds. Each failure must come back as the typed store error (and a panic fails
/// the test); after each, with the store working again, the `then` block checks that a retry works
/// or the state is consistent. `prepare` runs before each attempt with the store working; `k` and the
/// names bound by `ctx` are visible to the blocks. Evaluates to the number of store calls the
/// successful run made.
macro_rules! kth_call_fails {
    ($f:expr, $flow:literal, |$k:ident, $ctx:pat_param| prepare $prepare:block run $run:block then $then:block) => {{
        let mut $k: usize = 0;
        loop {
            $k += 1;
            assert!($k <= 30, "{}: no success with up to 30 store calls", $flow);
            let $ctx = $prepare;
            $f.store.fail_call($k);
            let result = $run;
            let fired = $f.store.fail_call(0);
            match result {
                Ok(_) => {
                    assert!(!fired, "{}: succeeded although store call {} failed", $flow, $k);
                    break;
                }
                Err(error) => {
                    assert!(fired, "{}: {error:?} without a store failure", $flow);
                    assert!(
                        is_backend_error(&error),
                        "{} with store call {} failing: {error:?}",
                        $flow,
                        $k
                    );
                    $then
                }
            }
        }
        $k - 1
    }};
}

/// Alice, MFA enforced, with a mobile, a fresh verification, a remembered device and an app password.
async fn account(f: &Faulty, alice: &UserId) -> (MethodId, mfa::Verified) {
    f.mfa.set_mfa_state(alice, MfaState::Enforced).await.unwrap();
    let sent = f
        .mfa
        .begin_phone_enrollment(alice, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
        .await
        .unwrap();
    let mobile = f
        .mfa
        .confirm_phone_enrollment(alice, sent.method, &f.last_code(MOBILE))
        .await
        .unwrap()
        .method
        .id;
    let proof = fresh_proof(f, alice, mobile).await;
    f.mfa.remember_device(&proof, "Laptop").await.unwrap();
    f.mfa
        .create_app_password(alice, "Mail", Some(proof.at()))
        .await
        .unwrap();
    (mobile, proof)
}

/// A verification with the mobile one second from now.
async fn fresh_proof(f: &Faulty, alice: &UserId, mobile: MethodId) -> mfa::Verified {
    f.advance(1);
    f.mfa.challenge(alice, Some(mobile), None).await.unwrap();
    f.mfa.verify(alice, mobile, &f.last_code(MOBILE)).await.unwrap()
}

#[tokio::test]
async fn account_wide_flows_fail_at_every_store_call_and_a_retry_completes_them() {
    let f = faulty();
    let alice = user("alice");
    account(&f, &alice).await;

    let calls = kth_call_fails!(f, "password_changed", |k, ()| prepare {} run {
        f.mfa.password_changed(&alice).await
    } then {
        f.mfa.password_changed(&alice).await.unwrap();
        assert!(f.mfa.list_devices(&alice).await.unwrap().is_empty());
        assert!(f.mfa.list_app_passwords(&alice).await.unwrap().is_empty());
        let record = f.store.get_user(&alice).await.unwrap().unwrap();
        assert_eq!(record.password_changed_at, Some(f.now()));
        assert!(matches!(
            f.events.kinds().last(),
            Some(EventKind::PasswordChanged { .. })
        ));
    });
    assert!(calls >= 3, "password_changed: {calls} store calls");

    let calls = kth_call_fails!(f, "sign_out_everywhere", |k, ()| prepare {} run {
        f.mfa.sign_out_everywhere(&alice).await
    } then {
        f.mfa.sign_out_everywhere(&alice).await.unwrap();
        assert!(f.mfa.list_devices(&alice).await.unwrap().is_empty());
        let record = f.store.get_user(&alice).await.unwrap().unwrap();
        assert_eq!(record.sessions_valid_from, Some(f.now()));
    });
    assert!(calls >= 2, "sign_out_everywhere: {calls} store calls");
}

#[tokio::test]
async fn verification_flows_fail_at_every_store_call_and_a_retry_completes_them() {
    let f = faulty();
    let alice = user("alice");
    let (mobile, _) = account(&f, &alice).await;

    // A verification is one store call: until it succeeds, the code stays.
    let calls = kth_call_fails!(f, "verify (phone)", |k, code| prepare {
        f.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
        f.last_code(MOBILE)
    } run {
        f.mfa.verify(&alice, mobile, &code).await
    } then {
        f.mfa.verify(&alice, mobile, &code).await.unwrap();
        assert_eq!(failures(&f, &alice).await, 0);
    });
    assert_eq!(calls, 1, "verify (phone): {calls} store calls");

    // An app: the same single call.
    let tina = user("tina");
    let (app, totp) = f.enroll_app(&tina, None).await;
    let calls = kth_call_fails!(f, "verify (app)", |k, code| prepare {
        f.advance(30);
        f.code(&totp)
    } run {
        f.mfa.verify(&tina, app, &code).await
    } then {
        f.mfa.verify(&tina, app, &code).await.unwrap();
    });
    assert_eq!(calls, 1, "verify (app): {calls} store calls");

    let proof = fresh_proof(&f, &alice, mobile).await;
    let calls = kth_call_fails!(f, "generate_recovery_codes", |k, ()| prepare {} run {
        f.mfa.generate_recovery_codes(&alice, Some(proof.at())).await
    } then {
        let codes = f.mfa.generate_recovery_codes(&alice, Some(proof.at())).await.unwrap();
        assert_eq!(f.mfa.recovery_codes_left(&alice).await.unwrap(), 10);
        f.mfa.redeem_recovery_code(&alice, codes.codes().next().unwrap()).await.unwrap();
    });
    assert!(calls >= 3, "generate_recovery_codes: {calls} store calls");
}

#[tokio::test]
async fn registrations_fail_at_every_store_call_and_leave_a_consistent_account() {
    let f = faulty();

    // An app, each attempt by a new user: after a failure the same code confirms it, or (when the
    // pending registration was taken before the failure) the user is registered or can start over.
    let calls = kth_call_fails!(f, "confirm_app_enrollment", |k, (who, method, totp, code)| prepare {
        let who = user(&format!("app-{k}"));
        let enrollment = f.mfa.begin_app_enrollment(&who, "who", "Phone", None).await.unwrap();
        let totp = mfa_enroll::KeyUri::parse(enrollment.uri().as_str()).unwrap().to_totp().unwrap();
        let code = f.code(&totp);
        (who, enrollment.method(), totp, code)
    } run {
        f.mfa.confirm_app_enrollment(&who, method, &code).await
    } then {
        let retried = f.mfa.confirm_app_enrollment(&who, method, &code).await;
        assert!(matches!(retried, Ok(_) | Err(Error::Rejected)), "{retried:?}");
        let methods = f.mfa.list_methods(&who).await.unwrap();
        assert!(methods.len() <= 1);
        if methods.is_empty() {
            f.enroll_app(&who, None).await;
        } else {
            assert_eq!(methods[0].id, method);
            f.verify_next(&who, method, &totp).await;
        }
        assert_eq!(f.mfa.list_methods(&who).await.unwrap().len(), 1);
    });
    assert!(calls >= 5, "confirm_app_enrollment: {calls} store calls");

    // A phone, likewise.
    let calls = kth_call_fails!(f, "confirm_phone_enrollment", |k, (who, method, code)| prepare {
        let who = user(&format!("phone-{k}"));
        let sent = f
            .mfa
            .begin_phone_enrollment(&who, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
            .await
            .unwrap();
        (who, sent.method, f.last_code(MOBILE))
    } run {
        f.mfa.confirm_phone_enrollment(&who, method, &code).await
    } then {
        let retried = f.mfa.confirm_phone_enrollment(&who, method, &code).await;
        assert!(
            matches!(retried, Ok(_) | Err(Error::Rejected | Error::NotFound { .. })),
            "{retried:?}"
        );
        let methods = f.mfa.list_methods(&who).await.unwrap();
        assert!(methods.len() <= 1);
        let phone = match methods.first() {
            Some(m) => m.id,
            None => f.enroll_mobile(&who, MOBILE, None).await,
        };
        f.advance(1);
        f.mfa.challenge(&who, Some(phone), None).await.unwrap();
        f.mfa.verify(&who, phone, &f.last_code(MOBILE)).await.unwrap();
    });
    assert!(calls >= 5, "confirm_phone_enrollment: {calls} store calls");
}

/// Removing a method with each store call failing in turn: afterwards it is gone (after a retry if
/// need be), and the methods count as changed, so a device remembered before no longer skips the
/// prompt.
#[tokio::test]
async fn removing_a_method_fails_at_every_store_call_and_still_counts_as_a_change() {
    let f = faulty();
    let alice = user("alice");
    let (mobile, _) = account(&f, &alice).await;
    let calls = kth_call_fails!(f, "remove_method", |k, (office, proof, device)| prepare {
        let proof = fresh_proof(&f, &alice, mobile).await;
        let sent = f
            .mfa
            .begin_phone_enrollment(&alice, PhoneKind::Office, "+442071838750", Channel::Voice, Some(proof.at()))
            .await
            .unwrap();
        let code = f.phones.last_code_to(&"+442071838750".parse().unwrap()).unwrap();
        let office = f.mfa.confirm_phone_enrollment(&alice, sent.method, &code).await.unwrap().method.id;
        let proof = fresh_proof(&f, &alice, mobile).await;
        let device = f.mfa.remember_device(&proof, "Laptop").await.unwrap();
        f.advance(1);
        (office, proof, device)
    } run {
        f.mfa.remove_method(&alice, office, Some(proof.at())).await
    } then {
        // The change is recorded before the removal, so a failure may leave the method with the
        // change recorded: the retry then needs a verification newer than that change.
        let retry_proof = fresh_proof(&f, &alice, mobile).await;
        let retried = f.mfa.remove_method(&alice, office, Some(retry_proof.at())).await;
        assert!(matches!(retried, Ok(())), "call {k} failed, then the retry: {retried:?}");
        assert!(f.mfa.list_methods(&alice).await.unwrap().iter().all(|m| m.id != office));
        let record = f.store.get_user(&alice).await.unwrap().unwrap();
        assert_eq!(record.methods_changed_at, Some(f.now()), "call {k} failed");
        assert_eq!(record.default_method, Some(mobile));
        f.advance(1);
        let answer = f
            .mfa
            .begin_sign_in(&alice, Some(device.token.expose()), SignInContext::sign_in(f.now()))
            .await
            .unwrap();
        assert_eq!(answer.device, None, "call {k} failed");
    });
    assert!(calls >= 4, "remove_method: {calls} store calls");
}

#[tokio::test]
async fn reregistration_fails_at_every_store_call_and_a_retry_completes_it() {
    let f = faulty();

    // Re-registration, each attempt on a new user with an app, recovery codes, a remembered device
    // and a pending registration: a retry removes all of it.
    let calls = kth_call_fails!(f, "require_reregistration", |k, (who, device)| prepare {
        let who = user(&format!("rereg-{k}"));
        f.mfa.set_mfa_state(&who, MfaState::Enforced).await.unwrap();
        let (app, totp) = f.enroll_app(&who, None).await;
        let proof = f.verify_next(&who, app, &totp).await;
        f.mfa.generate_recovery_codes(&who, Some(proof.at())).await.unwrap();
        let device = f.mfa.remember_device(&proof, "Laptop").await.unwrap();
        f.mfa.begin_app_enrollment(&who, "who", "Second", Some(proof.at())).await.unwrap();
        (who, device)
    } run {
        f.mfa.require_reregistration(&who).await
    } then {
        f.mfa.require_reregistration(&who).await.unwrap();
        assert!(f.mfa.list_methods(&who).await.unwrap().is_empty());
        assert_eq!(f.mfa.recovery_codes_left(&who).await.unwrap(), 0);
        assert!(f.mfa.list_devices(&who).await.unwrap().is_empty());
        assert!(f.store.get_pending(&who).await.unwrap().is_none());
        let record = f.store.get_user(&who).await.unwrap().unwrap();
        assert_eq!(record.default_method, None);
        let answer = f
            .mfa
            .begin_sign_in(&who, Some(device.token.expose()), SignInContext::sign_in(f.now()))
            .await
            .unwrap();
        assert_eq!(answer.device, None);
    });
    assert!(calls >= 5, "require_reregistration: {calls} store calls");
}

/// Adding a second method with each store call failing in turn: whenever the method ends up
/// registered, a device remembered before it no longer skips the prompt.
#[tokio::test]
async fn adding_a_method_fails_at_every_store_call_and_still_counts_as_a_change() {
    let f = faulty();
    let calls = kth_call_fails!(f, "confirm_app_enrollment", |k, (who, device, method, code)| prepare {
        let who = user(&format!("second-{k}"));
        f.mfa.set_mfa_state(&who, MfaState::Enforced).await.unwrap();
        let sent = f
            .mfa
            .begin_phone_enrollment(&who, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
            .await
            .unwrap();
        let mobile = f
            .mfa
            .confirm_phone_enrollment(&who, sent.method, &f.last_code(MOBILE))
            .await
            .unwrap()
            .method.id;
        let proof = fresh_proof(&f, &who, mobile).await;
        let device = f.mfa.remember_device(&proof, "Laptop").await.unwrap();
        let enrollment = f
            .mfa
            .begin_app_enrollment(&who, "who", "Phone", Some(proof.at()))
            .await
            .unwrap();
        let totp = mfa_enroll::KeyUri::parse(enrollment.uri().as_str()).unwrap().to_totp().unwrap();
        f.advance(1);
        (who, device, enrollment.method(), f.code(&totp))
    } run {
        f.mfa.confirm_app_enrollment(&who, method, &code).await
    } then {
        if f.mfa.list_methods(&who).await.unwrap().iter().any(|m| m.id == method) {
            f.advance(1);
            let answer = f
                .mfa
                .begin_sign_in(&who, Some(device.token.expose()), SignInContext::sign_in(f.now()))
                .await
                .unwrap();
            assert_eq!(answer.device, None, "call {k} failed, yet the device was spared");
        }
    });
    assert!(calls >= 5, "confirm_app_enrollment: {calls} store calls");
}
