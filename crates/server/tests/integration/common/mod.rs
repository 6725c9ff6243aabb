//! Test harness: a real server on an ephemeral port, an HTTP client, and a y-websocket peer
//! written against yrs (the same protocol the browser's `WebsocketProvider` speaks).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use interview_ide::{Config, Server};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, Map, ReadTxn, Text, Transact, Update};

pub struct TestServer {
    pub server: Server,
    pub db_url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A server on a fresh SQLite file.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_url = format!("sqlite://{}/test.db", dir.path().display());
        // Server-side runs happen as other uids, which must reach their folder inside this one.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let runs = dir.path().join("runs");
        let server = Self::start_on(&db_url, move |c| {
            c.execute.runs_dir = runs;
            tweak(c);
        })
        .await;
        TestServer {
            server,
            db_url,
            _dir: Some(dir),
        }
    }

    /// A server on an existing database (e.g. to restart on the same data). It starts with the
    /// admin account `ADMIN_EMAIL`/`ADMIN_PASSWORD`, and the helpers create sessions with an API
    /// key of that admin (`api_key`).
    pub async fn start_on(db_url: &str, tweak: impl FnOnce(&mut Config)) -> Server {
        let mut config = Config::defaults();
        config.server.bind = "127.0.0.1:0".parse().unwrap();
        config.storage.database_url = db_url.to_string();
        config.server.max_sessions_per_minute = 1000;
        config.server.admin_email = Some(ADMIN_EMAIL.into());
        config.server.admin_password = Some(interview_ide::config::Secret::new(ADMIN_PASSWORD));
        tweak(&mut config);
        let server = interview_ide::start(config).await.expect("server starts");
        authenticate_helpers(&server.url()).await;
        server
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn ws_url(&self) -> String {
        self.url().replacen("http://", "ws://", 1)
    }
}

