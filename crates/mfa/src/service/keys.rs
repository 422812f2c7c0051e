//! The start-up check of the keys: each key's check value against the one the store recorded.

use super::Mfa;
use crate::{Error, KeyCheck, PhoneDelivery, Store};

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    /// Checks the key ring and the tag secret against the store: call it once at start-up, before
    /// serving, so a wrong key stops the service there instead of failing the first sign-in.
    ///
    /// For each key of the [`KeyRing`](crate::KeyRing) and for the [`TagSecret`](crate::TagSecret),
    /// the store keeps a check value ([`KeyCheck`]: a MAC of a fixed label under a subkey of the key,
    /// never the key). A key with no recorded check has its check recorded (the first start, or a new
    /// key after a rotation); a key whose recorded check differs is refused with
    /// [`Error::WrongKey`] naming it: a mistyped key, keys swapped between ids, another
    /// environment's secrets. Recorded checks are compared before anything new is recorded.
    /// Instances starting together agree: a check is recorded once and never replaced.
    ///
    /// Checks of keys you have since dropped from the ring stay recorded (so an id is never reused
    /// for another key) and are not looked at. To replace the tag secret on purpose (which makes
    /// stored recovery codes and app passwords unusable), delete its check from the store first
    /// (in `mfa-sqlx`: the row `tag-secret` of `mfa_key_checks`).
    ///
    /// ```
    /// use mfa::{CheckedKey, Config, Error, KeyId, KeyRing, MemoryStore, Mfa, RecordingPhoneDelivery, TagSecret};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let store = MemoryStore::new();
    /// let service = |key: [u8; 32]| {
    ///     Mfa::new(
    ///         Config::default(),
    ///         KeyRing::new(KeyId(1), &key)?,
    ///         TagSecret::from_bytes(&[0x22; 32])?,
    ///         store.clone(),
    ///         RecordingPhoneDelivery::new(),
    ///     )
    /// };
    /// // The first start records the keys' check values.
    /// service([0x11; 32])?.check_keys().await?;
    /// // A start with another key 1 is refused before it serves anyone.
    /// let error = service([0x12; 32])?.check_keys().await.unwrap_err();
    /// assert!(matches!(error, Error::WrongKey { key: CheckedKey::Ring(KeyId(1)) }));
    /// assert_eq!(
    ///     error.to_string(),
    ///     "wrong key: the key 1 of the key ring is not the one this store was used with \
    ///      (its check value differs from the recorded one)"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn check_keys(&self) -> Result<(), Error> {
        let mut ours = self.keys.key_checks();
        ours.push(self.tags.key_check());
        let recorded = self.store.key_checks().await?;
        let mut missing = Vec::new();
        for check in &ours {
            match recorded.iter().find(|known| known.key == check.key) {
                Some(known) => refuse_if_different(check, known)?,
                None => missing.push(*check),
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        // Set-if-absent: another instance may have recorded some of them since we read.
        let recorded = self.store.record_key_checks(missing.clone()).await?;
        if recorded.len() != missing.len() {
            return Err(crate::StoreError::Corrupt(format!(
                "record_key_checks returned {} checks for {}",
                recorded.len(),
                missing.len()
            ))
            .into());
        }
        for (check, known) in missing.iter().zip(&recorded) {
            refuse_if_different(check, known)?;
        }
        Ok(())
    }
}

/// [`Error::WrongKey`] unless `known`, the check the store has for `check`'s key, is `check`.
fn refuse_if_different(check: &KeyCheck, known: &KeyCheck) -> Result<(), Error> {
    if known.key == check.key && known.value == check.value {
        Ok(())
    } else {
        Err(Error::WrongKey { key: check.key })
    }
}
