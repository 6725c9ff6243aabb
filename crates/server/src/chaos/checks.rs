//! Recovery checks: what "fixed" means for a scenario, run against the candidate's running app on
//! the interviewer's request. HTTP probes go through the session's proxy and its faults, as the
//! candidate's own requests do (a network scenario's checks pass once its faults are gone); SQL
//! invariants read the app's database on a read-only connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;

use super::ChaosError;
use crate::workspace::Workspace;
use crate::workspace::exercise::{Check, CheckKind, Expect};
use crate::workspace::traffic::Origin;

/// A probe that has not answered by then has failed (a hanging request is a finding, not a wait).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BODY: usize = 2 << 20;
const MAX_SEEN_CHARS: usize = 300;

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub scenario: String,
    pub id: String,
    pub title: String,
    pub passed: bool,
    /// What was seen, in a line: the answer's status and time, or the rows that broke the invariant.
    pub seen: String,
}

/// Runs the checks of `scenario`, or of every scenario, one after another in the manifest's order.
pub async fn run(
    ws: &Arc<Workspace>,
    scenario: Option<&str>,
) -> Result<Vec<CheckResult>, ChaosError> {
    if let Some(id) = scenario {
        super::scenario(ws, id)?;
    }
    super::require_running(ws)?;
    let mut results = Vec::new();
    for s in ws
        .exercise
        .manifest
        .scenarios
        .iter()
        .filter(|s| scenario.is_none_or(|id| id == s.id))
    {
        for c in &s.checks {
            let (passed, seen) = run_one(ws, c).await;
            results.push(CheckResult {
                scenario: s.id.clone(),
                id: c.id.clone(),
                title: c.title.clone(),
                passed,
                seen: clip(&seen),
            });
        }
    }
    Ok(results)
}

/// One check: its setup, the probe or query, the invariant after a probe, and its cleanup
/// (always, so a failed check leaves no more behind than a passed one).
async fn run_one(ws: &Arc<Workspace>, c: &Check) -> (bool, String) {
    if let Some(sql) = &c.setup
        && let Err(e) = super::run_sql(ws, sql).await
    {
        cleanup(ws, c).await;
        return (false, format!("the check's setup failed: {e}"));
    }
    let (mut passed, mut seen) = match c.kind {
        CheckKind::Http => http_check(ws, c).await,
        CheckKind::Sql => sql_check(ws, c).await,
    };
    if c.kind == CheckKind::Http && passed && c.query.is_some() {
        let (held, rows) = sql_check(ws, c).await;
        passed = held;
        seen = format!("{seen}; afterwards {rows}");
    }
    cleanup(ws, c).await;
    (passed, seen)
}

async fn cleanup(ws: &Workspace, c: &Check) {
    if let Some(sql) = &c.cleanup
        && let Err(e) = super::run_sql(ws, sql).await
    {
        tracing::warn!(session = %ws.session_id, check = %c.id, "a recovery check's cleanup failed: {e}");
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_SEEN_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_SEEN_CHARS).collect();
    out.push('…');
    out
}

/// One answer to a probe, or why there was none.
struct Answer {
    status: u16,
    ms: f64,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

async fn send_one(ws: &Arc<Workspace>, c: &Check, i: u32) -> Result<Answer, String> {
    let path = c.path.as_deref().unwrap_or("/");
    let mut req = Request::builder().method(c.method.as_str()).uri(path);
    for (k, v) in &c.headers {
        req = req.header(k.as_str(), v.replace("{i}", &i.to_string()));
    }
    let body = c.body.as_ref().map(|b| b.replace("{i}", &i.to_string()));
    if body.is_some()
        && !c
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let req = req
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .map_err(|e| format!("invalid request: {e}"))?;
    let started = Instant::now();
    let answer = async {
        let res = ws
            .call_app(req, Origin::Check)
            .await
            .map_err(|_| "the connection was dropped without an answer".to_string())?;
        let (parts, body) = res.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|e| format!("the answer broke off: {e}"))?;
        Ok::<_, String>(Answer {
            status: parts.status.as_u16(),
            ms: 0.0,
            headers: parts.headers,
            body: body.to_vec(),
        })
    };
    // A latency bound also bounds the wait: a probe twice as slow as allowed has failed anyway.
    let limit = c
        .max_ms
        .map_or(PROBE_TIMEOUT, |m| {
            Duration::from_millis(m.saturating_mul(2).max(2000))
        })
        .min(PROBE_TIMEOUT);
    let mut a = tokio::time::timeout(limit, answer)
        .await
        .map_err(|_| format!("no answer within {:.1} s", limit.as_secs_f64()))??;
    a.ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(a)
}

