//! `loadgen startup`: spawn a server N times and time spawn -> readiness URL answering 200.

use serde::Serialize;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct StartupArgs {
    /// Readiness URL polled every millisecond, e.g. http://127.0.0.1:18080/readyz
    #[arg(long)]
    ready_url: String,
    /// Number of starts.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Seconds one start may take before it counts as failed.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Keep the server's output (default: discarded).
    #[arg(long)]
    show_output: bool,
    /// Server command line; every `{tmp}` becomes a fresh empty directory for that start
    /// (e.g. `--database-url sqlite://{tmp}/db.sqlite` for a fresh database each time).
    #[arg(trailing_var_arg = true, required = true, num_args = 1..)]
    command: Vec<String>,
}

#[derive(Serialize)]
struct Summary {
    runs: usize,
    ok: usize,
    median_ms: f64,
    p95_ms: f64,
    min_ms: f64,
    max_ms: f64,
    all_ms: Vec<f64>,
}

pub fn main(a: StartupArgs) -> i32 {
    let (authority, path) = match a.ready_url.strip_prefix("http://").and_then(|r| {
        let i = r.find('/')?;
        Some((r[..i].to_string(), r[i..].to_string()))
    }) {
        Some(x) => x,
        None => {
            eprintln!("loadgen: --ready-url must look like http://host:port/path");
            return 1;
        }
    };
    let mut times = Vec::new();
    for i in 0..a.runs {
        let tmp = std::env::temp_dir().join(format!("loadgen-startup-{}-{i}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&tmp) {
            eprintln!("loadgen: cannot create {}: {e}", tmp.display());
            return 1;
        }
        let argv: Vec<String> = a
            .command
            .iter()
            .map(|s| s.replace("{tmp}", &tmp.to_string_lossy()))
            .collect();
        let result = one_start(
            &argv,
            &authority,
            &path,
            Duration::from_secs_f64(a.timeout),
            a.show_output,
        );
        let _ = std::fs::remove_dir_all(&tmp);
        match result {
            Ok(t) => {
                eprintln!(
                    "start {:>2}: ready in {:.1} ms",
                    i + 1,
                    t.as_secs_f64() * 1000.0
                );
                times.push(t.as_secs_f64() * 1000.0);
            }
            Err(e) => eprintln!("start {:>2}: FAILED: {e}", i + 1),
        }
    }
    if times.is_empty() {
        eprintln!("loadgen: no start succeeded");
        return 1;
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    let median = if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    };
    let s = Summary {
        runs: a.runs,
        ok: times.len(),
        median_ms: median,
        p95_ms: q(0.95),
        min_ms: sorted[0],
        max_ms: sorted[sorted.len() - 1],
        all_ms: times,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
    } else {
        println!(
            "start to ready: {} of {} starts, median {:.1} ms, p95 {:.1} ms (min {:.1}, max {:.1})",
            s.ok, s.runs, s.median_ms, s.p95_ms, s.min_ms, s.max_ms
        );
    }
    if s.ok == s.runs { 0 } else { 2 }
}

fn one_start(
    argv: &[String],
    authority: &str,
    path: &str,
    timeout: Duration,
    show: bool,
) -> Result<Duration, String> {
    let (prog, args) = argv.split_first().ok_or("empty command")?;
    let mut cmd = Command::new(prog);
    cmd.args(args).stdin(Stdio::null());
    if !show {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn {prog}: {e}"))?;
    let result = poll_ready(&mut child, authority, path, started, timeout);
    stop(&mut child);
    result
}

fn poll_ready(
    child: &mut Child,
    authority: &str,
    path: &str,
    started: Instant,
    timeout: Duration,
) -> Result<Duration, String> {
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("resolve {authority}: {e}"))?
        .next()
        .ok_or("no address")?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    let mut last = String::from("never answered");
    while started.elapsed() < timeout {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("server exited before it was ready ({status})"));
        }
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            let _ = s.set_nodelay(true);
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            if s.write_all(req.as_bytes()).is_ok() {
                let mut buf = [0u8; 64];
                let n = s.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                if head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200") {
                    return Ok(started.elapsed());
                }
                last = head.lines().next().unwrap_or("").to_string();
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Err(format!("not ready after {timeout:?} (last answer: {last})"))
}

/// SIGTERM, then SIGKILL after 5 s.
fn stop(child: &mut Child) {
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}
