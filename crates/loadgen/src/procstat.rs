//! CPU and memory readings for this process and for the server under test (Linux /proc).

use std::time::Duration;

/// CPU time consumed by this process so far: (user, system).
pub fn self_cpu_split() -> (Duration, Duration) {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (Duration::ZERO, Duration::ZERO);
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

/// CPU time (user + system, all threads) consumed by process `pid`, from /proc/PID/stat.
pub fn pid_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: fields are counted from
    // the last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    let ticks = utime + stime;
    Some(Duration::from_nanos(ticks * 1_000_000_000 / hz))
}

/// Memory of process `pid` in bytes: (current VmRSS, peak VmHWM), from /proc/PID/status.
pub fn pid_mem(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU percentage of one core for `cpu` consumed over `wall`.
pub fn pct(cpu: Duration, wall: Duration) -> f64 {
    if wall.is_zero() {
        return 0.0;
    }
    cpu.as_secs_f64() * 100.0 / wall.as_secs_f64()
}

/// Time the threads of process `pid` spent runnable but waiting for a CPU (sum of the second
/// field of /proc/PID/task/*/schedstat). High values mean something else shared the core.
pub fn pid_run_delay(pid: u32) -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        if let Ok(s) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += s
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Some(Duration::from_nanos(total))
}

/// CPU time used on the whole machine, from /proc/stat: (time charged to processes, i.e.
/// user + nice + system + steal; interrupt and softirq time, mostly loopback networking,
/// which the kernel charges to no process).
pub fn machine_busy() -> Option<(Duration, Duration)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // Fields: user nice system idle iowait irq softirq steal (guest time is inside user).
    let procs = v.first()? + v.get(1)? + v.get(2)? + v.get(7).unwrap_or(&0);
    let irq = v.get(5)? + v.get(6)?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    let d = |t: u64| Duration::from_nanos(t * 1_000_000_000 / hz);
    Some((d(procs), d(irq)))
}

/// CPU time used so far by every live process whose command name is `comm` (e.g.
/// `redis-server`, `postgres`), by pid. Compare two readings with `cpu_between`.
pub fn comm_cpu(comm: &str) -> std::collections::HashMap<u32, Duration> {
    let mut by_pid = std::collections::HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return by_pid;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(name) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        if name.trim_end() == comm
            && let Some(cpu) = pid_cpu(pid)
        {
            by_pid.insert(pid, cpu);
        }
    }
    by_pid
}

/// CPU time the processes alive at the second reading used since the first (all of it for one
/// that started in between). A process that exited in between takes its share with it, so
/// summing totals instead would go down when, say, a pooled database connection closes.
pub fn cpu_between(
    before: &std::collections::HashMap<u32, Duration>,
    after: &std::collections::HashMap<u32, Duration>,
) -> Duration {
    after
        .iter()
        .map(|(pid, t)| t.saturating_sub(before.get(pid).copied().unwrap_or_default()))
        .sum()
}
