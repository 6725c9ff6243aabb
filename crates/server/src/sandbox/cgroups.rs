//! Limit groups (cgroups) for sandboxes: memory (swap off), processes and CPU, on the unified
//! hierarchy (cgroup v2: every current distribution, Docker and Kubernetes) or the legacy one
//! (v1), and the accounting a run's exit line reports.
//!
//! v2: the server works inside the cgroup it was started in, which must be delegated to it
//! (systemd `Delegate=yes`, or a container with a cgroup namespace of its own): it moves its own
//! processes into a leaf `server` (v2 allows processes only in leaves once controllers are on
//! for children), enables memory, pids and cpu below, and makes each sandbox's group under
//! `sandboxes/`. v1: groups under `interview-ide/` of each controller's hierarchy.
//!
//! Where neither works, `init` says why, and no sandbox starts (`group`) unless the operator
//! allowed unlimited sandboxes (a laptop demo).

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What one group may use.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    pub memory_bytes: u64,
    pub processes: u64,
    /// Share of one CPU core, in percent (200: two cores).
    pub cpu_percent: u64,
}

const V1_CONTROLLERS: [&str; 4] = ["memory", "pids", "cpu", "cpuacct"];
const CPU_PERIOD_US: u64 = 100_000;

#[derive(Debug)]
enum Hierarchy {
    /// The folder under which each group is made.
    V2(PathBuf),
    V1,
}

static HIERARCHY: OnceLock<Result<Hierarchy, String>> = OnceLock::new();
static ALLOW_UNLIMITED: AtomicBool = AtomicBool::new(false);

/// How sandboxes are limited here, for the start-up log and `/readyz`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Status {
    /// `v2`, `v1` or `none`.
    pub cgroups: String,
    /// Why there are none, when there are none.
    pub problem: Option<String>,
    /// Whether sandboxes start without limits (only when the operator allowed it).
    pub unlimited_allowed: bool,
}

/// Finds and prepares the hierarchy (once); `allow_unlimited` lets sandboxes start without one.
pub fn init(allow_unlimited: bool) -> Status {
    ALLOW_UNLIMITED.store(allow_unlimited, Ordering::SeqCst);
    let s = status();
    match &s.problem {
        None => {
            tracing::info!(cgroups = %s.cgroups, "sandbox limits: memory, processes and CPU enforced by cgroups")
        }
        Some(p) if allow_unlimited => {
            tracing::warn!(problem = %p, "sandbox limits are NOT enforced (ALLOW_UNLIMITED_SANDBOXES is set): one candidate can exhaust this host")
        }
        Some(p) => {
            tracing::error!(problem = %p, "sandbox limits cannot be enforced: candidate code will not run (set ALLOW_UNLIMITED_SANDBOXES=1 only for a demo)")
        }
    }
    s
}

pub fn status() -> Status {
    let unlimited_allowed = ALLOW_UNLIMITED.load(Ordering::SeqCst);
    match hierarchy() {
        Ok(Hierarchy::V2(_)) => Status {
            cgroups: "v2".into(),
            problem: None,
            unlimited_allowed,
        },
        Ok(Hierarchy::V1) => Status {
            cgroups: "v1".into(),
            problem: None,
            unlimited_allowed,
        },
        Err(e) => Status {
            cgroups: "none".into(),
            problem: Some(e.clone()),
            unlimited_allowed,
        },
    }
}

fn hierarchy() -> &'static Result<Hierarchy, String> {
    HIERARCHY.get_or_init(|| {
        let h = detect();
        if let Ok(h) = &h {
            remove_stale(h);
        }
        h
    })
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn detect() -> Result<Hierarchy, String> {
    let sys = Path::new("/sys/fs/cgroup");
    if sys.join("cgroup.controllers").exists() {
        return prepare_v2(sys);
    }
    if sys.join("memory").is_dir() && sys.join("pids").is_dir() {
        for c in V1_CONTROLLERS {
            std::fs::create_dir_all(sys.join(c).join("interview-ide")).map_err(|e| format!("cgroup v1: cannot create a group under /sys/fs/cgroup/{c} ({e}); run the server as root with a writable cgroup tree"))?;
        }
        return Ok(Hierarchy::V1);
    }
    Err("no cgroup hierarchy with memory and pids controllers is mounted at /sys/fs/cgroup".into())
}

