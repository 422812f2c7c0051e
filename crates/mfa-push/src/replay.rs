use std::collections::HashMap;

use mfa_policy::UnixTime;

use crate::{DeviceId, Error, Nonce, ReplayKey};

/// Where a service remembers the nonces of accepted device requests, so that each is accepted once.
///
/// The rule every implementation keeps: [`remember`](Self::remember) refuses a key whose device and
/// nonce are already remembered and not past their [`keep_until`](ReplayKey::keep_until), and
/// otherwise records it, atomically (two concurrent requests with one nonce: one succeeds). Entries
/// past their `keep_until` may be dropped at any time. Call it only after the request's signature
/// verified, so that no one else can fill it.
///
/// [`MemoryReplayCache`] is the implementation for one process; a service of several processes keeps
/// the same entries in its shared store (the `mfa` facade does, in its `Store`).
pub trait ReplayCache {
    /// Records `key`, or refuses it with [`Error::Replayed`] (or [`Error::ReplayCacheFull`]).
    fn remember(&mut self, key: &ReplayKey, now: UnixTime) -> Result<(), Error>;
}

/// A replay cache in memory, of at most `capacity` entries: when it is full of entries still to be
/// kept, a new request is refused with [`Error::ReplayCacheFull`] rather than risking a replay.
///
/// ```
/// use mfa_push::{DeviceId, Error, MemoryReplayCache, Nonce, ReplayCache, ReplayKey, UnixTime};
///
/// let t = UnixTime::from_secs(1_700_000_000);
/// let key = ReplayKey::new(DeviceId::new("d")?, Nonce::from_bytes([1; 16]), t);
/// let mut cache = MemoryReplayCache::new(1);
/// cache.remember(&key, t)?;
/// assert_eq!(cache.remember(&key, t), Err(Error::Replayed));
/// let other = ReplayKey::new(DeviceId::new("d")?, Nonce::from_bytes([2; 16]), t);
/// assert_eq!(cache.remember(&other, t), Err(Error::ReplayCacheFull));
/// // 61 seconds on, the first entry may go.
/// cache.remember(&other, UnixTime::from_secs(1_700_000_061))?;
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MemoryReplayCache {
    seen: HashMap<(DeviceId, Nonce), i64>,
    capacity: usize,
}

impl MemoryReplayCache {
    /// An empty cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        MemoryReplayCache {
            seen: HashMap::new(),
            capacity,
        }
    }

    /// Entries held (expired ones included until they are dropped).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Drops the entries past their `keep_until`.
    pub fn prune(&mut self, now: UnixTime) {
        let now = now.as_secs();
        self.seen.retain(|_, keep_until| *keep_until >= now);
    }
}

impl ReplayCache for MemoryReplayCache {
    fn remember(&mut self, key: &ReplayKey, now: UnixTime) -> Result<(), Error> {
        let id = (key.device_id().clone(), *key.nonce());
        if self
            .seen
            .get(&id)
            .is_some_and(|&keep_until| keep_until >= now.as_secs())
        {
            return Err(Error::Replayed);
        }
        if self.seen.len() >= self.capacity && !self.seen.contains_key(&id) {
            self.prune(now);
            if self.seen.len() >= self.capacity {
                return Err(Error::ReplayCacheFull);
            }
        }
        self.seen.insert(id, key.keep_until().as_secs());
        Ok(())
    }
}
