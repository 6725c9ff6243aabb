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
pub mod helper;
pub mod seccomp;

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::process::Stdio;

pub use cgroups::Limits;

/// System files the sandbox may read. Everything else under /etc (service configs, other users)
/// stays invisible.
const ETC_FILES: &[&str] = &[
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "ssl",
    "ca-certificates",
    "bash.bashrc",
    "inputrc",
    "mime.types",
    "profile",
    "terminfo",
    "host.conf",
    "gai.conf",
    "protocols",
    "services",
    "magic",
    "magic.mime",
    "debian_version",
    "os-release",
];

pub fn bwrap_available() -> bool {
    std::process::Command::new("bwrap")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
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

/// A sandboxed process to start: what it gets besides the common part. Built by the server,
/// started by the helper (`helper`), which adds the common part and the limits itself.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Jail {
    pub hostname: String,
    /// Start in a new session (detached from any terminal). Off for a terminal's shell, which
    /// gets its pseudo-terminal as controlling terminal instead.
    pub new_session: bool,
    /// /etc entries to show besides `ETC_FILES` (a language's, say).
    pub extra_etc: Vec<String>,
    /// The caller's own bwrap arguments: binds, tmpfs, `--setenv`, `--chdir` (no `--`).
    pub mounts: Vec<String>,
    pub argv: Vec<String>,
    /// The uid it runs as, when the helper can switch uids.
    pub uid: u32,
    /// The limit group it joins (made with `group`; None: the host has none, and resource
    /// limits still apply).
    pub group: Option<String>,
    pub rlimits: Rlimits,
}

/// Per-process resource limits, set before bwrap runs.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Rlimits {
    /// Processes of the uid; a backstop behind the pids cgroup.
    pub processes: u64,
    pub file_bytes: u64,
    pub open_files: u64,
    pub cpu_seconds: Option<u64>,
    /// Only where no memory cgroup bounds it (V8 and the JVM reserve far more than they use).
    pub address_space: Option<u64>,
}

/// A sandboxed command ready to spawn (in the helper); it holds the seccomp program's pipe
/// until then.
pub(crate) struct Prepared {
    pub cmd: tokio::process::Command,
    _filters: Vec<OwnedFd>,
}

/// What a standard stream of a sandboxed process is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    Null,
    Piped,
}

/// A sandboxed process, started by the helper: its pipes, its exit, and a way to kill it
/// (which dropping it does too).
pub struct Child {
    pub stdin: Option<tokio::net::unix::pipe::Sender>,
    pub stdout: Option<tokio::net::unix::pipe::Receiver>,
    pub stderr: Option<tokio::net::unix::pipe::Receiver>,
    pid: u32,
    id: u64,
    exit: Option<tokio::sync::oneshot::Receiver<i32>>,
    status: Option<std::process::ExitStatus>,
    helper: std::sync::Arc<helper::Client>,
}

impl Child {
    /// Its pid (bwrap's, on the host).
    pub fn id(&self) -> u32 {
        self.pid
    }

    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        if let Some(s) = self.status {
            return Ok(s);
        }
        let rx = self
            .exit
            .take()
            .ok_or_else(|| std::io::Error::other("the sandbox helper has stopped"))?;
        let raw = rx
            .await
            .map_err(|_| std::io::Error::other("the sandbox helper has stopped"))?;
        let status = std::process::ExitStatus::from_raw(raw);
        self.status = Some(status);
        Ok(status)
    }

    /// Its exit, if it has ended.
    pub fn try_wait(&mut self) -> std::io::Result<Option<std::process::ExitStatus>> {
        use std::os::unix::process::ExitStatusExt;
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let Some(rx) = self.exit.as_mut() else {
            return Err(std::io::Error::other("the sandbox helper has stopped"));
        };
        match rx.try_recv() {
            Ok(raw) => {
                let status = std::process::ExitStatus::from_raw(raw);
                self.status = Some(status);
                Ok(Some(status))
            }
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => Ok(None),
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                Err(std::io::Error::other("the sandbox helper has stopped"))
            }
        }
    }

    /// Asks for it to be killed (bwrap, and with it the sandbox's whole process tree).
    pub fn start_kill(&mut self) {
        if self.status.is_none() {
            self.helper.kill(self.id);
        }
    }

    pub async fn kill(&mut self) -> std::io::Result<()> {
        self.start_kill();
        self.wait().await.map(|_| ())
    }

    /// Everything it writes to stdout and stderr, and its exit.
    pub async fn wait_with_output(mut self) -> std::io::Result<std::process::Output> {
        use tokio::io::AsyncReadExt;
        async fn all(r: Option<tokio::net::unix::pipe::Receiver>) -> Vec<u8> {
            let mut out = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut out).await;
            }
            out
        }
        drop(self.stdin.take());
        let (stdout, stderr) = tokio::join!(all(self.stdout.take()), all(self.stderr.take()));
        let status = self.wait().await?;
        Ok(std::process::Output {
            status,
            stdout,
            stderr,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_none() {
            self.helper.kill(self.id);
        }
    }
}

