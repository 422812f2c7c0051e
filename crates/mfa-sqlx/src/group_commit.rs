//! Group commit for SQLite: a store's concurrent write operations share one `BEGIN IMMEDIATE …
//! COMMIT`, each inside its own savepoint.
//!
//! SQLite has one write lock and, with `synchronous = FULL`, every commit waits for the disk. So
//! operations queue at the store's writer (a fair mutex) and run one at a time, as before; but an
//! operation that finishes while others are queued releases its savepoint and leaves the
//! transaction open for the next one instead of committing. The operation that finds no one queued
//! (or fills the batch to [`MAX_BATCH`]) commits, and every operation of the batch learns the
//! commit's outcome: none reports success before the commit that holds it. A lone operation commits
//! at once and waits for nothing.
//!
//! An operation that fails, or whose future is dropped mid-way, is rolled back to its savepoint and
//! the batch goes on without it. The end of every operation (release or roll back, then defer or
//! commit) runs on a task of its own, so a caller that goes away cannot leave the batch open or
//! its other members waiting.

use core::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mfa::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{Executor, Sqlite};
use tokio::sync::{OwnedMutexGuard, watch};

use crate::rows::db;

/// Most operations in one transaction: bounds how long a batch holds the write lock.
pub(crate) const MAX_BATCH: usize = 32;

/// How often `BEGIN IMMEDIATE` is retried when it still finds the database locked after the busy
/// timeout (many writers in several processes).
const BEGIN_RETRIES: u32 = 3;

/// The outcome of a batch's commit, as its members learn it: `None` until it is known.
type Outcome = Option<Result<(), String>>;

/// One store's writer: the queue of its write operations and the batch they share.
#[derive(Debug)]
pub(crate) struct Writer {
    pool: SqlitePool,
    batch: Arc<tokio::sync::Mutex<Batch>>,
    /// Operations waiting for their turn: while there are any, a finished operation leaves the
    /// transaction open for them.
    queued: AtomicUsize,
    /// Transactions committed, for the tests.
    commits: AtomicUsize,
}

/// The open transaction, if any.
#[derive(Debug, Default)]
struct Batch {
    /// The connection that holds the open transaction; `None` when none is open.
    conn: Option<PoolConnection<Sqlite>>,
    /// Operations whose work is in the open transaction.
    members: usize,
    /// Where the members of the open transaction learn its outcome.
    outcome: Option<watch::Sender<Outcome>>,
    /// The operation before left a savepoint open for the next one (saving it a round trip).
    savepoint_ready: bool,
    /// Operations that had a turn in the open transaction, kept or rolled back: what bounds a batch
    /// (operations that roll back must not keep it open for ever).
    turns: usize,
}

impl Writer {
    pub(crate) fn new(pool: SqlitePool) -> Arc<Self> {
        Arc::new(Writer {
            pool,
            batch: Arc::default(),
            queued: AtomicUsize::new(0),
            commits: AtomicUsize::new(0),
        })
    }