/// The server's own cgroup (from /proc/self/cgroup), delegated to it, prepared for children.
fn prepare_v2(sys: &Path) -> Result<Hierarchy, String> {
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
    let rel = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or("cgroup v2: /proc/self/cgroup has no unified entry")?;
    let mut dir = sys.join(rel.trim_start_matches('/'));
    // Restarted inside the leaf it made last time: work from its parent again.
    if dir.file_name().is_some_and(|n| n == "server")
        && dir.parent().is_some_and(|p| p.join("sandboxes").is_dir())
    {
        dir = dir.parent().map(Path::to_path_buf).unwrap_or(dir);
    }
    let available = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let missing: Vec<&str> = ["memory", "pids", "cpu"]
        .into_iter()
        .filter(|c| !available.split_whitespace().any(|a| a == *c))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "cgroup v2: the server's cgroup {} lacks the {} controller(s); delegate them (systemd: Delegate=yes, see deploy/interview-ide.service; Docker: --cgroupns=private)",
            dir.display(),
            missing.join(", ")
        ));
    }
    let enable = "+memory +pids +cpu";
    // Processes may live only in leaves once children have controllers: move ours (and any
    // other process of this cgroup, e.g. a container's init) into a leaf of their own. (Inside
    // a container's cgroup namespace its cgroup looks like the root but obeys that rule too.)
    let leaf = dir.join("server");
    std::fs::create_dir_all(&leaf).map_err(|e| {
        format!(
            "cgroup v2: cannot create {} ({e}): is the cgroup delegated to the server?",
            leaf.display()
        )
    })?;
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    for pid in procs.lines().filter(|p| !p.trim().is_empty()) {
        let _ = std::fs::write(leaf.join("cgroup.procs"), pid);
    }
    write(&dir.join("cgroup.subtree_control"), enable)?;
    let base = dir.join("sandboxes");
    std::fs::create_dir_all(&base)
        .map_err(|e| format!("cgroup v2: cannot create {} ({e})", base.display()))?;
    write(&base.join("cgroup.subtree_control"), enable)?;
    Ok(Hierarchy::V2(base))
}

/// Groups left empty by an earlier run that stopped without cleaning up. Only empty ones, five
/// minutes old or more: on v1 the tree is shared by every server on the host (cluster nodes side
/// by side), and a crashed server's sandboxes die with it (bubblewrap's --die-with-parent).
fn remove_stale(h: &Hierarchy) {
    // Only old ones: another server sharing the tree (a cluster node on the same host, a test
    // beside this one) may have just made a group it is about to start a process in.
    let old = |dir: &PathBuf| {
        std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(300)))
    };
    for dir in groups_under(h).into_iter().filter(old) {
        let _ = std::fs::remove_dir(dir);
    }
}

fn groups_under(h: &Hierarchy) -> Vec<PathBuf> {
    let bases: Vec<PathBuf> = match h {
        Hierarchy::V2(base) => vec![base.clone()],
        Hierarchy::V1 => V1_CONTROLLERS
            .iter()
            .map(|c| PathBuf::from(format!("/sys/fs/cgroup/{c}/interview-ide")))
            .collect(),
    };
    bases
        .iter()
        .filter_map(|b| std::fs::read_dir(b).ok())
        .flat_map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One sandbox's limit group (in one or several hierarchies).
#[derive(Debug)]
pub struct Group {
    name: String,
    dirs: Vec<PathBuf>,
    v2: bool,
}

/// What a group measured.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub peak_memory: Option<u64>,
    pub cpu_ns: Option<u64>,
    pub oom_kills: u64,
    pub pids_refused: u64,
}

/// A limit group named `name` (letters, digits, `-`), made fresh. `Ok(None)`: the host has no
/// cgroups and the operator allowed unlimited sandboxes. `Err`: the sandbox must not start.
pub fn group(name: &str, limits: &Limits) -> Result<Option<Group>, String> {
    match hierarchy() {
        Ok(h) => Group::create(h, name, limits).map(Some),
        Err(_) if ALLOW_UNLIMITED.load(Ordering::SeqCst) => Ok(None),
        Err(e) => Err(format!(
            "this server cannot limit memory and processes, so it runs no candidate code ({e})"
        )),
    }
}