/// The server's connection to its sandbox helper.
pub type Helper = std::sync::Arc<helper::Client>;

/// A limit group made for a sandbox (by the helper).
#[derive(Debug)]
pub struct Group {
    name: String,
    helper: Helper,
}

/// A fresh limit group named `name` (letters, digits, `-`). `Ok(None)`: the host has no
/// cgroups and the operator allowed unlimited sandboxes. `Err`: the sandbox must not start.
pub async fn group(helper: &Helper, name: &str, limits: &Limits) -> Result<Option<Group>, String> {
    match helper.group(name, limits).await {
        Ok(true) => Ok(Some(Group {
            name: name.to_string(),
            helper: helper.clone(),
        })),
        Ok(false) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

impl Group {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn stats(&self) -> cgroups::Stats {
        self.helper.stats(&self.name).await.unwrap_or_default()
    }

    /// Kills whatever still runs in it and removes it.
    pub async fn remove(self) {
        self.helper.remove_group(&self.name).await;
    }
}

/// How sandboxes are limited here (as the helper found at start).
pub fn status(helper: &Helper) -> cgroups::Status {
    let fallback = |problem: &str| cgroups::Status {
        cgroups: "none".into(),
        problem: Some(problem.into()),
        unlimited_allowed: false,
    };
    if !helper.alive() {
        return fallback("the sandbox helper has stopped");
    }
    helper
        .status()
        .cloned()
        .unwrap_or_else(|| fallback("the sandbox helper has not answered yet"))
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
}

impl Jail {
    /// Starts it (through the helper) with these standard streams.
    pub async fn spawn(
        self,
        helper: &Helper,
        stdin: Io,
        stdout: Io,
        stderr: Io,
    ) -> std::io::Result<Child> {
        let mut theirs: [Option<OwnedFd>; 3] = [None, None, None];
        let (mut w, mut r_out, mut r_err) = (None, None, None);
        if stdin == Io::Piped {
            let (r, wr) = pipe()?;
            theirs[0] = Some(r);
            w = Some(tokio::net::unix::pipe::Sender::from_owned_fd(wr)?);
        }
        if stdout == Io::Piped {
            let (r, wr) = pipe()?;
            theirs[1] = Some(wr);
            r_out = Some(tokio::net::unix::pipe::Receiver::from_owned_fd(r)?);
        }
        if stderr == Io::Piped {
            let (r, wr) = pipe()?;
            theirs[2] = Some(wr);
            r_err = Some(tokio::net::unix::pipe::Receiver::from_owned_fd(r)?);
        }
        let (pid, id, exit) = helper.spawn(self, theirs, false).await?;
        Ok(Child {
            stdin: w,
            stdout: r_out,
            stderr: r_err,
            pid,
            id,
            exit: Some(exit),
            status: None,
            helper: helper.clone(),
        })
    }

    /// Starts it (through the helper) on a pseudo-terminal: `slave` is its standard streams
    /// and controlling terminal.
    pub async fn spawn_on_terminal(
        self,
        helper: &Helper,
        slave: OwnedFd,
    ) -> std::io::Result<Child> {
        let theirs = [
            Some(slave.try_clone()?),
            Some(slave.try_clone()?),
            Some(slave),
        ];
        let (pid, id, exit) = helper.spawn(self, theirs, true).await?;
        Ok(Child {
            stdin: None,
            stdout: None,
            stderr: None,
            pid,
            id,
            exit: Some(exit),
            status: None,
            helper: helper.clone(),
        })
    }

    /// Runs it with `input` on stdin; its output and exit.
    pub async fn output(
        self,
        helper: &Helper,
        input: Vec<u8>,
    ) -> std::io::Result<std::process::Output> {
        let mut child = self.spawn(helper, Io::Piped, Io::Piped, Io::Piped).await?;
        if let Some(mut stdin) = child.stdin.take() {
            use tokio::io::AsyncWriteExt;
            // Written in the background: a program that never reads it must not block us.
            tokio::spawn(async move {
                let _ = stdin.write_all(&input).await;
            });
        }
        child.wait_with_output().await
    }
}

/// bubblewrap arguments that show the system read-only: /usr, the /bin-style links into it, and
/// the readable /etc files (`ETC_FILES` and `extra_etc`, those that exist).
fn system_binds(extra_etc: &[String]) -> Vec<String> {
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
    for name in ETC_FILES
        .iter()
        .copied()
        .chain(extra_etc.iter().map(String::as_str))
    {
        let p = format!("/etc/{name}");
        if Path::new(&p).exists() {
            push(&["--ro-bind", &p, &p]);
        }
    }
    a
}

impl Jail {
    /// The whole bwrap command line; `filter_fds` are where bwrap reads the seccomp programs.
    fn args(&self, filter_fds: &[RawFd]) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        for s in [
            "--unshare-all",
            "--die-with-parent",
            "--clearenv",
            "--hostname",
            &self.hostname,
        ] {
            a.push(s.to_string());
        }
        // `--unshare-user` explicitly: `--disable-userns` needs a user namespace of ours to seal.
        if disable_userns_works() {
            a.extend(["--unshare-user", "--disable-userns"].map(String::from));
        }
        if self.new_session {
            a.push("--new-session".into());
        }
        a.extend(system_binds(&self.extra_etc));
        a.extend(["--proc", "/proc", "--dev", "/dev"].map(String::from));
        a.extend(self.mounts.iter().cloned());
        for fd in filter_fds {
            a.extend(["--add-seccomp-fd".to_string(), fd.to_string()]);
        }
        a.push("--".into());
        a.extend(self.argv.iter().cloned());
        a
    }

    /// The command that starts `argv` sandboxed (in the helper). Its pre-exec step joins the
    /// limit group (`procs`: its `cgroup.procs` files), sets the resource limits, and drops to
    /// the sandbox's uid (and `gid`, else its own) before bubblewrap runs. `terminal`: stdin is
    /// a pseudo-terminal, made the controlling terminal of a new session.
    pub(crate) fn command(
        &self,
        procs: Vec<CString>,
        gid: Option<u32>,
        terminal: bool,
    ) -> std::io::Result<Prepared> {
        let filters = seccomp::program_pipes()?;
        let filter_fds: Vec<RawFd> = filters.iter().map(|f| f.as_raw_fd()).collect();
        let mut cmd = tokio::process::Command::new("bwrap");
        cmd.args(self.args(&filter_fds));
        cmd.env_clear();
        cmd.env("PATH", "/usr/bin:/bin");
        cmd.kill_on_drop(true);
        let ids = can_switch_uid().then_some((self.uid, gid.unwrap_or(self.uid)));
        // Files the sandbox makes are its group's to write too (the server's, when it has one).
        let umask = if gid.is_some() { 0o002 } else { 0o022 };
        let r = self.rlimits;
        // SAFETY: only async-signal-safe calls (open/write/close, fcntl, setrlimit, setsid,
        // ioctl, umask, setgroups/setgid/setuid) on data prepared before the fork.
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
                    let l = libc::rlimit {
                        rlim_cur: v,
                        rlim_max: v,
                    };
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
                libc::umask(umask);
                if terminal && (libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0) {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some((uid, gid)) = ids
                    && (libc::setgroups(0, std::ptr::null()) != 0
                        || libc::setgid(gid) != 0
                        || libc::setuid(uid) != 0)
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(Prepared {
            cmd,
            _filters: filters,
        })
    }
}

/// A run's folder (`<runs>/<name>`, made by the server) turned by the helper into a
/// size-limited tmpfs: what the run writes in all (its files and /tmp, a folder inside it) is
/// bounded. Its pages count against the writer's memory cgroup too. Unmounted on drop.
pub struct Scratch {
    name: String,
    helper: Helper,
    released: bool,
}

impl Scratch {
    pub async fn mount(
        helper: &Helper,
        name: &str,
        bytes: u64,
        uid: u32,
    ) -> std::io::Result<Scratch> {
        helper.scratch(name, bytes, uid).await?;
        Ok(Scratch {
            name: name.to_string(),
            helper: helper.clone(),
            released: false,
        })
    }

    /// Whether the helper can mount one here (it needs root).
    pub async fn works(helper: &Helper) -> bool {
        helper.scratch_works().await
    }

    /// Unmounts whatever is mounted at `<runs>/<name>`, e.g. a run's tmpfs left by a crash.
    pub async fn unmount(helper: &Helper, name: &str) {
        let _ = helper.unscratch(name).await;
    }

    /// Unmounts it (before its folder is removed).
    pub async fn release(mut self) {
        self.released = true;
        Scratch::unmount(&self.helper, &self.name).await;
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.released {
            self.helper.unscratch_later(&self.name);
        }
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
            hostname: "test".into(),
            new_session: true,
            extra_etc: vec![],
            mounts: vec![],
            argv,
            uid: 1_234_567,
            group: None,
            rlimits: super::Rlimits {
                processes: 64,
                file_bytes: 1 << 20,
                open_files: 64,
                cpu_seconds: Some(10),
                address_space: None,
            },
        };
        let out = jail
            .command(vec![], None, false)
            .unwrap()
            .cmd
            .output()
            .await
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success() && stdout.contains("thread") && stdout.contains("child"),
            "{stdout} {stderr}"
        );
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
