//! Workspace sessions against the real sandbox (bubblewrap), the real exercise app (FastAPI in
//! the exercise's venv) and real websockets. Skipped with a message when the machine lacks
//! bubblewrap or the exercise's environment (`./scripts/test.sh` installs both).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::{Peer, Session, WorkspaceServer, http, post_session, workspace_session};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn ready() -> bool {
    crate::common::workspaces_ready("workspace tests")
}

async fn env() -> WorkspaceServer {
    WorkspaceServer::start(|_| {}).await
}

async fn env_with(tweak: impl FnOnce(&mut interview_ide::Config)) -> WorkspaceServer {
    WorkspaceServer::start(tweak).await
}

async fn workspace(base: &str) -> Session {
    workspace_session(base).await
}

async fn get(base: &str, s: &Session, token: &str, path: &str) -> reqwest::Response {
    http()
        .get(format!("{base}/api/sessions/{}{path}", s.id))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn post(base: &str, s: &Session, token: &str, path: &str, body: Value) -> reqwest::Response {
    http()
        .post(format!("{base}/api/sessions/{}{path}", s.id))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A request to the session's app through the platform.
async fn app(base: &str, s: &Session, path: &str) -> (u16, String) {
    let res = http()
        .get(format!("{base}/api/sessions/{}/app{path}", s.id))
        .bearer_auth(&s.candidate)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

/// The shared terminal, as a client sees it.
struct Term {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    pub output: String,
}

impl Term {
    async fn open(ws_base: &str, s: &Session, token: &str) -> Term {
        let (ws, _) = tokio_tungstenite::connect_async(format!(
            "{ws_base}/api/sessions/{}/terminal?token={token}",
            s.id
        ))
        .await
        .expect("terminal connects");
        Term {
            ws,
            output: String::new(),
        }
    }

    async fn type_line(&mut self, line: &str) {
        let msg = json!({"type": "input", "data": format!("{line}\r")}).to_string();
        self.ws.send(WsMessage::Text(msg.into())).await.unwrap();
    }

    /// Reads output until it contains `needle` (or the wait is over).
    async fn until(&mut self, needle: &str, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        while !self.output.contains(needle) {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(WsMessage::Binary(b)))) => {
                    self.output.push_str(&String::from_utf8_lossy(&b))
                }
                Ok(Some(Ok(WsMessage::Text(t)))) => self.output.push_str(&format!("\n[{t}]\n")),
                Ok(Some(Ok(_))) => {}
                _ => return false,
            }
        }
        true
    }

    /// Runs a command and returns what it printed between two markers.
    async fn run(&mut self, cmd: &str, wait: Duration) -> String {
        let n = rand_marker();
        self.type_line(&format!("echo BEGIN{n}; {cmd}; echo END{n}$((1+1))"))
            .await;
        assert!(
            self.until(&format!("END{n}2"), wait).await,
            "command did not finish: {cmd}\n{}",
            self.output
        );
        let out = self
            .output
            .rsplit(&format!("BEGIN{n}\r\n"))
            .next()
            .unwrap_or("")
            .to_string();
        out.split(&format!("END{n}2"))
            .next()
            .unwrap_or("")
            .to_string()
    }
}

fn rand_marker() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1000);
    N.fetch_add(1, Ordering::SeqCst)
}

