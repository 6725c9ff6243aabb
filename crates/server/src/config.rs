//! Settings: command-line flags with environment fallbacks, and defaults that let
//! `interview-ide` start with nothing configured. One group per part of the server: `server`
//! (the HTTP edge), `storage` (database and live documents), `workspaces`, `assistant`. The
//! flags and environment variables are flat (README lists them); only the Rust side is grouped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser};

/// The Anthropic API root unless ANTHROPIC_BASE_URL says otherwise.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// A key or token from the configuration, kept out of `Debug` so it cannot end up in a log line by accident.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Parser, Debug, Clone)]
#[command(
    name = "interview-ide",
    version,
    about = "Self-hosted platform for live technical interviews"
)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerConfig,
    #[command(flatten)]
    pub storage: StorageConfig,
    #[command(flatten)]
    pub assistant: AssistantConfig,
    #[command(flatten)]
    pub workspaces: WorkspacesConfig,
    #[command(flatten)]
    pub execute: ExecuteConfig,
    #[command(flatten)]
    pub questions: QuestionsConfig,
    #[command(flatten)]
    pub cluster: ClusterConfig,
}

/// Several nodes behind one URL: on when REDIS_URL is set (and the database is PostgreSQL).
#[derive(Args, Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://host:port`: turns on cluster mode. Live documents then cross nodes through Redis
    /// streams; Redis must run with AOF on and no eviction.
    #[arg(long = "redis-url", env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// This node's name in the cluster (default: generated at start and logged).
    #[arg(long = "node-id", env = "NODE_ID")]
    pub node_id: Option<String>,

    /// How the other nodes reach this one (e.g. http://10.0.0.2:8080); default: the bind address.
    #[arg(long = "advertise-url", env = "ADVERTISE_URL")]
    pub advertise_url: Option<String>,

    /// Stream entries of a document past which a node merges them into a stored snapshot.
    #[arg(
        long = "compact-every-updates",
        env = "COMPACT_EVERY_UPDATES",
        default_value_t = 500
    )]
    pub compact_every_updates: u32,

    /// Seconds a compacted stream entry stays in Redis, so that a node reading a little behind
    /// (or reconnecting) still finds it.
    #[arg(
        long = "stream-keep-seconds",
        env = "STREAM_KEEP_SECONDS",
        default_value_t = 30
    )]
    pub stream_keep_seconds: u64,
}

/// The HTTP edge: where it listens, the links it hands out, request limits, operator access.
#[derive(Args, Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    #[arg(long = "bind", env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The unprivileged user the server becomes when started as root (after starting the
    /// sandbox helper, which keeps root's powers for the sandboxes alone).
    #[arg(long = "user", env = "SERVER_USER", default_value = "interview-ide")]
    pub user: String,

    /// Base URL used in the links handed out (default: http://<bind address>).
    #[arg(long = "public-url", env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Address of the untrusted origin's listener: what candidates make (VS Code, their app)
    /// is served there, never on the platform's origin (default: the bind address's port + 1).
    #[arg(long = "untrusted-bind", env = "UNTRUSTED_BIND")]
    pub untrusted_bind: Option<SocketAddr>,

    /// The untrusted origin's URL as browsers reach it (e.g. https://ws.example.com), another
    /// host than the public URL's in production (default: the public URL's host, with the
    /// untrusted listener's port).
    #[arg(long = "untrusted-origin", env = "UNTRUSTED_ORIGIN")]
    pub untrusted_origin: Option<String>,

    /// Serve the web app from this folder instead of the copy built into the binary.
    #[arg(long = "web-dir", env = "WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// Largest JSON request body (413 above it).
    #[arg(long = "max-body-bytes", env = "MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Sessions one client address may create per minute (429 above it).
    #[arg(
        long = "max-sessions-per-minute",
        env = "MAX_SESSIONS_PER_MINUTE",
        default_value_t = 30
    )]
    pub max_sessions_per_minute: u32,

    /// Behind one reverse proxy: the client address is the right-most `X-Forwarded-For` entry
    /// (the one the proxy added) when the request comes from a trusted proxy.
    #[arg(
        long = "trust-forwarded-for",
        env = "TRUST_FORWARDED_FOR",
        default_value_t = false
    )]
    pub trust_forwarded_for: bool,

    /// The reverse proxies whose `X-Forwarded-For` is believed (IPs or CIDRs, comma-separated,
    /// e.g. `10.0.0.0/8,127.0.0.1`); the client is the right-most entry that is not one of
    /// them. With TRUST_FORWARDED_FOR and no list, the direct peer is the one trusted proxy.
    #[arg(
        long = "trusted-proxies",
        env = "TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,

    /// Token of the operator's admin API (list and delete sessions), beside admin accounts.
    #[arg(long = "admin-token", env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Bearer token that `/metrics` requires. Unset: `/metrics` answers only direct requests
    /// from this machine (loopback, and not through a proxy: no X-Forwarded-For).
    #[arg(long = "metrics-token", env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Email of an admin account created at start if no account has it (with --admin-password).
    #[arg(long = "admin-email", env = "ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    /// Password of the --admin-email account when it is created. Never logged.
    #[arg(
        long = "admin-password",
        env = "ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: Option<Secret>,

    #[command(flatten)]
    pub oidc: OidcConfig,
}

