//! Passkeys and security keys (WebAuthn, `mfa-webauthn`, behind the `webauthn` feature): registration
//! (begin, confirm), the sign-in challenge and its verification.
//!
//! A ceremony's state is kept in the Store with an expiry, so any instance can finish a ceremony another
//! began, and it is used once: a registration's by [`Store::take_pending`]-like consumption in
//! [`Store::attempt`], a sign-in's by the attempt that answers it, right or wrong.

/// How long a passkey ceremony (registration or sign-in) may take: 5 minutes, within the range W3C Web
/// Authentication Level 3 recommends for a ceremony's timeout (§15.1: 300 to 600 seconds).
pub const PASSKEY_CEREMONY_TTL: std::time::Duration = std::time::Duration::from_secs(300);

#[cfg(not(feature = "webauthn"))]
mod disabled {
    use mfa_policy::UnixTime;

    use super::super::Mfa;
    use crate::outcome::Challenge;
    use crate::{Error, MethodRecord, PhoneDelivery, Store, UserId};

    impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
        pub(in crate::service) async fn passkey_challenge(
            &self,
            _user: &UserId,
            _methods: &[MethodRecord],
            _now: UnixTime,
        ) -> Result<Challenge, Error> {
            Err(Error::Unsupported {
                what: "passkeys (this service is built without the `webauthn` feature)",
            })
        }
    }
}

#[cfg(feature = "webauthn")]
pub(crate) use enabled::PasskeySetup;

#[cfg(feature = "webauthn")]
mod enabled {
    use std::sync::Arc;

    use mfa_policy::{SensitiveAction, UnixTime};
    use mfa_webauthn::{
        AuthenticationState, CredentialKind, RegistrationState, RelyingParty, StoredCredential,
        WebauthnConfig,
    };

    use super::super::registration::outlived_nothing;
    use super::super::{Mfa, checked_name};
    use super::PASSKEY_CEREMONY_TTL;
    use crate::outcome::{Challenge, Enrolled, PasskeyEnrollment, PasskeySent, Verified};
    use crate::{
        Attempt, AttemptTarget, Consume, Credential, Error, EventKind, Factor, LoadedCredential, MethodId,
        MethodRecord, PasskeyChallenge, PendingEnrollment, PhoneDelivery, Store, UserId, Verdict,
    };

    /// The relying party, once configured.
    #[derive(Debug, Clone)]
    pub(crate) struct PasskeySetup {
        rp: Arc<RelyingParty>,
    }

    /// The largest browser answer read (a registration with attestation is a few KiB).
    const MAX_RESPONSE_BYTES: usize = 64 * 1024;

    impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
        /// The same service with passkeys and security keys on, for the relying party `config` names
        /// (its id, name and origin: checked by every ceremony).
        ///
        /// # Errors
        ///
        /// [`Error::Webauthn`] for a configuration `mfa-webauthn` refuses (an origin whose host is
        /// not the relying party id or under it, say).
        pub fn with_webauthn(mut self, config: &WebauthnConfig) -> Result<Self, Error> {
            self.passkeys = Some(PasskeySetup {
                rp: Arc::new(RelyingParty::new(config)?),
            });
            Ok(self)
        }

        fn relying_party(&self) -> Result<&RelyingParty, Error> {
            self.passkeys.as_ref().map(|p| &*p.rp).ok_or(Error::Unsupported {
                what: "passkeys (WebAuthn is not configured: Mfa::with_webauthn)",
            })
        }

        /// Begins registering a passkey (`CredentialKind::Passkey`: discoverable, synced allowed) or a
        /// security key named `name`, for the account `user_name` the authenticator shows. Returns the
        /// options to pass to `navigator.credentials.create()`; then
        /// [`confirm_passkey_enrollment`](Self::confirm_passkey_enrollment) with the browser's answer
        /// within 5 minutes. A user who already has methods needs a fresh verification (step-up).
        pub async fn begin_passkey_enrollment(
            &self,
            user: &UserId,
            user_name: &str,
            name: &str,
            kind: CredentialKind,
            last_mfa_at: Option<UnixTime>,
        ) -> Result<PasskeyEnrollment, Error> {
            let rp = self.relying_party()?;
            let name = checked_name(name)?;
            let now = self.now();
            let (record, methods) = self.user_and_methods(user).await?;
            self.step_up(&record, &methods, SensitiveAction::AddMethod, last_mfa_at, now)?;
            let existing = stored_credentials(&methods);
            let max = self.config.max_passkeys;
            if existing.len() >= max {
                return Err(Error::LimitReached {
                    what: "passkeys and security keys",
                    max,
                });
            }
            let handle = self.tags.webauthn_user_handle(user);
            let (options, state) = rp.start_registration(handle, user_name, user_name, kind, &existing)?;
            let id = MethodId::generate()?;
            let expires_at = now.saturating_add(PASSKEY_CEREMONY_TTL);
            let pending = PendingEnrollment {
                method: MethodRecord {
                    id,
                    name,
                    created_at: now,
                    credential: Credential::PasskeyRegistration {
                        state: state.to_json()?,
                    },
                },
                expires_at,
            };
            self.store.put_pending(user, pending).await?;
            Ok(PasskeyEnrollment {
                method: id,
                options: json_value(&options)?,
                expires_at,
            })
        }