    /// Waits for this store's turn to write, joins the open transaction or begins one (`BEGIN
    /// IMMEDIATE`, which waits for the database's write lock), and opens a savepoint for the
    /// operation.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<SqliteTx, StoreError> {
        let ticket = Queued::new(self);
        let mut batch = self.batch.clone().lock_owned().await;
        ticket.served();
        if batch.conn.is_none() {
            let conn = self.begin_immediate().await?;
            let (sender, _) = watch::channel(None);
            *batch = Batch {
                conn: Some(conn),
                members: 0,
                outcome: Some(sender),
                savepoint_ready: false,
                turns: 0,
            };
        }
        // The first operation of a transaction needs no savepoint: undoing it is undoing the
        // transaction. That keeps a lone operation at BEGIN, its statements and COMMIT.
        batch.turns += 1;
        let savepoint = batch.members > 0;
        let ready = std::mem::take(&mut batch.savepoint_ready);
        let mut tx = SqliteTx {
            batch: Some(batch),
            writer: Arc::clone(self),
            joined: false,
            savepoint: savepoint || ready,
        };
        if savepoint && !ready {
            tx.execute("SAVEPOINT mfa_op").await.map_err(db)?;
        }
        tx.joined = true;
        if let Some(batch) = tx.batch.as_mut() {
            batch.members += 1;
        }
        Ok(tx)
    }

    /// A pooled connection in a new `BEGIN IMMEDIATE` transaction, retried a few times when another
    /// process holds the write lock longer than the busy timeout.
    async fn begin_immediate(&self) -> Result<PoolConnection<Sqlite>, StoreError> {
        let mut retries = 0;
        loop {
            let mut beginning = Beginning(Some(self.pool.acquire().await.map_err(db)?));
            let result = match beginning.0.as_mut() {
                Some(conn) => conn.execute("BEGIN IMMEDIATE").await,
                None => continue,
            };
            let Some(conn) = beginning.0.take() else { continue };
            match result {
                Ok(_) => return Ok(conn),
                // BEGIN failed, so no transaction is open: the connection may go back.
                Err(error) if is_busy(&error) && retries < BEGIN_RETRIES => retries += 1,
                Err(error) => return Err(db(error)),
            }
        }
    }

    /// Ends an operation's turn: releases its savepoint (or rolls back to it), then leaves the
    /// transaction open for a queued operation, or commits it. Returns when the outcome of the
    /// operation's work is known: committed, rolled back, or failed.
    async fn end(self: Arc<Self>, batch: OwnedMutexGuard<Batch>, keep: bool, op: Op) -> Result<(), String> {
        // Should this task be dropped before it is done (its runtime shutting down), the batch is
        // given up rather than left open with this operation's work in it.
        let mut ending = Ending(Some(batch));
        let Some(batch) = ending.0.as_mut() else {
            return Err("the write transaction was already closed".to_owned());
        };
        let result = self.end_turn(batch, keep, op).await;
        if let Some(batch) = ending.0.take() {
            drop(batch);
        }
        match result {
            Turn::Done(result) => result,
            Turn::Wait(mut outcome) => match outcome.wait_for(Option::is_some).await {
                Ok(result) => result.clone().unwrap_or(Ok(())),
                Err(_) => Err("the write transaction ended without an outcome".to_owned()),
            },
        }
    }

    /// The part of [`end`](Self::end) that holds the turn.
    async fn end_turn(&self, batch: &mut Batch, keep: bool, op: Op) -> Turn {
        let joined = op.joined;
        if joined && !keep {
            batch.members -= 1;
        }
        // Undoing the first operation (it has no savepoint) is rolling back the transaction.
        let undo_all = joined && !keep && !op.savepoint;
        // Someone is queued: they continue this transaction, and the last one commits it.
        let defer = !undo_all && self.queued.load(Ordering::SeqCst) > 0 && batch.turns < MAX_BATCH;
        // When deferring, the savepoint of the next operation is opened in the same round trip (a
        // savepoint rolled back to stays open, ready for reuse).
        let sql = match (joined && op.savepoint, keep, defer) {
            (true, true, false) => Some("RELEASE mfa_op"),
            (true, true, true) => Some("RELEASE mfa_op; SAVEPOINT mfa_op"),
            (true, false, false) => Some("ROLLBACK TO mfa_op; RELEASE mfa_op"),
            (true, false, true) => Some("ROLLBACK TO mfa_op"),
            (false, _, true) => Some("SAVEPOINT mfa_op"),
            (false, _, false) => None,
        };
        if let Some(sql) = sql {
            let Some(conn) = batch.conn.as_mut() else {
                return Turn::Done(Err("the write transaction was already closed".to_owned()));
            };
            if let Err(error) = conn.execute(sql).await {
                // The savepoint's state is unknown: nothing of this batch may commit.
                Self::abandon(batch, &error.to_string());
                return Turn::Done(Err(error.to_string()));
            }
        }
        // An operation that kept its work answers with the commit; so does one that rolled back
        // after reading others' uncommitted work (its answer, a refusal, may rest on it).
        let waits_for_commit = joined && (keep || batch.members > 0);
        if defer {
            batch.savepoint_ready = true;
            return match (waits_for_commit, batch.outcome.as_ref()) {
                (false, _) => Turn::Done(Ok(())),
                (true, Some(outcome)) => Turn::Wait(outcome.subscribe()),
                (true, None) => Turn::Done(Err("the write transaction has no outcome".to_owned())),
            };
        }
        let result = self.finish(batch).await;
        Turn::Done(if waits_for_commit { result } else { Ok(()) })
    }

    /// Commits the open transaction (or rolls it back when no operation's work is in it), returns
    /// its connection to the pool and tells the members.
    async fn finish(&self, batch: &mut Batch) -> Result<(), String> {
        let sql = if batch.members == 0 { "ROLLBACK" } else { "COMMIT" };
        // The connection stays in the batch until the outcome is known: dropped meanwhile, the
        // batch is given up and the connection closed (see `Ending`).
        let result = match batch.conn.as_mut() {
            Some(conn) => conn.execute(sql).await.map(drop).map_err(|e| e.to_string()),
            None => return Ok(()),
        };
        if let Some(mut conn) = batch.conn.take()
            && result.is_err()
        {
            // Whatever the transaction's state, closing the connection ends it.
            conn.close_on_drop();
        }
        if result.is_ok() && batch.members > 0 {
            self.commits.fetch_add(1, Ordering::Relaxed);
        }
        batch.members = 0;
        batch.turns = 0;
        batch.savepoint_ready = false;
        if let Some(outcome) = batch.outcome.take() {
            outcome.send_replace(Some(result.clone()));
        }
        result
    }

    /// Gives up the open transaction: its connection is closed (SQLite rolls back what it left
    /// open) and the members learn that their work is lost.
    fn abandon(batch: &mut Batch, why: &str) {
        if let Some(mut conn) = batch.conn.take() {
            conn.close_on_drop();
        }
        batch.members = 0;
        batch.turns = 0;
        batch.savepoint_ready = false;
        if let Some(outcome) = batch.outcome.take() {
            outcome.send_replace(Some(Err(format!("the write transaction was rolled back: {why}"))));
        }
    }

    /// Commits the open transaction if no operation is queued to continue it: for when a queued
    /// operation went away before its turn.
    async fn flush(self: Arc<Self>) {
        let mut ending = Ending(Some(self.batch.clone().lock_owned().await));
        if let Some(batch) = ending.0.as_mut()
            && self.queued.load(Ordering::SeqCst) == 0
        {
            let _ = self.finish(batch).await;
        }
        if let Some(batch) = ending.0.take() {
            drop(batch);
        }
    }
}

