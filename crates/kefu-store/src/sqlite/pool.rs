//! SQLite connections: one writer thread with group commit, and readers.
//!
//! SQLite allows one writer at a time. Rather than have tasks queue on a lock
//! and each pay for its own fsync, every write is a job sent to one thread,
//! which takes all jobs waiting at that moment, runs each inside its own
//! savepoint of one transaction, commits once, and only then answers each
//! caller. A failed job rolls back to its savepoint and leaves the others
//! untouched; a failed commit fails every job of the group. Nobody is told
//! "done" before the commit that holds their write.
//!
//! Checkpoints (copying the WAL back into the database file, with its own
//! fsync) run on a thread of their own every 200 ms, not inside the commit
//! that happens to cross SQLite's 1,000-page mark: a writer never waits for one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kefu_core::store::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::Durability;

/// The most jobs one commit carries; bounds the latency a group adds.
const MAX_GROUP: usize = 512;
const READERS: usize = 4;

type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Completion + Send>;

pub struct Pool {
    writer: mpsc::Sender<Job>,
    readers: Arc<Mutex<Vec<Connection>>>,
    reader_permits: Arc<Semaphore>,
    path: PathBuf,
    /// Dropped with the pool, which ends the checkpoint thread.
    _checkpoints: std::sync::mpsc::Sender<()>,
}

const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

fn run_checkpoints(conn: Connection, stop: std::sync::mpsc::Receiver<()>) {
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        // PASSIVE: copies what no reader still needs, never blocks the writer.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "sqlite: checkpoint failed");
        }
    }
}

fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(
        None,
        "synchronous",
        match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        },
    )?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 64 MiB of page cache per connection (the default is 2 MiB): the hot
    // conversations and their latest messages stay in memory.
    conn.pragma_update(None, "cache_size", -65_536)?;
    Ok(())
}

impl Pool {
    pub fn open(
        path: &Path,
        durability: Durability,
        migrate: impl FnOnce(&mut Connection) -> StoreResult<()>,
    ) -> StoreResult<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
        }
        let mut writer = Connection::open(path).map_err(StoreError::backend)?;
        configure(&writer, durability).map_err(StoreError::backend)?;
        migrate(&mut writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let conn = Connection::open(path).map_err(StoreError::backend)?;
            configure(&conn, durability).map_err(StoreError::backend)?;
            readers.push(conn);
        }
        // The writer leaves checkpoints to the checkpoint thread.
        writer.pragma_update(None, "wal_autocheckpoint", 0).map_err(StoreError::backend)?;
        let checkpointer = Connection::open(path).map_err(StoreError::backend)?;
        configure(&checkpointer, durability).map_err(StoreError::backend)?;
        let (stop, stopped) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("kefu-sqlite-checkpoint".into())
            .spawn(move || run_checkpoints(checkpointer, stopped))
            .map_err(StoreError::backend)?;
        let (tx, rx) = mpsc::channel::<Job>(4096);
        std::thread::Builder::new()
            .name("kefu-sqlite-writer".into())
            .spawn(move || run_writer(writer, rx))
            .map_err(StoreError::backend)?;
        Ok(Self {
            writer: tx,
            readers: Arc::new(Mutex::new(readers)),
            reader_permits: Arc::new(Semaphore::new(READERS)),
            path: path.to_owned(),
            _checkpoints: stop,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` inside the group transaction; resolves after the commit.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn: &Connection| {
            let result = match conn.execute_batch("SAVEPOINT job") {
                Ok(()) => {
                    let result = f(conn);
                    let end = if result.is_ok() { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
                    match conn.execute_batch(end) {
                        Ok(()) => result,
                        Err(e) => Err(StoreError::backend(e)),
                    }
                }
                Err(e) => Err(StoreError::backend(e)),
            };
            Box::new(move |committed: Result<(), String>| {
                let outcome = match committed {
                    Ok(()) => result,
                    Err(e) => Err(StoreError::backend(CommitFailed(e))),
                };
                let _ = reply.send(outcome);
            })
        });
        self.writer.send(job).await.map_err(|_| StoreError::backend(WriterGone))?;
        answer.await.map_err(|_| StoreError::backend(WriterGone))?
    }

    /// Runs `f` on a reader connection on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = self.reader_permits.clone().acquire_owned().await.map_err(StoreError::backend)?;
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = readers.lock().map_err(|_| StoreError::backend(WriterGone))?.pop();
            let conn = conn.ok_or_else(|| StoreError::backend(WriterGone))?;
            let result = f(&conn);
            if let Ok(mut r) = readers.lock() {
                r.push(conn);
            }
            result
        })
        .await
        .map_err(StoreError::backend)?
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the SQLite writer thread has stopped")]
struct WriterGone;

#[derive(Debug, thiserror::Error)]
#[error("commit failed: {0}")]
struct CommitFailed(String);

fn run_writer(conn: Connection, mut jobs: mpsc::Receiver<Job>) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = jobs.blocking_recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let completions: Vec<Completion>;
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {
                completions = group.drain(..).map(|job| job(&conn)).collect();
                let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
                if committed.is_err() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                for c in completions {
                    c(committed.clone());
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "sqlite: cannot begin a write transaction");
                // Dropping the jobs unrun drops their reply channels: each
                // caller gets a backend error and nothing was written.
                group.clear();
            }
        }
    }
    // Channel closed: every sender (the store) is gone; the connection closes
    // after the last group committed.
}