/// OpenID Connect sign-in ("Sign in with SSO"): on when the issuer is set. The provider redirects
/// back to `{PUBLIC_URL}/api/auth/sso/callback`.
#[derive(Args, Debug, Clone)]
pub struct OidcConfig {
    /// Issuer URL of the OpenID provider (its discovery document is `{issuer}/.well-known/openid-configuration`).
    #[arg(long = "oidc-issuer", env = "OIDC_ISSUER")]
    pub issuer: Option<String>,

    /// Client id registered at the provider.
    #[arg(long = "oidc-client-id", env = "OIDC_CLIENT_ID")]
    pub client_id: Option<String>,

    /// Client secret registered at the provider. Never logged.
    #[arg(
        long = "oidc-client-secret",
        env = "OIDC_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<Secret>,

    /// Name on the sign-in button (default: the issuer's host).
    #[arg(long = "oidc-name", env = "OIDC_NAME")]
    pub name: Option<String>,

    /// Comma-separated email domains allowed to sign in with SSO (default: any).
    #[arg(
        long = "oidc-allowed-domains",
        env = "OIDC_ALLOWED_DOMAINS",
        value_delimiter = ','
    )]
    pub allowed_domains: Vec<String>,

    /// Create an interviewer account on first SSO sign-in for a verified email with no account.
    #[arg(
        long = "oidc-create-users",
        env = "OIDC_CREATE_USERS",
        default_value_t = false
    )]
    pub create_users: bool,

    /// Team (by name, created if missing) of accounts created on first SSO sign-in (default: the first team).
    #[arg(long = "oidc-team", env = "OIDC_TEAM")]
    pub team: Option<String>,
}

/// Storage and live documents: the database, how updates reach it, and the limits of a
/// live-document connection.
#[derive(Args, Debug, Clone)]
pub struct StorageConfig {
    /// `sqlite://path` (created if missing) or `postgres://...`.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        default_value = "sqlite://data/interview-ide.db"
    )]
    pub database_url: String,

    /// Largest WebSocket frame accepted on a live document; a larger one closes the connection (1009).
    #[arg(long = "max-frame-bytes", env = "MAX_FRAME_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_frame_bytes: usize,

    /// Messages per second one WebSocket connection may send (bursts up to twice that); more closes it (1008).
    #[arg(
        long = "max-messages-per-second",
        env = "MAX_MESSAGES_PER_SECOND",
        default_value_t = 200
    )]
    pub max_messages_per_second: u32,

    /// Seconds a document with nobody connected stays in memory before it is unloaded.
    #[arg(
        long = "room-idle-seconds",
        env = "ROOM_IDLE_SECONDS",
        default_value_t = 30
    )]
    pub room_idle_seconds: u64,

    /// Seconds a document stays a live yrs `Doc` after the server last read or wrote it; the
    /// rest of the time it is kept encoded, about a tenth of the memory.
    #[arg(
        long = "doc-live-seconds",
        env = "DOC_LIVE_SECONDS",
        default_value_t = 10
    )]
    pub doc_live_seconds: u64,

    /// Longest time an applied update waits before it is written to storage (the crash-loss window).
    #[arg(
        long = "flush-interval-ms",
        env = "FLUSH_INTERVAL_MS",
        default_value_t = 200
    )]
    pub flush_interval_ms: u64,

    /// Write a snapshot of a document after this many updates since the last one.
    #[arg(
        long = "snapshot-every-updates",
        env = "SNAPSHOT_EVERY_UPDATES",
        default_value_t = 500
    )]
    pub snapshot_every_updates: u32,

    /// Bytes of applied edits not yet stored past which clients are told to retry later (1013):
    /// bounds memory when storage cannot keep up.
    #[arg(long = "max-pending-doc-bytes", env = "MAX_PENDING_DOC_BYTES", default_value_t = 64 << 20)]
    pub max_pending_doc_bytes: usize,
}

