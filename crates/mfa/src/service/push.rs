//! Push approvals with number matching (`mfa-push`): registering an authenticator app by QR code, the
//! push at sign-in and the browser's poll, and the device-facing calls (enroll, fetch, answer).
//!
//! What is used at most once, and where: an enrollment offer by [`Store::take_push_enrollment`], a
//! device request's nonce by [`Store::remember_push_nonce`], a push's answer by
//! [`Store::answer_push`] (conditional on the push still pending), an approval by [`Store::attempt`]
//! (which deletes it as it accepts).

use std::sync::Arc;

use mfa_policy::{Reason, SensitiveAction, UnixTime};
use mfa_push::{
    AnswerRequest, AnswerResult, Challenge, ChallengeId, Decision, DeviceId, EnrollmentAnswer,
    EnrollmentOffer, EnrollmentReceipt, FetchRequest, MatchNumber, PendingChallenges, Requester, ServiceKey,
    Wake,
};
use subtle::ConstantTimeEq;

use super::registration::outlived_nothing;
use super::{Mfa, checked_name};
use crate::outcome::{PushEnrollment, PushSent, PushStatus};
use crate::push_wake::{PollOnly, PushWake, WakeError};
use crate::{
    Attempt, AttemptTarget, Consume, Credential, Error, EventKind, Factor, LoadedCredential, MethodId,
    MethodKind, MethodRecord, PendingEnrollment, PhoneDelivery, PushChallenge, PushStart, PushState, Store,
    UserId, Verdict,
};

/// What push approvals need beside the configuration: the service's signing key, the base URL of the
/// device endpoints, and how devices are woken.
#[derive(Debug, Clone)]
pub(crate) struct PushSetup {
    key: Arc<ServiceKey>,
    base_url: String,
    wake: Arc<dyn PushWake>,
}

