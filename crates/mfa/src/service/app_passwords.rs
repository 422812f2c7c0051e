//! App passwords for legacy clients: creating, listing, revoking and verifying them.

use mfa_app_password::{AppPasswordId, AppPasswordRecord, IssueOptions};
use mfa_policy::{Action, DeviceState, Reason, SensitiveAction, SignInContext, UnixTime};
use zeroize::Zeroizing;

use super::{Mfa, unix_secs};
use crate::outcome::{AppPasswordSummary, NewAppPassword};
use crate::{Error, EventKind, Factor, PhoneDelivery, Store, UserId, UserRecord};

fn instant(secs: u64) -> UnixTime {
    UnixTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX))
}

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    /// Creates an app password named `name` (step-up); show its plaintext once. Refused when the
    /// policy turns app passwords off; at most `app_passwords.max_per_user` per user. A name the
    /// rules of names refuse is [`Error::InvalidName`], as for methods and devices.
    ///
    /// Hashing costs one argon2id evaluation (tens of milliseconds with the defaults); it runs on the
    /// service's hashing pool, off the async threads (see [`Config::max_concurrent_hashes`](crate::Config::max_concurrent_hashes)).
    pub async fn create_app_password(
        &self,
        user: &UserId,
        name: &str,
        last_mfa_at: Option<UnixTime>,
    ) -> Result<NewAppPassword, Error> {
        if !self.config.policy.config().allow_app_passwords {
            return Err(Error::NotAllowed(Reason::LegacyClientBlocked));
        }
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        Self::require_a_method(&methods)?;
        self.step_up(
            &record,
            &methods,
            SensitiveAction::CreateAppPassword,
            last_mfa_at,
            now,
        )?;
        // Records older than a password change never verify (should its deletion have failed): they
        // go now, and do not count toward the cap.
        let mut existing = 0;
        for stale in self.store.list_app_passwords(user).await? {
            if self.outlives_password_change(&stale, &record) {
                existing += 1;
            } else {
                self.store.delete_app_password(user, stale.id()).await?;
            }
        }
        let (name, secs) = (name.to_owned(), unix_secs(now)?);
        let issued = self
            .off_thread(move |app_passwords| {
                app_passwords.issue(existing, &name, IssueOptions::default(), secs)
            })
            .await?
            .map_err(|e| match e {
                mfa_app_password::Error::TooManyAppPasswords { max } => Error::LimitReached {
                    what: "app passwords",
                    max,
                },
                // The user's input, named as for methods and devices: not a server error.
                mfa_app_password::Error::InvalidName { reason } => Error::InvalidName { reason },
                other => Error::AppPassword(other),
            })?;
        let id = issued.record.id();
        let max = self.app_passwords.max_per_user();
        if !self
            .store
            .insert_app_password_capped(user, issued.record, max)
            .await?
        {
            return Err(Error::LimitReached {
                what: "app passwords",
                max,
            });
        }
        // Hashing took a while: a revocation (a password change above all, which deletes app
        // passwords) may have landed since the step-up. It revoked the proof the step-up rested on,
        // so the new credential goes. A revocation after this read deletes it itself, or revokes the
        // proof of a later request.
        let after = self.store.get_user(user).await?.unwrap_or_default();
        if last_mfa_at.is_none_or(|at| after.revokes(at)) {
            self.store.delete_app_password(user, id).await?;
            return Err(Error::StepUpRequired);
        }
        self.emit(user, now, EventKind::AppPasswordCreated { id });
        Ok(NewAppPassword {
            id,
            password: issued.password,
        })
    }

    /// The user's app passwords: names, creation, last use, expiry and scope (no hash). One that can
    /// no longer verify (older than a password change) is not listed.
    pub async fn list_app_passwords(&self, user: &UserId) -> Result<Vec<AppPasswordSummary>, Error> {
        let record = self.store.get_user(user).await?.unwrap_or_default();
        let records = self.store.list_app_passwords(user).await?;
        Ok(records
            .iter()
            .filter(|r| self.outlives_password_change(r, &record))
            .map(|r| AppPasswordSummary {
                id: r.id(),
                name: r.name().as_str().to_owned(),
                created_at: instant(r.created_at()),
                last_used_at: r.last_used_at().map(instant),
                expires_at: r.expires_at().map(instant),
                scope: r.scope().map(|s| s.as_str().to_owned()),
            })
            .collect())
    }

    /// Whether an app password still verifies after the user's last password change: created after
    /// it, or the configuration keeps app passwords across changes. (App passwords carry whole
    /// seconds, so one created in the second of the change counts as after it; the change deletes
    /// those made before it, and a creation it overtook deletes its own.)
    fn outlives_password_change(&self, app_password: &AppPasswordRecord, record: &UserRecord) -> bool {
        match record.password_changed_at {
            Some(changed) if self.config.password_change_revokes_app_passwords => {
                i64::try_from(app_password.created_at()).is_ok_and(|created| created >= changed.as_secs())
            }
            _ => true,
        }
    }

    /// Revokes one app password.
    pub async fn revoke_app_password(&self, user: &UserId, id: AppPasswordId) -> Result<(), Error> {
        let now = self.now();
        if !self.store.delete_app_password(user, id).await? {
            return Err(Error::NotFound { what: "app password" });
        }
        self.emit(user, now, EventKind::AppPasswordRevoked { id });
        Ok(())
    }

    /// Verifies an app password typed into a legacy client (IMAP, SMTP, old office apps) instead of
    /// the account password. Refused with [`Error::NotAllowed`] when the policy denies legacy clients
    /// (app passwords off, blocked, suspicious activity reported); [`Error::Rejected`] when none
    /// matches, or the one that matched was revoked while it was being checked. App-password failures
    /// are not counted toward the MFA lock: a client retrying a stale password would otherwise lock
    /// the user out of interactive sign-in, and app passwords of 75 random bits (16 letters, the
    /// default format) need no lock against guessing.
    pub async fn verify_app_password(
        &self,
        user: &UserId,
        typed: &str,
        scope: Option<&str>,
    ) -> Result<AppPasswordId, Error> {
        if !self.config.policy.config().allow_app_passwords {
            return Err(Error::NotAllowed(Reason::LegacyClientBlocked));
        }
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        let context = SignInContext::legacy_sign_in(now);
        let decision = self.config.policy.decide(
            &record.policy_state(&methods),
            &DeviceState::default(),
            &context,
            now,
        );
        if let Some(reason) = decision.reasons.iter().find(|r| r.action() == Action::Deny) {
            return Err(Error::NotAllowed(*reason));
        }
        let mut records = self.store.list_app_passwords(user).await?;
        // `password_changed` deletes them; should that have failed, they still never verify.
        records.retain(|r| self.outlives_password_change(r, &record));
        let secs = unix_secs(now)?;
        let (typed_owned, scope) = (Zeroizing::new(typed.to_owned()), scope.map(str::to_owned));
        let (records, found) = self
            .off_thread(move |app_passwords| {
                let found = app_passwords.verify(&typed_owned, &records, secs, scope.as_deref());
                (records, found)
            })
            .await?;
        let Some(found) = found? else {
            self.emit(
                user,
                now,
                EventKind::VerificationFailed {
                    factor: Factor::AppPassword,
                    failures: None,
                },
            );
            return Err(Error::Rejected);
        };
        let mut used = records.into_iter().nth(found.index).ok_or(Error::Rejected)?;
        used.mark_used(secs);
        if found.needs_refresh {
            let typed = Zeroizing::new(typed.to_owned());
            used = self
                .off_thread(move |app_passwords| app_passwords.refresh(&typed, &mut used).map(|()| used))
                .await??;
        }
        if !self.store.update_app_password(user, used).await? {
            // Revoked while it was being checked: once revoked, an app password never signs in.
            return Err(Error::Rejected);
        }
        self.emit(user, now, EventKind::AppPasswordUsed { id: found.id });
        Ok(found.id)
    }
}
