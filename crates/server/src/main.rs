use std::io::IsTerminal;

use clap::Parser;
use interview_ide::{Config, start};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let config = Config::parse();
    let server = start(config.clone()).await?;
    tracing::info!(
        url = %config.server.public_url.clone().unwrap_or_else(|| server.url()),
        addr = %server.addr,
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "interview-ide ready"
    );
    let stop = server.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: closing connections and flushing documents");
        stop.cancel();
    });
    server.wait().await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
