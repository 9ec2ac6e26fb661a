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
//! But a checkpoint running beside a writer that never pauses can never catch
//! up, and SQLite only starts the WAL over once every frame is back in the
//! database: under steady traffic the WAL grew without end (1.2 GB in ten
//! seconds at saturation, with the file system zeroing each new block). So
//! when the checkpoint thread sees the WAL past `RESTART_FRAMES`, the writer
//! itself runs one checkpoint between two groups. The thread's passes keep up
//! (2–7 ms, leaving 0–12 frames at 2,000 bot turns/s), but the WAL starts over
//! only if the copy is complete when a write transaction *begins*, which only
//! the writer can arrange. Its pass is short on copying and long on its two
//! fsyncs: 10–25 ms with every write held, so it comes rarely (every few
//! seconds at the bench's load) rather than after every few megabytes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kefu_core::store::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::Durability;

/// The most jobs one commit carries; bounds the latency a group adds.
const MAX_GROUP: usize = 512;
const READERS: usize = 4;
/// Prepared statements kept per connection: more than the store has.
const STATEMENT_CACHE: usize = 256;

type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Completion + Send>;
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

pub struct Pool {
    writer: mpsc::Sender<Job>,
    /// Dropped with the pool, which ends the reader threads.
    readers: std::sync::mpsc::Sender<ReadJob>,
    path: PathBuf,
    /// Dropped with the pool, which ends the checkpoint thread.
    _checkpoints: std::sync::mpsc::Sender<()>,
}

const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// WAL frames (about 4 KiB each) past which the writer is asked to finish a
/// checkpoint so the WAL starts over: 256 MiB. (64 MiB paused the writer
/// every 0.8 s at 2,000 bot turns/s, and the bot's reply p99 went from 10.7
/// to 25–40 ms.)
const RESTART_FRAMES: i64 = 65_536;
/// A writer checkpoint longer than this holds every write up: worth a warning.
const SLOW_CHECKPOINT: std::time::Duration = std::time::Duration::from_millis(10);

/// Copies the WAL back into the database; returns the WAL's length in frames.
fn checkpoint(conn: &Connection) -> rusqlite::Result<i64> {
    // PASSIVE: copies what no reader still needs, never blocks the writer.
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
}

fn run_checkpoints(
    conn: Connection,
    stop: std::sync::mpsc::Receiver<()>,
    restart: Arc<AtomicBool>,
    restart_frames: i64,
) {
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        match checkpoint(&conn) {
            Ok(frames) if frames >= restart_frames => restart.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sqlite: checkpoint failed"),
        }
    }
}

/// Page cache per connection (the default is 2 MiB): the hot conversations
/// and their latest messages stay in memory. A reader's cache lasts only
/// until the next commit (WAL mode empties it when a read transaction begins
/// after one), and emptying it walks a hash sized by the most pages one read
/// ever held: 17% of the readers' CPU in the bot benchmark. A 4 MiB reader
/// cache removed that walk but not the readers' CPU (the pages came back
/// through `read()` instead), and a read-mostly desk at night keeps its pages
/// between reads, so every connection keeps 64 MiB.
const CACHE_KIB: i64 = 65_536;

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
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    // Every verb's statements stay compiled: rusqlite keeps 16 by default,
    // and a reader serving all verbs cycles through more than that.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// The writer's page cache is smaller than a reader's. A commit after a
/// b-tree balance that swapped page numbers (SQLite parks a page at the
/// lock-byte page's number meanwhile) empties the writer's cache of pages
/// past the end of the file by walking the whole cache: 7% of the server's
/// CPU in the bot benchmark with 64 MiB. The writer's working set is the
/// right edges and inner pages of the tables it appends to, which 8 MiB holds.
const WRITER_CACHE_KIB: i64 = 8 * 1024;

fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    // Every job runs in a savepoint, and a savepoint keeps the prior image
    // of each page it changes. Past 64 KiB SQLite moves those images to a
    // temporary file (create, unlink, write, close: once per commit under
    // the bot's load); in memory they cost a copy and nothing else.
    conn.pragma_update(None, "temp_store", "MEMORY")
}

impl Pool {
    pub fn open(
        path: &Path,
        durability: Durability,
        migrate: impl FnOnce(&mut Connection) -> StoreResult<()>,
    ) -> StoreResult<Self> {
        Self::open_with(path, durability, RESTART_FRAMES, migrate)
    }

