//! The Chaos Engine: the interviewer breaks the candidate's running app on purpose. Scenarios
//! come from the exercise's manifest (never from the candidate's files) and act in three ways:
//! data (SQL on the app's database), traffic (requests sent to the app) and network (faults in
//! the proxy every request to the app goes through). Nothing here is visible to the candidate:
//! no file, environment or header changes; faulty answers look like the app's own.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use futures_util::StreamExt;
use serde::Serialize;
use sqlx::{Connection, Executor, Row};

pub mod checks;

pub use crate::faults::{ActiveFault, FaultSpec};

use crate::util::{new_id, now_ms};
use crate::workspace::exercise::{Action, Scenario};
use crate::workspace::{Workspace, app};

#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("unknown scenario '{id}'")]
    UnknownScenario { id: String, valid: Vec<String> },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AppNotRunning(String),
    #[error("{0}")]
    Failed(String),
}

#[derive(Debug, Serialize)]
pub struct ScenarioStatus {
    pub id: String,
    pub title: String,
    pub description: String,
    pub watch_for: String,
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub app: app::State,
    pub scenarios: Vec<ScenarioStatus>,
    pub faults: Vec<ActiveFault>,
}

pub fn status(ws: &Workspace) -> Status {
    let state = ws.faults.lock();
    Status {
        app: ws.app.state(),
        scenarios: ws
            .exercise
            .manifest
            .scenarios
            .iter()
            .map(|s| ScenarioStatus {
                id: s.id.clone(),
                title: s.title.clone(),
                description: s.description.clone(),
                watch_for: s.watch_for.clone(),
                active: state.scenarios.contains_key(&s.id),
                since: state.scenarios.get(&s.id).copied(),
            })
            .collect(),
        faults: state.faults.clone(),
    }
}

fn scenario<'a>(ws: &'a Workspace, id: &str) -> Result<&'a Scenario, ChaosError> {
    ws.exercise.manifest.scenarios.iter().find(|s| s.id == id).ok_or_else(|| ChaosError::UnknownScenario {
        id: id.chars().take(100).collect(),
        valid: ws.exercise.manifest.scenarios.iter().map(|s| s.id.clone()).collect(),
    })
}

fn require_running(ws: &Workspace) -> Result<(), ChaosError> {
    match ws.app.state() {
        app::State::Running => Ok(()),
        other => Err(ChaosError::AppNotRunning(format!(
            "the app is not running (it is {}); start the workspace before using the Chaos Engine",
            serde_json::to_value(other).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
        ))),
    }
}

/// Activates a scenario: its network faults first (they are live for the very next request),
/// then its data and traffic actions, in the manifest's order.
pub async fn activate(ws: &Arc<Workspace>, id: &str) -> Result<(), ChaosError> {
    let s = scenario(ws, id)?.clone();
    require_running(ws)?;
    let _busy = ws.faults.changing().await;
    {
        let mut state = ws.faults.lock();
        state.faults.retain(|f| f.scenario.as_deref() != Some(id));
        for a in &s.actions {
            if let Action::Network(spec) = a {
                state.faults.push(ActiveFault { id: new_id(), scenario: Some(s.id.clone()), spec: spec.clone().normalized(), since: now_ms() });
            }
        }
        state.scenarios.insert(s.id.clone(), now_ms());
    }
    ws.traffic.mark("scenario", format!("{} activated", s.title));
    for a in &s.actions {
        match a {
            Action::Data { sql } => run_sql(ws, sql).await?,
            Action::Traffic { method, path, body, count, concurrency } => {
                send_traffic(ws, method, path, body.as_deref(), *count, *concurrency).await?;
            }
            Action::Network(_) => {}
        }
    }
    Ok(())
}

/// Turns one scenario off: its network faults go; changed data stays until reset.
pub fn deactivate(ws: &Workspace, id: &str) -> Result<(), ChaosError> {
    let title = scenario(ws, id)?.title.clone();
    let mut state = ws.faults.lock();
    state.faults.retain(|f| f.scenario.as_deref() != Some(id));
    if state.scenarios.remove(id).is_some() {
        ws.traffic.mark("scenario", format!("{title} deactivated"));
    }
    Ok(())
}

