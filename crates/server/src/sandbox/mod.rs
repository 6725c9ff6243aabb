//! The one sandbox every piece of candidate code runs in: server-side runs (`execute`) and a
//! workspace's processes (the app, the terminal's shell, code-server, the exercise's setup).
//!
//! Layers, outermost first:
//! - bubblewrap: every namespace unshared (no network but its own loopback, its own process
//!   tree, its own mounts), the system read-only, only the folders the caller binds writable,
//!   and no nested user namespaces (`--disable-userns`), so the candidate never holds
//!   capabilities, not even inside a namespace of their own;
//! - a seccomp filter (`seccomp`) that refuses the kernel's riskiest calls (modelled on
//!   Docker's default profile);
//! - an unprivileged uid of its own (when the server can switch uids);
//! - cgroups (`cgroups`, v2 or v1) for memory, processes and CPU, and resource limits (file
//!   size, open files, core dumps; process count and address space as a backstop).
//!
//! `Jail::command` is the only place that builds the bwrap command line's common part and the
//! only `pre_exec` of the code base.

pub mod cgroups;
pub mod seccomp;

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::process::Stdio;

pub use cgroups::{Group, Limits};

/// System files the sandbox may read. Everything else under /etc (service configs, other users)
/// stays invisible.
const ETC_FILES: &[&str] = &[
    "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "ssl",
    "ca-certificates", "bash.bashrc", "inputrc", "mime.types", "profile", "terminfo", "host.conf", "gai.conf",
    "protocols", "services", "magic", "magic.mime", "debian_version", "os-release",
];

pub fn bwrap_available() -> bool {
    std::process::Command::new("bwrap").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Whether bwrap's `--disable-userns` works here. It writes the sandbox's own
/// /proc/sys/user/max_user_namespaces, which a container's read-only /proc/sys refuses; there the
/// seccomp filter alone refuses new user namespaces (it denies unshare, setns and clone with a
/// namespace flag either way). Probed once, as the sandboxes run: unprivileged.
fn disable_userns_works() -> bool {
    static WORKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WORKS.get_or_init(|| {
        use std::os::unix::process::CommandExt;
        let mut probe = std::process::Command::new("bwrap");
        probe.args(["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"]);
        probe.stdout(Stdio::null()).stderr(Stdio::null());
        if can_switch_uid() {
            probe.uid(65534).gid(65534);
        }
        let works = probe.status().is_ok_and(|s| s.success());
        if !works {
            tracing::info!("bwrap --disable-userns is refused here (a read-only /proc/sys): nested user namespaces are refused by the seccomp filter alone");
        }
        works
    })
}

/// Whether this process can give each sandbox a uid of its own (it is root).
pub fn can_switch_uid() -> bool {
    rustix::process::geteuid().is_root()
}

/// What a sandboxed process gets besides its bwrap mounts.
pub struct Jail<'a> {
    pub hostname: &'a str,
    /// Start in a new session (detached from any terminal). Off for a terminal's shell, which
    /// gets its pseudo-terminal as controlling terminal instead.
    pub new_session: bool,
    /// /etc entries to show besides `ETC_FILES` (a language's, say).
    pub extra_etc: &'a [&'a str],
    /// The caller's own bwrap arguments: binds, tmpfs, `--setenv`, `--chdir` (no `--`).
    pub mounts: Vec<String>,
    pub argv: &'a [String],
    /// The uid (and gid) it runs as, when the server can switch uids.
    pub uid: u32,
    /// The limit group it joins (None: the host has none; resource limits still apply).
    pub group: Option<&'a Group>,
    pub rlimits: Rlimits,
    /// The pseudo-terminal it gets as its standard streams and controlling terminal.
    pub pty_slave: Option<RawFd>,
}

