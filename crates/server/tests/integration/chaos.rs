//! The Chaos Engine against a real workspace app: every scenario's effect is visible on the
//! candidate's next request, reset restores everything, only the interviewer reaches it, and
//! sessions are isolated. Skipped with a message without bubblewrap or the exercise's venv.

use std::time::{Duration, Instant};

use crate::common::{Session, WorkspaceServer, http, workspace_session};
use serde_json::{Value, json};

fn ready() -> bool {
    crate::common::workspaces_ready("chaos tests")
}

async fn env() -> WorkspaceServer {
    WorkspaceServer::start(|_| {}).await
}

/// A workspace session whose app is running.
async fn running(base: &str) -> Session {
    let s = workspace_session(base).await;
    let (status, _) = app(base, &s, "GET", "/health", None).await;
    assert_eq!(status, 200, "the app starts");
    s
}

async fn app(
    base: &str,
    s: &Session,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, String) {
    let mut req = http()
        .request(
            method.parse().unwrap(),
            format!("{base}/api/sessions/{}/app{path}", s.id),
        )
        .bearer_auth(&s.candidate)
        .timeout(Duration::from_secs(30));
    if let Some(b) = body {
        req = req.json(&b);
    }
    match req.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            match res.text().await {
                Ok(t) => (status, t),
                Err(_) => (0, String::new()),
            }
        }
        // No answer at all (a reset or timeout fault).
        Err(_) => (0, String::new()),
    }
}

