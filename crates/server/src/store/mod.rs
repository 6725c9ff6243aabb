//! Storage: SQLite (default) or PostgreSQL behind one interface.
//!
//! Both backends go through sqlx's `Any` driver with plain SQL that both dialects accept
//! (`$n` placeholders, BIGINT milliseconds, text and bytes), and each has its own migrations
//! folder for the few DDL differences (AUTOINCREMENT vs BIGSERIAL, BLOB vs BYTEA). Rows are
//! read into `#[derive(FromRow)]` structs by column name (flags, stored as integers, through
//! `Flag`); one or two columns with `query_scalar` or into a tuple.
//! Documents have their own interface, `DocStore` (docs.rs).

mod docs;
pub use docs::{DocStore, DocWrite, StoredDoc};

use std::path::Path;
use std::str::FromStr;

mod accounts;
mod assistant;
mod questions;

use sqlx::any::{AnyPoolOptions, AnyTypeInfo, AnyValueRef};
use sqlx::{Any, AnyPool, Executor, FromRow};

pub use accounts::{
    ApiKeyRow, AuditRow, InviteRow, ListedSession, SessionFilter, TeamRow, UserRow,
};
pub use assistant::{AssistantTables, MessageRow};
pub use questions::QuestionRow;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL (use sqlite://path or postgres://...)")]
    UnsupportedUrl,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the database folder: {0}")]
    Io(#[from] std::io::Error),
    /// A service the documents live in (Redis, in cluster mode) does not answer.
    #[error("{0}")]
    Unavailable(String),
}

impl StoreError {
    /// Whether retrying later can succeed (storage unreachable) rather than the write itself
    /// being refused (e.g. a constraint: the session was deleted meanwhile).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Db(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            // SQLite busy or locked (another process holds the write lock past busy_timeout);
            // PostgreSQL serialization failure, deadlock, or too many connections.
            StoreError::Db(sqlx::Error::Database(e)) => {
                matches!(
                    e.code().as_deref(),
                    Some("5" | "6" | "40001" | "40P01" | "53300" | "57P03")
                )
            }
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub id: crate::ids::SessionId,
    pub title: String,
    pub language: String,
    pub kind: String,
    /// The exercise a workspace session was created from; None for a pad.
    pub exercise: Option<String>,
    pub interviewer_token_hash: String,
    pub candidate_token_hash: String,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    #[sqlx(flatten)]
    pub policy: Policy,
    /// The team that owns the session (None: made before accounts; only admins see it).
    pub team_id: Option<String>,
    /// The user who created it.
    pub created_by: Option<String>,
}

/// What the candidate may use in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, FromRow)]
pub struct Policy {
    #[sqlx(try_from = "Flag")]
    pub execution_enabled: bool,
    pub time_limit_seconds: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            execution_enabled: true,
            time_limit_seconds: 10,
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct ParticipantRow {
    pub id: String,
    pub session_id: String,
    pub name: String,
    pub color: String,
    pub role: String,
    pub joined_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub actor: Option<String>,
    pub data: String,
}

/// A yes/no column, read into a `bool`: an integer on both backends (SQLite has no boolean
/// type), zero for no.
struct Flag(bool);

impl sqlx::Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <i64 as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> std::result::Result<Self, sqlx::error::BoxDynError> {
        Ok(Flag(<i64 as sqlx::Decode<Any>>::decode(value)? != 0))
    }
}

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects, creating the SQLite file (and its folder) if needed, and runs the migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            (Backend::Sqlite, sqlite_url(rest)?)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = sqlx::any::AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            // One writer at a time is SQLite's model; a few connections let reads run beside it.
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL + NORMAL: a commit is durable against a process crash (kill -9);
                            // only an OS crash can lose the last commits. A page cache of 1 MiB
                            // per connection (2 MiB by default): the hot pages are the ends of
                            // the document tables' indexes, and the OS caches the file anyway.
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                                 PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON; PRAGMA cache_size=-1024;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            // While the database is down, a request fails (503) after a few seconds instead of
            // the default 30 s; storage writes retry on their own.
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(std::time::Duration::from_secs(5))
                    .connect_with(options)
                    .await?
            }
        };
        match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        Ok(Store { pool, backend })
    }

    /// The connection pool: only the store's own files run SQL on it.
    fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Storage is reachable and answers.
    /// Whether the database answers within two seconds (readiness: a probe must not hang).
    pub async fn ping(&self) -> Result<()> {
        match tokio::time::timeout(
            std::time::Duration::from_secs(2),
            sqlx::query("SELECT 1").execute(&self.pool),
        )
        .await
        {
            Ok(done) => done.map(|_| ()).map_err(Into::into),
            Err(_) => Err(StoreError::Unavailable(
                "the database did not answer within 2 s".into(),
            )),
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Creates a session's row (its documents live in the document store).
    pub async fn create_session(&self, s: &SessionRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, title, language, kind, interviewer_token_hash, candidate_token_hash, created_at, \
             execution_enabled, time_limit_seconds, exercise, team_id, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&s.id)
        .bind(&s.title)
        .bind(&s.language)
        .bind(&s.kind)
        .bind(&s.interviewer_token_hash)
        .bind(&s.candidate_token_hash)
        .bind(s.created_at)
        .bind(i64::from(s.policy.execution_enabled))
        .bind(s.policy.time_limit_seconds)
        .bind(s.exercise.clone())
        .bind(s.team_id.clone())
        .bind(s.created_by.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_session(&self, id: &str) -> Result<Option<SessionRow>> {
        Ok(sqlx::query_as(
            "SELECT id, title, language, kind, interviewer_token_hash, candidate_token_hash, created_at, ended_at, \
             execution_enabled, time_limit_seconds, exercise, team_id, created_by FROM sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn set_language(&self, id: &str, language: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET language = $1 WHERE id = $2")
            .bind(language)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_policy(&self, id: &str, policy: Policy) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET execution_enabled = $1, time_limit_seconds = $2 WHERE id = $3",
        )
        .bind(i64::from(policy.execution_enabled))
        .bind(policy.time_limit_seconds)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_title(&self, id: &str, title: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET title = $1 WHERE id = $2")
            .bind(title)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn add_participant(&self, p: &ParticipantRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO participants (id, session_id, name, color, role, joined_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&p.id)
        .bind(&p.session_id)
        .bind(&p.name)
        .bind(&p.color)
        .bind(&p.role)
        .bind(p.joined_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn participants(&self, session_id: &str) -> Result<Vec<ParticipantRow>> {
        Ok(sqlx::query_as(
            "SELECT id, session_id, name, color, role, joined_at FROM participants \
             WHERE session_id = $1 ORDER BY joined_at, id",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn add_event(
        &self,
        session_id: &str,
        at: i64,
        kind: &str,
        actor: Option<&str>,
        data: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO events (session_id, at, kind, actor, data) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session_id)
        .bind(at)
        .bind(kind)
        .bind(actor)
        .bind(data)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session's timeline, oldest first.
    pub async fn events(&self, session_id: &str) -> Result<Vec<EventRow>> {
        Ok(sqlx::query_as(
            "SELECT id, at, kind, actor, data FROM events WHERE session_id = $1 ORDER BY id",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Marks a session ended (once); false if it had already ended.
    pub async fn end_session(&self, id: &str, at: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a session's row with its participants and events (its documents are the
    /// document store's to delete).
    pub async fn delete_session(&self, id: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        // Explicit deletes rather than relying on ON DELETE CASCADE being enforced on every backend.
        for table in ["events", "participants", "session_questions"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE session_id = $1"
            )))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// All sessions, newest first, with how many people joined each (the operator's list).
    pub async fn list_sessions(&self, limit: i64) -> Result<Vec<(SessionRow, i64)>> {
        #[derive(FromRow)]
        struct Counted {
            #[sqlx(flatten)]
            session: SessionRow,
            participants: i64,
        }
        let rows: Vec<Counted> = sqlx::query_as(
            "SELECT s.id, s.title, s.language, s.kind, s.interviewer_token_hash, s.candidate_token_hash, s.created_at, \
             s.ended_at, s.execution_enabled, s.time_limit_seconds, s.exercise, s.team_id, s.created_by, \
             (SELECT COUNT(*) FROM participants p WHERE p.session_id = s.id) AS participants \
             FROM sessions s ORDER BY s.created_at DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.session, r.participants))
            .collect())
    }

    pub async fn scorecard(&self, id: &str) -> Result<Option<String>> {
        let scorecard: Option<Option<String>> =
            sqlx::query_scalar("SELECT scorecard FROM sessions WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(scorecard.flatten())
    }

    pub async fn set_scorecard(&self, id: &str, json: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET scorecard = $1 WHERE id = $2")
            .bind(json)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// `sqlite://data/x.db` -> a URL that creates the file, after creating its folder.
fn sqlite_url(rest: &str) -> Result<String> {
    let rest = rest.trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Ok("sqlite::memory:".to_string());
    }
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    let query = if query.contains("mode=") {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".into()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}
