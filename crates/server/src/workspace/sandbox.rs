//! The sandbox every process of a workspace runs in (the app, the terminal's shell, code-server):
//! bubblewrap with every namespace unshared (so no network but its own loopback, its own process
//! tree), a read-only system, the workspace as the only writable folder, an unprivileged user of
//! its own per session, and bounded memory, processes and CPU (cgroups when the host lets us,
//! resource limits otherwise).

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Where things are inside the sandbox.
pub const WORKSPACE: &str = "/workspace";
/// The sandbox's runtime folder (Unix sockets: the app's, code-server's, the platform's proxy).
pub const RUNTIME: &str = "/run/iide";
/// Read-only files the platform writes for the sandbox (passwd, shell profile, forwarder).
pub const CONF: &str = "/etc/iide";
pub const HOME: &str = "/home/candidate";
pub const APP_SOCKET: &str = "/run/iide/app.sock";
pub const PROXY_SOCKET: &str = "/run/iide/proxy.sock";
pub const CODE_SERVER_SOCKET: &str = "/run/iide/code.sock";
/// The port the candidate uses to reach the app from inside the sandbox (forwarded to the proxy).
pub const APP_PORT: u16 = 8000;

/// System files the sandbox may read. Everything else under /etc (service configs, other users)
/// stays invisible.
const ETC_FILES: &[&str] = &[
    "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "ssl",
    "ca-certificates", "bash.bashrc", "inputrc", "mime.types", "profile", "terminfo", "host.conf", "gai.conf",
    "protocols", "services", "magic", "magic.mime", "debian_version", "os-release",
];

/// bubblewrap arguments that show the system read-only: /usr, the /bin-style links into it, and
/// the readable /etc files (`ETC_FILES` and `extra_etc`, those that exist).
pub fn system_binds(extra_etc: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let mut push = |xs: &[&str]| a.extend(xs.iter().map(|s| s.to_string()));
    push(&["--ro-bind", "/usr", "/usr"]);
    for link in ["bin", "lib", "lib64", "sbin"] {
        let target = format!("/{link}");
        match std::fs::read_link(&target) {
            Ok(to) => push(&["--symlink", &to.to_string_lossy(), &target]),
            Err(_) if Path::new(&target).is_dir() => push(&["--ro-bind", &target, &target]),
            Err(_) => {}
        }
    }
    for name in ETC_FILES.iter().chain(extra_etc) {
        let p = format!("/etc/{name}");
        if Path::new(&p).exists() {
            push(&["--ro-bind", &p, &p]);
        }
    }
    a
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub memory_bytes: u64,
    pub max_processes: u64,
    /// Share of one CPU core, in percent.
    pub cpu_percent: u64,
}

/// One session's sandbox: its folders on the host and its user.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub session_id: String,
    pub uid: u32,
    /// The workspace on the host (mounted read-write at /workspace).
    pub workspace: PathBuf,
    /// Sockets (mounted read-write at /run/iide).
    pub runtime: PathBuf,
    /// Platform-written config (mounted read-only at /etc/iide).
    pub conf: PathBuf,
    /// Read-only tools shared by every sandbox (the exercises' environments, code-server).
    pub tools_dir: PathBuf,
    /// The exercise's PATH entries, before the system's (from its `[runtime]`).
    pub path: Vec<String>,
    /// The exercise's environment variables (from its `[runtime]`).
    pub env: Vec<(String, String)>,
    /// What the terminal prints when it opens.
    pub greeting: String,
    pub limits: Limits,
}

/// A sandboxed process to start.
pub struct Spec<'a> {
    pub argv: &'a [String],
    /// Which limit group (cgroup) it joins: the app, the shell and code-server have one each,
    /// so a runaway shell cannot starve the app the interviewer is watching.
    pub group: &'static str,
    /// Start in a new session (detached from any terminal). Off for the terminal's shell, which
    /// gets its pseudo-terminal as controlling terminal instead.
    pub new_session: bool,
    /// The pseudo-terminal this process gets as its standard streams and controlling terminal.
    pub pty_slave: Option<std::os::fd::RawFd>,
    pub extra_env: Vec<(String, String)>,
}

