//! Dropping root: a server started as root starts the sandbox helper (which keeps root's
//! powers for the few things that need them, `sandbox::helper`), hands its data folders to its
//! own unprivileged user, and becomes that user before it reads any input from the network.

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
        anyhow::bail!("the user '{name}' does not exist: create it (useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin {name}) or choose another with --user");
    }
    // SAFETY: non-null, points to a valid passwd entry.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    if uid == 0 {
        anyhow::bail!("--user must not be root: the server parses input from the internet");
    }
    Ok(Account { uid, gid })
}

/// The folders the server writes: the SQLite database's, the workspaces' and the runs'.
pub fn data_folders(config: &crate::Config) -> Vec<PathBuf> {
    let mut out = vec![config.workspaces.dir.clone(), config.execute.runs_dir.clone()];
    if let Some(path) = config.storage.database_url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if let Some(dir) = Path::new(path).parent() {
            out.push(if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir.to_path_buf() });
        }
    }
    out
}

/// Hands `dir` and what is beneath it to `to`, except the workspaces' and runs' contents (the
/// candidates' files; the helper hands those out) and the disk images (root's alone).
fn hand_over(dir: &Path, to: Account, skip: &[PathBuf]) {
    let chown = |p: &Path| {
        let _ = std::os::unix::fs::lchown(p, Some(to.uid), Some(to.gid));
    };
    chown(dir);
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let canonical = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
        if skip.contains(&canonical) {
            chown(&p);
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() => hand_over(&p, to, skip),
            Ok(_) => chown(&p),
            Err(_) => {}
        }
    }
}

/// Hands the data folders to `to`, then becomes `to` for good (every thread: glibc applies
/// set*id to all of them). Fails unless root can no longer be regained.
pub fn become_user(config: &crate::Config, to: Account) -> anyhow::Result<()> {
    let folders = data_folders(config);
    let skip: Vec<PathBuf> = [&config.workspaces.dir, &config.execute.runs_dir].iter().filter_map(|p| std::fs::canonicalize(p).ok()).collect();
    for dir in &folders {
        std::fs::create_dir_all(dir)?;
        hand_over(dir, to, &skip);
    }
    // Each workspace's own folders (its files are the helper's to hand out).
    if let Ok(entries) = std::fs::read_dir(&config.workspaces.dir) {
        for e in entries.flatten().filter(|e| e.file_name() != ".disks" && e.file_type().is_ok_and(|t| t.is_dir())) {
            let _ = std::os::unix::fs::lchown(e.path(), Some(to.uid), Some(to.gid));
            hand_over(&e.path().join("conf"), to, &[]);
        }
    }
    // SAFETY: plain set*id calls; glibc applies them to every thread of the process.
    unsafe {
        if libc::setgroups(1, &to.gid) != 0 || libc::setgid(to.gid) != 0 || libc::setuid(to.uid) != 0 {
            anyhow::bail!("cannot switch to uid {}: {}", to.uid, std::io::Error::last_os_error());
        }
        if libc::setuid(0) == 0 || libc::geteuid() == 0 {
            anyhow::bail!("root could be regained after dropping it");
        }
        // What the server writes in a workspace stays writable for the sandbox (its group).
        libc::umask(0o002);
    }
    Ok(())
}
