//! Settings: command-line flags with environment fallbacks, and defaults that let
//! `interview-ide` start with nothing configured.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

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
#[command(name = "interview-ide", version, about = "Self-hosted platform for live technical interviews")]
pub struct Config {
    /// Address to listen on.
    #[arg(long = "bind", env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// `sqlite://path` (created if missing) or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/interview-ide.db")]
    pub database_url: String,

    /// Base URL used in the links handed out (default: http://<bind address>).
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Serve the web app from this folder instead of the copy built into the binary.
    #[arg(long, env = "WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// Largest WebSocket frame accepted on a live document; a larger one closes the connection (1009).
    #[arg(long, env = "MAX_FRAME_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_frame_bytes: usize,

    /// Messages per second one WebSocket connection may send (bursts up to twice that); more closes it (1008).
    #[arg(long, env = "MAX_MESSAGES_PER_SECOND", default_value_t = 200)]
    pub max_messages_per_second: u32,

    /// Largest JSON request body (413 above it).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Sessions one client address may create per minute (429 above it).
    #[arg(long, env = "MAX_SESSIONS_PER_MINUTE", default_value_t = 30)]
    pub max_sessions_per_minute: u32,

    /// Take the client address from X-Forwarded-For (only behind a trusted reverse proxy).
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Seconds a document with nobody connected stays in memory before it is unloaded.
    #[arg(long, env = "ROOM_IDLE_SECONDS", default_value_t = 30)]
    pub room_idle_seconds: u64,

    /// Longest time an applied update waits before it is written to storage (the crash-loss window).
    #[arg(long, env = "FLUSH_INTERVAL_MS", default_value_t = 200)]
    pub flush_interval_ms: u64,

    /// Token of the operator's admin API (list and delete sessions); the API is off when unset.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Write a snapshot of a document after this many updates since the last one.
    #[arg(long, env = "SNAPSHOT_EVERY_UPDATES", default_value_t = 500)]
    pub snapshot_every_updates: u32,

    // --- AI assistant ---
    /// `anthropic` or `openai` (OpenAI-compatible). Unset: Anthropic if its key is set, else
    /// OpenAI-compatible if OPENAI_BASE_URL or OPENAI_API_KEY is set, else no assistant.
    #[arg(long, env = "ASSISTANT_PROVIDER")]
    pub assistant_provider: Option<String>,

    /// Anthropic API key. Never logged or returned.
    #[arg(long, env = "ANTHROPIC_API_KEY", hide_env_values = true)]
    pub anthropic_api_key: Option<Secret>,

    /// Anthropic API root (a proxy or a test double may stand in).
    #[arg(long, env = "ANTHROPIC_BASE_URL", default_value = DEFAULT_ANTHROPIC_BASE_URL)]
    pub anthropic_base_url: String,

    /// OpenAI-compatible API root that `/chat/completions` is appended to, e.g.
    /// `http://127.0.0.1:11434/v1` (Ollama). Default https://api.openai.com/v1.
    #[arg(long, env = "OPENAI_BASE_URL")]
    pub openai_base_url: Option<String>,

    /// Key of the OpenAI-compatible endpoint, if it needs one. Never logged or returned.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<Secret>,

    /// Model name (default: claude-sonnet-4-5 for Anthropic, gpt-4o-mini for OpenAI-compatible).
    #[arg(long, env = "ASSISTANT_MODEL")]
    pub assistant_model: Option<String>,

    /// Longest question, in characters (413 above it).
    #[arg(long, env = "ASSISTANT_MAX_MESSAGE_CHARS", default_value_t = 4000)]
    pub assistant_max_message_chars: usize,

    /// Longest editor context (code plus run output) sent with a question, in characters (413 above it).
    #[arg(long, env = "ASSISTANT_MAX_CONTEXT_CHARS", default_value_t = 40_000)]
    pub assistant_max_context_chars: usize,

    /// Questions per minute per session (429 above it).
    #[arg(long, env = "ASSISTANT_MESSAGES_PER_MINUTE", default_value_t = 10)]
    pub assistant_messages_per_minute: u32,

    /// Tokens (input + output) a session may use in total (409 once used up).
    #[arg(long, env = "ASSISTANT_TOKEN_BUDGET", default_value_t = 200_000)]
    pub assistant_token_budget: i64,

    /// Longest answer, in tokens (the provider's max_tokens).
    #[arg(long, env = "ASSISTANT_MAX_REPLY_TOKENS", default_value_t = 1024)]
    pub assistant_max_reply_tokens: u32,

    // --- Workspaces ---
    /// Where the exercises are (a folder per exercise with its `exercise.toml`).
    #[arg(long, env = "EXERCISES_DIR", default_value = "exercises")]
    pub exercises_dir: PathBuf,

    /// Where each workspace session's files live.
    #[arg(long, env = "WORKSPACES_DIR", default_value = "data/workspaces")]
    pub workspaces_dir: PathBuf,

    /// Tools the sandboxes use read-only: the exercises' Python environments (`venvs/<id>`) and
    /// code-server, as the set-up scripts install them.
    #[arg(long, env = "TOOLS_DIR", default_value = "/opt/interview-ide")]
    pub tools_dir: PathBuf,

    /// The code-server executable (default: `<TOOLS_DIR>/code-server/node_modules/.bin/code-server`).
    #[arg(long, env = "CODE_SERVER_BIN")]
    pub code_server_bin: Option<PathBuf>,

    /// A workspace's processes stop after this long without use (they start again on demand).
    #[arg(long, env = "WORKSPACE_IDLE_SECONDS", default_value_t = 900)]
    pub workspace_idle_seconds: u64,

    /// A workspace's files are deleted this long after its session ended.
    #[arg(long, env = "WORKSPACE_RETENTION_HOURS", default_value_t = 72)]
    pub workspace_retention_hours: u64,

    /// Memory for each of a workspace's process groups (the app, the terminal, code-server).
    #[arg(long, env = "SANDBOX_MEMORY_MB", default_value_t = 1024)]
    pub sandbox_memory_mb: u64,

    /// Processes (and threads) per workspace group, and per workspace user.
    #[arg(long, env = "SANDBOX_MAX_PROCESSES", default_value_t = 256)]
    pub sandbox_max_processes: u64,

    /// CPU per workspace group, in percent of one core.
    #[arg(long, env = "SANDBOX_CPU_PERCENT", default_value_t = 100)]
    pub sandbox_cpu_percent: u64,
}

impl Config {
    /// Defaults as if started with no flags and no environment: what tests build on.
    pub fn defaults() -> Config {
        Config::parse_from(["interview-ide"])
    }

    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }

    pub fn flush_interval(&self) -> Duration {
        Duration::from_millis(self.flush_interval_ms.max(1))
    }

    pub fn room_idle(&self) -> Duration {
        Duration::from_secs(self.room_idle_seconds)
    }
}
