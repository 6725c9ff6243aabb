//! Workspace sessions: a copy of an exercise's project per session, its sandboxed processes (the
//! app, a shared terminal, code-server), the proxy in front of the app, and the sync between the
//! files on disk and their live documents.
//!
//! On disk, per session, under the workspaces directory:
//! `<id>/workspace` (the project, mounted at /workspace), `<id>/run` (sockets, /run/iide),
//! `<id>/conf` (platform-written, read-only, /etc/iide) and `<id>/conf/clean.db` (the app's database
//! right after setup: what the Chaos Engine's reset restores).

pub mod app;
pub mod codeserver;
pub mod disk;
pub mod exercise;
pub mod files;
pub mod proxy;
pub mod sandbox;
pub mod saves;
pub mod sync;
pub mod terminal;
pub mod traffic;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use parking_lot::Mutex;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::faults::{SessionFaults, Verdict};
use crate::ids::SessionId;
use crate::util::now_ms;
pub use exercise::{Catalog, Exercise};
use sandbox::{Limits, Sandbox};

/// The clean copy of the app's database, in the session's read-only conf folder.
const CLEAN_DB: &str = "clean.db";
/// Where the sandbox sees it.
pub const CLEAN_DB_IN_SANDBOX: &str = "/etc/iide/clean.db";

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("{0}")]
    BadPath(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("file too large")]
    TooLarge,
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Unavailable(String),
    /// The workspace's disk quota is used up.
    #[error("{0}")]
    DiskFull(String),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub root: PathBuf,
    /// The process that starts the sandboxes and mounts their disks.
    pub helper: crate::sandbox::Helper,
    pub tools_dir: PathBuf,
    pub code_server: PathBuf,
    pub limits: Limits,
    /// The `iide-forward` binary (127.0.0.1:8000 inside each sandbox leads to the app's proxy).
    pub forwarder: PathBuf,
    /// Processes of a workspace nobody used for this long are stopped.
    pub idle: Duration,
    /// Workspaces of sessions that ended this long ago are deleted from disk.
    pub retention: Duration,
    /// Each workspace's disk quota (an ext4 image of this size); 0: none.
    pub disk_bytes: u64,
    /// Whether requests to the apps are recorded for the interviewer's live view.
    pub record_traffic: bool,
}

pub struct Workspaces {
    pub catalog: Catalog,
    pub settings: Settings,
    open: Mutex<HashMap<SessionId, Arc<Workspace>>>,
    shutdown: CancellationToken,
}

/// One session's live workspace.
pub struct Workspace {
    pub session_id: SessionId,
    pub exercise: Exercise,
    pub sandbox: Sandbox,
    /// The project folder, opened once: every access to its files goes through this handle.
    pub files: Arc<files::Tree>,
    pub app: Arc<app::App>,
    /// The network faults on the way to the app (the Chaos Engine turns them on and off).
    pub faults: SessionFaults,
    /// Every request to the app and the events around it, for the interviewer's live view.
    pub traffic: Arc<traffic::Traffic>,
    pub syncs: Arc<sync::FileSyncs>,
    pub code_server: codeserver::CodeServer,
    terminal: tokio::sync::Mutex<Option<Arc<terminal::Terminal>>>,
    /// Terminal watchers; while any is connected the workspace is in use.
    pub terminal_watchers: std::sync::atomic::AtomicUsize,
    /// Opened after its session ended (to read its files): nothing may run.
    ended: bool,
    last_used: AtomicI64,
    /// One `sqlite` at a time (they share a limit group).
    data_lock: tokio::sync::Mutex<()>,
    /// The configured disk quota (bytes; 0: none).
    disk_bytes: u64,
    /// Requests to the app being answered (or waiting for it to start): the workspace is in use
    /// while any is, however long the app takes.
    app_requests: std::sync::atomic::AtomicUsize,
    stop: CancellationToken,
}

#[derive(Debug, Serialize)]
pub struct WorkspaceStatus {
    pub app: app::Status,
    pub terminal: ProcessState,
    pub code_server: codeserver::Status,
    pub sandbox: SandboxInfo,
}

#[derive(Debug, Serialize)]
pub struct ProcessState {
    pub state: &'static str,
}

