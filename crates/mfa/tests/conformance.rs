//! MemoryStore against the Store conformance suite, races included.

use mfa::MemoryStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_meets_every_store_contract() -> Result<(), mfa::conformance::Failure> {
    mfa::conformance::run_all(|| async { MemoryStore::new() }).await
}

/// The races are probabilistic; run them a few more times so a rare interleaving gets its chance.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_races_hold_repeatedly() -> Result<(), mfa::conformance::Failure> {
    use std::sync::Arc;
    for _ in 0..25 {
        let store = Arc::new(MemoryStore::new());
        mfa::conformance::totp_step_race(Arc::clone(&store)).await?;
        mfa::conformance::throttle_race(Arc::clone(&store)).await?;
        mfa::conformance::phone_challenge_race(Arc::clone(&store)).await?;
        mfa::conformance::recovery_code_race(Arc::clone(&store)).await?;
        mfa::conformance::methods_cap_race(Arc::clone(&store)).await?;
        mfa::conformance::app_password_cap_race(Arc::clone(&store)).await?;
        mfa::conformance::phone_send_race(Arc::clone(&store)).await?;
        mfa::conformance::pending_race(Arc::clone(&store)).await?;
        mfa::conformance::users_race(store).await?;
    }
    Ok(())
}