/// The AI assistant: which provider, and the limits per question and per session.
#[derive(Args, Debug, Clone)]
pub struct AssistantConfig {
    /// `anthropic` or `openai` (OpenAI-compatible). Unset: Anthropic if its key is set, else
    /// OpenAI-compatible if OPENAI_BASE_URL or OPENAI_API_KEY is set, else no assistant.
    #[arg(long = "assistant-provider", env = "ASSISTANT_PROVIDER")]
    pub provider: Option<String>,

    /// Anthropic API key. Never logged or returned.
    #[arg(
        long = "anthropic-api-key",
        env = "ANTHROPIC_API_KEY",
        hide_env_values = true
    )]
    pub anthropic_api_key: Option<Secret>,

    /// Anthropic API root (a proxy or a test double may stand in).
    #[arg(long = "anthropic-base-url", env = "ANTHROPIC_BASE_URL", default_value = DEFAULT_ANTHROPIC_BASE_URL)]
    pub anthropic_base_url: String,

    /// OpenAI-compatible API root that `/chat/completions` is appended to, e.g.
    /// `http://127.0.0.1:11434/v1` (Ollama). Default https://api.openai.com/v1.
    #[arg(long = "openai-base-url", env = "OPENAI_BASE_URL")]
    pub openai_base_url: Option<String>,

    /// Key of the OpenAI-compatible endpoint, if it needs one. Never logged or returned.
    #[arg(
        long = "openai-api-key",
        env = "OPENAI_API_KEY",
        hide_env_values = true
    )]
    pub openai_api_key: Option<Secret>,

    /// Model name (default: claude-sonnet-4-5 for Anthropic, gpt-4o-mini for OpenAI-compatible).
    #[arg(long = "assistant-model", env = "ASSISTANT_MODEL")]
    pub model: Option<String>,

    /// Longest question, in characters (413 above it).
    #[arg(
        long = "assistant-max-message-chars",
        env = "ASSISTANT_MAX_MESSAGE_CHARS",
        default_value_t = 4000
    )]
    pub max_message_chars: usize,

    /// Longest editor context (code plus run output) sent with a question, in characters (413 above it).
    #[arg(
        long = "assistant-max-context-chars",
        env = "ASSISTANT_MAX_CONTEXT_CHARS",
        default_value_t = 40_000
    )]
    pub max_context_chars: usize,

    /// Questions per minute per session (429 above it).
    #[arg(
        long = "assistant-messages-per-minute",
        env = "ASSISTANT_MESSAGES_PER_MINUTE",
        default_value_t = 10
    )]
    pub messages_per_minute: u32,

    /// Tokens (input + output) a session may use in total (409 once used up).
    #[arg(
        long = "assistant-token-budget",
        env = "ASSISTANT_TOKEN_BUDGET",
        default_value_t = 200_000
    )]
    pub token_budget: i64,

    /// Longest answer, in tokens (the provider's max_tokens).
    #[arg(
        long = "assistant-max-reply-tokens",
        env = "ASSISTANT_MAX_REPLY_TOKENS",
        default_value_t = 1024
    )]
    pub max_reply_tokens: u32,
}