#[derive(Debug, Serialize)]
pub struct SandboxInfo {
    /// Whether memory, process and CPU limits are enforced by cgroups (else rlimits only).
    pub cgroups: bool,
    /// The workspace's disk use and quota, in bytes, when it has one.
    pub disk_used_bytes: Option<u64>,
    pub disk_limit_bytes: Option<u64>,
}

impl Workspaces {
    pub fn new(
        catalog: Catalog,
        settings: Settings,
        shutdown: CancellationToken,
    ) -> Arc<Workspaces> {
        let _ = std::fs::create_dir_all(&settings.root);
        // Sandboxed processes run as their own uid and mount their folders from here: every
        // folder on the way must let others through.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&settings.root, std::fs::Permissions::from_mode(0o755));
        for dir in settings.root.ancestors().skip(1) {
            if std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 == 0) {
                tracing::warn!(dir = %dir.display(), "workspaces cannot start: this folder is not traversable by other users (chmod o+x it, or set WORKSPACES_DIR elsewhere)");
            }
        }
        if !crate::sandbox::bwrap_available() && !catalog.ids().is_empty() {
            tracing::warn!(
                "bubblewrap (bwrap) is not installed: workspace sessions cannot run anything"
            );
        }
        let ws = Arc::new(Workspaces {
            catalog,
            settings,
            open: Mutex::new(HashMap::new()),
            shutdown,
        });
        ws.clone().spawn_janitor();
        ws
    }

    fn dir(&self, session_id: &SessionId) -> PathBuf {
        self.settings.root.join(session_id.as_str())
    }

    fn sandbox(&self, session_id: &SessionId, exercise: &Exercise) -> Sandbox {
        let dir = self.dir(session_id);
        Sandbox {
            session_id: session_id.clone(),
            uid: sandbox::uid_for(session_id),
            workspace: dir.join("workspace"),
            runtime: dir.join("run"),
            conf: dir.join("conf"),
            tools_dir: self.settings.tools_dir.clone(),
            path: exercise
                .manifest
                .runtime
                .path_entries(&self.settings.tools_dir),
            env: exercise.manifest.runtime.env_vars(&self.settings.tools_dir),
            greeting: exercise
                .manifest
                .runtime
                .terminal_greeting
                .clone()
                .unwrap_or_else(|| sandbox::DEFAULT_GREETING.into()),
            limits: self.settings.limits,
            forwarder: self.settings.forwarder.clone(),
            helper: self.settings.helper.clone(),
        }
    }

    /// Creates a session's workspace from its exercise: copies the project, runs the setup
    /// command in the sandbox and keeps a clean copy of the app's database for resets.
    pub async fn create(
        &self,
        session_id: &SessionId,
        exercise_id: &str,
    ) -> Result<(), WorkspaceError> {
        let exercise = self
            .catalog
            .get(exercise_id)
            .ok_or_else(|| WorkspaceError::NotFound(format!("no exercise '{exercise_id}'")))?
            .clone();
        if !crate::sandbox::bwrap_available() {
            return Err(WorkspaceError::Unavailable(
                "workspaces need bubblewrap (bwrap), which is not installed on the server".into(),
            ));
        }
        let tools = &self.settings.tools_dir;
        let env_ready = |env: PathBuf| env.join(".install.sha256").is_file();
        if exercise.manifest.runtime.install.is_some()
            && !exercise
                .manifest
                .runtime
                .environment_dir(tools)
                .is_some_and(env_ready)
            && crate::installing::is_pending(tools, crate::installing::Feature::Exercises)
        {
            return Err(WorkspaceError::Unavailable(
                crate::installing::Feature::Exercises.not_yet(),
            ));
        }
        let sb = self.sandbox(session_id, &exercise);
        let helper = &self.settings.helper;
        let failed =
            |e: std::io::Error| WorkspaceError::Io(format!("could not create the workspace: {e}"));
        std::fs::create_dir_all(&sb.workspace).map_err(failed)?;
        if self.settings.disk_bytes > 0
            && let Err(e) = helper
                .disk_create(session_id, self.settings.disk_bytes, sb.uid)
                .await
        {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| tracing::warn!(error = %e, "workspaces get no disk quota here (it needs root and loop devices): one candidate can fill this disk"));
        }
        let (project, sb2) = (exercise.project_dir(), sb.clone());
        tokio::task::spawn_blocking(move || {
            files::copy_tree(&project, &sb2.workspace)?;
            sb2.write_conf()
        })
        .await
        .map_err(|e| WorkspaceError::Io(e.to_string()))?
        .map_err(failed)?;
        helper
            .give_to(session_id, sb.uid, true)
            .await
            .map_err(failed)?;
        if !exercise.manifest.app.setup.is_empty() {
            let spec = sandbox::Spec {
                argv: &exercise.manifest.app.setup,
                group: "setup",
                new_session: true,
                extra_env: vec![],
            };
            let jail = sb.jail(&spec).await.map_err(|e| {
                WorkspaceError::Unavailable(format!("could not run the exercise's setup: {e}"))
            })?;
            let out =
                tokio::time::timeout(Duration::from_secs(60), jail.output(&sb.helper, Vec::new()))
                    .await
                    .map_err(|_| {
                        WorkspaceError::Unavailable("the exercise's setup took over 60 s".into())
                    })?
                    .map_err(|e| {
                        WorkspaceError::Io(format!("could not run the exercise's setup: {e}"))
                    })?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                tracing::error!(session = %session_id, stderr = %err.chars().take(2000).collect::<String>(), "exercise setup failed");
                return Err(WorkspaceError::Unavailable(
                    "the exercise's setup failed; see the server log".into(),
                ));
            }
        }
        if let Some(db) = exercise.manifest.runtime.sqlite_path() {
            // Read beneath the workspace's handle like every file of the candidate's.
            let copied = files::Tree::open(&sb.workspace)
                .map_err(|e| WorkspaceError::Io(e.to_string()))
                .and_then(|t| {
                    let mut from = t.open_read(db)?;
                    let mut to = std::fs::File::create(sb.conf.join(CLEAN_DB))
                        .map_err(|e| WorkspaceError::Io(e.to_string()))?;
                    std::io::copy(&mut from, &mut to).map_err(|e| WorkspaceError::Io(e.to_string()))
                });
            if let Err(e) = copied {
                tracing::warn!(session = %session_id, error = %e, "could not keep a clean copy of the app's database");
            }
        }
        Ok(())
    }

    /// The live workspace of a session, opened on first use.
    pub async fn get(
        &self,
        session: &crate::store::SessionRow,
    ) -> Result<Arc<Workspace>, WorkspaceError> {
        let session_id = &session.id;
        let exercise_id = session.exercise.as_deref();
        if let Some(ws) = self.open.lock().get(session_id) {
            ws.touch();
            return Ok(ws.clone());
        }
        let exercise_id = exercise_id
            .ok_or_else(|| WorkspaceError::NotFound("this session has no workspace".into()))?;
        let exercise = self
            .catalog
            .get(exercise_id)
            .ok_or_else(|| {
                WorkspaceError::NotFound(format!(
                    "the exercise '{exercise_id}' is no longer installed"
                ))
            })?
            .clone();
        let sb = self.sandbox(session_id, &exercise);
        // After a restart (or a reboot) its filesystem is mounted again first.
        let helper = &self.settings.helper;
        if let Err(e) = helper.disk_mount(session_id).await {
            return Err(WorkspaceError::Unavailable(format!(
                "this session's workspace could not be mounted: {e}"
            )));
        }
        let tree = std::fs::canonicalize(&sb.workspace)
            .and_then(|root| files::Tree::open(&root))
            .map_err(|_| WorkspaceError::NotFound("this session's workspace was removed".into()))?;
        if sb.write_conf().is_ok() {
            // The files too when they are not the sandboxes' group's yet (a workspace made
            // before the server dropped root).
            use std::os::unix::fs::MetadataExt;
            let ours = std::fs::metadata(&sb.workspace)
                .is_ok_and(|m| m.gid() == rustix::process::getegid().as_raw());
            let _ = helper.give_to(session_id, sb.uid, !ours).await;
        }
        // Workspaces made before the clean copy moved into conf/.
        let old_clean = self.dir(session_id).join(CLEAN_DB);
        if old_clean.is_file() {
            let _ = std::fs::rename(&old_clean, sb.conf.join(CLEAN_DB));
        }
        let mut open = self.open.lock();
        if let Some(ws) = open.get(session_id) {
            return Ok(ws.clone());
        }
        let code_server =
            codeserver::CodeServer::new(sb.clone(), self.settings.code_server.clone());
        let traffic = Arc::new(traffic::Traffic::new(self.settings.record_traffic));
        let ws = Arc::new(Workspace {
            session_id: session_id.clone(),
            app: Arc::new(app::App::new(
                sb.clone(),
                exercise.manifest.app.command.clone(),
            )),
            faults: SessionFaults::new(exercise.manifest.runtime.error_headers()),
            exercise,
            sandbox: sb,
            files: Arc::new(tree),
            syncs: Arc::new(sync::FileSyncs::new(traffic.clone())),
            traffic,
            code_server,
            terminal: tokio::sync::Mutex::new(None),
            terminal_watchers: Default::default(),
            ended: session.ended_at.is_some(),
            data_lock: tokio::sync::Mutex::new(()),
            disk_bytes: self.settings.disk_bytes,
            last_used: AtomicI64::new(now_ms()),
            app_requests: Default::default(),
            stop: self.shutdown.child_token(),
        });
        ws.clone().serve_sandbox_proxy();
        if !ws.ended {
            let database = ws
                .exercise
                .manifest
                .runtime
                .sqlite_path()
                .map(str::to_string);
            saves::watch(
                ws.files.clone(),
                database,
                ws.traffic.clone(),
                ws.stop.clone(),
            );
        }
        open.insert(session_id.clone(), ws.clone());
        Ok(ws)
    }

    /// Stops a session's processes (session ended, or idle).
    pub fn stop(&self, session_id: &SessionId) {
        let ws = self.open.lock().remove(session_id);
        if let Some(ws) = ws {
            ws.shutdown();
        }
    }

    /// Stops everything and deletes a session's workspace from disk (session deleted).
    pub async fn remove(&self, session_id: &SessionId) {
        self.stop(session_id);
        let dir = self.dir(session_id);
        if dir.starts_with(&self.settings.root) && dir != self.settings.root {
            let helper = &self.settings.helper;
            if let Err(e) = helper.disk_unmount(session_id).await {
                tracing::warn!(error = %e, "could not unmount a workspace");
            }
            let _ = helper.disk_remove(session_id).await;
            let _ = tokio::fs::remove_dir_all(dir).await;
        }
    }

    pub fn open_count(&self) -> usize {
        self.open.lock().len()
    }

    /// Stops idle workspaces' processes every so often.
    fn spawn_janitor(self: Arc<Self>) {
        let stop = self.shutdown.clone();
        let period =
            (self.settings.idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => self.stop_idle(),
                }
            }
            let all: Vec<_> = self.open.lock().drain().collect();
            for (_, ws) in all {
                ws.shutdown();
            }
        });
    }

    fn stop_idle(&self) {
        let idle_ms = self.settings.idle.as_millis() as i64;
        let idle: Vec<SessionId> = self
            .open
            .lock()
            .iter()
            .filter(|(_, ws)| ws.is_idle_for(idle_ms))
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            tracing::info!(session = %id, "stopping an idle workspace's processes");
            self.stop(&id);
        }
    }

    /// Session ids that have a workspace on disk (the retention sweep checks each); dot
    /// folders (the helper's `.disks`) are none.
    pub fn on_disk(&self) -> Vec<SessionId> {
        std::fs::read_dir(&self.settings.root)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| SessionId::parse(e.file_name().to_str()?))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Workspace {
    pub fn touch(&self) {
        self.last_used.store(now_ms(), Ordering::SeqCst);
    }

    /// Nobody watches its terminal, has a file open, or waits for its app, and nobody has for
    /// `idle_ms`. A request waiting for the app to start must count: stopping the app under it
    /// would answer 502 to a user who did nothing wrong.
    fn is_idle_for(&self, idle_ms: i64) -> bool {
        self.terminal_watchers.load(Ordering::SeqCst) == 0
            && self.syncs.open_count() == 0
            && self.app_requests.load(Ordering::SeqCst) == 0
            // An app that is starting is starting for someone (the page opening, say): in use.
            && self.app.state() != app::State::Starting
            && now_ms() - self.last_used.load(Ordering::SeqCst) > idle_ms
    }

    /// Whether the app has a SQLite database (`[runtime.database]`).
    pub fn has_database(&self) -> bool {
        self.exercise.manifest.runtime.sqlite_path().is_some()
    }

    /// Whether the clean copy of the app's database (taken after setup) exists.
    pub fn has_clean_database(&self) -> bool {
        self.sandbox.conf.join(CLEAN_DB).is_file()
    }

    /// Runs `script` with `sqlite3` on the app's database, inside the session's sandbox as its
    /// user: the candidate owns that file and everything around it (a symlink in its place, a
    /// planted journal), so the server never opens it with its own powers. The clean copy is
    /// at `CLEAN_DB_IN_SANDBOX` (read-only). One at a time; stdout back, or the error.
    pub async fn sqlite(&self, script: &str) -> Result<String, String> {
        let db = self
            .exercise
            .manifest
            .runtime
            .sqlite_path()
            .ok_or("this exercise has no database")?;
        let _one = self.data_lock.lock().await;
        let argv: Vec<String> = vec![
            "/usr/bin/sqlite3".into(),
            "-bail".into(),
            "-batch".into(),
            format!("{}/{db}", sandbox::WORKSPACE),
        ];
        let spec = sandbox::Spec {
            argv: &argv,
            group: "data",
            new_session: true,
            extra_env: vec![],
        };
        let jail = self
            .sandbox
            .jail(&spec)
            .await
            .map_err(|e| format!("could not start sqlite3: {e}"))?;
        let mut child = jail
            .spawn(
                &self.sandbox.helper,
                crate::sandbox::Io::Piped,
                crate::sandbox::Io::Piped,
                crate::sandbox::Io::Piped,
            )
            .await
            .map_err(|e| format!("could not start sqlite3: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            use tokio::io::AsyncWriteExt;
            // A lock held by the app is waited for, not an error.
            let script = format!(".timeout 10000\n{script}\n");
            tokio::spawn(async move {
                let _ = stdin.write_all(script.as_bytes()).await;
            });
        }
        let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .map_err(|_| "the database did not answer within 30 s".to_string())?
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(err.trim().chars().take(500).collect());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub async fn status(&self) -> WorkspaceStatus {
        let terminal = match &*self.terminal.lock().await {
            Some(t) if t.is_alive() => "running",
            _ => "stopped",
        };
        WorkspaceStatus {
            app: self.app.status(),
            terminal: ProcessState { state: terminal },
            code_server: self.code_server.status(),
            sandbox: {
                let disk = disk::usage(&self.sandbox.workspace, self.disk_bytes);
                SandboxInfo {
                    cgroups: self.sandbox.cgroups_enforced(),
                    disk_used_bytes: disk.map(|d| d.0),
                    disk_limit_bytes: disk.map(|d| d.1),
                }
            },
        }
    }

    /// The shared terminal, started if it is not running.
    pub async fn terminal(&self) -> std::io::Result<Arc<terminal::Terminal>> {
        let mut slot = self.terminal.lock().await;
        if let Some(t) = &*slot
            && t.is_alive()
        {
            return Ok(t.clone());
        }
        let t = terminal::Terminal::start(&self.sandbox, 100, 30).await?;
        *slot = Some(t.clone());
        Ok(t)
    }

    fn shutdown(&self) {
        self.stop.cancel();
        self.app.stop();
        self.code_server.stop();
        if let Ok(mut t) = self.terminal.try_lock()
            && let Some(t) = t.take()
        {
            t.stop();
        }
        let sb = self.sandbox.clone();
        // Whatever is left in the session's cgroups goes once the processes are gone.
        tokio::spawn(async move { sb.remove_cgroups().await });
    }

    /// A request for the app, from the browser or from inside the sandbox: through the session's
    /// network faults, then to the app's socket, recorded for the interviewer's live view. `Err`
    /// means: drop the connection, no answer.
    pub async fn call_app(
        self: &Arc<Self>,
        req: Request<Body>,
        origin: traffic::Origin,
    ) -> Result<Response<Body>, Dropped> {
        if !self.traffic.enabled() {
            return self.call_app_unrecorded(req).await;
        }
        let (at, started) = (now_ms(), std::time::Instant::now());
        let (method, path) = (
            req.method().to_string(),
            traffic::path_template(req.uri().path()),
        );
        let result = self.call_app_unrecorded(req).await;
        let record = traffic::Record {
            at,
            method,
            path,
            status: 0,
            ms: started.elapsed().as_secs_f64() * 1000.0,
            bytes: 0,
            origin,
        };
        match result {
            Ok(res) => Ok(record_answer(res, record, self.traffic.clone())),
            Err(d) => {
                self.traffic.record(record);
                Err(d)
            }
        }
    }

    async fn call_app_unrecorded(
        self: &Arc<Self>,
        req: Request<Body>,
    ) -> Result<Response<Body>, Dropped> {
        let _in_use = AppRequest::start(self);
        let bytes_per_second = match self
            .faults
            .verdict(req.method().as_str(), req.uri().path())
            .await
        {
            Verdict::Forward { bytes_per_second } => bytes_per_second,
            Verdict::Answer(res) => return Ok(res),
            Verdict::Drop => return Err(Dropped),
        };
        if !matches!(self.app.state(), app::State::Running) {
            self.app.ensure_running(Duration::from_secs(20)).await;
        }
        let mut req = req;
        if let Ok(host) = HeaderValue::from_str(&format!("127.0.0.1:{}", sandbox::APP_PORT)) {
            req.headers_mut().insert(header::HOST, host);
        }
        let res = match self.app.upstream.send(req).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "the app did not answer");
                let mut r = Response::new(Body::from(
                    r#"{"error":"the app is not answering; check its log in the App panel"}"#,
                ));
                *r.status_mut() = StatusCode::BAD_GATEWAY;
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                return Ok(r);
            }
        };
        Ok(match bytes_per_second {
            Some(bps) => crate::faults::throttle(res, bps),
            None => res,
        })
    }

    /// Serves the proxy's Unix socket inside the sandbox (the terminal's 127.0.0.1:8000 leads here).
    fn serve_sandbox_proxy(self: Arc<Self>) {
        let path = self.sandbox.runtime.join("proxy.sock");
        let _ = std::fs::remove_file(&path);
        let listener = match tokio::net::UnixListener::bind(&path) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "could not open the sandbox's proxy socket");
                return;
            }
        };
        // The sandbox's user connects to it. The folder is the candidate's: a path-based chmod
        // could be raced into following a symlink put there instead of the socket.
        if let Err(e) = files::chmod_socket(&path, 0o666) {
            tracing::warn!(error = %e, "could not open the sandbox's proxy socket to the sandbox");
        }
        let stop = self.stop.clone();
        let ws = Arc::downgrade(&self);
        drop(self);
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    _ = stop.cancelled() => break,
                    r = listener.accept() => match r { Ok((s, _)) => s, Err(_) => continue },
                };
                let Some(ws) = ws.upgrade() else { break };
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let ws = ws.clone();
                            async move {
                                ws.call_app(req.map(Body::new), traffic::Origin::Candidate)
                                    .await
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
    }
}

