//! `loadgen run`: orchestration (connect ramp, warm-up, measured window, drain) and the report.

use crate::client::{self, ClientSpec, Plan};
use crate::procstat;
use crate::stats::{Shared, Window};
use serde::Serialize;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// WebSocket URL template of any y-websocket server; `{room}` becomes the room name,
    /// e.g. ws://127.0.0.1:1234/{room}
    #[arg(
        long,
        conflicts_with = "interview_ide",
        required_unless_present = "interview_ide"
    )]
    url: Option<String>,
    /// Base URL of an interview-ide server (e.g. http://127.0.0.1:8080): one session is created
    /// per room and its document is opened with the interviewer token. Several comma-separated
    /// base URLs (the nodes of one cluster): sessions are created on them in turn and the
    /// clients of each room take the nodes in turn, so edits cross nodes; latency is then also
    /// reported apart for same-node and cross-node deliveries.
    #[arg(long, value_name = "BASE_URL[,BASE_URL...]", value_delimiter = ',')]
    interview_ide: Vec<String>,
    /// With several nodes: `split` (the clients of a room take the nodes in turn: a load
    /// balancer without affinity, the worst case) or `room` (all clients of a room on one node,
    /// the rooms taking the nodes in turn: a load balancer hashing on the session).
    #[arg(long, value_enum, default_value_t = Placement::Split)]
    placement: Placement,
    /// Document name in --interview-ide mode.
    #[arg(long, default_value = "main")]
    doc: String,
    /// Number of rooms (R).
    #[arg(long, short = 'r', default_value_t = 10)]
    rooms: usize,
    /// Clients per room (C).
    #[arg(long, short = 'c', default_value_t = 3)]
    clients: usize,
    /// Edits per second made by each client (K), on a jittered schedule.
    #[arg(long, short = 'k', default_value_t = 2.0)]
    rate: f64,
    /// Measured window in seconds (D).
    #[arg(long, short = 'd', default_value_t = 60.0)]
    duration: f64,
    /// Seconds of editing before the measured window starts.
    #[arg(long, default_value_t = 5.0)]
    warmup: f64,
    /// Seconds to wait after the window for deliveries still in flight.
    #[arg(long, default_value_t = 10.0)]
    drain: f64,
    /// New connections per second during the ramp.
    #[arg(long, default_value_t = 200.0)]
    connect_rate: f64,
    /// Seconds one connection attempt may take.
    #[arg(long, default_value_t = 10.0)]
    connect_timeout: f64,
    /// Where clients type.
    #[arg(long, value_enum, default_value_t = Workload::Cursor)]
    workload: Workload,
    /// Characters inserted per edit [default: 8; 20 with --workload same-spot].
    #[arg(long)]
    edit_len: Option<u32>,
    /// Integrate every received update into the receiver's yrs document (like a real client)
    /// instead of only decoding it. Costs the load generator more CPU.
    #[arg(long)]
    apply: bool,
    /// Also send an awareness update (the cursor) after every edit, as editor bindings do.
    /// Doubles the messages; awareness is not timed.
    #[arg(long)]
    awareness: bool,
    /// WebSocket read buffer per connection, bytes.
    #[arg(long, default_value_t = 4096)]
    read_buffer: usize,
    /// Server process(es) to watch: CPU % over the window and peak RSS (summed over several
    /// comma-separated pids, with each one's CPU also shown).
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Also report the CPU used over the window by every process with this command name
    /// (e.g. redis-server, postgres); repeatable.
    #[arg(long, value_name = "COMM")]
    watch_process: Vec<String>,
    /// Runtime worker threads (default: the CPUs this process may run on; 1 = single-threaded).
    #[arg(long)]
    threads: Option<usize>,
    /// Seconds between progress lines on stderr (0: none).
    #[arg(long, default_value_t = 5.0)]
    report_every: f64,
    /// Room name prefix in --url mode (default: a random one, so runs never share rooms).
    #[arg(long)]
    room_prefix: Option<String>,
    /// Seed of the edit schedule jitter.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the report as JSON on stdout (progress stays on stderr).
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "PATH")]
    json_file: Option<std::path::PathBuf>,
    /// Parallel POST /api/sessions requests in --interview-ide mode.
    #[arg(long, default_value_t = 8)]
    create_concurrency: usize,
    /// API key (`iide_...`) that creates the sessions in --interview-ide mode: only people of
    /// the organisation create sessions (an admin makes a key on the admin page or POST /api/keys).
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    Split,
    Room,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Each client types at its own cursor, right after its previous edit.
    Cursor,
    /// Every edit goes at the end of the shared text as the client's replica holds it, so the
    /// clients of a room interleave their edits at one place (implies --apply).
    SameSpot,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Cursor => "cursor",
            Workload::SameSpot => "same-spot",
        }
    }
}

impl RunArgs {
    /// Received updates are integrated into each client's document.
    fn apply(&self) -> bool {
        self.apply || self.workload == Workload::SameSpot
    }

    fn edit_len(&self) -> u32 {
        self.edit_len.unwrap_or(match self.workload {
            Workload::Cursor => 8,
            Workload::SameSpot => 20,
        })
    }
}

