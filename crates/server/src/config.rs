//! Settings: command-line flags with environment fallbacks, and defaults that let
//! `interview-ide` start with nothing configured.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

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
