//! interview-ide: a self-hosted platform for live technical interviews.
//!
//! Layers, top to bottom; a module uses only modules below it (never one beside or above it,
//! `tests/integration/layers.rs` fails on any cycle; docs/ARCHITECTURE.md draws them):
//!
//! 1. this file (and `main.rs`): reads the `config`, builds every part and wires them into `App`.
//! 2. `http`: routes, auth extractors, errors, web assets; the only module that sees `App`.
//!    `lifecycle` below it creates (with rollback), ends and deletes sessions, and sweeps old
//!    workspaces: the one place that makes and unmakes everything a session owns.
//! 3. features: `cockpit` (timeline, replay, scorecard; renders with `report`), `chaos` (scenarios
//!    acting on a workspace's app), `assistant` (AI providers, the chat and its transcript),
//!    `questions` (the question library; runs tests through `execute`).
//! 4. `workspace`: exercise projects per session, sandboxed processes, disk<->document sync, and
//!    the proxy in front of the app, which applies the session's `faults`. `execute` beside it:
//!    server-side code runs (compile and run in a fresh sandbox per run, queue, limits).
//! 5. `accounts` (teams, users, sign-in, API keys, invites, audit log);
//!    `sessions` (sessions, roles, policies, events) over `collab` (live documents: rooms,
//!    y-websocket, persistence queue); `report` (the HTML report, from `store`'s rows).
//! 6. leaves, which use no other module but `docname`, `ids` and `redis_keys`: `store`
//!    (SQLite/PostgreSQL, every SQL statement of the platform; documents behind the `DocStore`
//!    trait), `faults` (network faults and how the proxy applies them), `cluster` (this node in
//!    Redis), `config`, `metrics`, `ratelimit`, `util`. Below them `redis_keys` (every Redis key
//!    and channel, and what lives there), `docname` (the documents of a session and their
//!    rules) and `ids` (`SessionId`).

pub mod accounts;
pub mod assistant;
pub mod capability;
pub mod chaos;
pub mod cluster;
pub mod cockpit;
pub mod collab;
pub mod config;
pub mod connections;
pub mod docname;
pub mod execute;
pub mod faults;
pub mod http;
pub mod ids;
pub mod installing;
pub mod lifecycle;
pub mod metrics;
pub mod privileges;
pub mod questions;
pub mod ratelimit;
pub mod redis_keys;
pub mod report;
pub mod sandbox;
pub mod sessions;
pub mod store;
pub mod util;
pub mod workspace;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::serve::ListenerExt;
use tokio_util::sync::CancellationToken;

use cockpit::Cockpit;
use collab::{Collab, PersistSettings, Persister};
pub use config::Config;
use lifecycle::Lifecycle;
use metrics::Metrics;
use ratelimit::PerAddressLimiter;
use sessions::Sessions;
use store::Store;

/// Everything a request handler can reach.
pub struct App {
    pub config: Config,
    /// The process that starts sandboxes (it keeps root's powers when this one drops them).
    pub sandbox_helper: sandbox::Helper,
    pub accounts: accounts::Accounts,
    /// OpenID Connect sign-in, when OIDC_ISSUER is set.
    pub sso: Option<accounts::sso::Sso>,
    pub store: Store,
    pub sessions: Sessions,
    pub lifecycle: Lifecycle,
    pub cockpit: Cockpit,
    pub collab: Arc<Collab>,
    pub metrics: Metrics,
    pub create_limiter: PerAddressLimiter,
    /// What pages report to the timeline (runs, activity), per session and role.
    pub timeline_limiter: ratelimit::Limiter<(ids::SessionId, sessions::Role)>,
    pub shutdown: CancellationToken,
    pub next_conn_id: AtomicU64,
    /// Open WebSockets by whom they act for (ended when that standing is withdrawn).
    pub connections: Arc<connections::Connections>,
    pub assistant: Arc<assistant::Assistant>,
    pub workspaces: Arc<workspace::Workspaces>,
    pub executor: Arc<execute::Executor>,
    pub questions: questions::Questions,
    /// This node's place in the cluster (None: one node, no Redis).
    pub cluster: Option<Arc<cluster::Node>>,
}

/// Runs and activity one role of a session may report per minute: a page reports a handful; more
/// is someone filling the interviewer's timeline.
const TIMELINE_REPORTS_PER_MINUTE: u32 = 60;

/// A running server: its address and how to stop it.
pub struct Server {
    pub addr: SocketAddr,
    /// The untrusted origin's listener (candidate-made content).
    pub untrusted_addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn untrusted_url(&self) -> String {
        format!("http://{}", self.untrusted_addr)
    }

    /// Graceful stop: closes connections (1001), snapshots documents, flushes storage.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await?
    }

    /// Resolves when the server stops on its own (e.g. a signal).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await?
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Connects storage, runs migrations, binds and starts serving, with a sandbox helper of its
/// own (with this process's powers).
pub async fn start(config: Config) -> anyhow::Result<Server> {
    start_with_helper(config, None).await
}

