//! A clock per tokio task, so that concurrent tasks of a benchmark each walk their own user through
//! new time steps.

use std::cell::Cell;

use mfa::{Clock, UnixTime};

tokio::task_local! {
    /// The time of the calling task, in Unix seconds: set by `TASK_NOW.scope(..)`, moved on with
    /// `TASK_NOW.with(..)`.
    pub(crate) static TASK_NOW: Cell<i64>;
}

/// Reads the calling task's [`TASK_NOW`]; outside a task scope, `outside`.
#[derive(Debug)]
pub(crate) struct TaskClock {
    pub(crate) outside: i64,
}

impl Clock for TaskClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(TASK_NOW.try_with(Cell::get).unwrap_or(self.outside))
    }
}