/// Why one answer fails the check; `None` when it passes.
fn judge(c: &Check, a: &Answer) -> Option<String> {
    let status_ok = if c.status.is_empty() {
        (200..300).contains(&a.status)
    } else {
        c.status.contains(&a.status)
    };
    if !status_ok {
        let want = if c.status.is_empty() {
            "2xx".to_string()
        } else {
            c.status
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or ")
        };
        let body = String::from_utf8_lossy(&a.body);
        return Some(format!(
            "{} (expected {want}): {}",
            a.status,
            body.trim().chars().take(120).collect::<String>()
        ));
    }
    if let Some(max) = c.max_ms
        && a.ms > max as f64
    {
        return Some(format!("{} in {:.0} ms (limit {max} ms)", a.status, a.ms));
    }
    let json: Option<serde_json::Value> = serde_json::from_slice(&a.body).ok();
    for e in &c.expect {
        if let Some(why) = expect_fails(e, a, json.as_ref()) {
            return Some(why);
        }
    }
    None
}

fn expect_fails(e: &Expect, a: &Answer, json: Option<&serde_json::Value>) -> Option<String> {
    let (name, value) = match (&e.json, &e.header) {
        (Some(path), _) => {
            let Some(doc) = json else {
                return Some("the answer is not JSON".into());
            };
            (path.clone(), json_at(doc, path))
        }
        (_, Some(h)) => {
            let v = a
                .headers
                .get(h.as_str())
                .and_then(|v| v.to_str().ok())
                .map(|s| match s.trim().parse::<f64>() {
                    Ok(n) => serde_json::json!(n),
                    Err(_) => serde_json::Value::String(s.to_string()),
                });
            (format!("header {h}"), v)
        }
        _ => return Some("the check names neither json nor header".into()),
    };
    let Some(value) = value else {
        return Some(format!("{name}: missing"));
    };
    if let Some(want) = &e.equals {
        let same = match (want.as_f64(), value.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-9,
            _ => want == &value,
        };
        if !same {
            return Some(format!("{name} = {value} (expected {want})"));
        }
    }
    if e.min.is_some() || e.max.is_some() {
        let Some(n) = value.as_f64() else {
            return Some(format!("{name} = {value} (expected a number)"));
        };
        if e.min.is_some_and(|m| n < m) || e.max.is_some_and(|m| n > m) {
            let bound = match (e.min, e.max) {
                (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
                (Some(lo), None) => format!("at least {lo}"),
                (None, Some(hi)) => format!("at most {hi}"),
                _ => String::new(),
            };
            return Some(format!("{name} = {value} (expected {bound})"));
        }
    }
    None
}

/// `a.0.b` in a JSON document; `length` is an array's or object's size.
pub fn json_at(doc: &serde_json::Value, path: &str) -> Option<serde_json::Value> {
    let mut cur = doc;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        cur = match cur {
            serde_json::Value::Array(xs) => match seg.parse::<usize>() {
                Ok(i) => xs.get(i)?,
                Err(_) if seg == "length" => return Some(serde_json::json!(xs.len())),
                Err(_) => return None,
            },
            serde_json::Value::Object(m) => match m.get(seg) {
                Some(v) => v,
                None if seg == "length" => return Some(serde_json::json!(m.len())),
                None => return None,
            },
            _ => return None,
        };
    }
    Some(cur.clone())
}

