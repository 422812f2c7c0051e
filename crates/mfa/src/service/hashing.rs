//! App-password hashing off the async threads: the flows hand each argon2 evaluation to the
//! service's [`BlockingPool`](crate::blocking::BlockingPool) and wait for it without blocking.

use std::sync::Arc;

use mfa_app_password::AppPasswords;

use super::Mfa;
use crate::{Error, PhoneDelivery, Store};

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    /// Runs `job` (which hashes: issue, verify, refresh) on the hashing pool, at most
    /// [`Config::hashing_concurrency`](crate::Config::hashing_concurrency) at once. `job` owns what
    /// it needs (the pool's threads outlive a dropped caller) and only computes: storing its result
    /// is the caller's next step, so a caller dropped meanwhile stores nothing.
    pub(super) async fn off_thread<T, F>(&self, job: F) -> Result<T, Error>
    where
        F: FnOnce(&AppPasswords) -> T + Send + 'static,
        T: Send + 'static,
    {
        let app_passwords = Arc::clone(&self.app_passwords);
        self.hashing
            .run(move || job(&app_passwords))
            .await
            .map_err(|interrupted| Error::HashingInterrupted {
                reason: interrupted.reason(),
            })
    }
}
