//! A transaction whose BEGIN travels with its first statement and whose
//! COMMIT travels with its last, for the verbs on every message's path.
//!
//! `tokio-postgres` sends a request when its future is first polled, and
//! requests polled together leave in one write. A message's append was
//! BEGIN, lock, write, COMMIT: four round trips, four wake-ups of the
//! server's backend and of ours. Here it is two. The server still runs the
//! statements one after another; only the waiting between them goes.
//!
//! What keeps it correct:
//! - each statement is prepared before the pair is sent (a statement still
//!   to prepare would go out after the COMMIT it must precede);
//! - the pair is polled in order (`future::join` polls its first future
//!   first), so BEGIN precedes the lock and the write precedes COMMIT;
//! - a write that fails aborts the transaction, and PostgreSQL answers the
//!   COMMIT behind it with a rollback, so nothing of it is kept;
//! - a transaction left open (an early return, a cancelled future) is
//!   rolled back on drop: the ROLLBACK is queued on the connection before it
//!   goes back to the pool, so the next user's statements run after it, the
//!   way `tokio_postgres::Transaction` does it.

use super::*;
use futures_util::FutureExt;
use std::sync::atomic::{AtomicBool, Ordering};

pub(super) struct Pipelined {
    conn: deadpool_postgres::Object,
    /// BEGIN went out and COMMIT has not. Atomic only so that `&Pipelined`
    /// may be held across awaits in the store's `Send` futures.
    open: AtomicBool,
}

impl Pipelined {
    pub(super) fn on(conn: deadpool_postgres::Object) -> Self {
        Self { conn, open: AtomicBool::new(false) }
    }

    /// The connection, for the statements between the first and the last.
    pub(super) fn client(&self) -> &deadpool_postgres::Object {
        &self.conn
    }

    /// BEGIN and the transaction's first statement, in one round trip.
    pub(super) async fn begin_with(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<Row>> {
        let statement = prepared(self.client(), sql).await?;
        self.open.store(true, Ordering::Relaxed);
        let (begun, row) =
            futures_util::future::join(self.conn.batch_execute("BEGIN"), self.conn.query_opt(&statement, params)).await;
        begun.map_err(be)?;
        row.map_err(be)
    }

    /// The transaction's last statement and COMMIT, in one round trip.
    pub(super) async fn commit_with(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<Row>> {
        let statement = prepared(self.client(), sql).await?;
        let (row, committed) =
            futures_util::future::join(self.conn.query_opt(&statement, params), self.conn.batch_execute("COMMIT"))
                .await;
        self.open.store(false, Ordering::Relaxed);
        // A failed statement aborted the transaction, and the COMMIT behind
        // it rolled back: its error is the one to report.
        let row = row.map_err(be)?;
        committed.map_err(be)?;
        Ok(row)
    }
}

impl Drop for Pipelined {
    fn drop(&mut self) {
        if *self.open.get_mut() {
            // One poll queues the request; its answer is not waited for.
            let _ = self.conn.batch_execute("ROLLBACK").now_or_never();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One pooled connection, so every `client()` below is the same one.
    async fn one_connection() -> Option<PostgresStore> {
        let url = std::env::var("KEFU_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())?;
        let schema = format!("p_{}", Uuid::new_v4().simple());
        let store = PostgresStore::connect(&url, Some(&schema), 1).await.expect("connect");
        store.client().await.expect("conn").batch_execute("CREATE TABLE t (n INT)").await.expect("table");
        Some(store)
    }

    async fn rows_in_t(store: &PostgresStore) -> i64 {
        store.client().await.expect("conn").query_one("SELECT count(*) FROM t", &[]).await.expect("count").get(0)
    }

    #[tokio::test]
    async fn the_pair_commits_together_and_a_failed_write_keeps_nothing() {
        let Some(store) = one_connection().await else { return };
        let tx = Pipelined::on(store.client().await.expect("conn"));
        tx.begin_with("INSERT INTO t VALUES (1) RETURNING n", &[]).await.expect("begin");
        tx.commit_with("INSERT INTO t VALUES (2)", &[]).await.expect("commit");
        drop(tx);
        assert_eq!(rows_in_t(&store).await, 2);

        let tx = Pipelined::on(store.client().await.expect("conn"));
        tx.begin_with("INSERT INTO t VALUES (3) RETURNING n", &[]).await.expect("begin");
        // Fails when it runs, after the pair went out: division by zero.
        assert!(tx.commit_with("INSERT INTO t VALUES (10 / $1::int)", &[&0i32]).await.is_err());
        drop(tx);
        assert_eq!(rows_in_t(&store).await, 2, "the COMMIT behind the failed write rolled back");
    }

    #[tokio::test]
    async fn a_transaction_left_open_is_rolled_back_before_its_connection_is_reused() {
        let Some(store) = one_connection().await else { return };
        let tx = Pipelined::on(store.client().await.expect("conn"));
        tx.begin_with("INSERT INTO t VALUES (1) RETURNING n", &[]).await.expect("begin");
        drop(tx);
        // Without the ROLLBACK the same connection would still be inside
        // the transaction and count its row.
        assert_eq!(rows_in_t(&store).await, 0);

        // Cancelled between the pair's send and its answer.
        let tx = Pipelined::on(store.client().await.expect("conn"));
        let begin = tx.begin_with("INSERT INTO t VALUES (1) RETURNING n", &[]);
        assert!(begin.now_or_never().is_none(), "the pair went out and waits for its answer");
        drop(tx);
        assert_eq!(rows_in_t(&store).await, 0);
    }
}
