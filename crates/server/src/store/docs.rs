//! The document store: each live document's history, as updates and snapshots.
//!
//! Kept apart from sessions' rows behind the `DocStore` trait so that another implementation
//! (for example Redis in front of PostgreSQL) can replace it without touching sessions, the
//! cockpit or the assistant.
//!
//! Every stored update carries its document's sequence number (`seq`), given by the one room
//! that holds the document; a snapshot records the highest `seq` it contains (`covers_seq`).
//! Loading is the newest snapshot plus the updates with a higher `seq`, so a snapshot never
//! claims an update it does not hold, whatever else was written in between. A stored row may be
//! several updates merged; its `seq` is the highest of them, so it is applied again whenever any
//! part of it is newer than the snapshot (applying a known update again changes nothing).

use async_trait::async_trait;

use super::{Result, Store};
use crate::docname::DocKey;

/// One write of a document; a batch of them commits in one transaction, in order.
#[derive(Debug, Clone)]
pub enum DocWrite {
    /// Updates applied to a live document: one update, or several merged into one.
    Update {
        key: DocKey,
        seq: i64,
        at: i64,
        data: Vec<u8>,
    },
    /// The whole state of a document, holding every update up to `covers_seq`.
    Snapshot {
        key: DocKey,
        covers_seq: i64,
        at: i64,
        state: Vec<u8>,
    },
}

impl DocWrite {
    pub fn key(&self) -> &DocKey {
        match self {
            DocWrite::Update { key, .. } | DocWrite::Snapshot { key, .. } => key,
        }
    }

    pub fn bytes(&self) -> usize {
        match self {
            DocWrite::Update { data, .. } => data.len(),
            DocWrite::Snapshot { state, .. } => state.len(),
        }
    }
}

/// What is needed to rebuild a document: its newest snapshot and the updates after it.
#[derive(Debug, Default)]
pub struct StoredDoc {
    pub snapshot: Option<Vec<u8>>,
    pub updates: Vec<Vec<u8>>,
    /// The highest sequence number stored for the document (0: nothing stored).
    pub last_seq: i64,
    /// The sequence number the snapshot covers (0: no snapshot).
    pub covers_seq: i64,
}

#[async_trait]
pub trait DocStore: Send + Sync + 'static {
    /// The document as stored by time `until` (ms; None: everything).
    async fn load(&self, key: &DocKey, until: Option<i64>) -> Result<StoredDoc>;
    /// Appends updates and snapshots, atomically and in order.
    async fn write(&self, batch: &[DocWrite]) -> Result<()>;
    /// When the document changed, oldest first (the replay bar).
    async fn change_times(&self, key: &DocKey) -> Result<Vec<i64>>;
    /// Forgets every document of a session.
    async fn delete_session(&self, session_id: &str) -> Result<()>;
    /// The names of a session's stored documents.
    async fn doc_names(&self, session_id: &str) -> Result<Vec<String>>;
    /// The sequence number the newest snapshot covers (0: none).
    async fn latest_snapshot_seq(&self, key: &DocKey) -> Result<i64>;
    /// Writes `batch` (one document's) only if nothing was stored for the document after
    /// `seen_last_seq`: two compactors of one document cannot both store their work. False
    /// when another write came first.
    async fn write_if_unchanged(
        &self,
        key: &DocKey,
        seen_last_seq: i64,
        batch: &[DocWrite],
    ) -> Result<bool>;
}

/// Rows per multi-row INSERT, largest first: a run of updates is cut into statements of these
/// sizes only. Every distinct statement stays prepared on each pooled connection, and a
/// 200-row INSERT is a ~30 KB program, so one statement per run length (as before) kept ~8 MB
/// of prepared statements under load. 5 parameters a row stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
const ROWS_PER_INSERT: [usize; 5] = [128, 32, 8, 2, 1];