        /// Confirms a passkey registration with the browser's answer to `navigator.credentials.create()`
        /// (the `PublicKeyCredential` as JSON). The registration state is used once; a wrong answer
        /// counts toward the lock like any failed verification. The answer carries a proof, as
        /// [`confirm_app_enrollment`](Self::confirm_app_enrollment)'s does.
        pub async fn confirm_passkey_enrollment(
            &self,
            user: &UserId,
            method: MethodId,
            response: &[u8],
        ) -> Result<Enrolled, Error> {
            let rp = self.relying_party()?;
            check_size(response)?;
            let now = self.now();
            let attempt = self
                .store
                .attempt(
                    user,
                    AttemptTarget::Pending(method),
                    now,
                    &self.config.throttle,
                    |loaded| {
                        if let Err(error) = Self::check_prompts_allowed(loaded.user) {
                            return (Verdict::Abort, Err(error));
                        }
                        let LoadedCredential::Pending { pending, .. } = loaded.credential else {
                            return (Verdict::Reject, Err(Error::Rejected));
                        };
                        let Some(pending) =
                            pending.filter(|p| now < p.expires_at && outlived_nothing(loaded.user, p))
                        else {
                            return (Verdict::Reject, Err(Error::Rejected));
                        };
                        let Credential::PasskeyRegistration { state } = &pending.method.credential else {
                            return (Verdict::Reject, Err(Error::Rejected));
                        };
                        let state = match RegistrationState::from_json(state) {
                            Ok(state) => state,
                            Err(error) => return (Verdict::Abort, Err(error.into())),
                        };
                        match rp.finish_registration(response, state) {
                            Ok(credential) => (
                                Verdict::Accept(Consume::Pending),
                                Ok((pending.clone(), credential)),
                            ),
                            // Not an answer at all: nothing to count, and the registration waits for one.
                            Err(mfa_webauthn::Error::Malformed { .. }) => {
                                (Verdict::Abort, Err(not_an_answer()))
                            }
                            Err(_) => (Verdict::Reject, Err(Error::Rejected)),
                        }
                    },
                )
                .await?;
            let (pending, credential) = self.settle(user, now, Factor::Passkey, attempt)?;
            let method = MethodRecord {
                id: pending.method.id,
                name: pending.method.name,
                created_at: now,
                credential: Credential::Passkey {
                    credential_id: credential.id_text(),
                    credential: serde_json::to_string(&credential).map_err(|_| Error::Rejected)?,
                },
            };
            self.add_method(user, method, Factor::Passkey, now).await
        }

        pub(in crate::service) async fn passkey_challenge(
            &self,
            user: &UserId,
            methods: &[MethodRecord],
            now: UnixTime,
        ) -> Result<Challenge, Error> {
            let rp = self.relying_party()?;
            let credentials = stored_credentials(methods);
            let (options, state) = rp.start_authentication(&credentials)?;
            let expires_at = now.saturating_add(PASSKEY_CEREMONY_TTL);
            self.store
                .put_passkey_challenge(
                    user,
                    PasskeyChallenge {
                        state: state.to_json()?,
                        created_at: now,
                        expires_at,
                    },
                )
                .await?;
            Ok(Challenge::Passkey(PasskeySent {
                options: json_value(&options)?,
                expires_at,
            }))
        }