/// Where a sign-in comes from, as the device shows it under "Approve sign-in?". Each field is plain
/// text the host fills in (empty is fine); it is signed by the service and checked by the device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOrigin {
    /// The application signed in to ("Example Mail"); empty: the issuer.
    pub application: String,
    /// The client's IP address.
    pub client_ip: String,
    /// A location the host derived from it ("Paris, France").
    pub location: String,
}

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    /// The same service with push approvals on: `key` signs what devices are sent (keep its seed
    /// secret, beside the key ring; see [`ServiceKey::from_seed`]), `base_url` is where the device
    /// endpoints are mounted (`https://example.com/mfa/push`; the enrollment QR code carries it).
    /// Devices poll unless [`with_push_wake`](Self::with_push_wake) gives a way to wake them.
    ///
    /// # Errors
    ///
    /// [`Error::Push`] for a base URL the protocol does not accept (it must be `https://`, or
    /// `http://` on a loopback address, without query or fragment).
    pub fn with_push(mut self, key: ServiceKey, base_url: &str) -> Result<Self, Error> {
        // The offer checks the URL; one made now and thrown away checks it once at start-up.
        EnrollmentOffer::generate(
            base_url,
            key.public_key(),
            &self.config.issuer,
            "check",
            UnixTime::from_secs(0),
        )?;
        self.push = Some(PushSetup {
            key: Arc::new(key),
            base_url: base_url.trim_end_matches('/').to_owned(),
            wake: Arc::new(PollOnly),
        });
        Ok(self)
    }

    /// The same service waking devices through `wake` (after [`with_push`](Self::with_push)).
    #[must_use]
    pub fn with_push_wake(mut self, wake: Arc<dyn PushWake>) -> Self {
        if let Some(push) = &mut self.push {
            push.wake = wake;
        }
        self
    }

    fn push_setup(&self) -> Result<&PushSetup, Error> {
        self.push.as_ref().ok_or(Error::PushNotConfigured)
    }

    /// Begins registering a push app named `name`, shown in the app as `account`: an offer to show as a
    /// QR code, usable once within 4 minutes. A user who already has methods needs a fresh
    /// verification (step-up). When the app has answered, the registration is done, and
    /// [`push_enrollment_status`](Self::push_enrollment_status) gives this browser its proof once.
    pub async fn begin_push_enrollment(
        &self,
        user: &UserId,
        account: &str,
        name: &str,
        last_mfa_at: Option<UnixTime>,
    ) -> Result<PushEnrollment, Error> {
        let setup = self.push_setup()?;
        let name = checked_name(name)?;
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        self.step_up(&record, &methods, SensitiveAction::AddMethod, last_mfa_at, now)?;
        let max = self.config.push.max_apps;
        if methods.iter().filter(|m| m.kind() == MethodKind::PushApp).count() >= max {
            return Err(Error::LimitReached {
                what: "push apps",
                max,
            });
        }
        let offer = EnrollmentOffer::generate(
            &setup.base_url,
            setup.key.public_key(),
            &self.config.issuer,
            account,
            now,
        )?;
        let id = MethodId::generate()?;
        // The offer's expiry is the last second it can be answered; the registration's is exclusive.
        let expires_at = offer
            .expires_at()
            .saturating_add(std::time::Duration::from_secs(1));
        let pending = PendingEnrollment {
            method: MethodRecord {
                id,
                name,
                created_at: now,
                credential: Credential::PushEnrollment {
                    offer: offer.pending(),
                },
            },
            expires_at,
        };
        self.store.put_pending(user, pending).await?;
        let uri = offer.to_uri();
        Ok(PushEnrollment {
            method: id,
            challenge: enrollment_challenge(&offer)?,
            qr: mfa_enroll::QrCode::encode(&uri)?,
            uri,
            expires_at,
        })
    }

    /// The device's enrollment answer (`POST {base}/enroll`): checked once (a second answer finds no
    /// offer), registers the push app, leaves the browser that showed the offer an approval to collect,
    /// and returns the signed receipt (JSON) for the device.
    ///
    /// # Errors
    ///
    /// [`Error::Push`] with [`EnrollmentUnusable`](mfa_push::ErrorCode::EnrollmentUnusable) for an
    /// unknown, used, expired or wrongly answered offer ([`Error::push_code`] maps every error to
    /// the protocol's code).
    pub async fn push_device_enroll(&self, body: &[u8]) -> Result<String, Error> {
        let setup = self.push_setup()?;
        let now = self.now();
        let answer = EnrollmentAnswer::from_json(body)?;
        let unusable = || Error::Push(mfa_push::Error::EnrollmentExpired);
        let (user, pending) = self
            .store
            .take_push_enrollment(answer.enrollment_id())
            .await?
            .ok_or_else(unusable)?;
        let Credential::PushEnrollment { offer } = &pending.method.credential else {
            return Err(unusable());
        };
        let device = offer.verify(&answer, now)?;
        let (record, _) = self.user_and_methods(&user).await?;
        // Begun before a password change or a sign-out everywhere: void, as an app's would be.
        if !outlived_nothing(&record, &pending) {
            return Err(unusable());
        }
        Self::check_prompts_allowed(&record)?;
        let device_id = DeviceId::generate()?;
        let approval_id = ChallengeId::new(offer.enrollment_id().as_str())?;
        let receipt = EnrollmentReceipt::sign(
            &setup.key,
            offer.enrollment_id(),
            device_id.clone(),
            device.public_key(),
        );
        let method = MethodRecord {
            id: pending.method.id,
            name: pending.method.name.clone(),
            created_at: now,
            credential: Credential::PushApp {
                device: device_id.clone(),
                key: Box::new(device),
            },
        };
        self.insert_method(&user, method, now).await?;
        // The device proved it holds the offer shown in this user's browser: that browser may collect
        // one approval, as a typed code would give one for an app.
        let approval = PushChallenge {
            method: pending.method.id,
            challenge: Challenge::new(
                approval_id.clone(),
                device_id,
                self.requester(&user, &PushOrigin::default()),
                now,
                self.config.push.challenge_ttl,
                self.config.push.match_digits(),
            )?,
            // Approved already, it takes no answer; the tag is of no number anyone can type.
            number_tag: self.tags.push_number(&user, &approval_id, ""),
            state: PushState::Approved,
        };
        if self
            .store
            .start_push(&user, approval, now, &self.config.push.fatigue)
            .await?
            == PushStart::Stopped
        {
            // Registered all the same; the browser's proof comes from another method.
            tracing::info!(target: "mfa::push", user = %user, "registered while pushes are stopped: no approval left");
        }
        Ok(receipt.to_json())
    }

    /// Whether the push app of [`begin_push_enrollment`](Self::begin_push_enrollment) has enrolled:
    /// `None` while the offer waits, then, once, the registration with its proof (as
    /// [`confirm_app_enrollment`](Self::confirm_app_enrollment) gives one).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] once the offer is gone without a registration (expired, replaced,
    /// refused) or the proof was already given.
    pub async fn push_enrollment_status(
        &self,
        user: &UserId,
        method: MethodId,
        challenge: &ChallengeId,
    ) -> Result<Option<crate::Enrolled>, Error> {
        let now = self.now();
        if let Some(pending) = self.store.get_pending(user).await?
            && pending.method.id == method
        {
            if now < pending.expires_at {
                return Ok(None);
            }
            return Err(Error::NotFound {
                what: "push enrollment",
            });
        }
        match self.push_status(user, challenge).await? {
            PushStatus::Approved(proof) if proof.method() == Some(method) => {
                let (record, methods) = self.user_and_methods(user).await?;
                let found = methods
                    .iter()
                    .find(|m| m.id == method)
                    .ok_or(Error::NotFound { what: "method" })?;
                Ok(Some(crate::Enrolled {
                    method: super::summary(found, &record),
                    proof,
                }))
            }
            _ => Err(Error::NotFound {
                what: "push enrollment",
            }),
        }
    }

    /// Sends a push to the push app `method` (or the default method) for a sign-in from `origin`:
    /// the device shows "Approve sign-in?" with the origin, and the page shows the returned number.
    /// Replaces the user's previous push; a push replaced or left unanswered, denied or reported is a
    /// strike, and after [`PushConfig::fatigue`](crate::PushConfig::fatigue)'s number of strikes pushes
    /// stop until another method succeeds ([`Error::PushesStopped`]).
    pub async fn challenge_push(
        &self,
        user: &UserId,
        method: Option<MethodId>,
        origin: &PushOrigin,
    ) -> Result<PushSent, Error> {
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        Self::check_prompts_allowed(&record)?;
        let wanted = method.or(record.default_method);
        let found = methods
            .iter()
            .filter(|m| m.kind() == MethodKind::PushApp)
            .find(|m| wanted.is_none_or(|w| m.id == w))
            .ok_or(Error::NotFound { what: "push app" })?;
        if !self.config.policy.allows_method(found.policy_method()) {
            return Err(Error::NotAllowed(Reason::NoAllowedMethod));
        }
        self.send_push(user, found, origin, now).await
    }

    pub(super) async fn send_push(
        &self,
        user: &UserId,
        method: &MethodRecord,
        origin: &PushOrigin,
        now: UnixTime,
    ) -> Result<PushSent, Error> {
        let setup = self.push_setup()?;
        let Credential::PushApp { device, key } = &method.credential else {
            return Err(Error::NotFound { what: "push app" });
        };
        let challenge = Challenge::new(
            ChallengeId::generate()?,
            device.clone(),
            self.requester(user, origin),
            now,
            self.config.push.challenge_ttl,
            self.config.push.match_digits(),
        )?;
        let number = MatchNumber::generate(challenge.digits())?;
        let sent = PushSent {
            method: method.id,
            challenge: challenge.id().clone(),
            number,
            expires_at: challenge.expires_at(),
        };
        let push = PushChallenge {
            method: method.id,
            number_tag: self
                .tags
                .push_number(user, challenge.id(), &sent.number.to_string()),
            challenge,
            state: PushState::Pending,
        };
        let fatigue = &self.config.push.fatigue;
        if self.store.start_push(user, push, now, fatigue).await? == PushStart::Stopped {
            let strikes = self.store.throttle_state(user).await?.push_strikes.count;
            self.emit(user, now, EventKind::PushesStopped { strikes });
            return Err(Error::PushesStopped);
        }
        self.emit(user, now, EventKind::PushSent { method: method.id });
        if let Some(channel) = Some(key.wake()).filter(|c| !c.is_poll()) {
            let wake = Wake::sign(&setup.key, device.clone(), sent.challenge.clone());
            match setup.wake.wake(channel, &wake).await {
                Ok(()) => {}
                Err(WakeError::Gone) => self.emit(user, now, EventKind::PushDeviceGone { method: method.id }),
                Err(error) => {
                    tracing::warn!(target: "mfa::push", user = %user, %error, "waking the device failed; it will poll");
                }
            }
        }
        Ok(sent)
    }

    /// The browser's poll of a push ([`PushSent::challenge`]): waiting, approved (the proof, given
    /// once: the approval is used up as it is given), denied, wrong number or expired.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] while the user is locked; [`Error::NotFound`] for no such push (collected,
    /// replaced, or its app removed).
    pub async fn push_status(&self, user: &UserId, challenge: &ChallengeId) -> Result<PushStatus, Error> {
        let now = self.now();
        let attempt = self
            .store
            .attempt(
                user,
                AttemptTarget::Push(challenge),
                now,
                &self.config.throttle,
                |loaded| {
                    if let Err(error) = Self::check_prompts_allowed(loaded.user) {
                        return (Verdict::Abort, Err(error));
                    }
                    let LoadedCredential::Push {
                        push: Some(push),
                        method: Some(method),
                    } = loaded.credential
                    else {
                        return (Verdict::Abort, Err(Error::NotFound { what: "push" }));
                    };
                    let live = now < push.expires_at();
                    match (push.state, live) {
                        (PushState::Approved, true) => {
                            (Verdict::Accept(Consume::Push), Ok((push.state, method.id)))
                        }
                        (PushState::Pending, true) => (Verdict::Abort, Ok((push.state, method.id))),
                        (PushState::Pending | PushState::Approved, false) => {
                            (Verdict::Abort, Ok((PushState::Pending, method.id)))
                        }
                        (state, _) => (Verdict::Abort, Ok((state, method.id))),
                    }
                },
            )
            .await?;
        let expires_at = self.store.get_push(user).await?.map(|p| p.expires_at());
        Ok(match attempt {
            Attempt::Locked { until } => return Err(Error::Locked { until }),
            Attempt::Accepted(value) => {
                let (_, method) = value?;
                PushStatus::Approved(self.succeeded(user, now, Factor::PushApproval, Some(method), None))
            }
            // The check never rejects; a store that did would have counted it.
            Attempt::Rejected { .. } => return Err(Error::Rejected),
            Attempt::Aborted(value) => match value?.0 {
                PushState::Pending => match expires_at.filter(|at| now < *at) {
                    Some(expires_at) => PushStatus::Waiting { expires_at },
                    None => PushStatus::Expired,
                },
                PushState::Approved => PushStatus::Expired,
                PushState::Denied | PushState::Reported => PushStatus::Denied,
                PushState::WrongNumber => PushStatus::WrongNumber,
            },
        })
    }

    /// A device's fetch of its pending pushes (`POST {base}/pending`): the signed request is checked
    /// against the device's key and its nonce used up; the answer (JSON) lists the device's unexpired,
    /// unanswered push, signed by the service.
    pub async fn push_device_pending(&self, body: &[u8]) -> Result<String, Error> {
        let setup = self.push_setup()?;
        let now = self.now();
        let request = FetchRequest::from_json(body)?;
        let (user, method) = self.push_device(request.device_id()).await?;
        let key = push_key(&method)?;
        let replay = request.verify(key.public_key(), now)?;
        if !self.store.remember_push_nonce(&replay, now).await? {
            return Err(Error::Push(mfa_push::Error::Replayed));
        }
        let waiting: Vec<_> = self
            .store
            .get_push(&user)
            .await?
            .filter(|p| p.method == method.id && p.state == PushState::Pending && now < p.expires_at())
            .map(|p| p.challenge.sign(&setup.key))
            .into_iter()
            .collect();
        Ok(PendingChallenges::new(now, waiting).to_json())
    }

    /// A device's answer to a push (`POST {base}/answer`): approve with the number the user typed, deny,
    /// or deny and report. Checked against the device's key, its nonce used up, and recorded once (of
    /// racing answers, one). A wrong number counts as a failed verification; a report raises the
    /// suspicious-activity flow ([`report_suspicious_activity`](Self::report_suspicious_activity)).
    /// Returns the protocol's result (JSON).
    pub async fn push_device_answer(&self, body: &[u8]) -> Result<String, Error> {
        let now = self.now();
        let request = AnswerRequest::from_json(body)?;
        let (user, method) = self.push_device(request.device_id()).await?;
        let key = push_key(&method)?;
        let answer = request.verify(key.public_key(), now)?;
        if !self.store.remember_push_nonce(answer.replay_key(), now).await? {
            return Err(Error::Push(mfa_push::Error::Replayed));
        }
        let not_pending = || Error::Push(mfa_push::Error::WrongRecipient { what: "answer" });
        let push = self
            .store
            .get_push(&user)
            .await?
            .filter(|p| {
                p.id() == answer.challenge_id() && p.method == method.id && p.state == PushState::Pending
            })
            .ok_or_else(not_pending)?;
        if now >= push.expires_at() {
            return Err(Error::Push(mfa_push::Error::ChallengeExpired));
        }
        let (state, result) = match answer.decision() {
            Decision::Approve(typed) => {
                let tag = self.tags.push_number(&user, push.id(), typed.as_str());
                match bool::from(tag.ct_eq(&push.number_tag)) {
                    true => (PushState::Approved, AnswerResult::Approved),
                    false => (PushState::WrongNumber, AnswerResult::WrongNumber),
                }
            }
            Decision::Deny => (PushState::Denied, AnswerResult::Denied),
            Decision::Report => (PushState::Reported, AnswerResult::Reported),
        };
        let answered = self
            .store
            .answer_push(
                &user,
                push.id(),
                state,
                now,
                &self.config.throttle,
                &self.config.push.fatigue,
            )
            .await?
            .ok_or_else(not_pending)?;
        self.emit(
            &user,
            now,
            EventKind::PushAnswered {
                method: method.id,
                answer: state.name(),
            },
        );
        if let Some(failures) = answered.failures {
            // The opaque rejection is for the browser; the device is told the result.
            let _ = self.failed(&user, now, Factor::PushApproval, failures);
        }
        if state == PushState::Reported {
            self.report_suspicious_activity(&user).await?;
        }
        Ok(result.to_json())
    }

    /// The push app with this device id, or the protocol's `unauthorized` (which tells a caller
    /// nothing of which devices exist).
    async fn push_device(&self, device: &DeviceId) -> Result<(UserId, MethodRecord), Error> {
        self.store
            .find_push_device(device)
            .await?
            .ok_or(Error::Push(mfa_push::Error::BadSignature))
    }

    fn requester(&self, user: &UserId, origin: &PushOrigin) -> Requester {
        let application = match origin.application.is_empty() {
            true => self.config.issuer.clone(),
            false => origin.application.clone(),
        };
        Requester {
            user: user.as_str().to_owned(),
            application,
            client_ip: origin.client_ip.clone(),
            location: origin.location.clone(),
        }
    }
}

fn push_key(method: &MethodRecord) -> Result<&mfa_push::NewDevice, Error> {
    match &method.credential {
        Credential::PushApp { key, .. } => Ok(key),
        _ => Err(Error::Push(mfa_push::Error::BadSignature)),
    }
}

/// The id of the approval an enrollment leaves: the offer's id, which only the browser that showed it
/// (and the device that scanned it) knows.
fn enrollment_challenge(offer: &EnrollmentOffer) -> Result<ChallengeId, Error> {
    Ok(ChallengeId::new(offer.enrollment_id().as_str())?)
}