/// How an operation's turn ended: with its answer, or waiting for the batch's commit.
enum Turn {
    Done(Result<(), String>),
    Wait(watch::Receiver<Outcome>),
}

/// A turn being ended: if its task is dropped before it is done, the batch is given up (connection
/// closed, members told) instead of being left open with a dropped operation's work in it.
struct Ending(Option<OwnedMutexGuard<Batch>>);

impl Drop for Ending {
    fn drop(&mut self) {
        if let Some(mut batch) = self.0.take() {
            Writer::abandon(&mut batch, "the end of an operation was interrupted");
        }
    }
}

/// A connection whose `BEGIN IMMEDIATE` may be in flight: dropped so (its future dropped), it is
/// closed rather than returned to the pool, where it could hand a later caller an open transaction.
struct Beginning(Option<PoolConnection<Sqlite>>);

impl Drop for Beginning {
    fn drop(&mut self) {
        if let Some(mut conn) = self.0.take() {
            conn.close_on_drop();
        }
    }
}

/// An operation's place in the queue: counted from before it waits for its turn until it gets it.
struct Queued<'a> {
    writer: &'a Arc<Writer>,
    served: bool,
}

impl<'a> Queued<'a> {
    fn new(writer: &'a Arc<Writer>) -> Self {
        writer.queued.fetch_add(1, Ordering::SeqCst);
        Queued {
            writer,
            served: false,
        }
    }

    fn served(mut self) {
        self.served = true;
        self.writer.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if self.served {
            return;
        }
        self.writer.queued.fetch_sub(1, Ordering::SeqCst);
        // An operation ahead may have left the transaction open for this one: commit it.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(Arc::clone(self.writer).flush());
        }
    }
}

