//! Administration and revocations: the MFA state, re-registration, revoking sessions, a password
//! change, suspicious-activity reports, re-sealing secrets under the current key.

use mfa_policy::MfaState;

use super::Mfa;
#[cfg(doc)]
use crate::{Config, UserRecord};
use crate::{Credential, Error, EventKind, PhoneDelivery, RevokedBy, Store, UserId};

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    /// Sets the user's MFA state (disabled, enabled, enforced). The
    /// [`MfaStateChanged`](EventKind::MfaStateChanged) event tells of a change only: setting the state
    /// the user already has emits nothing.
    pub async fn set_mfa_state(&self, user: &UserId, state: MfaState) -> Result<(), Error> {
        let now = self.now();
        // The state before, read in the same atomic update that sets it.
        let mut before = None;
        self.store
            .update_user(user, |r| {
                before = Some(r.mfa);
                r.mfa = state;
            })
            .await?;
        if before != Some(state) {
            self.emit(user, now, EventKind::MfaStateChanged { state });
        }
        Ok(())
    }

    /// Requires the user to register again: removes every method, the pending registration, the
    /// recovery codes (they stand in for the removed methods) and the remembered devices; the next
    /// sign-in asks for a registration. App passwords stay: delete them with
    /// [`delete_all_app_passwords`](Self::delete_all_app_passwords) if they are suspect too.
    pub async fn require_reregistration(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        // The methods go last: should a store call fail midway, a retry still finds them and clears
        // everything else again, and recovery codes never outlive a completed re-registration.
        self.store
            .update_user(user, |r| {
                r.default_method = None;
                r.methods_changed_at = Some(now);
            })
            .await?;
        // None of these reads what it removes, so a damaged row cannot stop the reset.
        self.store.replace_recovery_codes(user, Vec::new()).await?;
        self.store.clear_pending(user).await?;
        self.store.forget_all_devices(user).await?;
        self.store.remove_all_methods(user).await?;
        self.emit(user, now, EventKind::ReregistrationRequired);
        Ok(())
    }

    /// An administrator revokes the user's MFA sessions: every device must verify again, and
    /// remembered devices are forgotten.
    pub async fn revoke_mfa_sessions(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        self.store
            .update_user(user, |r| r.mfa_sessions_revoked_at = Some(now))
            .await?;
        let devices = self.store.forget_all_devices(user).await?;
        self.emit(
            user,
            now,
            EventKind::SessionsRevoked {
                by: RevokedBy::Admin,
                devices,
            },
        );
        Ok(())
    }

    /// "Require sign-in again on all devices", by the user: sessions issued before now are revoked
    /// (check [`UserRecord::sessions_valid_from`] in your session layer) and remembered devices are
    /// forgotten.
    pub async fn sign_out_everywhere(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        self.store
            .update_user(user, |r| r.sessions_valid_from = Some(now))
            .await?;
        let devices = self.store.forget_all_devices(user).await?;
        self.emit(
            user,
            now,
            EventKind::SessionsRevoked {
                by: RevokedBy::User,
                devices,
            },
        );
        Ok(())
    }

    /// Tells the service the user's password changed: every device must verify again, remembered
    /// devices are forgotten, and unless [`Config::password_change_revokes_app_passwords`] is off, the
    /// user's app passwords are deleted (whoever knew the old password may have made some).
    pub async fn password_changed(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        self.store
            .update_user(user, |r| r.password_changed_at = Some(now))
            .await?;
        // App passwords first: devices also die by the instant just stored, app passwords only here.
        let app_passwords = if self.config.password_change_revokes_app_passwords {
            self.store.delete_all_app_passwords(user).await?
        } else {
            0
        };
        let devices = self.store.forget_all_devices(user).await?;
        self.emit(
            user,
            now,
            EventKind::PasswordChanged {
                devices,
                app_passwords,
            },
        );
        Ok(())
    }

    /// Deletes all of the user's app passwords (administrator or user), and returns how many there were.
    pub async fn delete_all_app_passwords(&self, user: &UserId) -> Result<usize, Error> {
        let now = self.now();
        let count = self.store.delete_all_app_passwords(user).await?;
        self.emit(user, now, EventKind::AllAppPasswordsRevoked { count });
        Ok(count)
    }

    /// Reports "I didn't try to sign in": an event, and if the configuration says so, no more prompts
    /// or verifications until an administrator calls
    /// [`clear_suspicious_activity`](Self::clear_suspicious_activity).
    pub async fn report_suspicious_activity(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        let prompts_blocked = self.config.suspicious_report_blocks_prompts;
        if prompts_blocked {
            self.store
                .update_user(user, |r| r.suspicious_activity_reported = true)
                .await?;
        }
        self.emit(
            user,
            now,
            EventKind::SuspiciousActivityReported { prompts_blocked },
        );
        Ok(())
    }

    /// An administrator clears a suspicious-activity report.
    pub async fn clear_suspicious_activity(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        self.store
            .update_user(user, |r| r.suspicious_activity_reported = false)
            .await?;
        self.emit(user, now, EventKind::SuspiciousActivityCleared);
        Ok(())
    }

    /// Re-seals every authenticator-app secret of the user that is not under the current key in the
    /// current format (each is opened to tell), the pending registration's included, and returns how
    /// many were. (Secrets are also re-sealed one by one when they verify a code.) Once every user has
    /// been through it, the old key can be dropped.
    pub async fn reencrypt_user(&self, user: &UserId) -> Result<usize, Error> {
        let now = self.now();
        let mut count = 0;
        for method in self.store.list_methods(user).await? {
            if let Credential::AuthenticatorApp { secret, .. } = &method.credential {
                let opened = self.keys.open(user, method.id, secret)?;
                if opened.current {
                    continue;
                }
                let resealed = self.keys.seal(user, method.id, &opened.plaintext)?;
                if self.store.update_app_secret(user, method.id, resealed).await? {
                    count += 1;
                }
            }
        }
        if let Some(pending) = self.store.get_pending(user).await?
            && let Credential::AuthenticatorApp { secret, .. } = &pending.method.credential
        {
            let id = pending.method.id;
            let opened = self.keys.open(user, id, secret)?;
            if !opened.current {
                let resealed = self.keys.seal(user, id, &opened.plaintext)?;
                // Changes nothing if the registration was confirmed or replaced meanwhile.
                if self.store.update_pending_secret(user, id, resealed).await? {
                    count += 1;
                }
            }
        }
        if count > 0 {
            self.emit(user, now, EventKind::SecretsReencrypted { count });
        }
        Ok(count)
    }
}
