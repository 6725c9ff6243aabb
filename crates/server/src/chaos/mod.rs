//! The Chaos Engine: the interviewer breaks the candidate's running app on purpose. Scenarios
//! come from the exercise's manifest (never from the candidate's files) and act in three ways:
//! data (SQL on the app's database), traffic (requests sent to the app) and network (faults in
//! the proxy every request to the app goes through). Nothing here is visible to the candidate:
//! no file, environment or header changes; faulty answers look like the app's own.

pub mod fault;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Serialize;
use sqlx::{Connection, Executor, Row};

pub use fault::FaultSpec;
use fault::{Outcome, plan};

use crate::util::{new_id, now_ms};
use crate::workspace::exercise::{Action, Scenario};
use crate::workspace::{Dropped, Workspace, app};

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

#[derive(Debug, Clone, Serialize)]
pub struct ActiveFault {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    #[serde(flatten)]
    pub spec: FaultSpec,
    pub since: i64,
}

/// One session's chaos: what is active now. Faults are read on every proxied request.
#[derive(Default)]
pub struct SessionChaos {
    state: Mutex<State>,
    /// Activations and resets one at a time, so a reset never interleaves with an activation.
    busy: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    faults: Vec<ActiveFault>,
    /// Active scenarios and since when.
    scenarios: BTreeMap<String, i64>,
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

impl SessionChaos {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn faults(&self) -> Vec<FaultSpec> {
        self.lock().faults.iter().map(|f| f.spec.clone()).collect()
    }
}

pub fn status(ws: &Workspace) -> Status {
    let state = ws.chaos.lock();
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
    let _busy = ws.chaos.busy.lock().await;
    {
        let mut state = ws.chaos.lock();
        state.faults.retain(|f| f.scenario.as_deref() != Some(id));
        for a in &s.actions {
            if let Action::Network(spec) = a {
                state.faults.push(ActiveFault { id: new_id(), scenario: Some(s.id.clone()), spec: spec.clone().normalized(), since: now_ms() });
            }
        }
        state.scenarios.insert(s.id.clone(), now_ms());
    }
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
    scenario(ws, id)?;
    let mut state = ws.chaos.lock();
    state.faults.retain(|f| f.scenario.as_deref() != Some(id));
    state.scenarios.remove(id);
    Ok(())
}

pub fn add_fault(ws: &Workspace, spec: FaultSpec) -> Result<ActiveFault, ChaosError> {
    spec.validate().map_err(ChaosError::Invalid)?;
    let mut state = ws.chaos.lock();
    if state.faults.len() >= 50 {
        return Err(ChaosError::Invalid("at most 50 faults at a time".into()));
    }
    let f = ActiveFault { id: new_id(), scenario: None, spec: spec.normalized(), since: now_ms() };
    state.faults.push(f.clone());
    Ok(f)
}

pub fn remove_fault(ws: &Workspace, fault_id: &str) -> Result<(), ChaosError> {
    let mut state = ws.chaos.lock();
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
        let mut state = ws.chaos.lock();
        state.faults.clear();
        state.scenarios.clear();
    }
    let _busy = ws.chaos.busy.lock().await;
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
    r.map(|_| ()).map_err(|e| ChaosError::Failed(format!("a data action failed: {e}")))
}

/// Sends `count` requests straight to the app (not through the faults), `concurrency` at a time.
async fn send_traffic(ws: &Arc<Workspace>, method: &str, path: &str, body: Option<&str>, count: u32, concurrency: u32) -> Result<(), ChaosError> {
    let method = axum::http::Method::from_bytes(method.as_bytes()).map_err(|_| ChaosError::Invalid(format!("invalid method '{method}'")))?;
    let results = futures_util::stream::iter(0..count.min(10_000))
        .map(|i| {
            let method = method.clone();
            let body = body.map(|b| b.replace("{i}", &i.to_string()));
            let socket = ws.app.socket.clone();
            async move {
                let mut req = Request::builder().method(method).uri(path).header(header::HOST, "127.0.0.1");
                if body.is_some() {
                    req = req.header(header::CONTENT_TYPE, "application/json");
                }
                let req = req.body(body.map(Body::from).unwrap_or_else(Body::empty)).ok()?;
                let res = crate::workspace::proxy::forward(&socket, req).await.ok()?;
                let status = res.status();
                // Drain the body so the connection ends cleanly.
                let _ = axum::body::to_bytes(res.into_body(), 1 << 20).await;
                Some(status)
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

/// How a proxied request goes: the session's faults decide, then the app answers.
pub async fn through_faults(ws: &Arc<Workspace>, mut req: Request<Body>) -> Result<Response<Body>, Dropped> {
    let faults = ws.chaos.faults();
    let plan = if faults.is_empty() { fault::Plan::default() } else { plan(faults.iter(), req.method().as_str(), req.uri().path()) };
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    match plan.outcome {
        Outcome::Forward => {}
        Outcome::Error(status) => return Ok(app_like_error(status)),
        Outcome::Reset => return Err(Dropped),
        Outcome::Hang(d) => {
            tokio::time::sleep(d).await;
            return Err(Dropped);
        }
    }
    if !matches!(ws.app.state(), app::State::Running) {
        ws.app.ensure_running(Duration::from_secs(20)).await;
    }
    req.headers_mut().insert(header::HOST, HeaderValue::from_static("127.0.0.1:8000"));
    let res = match ws.app.upstream.send(req).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "the app did not answer");
            let mut r = Response::new(Body::from(r#"{"error":"the app is not answering; check its log in the App panel"}"#));
            *r.status_mut() = StatusCode::BAD_GATEWAY;
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return Ok(r);
        }
    };
    Ok(match plan.bytes_per_second {
        Some(bps) => throttle(res, bps),
        None => res,
    })
}

/// An error answer that looks like the app's own server produced it (uvicorn's headers and
/// plain-text body): nothing tells the candidate it came from the platform.
fn app_like_error(status: u16) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = status.canonical_reason().unwrap_or("Error").to_string();
    let mut r = Response::new(Body::from(text.clone()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&httpdate(std::time::SystemTime::now())) {
        h.insert(header::DATE, v);
    }
    h.insert(header::SERVER, HeaderValue::from_static("uvicorn"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
    r
}

/// The body, sent at most `bps` bytes per second (in 10 slices a second).
fn throttle(res: Response<Body>, bps: u64) -> Response<Body> {
    let (parts, body) = res.into_parts();
    let slice = (bps / 10).max(1) as usize;
    let stream = body.into_data_stream().flat_map(move |chunk| {
        let pieces: Vec<Result<Bytes, axum::Error>> = match chunk {
            Ok(b) => (0..b.len()).step_by(slice).map(|i| Ok(b.slice(i..(i + slice).min(b.len())))).collect(),
            Err(e) => vec![Err(e)],
        };
        futures_util::stream::iter(pieces)
    });
    let paced = stream.then(|piece| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        piece
    });
    Response::from_parts(parts, Body::from_stream(paced))
}

/// An HTTP date (RFC 9110 5.6.7), as servers send in `Date`.
fn httpdate(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][(month - 1) as usize];
    format!("{weekday}, {d:02} {mon} {year} {h:02}:{m:02}:{s:02} GMT")
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(super::httpdate(t), "Tue, 14 Nov 2023 22:13:20 GMT");
    }
}