/// `start`, with the sandbox helper `main` started before it dropped root.
pub async fn start_with_helper(
    mut config: Config,
    helper: Option<sandbox::Helper>,
) -> anyhow::Result<Server> {
    let helper = match helper {
        Some(h) => h,
        None => sandbox::helper::start(
            &config
                .workspaces
                .helper_bin
                .clone()
                .unwrap_or_else(sandbox::helper::default_bin),
            &helper_settings(&config, None)?,
        )?,
    };
    // Before anything starts a sandbox: which cgroups limit them here (or why none can).
    helper.load_status().await?;
    // TLS for the assistant's provider uses ring; installing it twice (tests) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let assistant_provider = assistant::provider_from_config(&config.assistant)?;
    match &assistant_provider {
        Some(p) => tracing::info!(
            provider = p.name(),
            model = p.model(),
            "AI assistant enabled"
        ),
        None => tracing::info!("AI assistant: no provider configured"),
    }
    let store = Store::connect(&config.storage.database_url).await?;
    let listener = tokio::net::TcpListener::bind(config.server.bind).await?;
    let addr = listener.local_addr()?;
    if config.server.public_url.is_none() {
        // With port 0 the real port is only known now.
        config.server.public_url = Some(format!("http://{addr}"));
    }
    let untrusted_listener = tokio::net::TcpListener::bind(config.server.untrusted_bind())
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "binding the untrusted origin's listener on {} (UNTRUSTED_BIND): {e}",
                config.server.untrusted_bind()
            )
        })?;
    let untrusted_addr = untrusted_listener.local_addr()?;
    config.server.untrusted_origin = Some(config.server.untrusted_origin(untrusted_addr.port()));
    let metrics = Metrics::default();
    let shutdown = CancellationToken::new();
    let docs: Arc<dyn store::DocStore> = Arc::new(store.clone());
    let persist_stop = CancellationToken::new();
    let (persister, writer) = Persister::start(
        docs.clone(),
        PersistSettings {
            flush_interval: config.storage.flush_interval(),
            max_pending_bytes: config.storage.max_pending_doc_bytes,
        },
        metrics.clone(),
        persist_stop.clone(),
    );
    let relay_stop = CancellationToken::new();
    let node = match &config.cluster.redis_url {
        None => None,
        Some(url) => {
            if store.backend() != store::Backend::Postgres {
                anyhow::bail!(cluster::ClusterError::NeedsPostgres);
            }
            Some(
                cluster::Node::join(&config.cluster, url, config.public_url(), shutdown.clone())
                    .await?,
            )
        }
    };
    let relay = node.as_ref().map(|node| {
        let settings = collab::RelaySettings {
            max_pending_bytes: config.storage.max_pending_doc_bytes,
            compact_every: config.cluster.compact_every_updates,
            keep: std::time::Duration::from_secs(config.cluster.stream_keep_seconds),
        };
        collab::Relay::start(
            node.clone(),
            docs.clone(),
            settings,
            metrics.clone(),
            relay_stop.clone(),
        )
    });
    let collab = Collab::new(
        docs.clone(),
        persister,
        relay,
        config.storage.snapshot_every_updates,
        config.storage.room_idle(),
        config.storage.doc_live(),
        metrics.clone(),
    );
    collab.spawn_janitor(shutdown.clone());
    let sessions = Sessions::new(store.clone(), collab.clone(), config.public_url());
    let assistant = Arc::new(assistant::Assistant::new(
        &config.assistant,
        assistant_provider,
        store.clone(),
        collab.clone(),
        sessions.clone(),
        node.clone(),
        shutdown.clone(),
    ));
    match assistant.recover_interrupted().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            replies = n,
            "assistant replies interrupted by the last stop are marked cut off"
        ),
        Err(e) => tracing::warn!(error = %e, "could not mark interrupted assistant replies"),
    }
    let workspaces = workspace::Workspaces::new(
        workspace::Catalog::load(&config.workspaces.exercises_dir)?,
        workspace_settings(&config.workspaces, helper.clone())?,
        shutdown.clone(),
    );
    let accounts = accounts::Accounts::new(store.clone(), node.clone());
    let sso =
        accounts::sso::Sso::from_config(&config.server.oidc, &config.public_url(), node.clone())?;
    if let Some(sso) = &sso {
        tracing::info!(provider = %sso.name, "OpenID Connect sign-in enabled");
    }
    let admin = match (&config.server.admin_email, &config.server.admin_password) {
        (Some(email), Some(password)) => Some((email.as_str(), password.expose())),
        (Some(_), None) | (None, Some(_)) => {
            anyhow::bail!("ADMIN_EMAIL and ADMIN_PASSWORD go together")
        }
        (None, None) => None,
    };
    if let Some(code) = accounts
        .bootstrap(admin)
        .await
        .map_err(|e| anyhow::anyhow!("creating the admin account: {e}"))?
    {
        // The one place the setup code is shown: whoever reads the server's log makes the first admin.
        // A warning, so that it shows even when the log is turned down to warnings.
        tracing::warn!(
            "first-run setup: open {}/setup?code={code} to create the first admin account",
            config.public_url()
        );
    }
    let connections = connections::Connections::new(shutdown.clone(), node.clone());
    if let Some(node) = &node {
        connections.follow(node, shutdown.clone());
    }
    let lifecycle = Lifecycle::new(
        store.clone(),
        docs.clone(),
        sessions.clone(),
        collab.clone(),
        workspaces.clone(),
        node.clone(),
    );
    if let Some(node) = &node {
        lifecycle.follow(node, shutdown.clone());
    }
    lifecycle.spawn_retention_sweep(shutdown.clone());
    let executor = execute::Executor::new(config.execute.clone(), helper.clone()).await?;
    let questions = questions::Questions::new(store.clone(), executor.clone());
    let loaded = questions.load_library(&config.questions.dir).await?;
    tracing::info!(questions = loaded, "question library stored");
    let app = Arc::new(App {
        accounts,
        sso,
        questions,
        executor,
        workspaces,
        assistant,
        create_limiter: PerAddressLimiter::new(config.server.max_sessions_per_minute),
        timeline_limiter: ratelimit::Limiter::new(TIMELINE_REPORTS_PER_MINUTE),
        sandbox_helper: helper,
        config,
        store: store.clone(),
        sessions,
        lifecycle,
        cockpit: Cockpit::new(store.clone(), collab.clone()),
        collab: collab.clone(),
        metrics,
        shutdown: shutdown.clone(),
        next_conn_id: AtomicU64::new(1),
        connections,
        cluster: node,
    });
    let router = http::router(app.clone());
    let untrusted_router = http::untrusted::router(app.clone());
    tracing::info!(origin = %app.config.server.untrusted_origin(untrusted_addr.port()), addr = %untrusted_addr, "candidate-made content (VS Code, the candidate's app) is served on its own origin");
    // Small edits must not wait for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let untrusted_listener = untrusted_listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let untrusted = axum::serve(
            untrusted_listener,
            untrusted_router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop.clone().cancelled_owned());
        let platform = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop.cancelled_owned());
        let (platform, untrusted) = tokio::join!(platform, untrusted);
        platform?;
        untrusted?;
        collab.shutdown().await;
        drop(app);
        drop(collab);
        // The writers store what is still pending, then end.
        relay_stop.cancel();
        persist_stop.cancel();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), writer).await;
        store.close().await;
        Ok(())
    });
    Ok(Server {
        addr,
        untrusted_addr,
        shutdown,
        task,
    })
}