/// One write operation's part of a batch: its savepoint in the store's open `BEGIN IMMEDIATE`
/// transaction, ended by [`commit`](Self::commit) (which returns once the batch's commit is known)
/// or [`rollback`](Self::rollback). Dropped unfinished (an error, or the caller's future dropped),
/// it is rolled back to its savepoint and the batch goes on.
#[derive(Debug)]
pub(crate) struct SqliteTx {
    /// This store's writer turn, with the open transaction; taken when the operation ends.
    batch: Option<OwnedMutexGuard<Batch>>,
    writer: Arc<Writer>,
    /// Counted as a member of the batch.
    joined: bool,
    /// Inside its own savepoint (every member but the transaction's first).
    savepoint: bool,
}

/// How far an operation got into its batch.
#[derive(Debug, Clone, Copy)]
struct Op {
    joined: bool,
    savepoint: bool,
}

impl SqliteTx {
    /// Releases the savepoint and returns once the transaction that holds this operation's work has
    /// committed (or failed to).
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.end(true).await
    }

    /// Undoes this operation's work; the batch goes on.
    pub(crate) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.end(false).await
    }

    async fn end(&mut self, keep: bool) -> Result<(), sqlx::Error> {
        let Some(batch) = self.batch.take() else {
            return Ok(());
        };
        // On a task of its own: the batch ends properly even if this future is dropped.
        let end = tokio::spawn(Arc::clone(&self.writer).end(batch, keep, self.op()));
        match end.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(sqlx::Error::Protocol(message)),
            Err(join) => Err(sqlx::Error::Protocol(format!(
                "the end of a write failed: {join}"
            ))),
        }
    }

    fn op(&self) -> Op {
        Op {
            joined: self.joined,
            savepoint: self.savepoint,
        }
    }

    fn conn(&self) -> Option<&PoolConnection<Sqlite>> {
        self.batch.as_ref().and_then(|batch| batch.conn.as_ref())
    }
}

impl Deref for SqliteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        match self.conn() {
            Some(conn) => conn,
            // `batch` is taken only by `end`, which consumes the operation, and an open batch always
            // has its connection.
            None => unreachable!("a write operation used after it ended"),
        }
    }
}

impl DerefMut for SqliteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self.batch.as_mut().and_then(|batch| batch.conn.as_mut()) {
            Some(conn) => conn,
            None => unreachable!("a write operation used after it ended"),
        }
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        let Some(mut batch) = self.batch.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(Arc::clone(&self.writer).end(batch, false, self.op()));
            }
            // No runtime to finish on (the program is ending): give the batch up.
            Err(_) => Writer::abandon(&mut batch, "an operation was dropped outside the runtime"),
        }
    }
}

