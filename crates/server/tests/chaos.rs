//! The Chaos Engine against a real workspace app: every scenario's effect is visible on the
//! candidate's next request, reset restores everything, only the interviewer reaches it, and
//! sessions are isolated. Skipped with a message without bubblewrap or the exercise's venv.

mod common;

use std::time::{Duration, Instant};

use common::{Session, WorkspaceServer, http, workspace_session};
use serde_json::{Value, json};

fn ready() -> bool {
    common::workspaces_ready("chaos tests")
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

async fn app(base: &str, s: &Session, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
    let mut req = http().request(method.parse().unwrap(), format!("{base}/api/sessions/{}/app{path}", s.id)).bearer_auth(&s.candidate).timeout(Duration::from_secs(30));
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

async fn chaos(base: &str, s: &Session, token: Option<&str>, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http().request(method.parse().unwrap(), format!("{base}/api/sessions/{}/chaos{path}", s.id)).timeout(Duration::from_secs(60));
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
    let (status, body) = chaos(base, s, Some(&s.interviewer), "POST", "", Some(json!({"scenario": scenario}))).await;
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
        ("POST", "/deactivate", Some(json!({"scenario": "chaos_data"}))),
        ("POST", "/faults", Some(json!({"kind": "error", "status": 503}))),
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
    let (status, body) = chaos(&base, &s, Some(&s.interviewer), "POST", "", Some(json!({"scenario": "chaos_data"}))).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("not running"), "{body}");
    // Unknown scenarios list the valid ids.
    let (status, body) = chaos(&base, &s, Some(&s.interviewer), "POST", "", Some(json!({"scenario": "chaos_nope"}))).await;
    assert_eq!(status, 400);
    assert!(body["valid"].as_array().unwrap().contains(&json!("chaos_race")), "{body}");
    // The status lists the scenarios with what to watch for.
    let (status, body) = chaos(&base, &s, Some(&s.interviewer), "GET", "/status", None).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["scenarios"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    for id in ["chaos_data", "chaos_stress", "chaos_race"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    assert!(body["scenarios"][0]["watch_for"].as_str().unwrap().len() > 10);
    // A pad has no chaos.
    let pad = common::new_session(&base).await;
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
    let clean_price = json_of(&base, &s, "/stocks/GOOGL").await["price"].as_f64().unwrap();
    assert!(clean_price > 0.0);

    // chaos_data: the very next request sees impossible values.
    activate(&base, &s, "chaos_data").await;
    assert_eq!(json_of(&base, &s, "/stocks/GOOGL").await["price"].as_f64().unwrap(), -50.0);
    let (_, st) = chaos(&base, &s, Some(&s.interviewer), "GET", "/status", None).await;
    let data = st["scenarios"].as_array().unwrap().iter().find(|x| x["id"] == "chaos_data").unwrap().clone();
    assert_eq!(data["active"], true);
    assert!(data["since"].as_i64().unwrap() > 0);
    reset(&base, &s).await;
    assert_eq!(json_of(&base, &s, "/stocks/GOOGL").await["price"].as_f64().unwrap(), clean_price);

    // chaos_stress: 500 alerts for the stresstest user (id 4).
    let before = json_of(&base, &s, "/users/4/alerts").await.as_array().unwrap().len();
    activate(&base, &s, "chaos_stress").await;
    let after = json_of(&base, &s, "/users/4/alerts").await.as_array().unwrap().len();
    assert_eq!(after, before + 500);
    reset(&base, &s).await;
    assert_eq!(json_of(&base, &s, "/users/4/alerts").await.as_array().unwrap().len(), before);

    // chaos_race: concurrent orders overdraw carol (id 3).
    let cash = json_of(&base, &s, "/users/3").await["cash"].as_f64().unwrap();
    assert!(cash > 0.0);
    activate(&base, &s, "chaos_race").await;
    let cash_after = json_of(&base, &s, "/users/3").await["cash"].as_f64().unwrap();
    assert!(cash_after < 0.0, "concurrent orders overdraw the balance: {cash_after}");
    // Its latency fault is on the order endpoint.
    let t = Instant::now();
    let (status, _) = app(&base, &s, "POST", "/orders", Some(json!({"user_id": 1, "symbol": "AAPL", "side": "buy", "quantity": 1}))).await;
    assert_eq!(status, 201);
    assert!(t.elapsed() >= Duration::from_millis(50), "latency on POST /orders: {:?}", t.elapsed());
    // Reset twice, the second time while requests are in flight: everything is clean and answered.
    reset(&base, &s).await;
    let inflight: Vec<_> = (0..20).map(|_| { let (b, s) = (base.clone(), s.clone()); tokio::spawn(async move { app(&b, &s, "GET", "/stocks", None).await.0 }) }).collect();
    reset(&base, &s).await;
    for h in inflight {
        assert_eq!(h.await.unwrap(), 200);
    }
    assert_eq!(json_of(&base, &s, "/users/3").await["cash"].as_f64().unwrap(), cash);
    let (_, st) = chaos(&base, &s, Some(&s.interviewer), "GET", "/status", None).await;
    assert!(st["faults"].as_array().unwrap().is_empty());
    assert!(st["scenarios"].as_array().unwrap().iter().all(|x| x["active"] == false));

    // Every activation and reset is on the timeline.
    let events: Value = http().get(format!("{base}/api/sessions/{}/events", s.id)).bearer_auth(&s.interviewer).send().await.unwrap().json().await.unwrap();
    let kinds: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
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
    assert!((35..=85).contains(&errors), "about 30 % of 200 requests fail: {errors}");
    // Deactivating one scenario removes its faults.
    let (status, _) = chaos(&base, &s, Some(&s.interviewer), "POST", "/deactivate", Some(json!({"scenario": "net_errors"}))).await;
    assert_eq!(status, 200);
    for _ in 0..20 {
        assert_eq!(app(&base, &s, "GET", "/stocks", None).await.0, 200);
    }

    // Slow responses: latency with jitter on every request.
    activate(&base, &s, "net_slow").await;
    let t = Instant::now();
    assert_eq!(app(&base, &s, "GET", "/health", None).await.0, 200);
    assert!(t.elapsed() >= Duration::from_millis(350), "latency added: {:?}", t.elapsed());
    reset(&base, &s).await;

    // Connections reset: some requests get no answer at all.
    activate(&base, &s, "net_reset").await;
    let mut dropped = 0;
    for _ in 0..60 {
        if app(&base, &s, "GET", "/stocks", None).await.0 == 0 {
            dropped += 1;
        }
    }
    assert!((2..=30).contains(&dropped), "about 20 % of 60 requests dropped: {dropped}");
    reset(&base, &s).await;

    // A custom fault: matched by method and path, removable on its own.
    let (status, st) = chaos(&base, &s, Some(&s.interviewer), "POST", "/faults", Some(json!({"kind": "error", "status": 418, "methods": ["GET"], "path": "/stocks*"}))).await;
    assert_eq!(status, 201, "{st}");
    assert_eq!(app(&base, &s, "GET", "/stocks/AAPL", None).await.0, 418);
    assert_eq!(app(&base, &s, "GET", "/users/1", None).await.0, 200);
    let id = st["faults"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = chaos(&base, &s, Some(&s.interviewer), "DELETE", &format!("/faults/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(app(&base, &s, "GET", "/stocks/AAPL", None).await.0, 200);
    // A timeout: the request hangs, then the connection drops.
    chaos(&base, &s, Some(&s.interviewer), "POST", "/faults", Some(json!({"kind": "timeout", "timeout_ms": 700, "path": "/health"}))).await;
    let t = Instant::now();
    assert_eq!(app(&base, &s, "GET", "/health", None).await.0, 0);
    assert!(t.elapsed() >= Duration::from_millis(650));
    // Bandwidth: a ~600-byte answer at 2,000 bytes/s takes a few tenths of a second.
    reset(&base, &s).await;
    chaos(&base, &s, Some(&s.interviewer), "POST", "/faults", Some(json!({"kind": "bandwidth", "bytes_per_second": 2000, "path": "/stocks"}))).await;
    let t = Instant::now();
    let (status, body) = app(&base, &s, "GET", "/stocks", None).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).is_ok(), "the throttled answer is complete");
    assert!(t.elapsed() >= Duration::from_millis(200), "{:?}", t.elapsed());
    // Bad faults are refused.
    for bad in [json!({"kind": "latency"}), json!({"kind": "error", "probability": 2}), json!({"kind": "nope"}), json!({"kind": "error", "status": 200})] {
        let (status, _) = chaos(&base, &s, Some(&s.interviewer), "POST", "/faults", Some(bad.clone())).await;
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
        let mut names: Vec<String> = res.headers().keys().map(|k| k.as_str().to_string()).filter(|k| k != "x-request-id").collect();
        names.sort();
        names
    };
    let normal = http().get(format!("{base}/api/sessions/{}/app/nope", a.id)).bearer_auth(&a.candidate).send().await.unwrap();
    let normal_headers = header_names(&normal);

    activate(&base, &a, "chaos_data").await;
    chaos(&base, &a, Some(&a.interviewer), "POST", "/faults", Some(json!({"kind": "error", "status": 500, "path": "/users*"}))).await;
    // The faulty answer carries the same headers as the app's own answers: nothing gives it away.
    let faulty = http().get(format!("{base}/api/sessions/{}/app/users/1", a.id)).bearer_auth(&a.candidate).send().await.unwrap();
    assert_eq!(faulty.status(), 500);
    assert_eq!(header_names(&faulty), normal_headers);
    // The app server's own headers come from the exercise's manifest ([runtime.error_response]).
    assert_eq!(faulty.headers().get("server"), normal.headers().get("server"));
    assert_eq!(faulty.text().await.unwrap(), "Internal Server Error");
    // The candidate's session view and files show nothing.
    let view = http().get(format!("{base}/api/sessions/{}", a.id)).bearer_auth(&a.candidate).send().await.unwrap().text().await.unwrap();
    assert!(!view.to_lowercase().contains("chaos"), "{view}");
    let files = http().get(format!("{base}/api/sessions/{}/files", a.id)).bearer_auth(&a.candidate).send().await.unwrap().text().await.unwrap();
    assert!(!files.contains("exercise.toml") && !files.to_lowercase().contains("chaos"), "{files}");

    // Session b is untouched.
    assert!(json_of(&base, &b, "/stocks/GOOGL").await["price"].as_f64().unwrap() > 0.0);
    assert_eq!(app(&base, &b, "GET", "/users/1", None).await.0, 200);
    let (_, st) = chaos(&base, &b, Some(&b.interviewer), "GET", "/status", None).await;
    assert!(st["faults"].as_array().unwrap().is_empty());
    // And a's interviewer token does nothing in b.
    let (status, _) = chaos(&base, &b, Some(&a.interviewer), "POST", "/reset", None).await;
    assert_eq!(status, 401);
}