pub fn http() -> reqwest::Client {
    // The server's reqwest brings TLS without a built-in crypto provider; a client built before
    // any server has started in this process needs one installed (harmless if already there).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The admin account every test server starts with.
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

fn api_keys() -> &'static Mutex<HashMap<String, String>> {
    static KEYS: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

/// The admin's API key of the test server at `base` (what the helpers create sessions with).
pub fn api_key(base: &str) -> String {
    let key = api_keys().lock().get(base).cloned();
    key.expect("a server started by TestServer, or given to authenticate_helpers")
}

/// The flags that give a server started from the binary the admin of the helpers.
pub fn admin_args() -> [&'static str; 4] {
    [
        "--admin-email",
        ADMIN_EMAIL,
        "--admin-password",
        ADMIN_PASSWORD,
    ]
}

/// Signs in as the admin of the server at `base` (started with `admin_args()`) and keeps an API
/// key of it for the helpers that create sessions.
pub async fn authenticate_helpers(base: &str) {
    let cookie = sign_in(base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let key = new_api_key(base, &cookie, "tests").await;
    api_keys().lock().insert(base.to_string(), key);
}

/// Signs in with a password; returns the sign-in cookie (`iide_account=...`).
pub async fn sign_in(base: &str, email: &str, password: &str) -> String {
    let res = http()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sign in as {email}");
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a sign-in cookie")
        .to_string();
    cookie.split(';').next().unwrap().to_string()
}

/// A new API key of the account signed in with `cookie`, with every scope (an admin's may reach
/// the admin routes).
pub async fn new_api_key(base: &str, cookie: &str, name: &str) -> String {
    let res = http()
        .post(format!("{base}/api/keys"))
        .header("cookie", cookie)
        .json(&json!({"name": name, "scopes": ["sessions:read", "sessions:write", "admin"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "create an API key");
    res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `POST /api/sessions` as the test server's admin; the answer as it is.
pub async fn post_session(base: &str, body: Value) -> reqwest::Response {
    http()
        .post(format!("{base}/api/sessions"))
        .bearer_auth(api_key(base))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A created session, as `POST /api/sessions` answers.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub interviewer: String,
    pub candidate: String,
    pub body: Value,
}

pub async fn create_session(base: &str, body: Value) -> Session {
    let res = post_session(base, body).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or_default();
    assert_eq!(status, 201, "create session: {body}");
    Session {
        id: body["id"].as_str().unwrap().to_string(),
        interviewer: body["interviewer_token"].as_str().unwrap().to_string(),
        candidate: body["candidate_token"].as_str().unwrap().to_string(),
        body,
    }
}

/// A value of the server's /metrics (0 when absent).
pub async fn metric(base: &str, name: &str) -> f64 {
    let text = http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|v| v.strip_prefix(' '))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

pub async fn new_session(base: &str) -> Session {
    create_session(base, json!({"title": "Test", "language": "python"})).await
}

/// The reason a connection ended.
#[derive(Debug, PartialEq)]
pub enum Ended {
    Closed(Option<u16>),
    Error(String),
}

/// A y-websocket peer with its own document replica and view of awareness.
pub struct Peer {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub doc: Doc,
    pub awareness: HashMap<u64, Option<String>>,
    awareness_clock: u32,
    pub ended: Option<Ended>,
    /// The shared text's name: `code` in the pad, `content` in workspace files.
    pub text_name: &'static str,
}

impl Peer {
    pub async fn connect(ws_base: &str, session: &str, doc: &str, token: &str) -> Peer {
        Self::try_connect(ws_base, session, doc, token)
            .await
            .expect("websocket connects")
    }

    pub async fn try_connect(
        ws_base: &str,
        session: &str,
        doc: &str,
        token: &str,
    ) -> Result<Peer, u16> {
        let url = format!("{ws_base}/api/sessions/{session}/docs/{doc}?token={token}");
        Self::try_open(
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
                .unwrap(),
        )
        .await
    }

    /// A signed-in account's connection (the sign-in cookie, `iide_account=...`).
    pub async fn connect_signed_in(ws_base: &str, session: &str, doc: &str, cookie: &str) -> Peer {
        let url = format!("{ws_base}/api/sessions/{session}/docs/{doc}");
        let mut req =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
                .unwrap();
        req.headers_mut().insert("cookie", cookie.parse().unwrap());
        Self::try_open(req).await.expect("websocket connects")
    }

    async fn try_open(
        req: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Result<Peer, u16> {
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => {
                let mut peer = Peer {
                    ws,
                    doc: Doc::new(),
                    awareness: HashMap::new(),
                    awareness_clock: 0,
                    ended: None,
                    text_name: "code",
                };
                // Like the JS client: announce our state vector so the server sends what we lack.
                let sv = peer.doc.transact().state_vector();
                peer.send(Message::Sync(SyncMessage::SyncStep1(sv))).await;
                Ok(peer)
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("unexpected websocket error: {e}"),
        }
    }

    /// A workspace file's live document (`file:<path>`, text `content`).
    pub async fn try_connect_file(
        ws_base: &str,
        session: &str,
        path: &str,
        token: &str,
    ) -> Result<Peer, u16> {
        let doc = format!("file%3A{}", path.replace('/', "%2F"));
        let mut peer = Self::try_connect(ws_base, session, &doc, token).await?;
        peer.text_name = "content";
        Ok(peer)
    }

    pub async fn send(&mut self, message: Message) {
        self.send_raw(message.encode_v1()).await;
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        let _ = self.ws.send(WsMessage::Binary(bytes.into())).await;
    }

    /// Inserts text locally and sends the resulting update.
    pub async fn insert(&mut self, index: u32, text: &str) {
        let code = self.doc.get_or_insert_text(self.text_name);
        let update = {
            let mut txn = self.doc.transact_mut();
            code.insert(&mut txn, index, text);
            txn.encode_update_v1()
        };
        self.send(Message::Sync(SyncMessage::Update(update))).await;
    }

    pub async fn append(&mut self, text: &str) {
        let len = self.text().chars().count() as u32;
        self.insert(len, text).await;
    }

    pub fn text(&self) -> String {
        let code = self.doc.get_or_insert_text(self.text_name);
        code.get_string(&self.doc.transact())
    }

    pub fn meta(&self, key: &str) -> Option<String> {
        let meta = self.doc.get_or_insert_map("meta");
        meta.get(&self.doc.transact(), key)
            .map(|v| v.to_string(&self.doc.transact()))
    }

    pub async fn set_awareness(&mut self, client_id: u64, state: &str) {
        self.awareness_clock += 1;
        let mut clients = HashMap::new();
        clients.insert(
            yrs::block::ClientID::new(client_id),
            AwarenessUpdateEntry {
                clock: self.awareness_clock,
                json: state.into(),
            },
        );
        self.send(Message::Awareness(AwarenessUpdate { clients }))
            .await;
    }

    /// Handles incoming messages for up to `wait` or until `done` holds.
    pub async fn pump_until(&mut self, wait: Duration, done: impl Fn(&Peer) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if done(self) {
                return true;
            }
            if self.ended.is_some() {
                return false;
            }
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return done(self),
                Ok(None) => {
                    self.ended = Some(Ended::Closed(None));
                }
                Ok(Some(Err(e))) => {
                    self.ended = Some(Ended::Error(e.to_string()));
                }
                Ok(Some(Ok(WsMessage::Binary(data)))) => self.handle(&data).await,
                Ok(Some(Ok(WsMessage::Close(frame)))) => {
                    self.ended = Some(Ended::Closed(frame.map(|f: CloseFrame| u16::from(f.code))));
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Processes whatever arrives within `wait`.
    pub async fn pump(&mut self, wait: Duration) {
        self.pump_until(wait, |_| false).await;
    }

    /// Waits for the server to close the connection and returns its close code.
    pub async fn closed_with(&mut self, wait: Duration) -> Option<Ended> {
        self.pump_until(wait, |p| p.ended.is_some()).await;
        self.ended.take()
    }

    async fn handle(&mut self, data: &[u8]) {
        match Message::decode_v1(data).expect("server sends well-formed messages") {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let update = self.doc.transact().encode_state_as_update_v1(&sv);
                self.send(Message::Sync(SyncMessage::SyncStep2(update)))
                    .await;
            }
            Message::Sync(SyncMessage::SyncStep2(update))
            | Message::Sync(SyncMessage::Update(update)) => {
                let update = Update::decode_v1(&update).expect("valid update from server");
                self.doc
                    .transact_mut()
                    .apply_update(update)
                    .expect("update applies");
            }
            Message::Awareness(update) => {
                for (id, entry) in update.clients {
                    let state = if &*entry.json == "null" {
                        None
                    } else {
                        Some(entry.json.to_string())
                    };
                    self.awareness.insert(id.get(), state);
                }
            }
            _ => {}
        }
    }
}

pub const WAIT: Duration = Duration::from_secs(5);

/// Whether workspace sessions can run here (bubblewrap and the trading-backend exercise's venv,
/// which `./scripts/test.sh` installs); says why not when they cannot.
pub fn workspaces_ready(what: &str) -> bool {
    let bwrap = std::process::Command::new("bwrap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let venv =
        std::path::Path::new("/opt/interview-ide/venvs/trading-backend/bin/uvicorn").is_file();
    if !bwrap || !venv {
        eprintln!(
            "SKIPPED: {what} need bubblewrap and /opt/interview-ide/venvs/trading-backend (./scripts/test.sh installs them)"
        );
    }
    bwrap && venv
}

/// A server with the repository's exercises and a fresh folder for workspaces.
pub struct WorkspaceServer {
    pub server: TestServer,
    /// The workspaces folder (canonical).
    pub ws_root: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl WorkspaceServer {
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> WorkspaceServer {
        let dir = tempfile::tempdir().unwrap();
        let ws_root = std::fs::canonicalize(dir.path()).unwrap();
        let root = ws_root.clone();
        let server = TestServer::start_with(move |c| {
            c.workspaces.exercises_dir =
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../exercises");
            c.workspaces.dir = root;
            c.workspaces.forwarder_bin = Some(env!("CARGO_BIN_EXE_iide-forward").into());
            tweak(c);
        })
        .await;
        WorkspaceServer {
            server,
            ws_root,
            _dir: dir,
        }
    }
}

impl Drop for WorkspaceServer {
    /// Workspaces with a disk quota are mounted filesystems: unmount them before the folder goes.
    fn drop(&mut self) {
        for entry in std::fs::read_dir(&self.ws_root)
            .into_iter()
            .flatten()
            .flatten()
        {
            let ws = entry.path().join("workspace");
            if ws.is_dir() {
                let _ = std::process::Command::new("umount")
                    .args(["-l", "-q"])
                    .arg(&ws)
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
}

/// A workspace session of the trading-backend exercise.
pub async fn workspace_session(base: &str) -> Session {
    create_session(
        base,
        json!({"kind": "workspace", "exercise": "trading-backend"}),
    )
    .await
}

/// The real binary started as root, the way `start.sh` starts it: it drops to the user
/// `interview-ide` once its sandbox helper runs. None (and a SKIPPED line) where that cannot be.
pub struct BinaryServer {
    pub base: String,
    pub pid: u32,
    pub dir: tempfile::TempDir,
    child: tokio::process::Child,
}

impl BinaryServer {
    pub async fn start(extra: &[&str]) -> Option<BinaryServer> {
        if !rustix::process::geteuid().is_root() {
            eprintln!("SKIPPED: dropping root needs a test run as root");
            return None;
        }
        if interview_ide::privileges::lookup("interview-ide").is_err() {
            eprintln!("SKIPPED: needs the user interview-ide (./scripts/test.sh creates it)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let path = |p: &str| dir.path().join(p).display().to_string();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_interview-ide"))
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--untrusted-bind",
                "127.0.0.1:0",
                "--user",
                "interview-ide",
            ])
            .args([
                "--database-url",
                &format!("sqlite://{}", path("db.sqlite")),
                "--runs-dir",
                &path("runs"),
                "--workspaces-dir",
                &path("workspaces"),
            ])
            .args([
                "--admin-email",
                ADMIN_EMAIL,
                "--admin-password",
                ADMIN_PASSWORD,
            ])
            .args(extra)
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while http()
            .get(format!("{base}/readyz"))
            .send()
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        authenticate_helpers(&base).await;
        Some(BinaryServer {
            base,
            pid,
            dir,
            child,
        })
    }

    pub fn ws_url(&self) -> String {
        self.base.replacen("http", "ws", 1)
    }

    /// Stops it (SIGTERM) and waits for it.
    pub async fn stop(&mut self) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(self.pid as i32).unwrap(),
            rustix::process::Signal::TERM,
        );
        let _ = tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await;
    }
}

impl Drop for BinaryServer {
    /// Workspaces with a disk quota are mounted filesystems: unmount them before the folder goes.
    fn drop(&mut self) {
        for entry in std::fs::read_dir(self.dir.path().join("workspaces"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let ws = entry.path().join("workspace");
            if ws.is_dir() {
                let _ = std::process::Command::new("umount")
                    .args(["-l", "-q"])
                    .arg(&ws)
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
}