/// Workspace sessions: where exercises and workspaces are, the tools the sandboxes use, how long
/// workspaces live, and each sandbox's limits.
#[derive(Args, Debug, Clone)]
pub struct WorkspacesConfig {
    /// Where the exercises are (a folder per exercise with its `exercise.toml`).
    #[arg(
        long = "exercises-dir",
        env = "EXERCISES_DIR",
        default_value = "exercises"
    )]
    pub exercises_dir: PathBuf,

    /// Where each workspace session's files live.
    #[arg(
        long = "workspaces-dir",
        env = "WORKSPACES_DIR",
        default_value = "data/workspaces"
    )]
    pub dir: PathBuf,

    /// Tools the sandboxes use read-only: the exercises' environments (e.g. `venvs/<id>`) and
    /// code-server, as the set-up scripts install them.
    #[arg(
        long = "tools-dir",
        env = "TOOLS_DIR",
        default_value = "/opt/interview-ide"
    )]
    pub tools_dir: PathBuf,

    /// The code-server executable (default: `<TOOLS_DIR>/code-server/node_modules/.bin/code-server`).
    #[arg(long = "code-server-bin", env = "CODE_SERVER_BIN")]
    pub code_server_bin: Option<PathBuf>,

    /// A workspace's processes stop after this long without use (they start again on demand).
    #[arg(
        long = "workspace-idle-seconds",
        env = "WORKSPACE_IDLE_SECONDS",
        default_value_t = 900
    )]
    pub idle_seconds: u64,

    /// A workspace's files are deleted this long after its session ended.
    #[arg(
        long = "workspace-retention-hours",
        env = "WORKSPACE_RETENTION_HOURS",
        default_value_t = 72
    )]
    pub retention_hours: u64,

    /// Memory for each of a workspace's process groups (the app, the terminal, code-server).
    #[arg(
        long = "sandbox-memory-mb",
        env = "SANDBOX_MEMORY_MB",
        default_value_t = 1024
    )]
    pub sandbox_memory_mb: u64,

    /// Processes (and threads) per workspace group, and per workspace user.
    #[arg(
        long = "sandbox-max-processes",
        env = "SANDBOX_MAX_PROCESSES",
        default_value_t = 256
    )]
    pub sandbox_max_processes: u64,

    /// CPU per workspace group, in percent of one core.
    #[arg(
        long = "sandbox-cpu-percent",
        env = "SANDBOX_CPU_PERCENT",
        default_value_t = 100
    )]
    pub sandbox_cpu_percent: u64,

    /// Each workspace's disk quota, in MB (its files, what its app and terminal write there): a
    /// filesystem image of its own, which needs root and loop devices; 0 turns it off.
    #[arg(
        long = "workspace-disk-mb",
        env = "WORKSPACE_DISK_MB",
        default_value_t = 1024
    )]
    pub workspace_disk_mb: u64,

    /// The port forwarder that runs in each workspace's sandbox (default: `iide-forward` next to
    /// this executable).
    #[arg(long = "forwarder-bin", env = "FORWARDER_BIN")]
    pub forwarder_bin: Option<PathBuf>,

    /// The sandbox helper, the one process that keeps root's powers (default: this executable,
    /// or `interview-ide` next to it).
    #[arg(long = "helper-bin", env = "HELPER_BIN")]
    pub helper_bin: Option<PathBuf>,

    /// Start sandboxes (runs and workspaces) even where memory, process and CPU limits cannot be
    /// enforced (no usable cgroups): only for a demo on a laptop. Without it, such a server runs
    /// no candidate code on the server and says why at start and on `/readyz`.
    #[arg(long = "allow-unlimited-sandboxes", env = "ALLOW_UNLIMITED_SANDBOXES", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_unlimited_sandboxes: bool,

    /// Record every request to a workspace's app for the interviewer's live view
    /// (`--app-traffic-recording false` turns it off, e.g. to measure what it costs).
    #[arg(long = "app-traffic-recording", env = "APP_TRAFFIC_RECORDING", default_value_t = true, action = clap::ArgAction::Set)]
    pub record_app_traffic: bool,
}

/// Server-side code runs (C, C++, Java, Go, Rust, Ruby, Bash, SQL): how many at once, the queue
/// behind them, and each run's limits. The wall time of a run is the session's time limit.
#[derive(Args, Debug, Clone)]
pub struct ExecuteConfig {
    /// Where each run's folder is made (and removed after the run).
    #[arg(long = "runs-dir", env = "RUNS_DIR", default_value = "data/runs")]
    pub runs_dir: PathBuf,