impl Group {
    fn create(h: &Hierarchy, name: &str, limits: &Limits) -> Result<Group, String> {
        debug_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        let quota = (limits.cpu_percent.max(1) * CPU_PERIOD_US / 100).to_string();
        let g = match h {
            Hierarchy::V2(base) => {
                let dir = base.join(name);
                // A leftover of the same name (a crash) goes first, with whatever ran in it.
                kill_and_remove_now(std::slice::from_ref(&dir));
                std::fs::create_dir(&dir)
                    .map_err(|e| format!("cannot create cgroup {}: {e}", dir.display()))?;
                let g = Group {
                    name: name.into(),
                    dirs: vec![dir.clone()],
                    v2: true,
                };
                write(&dir.join("memory.max"), &limits.memory_bytes.to_string())?;
                // No swap: a memory hog is stopped at the limit, not paged out at the host's cost.
                let _ = std::fs::write(dir.join("memory.swap.max"), "0");
                write(&dir.join("pids.max"), &limits.processes.to_string())?;
                write(&dir.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}"))?;
                g
            }
            Hierarchy::V1 => {
                let dirs: Vec<PathBuf> = V1_CONTROLLERS
                    .iter()
                    .map(|c| PathBuf::from(format!("/sys/fs/cgroup/{c}/interview-ide/{name}")))
                    .collect();
                kill_and_remove_now(&dirs);
                for d in &dirs {
                    std::fs::create_dir_all(d)
                        .map_err(|e| format!("cannot create cgroup {}: {e}", d.display()))?;
                }
                let g = Group {
                    name: name.into(),
                    dirs: dirs.clone(),
                    v2: false,
                };
                write(
                    &dirs[0].join("memory.limit_in_bytes"),
                    &limits.memory_bytes.to_string(),
                )?;
                let _ = std::fs::write(dirs[0].join("memory.swappiness"), "0");
                write(&dirs[1].join("pids.max"), &limits.processes.to_string())?;
                write(
                    &dirs[2].join("cpu.cfs_period_us"),
                    &CPU_PERIOD_US.to_string(),
                )?;
                write(&dirs[2].join("cpu.cfs_quota_us"), &quota)?;
                g
            }
        };
        Ok(g)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `cgroup.procs` files a new process writes its pid to.
    pub fn procs_files(&self) -> Vec<CString> {
        self.dirs
            .iter()
            .filter_map(|d| {
                CString::new(d.join("cgroup.procs").as_os_str().as_encoded_bytes()).ok()
            })
            .collect()
    }

    fn read(&self, v2_file: &str, v1: (usize, &str)) -> Option<String> {
        let path = if self.v2 {
            self.dirs[0].join(v2_file)
        } else {
            self.dirs[v1.0].join(v1.1)
        };
        std::fs::read_to_string(path).ok()
    }

    pub fn stats(&self) -> Stats {
        let field = |text: Option<String>, name: &str| {
            text.and_then(|t| {
                t.lines().find_map(|l| {
                    l.strip_prefix(name)
                        .and_then(|v| v.trim().parse::<u64>().ok())
                })
            })
        };
        let number = |text: Option<String>| text.and_then(|t| t.trim().parse::<u64>().ok());
        Stats {
            // memory.peak needs Linux 5.19; older v2 kernels report no peak.
            peak_memory: number(self.read("memory.peak", (0, "memory.max_usage_in_bytes"))),
            cpu_ns: if self.v2 {
                field(self.read("cpu.stat", (3, "")), "usage_usec ").map(|us| us * 1000)
            } else {
                number(self.read("", (3, "cpuacct.usage")))
            },
            oom_kills: field(
                self.read("memory.events", (0, "memory.oom_control")),
                "oom_kill ",
            )
            .unwrap_or(0),
            pids_refused: field(self.read("pids.events", (1, "pids.events")), "max ").unwrap_or(0),
        }
    }

    /// Kills whatever still runs in the group and removes it (retrying while the kernel
    /// finishes the processes off).
    pub async fn remove(self) {
        for _ in 0..150 {
            if kill_and_remove_now(&self.dirs) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tracing::warn!(group = %self.name, "a sandbox's cgroup could not be removed: processes in it did not exit");
    }
}

/// One attempt: SIGKILL to every process in `dirs`, then rmdir them. True when all are gone.
fn kill_and_remove_now(dirs: &[PathBuf]) -> bool {
    let mut gone = true;
    for d in dirs {
        if !d.exists() {
            continue;
        }
        // v2 (5.14+) kills the whole group at once; otherwise one pid at a time.
        if std::fs::write(d.join("cgroup.kill"), "1").is_err() {
            for pid in std::fs::read_to_string(d.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|p| p.trim().parse::<i32>().ok())
            {
                // SAFETY: a plain kill(2).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        if std::fs::remove_dir(d).is_err() && d.exists() {
            gone = false;
        }
    }
    gone
}

/// Every group of the sessions' and runs' still present (for tests and `/metrics`).
pub fn live_groups() -> Vec<String> {
    match hierarchy() {
        Ok(h) => {
            let mut names: Vec<String> = groups_under(h)
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            names.sort();
            names.dedup();
            names
        }
        Err(_) => vec![],
    }
}

/// Removes every group whose name starts with `prefix` (a session's, when it stops).
pub async fn remove_all(prefix: &str) {
    let Ok(h) = hierarchy() else { return };
    let names: Vec<String> = live_groups()
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    for name in names {
        let dirs: Vec<PathBuf> = match h {
            Hierarchy::V2(base) => vec![base.join(&name)],
            Hierarchy::V1 => V1_CONTROLLERS
                .iter()
                .map(|c| PathBuf::from(format!("/sys/fs/cgroup/{c}/interview-ide/{name}")))
                .collect(),
        };
        Group {
            name,
            dirs,
            v2: matches!(h, Hierarchy::V2(_)),
        }
        .remove()
        .await;
    }
}