/// SQLITE_BUSY (5) and its extended codes.
fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => e
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == 5),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::Row as _;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

    use super::*;

    const TASKS: usize = 16;
    const WRITES: usize = 20;

    async fn writer() -> (tempfile::TempDir, Arc<Writer>) {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("batch.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .unwrap();
        pool.execute("CREATE TABLE t (task INTEGER NOT NULL, n INTEGER NOT NULL, UNIQUE (task, n))")
            .await
            .unwrap();
        (dir, Writer::new(pool))
    }

    async fn insert(writer: &Arc<Writer>, task: usize, n: usize) -> Result<(), sqlx::Error> {
        let mut tx = writer
            .begin()
            .await
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        sqlx::query("INSERT INTO t (task, n) VALUES ($1, $2)")
            .bind(task as i64)
            .bind(n as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    async fn rows(writer: &Writer) -> i64 {
        sqlx::query("SELECT COUNT(*) FROM t")
            .fetch_one(&writer.pool)
            .await
            .unwrap()
            .get(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_operation_commits_by_itself() {
        let (_dir, writer) = writer().await;
        for n in 0..5 {
            insert(&writer, 0, n).await.unwrap();
            // Committed before it answered: a reader on another connection sees it.
            assert_eq!(rows(&writer).await, n as i64 + 1);
        }
        assert_eq!(writer.commits.load(Ordering::Relaxed), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_operations_share_commits_and_each_is_durable_when_it_answers() {
        let (_dir, writer) = writer().await;
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let writer = Arc::clone(&writer);
            tasks.push(tokio::spawn(async move {
                for n in 0..WRITES {
                    insert(&writer, task, n).await.unwrap();
                    // This task's row is committed once the insert answered.
                    let seen: i64 = sqlx::query("SELECT COUNT(*) FROM t WHERE task = $1 AND n = $2")
                        .bind(task as i64)
                        .bind(n as i64)
                        .fetch_one(&writer.pool)
                        .await
                        .unwrap()
                        .get(0);
                    assert_eq!(seen, 1, "task {task} write {n} answered before its commit");
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let ops = TASKS * WRITES;
        assert_eq!(rows(&writer).await, ops as i64);
        let commits = writer.commits.load(Ordering::Relaxed);
        assert!(
            commits < ops,
            "{ops} writes took {commits} commits: nothing was batched"
        );
        assert!(
            commits >= ops / MAX_BATCH,
            "batches larger than {MAX_BATCH}: {commits} commits"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_operation_rolls_back_alone() {
        let (_dir, writer) = writer().await;
        insert(&writer, 99, 0).await.unwrap();
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let writer = Arc::clone(&writer);
            tasks.push(tokio::spawn(async move {
                let mut tx = writer.begin().await.unwrap();
                sqlx::query("INSERT INTO t (task, n) VALUES ($1, 1)")
                    .bind(task as i64)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                if task % 2 == 0 {
                    // A second statement that fails (a duplicate): the whole operation goes.
                    let duplicate = sqlx::query("INSERT INTO t (task, n) VALUES (99, 0)")
                        .execute(&mut *tx)
                        .await;
                    assert!(duplicate.is_err());
                    if task % 4 == 0 {
                        tx.rollback().await.unwrap();
                    } // else: dropped unfinished
                    false
                } else {
                    tx.commit().await.unwrap();
                    true
                }
            }));
        }
        let mut kept = Vec::new();
        for (task, handle) in tasks.into_iter().enumerate() {
            if handle.await.unwrap() {
                kept.push(task as i64);
            }
        }
        // Let the dropped operations' ends run.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stored: Vec<i64> = sqlx::query("SELECT task FROM t WHERE n = 1 ORDER BY task")
            .fetch_all(&writer.pool)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(stored, kept);
        // And the writer still works.
        insert(&writer, 100, 0).await.unwrap();
        assert_eq!(rows(&writer).await, kept.len() as i64 + 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn operations_that_roll_back_cannot_hold_a_batch_open() {
        // A stream of refusals (each rolls back) with a write among them: the write's batch still
        // ends within MAX_BATCH turns, so it answers while the refusals go on.
        let (_dir, writer) = writer().await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut spammers = Vec::new();
        for _ in 0..4 {
            let writer = Arc::clone(&writer);
            let stop = Arc::clone(&stop);
            spammers.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let tx = writer.begin().await.unwrap();
                    tx.rollback().await.unwrap();
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let answered = tokio::time::timeout(Duration::from_secs(3), insert(&writer, 7, 7)).await;
        stop.store(true, Ordering::SeqCst);
        for spammer in spammers {
            spammer.await.unwrap();
        }
        assert!(answered.is_ok(), "a write waited for the refusals to stop");
        assert_eq!(rows(&writer).await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn operations_dropped_at_any_point_leave_the_others_committed() {
        let (_dir, writer) = writer().await;
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let writer = Arc::clone(&writer);
            tasks.push(tokio::spawn(async move {
                let mut answered = Vec::new();
                for n in 0..WRITES {
                    // Every third write of odd tasks is abandoned after a few microseconds.
                    if task % 2 == 1 && n % 3 == 0 {
                        let budget = Duration::from_micros(((task * 37 + n * 11) % 300) as u64);
                        let _ = tokio::time::timeout(budget, insert(&writer, task, n)).await;
                    } else {
                        insert(&writer, task, n).await.unwrap();
                        answered.push((task as i64, n as i64));
                    }
                }
                answered
            }));
        }
        let mut answered = Vec::new();
        for task in tasks {
            answered.extend(task.await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        for (task, n) in answered {
            let seen: i64 = sqlx::query("SELECT COUNT(*) FROM t WHERE task = $1 AND n = $2")
                .bind(task)
                .bind(n)
                .fetch_one(&writer.pool)
                .await
                .unwrap()
                .get(0);
            assert_eq!(seen, 1, "task {task} write {n} answered but is not stored");
        }
        // Nothing is left open: a write still commits promptly.
        tokio::time::timeout(Duration::from_secs(5), insert(&writer, 1000, 0))
            .await
            .unwrap()
            .unwrap();
    }
}