pub fn main(args: RunArgs) -> i32 {
    if let Err(e) = validate(&args) {
        eprintln!("loadgen: {e}");
        return 1;
    }
    let threads = args
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start runtime: {e}");
            return 1;
        }
    };
    let json_file = args.json_file.clone();
    match rt.block_on(execute(args, threads)) {
        Ok(report) => {
            let failed = report.errors.total > 0;
            let json = serde_json::to_string_pretty(&report).unwrap_or_default();
            if let Some(path) = json_file
                && let Err(e) = std::fs::write(&path, format!("{json}\n"))
            {
                eprintln!("loadgen: cannot write {}: {e}", path.display());
            }
            if report.json_out {
                println!("{json}");
            } else {
                print_text(&report);
            }
            if failed { 2 } else { 0 }
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            1
        }
    }
}

fn validate(a: &RunArgs) -> Result<(), String> {
    if a.rooms == 0 || a.clients < 2 {
        return Err("need at least 1 room and 2 clients per room".into());
    }
    if !(a.rate > 0.0 && a.duration > 0.0 && a.warmup >= 0.0 && a.connect_rate > 0.0) {
        return Err("--rate, --duration and --connect-rate must be > 0, --warmup >= 0".into());
    }
    if a.edit_len() == 0 {
        return Err("--edit-len must be >= 1".into());
    }
    if let Some(u) = &a.url {
        if !u.contains("{room}") {
            return Err("--url must contain {room}".into());
        }
        client::host_port(u)?;
    }
    Ok(())
}

/// WebSocket URLs, one per client (room after room).
async fn client_urls(a: &RunArgs, sh: &Shared) -> Result<Vec<String>, String> {
    if let Some(template) = &a.url {
        let prefix = a.room_prefix.clone().unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            format!("lg{:06x}-", (nanos ^ std::process::id()) & 0xff_ffff)
        });
        return Ok((0..a.rooms * a.clients)
            .map(|i| template.replace("{room}", &format!("{prefix}{}", i / a.clients)))
            .collect());
    }
    let nodes = a
        .interview_ide
        .iter()
        .map(|b| crate::http::split_base(b))
        .collect::<Result<Vec<_>, _>>()?;
    if nodes.is_empty() {
        return Err("--url or --interview-ide is required".into());
    }
    let started = Instant::now();
    let mut paths = vec![String::new(); a.rooms];
    let mut set = tokio::task::JoinSet::new();
    let mut next = 0;
    let mut done = 0;
    while done < a.rooms {
        while next < a.rooms && set.len() < a.create_concurrency.max(1) {
            let (authority, prefix) = &nodes[next % nodes.len()];
            let (au, pr, doc, key) = (
                authority.clone(),
                prefix.clone(),
                a.doc.clone(),
                a.api_key.clone(),
            );
            let i = next;
            set.spawn(async move {
                (
                    i,
                    crate::http::create_session(&au, &pr, &doc, key.as_deref()).await,
                )
            });
            next += 1;
        }
        match set.join_next().await {
            Some(Ok((i, Ok(path)))) => {
                paths[i] = path;
                done += 1;
            }
            Some(Ok((_, Err(e)))) => return Err(format!("creating sessions: {e}")),
            Some(Err(e)) => return Err(format!("creating sessions: {e}")),
            None => break,
        }
    }
    eprintln!(
        "loadgen: created {} sessions in {:.1} s",
        a.rooms,
        started.elapsed().as_secs_f64()
    );
    Ok((0..a.rooms * a.clients)
        .map(|i| {
            let (authority, prefix) = &nodes[sh.node_of(i)];
            format!("ws://{authority}{prefix}{}", paths[i / a.clients])
        })
        .collect())
}

/// CPU and memory readings taken at one instant.
#[derive(Clone, Copy)]
struct Snap {
    at: Instant,
    self_cpu: Duration,
    /// The system (kernel) part of `self_cpu`.
    self_sys: Duration,
    server_cpu: Option<Duration>,
    self_wait: Duration,
    server_wait: Option<Duration>,
    machine_busy: Option<(Duration, Duration)>,
    delivered: u64,
    sent: u64,
}

impl Snap {
    fn take(sh: &Shared, pids: &[u32]) -> Snap {
        let (user, sys) = procstat::self_cpu_split();
        Snap {
            at: Instant::now(),
            self_cpu: user + sys,
            self_sys: sys,
            server_cpu: sum_over(pids, procstat::pid_cpu),
            self_wait: procstat::pid_run_delay(std::process::id()).unwrap_or_default(),
            server_wait: sum_over(pids, procstat::pid_run_delay),
            machine_busy: procstat::machine_busy(),
            delivered: sh.c.deliveries_received.load(Relaxed) + sh.c.deliveries_other.load(Relaxed),
            sent: sh.c.edits_sent.load(Relaxed),
        }
    }
}

/// The sum of `f` over the server pids; None when there are none or one is gone.
fn sum_over(pids: &[u32], f: impl Fn(u32) -> Option<Duration>) -> Option<Duration> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&p| f(p)).sum()
}

/// Current and peak RSS summed over the server pids.
fn servers_mem(pids: &[u32]) -> Option<(u64, u64)> {
    if pids.is_empty() {
        return None;
    }
    pids.iter()
        .map(|&p| procstat::pid_mem(p))
        .try_fold((0, 0), |(r, h), m| m.map(|(r2, h2)| (r + r2, h + h2)))
}

