//! The exercise's app, supervised: started on demand in the sandbox, its output kept as log
//! lines for the App panel, its state (starting, running, crashed) reported, stopped when idle.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Notify;

use super::sandbox::{self, Sandbox, Spec};
use crate::sandbox::Io;
use crate::util::now_ms;

const MAX_LOG_LINES: usize = 2000;
const MAX_LINE_CHARS: usize = 4000;
/// How long the app may take to answer on its socket after starting.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Stopped,
    Starting,
    Running,
    Crashed,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    pub n: u64,
    pub at_ms: i64,
    pub stream: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub state: State,
    pub since: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

struct Inner {
    state: State,
    since: i64,
    error: Option<String>,
    /// Bumped on every start, so a stale exit does not overwrite a newer run's state.
    generation: u64,
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    logs: VecDeque<LogLine>,
    next_line: u64,
}

pub struct App {
    sandbox: Sandbox,
    command: Vec<String>,
    /// The app's socket as the platform sees it.
    pub socket: PathBuf,
    /// Kept-alive connections to it.
    pub upstream: super::proxy::Upstream,
    inner: Mutex<Inner>,
    changed: Notify,
}

impl App {
    pub fn new(sandbox: Sandbox, command: Vec<String>) -> App {
        let socket = sandbox.runtime.join("app.sock");
        App {
            sandbox,
            command,
            upstream: super::proxy::Upstream::new(socket.clone()),
            socket,
            inner: Mutex::new(Inner {
                state: State::Stopped,
                since: now_ms(),
                error: None,
                generation: 0,
                kill: None,
                logs: VecDeque::new(),
                next_line: 0,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    pub fn status(&self) -> Status {
        let i = self.lock();
        Status {
            state: i.state,
            since: i.since,
            error: i.error.clone(),
        }
    }

    pub fn state(&self) -> State {
        self.lock().state
    }

    pub fn logs_after(&self, after: Option<u64>) -> (Vec<LogLine>, u64) {
        let i = self.lock();
        let lines = i
            .logs
            .iter()
            .filter(|l| after.is_none_or(|a| l.n > a))
            .cloned()
            .collect();
        (lines, i.next_line.saturating_sub(1))
    }

    pub fn log(&self, stream: &'static str, text: &str) {
        let mut i = self.lock();
        let n = i.next_line;
        i.next_line += 1;
        let text: String = text.chars().take(MAX_LINE_CHARS).collect();
        i.logs.push_back(LogLine {
            n,
            at_ms: now_ms(),
            stream,
            text,
        });
        while i.logs.len() > MAX_LOG_LINES {
            i.logs.pop_front();
        }
    }

    fn set_state(&self, generation: u64, state: State, error: Option<String>) {
        let mut i = self.lock();
        if i.generation != generation || i.state == state {
            return;
        }
        i.state = state;
        i.since = now_ms();
        i.error = error;
        drop(i);
        self.changed.notify_waiters();
    }

    /// Starts the app unless it is starting or running.
    pub fn start(self: &Arc<Self>) {
        let generation = {
            let mut i = self.lock();
            if matches!(i.state, State::Starting | State::Running) {
                return;
            }
            i.generation += 1;
            i.state = State::Starting;
            i.since = now_ms();
            i.error = None;
            i.generation
        };
        self.changed.notify_waiters();
        self.upstream.clear();
        let _ = std::fs::remove_file(&self.socket);
        let argv: Vec<String> = self
            .command
            .iter()
            .map(|a| a.replace("{socket}", sandbox::APP_SOCKET))
            .collect();
        // Set before the process exists: a stop while it starts still ends it.
        let (kill_tx, kill_rx) = tokio::sync::oneshot::channel();
        self.lock().kill = Some(kill_tx);
        let app = self.clone();
        tokio::spawn(async move { app.launch(generation, argv, kill_rx).await });
    }

    /// Starts the app's process (generation `generation`) and watches it.
    async fn launch(
        self: Arc<Self>,
        generation: u64,
        argv: Vec<String>,
        kill_rx: tokio::sync::oneshot::Receiver<()>,
    ) {
        let spec = Spec {
            argv: &argv,
            group: "app",
            new_session: true,
            extra_env: vec![],
        };
        let child = match self.sandbox.jail(&spec).await {
            Ok(jail) => {
                jail.spawn(&self.sandbox.helper, Io::Null, Io::Piped, Io::Piped)
                    .await
            }
            Err(e) => Err(e),
        };
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                self.log("system", &format!("could not start the app: {e}"));
                self.set_state(
                    generation,
                    State::Crashed,
                    Some(format!("could not start: {e}")),
                );
                return;
            }
        };
        self.log("system", &format!("$ {}", argv.join(" ")));
        if let Some(out) = child.stdout.take() {
            self.pump(out, "stdout");
        }
        if let Some(err) = child.stderr.take() {
            self.pump(err, "stderr");
        }
        // Ready when the socket answers.
        let app = self.clone();
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
            while tokio::time::Instant::now() < deadline {
                if app.lock().generation != generation || app.state() != State::Starting {
                    return;
                }
                if tokio::net::UnixStream::connect(&app.socket).await.is_ok() {
                    app.set_state(generation, State::Running, None);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            app.log("system", "the app did not start listening in time");
        });
        let app = self.clone();
        tokio::spawn(async move {
            let stopped = tokio::select! {
                status = child.wait() => {
                    let code = status.ok().and_then(|s| s.code());
                    app.log("system", &format!("the app exited ({})", code.map_or("killed".to_string(), |c| format!("code {c}"))));
                    false
                }
                _ = kill_rx => {
                    let _ = child.kill().await;
                    true
                }
            };
            if stopped {
                app.set_state(generation, State::Stopped, None);
            } else {
                app.set_state(
                    generation,
                    State::Crashed,
                    Some("the app exited; see its log".into()),
                );
            }
        });
    }

    fn pump(
        self: &Arc<Self>,
        out: impl tokio::io::AsyncRead + Unpin + Send + 'static,
        stream: &'static str,
    ) {
        let app = self.clone();
        tokio::spawn(async move {
            // Line by line, but never holding more than one line's worth: the app is the
            // candidate's code and may print anything, e.g. gigabytes without a newline.
            let mut out = BufReader::new(out);
            let mut line = Vec::new();
            loop {
                let chunk = match out.fill_buf().await {
                    Ok([]) | Err(_) => break,
                    Ok(chunk) => chunk,
                };
                let (take, ends_line) = match chunk.iter().position(|b| *b == b'\n') {
                    Some(i) => (i + 1, true),
                    None => (chunk.len(), false),
                };
                let room = (MAX_LINE_CHARS * 4).saturating_sub(line.len());
                line.extend_from_slice(&chunk[..take.min(room)]);
                out.consume(take);
                if ends_line || line.len() >= MAX_LINE_CHARS * 4 {
                    let text = String::from_utf8_lossy(&line);
                    app.log(stream, text.trim_end_matches(['\n', '\r']));
                    line.clear();
                }
            }
            if !line.is_empty() {
                app.log(stream, &String::from_utf8_lossy(&line));
            }
        });
    }

    pub fn stop(&self) {
        let kill = self.lock().kill.take();
        if let Some(k) = kill {
            let _ = k.send(());
        }
    }

    pub async fn restart(self: &Arc<Self>) {
        self.stop();
        self.wait_until(
            |s| !matches!(s, State::Running | State::Starting),
            Duration::from_secs(5),
        )
        .await;
        self.start();
    }

    /// Waits (up to `timeout`) until the app's state satisfies `pred`; returns the state.
    pub async fn wait_until(&self, pred: impl Fn(State) -> bool, timeout: Duration) -> State {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            let state = self.state();
            if pred(state) {
                return state;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.state();
            }
        }
    }

    /// Makes sure the app runs and waits until it answers (or fails).
    pub async fn ensure_running(self: &Arc<Self>, timeout: Duration) -> State {
        if matches!(self.state(), State::Stopped | State::Crashed) {
            self.start();
        }
        self.wait_until(|s| s != State::Starting, timeout).await
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop();
    }
}