#[async_trait]
impl DocStore for Store {
    async fn load(&self, key: &DocKey, until: Option<i64>) -> Result<StoredDoc> {
        let until = until.unwrap_or(i64::MAX);
        let doc = key.doc.to_string();
        let snapshot: Option<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT covers_seq, state FROM doc_snapshots WHERE session_id = $1 AND doc = $2 AND at <= $3 \
             ORDER BY covers_seq DESC LIMIT 1",
        )
        .bind(&key.session_id)
        .bind(&doc)
        .bind(until)
        .fetch_optional(&self.pool)
        .await?;
        let (covers, snapshot) = match snapshot {
            Some((covers, state)) => (covers, Some(state)),
            None => (0, None),
        };
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, data FROM doc_updates WHERE session_id = $1 AND doc = $2 AND seq > $3 AND at <= $4 ORDER BY seq",
        )
        .bind(&key.session_id)
        .bind(&doc)
        .bind(covers)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        let mut last_seq = covers;
        let mut updates = Vec::with_capacity(rows.len());
        for (seq, data) in rows {
            last_seq = last_seq.max(seq);
            updates.push(data);
        }
        Ok(StoredDoc {
            snapshot,
            updates,
            last_seq,
            covers_seq: covers,
        })
    }

    /// Runs of updates go in multi-row INSERTs: one statement per row costs several times more
    /// CPU, and that CPU is taken from the editing traffic on a small machine.
    async fn write(&self, batch: &[DocWrite]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        write_in(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn doc_names(&self, session_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT doc FROM doc_updates WHERE session_id = $1 UNION SELECT DISTINCT doc FROM doc_snapshots WHERE session_id = $1")
            .bind(session_id)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn latest_snapshot_seq(&self, key: &DocKey) -> Result<i64> {
        let covers: Option<i64> = sqlx::query_scalar("SELECT MAX(covers_seq) AS covers FROM doc_snapshots WHERE session_id = $1 AND doc = $2")
            .bind(&key.session_id)
            .bind(key.doc.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(covers.unwrap_or(0))
    }

    async fn write_if_unchanged(
        &self,
        key: &DocKey,
        seen_last_seq: i64,
        batch: &[DocWrite],
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if self.backend() == super::Backend::Postgres {
            // Serializes the writers of this document until commit (SQLite has one writer anyway).
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1)) IS NULL AS locked")
                .bind(format!("doc:{}:{}", key.session_id, key.doc))
                .fetch_one(&mut *tx)
                .await?;
        }
        let (updates, snapshots): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT MAX(seq) FROM doc_updates WHERE session_id = $1 AND doc = $2) AS updates, \
                    (SELECT MAX(covers_seq) FROM doc_snapshots WHERE session_id = $1 AND doc = $2) AS snapshots",
        )
        .bind(&key.session_id)
        .bind(key.doc.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let last = updates.unwrap_or(0).max(snapshots.unwrap_or(0));
        if last > seen_last_seq {
            return Ok(false);
        }
        write_in(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn change_times(&self, key: &DocKey) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT at FROM doc_updates WHERE session_id = $1 AND doc = $2 ORDER BY seq",
        )
        .bind(&key.session_id)
        .bind(key.doc.to_string())
        .fetch_all(&self.pool)
        .await?)
    }

    async fn delete_session(&self, session_id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for table in ["doc_snapshots", "doc_updates"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE session_id = $1"
            )))
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Appends a batch inside an open transaction, in order.
async fn write_in(tx: &mut sqlx::Transaction<'_, sqlx::Any>, batch: &[DocWrite]) -> Result<()> {
    let mut i = 0;
    while i < batch.len() {
        match &batch[i] {
            DocWrite::Update { .. } => {
                let mut run: Vec<_> = batch[i..]
                    .iter()
                    .take(ROWS_PER_INSERT[0])
                    .map_while(|w| match w {
                        DocWrite::Update { key, seq, at, data } => Some((key, *seq, *at, data)),
                        DocWrite::Snapshot { .. } => None,
                    })
                    .collect();
                run.truncate(
                    ROWS_PER_INSERT
                        .into_iter()
                        .find(|n| *n <= run.len())
                        .unwrap_or(1),
                );
                let mut sql = String::from(
                    "INSERT INTO doc_updates (session_id, doc, seq, at, data) VALUES ",
                );
                for n in 0..run.len() {
                    let p = n * 5;
                    if n > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!(
                        "(${}, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5
                    ));
                }
                // Only placeholders are generated; every value is a bound parameter.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (key, seq, at, data) in &run {
                    query = query
                        .bind(key.session_id.clone())
                        .bind(key.doc.to_string())
                        .bind(*seq)
                        .bind(*at)
                        .bind((*data).clone());
                }
                query.execute(&mut **tx).await?;
                i += run.len();
            }
            DocWrite::Snapshot {
                key,
                covers_seq,
                at,
                state,
            } => {
                sqlx::query(
                    "INSERT INTO doc_snapshots (session_id, doc, covers_seq, at, state) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (session_id, doc, covers_seq) DO UPDATE SET at = excluded.at, state = excluded.state",
                )
                .bind(&key.session_id)
                .bind(key.doc.to_string())
                .bind(*covers_seq)
                .bind(*at)
                .bind(state.clone())
                .execute(&mut **tx)
                .await?;
                i += 1;
            }
        }
    }
    Ok(())
}