/// A stable, per-session uid (files in the workspace are owned by it across restarts): a process
/// count limit per uid then bounds each session on its own.
pub fn uid_for(session_id: &str) -> u32 {
    // FNV-1a: small, stable across versions (std's hasher is not).
    let mut h: u64 = 0xcbf29ce484222325;
    for b in session_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    200_000 + (h % 1_000_000) as u32
}

pub fn bwrap_available() -> bool {
    std::process::Command::new("bwrap").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

impl Sandbox {
    /// Writes the read-only files the sandbox sees at /etc/iide.
    pub fn write_conf(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.conf)?;
        std::fs::create_dir_all(&self.runtime)?;
        let uid = self.uid;
        std::fs::write(self.conf.join("passwd"), format!("root:x:0:0:root:/root:/bin/false\ncandidate:x:{uid}:{uid}:Candidate:{HOME}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))?;
        std::fs::write(self.conf.join("group"), format!("root:x:0:\ncandidate:x:{uid}:\nnogroup:x:65534:\n"))?;
        std::fs::write(self.conf.join("hosts"), "127.0.0.1 localhost app\n::1 localhost\n")?;
        std::fs::write(self.conf.join("bashrc"), BASHRC)?;
        std::fs::write(self.conf.join("greeting"), format!("{}\n", self.greeting.trim_end().replace("{app_url}", &app_url())))?;
        std::fs::write(self.conf.join("forward.py"), FORWARDER)?;
        std::fs::write(self.conf.join("vscode-settings.json"), VSCODE_SETTINGS)?;
        super::files::give_to(&self.runtime, uid);
        Ok(())
    }

    fn env(&self) -> Vec<(String, String)> {
        let path: Vec<&str> = self.path.iter().map(String::as_str).chain(["/usr/local/bin", "/usr/bin", "/bin"]).collect();
        let mut env: Vec<(String, String)> = vec![
            ("HOME".into(), HOME.into()),
            ("USER".into(), "candidate".into()),
            ("LOGNAME".into(), "candidate".into()),
            ("SHELL".into(), "/bin/bash".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("TERM".into(), "xterm-256color".into()),
            ("PATH".into(), path.join(":")),
        ];
        env.extend(self.env.iter().cloned());
        env.push(("APP_URL".into(), app_url()));
        env
    }

    /// The bubblewrap command line around `spec.argv`.
    fn bwrap_args(&self, spec: &Spec) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let mut push = |xs: &[&str]| a.extend(xs.iter().map(|s| s.to_string()));
        push(&["--unshare-all", "--die-with-parent", "--clearenv", "--hostname", "workspace"]);
        if spec.new_session {
            push(&["--new-session"]);
        }
        a.extend(system_binds(&[]));
        let mut push = |xs: &[&str]| a.extend(xs.iter().map(|s| s.to_string()));
        let conf = self.conf.display().to_string();
        push(&["--ro-bind", &format!("{conf}/passwd"), "/etc/passwd"]);
        push(&["--ro-bind", &format!("{conf}/group"), "/etc/group"]);
        push(&["--ro-bind", &format!("{conf}/hosts"), "/etc/hosts"]);
        push(&["--ro-bind", &conf, CONF]);
        let tools = self.tools_dir.display().to_string();
        if self.tools_dir.is_dir() {
            push(&["--ro-bind", &tools, &tools]);
        }
        push(&["--proc", "/proc", "--dev", "/dev"]);
        push(&["--size", &(256u64 << 20).to_string(), "--tmpfs", "/tmp"]);
        push(&["--size", &(256u64 << 20).to_string(), "--tmpfs", "/home"]);
        push(&["--dir", HOME]);
        push(&["--bind", &self.workspace.display().to_string(), WORKSPACE]);
        push(&["--bind", &self.runtime.display().to_string(), RUNTIME]);
        // The sandbox's own root (where /etc, /opt, /run are made) is read-only too; only the
        // workspace, /run/iide and the small /tmp and /home are writable.
        push(&["--remount-ro", "/"]);
        push(&["--chdir", WORKSPACE]);
        for (k, v) in self.env().into_iter().chain(spec.extra_env.iter().cloned()) {
            push(&["--setenv", &k, &v]);
        }
        push(&["--"]);
        a.extend(spec.argv.iter().cloned());
        a
    }

    /// The command that starts `spec` sandboxed. Its pre-exec step joins the limit group, sets
    /// the resource limits, and drops to the session's uid before bubblewrap runs.
    pub fn command(&self, spec: &Spec) -> std::io::Result<tokio::process::Command> {
        let mut cmd = tokio::process::Command::new("bwrap");
        cmd.args(self.bwrap_args(spec));
        cmd.env_clear();
        cmd.env("PATH", "/usr/bin:/bin");
        cmd.kill_on_drop(true);
        let cgroup_procs = self.cgroup(spec.group);
        let uid = self.uid;
        let nproc = self.limits.max_processes;
        let pty = spec.pty_slave;
        let tasks: Vec<CString> = cgroup_procs.iter().filter_map(|p| CString::new(p.as_os_str().as_encoded_bytes()).ok()).collect();
        // Without a memory cgroup, an address-space limit still stops a memory hog (not for
        // code-server: V8 reserves far more address space than it uses).
        let address_space = (!cgroup_procs.iter().any(|p| p.starts_with("/sys/fs/cgroup/memory")) && spec.group != "vscode")
            .then(|| self.limits.memory_bytes.saturating_mul(2));
        // SAFETY: only async-signal-safe calls (open/write/close, setrlimit, setsid, ioctl,
        // setgroups/setgid/setuid) on data prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                let pid = libc::getpid();
                let mut buf = [0u8; 24];
                let n = format_pid(pid, &mut buf);
                for t in &tasks {
                    let fd = libc::open(t.as_ptr(), libc::O_WRONLY);
                    if fd >= 0 {
                        libc::write(fd, buf.as_ptr().cast(), n);
                        libc::close(fd);
                    }
                }
                let lim = |res, v: u64| {
                    let r = libc::rlimit { rlim_cur: v, rlim_max: v };
                    libc::setrlimit(res, &r);
                };
                lim(libc::RLIMIT_NPROC, nproc);
                lim(libc::RLIMIT_CORE, 0);
                lim(libc::RLIMIT_FSIZE, 512 << 20);
                lim(libc::RLIMIT_NOFILE, 4096);
                if let Some(bytes) = address_space {
                    lim(libc::RLIMIT_AS, bytes);
                }
                if let Some(fd) = pty {
                    if libc::setsid() < 0 || libc::ioctl(fd, libc::TIOCSCTTY, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    for target in 0..3 {
                        if libc::dup2(fd, target) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                }
                if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(uid) != 0 || libc::setuid(uid) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(cmd)
    }

    /// Prepares this session's cgroups for a group (memory, process count, CPU); the `tasks`
    /// files a new process writes itself into. Empty when the host does not let us (then the
    /// process-count resource limit still applies).
    fn cgroup(&self, group: &str) -> Vec<PathBuf> {
        let mut procs = Vec::new();
        let settings: [(&str, Vec<(&str, String)>); 3] = [
            ("memory", vec![("memory.limit_in_bytes", self.limits.memory_bytes.to_string())]),
            ("pids", vec![("pids.max", self.limits.max_processes.to_string())]),
            ("cpu", vec![("cpu.cfs_period_us", "100000".into()), ("cpu.cfs_quota_us", (self.limits.cpu_percent * 1000).to_string())]),
        ];
        for (controller, values) in settings {
            let dir = PathBuf::from(format!("/sys/fs/cgroup/{controller}/interview-ide/{}/{group}", self.session_id));
            if std::fs::create_dir_all(&dir).is_err() {
                continue;
            }
            let ok = values.iter().all(|(file, value)| std::fs::write(dir.join(file), value).is_ok());
            if ok {
                procs.push(dir.join("cgroup.procs"));
            }
        }
        procs
    }

    /// Kills whatever is left in the session's groups and removes them.
    pub fn remove_cgroups(&self) {
        for controller in ["memory", "pids", "cpu"] {
            let base = PathBuf::from(format!("/sys/fs/cgroup/{controller}/interview-ide/{}", self.session_id));
            if let Ok(groups) = std::fs::read_dir(&base) {
                for g in groups.flatten() {
                    let _ = std::fs::remove_dir(g.path());
                }
            }
            let _ = std::fs::remove_dir(&base);
        }
    }

    /// Whether memory, process and CPU limits are enforced by cgroups here.
    pub fn cgroups_enforced(&self) -> bool {
        Path::new(&format!("/sys/fs/cgroup/pids/interview-ide/{}", self.session_id)).is_dir()
    }
}

/// Removes limit groups left by an earlier run that stopped without cleaning up (only empty ones
/// can be removed: a group that still has processes stays).
pub fn remove_stale_cgroups() {
    for controller in ["memory", "pids", "cpu"] {
        let base = PathBuf::from(format!("/sys/fs/cgroup/{controller}/interview-ide"));
        let Ok(sessions) = std::fs::read_dir(&base) else { continue };
        for session in sessions.flatten() {
            if let Ok(groups) = std::fs::read_dir(session.path()) {
                for g in groups.flatten().filter(|g| g.path().is_dir()) {
                    let _ = std::fs::remove_dir(g.path());
                }
            }
            let _ = std::fs::remove_dir(session.path());
        }
    }
}

pub fn format_pid(pid: i32, buf: &mut [u8; 24]) -> usize {
    let mut digits = [0u8; 12];
    let mut n = 0;
    let mut v = pid.max(0) as u32;
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in 0..n {
        buf[i] = digits[n - 1 - i];
    }
    buf[n] = b'\n';
    n + 1
}

/// The app's address inside the sandbox.
pub fn app_url() -> String {
    format!("http://127.0.0.1:{APP_PORT}")
}

/// The terminal's shell profile: the exercise's environment is already on PATH; the greeting
/// comes from the exercise (`runtime.terminal_greeting`).
const BASHRC: &str = r#"[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
PS1='\[\e[32m\]candidate\[\e[0m\]:\[\e[34m\]\w\[\e[0m\]\$ '
alias ll='ls -la'
[ -f /etc/iide/greeting ] && cat /etc/iide/greeting
"#;

/// The terminal's greeting when the exercise has none.
pub const DEFAULT_GREETING: &str = "Workspace ready. The app answers at {app_url}.";

/// Inside the sandbox, 127.0.0.1:8000 leads to the platform's proxy in front of the app (a Unix
/// socket), so the candidate's curl goes the same way as the browser's requests.
const FORWARDER: &str = r#"import asyncio, os, sys
SOCK = "/run/iide/proxy.sock"
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except Exception:
        pass
    finally:
        try:
            w.close()
        except Exception:
            pass
async def handle(cr, cw):
    try:
        ur, uw = await asyncio.open_unix_connection(SOCK)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pipe(cr, uw), pipe(ur, cw))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    async with server:
        await server.serve_forever()
if os.fork() == 0:
    os.setsid()
    asyncio.run(main())
"#;

/// VS Code's user settings in the sandbox: the dark theme like the rest of the product, no welcome
/// page, and saving as you type, so VS Code's edits reach the shared editor without Ctrl+S.
const VSCODE_SETTINGS: &str = r#"{
  "workbench.colorTheme": "Default Dark Modern",
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.ignoreRecommendations": true,
  "files.autoSave": "afterDelay",
  "files.autoSaveDelay": 500,
  "editor.fontSize": 13
}
"#;

/// The argv that starts code-server (`argv`) with its user settings in place.
pub fn with_vscode_settings(argv: &[String], user_data_dir: &str) -> Vec<String> {
    let mut out = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        format!("mkdir -p {user_data_dir}/User && cp {CONF}/vscode-settings.json {user_data_dir}/User/settings.json; exec \"$@\""),
        "sh".to_string(),
    ];
    out.extend(argv.iter().cloned());
    out
}

/// The argv that starts the forwarder in the background, then `then`.
pub fn with_forwarder(then: &[String]) -> Vec<String> {
    let mut argv = vec!["/bin/sh".to_string(), "-c".to_string(), format!("/usr/bin/python3 {CONF}/forward.py {APP_PORT} >/dev/null 2>&1; exec \"$@\""), "sh".to_string()];
    argv.extend(then.iter().cloned());
    argv
}
