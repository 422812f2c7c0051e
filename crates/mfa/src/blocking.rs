//! A bounded pool for CPU-heavy blocking work (argon2 password hashing): the work runs on tokio's
//! blocking threads, never on the async worker threads, and at most `size` jobs run at once.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// Why a job of a [`BlockingPool`] gave no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interrupted {
    /// The job panicked.
    Panicked,
    /// The runtime shut down before the job ran.
    ShutDown,
}

impl Interrupted {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Interrupted::Panicked => "the hashing job panicked",
            Interrupted::ShutDown => "the runtime is shutting down",
        }
    }
}

/// At most `size` jobs at once on tokio's blocking threads; the rest wait their turn, first come
/// first served, without holding an async thread.
///
/// Cancellation: a caller that goes away while it waits for its turn takes no slot (the waiting is
/// cancel-safe). A caller that goes away while its job runs leaves the job to finish on its blocking
/// thread, which keeps its slot until then: the slot is owned by the job, not by the caller's future,
/// so it is given back exactly when the CPU and memory are free again, and never leaked. The job's
/// result is then dropped; jobs only compute, so nothing is half-stored.
///
/// Outside a tokio runtime (another executor) the job runs on the calling thread, still counted.
#[derive(Debug, Clone)]
pub(crate) struct BlockingPool {
    slots: Arc<Semaphore>,
}

impl BlockingPool {
    /// A pool that runs at most `size` jobs at once (at least one).
    pub(crate) fn new(size: usize) -> Self {
        BlockingPool {
            slots: Arc::new(Semaphore::new(size.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }

    /// Runs `job` once a slot is free and returns its result.
    pub(crate) async fn run<T, F>(&self, job: F) -> Result<T, Interrupted>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // The semaphore is never closed, so acquiring fails only if it were.
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| Interrupted::ShutDown)?;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime
                .spawn_blocking(move || {
                    let _slot = slot; // given back when the job ends, whoever waits for it
                    job()
                })
                .await
                .map_err(|e| {
                    if e.is_panic() {
                        Interrupted::Panicked
                    } else {
                        Interrupted::ShutDown
                    }
                }),
            Err(_) => {
                let _slot = slot;
                Ok(job())
            }
        }
    }

    /// Slots free now (for the tests).
    #[cfg(test)]
    fn free(&self) -> usize {
        self.slots.available_permits()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::pin::pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    use super::{BlockingPool, Interrupted};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_jobs_at_once_than_its_size() {
        let pool = BlockingPool::new(3);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..12)
            .map(|_| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert_eq!(pool.free(), 3);
    }

    #[tokio::test]
    async fn a_dropped_caller_leaks_no_slot() {
        let pool = BlockingPool::new(1);
        // A job that runs until the test lets it end.
        let gate = Arc::new(Barrier::new(2));
        let job_gate = gate.clone();
        let mut running = Box::pin(pool.run(move || {
            job_gate.wait();
        }));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(running.as_mut().poll(&mut cx).is_pending());
        assert_eq!(pool.free(), 0, "the running job holds the slot");

        // A second caller waits for the slot, then goes away before it gets it.
        {
            let mut waiting = Box::pin(pool.run(|| ()));
            assert!(waiting.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(pool.free(), 0);

        // The first caller goes away while its job runs: the job keeps the slot until it ends.
        drop(running);
        assert_eq!(pool.free(), 0, "the slot stays with the job, not the caller");
        gate.wait();
        let back = tokio::time::timeout(Duration::from_secs(10), async {
            while pool.free() != 1 {
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(back.is_ok(), "the slot came back when the job ended");
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_gives_its_slot_back() {
        let pool = BlockingPool::new(1);
        let outcome = pool.run(|| -> u8 { panic!("job failed") }).await;
        assert_eq!(outcome, Err(Interrupted::Panicked));
        assert_eq!(pool.free(), 1);
    }

    #[test]
    fn outside_a_runtime_the_job_runs_on_the_caller() {
        let pool = BlockingPool::new(1);
        let mut run = pin!(pool.run(|| std::thread::current().id()));
        let Poll::Ready(Ok(id)) = run.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
            panic!("expected the job to run at once");
        };
        assert_eq!(id, std::thread::current().id());
    }
}