pub fn add_fault(ws: &Workspace, spec: FaultSpec) -> Result<ActiveFault, ChaosError> {
    spec.validate().map_err(ChaosError::Invalid)?;
    let mut state = ws.faults.lock();
    if state.faults.len() >= 50 {
        return Err(ChaosError::Invalid("at most 50 faults at a time".into()));
    }
    let f = ActiveFault { id: new_id(), scenario: None, spec: spec.normalized(), since: now_ms() };
    state.faults.push(f.clone());
    Ok(f)
}

pub fn remove_fault(ws: &Workspace, fault_id: &str) -> Result<(), ChaosError> {
    let mut state = ws.faults.lock();
    let before = state.faults.len();
    state.faults.retain(|f| f.id != fault_id);
    if state.faults.len() == before {
        return Err(ChaosError::NotFound("no such fault".into()));
    }
    Ok(())
}

/// Back to clean: every fault removed at once, then the app's data restored from the copy
/// taken right after setup. Safe to call twice and while requests are in flight (the restore is
/// one transaction; SQLite makes concurrent requests wait for it).
pub async fn reset(ws: &Arc<Workspace>) -> Result<(), ChaosError> {
    {
        let mut state = ws.faults.lock();
        state.faults.clear();
        state.scenarios.clear();
    }
    ws.traffic.mark("reset", "reset to clean");
    let _busy = ws.faults.changing().await;
    let (Some(db), clean) = (ws.database(), ws.clean_database()) else { return Ok(()) };
    if !clean.is_file() || !db.is_file() {
        return Ok(());
    }
    let mut conn = open_db(&db).await?;
    let result = restore(&mut conn, &clean).await;
    let _ = conn.close().await;
    give_db_to_sandbox(ws, &db);
    result
}

async fn restore(conn: &mut sqlx::SqliteConnection, clean: &std::path::Path) -> Result<(), ChaosError> {
    let failed = |e: sqlx::Error| ChaosError::Failed(format!("could not restore the app's data: {e}"));
    let attach = format!("ATTACH DATABASE '{}' AS clean", clean.display().to_string().replace('\'', "''"));
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(attach))).await.map_err(failed)?;
    let tables: Vec<String> = sqlx::query("SELECT name FROM clean.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .fetch_all(&mut *conn)
        .await
        .map_err(failed)?
        .iter()
        .filter_map(|r| r.try_get::<String, _>("name").ok())
        .collect();
    let mut sql = String::from("BEGIN IMMEDIATE;\n");
    for t in &tables {
        // Only the columns both copies have: the candidate may have changed the schema.
        let q = |db: &str| format!("SELECT name FROM pragma_table_info('{}', '{db}')", t.replace('\'', "''"));
        let clean_cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(q("clean"))).fetch_all(&mut *conn).await.map_err(failed)?.iter().filter_map(|r| r.try_get("name").ok()).collect();
        let main_cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(q("main"))).fetch_all(&mut *conn).await.map_err(failed)?.iter().filter_map(|r| r.try_get("name").ok()).collect();
        if main_cols.is_empty() {
            continue;
        }
        let cols: Vec<String> = clean_cols.iter().filter(|c| main_cols.contains(c)).map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
        let name = format!("\"{}\"", t.replace('"', "\"\""));
        sql.push_str(&format!("DELETE FROM main.{name};\n"));
        if !cols.is_empty() {
            let cols = cols.join(", ");
            sql.push_str(&format!("INSERT INTO main.{name} ({cols}) SELECT {cols} FROM clean.{name};\n"));
        }
    }
    // AUTOINCREMENT counters too, so new rows get the ids they would have had.
    let has_seq = |db: &'static str| format!("SELECT COUNT(*) AS n FROM {db}.sqlite_master WHERE name = 'sqlite_sequence'");
    let count = |row: sqlx::sqlite::SqliteRow| row.try_get::<i64, _>("n").unwrap_or(0);
    let main_seq = count(sqlx::query(sqlx::AssertSqlSafe(has_seq("main"))).fetch_one(&mut *conn).await.map_err(failed)?);
    let clean_seq = count(sqlx::query(sqlx::AssertSqlSafe(has_seq("clean"))).fetch_one(&mut *conn).await.map_err(failed)?);
    if main_seq > 0 {
        sql.push_str("DELETE FROM main.sqlite_sequence;\n");
        if clean_seq > 0 {
            sql.push_str("INSERT INTO main.sqlite_sequence SELECT * FROM clean.sqlite_sequence;\n");
        }
    }
    sql.push_str("COMMIT;\n");
    let r = conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await;
    if r.is_err() {
        let _ = conn.execute(sqlx::raw_sql("ROLLBACK")).await;
    }
    let _ = conn.execute(sqlx::raw_sql("DETACH DATABASE clean")).await;
    r.map(|_| ()).map_err(failed)
}

