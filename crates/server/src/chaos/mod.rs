//! The Chaos Engine: the interviewer breaks the candidate's running app on purpose. Scenarios
//! come from the exercise's manifest (never from the candidate's files) and act in three ways:
//! data (SQL on the app's database), traffic (requests sent to the app) and network (faults in
//! the proxy every request to the app goes through). Nothing here is visible to the candidate:
//! no file, environment or header changes; faulty answers look like the app's own.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use futures_util::StreamExt;
use serde::Serialize;

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
    ws.exercise
        .manifest
        .scenarios
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ChaosError::UnknownScenario {
            id: id.chars().take(100).collect(),
            valid: ws
                .exercise
                .manifest
                .scenarios
                .iter()
                .map(|s| s.id.clone())
                .collect(),
        })
}

fn require_running(ws: &Workspace) -> Result<(), ChaosError> {
    match ws.app.state() {
        app::State::Running => Ok(()),
        other => Err(ChaosError::AppNotRunning(format!(
            "the app is not running (it is {}); start the workspace before using the Chaos Engine",
            serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
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
                state.faults.push(ActiveFault {
                    id: new_id(),
                    scenario: Some(s.id.clone()),
                    spec: spec.clone().normalized(),
                    since: now_ms(),
                });
            }
        }
        state.scenarios.insert(s.id.clone(), now_ms());
    }
    ws.traffic
        .mark("scenario", format!("{} activated", s.title));
    for a in &s.actions {
        match a {
            Action::Data { sql } => run_sql(ws, sql).await?,
            Action::Traffic {
                method,
                path,
                body,
                count,
                concurrency,
            } => {
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
    let f = ActiveFault {
        id: new_id(),
        scenario: None,
        spec: spec.normalized(),
        since: now_ms(),
    };
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
    if !ws.has_database() || !ws.has_clean_database() {
        return Ok(());
    }
    restore(ws).await
}

/// The app's tables back to their clean copy, in one transaction, run by `sqlite3` inside the
/// sandbox (see `Workspace::sqlite`). Only the columns both copies have are restored: the
/// candidate may have changed the schema.
async fn restore(ws: &Workspace) -> Result<(), ChaosError> {
    let failed = |e: String| ChaosError::Failed(format!("could not restore the app's data: {e}"));
    let attach = format!(
        "ATTACH 'file:{}?immutable=1' AS clean;",
        crate::workspace::CLEAN_DB_IN_SANDBOX
    );
    let tables = "SELECT '{db}' AS db, m.name AS t, p.name AS c FROM {db}.sqlite_master m, pragma_table_info(m.name, '{db}') p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'";
    let query = format!(
        "{attach}\n.mode json\n{} UNION ALL {};\nSELECT (SELECT COUNT(*) FROM main.sqlite_master WHERE name = 'sqlite_sequence') AS main_seq, (SELECT COUNT(*) FROM clean.sqlite_master WHERE name = 'sqlite_sequence') AS clean_seq;",
        tables.replace("{db}", "clean"),
        tables.replace("{db}", "main")
    );
    let out = ws.sqlite(&query).await.map_err(failed)?;
    let mut columns: Vec<(String, String, String)> = Vec::new();
    let (mut main_seq, mut clean_seq) = (0, 0);
    for array in serde_json::Deserializer::from_str(&out)
        .into_iter::<serde_json::Value>()
        .flatten()
    {
        for row in array.as_array().into_iter().flatten() {
            let text = |k: &str| row[k].as_str().unwrap_or_default().to_string();
            if row.get("main_seq").is_some() {
                main_seq = row["main_seq"].as_i64().unwrap_or(0);
                clean_seq = row["clean_seq"].as_i64().unwrap_or(0);
            } else {
                columns.push((text("db"), text("t"), text("c")));
            }
        }
    }
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let mut tables: Vec<&str> = columns
        .iter()
        .filter(|(db, _, _)| db == "clean")
        .map(|(_, t, _)| t.as_str())
        .collect();
    tables.dedup();
    let mut sql = format!("{attach}\nBEGIN IMMEDIATE;\n");
    for t in tables {
        let has = |db: &str, c: &str| {
            columns
                .iter()
                .any(|(d, tt, cc)| d == db && tt == t && cc == c)
        };
        if !columns.iter().any(|(d, tt, _)| d == "main" && tt == t) {
            continue;
        }
        let cols: Vec<String> = columns
            .iter()
            .filter(|(d, tt, c)| d == "clean" && tt == t && has("main", c))
            .map(|(_, _, c)| quote(c))
            .collect();
        let name = quote(t);
        sql.push_str(&format!("DELETE FROM main.{name};\n"));
        if !cols.is_empty() {
            let cols = cols.join(", ");
            sql.push_str(&format!(
                "INSERT INTO main.{name} ({cols}) SELECT {cols} FROM clean.{name};\n"
            ));
        }
    }
    // AUTOINCREMENT counters too, so new rows get the ids they would have had.
    if main_seq > 0 {
        sql.push_str("DELETE FROM main.sqlite_sequence;\n");
        if clean_seq > 0 {
            sql.push_str("INSERT INTO main.sqlite_sequence SELECT * FROM clean.sqlite_sequence;\n");
        }
    }
    // -bail: any error stops before COMMIT, and the transaction is rolled back.
    sql.push_str("COMMIT;\n");
    ws.sqlite(&sql).await.map(|_| ()).map_err(failed)
}

async fn run_sql(ws: &Workspace, sql: &str) -> Result<(), ChaosError> {
    if !ws.has_database() {
        return Err(ChaosError::Failed("this exercise has no database".into()));
    }
    ws.sqlite(sql)
        .await
        .map(|_| ())
        .map_err(|e| ChaosError::Failed(format!("SQL on the app's database failed: {e}")))
}

async fn send_traffic(
    ws: &Arc<Workspace>,
    method: &str,
    path: &str,
    body: Option<&str>,
    count: u32,
    concurrency: u32,
) -> Result<(), ChaosError> {
    let method = axum::http::Method::from_bytes(method.as_bytes())
        .map_err(|_| ChaosError::Invalid(format!("invalid method '{method}'")))?;
    let results = futures_util::stream::iter(0..count.min(10_000))
        .map(|i| {
            let method = method.clone();
            let body = body.map(|b| b.replace("{i}", &i.to_string()));
            let socket = ws.app.socket.clone();
            let traffic = ws.traffic.clone();
            async move {
                let mut req = Request::builder()
                    .method(method.clone())
                    .uri(path)
                    .header(header::HOST, "127.0.0.1");
                if body.is_some() {
                    req = req.header(header::CONTENT_TYPE, "application/json");
                }
                let req = req
                    .body(body.map(Body::from).unwrap_or_else(Body::empty))
                    .ok()?;
                let (at, started) = (now_ms(), std::time::Instant::now());
                let res = crate::workspace::proxy::forward(&socket, req).await;
                let status = res.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                // Drain the body so the connection ends cleanly.
                let bytes = match res {
                    Ok(r) => axum::body::to_bytes(r.into_body(), 1 << 20)
                        .await
                        .map(|b| b.len() as u64)
                        .unwrap_or(0),
                    Err(_) => 0,
                };
                let path = crate::workspace::traffic::path_template(path);
                traffic.record(crate::workspace::traffic::Record {
                    at,
                    method: method.to_string(),
                    path,
                    status,
                    ms,
                    bytes,
                    origin: crate::workspace::traffic::Origin::Chaos,
                });
                (status != 0).then_some(status)
            }
        })
        .buffer_unordered(concurrency.clamp(1, 64) as usize)
        .collect::<Vec<_>>()
        .await;
    if results.iter().all(|r| r.is_none()) && count > 0 {
        return Err(ChaosError::AppNotRunning(
            "the app did not answer the scenario's requests".into(),
        ));
    }
    Ok(())
}