    /// Runs at the same time; more wait in the queue.
    #[arg(
        long = "run-max-concurrent",
        env = "RUN_MAX_CONCURRENT",
        default_value_t = 2
    )]
    pub max_concurrent: usize,

    /// Runs that may wait for a free place; past that a run is refused (429 with Retry-After).
    #[arg(long = "run-max-queued", env = "RUN_MAX_QUEUED", default_value_t = 16)]
    pub max_queued: usize,

    /// Memory of a running program (a JVM's heap gets 5/8 of it).
    #[arg(long = "run-memory-mb", env = "RUN_MEMORY_MB", default_value_t = 256)]
    pub memory_mb: u64,

    /// Memory of a compiler (rustc and javac need more than the program).
    #[arg(
        long = "run-compile-memory-mb",
        env = "RUN_COMPILE_MEMORY_MB",
        default_value_t = 1024
    )]
    pub compile_memory_mb: u64,

    /// Longest compile step, in seconds.
    #[arg(
        long = "run-compile-seconds",
        env = "RUN_COMPILE_SECONDS",
        default_value_t = 30
    )]
    pub compile_seconds: u64,

    /// CPU cores one run may use at once (a CPU cgroup quota, where the host has cgroups); Go
    /// and the JVM are told the same count, so they start no more threads than they can use.
    #[arg(long = "run-cpus", env = "RUN_CPUS", default_value_t = 1)]
    pub cpus: u32,

    /// Processes and threads of a running program (a compiler gets four times as many).
    #[arg(
        long = "run-max-processes",
        env = "RUN_MAX_PROCESSES",
        default_value_t = 64
    )]
    pub max_processes: u64,

    /// Output (stdout and stderr) a run may print; past it the run is stopped.
    #[arg(long = "run-max-output-bytes", env = "RUN_MAX_OUTPUT_BYTES", default_value_t = 1 << 20)]
    pub max_output_bytes: u64,

    /// What a run may write in all (its folder and /tmp), in MB: a size-limited tmpfs per run.
    #[arg(long = "run-disk-mb", env = "RUN_DISK_MB", default_value_t = 64)]
    pub disk_mb: u64,

    /// Largest file a run may write, in MB.
    #[arg(
        long = "run-max-file-mb",
        env = "RUN_MAX_FILE_MB",
        default_value_t = 16
    )]
    pub max_file_mb: u64,
}

/// The question library.
#[derive(Args, Debug, Clone)]
pub struct QuestionsConfig {
    /// The server's own questions (a TOML file per question), stored at start.
    #[arg(
        id = "questions_dir",
        long = "questions-dir",
        env = "QUESTIONS_DIR",
        default_value = "questions"
    )]
    pub dir: PathBuf,
}

impl Config {
    /// Defaults as if started with no flags and no environment: what tests build on.
    pub fn defaults() -> Config {
        Config::parse_from(["interview-ide"])
    }

    pub fn public_url(&self) -> String {
        self.server.public_url()
    }
}

impl ServerConfig {
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }

    /// Where the untrusted listener binds: as configured, else beside the platform's (port + 1;
    /// port 0 stays 0, so tests get a free port for each).
    pub fn untrusted_bind(&self) -> SocketAddr {
        self.untrusted_bind.unwrap_or_else(|| {
            let port = match self.bind.port() {
                0 => 0,
                p => p.checked_add(1).unwrap_or(p - 1),
            };
            SocketAddr::new(self.bind.ip(), port)
        })
    }

    /// The untrusted origin (no trailing slash): as configured, else the public URL's scheme and
    /// host with the untrusted listener's `port`.
    pub fn untrusted_origin(&self, port: u16) -> String {
        if let Some(origin) = &self.untrusted_origin {
            return origin.trim_end_matches('/').to_string();
        }
        let public = self.public_url();
        let (scheme, rest) = public.split_once("://").unwrap_or(("http", &public));
        let authority = rest.split('/').next().unwrap_or("");
        // The host without its port (an IPv6 host keeps its brackets).
        let host = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => &authority[..i],
            _ => authority,
        };
        format!("{scheme}://{host}:{port}")
    }
}

impl StorageConfig {
    pub fn flush_interval(&self) -> Duration {
        Duration::from_millis(self.flush_interval_ms.max(1))
    }

    pub fn room_idle(&self) -> Duration {
        Duration::from_secs(self.room_idle_seconds)
    }

    pub fn doc_live(&self) -> Duration {
        Duration::from_secs(self.doc_live_seconds)
    }
}
