//! Remembered devices ("don't ask again on this device"): remembering one, listing and forgetting them.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::{Mfa, checked_name};
use crate::ids::random_bytes;
use crate::keys::token_hash;

use crate::outcome::{DeviceSummary, DeviceToken, RememberedDevice, Verified};
use crate::{DeviceId, DeviceRecord, Error, EventKind, PhoneDelivery, Store, UserId};

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    /// Remembers the device after a verification ("don't ask again on this device"), named `name`
    /// ("Firefox on Linux"). Set the returned token as a cookie. Needs a proof at most the policy's
    /// step-up freshness old; refused when the policy turns remembering off.
    pub async fn remember_device(&self, proof: &Verified, name: &str) -> Result<RememberedDevice, Error> {
        let name = checked_name(name)?;
        let now = self.now();
        let policy = &self.config.policy;
        if policy.remembered_until(proof.at).is_none() {
            return Err(Error::Unsupported {
                what: "remembered devices (the policy turns them off)",
            });
        }
        let fresh_until = proof.at.saturating_add(policy.config().step_up_freshness);
        // (A registration's proof is dated a millisecond after its change; a clock that stepped back
        // further than a second is refused.)
        if now >= fresh_until || now.saturating_add(Duration::from_secs(1)) < proof.at {
            return Err(Error::StepUpRequired);
        }
        // A block or a suspicious-activity report made since the proof wins over it, and a
        // revocation at or after the proof's instant revoked it.
        let record = self.store.get_user(&proof.user).await?.unwrap_or_default();
        Self::check_prompts_allowed(&record)?;
        if record.revokes(proof.at) {
            return Err(Error::StepUpRequired);
        }
        let token_bytes = Zeroizing::new(random_bytes::<32>()?);
        let token = DeviceToken(Zeroizing::new(URL_SAFE_NO_PAD.encode(&token_bytes[..])));
        let id = DeviceId::generate()?;
        let device = DeviceRecord {
            id,
            name,
            token_hash: token_hash(&token_bytes[..]),
            created_at: proof.at,
            last_used_at: now,
        };
        let cap = self.config.max_remembered_devices;
        let evicted = self.store.insert_device_capped(&proof.user, device, cap).await?;
        self.emit(&proof.user, now, EventKind::DeviceRemembered { device: id });
        for device in evicted {
            self.emit(&proof.user, now, EventKind::DeviceForgotten { device });
        }
        let (lapses_at, ends_at) = self.config.policy.remembered_lapse(proof.at, now);
        Ok(RememberedDevice {
            id,
            token,
            lapses_at,
            ends_at,
        })
    }

    /// The user's remembered devices: name, when remembered and last used, and when each lapses.
    pub async fn list_devices(&self, user: &UserId) -> Result<Vec<DeviceSummary>, Error> {
        let devices = self.store.list_devices(user).await?;
        Ok(devices
            .into_iter()
            .map(|d| {
                let (lapses_at, ends_at) = self.config.policy.remembered_lapse(d.created_at, d.last_used_at);
                DeviceSummary {
                    id: d.id,
                    name: d.name,
                    created_at: d.created_at,
                    last_used_at: d.last_used_at,
                    lapses_at,
                    ends_at,
                }
            })
            .collect())
    }

    /// Forgets one remembered device: it is asked for a second factor again.
    pub async fn forget_device(&self, user: &UserId, device: DeviceId) -> Result<(), Error> {
        let now = self.now();
        if !self.store.forget_device(user, device).await? {
            return Err(Error::NotFound { what: "device" });
        }
        self.emit(user, now, EventKind::DeviceForgotten { device });
        Ok(())
    }
}