/// Per-process resource limits, set before bwrap runs.
#[derive(Debug, Clone, Copy)]
pub struct Rlimits {
    /// Processes of the uid; a backstop behind the pids cgroup.
    pub processes: u64,
    pub file_bytes: u64,
    pub open_files: u64,
    pub cpu_seconds: Option<u64>,
    /// Only where no memory cgroup bounds it (V8 and the JVM reserve far more than they use).
    pub address_space: Option<u64>,
}

/// A sandboxed command ready to spawn; it holds the seccomp program's pipe until then.
pub struct Prepared {
    pub cmd: tokio::process::Command,
    _filters: Vec<OwnedFd>,
}

impl Prepared {
    pub fn spawn(mut self) -> std::io::Result<tokio::process::Child> {
        self.cmd.spawn()
    }

    pub async fn output(mut self) -> std::io::Result<std::process::Output> {
        self.cmd.output().await
    }
}

/// bubblewrap arguments that show the system read-only: /usr, the /bin-style links into it, and
/// the readable /etc files (`ETC_FILES` and `extra_etc`, those that exist).
fn system_binds(extra_etc: &[&str]) -> Vec<String> {
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

impl Jail<'_> {
    /// The whole bwrap command line; `filter_fds` are where bwrap reads the seccomp programs.
    fn args(&self, filter_fds: &[RawFd]) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        for s in ["--unshare-all", "--die-with-parent", "--clearenv", "--hostname", self.hostname] {
            a.push(s.to_string());
        }
        // `--unshare-user` explicitly: `--disable-userns` needs a user namespace of ours to seal.
        if disable_userns_works() {
            a.extend(["--unshare-user", "--disable-userns"].map(String::from));
        }
        if self.new_session {
            a.push("--new-session".into());
        }
        a.extend(system_binds(self.extra_etc));
        a.extend(["--proc", "/proc", "--dev", "/dev"].map(String::from));
        a.extend(self.mounts.iter().cloned());
        for fd in filter_fds {
            a.extend(["--add-seccomp-fd".to_string(), fd.to_string()]);
        }
        a.push("--".into());
        a.extend(self.argv.iter().cloned());
        a
    }

    /// The command that starts `argv` sandboxed. Its pre-exec step joins the limit group, sets
    /// the resource limits, and drops to the sandbox's uid before bubblewrap runs.
    pub fn command(&self) -> std::io::Result<Prepared> {
        let filters = seccomp::program_pipes()?;
        let filter_fds: Vec<RawFd> = filters.iter().map(|f| f.as_raw_fd()).collect();
        let mut cmd = tokio::process::Command::new("bwrap");
        cmd.args(self.args(&filter_fds));
        cmd.env_clear();
        cmd.env("PATH", "/usr/bin:/bin");
        cmd.kill_on_drop(true);
        let procs: Vec<CString> = self.group.map(|g| g.procs_files()).unwrap_or_default();
        let uid = can_switch_uid().then_some(self.uid);
        let r = self.rlimits;
        let pty = self.pty_slave;
        // SAFETY: only async-signal-safe calls (open/write/close, fcntl, setrlimit, setsid,
        // ioctl, dup2, setgroups/setgid/setuid) on data prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                let mut buf = [0u8; 24];
                let n = format_pid(libc::getpid(), &mut buf);
                for p in &procs {
                    let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 || libc::write(fd, buf.as_ptr().cast(), n) < 0 {
                        // A process outside its limit group must not run at all.
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                }
                // bwrap reads the seccomp programs from these pipes: they must survive exec.
                for &fd in &filter_fds {
                    if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                let lim = |res, v: u64| {
                    let l = libc::rlimit { rlim_cur: v, rlim_max: v };
                    libc::setrlimit(res, &l);
                };
                lim(libc::RLIMIT_NPROC, r.processes);
                lim(libc::RLIMIT_CORE, 0);
                lim(libc::RLIMIT_FSIZE, r.file_bytes);
                lim(libc::RLIMIT_NOFILE, r.open_files);
                if let Some(s) = r.cpu_seconds {
                    lim(libc::RLIMIT_CPU, s);
                }
                if let Some(bytes) = r.address_space {
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
                if let Some(uid) = uid {
                    if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(uid) != 0 || libc::setuid(uid) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        Ok(Prepared { cmd, _filters: filters })
    }
}

/// A size-limited tmpfs mounted on the host for one run's folder: what the run writes in all
/// (its files and /tmp, a folder inside it) is bounded. Its pages count against the writer's
/// memory cgroup too. Unmounted (lazily, so a straggler cannot keep it busy) on drop.
pub struct Scratch {
    path: std::path::PathBuf,
}

impl Scratch {
    pub fn mount(path: &Path, bytes: u64, uid: u32) -> std::io::Result<Scratch> {
        let target = CString::new(path.as_os_str().as_encoded_bytes())?;
        let options = CString::new(format!("size={bytes},nr_inodes=16384,mode=0700,uid={uid},gid={uid}"))?;
        // SAFETY: valid NUL-terminated strings that outlive the call.
        let r = unsafe { libc::mount(c"tmpfs".as_ptr(), target.as_ptr(), c"tmpfs".as_ptr(), libc::MS_NOSUID | libc::MS_NODEV, options.as_ptr().cast()) };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Scratch { path: path.to_path_buf() })
    }

    /// Whether this process can mount one (tried once, in `dir`).
    pub fn works(dir: &Path) -> bool {
        let probe = dir.join(format!(".probe-{}", std::process::id()));
        if std::fs::create_dir_all(&probe).is_err() {
            return false;
        }
        let ok = Scratch::mount(&probe, 1 << 20, 0).is_ok();
        let _ = std::fs::remove_dir(&probe);
        ok
    }
}

impl Scratch {
    /// Unmounts (lazily) whatever is mounted at `path`, e.g. a run's tmpfs left by a crash.
    pub fn unmount(path: &Path) {
        if let Ok(target) = CString::new(path.as_os_str().as_encoded_bytes()) {
            // SAFETY: a valid path.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        Scratch::unmount(&self.path);
    }
}

/// Whether the run's tmpfs at `dir` is (nearly) full: a write there failed for want of room.
pub fn scratch_full(dir: &Path) -> bool {
    rustix::fs::statvfs(dir).is_ok_and(|s| s.f_bavail * s.f_frsize < 64 * 1024 || s.f_favail == 0)
}

/// `pid` and a newline in `buf`, without allocating (it runs between fork and exec).
fn format_pid(pid: i32, buf: &mut [u8; 24]) -> usize {
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

#[cfg(test)]
mod tests {
    /// The common part alone runs a program (interpreters and threads included) under the filter.
    #[tokio::test]
    async fn a_plain_jail_runs_python_with_threads() {
        if !super::bwrap_available() {
            eprintln!("SKIPPED: needs bubblewrap");
            return;
        }
        let argv: Vec<String> = ["/usr/bin/python3", "-c", "import threading,subprocess; t=threading.Thread(target=print, args=('thread',)); t.start(); t.join(); print(subprocess.run(['echo','child'],capture_output=True).stdout.decode().strip())"].map(String::from).to_vec();
        let jail = super::Jail {
            hostname: "test",
            new_session: true,
            extra_etc: &[],
            mounts: vec![],
            argv: &argv,
            uid: 1_234_567,
            group: None,
            rlimits: super::Rlimits { processes: 64, file_bytes: 1 << 20, open_files: 64, cpu_seconds: Some(10), address_space: None },
            pty_slave: None,
        };
        let out = jail.command().unwrap().output().await.unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && stdout.contains("thread") && stdout.contains("child"), "{stdout} {stderr}");
    }

    #[test]
    fn pids_are_formatted_without_allocating() {
        let mut buf = [0u8; 24];
        let n = super::format_pid(1234567, &mut buf);
        assert_eq!(&buf[..n], b"1234567\n");
        let n = super::format_pid(0, &mut buf);
        assert_eq!(&buf[..n], b"0\n");
    }
}