/// CPU readings of the processes watched besides the servers, taken at the window's ends.
struct Watched {
    per_server: Vec<Option<Duration>>,
    /// Per --watch-process name: CPU time by pid.
    by_name: Vec<std::collections::HashMap<u32, Duration>>,
}

impl Watched {
    fn take(a: &RunArgs) -> Watched {
        Watched {
            per_server: a.server_pid.iter().map(|&p| procstat::pid_cpu(p)).collect(),
            by_name: a
                .watch_process
                .iter()
                .map(|n| procstat::comm_cpu(n))
                .collect(),
        }
    }
}

/// CPU % (of one core) used by processes other than the server and the load generator.
fn other_cpu(a: &Snap, b: &Snap) -> Option<f64> {
    let busy = b.machine_busy?.0.saturating_sub(a.machine_busy?.0);
    let ours = b.self_cpu.saturating_sub(a.self_cpu)
        + match (a.server_cpu, b.server_cpu) {
            (Some(x), Some(y)) => y.saturating_sub(x),
            _ => Duration::ZERO,
        };
    // /proc/stat ticks are coarse (10 ms): clamp the rounding noise at zero.
    Some(procstat::pct(busy.saturating_sub(ours), b.at - a.at))
}

/// CPU % (of one core) spent in interrupts and softirqs (loopback TCP for the most part).
fn irq_cpu(a: &Snap, b: &Snap) -> Option<f64> {
    Some(procstat::pct(
        b.machine_busy?.1.saturating_sub(a.machine_busy?.1),
        b.at - a.at,
    ))
}

/// Samples the server every second and prints progress lines.
struct Monitor {
    sh: Arc<Shared>,
    pids: Vec<u32>,
    t0: Instant,
    report_every: Duration,
    last_report: Snap,
    last_sample: Snap,
    max_rss: u64,
    /// Highest one-second server CPU % seen inside the window.
    peak_cpu_1s: f64,
    in_window: bool,
    server_gone: bool,
}

impl Monitor {
    fn tick(&mut self, phase: &str) {
        let now = Snap::take(&self.sh, &self.pids);
        if !self.pids.is_empty() {
            match servers_mem(&self.pids) {
                Some((rss, _)) => self.max_rss = self.max_rss.max(rss),
                None if !self.server_gone => {
                    self.server_gone = true;
                    eprintln!("loadgen: a server pid of {:?} is gone", self.pids);
                }
                None => {}
            }
        }
        let dt = now.at - self.last_sample.at;
        if dt >= Duration::from_millis(950) {
            if let (true, Some(a), Some(b)) =
                (self.in_window, self.last_sample.server_cpu, now.server_cpu)
            {
                self.peak_cpu_1s = self.peak_cpu_1s.max(procstat::pct(b.saturating_sub(a), dt));
            }
            self.last_sample = now;
        }
        if !self.report_every.is_zero() && now.at - self.last_report.at >= self.report_every {
            self.progress(phase, now);
            self.last_report = now;
        }
    }

