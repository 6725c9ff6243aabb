//! What keeps root's powers, and how the server gives them up. A server started as root starts
//! the sandbox helper (`helper`: the one process that keeps them, for the few things that need
//! them; the server talks to it through `sandbox::helper`), hands its data folders to its own
//! unprivileged user, and becomes that user before it reads any input from the network.

pub mod helper;

use std::ffi::CString;
use std::path::{Path, PathBuf};

/// An account the server runs as.
#[derive(Debug, Clone, Copy)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
}

/// The account named `name`, from the system's user database.
pub fn lookup(name: &str) -> anyhow::Result<Account> {
    let c = CString::new(name)?;
    // SAFETY: getpwnam returns a pointer into static storage or null; read at once, before any
    // other call could overwrite it (no other thread runs yet).
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    if pw.is_null() {
        anyhow::bail!(
            "the user '{name}' does not exist: create it (useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin {name}) or choose another with --user"
        );
    }
    // SAFETY: non-null, points to a valid passwd entry.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    if uid == 0 {
        anyhow::bail!("--user must not be root: the server parses input from the internet");
    }
    Ok(Account { uid, gid })
}

/// Hands `path` (not what is beneath it) to `to`, unless it is a shared folder such as /tmp
/// (writable by all): never through a symlink.
fn hand_over(path: &Path, to: Account) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_symlink() || (meta.is_dir() && meta.permissions().mode() & 0o002 != 0) {
        return;
    }
    let _ = std::os::unix::fs::lchown(path, Some(to.uid), Some(to.gid));
}

/// What the server writes, handed over one by one (never a whole tree: the workspaces hold
/// candidates' files, which the helper hands out, and a folder such as /tmp is not ours).
fn hand_over_data(config: &crate::Config, to: Account) -> anyhow::Result<()> {
    if let Some(path) = config.storage.database_url.strip_prefix("sqlite://") {
        let db = PathBuf::from(path.split('?').next().unwrap_or(path));
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
            hand_over(dir, to);
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = db.clone().into_os_string();
            p.push(suffix);
            hand_over(Path::new(&p), to);
        }
    }
    for dir in [&config.workspaces.dir, &config.execute.runs_dir] {
        std::fs::create_dir_all(dir)?;
        hand_over(dir, to);
    }
    // Each workspace's own folder and its platform-written settings (made by a server that
    // ran as root before).
    for e in std::fs::read_dir(&config.workspaces.dir)?.flatten() {
        if e.file_name().to_string_lossy().starts_with('.')
            || !e.file_type().is_ok_and(|t| t.is_dir())
        {
            continue;
        }
        hand_over(&e.path(), to);
        let conf = e.path().join("conf");
        hand_over(&conf, to);
        for f in std::fs::read_dir(&conf).into_iter().flatten().flatten() {
            hand_over(&f.path(), to);
        }
    }
    Ok(())
}

/// Hands the data folders to `to`, then becomes `to` for good (every thread: glibc applies
/// set*id to all of them). Fails unless root can no longer be regained.
pub fn become_user(config: &crate::Config, to: Account) -> anyhow::Result<()> {
    hand_over_data(config, to)?;
    // SAFETY: plain set*id calls; glibc applies them to every thread of the process.
    unsafe {
        if libc::setgroups(1, &to.gid) != 0
            || libc::setgid(to.gid) != 0
            || libc::setuid(to.uid) != 0
        {
            anyhow::bail!(
                "cannot switch to uid {}: {}",
                to.uid,
                std::io::Error::last_os_error()
            );
        }
        if libc::setuid(0) == 0 || libc::geteuid() == 0 {
            anyhow::bail!("root could be regained after dropping it");
        }
        // What the server writes in a workspace stays writable for the sandbox (its group).
        libc::umask(0o002);
    }
    Ok(())
}
