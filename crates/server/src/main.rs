use std::io::IsTerminal;

use clap::Parser;
use interview_ide::{Config, start_with_helper};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("sandbox-helper") {
        init_logging();
        return interview_ide::privileges::helper::serve(
            &std::env::args().nth(2).unwrap_or_default(),
        );
    }
    limit_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_ansi(std::io::stdout().is_terminal())
        .init();
}

/// The sandbox helper starts first (this executable, unless HELPER_BIN says otherwise). Started
/// as root, this process then becomes `config.server.user` before it binds or reads anything;
/// the helper keeps root for the sandboxes alone.
fn start_helper_and_drop_root(config: &Config) -> anyhow::Result<interview_ide::sandbox::Helper> {
    let bin = match &config.workspaces.helper_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()?,
    };
    if !rustix::process::geteuid().is_root() {
        return Ok(interview_ide::sandbox::helper::start(
            &bin,
            &interview_ide::helper_settings(config, None)?,
        )?);
    }
    let account = interview_ide::privileges::lookup(&config.server.user)?;
    let helper = interview_ide::sandbox::helper::start(
        &bin,
        &interview_ide::helper_settings(config, Some(account.gid))?,
    )?;
    interview_ide::privileges::become_user(config, account)?;
    tracing::info!(uid = account.uid, user = %config.server.user, "running unprivileged; the sandbox helper keeps root for the sandboxes");
    Ok(helper)
}

/// glibc gives threads that allocate at once arenas of their own (up to 8 per core), each keeping
/// its freed memory apart: with the runtime's threads and SQLite's that was ~20 MB more resident
/// memory at 3,000 connections (bench/README.md). One arena per core, unless MALLOC_ARENA_MAX is
/// set. Called before any thread starts.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: mallopt only sets an allocator parameter; no other thread exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores.min(64) as libc::c_int);
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    init_logging();
    let config = Config::parse();
    let helper = start_helper_and_drop_root(&config)?;
    let server = start_with_helper(config.clone(), Some(helper)).await?;
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
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