async fn http_check(ws: &Arc<Workspace>, c: &Check) -> (bool, String) {
    let answers: Vec<Result<Answer, String>> = futures_util::stream::iter(0..c.count)
        .map(|i| send_one(ws, c, i))
        .buffer_unordered(c.concurrency.max(1) as usize)
        .collect()
        .await;
    let mut failures = Vec::new();
    let mut slowest: Option<&Answer> = None;
    for a in &answers {
        match a {
            Err(why) => failures.push(why.clone()),
            Ok(a) => {
                if let Some(why) = judge(c, a) {
                    failures.push(why);
                }
                if slowest.is_none_or(|s| a.ms > s.ms) {
                    slowest = Some(a);
                }
            }
        }
    }
    let path = c.path.as_deref().unwrap_or("/");
    let what = format!("{} {path}", c.method);
    if failures.is_empty() {
        let s = slowest
            .map(|a| format!("{} in {:.0} ms", a.status, a.ms))
            .unwrap_or_default();
        let seen = if c.count == 1 {
            format!("{what}: {s}")
        } else {
            format!(
                "{what}: all {} answered as expected (slowest: {s})",
                c.count
            )
        };
        return (true, seen);
    }
    let seen = if c.count == 1 {
        format!("{what}: {}", failures[0])
    } else {
        format!(
            "{what}: {} of {} failed; first: {}",
            failures.len(),
            c.count,
            failures[0]
        )
    };
    (false, seen)
}

async fn sql_check(ws: &Workspace, c: &Check) -> (bool, String) {
    if !ws.has_database() {
        return (false, "this exercise has no database".into());
    }
    let query = c.query.clone().unwrap_or_default();
    // Read only (a check never changes the candidate's data), in the sandbox like every access
    // to the app's database; the first rows that break the invariant, as JSON.
    let script = format!(
        ".mode json\nPRAGMA query_only = ON;\nSELECT * FROM ({}) LIMIT 4;",
        query.trim().trim_end_matches(';')
    );
    let out = match ws.sqlite(&script).await {
        Ok(out) => out,
        Err(e) => return (false, format!("the query failed: {e}")),
    };
    let rows: Vec<Row> = serde_json::from_str(out.trim()).unwrap_or_default();
    if rows.is_empty() {
        return (true, "no rows".into());
    }
    let more = if rows.len() > 3 { ", …" } else { "" };
    let shown: Vec<String> = rows.iter().take(3).map(render_row).collect();
    (
        false,
        format!("rows that break it: {}{more}", shown.join(", ")),
    )
}

/// One row as sqlite3's JSON mode prints it, its columns in the query's order.
struct Row(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Row {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Row, D::Error> {
        struct Columns;
        impl<'de> serde::de::Visitor<'de> for Columns {
            type Value = Row;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a row object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
                let mut cells = Vec::new();
                while let Some(cell) = map.next_entry::<String, Value>()? {
                    cells.push(cell);
                }
                Ok(Row(cells))
            }
        }
        d.deserialize_map(Columns)
    }
}

fn render_row(row: &Row) -> String {
    let cells: Vec<String> = row
        .0
        .iter()
        .map(|(name, v)| {
            let v = match v {
                Value::Null => "null".to_string(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{name}={v}")
        })
        .collect();
    format!("({})", cells.join(", "))
}

#[cfg(test)]
mod tests {
    use super::json_at;
    use serde_json::json;

    #[test]
    fn json_paths() {
        let doc = json!({"price": -50, "holdings": [{"q": 3}, {"q": 4}]});
        assert_eq!(json_at(&doc, "price"), Some(json!(-50)));
        assert_eq!(json_at(&doc, "holdings.1.q"), Some(json!(4)));
        assert_eq!(json_at(&doc, "holdings.length"), Some(json!(2)));
        assert_eq!(json_at(&doc, "holdings.9.q"), None);
        assert_eq!(json_at(&json!([1, 2, 3]), "length"), Some(json!(3)));
    }
}