/// What the sandbox helper is told: the folders it mounts beneath, and the group sandboxes run
/// in (`sandbox_gid`: the server's own, when it drops root).
pub fn helper_settings(
    config: &Config,
    sandbox_gid: Option<u32>,
) -> anyhow::Result<sandbox::helper::Settings> {
    let abs = |p: &std::path::Path| -> anyhow::Result<std::path::PathBuf> {
        std::fs::create_dir_all(p)?;
        Ok(std::fs::canonicalize(p)?)
    };
    Ok(sandbox::helper::Settings {
        runs_dir: abs(&config.execute.runs_dir)?,
        workspaces_dir: abs(&config.workspaces.dir)?,
        sandbox_gid,
        allow_unlimited: config.workspaces.allow_unlimited_sandboxes,
    })
}

/// `iide-forward` next to this executable (or one folder up: tests run from `target/*/deps`).
fn sibling_forwarder() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join("iide-forward"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| exe.with_file_name("iide-forward"))
}

fn workspace_settings(
    config: &config::WorkspacesConfig,
    helper: sandbox::Helper,
) -> anyhow::Result<workspace::Settings> {
    std::fs::create_dir_all(&config.dir)?;
    // The sandbox mounts these: they must be absolute.
    let root = std::fs::canonicalize(&config.dir)?;
    Ok(workspace::Settings {
        root,
        code_server: config.code_server_bin.clone().unwrap_or_else(|| {
            config
                .tools_dir
                .join("code-server/node_modules/.bin/code-server")
        }),
        tools_dir: config.tools_dir.clone(),
        limits: workspace::sandbox::Limits {
            memory_bytes: config.sandbox_memory_mb.max(64) << 20,
            processes: config.sandbox_max_processes.max(16),
            cpu_percent: config.sandbox_cpu_percent.clamp(5, 100 * 64),
        },
        forwarder: config
            .forwarder_bin
            .clone()
            .unwrap_or_else(sibling_forwarder),
        idle: std::time::Duration::from_secs(config.idle_seconds.max(1)),
        retention: std::time::Duration::from_secs(config.retention_hours * 3600),
        record_traffic: config.record_app_traffic,
        disk_bytes: config.workspace_disk_mb << 20,
        helper,
    })
}
