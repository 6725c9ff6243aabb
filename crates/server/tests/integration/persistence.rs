//! Documents survive restarts, crashes (kill -9) and unloading of idle rooms.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

#[tokio::test]
async fn content_survives_a_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/db.sqlite", dir.path().display());
    let server = TestServer::start_on(&db, |_| {}).await;
    let ws = server.url().replacen("http", "ws", 1);
    let s = new_session(&server.url()).await;
    let mut a = Peer::connect(&ws, &s.id, "main", &s.interviewer).await;
    a.pump(Duration::from_millis(100)).await;
    a.insert(0, "persist me\n").await;
    a.pump(Duration::from_millis(100)).await;
    let before = a.text();
    server.stop().await.unwrap();

    let server = TestServer::start_on(&db, |_| {}).await;
    let ws = server.url().replacen("http", "ws", 1);
    let mut b = Peer::connect(&ws, &s.id, "main", &s.candidate).await;
    assert!(
        b.pump_until(WAIT, |p| p.text() == before).await,
        "same text after restart"
    );
    // The old tokens still work after the restart.
    let res = http()
        .get(format!("{}/api/sessions/{}/role", server.url(), s.id))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn idle_rooms_unload_and_reload_with_their_content() {
    let t = TestServer::start_with(|c| {
        c.storage.room_idle_seconds = 0;
        c.storage.snapshot_every_updates = 10;
    })
    .await;
    let s = new_session(&t.url()).await;
    let mut a = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    a.pump(Duration::from_millis(100)).await;
    for i in 0..25 {
        a.append(&format!("{i},")).await;
    }
    a.pump(Duration::from_millis(200)).await;
    let text = a.text();
    drop(a);
    // The janitor runs at least every 250 ms; wait until the room has left memory.
    let metrics_url = format!("{}/metrics", t.url());
    let mut unloaded = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let m = http()
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if m.lines().any(|l| l == "iide_rooms_loaded 0") {
            unloaded = true;
            break;
        }
    }
    assert!(unloaded, "idle room unloaded");
    let mut b = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    assert!(
        b.pump_until(WAIT, |p| p.text() == text).await,
        "reloaded from snapshot + log"
    );
}

/// The real binary, killed with SIGKILL about a second after the last edit, loses nothing.
#[tokio::test]
async fn content_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/db.sqlite", dir.path().display());
    let port = free_port();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_interview-ide"))
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--untrusted-bind",
                "127.0.0.1:0",
                "--database-url",
                &db,
            ])
            .args(admin_args())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts")
    };
    let base = format!("http://127.0.0.1:{port}");
    let ws = format!("ws://127.0.0.1:{port}");

    let mut child = spawn();
    wait_ready(&base).await;
    authenticate_helpers(&base).await;
    let s = new_session(&base).await;
    let mut a = Peer::connect(&ws, &s.id, "main", &s.interviewer).await;
    a.pump(Duration::from_millis(100)).await;
    for i in 0..20 {
        a.append(&format!("edit {i}\n")).await;
    }
    a.pump(Duration::from_millis(100)).await;
    let expected = a.text();
    // The documented crash window is the flush interval (200 ms) plus a commit.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    child.kill().unwrap(); // SIGKILL: no shutdown hook runs
    child.wait().unwrap();

    let mut child = spawn();
    wait_ready(&base).await;
    let mut b = Peer::connect(&ws, &s.id, "main", &s.candidate).await;
    let ok = b.pump_until(WAIT, |p| p.text() == expected).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        ok,
        "after kill -9: expected {expected:?}, got {:?}",
        b.text()
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_ready(base: &str) {
    for _ in 0..100 {
        if let Ok(res) = http().get(format!("{base}/readyz")).send().await
            && res.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become ready");
}

/// When storage cannot keep up (here: another process holds SQLite's write lock), edits are
/// not queued without bound: past the pending limit the server tells editors to retry later
/// (close 1013). Once storage is back, a reconnecting client sends its edits again and
/// nothing is lost.
#[tokio::test]
async fn a_stalled_storage_tells_clients_to_retry_and_loses_nothing() {
    use sqlx::{Connection, Executor};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/db.sqlite", dir.path().display());
    let server = TestServer::start_on(&db, |c| {
        c.storage.max_pending_doc_bytes = 64 * 1024;
        c.storage.flush_interval_ms = 20;
        c.storage.max_messages_per_second = 100_000;
    })
    .await;
    let ws = server.url().replacen("http", "ws", 1);
    let s = new_session(&server.url()).await;
    let mut a = Peer::connect(&ws, &s.id, "main", &s.interviewer).await;
    a.pump(Duration::from_millis(100)).await;

    // Another process takes the write lock and keeps it.
    let mut blocker = sqlx::SqliteConnection::connect(&format!("{db}?mode=rw"))
        .await
        .unwrap();
    blocker.execute("BEGIN IMMEDIATE").await.unwrap();
    let chunk = "z".repeat(2048);
    let mut sent = 0;
    for _ in 0..200 {
        a.append(&chunk).await;
        sent += 1;
        a.pump(Duration::from_millis(2)).await;
        if a.ended.is_some() {
            break;
        }
    }
    assert_eq!(
        a.closed_with(WAIT).await,
        Some(Ended::Closed(Some(1013))),
        "told to retry after {sent} edits"
    );
    assert!(
        sent < 200,
        "the server stopped taking edits before storage caught up"
    );
    let metrics = http()
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pending: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("iide_persist_pending_bytes "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        pending < 1 << 20,
        "pending writes stay bounded ({pending} bytes)"
    );

    // Storage is back; the client reconnects like y-websocket does and its edits arrive.
    blocker.execute("COMMIT").await.unwrap();
    let typed = a.text();
    let mut doc = std::mem::take(&mut a.doc);
    let mut accepted = None;
    for _ in 0..50 {
        let mut again = Peer::connect(&ws, &s.id, "main", &s.interviewer).await;
        again.doc = doc;
        again.pump(Duration::from_millis(300)).await;
        if again.ended.is_none() {
            accepted = Some(again);
            break;
        }
        doc = std::mem::take(&mut again.doc);
    }
    let again = accepted.expect("a retry is accepted once storage is back");
    let mut check = Peer::connect(&ws, &s.id, "main", &s.candidate).await;
    assert!(
        check
            .pump_until(Duration::from_secs(20), |p| p.text() == typed)
            .await,
        "every edit arrived after the retry"
    );
    drop((again, check));
    server.stop().await.unwrap();
    let server = TestServer::start_on(&db, |_| {}).await;
    let ws = server.url().replacen("http", "ws", 1);
    let mut after = Peer::connect(&ws, &s.id, "main", &s.candidate).await;
    assert!(
        after.pump_until(WAIT, |p| p.text() == typed).await,
        "and they are stored"
    );
}