    /// `open`, with the WAL length that makes the writer checkpoint.
    fn open_with(
        path: &Path,
        durability: Durability,
        restart_frames: i64,
        migrate: impl FnOnce(&mut Connection) -> StoreResult<()>,
    ) -> StoreResult<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
        }
        let mut writer = Connection::open(path).map_err(StoreError::backend)?;
        configure(&writer, durability).map_err(StoreError::backend)?;
        configure_writer(&writer).map_err(StoreError::backend)?;
        migrate(&mut writer)?;
        let (readers, read_jobs) = std::sync::mpsc::channel::<ReadJob>();
        let read_jobs = Arc::new(Mutex::new(read_jobs));
        for i in 0..READERS {
            let conn = Connection::open(path).map_err(StoreError::backend)?;
            configure(&conn, durability).map_err(StoreError::backend)?;
            let jobs = read_jobs.clone();
            std::thread::Builder::new()
                .name(format!("kefu-sqlite-reader-{i}"))
                .spawn(move || run_reader(conn, jobs))
                .map_err(StoreError::backend)?;
        }
        // The writer leaves checkpoints to the checkpoint thread.
        writer.pragma_update(None, "wal_autocheckpoint", 0).map_err(StoreError::backend)?;
        let checkpointer = Connection::open(path).map_err(StoreError::backend)?;
        configure(&checkpointer, durability).map_err(StoreError::backend)?;
        let (stop, stopped) = std::sync::mpsc::channel();
        let restart = Arc::new(AtomicBool::new(false));
        let wanted = restart.clone();
        std::thread::Builder::new()
            .name("kefu-sqlite-checkpoint".into())
            .spawn(move || run_checkpoints(checkpointer, stopped, wanted, restart_frames))
            .map_err(StoreError::backend)?;
        let (tx, rx) = mpsc::channel::<Job>(4096);
        std::thread::Builder::new()
            .name("kefu-sqlite-writer".into())
            .spawn(move || run_writer(writer, rx, restart))
            .map_err(StoreError::backend)?;
        Ok(Self { writer: tx, readers, path: path.to_owned(), _checkpoints: stop })
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
            let result = match run(conn, "SAVEPOINT job") {
                Ok(()) => {
                    let result = f(conn);
                    let ended = if result.is_ok() {
                        run(conn, "RELEASE job")
                    } else {
                        run(conn, "ROLLBACK TO job").and_then(|()| run(conn, "RELEASE job"))
                    };
                    match ended {
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

    /// Runs `f` on one of the reader threads' connections.
    pub async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<StoreResult<T>>();
        let job: ReadJob = Box::new(move |conn: &Connection| {
            // One snapshot per read: its statements (an order list, then
            // each order's shipments…) see the same commit, and the reader's
            // cache is emptied once rather than before each of them when
            // commits land in between.
            let result = match run(conn, "BEGIN") {
                Ok(()) => {
                    let result = f(conn);
                    end_read(conn);
                    result
                }
                Err(e) => Err(StoreError::backend(e)),
            };
            let _ = reply.send(result);
        });
        self.readers.send(job).map_err(|_| StoreError::backend(ReadersGone))?;
        // A dropped reply: the read panicked, or its thread is gone.
        answer.await.map_err(|_| StoreError::backend(ReadersGone))?
    }
}

/// One reader thread: takes the next read from the shared queue and runs it
/// on its own connection. A busy reader goes straight on to the next job, so
/// under load a read costs one wake-up (the caller's), not a trip through a
/// semaphore and the blocking pool per read.
fn run_reader(conn: Connection, jobs: Arc<Mutex<std::sync::mpsc::Receiver<ReadJob>>>) {
    loop {
        // Held only while waiting for a job: the others queue on the lock.
        let next = match jobs.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match next {
            // A read that panics loses its answer (the caller gets an error), not the thread.
            Ok(job) => {
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&conn))).is_err() {
                    // Its snapshot must not outlive it: an open read holds the WAL back from starting over.
                    end_read(&conn);
                }
            }
            // The store is gone.
            Err(_) => return,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the SQLite writer thread has stopped")]
struct WriterGone;

#[derive(Debug, thiserror::Error)]
#[error("the SQLite read failed or its reader threads have stopped")]
struct ReadersGone;

#[derive(Debug, thiserror::Error)]
#[error("commit failed: {0}")]
struct CommitFailed(String);

/// Runs one transaction-control statement, compiled once per connection
/// (`execute_batch` compiles its text on every call: twice per job, twice
/// per group).
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Ends a reader's transaction, whatever state it is in.
fn end_read(conn: &Connection) {
    if !conn.is_autocommit() && run(conn, "COMMIT").is_err() {
        let _ = run(conn, "ROLLBACK");
    }
}

fn run_writer(conn: Connection, mut jobs: mpsc::Receiver<Job>, restart: Arc<AtomicBool>) {
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
        match run(&conn, "BEGIN IMMEDIATE") {
            Ok(()) => {
                completions = group.drain(..).map(|job| job(&conn)).collect();
                let committed = run(&conn, "COMMIT").map_err(|e| e.to_string());
                if committed.is_err() {
                    let _ = run(&conn, "ROLLBACK");
                }
                for c in completions {
                    c(committed.clone());
                }
                if restart.swap(false, Ordering::Relaxed) {
                    let started = std::time::Instant::now();
                    match checkpoint(&conn) {
                        Ok(frames) if started.elapsed() > SLOW_CHECKPOINT => {
                            let ms = started.elapsed().as_millis() as u64;
                            tracing::warn!(ms, frames, "sqlite: slow writer checkpoint");
                        }
                        Ok(_) => {}
                        // Busy (the thread was mid-checkpoint): it asks again next round.
                        Err(e) => tracing::debug!(error = %e, "sqlite: writer checkpoint did not run"),
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes without a pause for `for_how_long`, one page-sized row per
    /// commit; returns the bytes written.
    async fn write_without_pause(pool: &Pool, for_how_long: std::time::Duration) -> u64 {
        let until = std::time::Instant::now() + for_how_long;
        let mut written = 0;
        while std::time::Instant::now() < until {
            pool.write(|c| {
                c.execute("INSERT INTO pages (body) VALUES (zeroblob(4096))", []).map_err(StoreError::backend)?;
                Ok(())
            })
            .await
            .expect("write");
            written += 4096;
        }
        written
    }

    /// Files SQLite made for this process's temporary data (it names them
    /// `etilqs_…` and unlinks them at once, so only open descriptors show them).
    fn open_sqlite_temp_files() -> usize {
        std::fs::read_dir("/proc/self/fd")
            .into_iter()
            .flatten()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().contains("etilqs_"))
            .count()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_changes_many_pages_keeps_their_prior_images_in_memory() {
        let dir = std::env::temp_dir().join(format!("kefu-savepoint-images-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pool = pages_pool(&dir);
        pool.write(|c| {
            c.execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 256) \
                 INSERT INTO pages (body) SELECT zeroblob(900) FROM n",
            )
            .map_err(StoreError::backend)
        })
        .await
        .expect("insert");
        // 256 rows on ~64 pages that existed before the job's savepoint: ~256 KiB of prior images.
        let temp_files = pool
            .write(|c| {
                c.execute("UPDATE pages SET body = zeroblob(901)", []).map_err(StoreError::backend)?;
                Ok(open_sqlite_temp_files())
            })
            .await
            .expect("update");
        assert_eq!(temp_files, 0);
        drop(pool);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A pool over one table of page-sized rows whose writer restarts the WAL past 64 frames.
    fn pages_pool(dir: &Path) -> Pool {
        Pool::open_with(&dir.join("kefu.db"), Durability::Normal, 64, |c| {
            c.execute_batch("CREATE TABLE pages (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
                .map_err(StoreError::backend)
        })
        .expect("open")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_that_panics_does_not_hold_the_wal_back() {
        let dir = std::env::temp_dir().join(format!("kefu-read-panic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pool = pages_pool(&dir);
        write_without_pause(&pool, std::time::Duration::from_millis(100)).await;
        // Every reader panics once in the middle of its snapshot.
        for _ in 0..READERS * 4 {
            let read = pool.read(|c| -> StoreResult<()> {
                let _: i64 =
                    c.query_row("SELECT count(*) FROM pages", [], |r| r.get(0)).map_err(StoreError::backend)?;
                panic!("a bug in a read");
            });
            assert!(read.await.is_err(), "the caller gets an error");
        }
        let before = u32::from_be_bytes(
            std::fs::read(dir.join("kefu.db-wal")).expect("wal")[12..16].try_into().expect("header"),
        );
        write_without_pause(&pool, std::time::Duration::from_secs(2)).await;
        let wal = std::fs::read(dir.join("kefu.db-wal")).expect("wal");
        let after = u32::from_be_bytes(wal[12..16].try_into().expect("header"));
        assert!(
            after >= before + 2,
            "the WAL started over {} times after the panics ({} bytes now)",
            after - before,
            wal.len()
        );
        let n: i64 = pool
            .read(|c| c.query_row("SELECT count(*) FROM pages", [], |r| r.get(0)).map_err(StoreError::backend))
            .await
            .expect("the readers still read");
        assert!(n > 0);
        drop(pool);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_writes_that_never_pause() {
        let dir = std::env::temp_dir().join(format!("kefu-wal-restart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pool = pages_pool(&dir);
        let written = write_without_pause(&pool, std::time::Duration::from_secs(2)).await;
        // Bytes 12..16 of the WAL header count the times the WAL started over
        // (SQLite's file format); without the writer's checkpoint it grows
        // for as long as the writes go on and the count stays at 0.
        let wal = std::fs::read(dir.join("kefu.db-wal")).expect("wal");
        let restarts = u32::from_be_bytes(wal[12..16].try_into().expect("header"));
        assert!(restarts >= 2, "the WAL started over {restarts} times in 2 s of writes ({} bytes now)", wal.len());
        let rows: i64 = pool
            .read(|c| c.query_row("SELECT count(*) FROM pages", [], |r| r.get(0)).map_err(StoreError::backend))
            .await
            .expect("count");
        assert_eq!(rows as u64 * 4096, written, "every acknowledged write is there");
        drop(pool);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