/// Records an answer once its body is sent (its size known): at once when the length is known,
/// else when the body's stream ends or is dropped.
fn record_answer(
    res: Response<Body>,
    mut record: traffic::Record,
    traffic: Arc<traffic::Traffic>,
) -> Response<Body> {
    use axum::body::HttpBody as _;
    record.status = res.status().as_u16();
    if let Some(n) = res.body().size_hint().exact() {
        record.bytes = n;
        traffic.record(record);
        return res;
    }
    struct OnEnd(Option<(traffic::Record, Arc<traffic::Traffic>)>);
    impl Drop for OnEnd {
        fn drop(&mut self) {
            if let Some((r, t)) = self.0.take() {
                t.record(r);
            }
        }
    }
    let mut on_end = OnEnd(Some((record, traffic)));
    let (parts, body) = res.into_parts();
    let counted = futures_util::StreamExt::map(body.into_data_stream(), move |chunk| {
        if let (Ok(b), Some((r, _))) = (&chunk, on_end.0.as_mut()) {
            r.bytes += b.len() as u64;
        }
        chunk
    });
    Response::from_parts(parts, Body::from_stream(counted))
}

/// The connection is dropped without an answer (a reset or timeout fault).
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped")
    }
}

impl std::error::Error for Dropped {}

/// Counts a request to the app for as long as it is being answered; the idle clock restarts
/// when it ends.
struct AppRequest<'a>(&'a Workspace);

impl<'a> AppRequest<'a> {
    fn start(ws: &'a Workspace) -> Self {
        ws.app_requests.fetch_add(1, Ordering::SeqCst);
        ws.touch();
        AppRequest(ws)
    }
}

impl Drop for AppRequest<'_> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.app_requests.fetch_sub(1, Ordering::SeqCst);
    }
}