async fn chaos(
    base: &str,
    s: &Session,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http()
        .request(
            method.parse().unwrap(),
            format!("{base}/api/sessions/{}/chaos{path}", s.id),
        )
        .timeout(Duration::from_secs(60));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn activate(base: &str, s: &Session, scenario: &str) {
    let (status, body) = chaos(
        base,
        s,
        Some(&s.interviewer),
        "POST",
        "",
        Some(json!({"scenario": scenario})),
    )
    .await;
    assert_eq!(status, 200, "activate {scenario}: {body}");
}

async fn reset(base: &str, s: &Session) {
    let (status, body) = chaos(base, s, Some(&s.interviewer), "POST", "/reset", None).await;
    assert_eq!(status, 200, "reset: {body}");
}

async fn json_of(base: &str, s: &Session, path: &str) -> Value {
    let (status, body) = app(base, s, "GET", path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn only_the_interviewer_reaches_chaos_on_every_route() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let s = workspace_session(&base).await;
    let routes: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "/status", None),
        ("POST", "", Some(json!({"scenario": "chaos_data"}))),
        ("POST", "/activate", Some(json!({"scenario": "chaos_data"}))),
        (
            "POST",
            "/deactivate",
            Some(json!({"scenario": "chaos_data"})),
        ),
        (
            "POST",
            "/faults",
            Some(json!({"kind": "error", "status": 503})),
        ),
        ("DELETE", "/faults/whatever", None),
        ("POST", "/reset", None),
    ];
    for (method, path, body) in &routes {
        let (status, _) = chaos(&base, &s, None, method, path, body.clone()).await;
        assert_eq!(status, 401, "{method} chaos{path} without a token");
        let (status, _) = chaos(&base, &s, Some(&s.candidate), method, path, body.clone()).await;
        assert_eq!(status, 403, "{method} chaos{path} as the candidate");
    }
    // The app is not running yet: activation says so clearly.
    let (status, body) = chaos(
        &base,
        &s,
        Some(&s.interviewer),
        "POST",
        "",
        Some(json!({"scenario": "chaos_data"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not running"),
        "{body}"
    );
    // Unknown scenarios list the valid ids.
    let (status, body) = chaos(
        &base,
        &s,
        Some(&s.interviewer),
        "POST",
        "",
        Some(json!({"scenario": "chaos_nope"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["valid"]
            .as_array()
            .unwrap()
            .contains(&json!("chaos_race")),
        "{body}"
    );
    // The status lists the scenarios with what to watch for.
    let (status, body) = chaos(&base, &s, Some(&s.interviewer), "GET", "/status", None).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    for id in ["chaos_data", "chaos_stress", "chaos_race"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    assert!(body["scenarios"][0]["watch_for"].as_str().unwrap().len() > 10);
    // A pad has no chaos.
    let pad = crate::common::new_session(&base).await;
    let (status, _) = chaos(&base, &pad, Some(&pad.interviewer), "GET", "/status", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn data_stress_and_race_scenarios_then_reset() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let s = running(&base).await;
    let clean_price = json_of(&base, &s, "/stocks/GOOGL").await["price"]
        .as_f64()
        .unwrap();
    assert!(clean_price > 0.0);

    // chaos_data: the very next request sees impossible values.
    activate(&base, &s, "chaos_data").await;
    assert_eq!(
        json_of(&base, &s, "/stocks/GOOGL").await["price"]
            .as_f64()
            .unwrap(),
        -50.0
    );
    let (_, st) = chaos(&base, &s, Some(&s.interviewer), "GET", "/status", None).await;
    let data = st["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "chaos_data")
        .unwrap()
        .clone();
    assert_eq!(data["active"], true);
    assert!(data["since"].as_i64().unwrap() > 0);
    reset(&base, &s).await;
    assert_eq!(
        json_of(&base, &s, "/stocks/GOOGL").await["price"]
            .as_f64()
            .unwrap(),
        clean_price
    );

    // chaos_stress: 500 alerts for the stresstest user (id 4).
    let before = json_of(&base, &s, "/users/4/alerts")
        .await
        .as_array()
        .unwrap()
        .len();
    activate(&base, &s, "chaos_stress").await;
    let after = json_of(&base, &s, "/users/4/alerts")
        .await
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, before + 500);
    reset(&base, &s).await;
    assert_eq!(
        json_of(&base, &s, "/users/4/alerts")
            .await
            .as_array()
            .unwrap()
            .len(),
        before
    );

    // chaos_race: concurrent orders overdraw carol (id 3).
    let cash = json_of(&base, &s, "/users/3").await["cash"]
        .as_f64()
        .unwrap();
    assert!(cash > 0.0);
    activate(&base, &s, "chaos_race").await;
    let cash_after = json_of(&base, &s, "/users/3").await["cash"]
        .as_f64()
        .unwrap();
    assert!(
        cash_after < 0.0,
        "concurrent orders overdraw the balance: {cash_after}"
    );
    // Its latency fault is on the order endpoint.
    let t = Instant::now();
    let (status, _) = app(
        &base,
        &s,
        "POST",
        "/orders",
        Some(json!({"user_id": 1, "symbol": "AAPL", "side": "buy", "quantity": 1})),
    )
    .await;
    assert_eq!(status, 201);
    assert!(
        t.elapsed() >= Duration::from_millis(50),
        "latency on POST /orders: {:?}",
        t.elapsed()
    );
    // Reset twice, the second time while requests are in flight: everything is clean and answered.
    reset(&base, &s).await;
    let inflight: Vec<_> = (0..20)
        .map(|_| {
            let (b, s) = (base.clone(), s.clone());
            tokio::spawn(async move { app(&b, &s, "GET", "/stocks", None).await.0 })
        })
        .collect();
    reset(&base, &s).await;
    for h in inflight {
        assert_eq!(h.await.unwrap(), 200);
    }
    assert_eq!(
        json_of(&base, &s, "/users/3").await["cash"]
            .as_f64()
            .unwrap(),
        cash
    );
    let (_, st) = chaos(&base, &s, Some(&s.interviewer), "GET", "/status", None).await;
    assert!(st["faults"].as_array().unwrap().is_empty());
    assert!(
        st["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["active"] == false)
    );

    // Every activation and reset is on the timeline.
    let events: Value = http()
        .get(format!("{base}/api/sessions/{}/events", s.id))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "chaos_activated").count(), 3);
    assert!(kinds.iter().filter(|k| **k == "chaos_reset").count() >= 4);
}

#[tokio::test]
async fn network_faults_latency_errors_resets_and_custom_faults() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let s = running(&base).await;

    // Errors at about the configured rate (30 %) over 200 requests.
    activate(&base, &s, "net_errors").await;
    let mut errors = 0;
    for _ in 0..200 {
        let (status, _) = app(&base, &s, "GET", "/stocks", None).await;
        if status >= 500 {
            errors += 1;
        } else {
            assert_eq!(status, 200);
        }
    }
    assert!(
        (35..=85).contains(&errors),
        "about 30 % of 200 requests fail: {errors}"
    );
    // Deactivating one scenario removes its faults.
    let (status, _) = chaos(
        &base,
        &s,
        Some(&s.interviewer),
        "POST",
        "/deactivate",
        Some(json!({"scenario": "net_errors"})),
    )
    .await;
    assert_eq!(status, 200);
    for _ in 0..20 {
        assert_eq!(app(&base, &s, "GET", "/stocks", None).await.0, 200);
    }

    // Slow responses: latency with jitter on every request.
    activate(&base, &s, "net_slow").await;
    let t = Instant::now();
    assert_eq!(app(&base, &s, "GET", "/health", None).await.0, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(350),
        "latency added: {:?}",
        t.elapsed()
    );
    reset(&base, &s).await;

    // Connections reset: some requests get no answer at all.
    activate(&base, &s, "net_reset").await;
    let mut dropped = 0;
    for _ in 0..60 {
        if app(&base, &s, "GET", "/stocks", None).await.0 == 0 {
            dropped += 1;
        }
    }
    assert!(
        (2..=30).contains(&dropped),
        "about 20 % of 60 requests dropped: {dropped}"
    );
    reset(&base, &s).await;

    // A custom fault: matched by method and path, removable on its own.
    let (status, st) = chaos(
        &base,
        &s,
        Some(&s.interviewer),
        "POST",
        "/faults",
        Some(json!({"kind": "error", "status": 418, "methods": ["GET"], "path": "/stocks*"})),
    )
    .await;
    assert_eq!(status, 201, "{st}");
    assert_eq!(app(&base, &s, "GET", "/stocks/AAPL", None).await.0, 418);
    assert_eq!(app(&base, &s, "GET", "/users/1", None).await.0, 200);
    let id = st["faults"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = chaos(
        &base,
        &s,
        Some(&s.interviewer),
        "DELETE",
        &format!("/faults/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app(&base, &s, "GET", "/stocks/AAPL", None).await.0, 200);
    // A timeout: the request hangs, then the connection drops.
    chaos(
        &base,
        &s,
        Some(&s.interviewer),
        "POST",
        "/faults",
        Some(json!({"kind": "timeout", "timeout_ms": 700, "path": "/health"})),
    )
    .await;
    let t = Instant::now();
    assert_eq!(app(&base, &s, "GET", "/health", None).await.0, 0);
    assert!(t.elapsed() >= Duration::from_millis(650));
    // Bandwidth: a ~600-byte answer at 2,000 bytes/s takes a few tenths of a second.
    reset(&base, &s).await;
    chaos(
        &base,
        &s,
        Some(&s.interviewer),
        "POST",
        "/faults",
        Some(json!({"kind": "bandwidth", "bytes_per_second": 2000, "path": "/stocks"})),
    )
    .await;
    let t = Instant::now();
    let (status, body) = app(&base, &s, "GET", "/stocks", None).await;
    assert_eq!(status, 200);
    assert!(
        serde_json::from_str::<Value>(&body).is_ok(),
        "the throttled answer is complete"
    );
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    // Bad faults are refused.
    for bad in [
        json!({"kind": "latency"}),
        json!({"kind": "error", "probability": 2}),
        json!({"kind": "nope"}),
        json!({"kind": "error", "status": 200}),
    ] {
        let (status, _) = chaos(
            &base,
            &s,
            Some(&s.interviewer),
            "POST",
            "/faults",
            Some(bad.clone()),
        )
        .await;
        assert!(status == 400 || status == 422, "{bad}: {status}");
    }
}

#[tokio::test]
async fn chaos_is_invisible_to_the_candidate_and_isolated_per_session() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let a = running(&base).await;
    let b = running(&base).await;
    let header_names = |res: &reqwest::Response| {
        let mut names: Vec<String> = res
            .headers()
            .keys()
            .map(|k| k.as_str().to_string())
            .filter(|k| k != "x-request-id")
            .collect();
        names.sort();
        names
    };
    let normal = http()
        .get(format!("{base}/api/sessions/{}/app/nope", a.id))
        .bearer_auth(&a.candidate)
        .send()
        .await
        .unwrap();
    let normal_headers = header_names(&normal);

    activate(&base, &a, "chaos_data").await;
    chaos(
        &base,
        &a,
        Some(&a.interviewer),
        "POST",
        "/faults",
        Some(json!({"kind": "error", "status": 500, "path": "/users*"})),
    )
    .await;
    // The faulty answer carries the same headers as the app's own answers: nothing gives it away.
    let faulty = http()
        .get(format!("{base}/api/sessions/{}/app/users/1", a.id))
        .bearer_auth(&a.candidate)
        .send()
        .await
        .unwrap();
    assert_eq!(faulty.status(), 500);
    assert_eq!(header_names(&faulty), normal_headers);
    // The app server's own headers come from the exercise's manifest ([runtime.error_response]).
    assert_eq!(
        faulty.headers().get("server"),
        normal.headers().get("server")
    );
    assert_eq!(faulty.text().await.unwrap(), "Internal Server Error");
    // The candidate's session view and files show nothing.
    let view = http()
        .get(format!("{base}/api/sessions/{}", a.id))
        .bearer_auth(&a.candidate)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!view.to_lowercase().contains("chaos"), "{view}");
    let files = http()
        .get(format!("{base}/api/sessions/{}/files", a.id))
        .bearer_auth(&a.candidate)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !files.contains("exercise.toml") && !files.to_lowercase().contains("chaos"),
        "{files}"
    );

    // Session b is untouched.
    assert!(
        json_of(&base, &b, "/stocks/GOOGL").await["price"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(app(&base, &b, "GET", "/users/1", None).await.0, 200);
    let (_, st) = chaos(&base, &b, Some(&b.interviewer), "GET", "/status", None).await;
    assert!(st["faults"].as_array().unwrap().is_empty());
    // And a's interviewer token does nothing in b.
    let (status, _) = chaos(&base, &b, Some(&a.interviewer), "POST", "/reset", None).await;
    assert_eq!(status, 401);
}

async fn stats(base: &str, s: &Session, token: Option<&str>) -> (u16, Value) {
    let mut req = http().get(format!(
        "{base}/api/sessions/{}/app/stats?window=600&step=10",
        s.id
    ));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn run_checks(base: &str, s: &Session, scenario: Option<&str>) -> Vec<Value> {
    let body = scenario.map(|id| json!({"scenario": id}));
    let (status, body) = chaos(base, s, Some(&s.interviewer), "POST", "/checks", body).await;
    assert_eq!(status, 200, "checks: {body}");
    body["checks"].as_array().unwrap().clone()
}

/// Nearest-rank percentile, as the server computes it.
fn percentile(mut xs: Vec<f64>, p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * xs.len() as f64).ceil().max(1.0) as usize;
    xs[rank.min(xs.len()) - 1]
}

#[tokio::test]
async fn app_stats_count_what_was_sent_and_only_the_interviewer_sees_them() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let s = running(&base).await;
    let (status, _) = stats(&base, &s, None).await;
    assert_eq!(status, 401);
    let (status, _) = stats(&base, &s, Some(&s.candidate)).await;
    assert_eq!(status, 403, "the candidate cannot read the live view");
    let (_, before) = stats(&base, &s, Some(&s.interviewer)).await;
    let (n0, e0) = (
        before["totals"]["requests"].as_u64().unwrap(),
        before["totals"]["errors"].as_u64().unwrap(),
    );

    // Known traffic: 6 x 200 and 4 x 404 on one route, 5 x 503 from a fault, 4 slow answers.
    for _ in 0..6 {
        assert_eq!(app(&base, &s, "GET", "/users/1", None).await.0, 200);
    }
    for _ in 0..4 {
        assert_eq!(app(&base, &s, "GET", "/users/999", None).await.0, 404);
    }
    chaos(
        &base,
        &s,
        Some(&s.interviewer),
        "POST",
        "/faults",
        Some(json!({"kind": "error", "status": 503, "path": "/stocks/*"})),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(app(&base, &s, "GET", "/stocks/AAPL", None).await.0, 503);
    }
    chaos(
        &base,
        &s,
        Some(&s.interviewer),
        "POST",
        "/faults",
        Some(json!({"kind": "latency", "latency_ms": 300, "path": "/health"})),
    )
    .await;
    for _ in 0..4 {
        assert_eq!(app(&base, &s, "GET", "/health", None).await.0, 200);
    }
    let (status, st) = stats(&base, &s, Some(&s.interviewer)).await;
    assert_eq!(status, 200);
    let t = &st["totals"];
    assert_eq!(t["requests"].as_u64().unwrap(), n0 + 19, "{st}");
    assert_eq!(t["errors"].as_u64().unwrap(), e0 + 5, "{st}");
    assert_eq!(t["candidate"].as_u64().unwrap(), n0 + 19);
    // The latest requests, newest first, with path templates.
    let latest = st["latest"].as_array().unwrap();
    let of = |path: &str| {
        latest
            .iter()
            .filter(|r| r["path"] == path)
            .cloned()
            .collect::<Vec<Value>>()
    };
    let users = of("/users/{id}");
    assert_eq!(users.len(), 10, "{latest:?}");
    assert_eq!(users.iter().filter(|r| r["status"] == 404).count(), 4);
    assert!(users.iter().all(|r| r["method"] == "GET"
        && r["origin"] == "candidate"
        && r["bytes"].as_u64().unwrap() > 0));
    assert_eq!(
        of("/stocks/AAPL")
            .iter()
            .filter(|r| r["status"] == 503)
            .count(),
        5
    );
    let slow = of("/health");
    assert!(slow.len() >= 4);
    assert!(
        slow.iter()
            .take(4)
            .all(|r| r["ms"].as_f64().unwrap() >= 300.0),
        "{slow:?}"
    );
    // The percentiles are those of the recorded latencies.
    if t["requests"].as_u64().unwrap() as usize <= latest.len() {
        let ms: Vec<f64> = latest.iter().map(|r| r["ms"].as_f64().unwrap()).collect();
        assert_eq!(t["p50_ms"].as_f64().unwrap(), percentile(ms.clone(), 50.0));
        assert_eq!(t["p95_ms"].as_f64().unwrap(), percentile(ms, 95.0));
    }
    assert!(
        t["p95_ms"].as_f64().unwrap() >= 300.0,
        "4 of about 20 requests took 300 ms or more: {t}"
    );
    // The chart series add up to the totals.
    let series = st["series"].as_array().unwrap();
    assert_eq!(series.len(), 60);
    assert_eq!(
        series
            .iter()
            .map(|b| b["requests"].as_u64().unwrap())
            .sum::<u64>(),
        t["requests"].as_u64().unwrap()
    );
    assert_eq!(
        series
            .iter()
            .map(|b| b["errors"].as_u64().unwrap())
            .sum::<u64>(),
        t["errors"].as_u64().unwrap()
    );

    // A scenario's traffic counts as chaos, and its activation is a marker.
    reset(&base, &s).await;
    activate(&base, &s, "chaos_stress").await;
    let (_, st) = stats(&base, &s, Some(&s.interviewer)).await;
    assert_eq!(
        st["totals"]["chaos"].as_u64().unwrap(),
        500,
        "{}",
        st["totals"]
    );
    let markers: Vec<&str> = st["markers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["label"].as_str().unwrap())
        .collect();
    assert!(
        markers.contains(&"Alert flood activated") && markers.contains(&"reset to clean"),
        "{markers:?}"
    );
}

#[tokio::test]
async fn recovery_checks_pass_clean_fail_after_a_scenario_and_pass_after_the_fix() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let s = running(&base).await;
    // Candidate 403, like every chaos route.
    let (status, _) = chaos(&base, &s, Some(&s.candidate), "POST", "/checks", None).await;
    assert_eq!(status, 403);
    let (status, body) = chaos(
        &base,
        &s,
        Some(&s.interviewer),
        "POST",
        "/checks",
        Some(json!({"scenario": "nope"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // Every scenario of the exercise has checks, and the data ones pass on the clean app.
    let all = run_checks(&base, &s, None).await;
    let scenarios: std::collections::HashSet<&str> = all
        .iter()
        .map(|c| c["scenario"].as_str().unwrap())
        .collect();
    for id in [
        "chaos_data",
        "chaos_stress",
        "chaos_race",
        "net_slow",
        "net_errors",
        "net_reset",
        "net_timeout",
    ] {
        assert!(scenarios.contains(id), "{id} has checks");
    }
    for id in ["chaos_data", "chaos_stress", "chaos_race", "net_errors"] {
        for c in all
            .iter()
            .filter(|c| c["scenario"] == id && c["id"] != "concurrent_buys")
        {
            assert_eq!(c["passed"], true, "clean: {c}");
        }
    }
    // Except the one that tests the code itself: ten concurrent buys race in the unfixed app.
    let buys = all
        .iter()
        .find(|c| c["id"] == "concurrent_buys")
        .expect("a concurrent buys check");
    assert_eq!(buys["passed"], false, "{buys}");
    assert!(
        buys["seen"]
            .as_str()
            .unwrap()
            .contains("afterwards rows that break it: (name=recovery-check, cash=-"),
        "{buys}"
    );
    // Its user of its own is gone again, and the candidate's users were not touched.
    let users = json_of(&base, &s, "/users").await;
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["name"] != "recovery-check"),
        "{users}"
    );
    assert!(
        json_of(&base, &s, "/users/3").await["cash"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    // The alert flood: the N+1 shows in the statement count.
    activate(&base, &s, "chaos_stress").await;
    let failed = run_checks(&base, &s, Some("chaos_stress")).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["passed"], false, "{failed:?}");
    assert!(
        failed[0]["seen"]
            .as_str()
            .unwrap()
            .contains("x-sql-statements = 502"),
        "{failed:?}"
    );
    // The fix: one JOIN instead of a query per alert (the app reloads on the change).
    let main_py = e.ws_root.join(&s.id).join("workspace/app/main.py");
    let code = std::fs::read_to_string(&main_py).unwrap();
    let start = code.find("@app.get(\"/users/{user_id}/alerts\"").unwrap();
    let end = code.find("@app.post(\"/alerts\"").unwrap();
    let fixed = r#"@app.get("/users/{user_id}/alerts", response_model=list[Alert])
def list_alerts(user_id: int, db: Db):
    fetch_user(db, user_id)
    rows = db.execute(
        """
        SELECT a.*, s.name AS stock_name, s.price AS current_price
        FROM alerts a JOIN stocks s ON s.symbol = a.symbol
        WHERE a.user_id = ? ORDER BY a.id
        """,
        (user_id,),
    ).fetchall()
    return [
        Alert(**dict(row), triggered=is_triggered(row["direction"], row["target_price"], row["current_price"]))
        for row in rows
    ]


"#;
    std::fs::write(
        &main_py,
        format!("{}{fixed}{}", &code[..start], &code[end..]),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = run_checks(&base, &s, Some("chaos_stress")).await;
        if r[0]["passed"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "the fix never passed: {r:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        json_of(&base, &s, "/users/4/alerts")
            .await
            .as_array()
            .unwrap()
            .len(),
        500,
        "same answer after the fix"
    );

    // Corrupted data: the invariants name the rows; a repair makes them pass.
    activate(&base, &s, "chaos_data").await;
    let r = run_checks(&base, &s, Some("chaos_data")).await;
    assert!(r.iter().all(|c| c["passed"] == false), "{r:?}");
    let prices = r.iter().find(|c| c["id"] == "sane_prices").unwrap();
    assert!(
        prices["seen"].as_str().unwrap().contains("GOOGL"),
        "{prices}"
    );
    reset(&base, &s).await;
    assert!(
        run_checks(&base, &s, Some("chaos_data"))
            .await
            .iter()
            .all(|c| c["passed"] == true)
    );

    // The race: an atomic, conditional debit makes ten concurrent buys safe.
    let code = std::fs::read_to_string(&main_py).unwrap();
    let debit = "        db.execute(\"UPDATE users SET cash = cash - ? WHERE id = ?\", (total, user[\"id\"]))\n";
    assert!(code.contains(debit));
    let atomic = "        debited = db.execute(\"UPDATE users SET cash = cash - ? WHERE id = ? AND cash >= ?\", (total, user[\"id\"], total))\n        if debited.rowcount == 0:\n            db.rollback()\n            raise HTTPException(status_code=400, detail=\"insufficient funds\")\n";
    std::fs::write(&main_py, code.replacen(debit, atomic, 1)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = run_checks(&base, &s, Some("chaos_race")).await;
        if r.iter().all(|c| c["passed"] == true) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the atomic debit never passed: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A network scenario's checks fail while its faults are on and pass once they are off.
    activate(&base, &s, "net_errors").await;
    assert_eq!(
        run_checks(&base, &s, Some("net_errors")).await[0]["passed"],
        false
    );
    chaos(
        &base,
        &s,
        Some(&s.interviewer),
        "POST",
        "/deactivate",
        Some(json!({"scenario": "net_errors"})),
    )
    .await;
    assert_eq!(
        run_checks(&base, &s, Some("net_errors")).await[0]["passed"],
        true
    );

    // Every run is on the timeline (and so in the report).
    let events: Value = http()
        .get(format!("{base}/api/sessions/{}/events", s.id))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let runs = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "chaos_checks")
        .count();
    assert!(runs >= 8, "{runs} check runs on the timeline");
    let report = http()
        .get(format!("{base}/api/sessions/{}/report", s.id))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        report.contains("<h2>Recovery checks</h2>")
            && report.contains("Twenty GET /stocks all answer 200"),
        "the report has the last run"
    );
}