#[tokio::test]
async fn creating_a_workspace_session_and_its_contract() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let list: Value = http()
        .get(format!("{base}/api/exercises"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let trading = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "trading-backend")
        .expect("the trading backend is listed");
    assert!(trading["title"].as_str().unwrap().len() > 3);
    assert!(
        trading["stack"].as_str().unwrap().contains("FastAPI")
            && trading["duration_minutes"].as_u64().is_some()
    );
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == "payments-node"
                && x["stack"].as_str().unwrap().contains("TypeScript"))
    );

    let res = post_session(&base, json!({"kind": "workspace", "exercise": "nope"})).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["valid"], json!(["payments-node", "trading-backend"]));
    let res = post_session(&base, json!({"kind": "workspace"})).await;
    assert_eq!(res.status(), 400);
    let res = post_session(&base, json!({"kind": "spaceship"})).await;
    assert_eq!(res.status(), 400);

    let s = workspace(&base).await;
    let view: Value = get(&base, &s, &s.candidate, "").await.json().await.unwrap();
    assert_eq!(view["kind"], "workspace");
    assert_eq!(view["exercise"], "trading-backend");
    // What the web app needs of the exercise, from its manifest ([runtime] open_first).
    assert_eq!(view["exercise_info"]["id"], "trading-backend");
    assert!(view["exercise_info"]["title"].as_str().unwrap().len() > 3);
    assert_eq!(
        view["exercise_info"]["open_first"],
        json!(["README.md", "app/main.py"])
    );
    // The project is there, the manifest (scenarios, interviewer notes) is not.
    let files: Value = get(&base, &s, &s.candidate, "/files")
        .await
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = files["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"app/main.py"), "{paths:?}");
    assert!(paths.contains(&"tests"), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.contains("exercise.toml")),
        "{paths:?}"
    );
    // The database made by the exercise's setup is there, and binary: read-only.
    let db = files["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "data/trading.db")
        .expect("setup created the database");
    assert_eq!(db["editable"], false);
    // The exercise's notes (they name the planted weaknesses) are the interviewer's alone.
    let notes: Value = get(&base, &s, &s.interviewer, "/exercise")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        notes["interviewer_notes"].as_str().unwrap().len() > 100,
        "{notes}"
    );
    assert_eq!(
        get(&base, &s, &s.candidate, "/exercise").await.status(),
        403
    );
    assert_eq!(
        http()
            .get(format!("{base}/api/sessions/{}/exercise", s.id))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // A pad has no workspace.
    let pad = crate::common::new_session(&base).await;
    assert_eq!(
        get(&base, &pad, &pad.candidate, "/files").await.status(),
        404
    );
    assert_eq!(
        get(&base, &pad, &pad.candidate, "/workspace")
            .await
            .status(),
        404
    );
    // Workspace routes need a token of the session.
    assert_eq!(
        http()
            .get(format!("{base}/api/sessions/{}/files", s.id))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(get(&base, &s, &pad.candidate, "/files").await.status(), 401);
    assert_eq!(
        http()
            .get(format!("{base}/api/sessions/{}/app/stocks", s.id))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn files_api_create_rename_delete_and_path_traversal() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let s = workspace(&base).await;
    let disk = e.ws_root.join(&s.id).join("workspace");

    let res = post(
        &base,
        &s,
        &s.candidate,
        "/files",
        json!({"path": "notes/todo.md", "content": "# todo\n"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        std::fs::read_to_string(disk.join("notes/todo.md")).unwrap(),
        "# todo\n"
    );
    assert_eq!(
        post(
            &base,
            &s,
            &s.candidate,
            "/files",
            json!({"path": "notes/todo.md"})
        )
        .await
        .status(),
        409
    );
    assert_eq!(
        post(
            &base,
            &s,
            &s.candidate,
            "/files",
            json!({"path": "scratch", "type": "dir"})
        )
        .await
        .status(),
        201
    );
    assert!(disk.join("scratch").is_dir());

    let res = post(
        &base,
        &s,
        &s.interviewer,
        "/files/rename",
        json!({"from": "notes/todo.md", "to": "scratch/todo.md"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(disk.join("scratch/todo.md").is_file() && !disk.join("notes/todo.md").exists());

    let res = http()
        .delete(format!("{base}/api/sessions/{}/files?path=scratch", s.id))
        .bearer_auth(&s.candidate)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(!disk.join("scratch").exists());

    // Escapes: `..`, absolute paths, and symlinks that lead out, on every verb.
    std::os::unix::fs::symlink("/etc", disk.join("etc-link")).unwrap();
    for bad in [
        "../outside.txt",
        "/etc/passwd",
        "app/../../x",
        "etc-link/passwd",
        "etc-link/new.txt",
        ".iide/x",
    ] {
        let res = post(
            &base,
            &s,
            &s.candidate,
            "/files",
            json!({"path": bad, "content": "x"}),
        )
        .await;
        assert_eq!(res.status(), 400, "create {bad}");
        let res = get(
            &base,
            &s,
            &s.candidate,
            &format!("/files/content?path={}", urlencode(bad)),
        )
        .await;
        assert_eq!(res.status(), 400, "read {bad}");
        let res = post(
            &base,
            &s,
            &s.candidate,
            "/files/rename",
            json!({"from": "README.md", "to": bad}),
        )
        .await;
        assert_eq!(res.status(), 400, "rename to {bad}");
        let res = http()
            .delete(format!(
                "{base}/api/sessions/{}/files?path={}",
                s.id,
                urlencode(bad)
            ))
            .bearer_auth(&s.candidate)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "delete {bad}");
        assert_eq!(
            Peer::try_connect_file(&e.server.ws_url(), &s.id, bad, &s.candidate)
                .await
                .err(),
            Some(400),
            "open {bad}"
        );
    }
    assert!(
        std::path::Path::new("/etc/passwd").exists()
            && !std::path::Path::new("/etc/new.txt").exists()
    );
    // Binary files do not open as live documents.
    assert_eq!(
        Peer::try_connect_file(&e.server.ws_url(), &s.id, "data/trading.db", &s.candidate)
            .await
            .err(),
        Some(409)
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn editor_and_disk_stay_in_sync_both_ways_even_when_both_change() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let s = workspace(&base).await;
    let file = e.ws_root.join(&s.id).join("workspace/app/models.py");
    let original = std::fs::read_to_string(&file).unwrap();

    // Opening the file's document loads it from disk.
    let mut a = Peer::try_connect_file(&e.server.ws_url(), &s.id, "app/models.py", &s.candidate)
        .await
        .unwrap();
    assert!(
        a.pump_until(Duration::from_secs(5), |p| p.text() == original)
            .await,
        "document loaded from disk: {:?}",
        a.text()
    );
    let mut b = Peer::try_connect_file(&e.server.ws_url(), &s.id, "app/models.py", &s.interviewer)
        .await
        .unwrap();
    assert!(
        b.pump_until(Duration::from_secs(5), |p| p.text() == original)
            .await
    );

    // Editor -> disk. (A moment later than the load: the replay below tells states apart by
    // their millisecond.)
    tokio::time::sleep(Duration::from_millis(20)).await;
    a.insert(0, "# edited in the editor\n").await;
    let on_disk = wait_disk(&file, |t| t.starts_with("# edited in the editor\n")).await;
    assert!(
        on_disk.starts_with("# edited in the editor\n"),
        "{on_disk:?}"
    );

    // Disk -> editor (e.g. sed in the terminal), as a minimal edit.
    let changed = on_disk.replacen("class ", "class  ", 1) + "# appended on disk\n";
    std::fs::write(&file, &changed).unwrap();
    assert!(
        b.pump_until(Duration::from_secs(5), |p| p.text() == changed)
            .await,
        "disk change reached the editor: {:?}",
        b.text()
    );
    assert!(
        a.pump_until(Duration::from_secs(5), |p| p.text() == changed)
            .await
    );

    // Both at once: the editor types at the top while the disk changes at the bottom; both survive.
    a.insert(0, "# editor-concurrent\n").await;
    std::fs::write(&file, changed.clone() + "# disk-concurrent\n").unwrap();
    let both = |t: &str| t.contains("# editor-concurrent\n") && t.contains("# disk-concurrent\n");
    assert!(
        b.pump_until(Duration::from_secs(5), |p| both(&p.text()))
            .await,
        "both edits in the document: {:?}",
        b.text()
    );
    let on_disk = wait_disk(&file, both).await;
    assert!(both(&on_disk), "both edits on disk: {on_disk:?}");
    a.pump(Duration::from_millis(500)).await;
    assert_eq!(
        a.text(),
        std::fs::read_to_string(&file).unwrap(),
        "document and disk agree"
    );

    // The interviewer can replay the file: its first state is the file as it was on disk.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let replay: Value = get(&base, &s, &s.interviewer, "/replay/file%3Aapp%2Fmodels.py")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replay["text"].as_str().unwrap(), a.text());
    let first = replay["changes"][0].as_i64().unwrap();
    let at_first: Value = get(
        &base,
        &s,
        &s.interviewer,
        &format!("/replay/file%3Aapp%2Fmodels.py?at={first}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(at_first["text"].as_str().unwrap(), original);
    assert_eq!(
        get(&base, &s, &s.candidate, "/replay/file%3Aapp%2Fmodels.py")
            .await
            .status(),
        403
    );
}

/// The file's content once `pred` holds (or after 5 s). The server runs in this test's runtime:
/// waiting must not block it.
async fn wait_disk(file: &std::path::Path, pred: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = std::fs::read_to_string(file).unwrap_or_default();
        if pred(&now) || tokio::time::Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn terminal_runs_commands_for_the_candidate_and_the_interviewer_only_watches() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let s = workspace(&base).await;
    let mut cand = Term::open(&e.server.ws_url(), &s, &s.candidate).await;
    let mut watcher = Term::open(&e.server.ws_url(), &s, &s.interviewer).await;
    let out = cand
        .run(
            "echo six-times-seven=$((6*7)); pwd; whoami",
            Duration::from_secs(10),
        )
        .await;
    assert!(out.contains("six-times-seven=42"), "{out}");
    assert!(
        out.contains("/workspace") && out.contains("candidate"),
        "{out}"
    );
    assert!(
        watcher
            .until("six-times-seven=42", Duration::from_secs(5))
            .await,
        "the interviewer sees the same terminal"
    );

    // The interviewer's keystrokes are ignored.
    watcher
        .type_line("echo typed-by-interviewer-$((2+3))")
        .await;
    let out = cand.run("true", Duration::from_secs(10)).await;
    assert!(!cand.output.contains("typed-by-interviewer-5"), "{out}");

    // The app, through the platform, from inside the sandbox; and the exercise's own tests.
    let out = cand
        .run(
            "curl -s -m 20 $APP_URL/stocks/GOOGL",
            Duration::from_secs(30),
        )
        .await;
    assert!(out.contains("\"symbol\":\"GOOGL\""), "{out}");
    // ... and the interviewer's live view recorded it, as the candidate's.
    let stats: Value = get(&base, &s, &s.interviewer, "/app/stats")
        .await
        .json()
        .await
        .unwrap();
    let seen =
        stats["latest"].as_array().unwrap().iter().any(|r| {
            r["path"] == "/stocks/GOOGL" && r["status"] == 200 && r["origin"] == "candidate"
        });
    assert!(seen, "{stats}");
    let out = cand
        .run(
            "pytest -q -p no:cacheprovider 2>&1 | tail -3",
            Duration::from_secs(90),
        )
        .await;
    assert!(
        out.contains(" passed") && !out.contains("failed"),
        "the exercise's tests pass in the sandbox: {out}"
    );
    // A late watcher gets the scrollback.
    let mut late = Term::open(&e.server.ws_url(), &s, &s.interviewer).await;
    assert!(
        late.until("six-times-seven=42", Duration::from_secs(5))
            .await
    );
}

#[tokio::test]
async fn the_app_answers_through_the_platform_and_restarts() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let s = workspace(&base).await;
    // Started on demand by the first request.
    let (status, body) = app(&base, &s, "/stocks/GOOGL").await;
    assert_eq!(status, 200, "{body}");
    let stock: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stock["symbol"], "GOOGL");
    assert!(stock["price"].as_f64().unwrap() > 0.0);
    let st: Value = get(&base, &s, &s.candidate, "/workspace")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(st["app"]["state"], "running");
    let logs: Value = get(&base, &s, &s.candidate, "/workspace/logs")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        logs["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["text"].as_str().unwrap_or("").contains("/stocks/GOOGL")),
        "{logs}"
    );
    // The app never sees the platform's credentials.
    let res = http()
        .post(format!(
            "{base}/api/sessions/{}/app/alerts?token={}",
            s.id, s.candidate
        ))
        .header("cookie", format!("iide_{}={}", s.id, s.candidate))
        .json(&json!({"user_id": 1, "symbol": "AAPL", "target_price": 1, "direction": "above"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let logs: Value = get(&base, &s, &s.candidate, "/workspace/logs")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !logs.to_string().contains(&s.candidate),
        "a token reached the app's log"
    );

    let res = post(&base, &s, &s.candidate, "/workspace/restart", json!({})).await;
    assert_eq!(res.status(), 200);
    let (status, _) = app(&base, &s, "/stocks").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_sandbox_holds() {
    if !ready() {
        return;
    }
    let e = env_with(|c| {
        c.workspaces.sandbox_max_processes = 64;
        c.workspaces.sandbox_memory_mb = 256;
    })
    .await;
    let base = e.server.url();
    let a = workspace(&base).await;
    let b = workspace(&base).await;
    let (status, _) = app(&base, &b, "/stocks").await;
    assert_eq!(status, 200);
    let mut t = Term::open(&e.server.ws_url(), &a, &a.candidate).await;
    let other = e.ws_root.join(&b.id).join("workspace/README.md");
    let out = t
        .run(
            &format!("cat {} 2>&1", other.display()),
            Duration::from_secs(10),
        )
        .await;
    assert!(
        out.contains("No such file"),
        "another session's workspace is invisible: {out}"
    );
    let out = t.run(&format!("ls / /tmp /run/iide /home 2>&1; ps -e 2>&1; find / -name '{}*' 2>/dev/null | head -3", b.id), Duration::from_secs(30)).await;
    assert!(
        !out.contains(&format!("/{}", b.id)) && !out.contains("uvicorn"),
        "nothing of the other session (files, processes) is visible: {out}"
    );

    let out = t.run("touch /usr/x /etc/x /opt/x /x 2>&1; echo ok > /workspace/mine.txt && cat /workspace/mine.txt", Duration::from_secs(10)).await;
    assert_eq!(
        out.matches("Read-only file system").count() + out.matches("Permission denied").count(),
        4,
        "{out}"
    );
    assert!(out.contains("ok"), "{out}");

    // No network: neither the internet nor the host's services (PostgreSQL on 5432 here).
    let probe = "import socket,sys\nfor h,p in [('1.1.1.1',80),('127.0.0.1',5432),('10.0.0.1',80)]:\n  try:\n    socket.create_connection((h,p),timeout=2); print('REACHED',h,p)\n  except OSError as e: print('blocked',h,p)";
    std::fs::write(e.ws_root.join(&a.id).join("workspace/probe.py"), probe).unwrap();
    let out = t.run("python3 probe.py", Duration::from_secs(20)).await;
    assert!(
        !out.contains("REACHED") && out.matches("blocked").count() == 3,
        "{out}"
    );

    // A memory hog and a fork bomb hurt only their own sandbox.
    let out = t
        .run(
            "python3 -c 'x = bytearray(1 << 30); print(\"allocated\")' 2>&1 | tail -1",
            Duration::from_secs(60),
        )
        .await;
    assert!(
        !out.contains("allocated"),
        "a 1 GiB allocation must fail under a 256 MiB limit: {out}"
    );
    // The bomb keeps its sandbox's process slots full; this terminal is not used afterwards.
    t.type_line("bash -c ':(){ :|:& };:'").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        http()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, _) = app(&base, &b, "/stocks").await;
    assert_eq!(status, 200, "another session's app is unharmed");
    let other_new = workspace(&base).await;
    let (status, _) = app(&base, &other_new, "/stocks").await;
    assert_eq!(status, 200, "new sessions still start");
}

/// Whether something answers on a Unix socket.
async fn answers(socket: &std::path::Path) -> bool {
    tokio::net::UnixStream::connect(socket).await.is_ok()
}

#[tokio::test]
async fn idle_workspaces_stop_ended_ones_run_nothing_deleted_ones_are_removed() {
    if !ready() {
        return;
    }
    let e = env_with(|c| {
        c.workspaces.idle_seconds = 1;
        c.server.admin_token = Some("admin-secret-for-tests".into());
    })
    .await;
    let base = e.server.url();
    let s = workspace(&base).await;
    let sock = e.ws_root.join(&s.id).join("run/app.sock");
    let (status, body) = app(&base, &s, "/health").await;
    assert_eq!(status, 200, "{body}");
    assert!(answers(&sock).await);
    // Nobody uses it: its processes stop...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while answers(&sock).await && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!answers(&sock).await, "an idle workspace's app is stopped");
    // ...and start again on demand, with the files as they were.
    assert_eq!(app(&base, &s, "/health").await.0, 200);

    // Ending the session stops everything; the files stay readable.
    let res = http()
        .post(format!("{base}/api/sessions/{}/end", s.id))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!answers(&sock).await, "an ended session's app is stopped");
    assert_eq!(app(&base, &s, "/health").await.0, 409);
    assert_eq!(get(&base, &s, &s.candidate, "/files").await.status(), 200);
    let term = tokio_tungstenite::connect_async(format!(
        "{}/api/sessions/{}/terminal?token={}",
        e.server.ws_url(),
        s.id,
        s.candidate
    ))
    .await;
    assert!(term.is_err(), "no terminal in an ended session");
    assert_eq!(
        post(
            &base,
            &s,
            &s.candidate,
            "/files",
            json!({"path": "late.py"})
        )
        .await
        .status(),
        409
    );

    // Deleting the session deletes its workspace from disk.
    assert!(e.ws_root.join(&s.id).exists());
    let res = http()
        .delete(format!("{base}/api/admin/sessions/{}", s.id))
        .bearer_auth("admin-secret-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(!e.ws_root.join(&s.id).exists());
}

/// Where a caller opens the session's candidate-made content: `GET /content`.
async fn content_links(base: &str, s: &Session, token: &str) -> Value {
    let res = get(base, s, token, "/content").await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn candidate_controlled_content_is_served_only_from_the_untrusted_origin() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let untrusted = e.server.server.untrusted_url();
    let s = workspace(&base).await;
    // VS Code is not on the platform's origin at all, for anyone, with any credential.
    for token in [&s.candidate, &s.interviewer] {
        assert_eq!(get(&base, &s, token, "/vscode/").await.status(), 404);
    }
    let links = content_links(&base, &s, &s.candidate).await;
    let app_base = links["app"].as_str().unwrap().to_string();
    assert!(
        app_base.starts_with(&format!("{untrusted}/sessions/{}/", s.id)),
        "{app_base}"
    );
    // The app answers there, sandboxed, framable by the platform's page, with nothing that acts
    // on the browser's state for the host.
    let res = http()
        .get(format!("{app_base}stocks"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    assert_eq!(h["cross-origin-resource-policy"], "cross-origin");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(h.get("set-cookie").is_none());
    // The platform's own cookies and tokens never reach the untrusted origin's handlers: without
    // the capability nothing is served, whatever credential comes along.
    let bare = format!("{untrusted}/sessions/{}/app/stocks", s.id);
    let res = http()
        .get(&bare)
        .bearer_auth(&s.candidate)
        .header("cookie", format!("iide_{}={}", s.id, s.candidate))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let capability = app_base
        .trim_end_matches("/app/")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let expires: u64 = capability[1..capability.find('.').unwrap()]
        .parse()
        .unwrap();
    for forged in [
        format!("c{}.AAAAAAAAAAAAAAAAAAAAAA", expires),
        format!("i{}", &capability[1..]),
        format!(
            "c{}{}",
            expires + 1,
            &capability[capability.find('.').unwrap()..]
        ),
    ] {
        let res = http()
            .get(format!("{untrusted}/sessions/{}/{forged}/app/stocks", s.id))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{forged}");
    }
    // Another session's capability opens nothing here.
    let other = workspace(&base).await;
    let other_app = content_links(&base, &other, &other.candidate).await["app"]
        .as_str()
        .unwrap()
        .replace(&other.id, &s.id);
    assert_eq!(
        http()
            .get(format!("{other_app}stocks"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // The platform still proxies the app for API clients and the request console (fetch), but a
    // browser never renders it there: a navigation goes to the untrusted origin, a load is refused.
    let res = http()
        .get(format!("{base}/api/sessions/{}/app/stocks", s.id))
        .bearer_auth(&s.candidate)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let nav = no_redirects
        .get(format!(
            "{base}/api/sessions/{}/app/stocks?token={}",
            s.id, s.candidate
        ))
        .header("sec-fetch-dest", "document")
        .send()
        .await
        .unwrap();
    assert_eq!(nav.status(), 303);
    let to = nav.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with(&format!("{untrusted}/sessions/{}/", s.id))
            && to.ends_with("/app/stocks")
            && !to.contains(&s.candidate),
        "{to}"
    );
    let script = http()
        .get(format!(
            "{base}/api/sessions/{}/app/stocks?token={}",
            s.id, s.candidate
        ))
        .header("sec-fetch-dest", "script")
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 403);
    // Raw files are downloads, never pages of this origin.
    let res = http()
        .get(format!(
            "{base}/api/sessions/{}/files/content?path=app/main.py",
            s.id
        ))
        .bearer_auth(&s.candidate)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-disposition"], "attachment");
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    // VS Code opens from the untrusted origin, for either role.
    if PathBuf::from("/opt/interview-ide/code-server/node_modules/.bin/code-server").is_file() {
        for token in [&s.candidate, &s.interviewer] {
            let url = content_links(&base, &s, token).await["vscode"]
                .as_str()
                .unwrap()
                .to_string();
            let res = http()
                .get(&url)
                .timeout(Duration::from_secs(60))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            assert!(res.headers().get("set-cookie").is_none());
            let csp = res.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_string();
            let html = res.text().await.unwrap();
            assert!(
                html.contains("workbench"),
                "the workbench page: {}",
                &html[..html.len().min(300)]
            );
            assert!(!csp.contains("frame-ancestors 'none'"), "{csp}");
        }
    } else {
        eprintln!("code-server is not installed: its page is not checked");
    }
    // A new candidate link: the old link and every capability made from it stop at once.
    let res = post(&base, &s, &s.interviewer, "/candidate-link", json!({})).await;
    assert_eq!(res.status(), 200);
    let fresh: Value = res.json().await.unwrap();
    assert_eq!(
        http()
            .get(format!("{app_base}stocks"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(get(&base, &s, &s.candidate, "").await.status(), 401);
    let token = fresh["candidate_token"].as_str().unwrap();
    assert!(fresh["candidate_url"].as_str().unwrap().ends_with(token));
    assert_eq!(get(&base, &s, token, "").await.status(), 200);
    // Only the interviewer makes links.
    assert_eq!(
        post(&base, &s, token, "/candidate-link", json!({}))
            .await
            .status(),
        403
    );
    assert_eq!(
        post(&base, &s, token, "/interviewer-link", json!({}))
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn a_rotated_link_ends_what_was_opened_with_it() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let ws_base = e.server.ws_url();
    let s = workspace(&base).await;
    let mut candidate_doc = Peer::connect(&ws_base, &s.id, "main", &s.candidate).await;
    let mut interviewer_doc = Peer::connect(&ws_base, &s.id, "main", &s.interviewer).await;
    let mut term = Term::open(&ws_base, &s, &s.candidate).await;
    assert!(
        term.run("echo ready", Duration::from_secs(20))
            .await
            .contains("ready")
    );
    let res = post(&base, &s, &s.interviewer, "/candidate-link", json!({})).await;
    assert_eq!(res.status(), 200);
    // The candidate's socket and terminal end within a second; the interviewer's stays.
    let ended = candidate_doc
        .closed_with(Duration::from_secs(1))
        .await
        .expect("the old link's document socket ends");
    assert!(
        matches!(ended, crate::common::Ended::Closed(Some(4403))),
        "closed as withdrawn, not as a restart: {ended:?}"
    );
    let ended = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            match term.ws.next().await {
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                _ => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the old link's terminal ends");
    interviewer_doc.append("still here").await;
    assert!(
        interviewer_doc
            .closed_with(Duration::from_millis(500))
            .await
            .is_none(),
        "the interviewer's socket stays open"
    );
    // The old link opens nothing new.
    assert!(
        Peer::try_connect(&ws_base, &s.id, "main", &s.candidate)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn ended_workspaces_are_deleted_after_the_retention_period() {
    if !ready() {
        return;
    }
    let e = env_with(|c| c.workspaces.retention_hours = 0).await;
    let base = e.server.url();
    let s = workspace(&base).await;
    let kept = workspace(&base).await;
    assert_eq!(app(&base, &s, "/health").await.0, 200);
    let res = http()
        .post(format!("{base}/api/sessions/{}/end", s.id))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while e.ws_root.join(&s.id).exists() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !e.ws_root.join(&s.id).exists(),
        "the ended session's files are reclaimed"
    );
    assert!(
        e.ws_root.join(&kept.id).exists(),
        "an open session's files stay"
    );
    assert_eq!(get(&base, &s, &s.candidate, "/files").await.status(), 404);
}

/// Whether the payments-node exercise's environment is installed (`./scripts/test.sh` does it).
fn node_exercise_ready() -> bool {
    let ok = std::path::Path::new("/opt/interview-ide/node/payments-node/node_modules/.bin/tsx")
        .is_file();
    if !ok {
        eprintln!(
            "SKIPPED: the payments-node test needs /opt/interview-ide/node/payments-node (./scripts/test.sh installs it)"
        );
    }
    ok
}

async fn checks_of(base: &str, s: &Session, scenario: &str) -> Vec<Value> {
    let res = post(
        base,
        s,
        &s.interviewer,
        "/chaos/checks",
        json!({"scenario": scenario}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["checks"].as_array().unwrap().clone()
}

async fn scenario(base: &str, s: &Session, what: &str, id: &str) {
    let body = if what == "reset" {
        json!({})
    } else {
        json!({"scenario": id})
    };
    let res = post(base, s, &s.interviewer, &format!("/chaos/{what}"), body).await;
    let status = res.status();
    if status != 200 {
        let logs = get(base, s, &s.interviewer, "/workspace/logs")
            .await
            .text()
            .await
            .unwrap_or_default();
        panic!(
            "{what} {id}: {status} {}\napp log: {}",
            res.text().await.unwrap_or_default(),
            logs.chars()
                .rev()
                .take(3000)
                .collect::<String>()
                .chars()
                .rev()
                .collect::<String>()
        );
    }
}

/// The second exercise, in another stack, with no change to the platform: the Node.js service and
/// its provider start in the sandbox, its tests pass there, and every scenario's checks pass
/// clean, fail under the scenario and pass once it is fixed (a code fix for duplicate webhooks).
#[tokio::test]
async fn the_node_exercise_end_to_end() {
    if !ready() || !node_exercise_ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let s = crate::common::create_session(
        &base,
        json!({"kind": "workspace", "exercise": "payments-node"}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(90);
    while app(&base, &s, "/health").await.0 != 200 {
        assert!(Instant::now() < deadline, "the Node app never answered");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (status, body) = app(&base, &s, "/customers/1/payments").await;
    assert_eq!(status, 200, "{body}");
    // A charge goes through the provider running beside the app.
    let res = http()
        .post(format!("{base}/api/sessions/{}/app/payments", s.id))
        .bearer_auth(&s.candidate)
        .json(&json!({"customer_id": 1, "amount_cents": 2500}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "succeeded");

    // The exercise's own tests pass in the sandbox, from the candidate's terminal.
    let mut term = Term::open(&e.server.ws_url(), &s, &s.candidate).await;
    let out = term
        .run("npm test 2>&1 | tail -8", Duration::from_secs(120))
        .await;
    assert!(
        out.contains("# pass 4") && out.contains("# fail 0"),
        "{out}"
    );

    // The upstream check pays as a customer of its own and removes it: the candidate's data keeps
    // no trace of it (the app lists a customer's payments whether or not the customer exists).
    let upstream = checks_of(&base, &s, "upstream_slow").await;
    assert!(upstream.iter().all(|c| c["passed"] == true), "{upstream:?}");
    let (status, body) = app(&base, &s, "/customers/900/payments").await;
    assert_eq!((status, body.trim()), (200, "[]"));

    for id in [
        "upstream_slow",
        "duplicate_webhooks",
        "index_burst",
        "out_of_order",
    ] {
        let clean = checks_of(&base, &s, id).await;
        assert!(
            !clean.is_empty() && clean.iter().all(|c| c["passed"] == true),
            "{id} clean: {clean:?}"
        );
        scenario(&base, &s, "activate", id).await;
        let broken = checks_of(&base, &s, id).await;
        assert!(
            broken.iter().all(|c| c["passed"] == false),
            "{id} under the scenario: {broken:?}"
        );
        scenario(&base, &s, "reset", id).await;
    }

    // The fix for duplicate deliveries: an event id is applied once.
    let app_ts = e.ws_root.join(&s.id).join("workspace/src/app.ts");
    let code = std::fs::read_to_string(&app_ts).unwrap();
    let needle = "    db.prepare('INSERT INTO webhook_events";
    assert!(code.contains(needle));
    let fixed = code.replacen(
        needle,
        "    if (db.prepare('SELECT 1 FROM webhook_events WHERE event_id = ?').get(id)) {\n      res.json({ received: true, duplicate: true });\n      return;\n    }\n    db.prepare('INSERT INTO webhook_events",
        1,
    );
    std::fs::write(&app_ts, fixed).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        scenario(&base, &s, "reset", "").await;
        // While the app restarts on the change, the scenario's requests find no app (409): again.
        let activated = post(
            &base,
            &s,
            &s.interviewer,
            "/chaos/activate",
            json!({"scenario": "duplicate_webhooks"}),
        )
        .await
        .status()
            == 200;
        let r = if activated {
            checks_of(&base, &s, "duplicate_webhooks").await
        } else {
            vec![]
        };
        if activated && r.iter().all(|c| c["passed"] == true) {
            break;
        }
        assert!(Instant::now() < deadline, "the fix never passed: {r:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A host file only root may read or write: what the attacks below aim at.
fn host_secret() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), "host secret\n").unwrap();
    std::fs::set_permissions(
        f.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    f
}

#[tokio::test]
async fn a_symlink_put_in_place_of_an_open_file_is_never_followed() {
    if !ready() {
        return;
    }
    let e = env().await;
    let (base, ws_url) = (e.server.url(), e.server.ws_url());
    let s = workspace(&base).await;
    let secret = host_secret();
    let res = post(
        &base,
        &s,
        &s.candidate,
        "/files",
        json!({"path": "probe.txt", "content": "hello\n"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let mut doc = Peer::try_connect_file(&ws_url, &s.id, "probe.txt", &s.candidate)
        .await
        .unwrap();
    assert!(
        doc.pump_until(Duration::from_secs(5), |p| p.text() == "hello\n")
            .await
    );

    // In the terminal, the open file becomes a link to a root-only host file; then the candidate
    // types into the document, which the server keeps writing to "the file".
    let mut t = Term::open(&ws_url, &s, &s.candidate).await;
    let out = t
        .run(
            &format!(
                "ln -sf {} probe.txt && ls -l probe.txt",
                secret.path().display()
            ),
            Duration::from_secs(10),
        )
        .await;
    assert!(out.contains("->"), "{out}");
    doc.insert(0, "typed after the swap\n").await;
    doc.pump(Duration::from_secs(2)).await;
    assert_eq!(
        std::fs::read_to_string(secret.path()).unwrap(),
        "host secret\n",
        "the host file is unchanged"
    );
    assert!(
        !doc.text().contains("host secret"),
        "and never shown: {:?}",
        doc.text()
    );

    // A link to the server's own environment (its secrets) is never read either.
    t.run(
        "ln -sf /proc/self/environ probe.txt",
        Duration::from_secs(10),
    )
    .await;
    doc.insert(0, "again\n").await;
    doc.pump(Duration::from_secs(2)).await;
    assert!(
        !doc.text().contains("PATH="),
        "the server's environment leaked: {:?}",
        doc.text()
    );

    // The files API sees no file there, and refuses to open one through the link.
    let list: Value = get(&base, &s, &s.candidate, "/files")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !list["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "probe.txt"),
        "{list}"
    );
    let res = get(&base, &s, &s.candidate, "/files/content?path=probe.txt").await;
    assert_eq!(res.status(), 400);
    assert!(
        Peer::try_connect_file(&ws_url, &s.id, "probe.txt", &s.candidate)
            .await
            .is_err()
    );
    // Renaming or deleting the link moves or removes the link, never its target.
    assert_eq!(
        post(
            &base,
            &s,
            &s.candidate,
            "/files/rename",
            json!({"from": "probe.txt", "to": "moved.txt"})
        )
        .await
        .status(),
        400
    );
    let res = http()
        .delete(format!("{base}/api/sessions/{}/files?path=probe.txt", s.id))
        .bearer_auth(&s.candidate)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(secret.path().exists());
}

#[tokio::test]
async fn the_files_api_never_reads_through_a_symlink_swapped_in_under_it() {
    if !ready() {
        return;
    }
    let e = env().await;
    let (base, ws_url) = (e.server.url(), e.server.ws_url());
    let s = workspace(&base).await;
    let secret = host_secret();
    let mut t = Term::open(&ws_url, &s, &s.candidate).await;
    // A loop that swaps a regular file and a link to the host file as fast as it can.
    let swap = format!(
        "(while :; do ln -sf {} f; rm -f f; echo mine > f; rm -f f; done) >/dev/null 2>&1 & echo LOOP",
        secret.path().display()
    );
    assert!(t.run(&swap, Duration::from_secs(10)).await.contains("LOOP"));
    let (mut read, mut refused) = (0, 0);
    for _ in 0..3000 {
        let res = get(&base, &s, &s.candidate, "/files/content?path=f").await;
        match res.status().as_u16() {
            200 => {
                let body = res.text().await.unwrap();
                assert!(!body.contains("host secret"), "the host file leaked");
                read += 1;
            }
            400 | 404 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    t.run("kill %1", Duration::from_secs(5)).await;
    assert!(
        read > 0 && refused > 0,
        "the race ran both ways: {read} read, {refused} refused"
    );
}

#[tokio::test]
async fn the_terminal_cannot_make_namespaces_and_runs_under_seccomp() {
    if !ready() {
        return;
    }
    let e = env().await;
    let s = workspace(&e.server.url()).await;
    let mut t = Term::open(&e.server.ws_url(), &s, &s.candidate).await;
    let out = t
        .run(
            "unshare -Urn id 2>&1; echo \"rc=$?\"; grep '^Seccomp:' /proc/self/status; id -u",
            Duration::from_secs(10),
        )
        .await;
    assert!(
        out.contains("rc=1") && !out.contains("uid=0"),
        "nested user namespaces are refused: {out}"
    );
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(!out.lines().any(|l| l.trim() == "0"), "not root: {out}");
}

#[tokio::test]
async fn the_chaos_engine_never_opens_what_the_apps_database_links_to() {
    if !ready() {
        return;
    }
    let e = env().await;
    let (base, ws_url) = (e.server.url(), e.server.ws_url());
    let s = workspace(&base).await;
    let (db, journal) = (host_secret(), host_secret());
    // The candidate swaps the app's database for a link to a host file, and plants a "journal"
    // link next to it (SQLite writes journals beside the file it opened).
    let mut t = Term::open(&ws_url, &s, &s.candidate).await;
    let out = t.run(&format!("rm -f data/trading.db* && ln -s {} data/trading.db && ln -s {} data/trading.db-journal && echo SWAPPED", db.path().display(), journal.path().display()), Duration::from_secs(10)).await;
    assert!(out.contains("SWAPPED"), "{out}");
    // The interviewer resets to clean and corrupts prices: both run as the candidate, in the
    // sandbox, where those links lead nowhere.
    let reset = post(&base, &s, &s.interviewer, "/chaos/reset", json!({})).await;
    let body = reset.text().await.unwrap();
    let corrupt = post(
        &base,
        &s,
        &s.interviewer,
        "/chaos/activate",
        json!({"id": "chaos_data"}),
    )
    .await
    .status();
    for f in [&db, &journal] {
        assert_eq!(
            std::fs::read_to_string(f.path()).unwrap(),
            "host secret\n",
            "reset: {body}; scenario: {corrupt}"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(f.path()).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[tokio::test]
async fn a_terminal_writing_gigabytes_stops_at_the_workspace_quota() {
    if !ready() {
        return;
    }
    let e = env_with(|c| c.workspaces.workspace_disk_mb = 128).await;
    let base = e.server.url();
    let s = workspace(&base).await;
    let image = e.ws_root.join(&s.id).join("disk.img");
    if !image.is_file() {
        eprintln!("SKIPPED: workspace disk quotas need root and loop devices");
        return;
    }
    let mut t = Term::open(&e.server.ws_url(), &s, &s.candidate).await;
    let out = t
        .run(
            "head -c 2G /dev/zero > big; echo \"rc=$?\"",
            Duration::from_secs(60),
        )
        .await;
    assert!(
        out.contains("No space left on device") && out.contains("rc=1"),
        "{out}"
    );
    use std::os::unix::fs::MetadataExt;
    let on_host = std::fs::metadata(&image).unwrap().blocks() * 512;
    assert!(
        on_host <= 130 << 20,
        "the host holds at most the quota: {on_host} bytes"
    );
    let status: Value = get(&base, &s, &s.interviewer, "/workspace")
        .await
        .json()
        .await
        .unwrap_or_default();
    let (used, limit) = (
        status["sandbox"]["disk_used_bytes"].as_u64(),
        status["sandbox"]["disk_limit_bytes"].as_u64(),
    );
    assert!(
        limit.is_some_and(|l| l > 100 << 20) && used >= limit.map(|l| l - (4 << 20)),
        "{status}"
    );
    // The platform's own writes say why they fail.
    let res = post(
        &base,
        &s,
        &s.candidate,
        "/files",
        json!({"path": "new.txt", "content": "x".repeat(50_000)}),
    )
    .await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("Disk limit reached"));
    // Freeing room is enough to go on.
    let out = t
        .run(
            "rm big && echo ok > small.txt && cat small.txt",
            Duration::from_secs(10),
        )
        .await;
    assert!(out.contains("ok"), "{out}");
}

/// With the server unprivileged (the real binary started as root), the candidate and the
/// platform still share the workspace both ways: a file the platform makes is the candidate's
/// to change and `chmod +x`; a file the candidate makes in the terminal is the platform's to read
/// and move (the server and the sandbox share a group, not an owner).
#[tokio::test]
async fn an_unprivileged_server_and_the_candidate_share_the_workspace_both_ways() {
    if !ready() {
        return;
    }
    let exercises = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../exercises");
    let Some(mut server) =
        crate::common::BinaryServer::start(&["--exercises-dir", exercises.to_str().unwrap()]).await
    else {
        return;
    };
    let base = server.base.clone();
    let s = workspace(&base).await;

    // Made by the platform (the files API), in a folder it made on the way.
    let res = post(
        &base,
        &s,
        &s.interviewer,
        "/files",
        json!({"path": "tools/hello.sh", "content": "echo hello-from-script\n"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let mut term = Term::open(&server.ws_url(), &s, &s.candidate).await;
    let out = term.run("chmod +x tools/hello.sh && ./tools/hello.sh && stat -c '%U' tools tools/hello.sh && echo more >> tools/hello.sh && echo edited", Duration::from_secs(20)).await;
    assert!(
        out.contains("hello-from-script") && out.contains("edited"),
        "{out}"
    );
    assert_eq!(
        out.matches("candidate").count(),
        2,
        "the folder and the file are the candidate's: {out}"
    );

    // Made by the candidate (umask and all), read and changed by the platform.
    let out = term
        .run(
            "umask; echo from-terminal > made.txt && echo made",
            Duration::from_secs(20),
        )
        .await;
    assert!(out.contains("0002") && out.contains("made"), "{out}");
    let text = get(&base, &s, &s.interviewer, "/files/content?path=made.txt")
        .await
        .text()
        .await
        .unwrap();
    assert!(text.contains("from-terminal"), "{text}");
    let res = post(
        &base,
        &s,
        &s.interviewer,
        "/files/rename",
        json!({"from": "made.txt", "to": "tools/renamed.txt"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let out = term
        .run("cat tools/renamed.txt && ls", Duration::from_secs(10))
        .await;
    assert!(
        out.contains("from-terminal") && !out.contains("made.txt"),
        "{out}"
    );
    server.stop().await;
}

/// The terminal's socket takes keystrokes, not megabytes: an oversized frame closes that
/// connection, and the terminal goes on for everyone else.
#[tokio::test]
async fn an_oversized_terminal_frame_closes_only_that_connection() {
    if !ready() {
        return;
    }
    let e = env().await;
    let base = e.server.url();
    let s = workspace(&base).await;
    let mut watcher = Term::open(&e.server.ws_url(), &s, &s.candidate).await;
    let mut attacker = Term::open(&e.server.ws_url(), &s, &s.candidate).await;
    let huge = json!({"type": "input", "data": "x".repeat(1 << 20)}).to_string();
    let _ = attacker.ws.send(WsMessage::Text(huge.into())).await;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match attacker.ws.next().await {
                None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return true,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(closed, "a 1 MiB frame closes the connection");
    let out = watcher
        .run("echo still-$((40+2))", Duration::from_secs(10))
        .await;
    assert!(out.contains("still-42"), "{out}");
}