        /// Verifies the browser's answer to `navigator.credentials.get()` (the `PublicKeyCredential` as
        /// JSON) for the user's outstanding passkey challenge. One store call: the challenge is used
        /// up whatever the outcome, a failure is counted toward the lock, a success resets the count
        /// and keeps the credential's new signature counter and backup state. A counter that went
        /// backwards (a cloned authenticator?) is refused and raises
        /// [`EventKind::PasskeyCounterRegressed`].
        pub async fn verify_passkey(&self, user: &UserId, response: &[u8]) -> Result<Verified, Error> {
            let rp = self.relying_party()?;
            check_size(response)?;
            let now = self.now();
            let (_, methods) = self.user_and_methods(user).await?;
            let named = credential_id_of(response);
            // The method the answer names; an unknown one still uses up the challenge and counts.
            let method = methods
                .iter()
                .find(|m| matches!(&m.credential, Credential::Passkey { credential_id, .. } if Some(credential_id) == named.as_ref()))
                .map_or_else(MethodId::generate, |m| Ok(m.id))?;
            let attempt = self
                .store
                .attempt(
                    user,
                    AttemptTarget::Passkey(method),
                    now,
                    &self.config.throttle,
                    |loaded| {
                        if let Err(error) = Self::check_prompts_allowed(loaded.user) {
                            return (Verdict::Abort, Err(error));
                        }
                        let LoadedCredential::Passkey {
                            method: Some(found),
                            challenge: Some(challenge),
                        } = loaded.credential
                        else {
                            return (Verdict::Reject, Ok(false));
                        };
                        if !self.config.policy.allows_method(found.policy_method()) {
                            return (
                                Verdict::Abort,
                                Err(Error::NotAllowed(mfa_policy::Reason::NoAllowedMethod)),
                            );
                        }
                        let Credential::Passkey { credential, .. } = &found.credential else {
                            return (Verdict::Reject, Ok(false));
                        };
                        if now >= challenge.expires_at {
                            return (Verdict::Reject, Ok(false));
                        }
                        let (Ok(state), Ok(mut stored)) = (
                            AuthenticationState::from_json(&challenge.state),
                            serde_json::from_str::<StoredCredential>(credential),
                        ) else {
                            let what = "a passkey credential or challenge does not parse".to_owned();
                            return (
                                Verdict::Abort,
                                Err(Error::Store(crate::StoreError::Corrupt(what))),
                            );
                        };
                        match rp.finish_authentication(response, state) {
                            Ok(done) if done.credential_id() == stored.id() => {
                                stored.apply(&done);
                                match serde_json::to_string(&stored) {
                                    Ok(credential) => {
                                        (Verdict::Accept(Consume::Passkey { credential }), Ok(false))
                                    }
                                    Err(_) => (Verdict::Reject, Ok(false)),
                                }
                            }
                            Err(mfa_webauthn::Error::CounterRegressed) => (Verdict::Reject, Ok(true)),
                            _ => (Verdict::Reject, Ok(false)),
                        }
                    },
                )
                .await?;
            if let Attempt::Rejected { value: Ok(true), .. } = &attempt {
                self.emit(user, now, EventKind::PasskeyCounterRegressed { method });
            }
            self.settle(user, now, Factor::Passkey, attempt)?;
            Ok(self.succeeded(user, now, Factor::Passkey, Some(method), None))
        }
    }

    /// The user's passkeys as `mfa-webauthn` reads them (a record that does not parse is skipped: it
    /// cannot verify anything).
    fn stored_credentials(methods: &[MethodRecord]) -> Vec<StoredCredential> {
        methods
            .iter()
            .filter_map(|m| match &m.credential {
                Credential::Passkey { credential, .. } => serde_json::from_str(credential).ok(),
                _ => None,
            })
            .collect()
    }

    fn json_value(text: &str) -> Result<serde_json::Value, Error> {
        serde_json::from_str(text).map_err(|_| Error::Unsupported {
            what: "WebAuthn options that are not JSON",
        })
    }

    fn not_an_answer() -> Error {
        Error::InvalidCode {
            reason: "the WebAuthn answer is not a PublicKeyCredential in JSON",
        }
    }

    fn check_size(response: &[u8]) -> Result<(), Error> {
        if response.len() > MAX_RESPONSE_BYTES {
            return Err(Error::InvalidCode {
                reason: "the WebAuthn answer is larger than 64 KiB",
            });
        }
        Ok(())
    }

    /// The credential id a `PublicKeyCredential` JSON names (`rawId`, else `id`), as given.
    fn credential_id_of(response: &[u8]) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Named {
            #[serde(rename = "rawId")]
            raw_id: Option<String>,
            id: Option<String>,
        }
        let named: Named = serde_json::from_slice(response).ok()?;
        named.raw_id.or(named.id)
    }
}