async fn open_db(db: &std::path::Path) -> Result<sqlx::SqliteConnection, ChaosError> {
    // Foreign keys off: a restore deletes and re-inserts whole tables in whatever order.
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(db).busy_timeout(Duration::from_secs(10)).create_if_missing(false).foreign_keys(false);
    sqlx::SqliteConnection::connect_with(&opts).await.map_err(|e| ChaosError::Failed(format!("could not open the app's database: {e}")))
}

/// Files SQLite may have created next to the database while the platform wrote it stay the
/// sandbox user's, or the app could no longer write its own database.
fn give_db_to_sandbox(ws: &Workspace, db: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            crate::workspace::files::give_to(&p, ws.sandbox.uid);
        }
    }
}

async fn run_sql(ws: &Workspace, sql: &str) -> Result<(), ChaosError> {
    let db = ws.database().ok_or_else(|| ChaosError::Failed("this exercise has no database".into()))?;
    let mut conn = open_db(&db).await?;
    let r = conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))).await;
    let _ = conn.close().await;
    give_db_to_sandbox(ws, &db);
    r.map(|_| ()).map_err(|e| ChaosError::Failed(format!("SQL on the app's database failed: {e}")))
}

/// Sends `count` requests straight to the app (not through the faults), `concurrency` at a time.
async fn send_traffic(ws: &Arc<Workspace>, method: &str, path: &str, body: Option<&str>, count: u32, concurrency: u32) -> Result<(), ChaosError> {
    let method = axum::http::Method::from_bytes(method.as_bytes()).map_err(|_| ChaosError::Invalid(format!("invalid method '{method}'")))?;
    let results = futures_util::stream::iter(0..count.min(10_000))
        .map(|i| {
            let method = method.clone();
            let body = body.map(|b| b.replace("{i}", &i.to_string()));
            let socket = ws.app.socket.clone();
            let traffic = ws.traffic.clone();
            async move {
                let mut req = Request::builder().method(method.clone()).uri(path).header(header::HOST, "127.0.0.1");
                if body.is_some() {
                    req = req.header(header::CONTENT_TYPE, "application/json");
                }
                let req = req.body(body.map(Body::from).unwrap_or_else(Body::empty)).ok()?;
                let (at, started) = (now_ms(), std::time::Instant::now());
                let res = crate::workspace::proxy::forward(&socket, req).await;
                let status = res.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                // Drain the body so the connection ends cleanly.
                let bytes = match res {
                    Ok(r) => axum::body::to_bytes(r.into_body(), 1 << 20).await.map(|b| b.len() as u64).unwrap_or(0),
                    Err(_) => 0,
                };
                let path = crate::workspace::traffic::path_template(path);
                traffic.record(crate::workspace::traffic::Record { at, method: method.to_string(), path, status, ms, bytes, origin: crate::workspace::traffic::Origin::Chaos });
                (status != 0).then_some(status)
            }
        })
        .buffer_unordered(concurrency.clamp(1, 64) as usize)
        .collect::<Vec<_>>()
        .await;
    if results.iter().all(|r| r.is_none()) && count > 0 {
        return Err(ChaosError::AppNotRunning("the app did not answer the scenario's requests".into()));
    }
    Ok(())
}