    fn progress(&self, phase: &str, now: Snap) {
        let prev = self.last_report;
        let secs = (now.at - prev.at).as_secs_f64();
        let c = &self.sh.c;
        let live = c
            .connect_ok
            .load(Relaxed)
            .saturating_sub(c.closed_early.load(Relaxed));
        let (p50, p99, max) = {
            let mut h = self.sh.hists.lock();
            let r = if h.interval.is_empty() {
                (0, 0, 0)
            } else {
                (
                    h.interval.value_at_quantile(0.5),
                    h.interval.value_at_quantile(0.99),
                    h.interval.max(),
                )
            };
            h.interval.reset();
            r
        };
        let mut line = format!(
            "[{:6.1}s] {phase:<9} conns {live:>5}  edits/s {:>6.0}  deliv/s {:>6.0}  p50 {:>6.2} ms  p99 {:>7.2} ms  max {:>7.1} ms  loadgen cpu {:>3.0}%",
            (now.at - self.t0).as_secs_f64(),
            (now.sent - prev.sent) as f64 / secs,
            (now.delivered - prev.delivered) as f64 / secs,
            p50 as f64 / 1000.0,
            p99 as f64 / 1000.0,
            max as f64 / 1000.0,
            procstat::pct(now.self_cpu.saturating_sub(prev.self_cpu), now.at - prev.at),
        );
        let delivered = now.delivered - prev.delivered;
        if delivered > 0 {
            line += &format!(
                " ({:.1} µs/deliv)",
                now.self_cpu.saturating_sub(prev.self_cpu).as_secs_f64() * 1e6 / delivered as f64
            );
        }
        if let (Some(a), Some(b)) = (prev.server_cpu, now.server_cpu) {
            line += &format!(
                "  server cpu {:>3.0}%",
                procstat::pct(b.saturating_sub(a), now.at - prev.at)
            );
        }
        if let Some((rss, _)) = servers_mem(&self.pids) {
            line += &format!(" rss {:.0} MB", rss as f64 / 1e6);
        }
        if let Some(other) = other_cpu(&prev, &now) {
            line += &format!("  other procs {other:>3.0}%");
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }

    /// Ticks (250 ms) until `deadline`, or earlier once `done()` holds.
    async fn wait(&mut self, phase: &str, deadline: Instant, done: impl Fn(&Shared) -> bool) {
        loop {
            let now = Instant::now();
            if now >= deadline || done(&self.sh) {
                return;
            }
            let step = (deadline - now).min(Duration::from_millis(250));
            tokio::time::sleep(step).await;
            self.tick(phase);
        }
    }
}

async fn execute(a: RunArgs, threads: usize) -> Result<Report, String> {
    let n = a.rooms * a.clients;

    // Send-time slots per client: the whole editing span at the nominal rate, plus slack for
    // jitter (the schedule is open loop, so the count is close to rate x time).
    let span = a.warmup + a.duration + 1.0;
    let slots = (a.rate * span * 1.25).ceil() as usize + 16;
    let mut sh = Shared::new(a.rooms, a.clients, slots, a.edit_len(), a.apply());
    sh.awareness_per_edit = a.awareness;
    sh.same_spot = a.workload == Workload::SameSpot;
    sh.nodes = a.interview_ide.len().max(1);
    sh.room_affinity = a.placement == Placement::Room;
    let urls = client_urls(&a, &sh).await?;
    let sh = Arc::new(sh);

    let (plan_tx, plan_rx) = watch::channel::<Option<Plan>>(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let t0 = Instant::now();
    let ramp_start = t0 + Duration::from_millis(50);
    let mut tasks = Vec::with_capacity(n);
    for (i, url) in urls.iter().enumerate().take(n) {
        let room = i / a.clients;
        let spec = ClientSpec {
            idx: i,
            room,
            url: url.clone(),
            connect_at: ramp_start + Duration::from_secs_f64(i as f64 / a.connect_rate),
            connect_timeout: Duration::from_secs_f64(a.connect_timeout),
            read_buffer: a.read_buffer,
            seed: a.seed,
        };
        tasks.push(tokio::spawn(client::run(
            sh.clone(),
            spec,
            plan_rx.clone(),
            stop_rx.clone(),
        )));
    }
    drop((plan_rx, stop_rx));

    let first = Snap::take(&sh, &a.server_pid);
    let mut mon = Monitor {
        sh: sh.clone(),
        pids: a.server_pid.clone(),
        t0,
        report_every: Duration::from_secs_f64(a.report_every.max(0.0)),
        last_report: first,
        last_sample: first,
        max_rss: 0,
        peak_cpu_1s: 0.0,
        in_window: false,
        server_gone: false,
    };

    // Connect ramp: every attempt finishes (or times out) before editing starts.
    let ramp_end =
        ramp_start + Duration::from_secs_f64(n as f64 / a.connect_rate + a.connect_timeout + 5.0);
    let nn = n as u64;
    mon.wait("connect", ramp_end, |sh| {
        sh.c.connect_done.load(Relaxed) >= nn
    })
    .await;
    let connected = sh.c.connect_ok.load(Relaxed);
    eprintln!(
        "loadgen: {connected}/{n} connected in {:.1} s, {} failed",
        t0.elapsed().as_secs_f64(),
        sh.c.connect_failed.load(Relaxed)
    );
    if connected == 0 {
        let _ = stop_tx.send(true);
        let msgs = sh.error_messages();
        let first = msgs
            .first()
            .map(|(m, _)| m.as_str())
            .unwrap_or("unknown error");
        return Err(format!("no connection succeeded ({first})"));
    }

    let edit_start = Instant::now() + Duration::from_millis(100);
    let measure_start = edit_start + Duration::from_secs_f64(a.warmup);
    let measure_end = measure_start + Duration::from_secs_f64(a.duration);
    let _ = sh.window.set(Window {
        start_ns: sh.ns(measure_start),
        end_ns: sh.ns(measure_end),
    });
    let _ = plan_tx.send(Some(Plan {
        edit_start,
        edit_end: measure_end,
        interval: Duration::from_secs_f64(1.0 / a.rate),
    }));

    mon.wait("warm-up", measure_start, |_| false).await;
    let m0 = server_metrics(&a).await;
    let w0 = Snap::take(&sh, &a.server_pid);
    let watched0 = Watched::take(&a);
    mon.in_window = true;
    mon.last_sample = w0;
    mon.wait("measure", measure_end, |_| false).await;
    let w1 = Snap::take(&sh, &a.server_pid);
    let watched1 = Watched::take(&a);
    let m1 = server_metrics(&a).await;
    mon.in_window = false;
    // Deliveries still in flight count (with their full latency) until the drain ends.
    mon.wait(
        "drain",
        measure_end + Duration::from_secs_f64(a.drain),
        |sh| {
            sh.c.deliveries_received.load(Relaxed) >= sh.c.deliveries_expected.load(Relaxed)
                && sh.c.deliveries_received.load(Relaxed) + sh.c.deliveries_other.load(Relaxed)
                    >= sh.c.deliveries_expected_all.load(Relaxed)
        },
    )
    .await;
    let server_mem = servers_mem(&a.server_pid);
    let m2 = server_metrics(&a).await;
    let iide = match (m0, m1, m2) {
        (Some(m0), Some(m1), Some(m2)) => Some(IideMetrics::from_pages(&m0, &m1, &m2)),
        _ => None,
    };
    if let Some((rss, _)) = server_mem {
        mon.max_rss = mon.max_rss.max(rss);
    }

    let _ = stop_tx.send(true);
    let closing = Instant::now() + Duration::from_secs(10);
    for t in tasks {
        let left = closing.saturating_duration_since(Instant::now());
        let _ = tokio::time::timeout(left, t).await;
    }
    drop(plan_tx);

    let mut report = build_report(
        &a,
        &sh,
        threads,
        (w0, w1),
        (&watched0, &watched1),
        &mon,
        server_mem,
    );
    report.interview_ide_metrics = iide;
    Ok(report)
}

#[derive(Serialize)]
struct Report {
    #[serde(skip)]
    json_out: bool,
    target: String,
    config: Config,
    connections: Connections,
    edits: Edits,
    deliveries: Deliveries,
    latency_ms: Option<Latency>,
    /// With several nodes: deliveries between clients of one node, and across nodes.
    latency_ms_same_node: Option<Latency>,
    latency_ms_cross_node: Option<Latency>,
    errors: Errors,
    loadgen: Loadgen,
    server: Option<Server>,
    /// CPU over the window of the --watch-process processes (e.g. Redis, PostgreSQL).
    watched_processes: Vec<WatchedProcess>,
    machine: Machine,
    traffic: Traffic,
    /// From the server's /metrics, in --interview-ide mode.
    interview_ide_metrics: Option<IideMetrics>,
}

type MetricsPage = std::collections::HashMap<String, f64>;

/// The server's own view of the run: whether storage keeps up with the edits.
#[derive(Serialize)]
struct IideMetrics {
    updates_applied_in_window: u64,
    updates_persisted_in_window: u64,
    /// Applied but not yet stored updates (held in memory; lost in a crash).
    persist_backlog_at_window_end: u64,
    persist_backlog_after_drain: u64,
    resyncs_total: u64,
    closed_for_bad_input_total: u64,
    /// Longest any edit waited to be stored since the server started (ms): the crash window.
    persist_lag_max_ms: u64,
    /// Documents turned into a live yrs Doc during the window (clients' edits need none).
    doc_unpacks_in_window: u64,
    /// Loaded documents held as a live Doc after the drain.
    docs_live_after_drain: u64,
}

impl IideMetrics {
    fn from_pages(m0: &MetricsPage, m1: &MetricsPage, m2: &MetricsPage) -> IideMetrics {
        let g = |m: &MetricsPage, k: &str| m.get(k).copied().unwrap_or(0.0) as u64;
        // Updates stored; servers that store one row per update only report rows.
        let pw = if m0.contains_key("iide_persist_updates_total") {
            "iide_persist_updates_total"
        } else {
            "iide_persist_writes_total"
        };
        let upd = "iide_doc_updates_total";
        IideMetrics {
            updates_applied_in_window: g(m1, upd).saturating_sub(g(m0, upd)),
            updates_persisted_in_window: g(m1, pw).saturating_sub(g(m0, pw)),
            persist_backlog_at_window_end: g(m1, upd).saturating_sub(g(m1, pw)),
            persist_backlog_after_drain: g(m2, upd).saturating_sub(g(m2, pw)),
            resyncs_total: g(m2, "iide_ws_resyncs_total"),
            closed_for_bad_input_total: g(m2, "iide_ws_closed_bad_input_total"),
            persist_lag_max_ms: (m2
                .get("iide_persist_lag_max_seconds")
                .copied()
                .unwrap_or(0.0)
                * 1000.0) as u64,
            doc_unpacks_in_window: g(m1, "iide_doc_unpacks_total")
                .saturating_sub(g(m0, "iide_doc_unpacks_total")),
            docs_live_after_drain: g(m2, "iide_docs_live"),
        }
    }
}

/// The interview-ide /metrics pages, summed over the nodes, when running in --interview-ide
/// mode and every node answers.
async fn server_metrics(a: &RunArgs) -> Option<MetricsPage> {
    let mut sum = MetricsPage::new();
    for base in &a.interview_ide {
        let (authority, prefix) = crate::http::split_base(base).ok()?;
        for (k, v) in crate::http::metrics(&authority, &prefix).await? {
            *sum.entry(k).or_default() += v;
        }
    }
    (!a.interview_ide.is_empty()).then_some(sum)
}

#[derive(Serialize)]
struct Config {
    /// Server nodes the clients were spread over.
    nodes: usize,
    /// How the clients of a room were placed on the nodes.
    placement: Placement,
    rooms: usize,
    clients_per_room: usize,
    edits_per_sec_per_client: f64,
    duration_s: f64,
    warmup_s: f64,
    connect_rate: f64,
    /// Where clients type: `cursor` (each at its own) or `same-spot` (all at the text's end).
    workload: &'static str,
    edit_len: u32,
    receive_mode: &'static str,
    awareness_per_edit: bool,
}

#[derive(Serialize)]
struct Connections {
    attempted: usize,
    connected: u64,
    failed: u64,
    closed_early: u64,
}

#[derive(Serialize)]
struct Edits {
    sent_total: u64,
    sent_measured: u64,
}

#[derive(Serialize)]
struct Deliveries {
    expected: u64,
    received: u64,
    missing: u64,
    per_sec: f64,
    echoes_to_sender: u64,
}

#[derive(Serialize)]
struct Latency {
    p50: f64,
    p95: f64,
    p99: f64,
    p999: f64,
    max: f64,
    mean: f64,
}

impl Latency {
    fn of(h: &hdrhistogram::Histogram<u64>) -> Option<Latency> {
        let ms = |us: u64| us as f64 / 1000.0;
        (!h.is_empty()).then(|| Latency {
            p50: ms(h.value_at_quantile(0.50)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        })
    }

    fn line(&self) -> String {
        format!(
            "p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms  (mean {:.2} ms)",
            self.p50, self.p95, self.p99, self.p999, self.max, self.mean
        )
    }
}

#[derive(Serialize)]
struct Errors {
    total: u64,
    connect: u64,
    closed_early: u64,
    send: u64,
    protocol: u64,
    missing_deliveries: u64,
    /// Rooms whose replicas ended with different texts (apply mode only).
    diverged_rooms: u64,
    schedule_slots_exhausted: u64,
    messages: Vec<(String, u64)>,
}

#[derive(Serialize)]
struct Loadgen {
    threads: usize,
    cpu_percent: f64,
    /// Deliveries that arrived during the window (whenever their edit was sent): the
    /// denominator of the per-delivery CPU figures, measured over the same span as the CPU.
    deliveries_during_window: u64,
    /// The load generator's CPU time (user + system) in the window per delivery, µs.
    cpu_us_per_delivery: Option<f64>,
    user_us_per_delivery: Option<f64>,
    sys_us_per_delivery: Option<f64>,
    /// Share of the window its threads were runnable but waiting for a CPU.
    runqueue_wait_percent: f64,
}

#[derive(Serialize)]
struct Machine {
    /// CPU used by every other process during the window, % of one core; it should be ~0
    /// for clean figures.
    other_processes_cpu_percent: Option<f64>,
    /// Interrupt + softirq time (mostly the loopback TCP traffic itself), % of one core.
    irq_softirq_cpu_percent: Option<f64>,
}

#[derive(Serialize)]
struct WatchedProcess {
    name: String,
    processes: usize,
    cpu_percent: f64,
}

#[derive(Serialize)]
struct Server {
    pids: Vec<u32>,
    /// Summed over the servers, % of one core.
    cpu_percent: Option<f64>,
    /// Each server's share, in the order of --server-pid.
    cpu_percent_each: Vec<Option<f64>>,
    cpu_peak_1s_percent: f64,
    runqueue_wait_percent: Option<f64>,
    peak_rss_mb: Option<f64>,
    max_sampled_rss_mb: f64,
}

#[derive(Serialize)]
struct Traffic {
    frames_in: u64,
    frames_out: u64,
    bytes_in: u64,
    bytes_out: u64,
    /// Socket reads that returned data, over the whole run (handshakes included).
    tcp_reads: u64,
    /// Socket writes, over the whole run (handshakes included).
    tcp_writes: u64,
    /// Above 1: the server packs several frames into one TCP write.
    frames_in_per_tcp_read: Option<f64>,
}

fn build_report(
    a: &RunArgs,
    sh: &Shared,
    threads: usize,
    (w0, w1): (Snap, Snap),
    (watched0, watched1): (&Watched, &Watched),
    mon: &Monitor,
    server_mem: Option<(u64, u64)>,
) -> Report {
    let c = &sh.c;
    let ld = |x: &std::sync::atomic::AtomicU64| x.load(Relaxed);
    let expected = ld(&c.deliveries_expected);
    let received = ld(&c.deliveries_received);
    let missing = expected.saturating_sub(received);
    let wall = w1.at - w0.at;
    let diverged = if a.apply() { diverged_rooms(sh) } else { 0 };
    let (latency, same_node, cross_node) = {
        let h = sh.hists.lock();
        (
            Latency::of(&h.total),
            Latency::of(&h.same_node),
            Latency::of(&h.cross_node),
        )
    };
    let watched: Vec<WatchedProcess> = a
        .watch_process
        .iter()
        .zip(watched0.by_name.iter().zip(&watched1.by_name))
        .map(|(name, (x, y))| WatchedProcess {
            name: name.clone(),
            processes: y.len(),
            cpu_percent: procstat::pct(procstat::cpu_between(x, y), wall),
        })
        .collect();
    let watched_cpu: f64 = watched.iter().map(|w| w.cpu_percent).sum();
    let errors = Errors {
        connect: ld(&c.connect_failed),
        closed_early: ld(&c.closed_early),
        send: ld(&c.send_errors),
        protocol: ld(&c.protocol_errors),
        missing_deliveries: missing,
        diverged_rooms: diverged,
        schedule_slots_exhausted: ld(&c.slots_exhausted),
        // Send failures also end their connection, so they are inside closed_early.
        total: ld(&c.connect_failed)
            + ld(&c.closed_early)
            + ld(&c.protocol_errors)
            + missing
            + diverged,
        messages: sh.error_messages(),
    };
    let delivered_in_window = w1.delivered.saturating_sub(w0.delivered);
    let per_delivery = |cpu: Duration| {
        (delivered_in_window > 0).then(|| cpu.as_secs_f64() * 1e6 / delivered_in_window as f64)
    };
    let server = (!a.server_pid.is_empty()).then(|| Server {
        pids: a.server_pid.clone(),
        cpu_percent: match (w0.server_cpu, w1.server_cpu) {
            (Some(x), Some(y)) => Some(procstat::pct(y.saturating_sub(x), wall)),
            _ => None,
        },
        cpu_percent_each: watched0
            .per_server
            .iter()
            .zip(&watched1.per_server)
            .map(|(x, y)| {
                Some(procstat::pct(
                    y.as_ref()?.saturating_sub(*x.as_ref()?),
                    wall,
                ))
            })
            .collect(),
        cpu_peak_1s_percent: mon.peak_cpu_1s,
        runqueue_wait_percent: match (w0.server_wait, w1.server_wait) {
            (Some(x), Some(y)) => Some(procstat::pct(y.saturating_sub(x), wall)),
            _ => None,
        },
        peak_rss_mb: server_mem.map(|(_, hwm)| hwm as f64 / 1e6),
        max_sampled_rss_mb: mon.max_rss as f64 / 1e6,
    });
    Report {
        json_out: a.json,
        target: a.url.clone().unwrap_or_else(|| a.interview_ide.join(",")),
        config: Config {
            nodes: sh.nodes,
            placement: a.placement,
            rooms: a.rooms,
            clients_per_room: a.clients,
            edits_per_sec_per_client: a.rate,
            duration_s: a.duration,
            warmup_s: a.warmup,
            connect_rate: a.connect_rate,
            workload: a.workload.name(),
            edit_len: a.edit_len(),
            receive_mode: if a.apply() { "apply" } else { "decode" },
            awareness_per_edit: a.awareness,
        },
        connections: Connections {
            attempted: a.rooms * a.clients,
            connected: ld(&c.connect_ok),
            failed: ld(&c.connect_failed),
            closed_early: ld(&c.closed_early),
        },
        edits: Edits {
            sent_total: ld(&c.edits_sent),
            sent_measured: ld(&c.edits_sent_window),
        },
        deliveries: Deliveries {
            expected,
            received,
            missing,
            per_sec: received as f64 / a.duration,
            echoes_to_sender: ld(&c.echoes),
        },
        latency_ms: latency,
        latency_ms_same_node: same_node,
        latency_ms_cross_node: cross_node,
        errors,
        loadgen: Loadgen {
            threads,
            cpu_percent: procstat::pct(w1.self_cpu.saturating_sub(w0.self_cpu), wall),
            deliveries_during_window: w1.delivered.saturating_sub(w0.delivered),
            cpu_us_per_delivery: per_delivery(w1.self_cpu.saturating_sub(w0.self_cpu)),
            user_us_per_delivery: per_delivery(
                (w1.self_cpu.saturating_sub(w1.self_sys))
                    .saturating_sub(w0.self_cpu.saturating_sub(w0.self_sys)),
            ),
            sys_us_per_delivery: per_delivery(w1.self_sys.saturating_sub(w0.self_sys)),
            runqueue_wait_percent: procstat::pct(w1.self_wait.saturating_sub(w0.self_wait), wall),
        },
        server,
        watched_processes: watched,
        interview_ide_metrics: None,
        machine: Machine {
            // The watched processes (Redis, PostgreSQL) are part of the system under test.
            other_processes_cpu_percent: other_cpu(&w0, &w1).map(|o| (o - watched_cpu).max(0.0)),
            irq_softirq_cpu_percent: irq_cpu(&w0, &w1),
        },
        traffic: Traffic {
            frames_in: ld(&c.frames_in),
            frames_out: ld(&c.frames_out),
            bytes_in: ld(&c.bytes_in),
            bytes_out: ld(&c.bytes_out),
            tcp_reads: ld(&c.tcp_reads),
            tcp_writes: ld(&c.tcp_writes),
            frames_in_per_tcp_read: (ld(&c.tcp_reads) > 0)
                .then(|| ld(&c.frames_in) as f64 / ld(&c.tcp_reads) as f64),
        },
    }
}

/// Rooms where two clients that stayed connected to the end hold different texts.
fn diverged_rooms(sh: &Shared) -> u64 {
    let digests: Vec<u64> = sh.digests.iter().map(|d| d.load(Relaxed)).collect();
    digests
        .chunks(sh.clients_per_room)
        .filter(|room| {
            let mut done = room.iter().filter(|&&d| d != 0);
            let first = done.next();
            first.is_some_and(|f| done.any(|d| d != f))
        })
        .count() as u64
}

fn print_text(r: &Report) {
    let c = &r.config;
    println!("target        {}", r.target);
    if c.nodes > 1 {
        let how = match c.placement {
            Placement::Split => "the clients of a room take the nodes in turn",
            Placement::Room => "all clients of a room on one node, rooms taking the nodes in turn",
        };
        println!("placement     {} nodes: {how}", c.nodes);
    }
    println!(
        "config        {} rooms x {} clients, {} edits/s per client, {} s measured after {} s warm-up, \
         connect ramp {}/s, {}-char edits, workload {}, receive mode {}",
        c.rooms,
        c.clients_per_room,
        c.edits_per_sec_per_client,
        c.duration_s,
        c.warmup_s,
        c.connect_rate,
        c.edit_len,
        c.workload,
        c.receive_mode
    );
    let k = &r.connections;
    println!(
        "connections   {} attempted, {} connected, {} failed, {} closed early",
        k.attempted, k.connected, k.failed, k.closed_early
    );
    println!(
        "edits         {} sent in the window ({} in total)",
        r.edits.sent_measured, r.edits.sent_total
    );
    let d = &r.deliveries;
    println!(
        "deliveries    {} expected, {} received, {} missing; throughput {:.0} deliveries/s",
        d.expected, d.received, d.missing, d.per_sec
    );
    if d.echoes_to_sender > 0 {
        println!(
            "              ({} updates were echoed back to their sender)",
            d.echoes_to_sender
        );
    }
    match &r.latency_ms {
        Some(l) => println!("latency       {}", l.line()),
        None => println!("latency       no deliveries"),
    }
    if let Some(l) = &r.latency_ms_same_node {
        println!("  same node   {}", l.line());
    }
    if let Some(l) = &r.latency_ms_cross_node {
        println!("  cross node  {}", l.line());
    }
    let e = &r.errors;
    println!(
        "errors        {} (connect {}, closed early {} incl. {} send failures, protocol {}, missing deliveries {}{})",
        e.total,
        e.connect,
        e.closed_early,
        e.send,
        e.protocol,
        e.missing_deliveries,
        if c.receive_mode == "apply" {
            format!(", diverged rooms {}", e.diverged_rooms)
        } else {
            String::new()
        }
    );
    for (m, n) in e.messages.iter().take(10) {
        println!("                {n} x {m}");
    }
    if e.schedule_slots_exhausted > 0 {
        println!(
            "warning       {} clients fell far behind their edit schedule",
            e.schedule_slots_exhausted
        );
    }
    println!(
        "loadgen       CPU {:.1} % of one core over the window ({} thread(s)); waited for a CPU {:.1} % of the time",
        r.loadgen.cpu_percent, r.loadgen.threads, r.loadgen.runqueue_wait_percent
    );
    let l = &r.loadgen;
    match (
        l.cpu_us_per_delivery,
        l.user_us_per_delivery,
        l.sys_us_per_delivery,
    ) {
        (Some(cpu), Some(user), Some(sys)) => println!(
            "              CPU per delivered edit {cpu:.2} µs (user {user:.2} + sys {sys:.2}), over the {} deliveries during the window",
            l.deliveries_during_window
        ),
        _ => println!("              CPU per delivered edit: no deliveries during the window"),
    }
    if let Some(s) = &r.server {
        let cpu = s
            .cpu_percent
            .map(|v| format!("{v:.1} %"))
            .unwrap_or_else(|| "n/a".into());
        let hwm = s
            .peak_rss_mb
            .map(|v| format!("{v:.1} MB"))
            .unwrap_or_else(|| "n/a".into());
        let pids: Vec<String> = s.pids.iter().map(|p| p.to_string()).collect();
        println!(
            "server        pid {}: CPU {cpu} over the window (peak 1 s: {:.0} %), peak RSS {hwm} (VmHWM; max sampled VmRSS {:.1} MB)",
            pids.join("+"),
            s.cpu_peak_1s_percent,
            s.max_sampled_rss_mb
        );
        if s.pids.len() > 1 {
            let each: Vec<String> = s
                .cpu_percent_each
                .iter()
                .map(|c| {
                    c.map(|v| format!("{v:.1} %"))
                        .unwrap_or_else(|| "n/a".into())
                })
                .collect();
            println!("              CPU per node: {}", each.join(", "));
        }
        if let Some(w) = s.runqueue_wait_percent {
            println!("              server threads waited for a CPU {w:.1} % of the window");
        }
    }
    for w in &r.watched_processes {
        println!(
            "watched       {}: CPU {:.1} % of a core over the window ({} processes)",
            w.name, w.cpu_percent, w.processes
        );
    }
    if let Some(o) = r.machine.other_processes_cpu_percent {
        let irq = r.machine.irq_softirq_cpu_percent.unwrap_or(0.0);
        println!(
            "machine       other processes used {o:.1} % of a core during the window (irq/softirq, mostly loopback TCP: {irq:.1} %)"
        );
        if o > 10.0 {
            println!(
                "warning       the machine was not quiet: these figures are not clean, run again"
            );
        }
    }
    if let Some(m) = &r.interview_ide_metrics {
        println!(
            "server says   {} updates applied and {} stored during the window; {} applied but not yet stored at its end ({} after the drain); longest wait to be stored {} ms; {} resyncs, {} connections closed for bad input; {} documents unpacked into a live Doc during the window, {} live after the drain",
            m.updates_applied_in_window,
            m.updates_persisted_in_window,
            m.persist_backlog_at_window_end,
            m.persist_backlog_after_drain,
            m.persist_lag_max_ms,
            m.resyncs_total,
            m.closed_for_bad_input_total,
            m.doc_unpacks_in_window,
            m.docs_live_after_drain
        );
    }
    let t = &r.traffic;
    println!(
        "traffic       {} frames in ({:.1} MB) over {} socket reads ({} frames per read), {} frames out ({:.1} MB) over {} socket writes",
        t.frames_in,
        t.bytes_in as f64 / 1e6,
        t.tcp_reads,
        t.frames_in_per_tcp_read
            .map(|v| format!("{v:.2}"))
            .unwrap_or_else(|| "n/a".into()),
        t.frames_out,
        t.bytes_out as f64 / 1e6,
        t.tcp_writes
    );
}
