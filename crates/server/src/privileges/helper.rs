//! The sandbox helper's own side (the protocol and the server's side are
//! `crate::sandbox::helper`): it serves the server on its standard input, with root's powers, and
//! does nothing the server could turn against the host. What it checks is said at each request
//! and in docs/SECURITY.md.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use rustix::fs::{Mode, OFlags, ResolveFlags};
use tokio::io::unix::AsyncFd;
use tokio::sync::oneshot;

use crate::sandbox::helper::{
    DISKS, FIRST_SANDBOX_UID, FromHelper, MAX_MESSAGE, Op, Request, Settings, nonblocking, recv,
    send,
};
use crate::sandbox::{Jail, cgroups};

/// The helper's main: serves the server on standard input until it closes.
pub fn serve(settings_json: &str) -> anyhow::Result<()> {
    let settings: Settings = serde_json::from_str(settings_json)?;
    // When the server ends, for whatever reason, the kernel closes its end: the helper reads
    // the end of its input, removes what it made and exits (and with it, through bwrap's
    // --die-with-parent, every sandbox). The socket moves off fd 0 to a close-on-exec one, so
    // no process the helper starts can ever hold it.
    // SAFETY: fd 0 is ours (the socket the server gave us) and nothing else owns it.
    let stdin = unsafe { OwnedFd::from_raw_fd(0) };
    let sock = rustix::io::fcntl_dupfd_cloexec(&stdin, 3)?;
    let null = rustix::fs::open("/dev/null", OFlags::RDONLY, Mode::empty())?;
    // SAFETY: dup2 onto fd 0, which `stdin` owned; forgetting it leaves fd 0 to /dev/null.
    if unsafe { libc::dup2(null.as_raw_fd(), 0) } < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    std::mem::forget(stdin);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let helper = Arc::new(Helper::new(settings, nonblocking(sock)?)?);
        helper.run().await;
        anyhow::Ok(())
    })
}

struct Helper {
    sock: AsyncFd<OwnedFd>,
    settings: Settings,
    runs: OwnedFd,
    workspaces: OwnedFd,
    disks: Option<OwnedFd>,
    children: Mutex<HashMap<u64, oneshot::Sender<()>>>,
    groups: Mutex<HashMap<String, cgroups::Group>>,
}

/// A name the server may give a group, a run folder or a workspace: letters, digits, `-`, `_`.
fn valid_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(format!("not a valid name: {name:?}"))
    }
}

fn valid_uid(uid: u32) -> Result<(), String> {
    if (FIRST_SANDBOX_UID..u32::MAX / 2).contains(&uid) {
        Ok(())
    } else {
        Err(format!("{uid} is not a sandbox uid"))
    }
}

const BENEATH: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

/// A folder beneath `base`, never through a symlink.
fn open_dir(base: &OwnedFd, rel: &str) -> std::io::Result<OwnedFd> {
    Ok(rustix::fs::openat2(
        base,
        rel,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        BENEATH,
    )?)
}

fn proc_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

fn mount_root(fd: &OwnedFd) -> bool {
    // A mount point's device differs from its parent's.
    let (Ok(me), Ok(parent)) = (
        rustix::fs::fstat(fd),
        rustix::fs::statat(fd, "..", rustix::fs::AtFlags::empty()),
    ) else {
        return false;
    };
    me.st_dev != parent.st_dev
}

fn umount(fd: &OwnedFd) -> std::io::Result<()> {
    let path = std::ffi::CString::new(proc_path(fd)).map_err(std::io::Error::other)?;
    // SAFETY: a valid path; lazily, so a straggler cannot keep it busy.
    if unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn run(cmd: &mut std::process::Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Helper {
    fn new(settings: Settings, sock: AsyncFd<OwnedFd>) -> anyhow::Result<Helper> {
        let dir = |p: &Path| -> anyhow::Result<OwnedFd> {
            std::fs::create_dir_all(p)?;
            Ok(rustix::fs::open(
                p,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?)
        };
        let runs = dir(&settings.runs_dir)?;
        let workspaces = dir(&settings.workspaces_dir)?;
        let disks = Self::disks_dir(&workspaces);
        if let Err(e) = &disks {
            tracing::warn!(error = %e, "no folder for the workspaces' disk images");
        }
        cgroups::init(settings.allow_unlimited);
        Ok(Helper {
            sock,
            settings,
            runs,
            workspaces,
            disks: disks.ok(),
            children: Mutex::default(),
            groups: Mutex::default(),
        })
    }

    /// `<workspaces>/.disks`, root's alone (mode 0700), made if missing.
    fn disks_dir(workspaces: &OwnedFd) -> std::io::Result<OwnedFd> {
        match rustix::fs::mkdirat(workspaces, DISKS, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        let fd = rustix::fs::openat2(
            workspaces,
            DISKS,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            BENEATH,
        )?;
        let st = rustix::fs::fstat(&fd)?;
        let me = rustix::process::geteuid().as_raw();
        if st.st_uid != me {
            return Err(std::io::Error::other(format!(
                "{DISKS} is not owned by uid {me}"
            )));
        }
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o700))?;
        Ok(fd)
    }

    async fn run(self: Arc<Self>) {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let requests = tokio_util::task::TaskTracker::new();
        loop {
            let (n, fds) = match recv(&self.sock, &mut buf).await {
                Ok(Some(m)) => m,
                Ok(None) => break,
                // The server closed with replies unread: it is gone all the same.
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => break,
                Err(e) => {
                    tracing::error!(error = %e, "sandbox helper: cannot read from the server");
                    break;
                }
            };
            let request: Request = match serde_json::from_slice(&buf[..n]) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "sandbox helper: a request it cannot read");
                    continue;
                }
            };
            let me = self.clone();
            requests.spawn(async move {
                let id = request.id;
                let result = me.handle(request.op, fds).await;
                let bytes =
                    serde_json::to_vec(&FromHelper::Reply { id, result }).unwrap_or_default();
                let _ = send(&me.sock, &bytes, &[]).await;
            });
        }
        // The server is gone: so is everything it started, and every limit group it asked for
        // (what ran in them is killed first), bounded in time. Requests under way (a group's
        // removal, say) finish first.
        requests.close();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), requests.wait()).await;
        let groups: Vec<cgroups::Group> = self.groups.lock().drain().map(|(_, g)| g).collect();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            futures_util::future::join_all(groups.into_iter().map(|g| g.remove())),
        )
        .await;
        std::process::exit(0);
    }

    async fn handle(
        self: &Arc<Self>,
        op: Op,
        fds: Vec<OwnedFd>,
    ) -> Result<serde_json::Value, String> {
        let ok = |_| serde_json::Value::Null;
        let json = |v: serde_json::Result<serde_json::Value>| v.map_err(|e| e.to_string());
        match op {
            Op::Spawn {
                child,
                jail,
                stdio,
                terminal,
            } => self
                .spawn(child, jail, stdio, terminal, fds)
                .map(serde_json::Value::from),
            Op::Kill { child } => {
                if let Some(tx) = self.children.lock().remove(&child) {
                    let _ = tx.send(());
                }
                Ok(serde_json::Value::Null)
            }
            Op::Group { name, limits } => {
                valid_name(&name)?;
                let g = cgroups::group(&name, &limits)?;
                let made = g.is_some();
                if let Some(g) = g {
                    self.groups.lock().insert(name, g);
                }
                Ok(serde_json::Value::from(made))
            }
            Op::Stats { name } => {
                let stats = self
                    .groups
                    .lock()
                    .get(&name)
                    .map(|g| g.stats())
                    .unwrap_or_default();
                json(serde_json::to_value(stats))
            }
            Op::RemoveGroup { name } => {
                let g = self.groups.lock().remove(&name);
                if let Some(g) = g {
                    g.remove().await;
                }
                Ok(serde_json::Value::Null)
            }
            Op::RemoveGroups { prefix } => {
                valid_name(&prefix)?;
                self.groups.lock().retain(|n, _| !n.starts_with(&prefix));
                cgroups::remove_all(&prefix).await;
                Ok(serde_json::Value::Null)
            }
            Op::LiveGroups => json(serde_json::to_value(cgroups::live_groups())),
            Op::Status => json(serde_json::to_value(cgroups::status())),
            Op::ScratchWorks => Ok(serde_json::Value::from(self.scratch_works())),
            Op::Scratch { name, bytes, uid } => self.scratch(&name, bytes, uid).map(ok),
            Op::Unscratch { name } => {
                valid_name(&name)?;
                let dir = open_dir(&self.runs, &name).map_err(|e| e.to_string())?;
                if mount_root(&dir) {
                    umount(&dir).map_err(|e| e.to_string())?;
                }
                Ok(serde_json::Value::Null)
            }
            // mkfs, mount and walks over a whole tree take a while: off the thread that serves
            // everything else (this runtime has one).
            Op::DiskCreate { id, bytes, uid } => self
                .blocking(move |h| h.disk_create(&id, bytes, uid))
                .await
                .map(ok),
            Op::DiskMount { id } => self.blocking(move |h| h.disk_mount(&id)).await.map(ok),
            Op::DiskUnmount { id } => self.disk_unmount(&id).map(ok),
            Op::DiskRemove { id } => {
                valid_name(&id)?;
                let disks = self.disks.as_ref().ok_or("no disk images here")?;
                let _ = rustix::fs::unlinkat(
                    disks,
                    format!("{id}.img").as_str(),
                    rustix::fs::AtFlags::empty(),
                );
                Ok(serde_json::Value::Null)
            }
            Op::GiveTo { id, uid, tree } => self
                .blocking(move |h| h.give_to(&id, uid, tree))
                .await
                .map(ok),
            Op::GivePath { id, uid, path } => {
                valid_name(&id)?;
                valid_uid(uid)?;
                let dir = open_dir(&self.workspaces, &format!("{id}/workspace"))
                    .map_err(|e| e.to_string())?;
                let tree = crate::workspace::files::Tree::from_fd(
                    dir,
                    self.settings.workspaces_dir.join(&id).join("workspace"),
                );
                tree.give_path(&path, uid, self.settings.sandbox_gid.unwrap_or(uid))
                    .map(ok)
                    .map_err(|e| e.to_string())
            }
        }
    }

    async fn blocking(
        self: &Arc<Self>,
        work: impl FnOnce(&Helper) -> Result<(), String> + Send + 'static,
    ) -> Result<(), String> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || work(&me))
            .await
            .map_err(|e| e.to_string())?
    }

    fn spawn(
        self: &Arc<Self>,
        child: u64,
        jail: Jail,
        stdio: [bool; 3],
        terminal: bool,
        fds: Vec<OwnedFd>,
    ) -> Result<u32, String> {
        valid_uid(jail.uid)?;
        if let Some(g) = &jail.group {
            valid_name(g)?;
        }
        if stdio.iter().filter(|s| **s).count() != fds.len() || (terminal && !stdio[0]) {
            return Err("the standard streams sent do not match the request".into());
        }
        let group = jail
            .group
            .as_ref()
            .map(|name| self.groups.lock().get(name).map(|g| g.procs_files()));
        let procs = match group {
            None => vec![],
            Some(Some(files)) => files,
            Some(None) => return Err(format!("no limit group {:?}", jail.group)),
        };
        let mut fds = fds.into_iter();
        let mut streams: [Option<OwnedFd>; 3] = [None, None, None];
        for (i, sent) in stdio.iter().enumerate() {
            if *sent {
                streams[i] = fds.next();
            }
        }
        let mut cmd = jail
            .command(procs, self.settings.sandbox_gid, terminal)
            .map_err(|e| e.to_string())?;
        for (i, s) in streams.into_iter().enumerate() {
            let io = s.map_or_else(std::process::Stdio::null, std::process::Stdio::from);
            match i {
                0 => cmd.cmd.stdin(io),
                1 => cmd.cmd.stdout(io),
                _ => cmd.cmd.stderr(io),
            };
        }
        let mut process = cmd.cmd.spawn().map_err(|e| e.to_string())?;
        drop(cmd);
        let pid = process.id().unwrap_or(0);
        let (kill_tx, kill_rx) = oneshot::channel();
        self.children.lock().insert(child, kill_tx);
        let me = self.clone();
        tokio::spawn(async move {
            use std::os::unix::process::ExitStatusExt;
            let status = tokio::select! {
                s = process.wait() => s,
                _ = kill_rx => { let _ = process.start_kill(); process.wait().await }
            };
            me.children.lock().remove(&child);
            let status = status.map(|s| s.into_raw()).unwrap_or(libc::SIGKILL);
            let bytes =
                serde_json::to_vec(&FromHelper::Exited { child, status }).unwrap_or_default();
            let _ = send(&me.sock, &bytes, &[]).await;
        });
        Ok(pid)
    }

    fn scratch_works(&self) -> bool {
        let name = format!(".probe-{}", std::process::id());
        if rustix::fs::mkdirat(&self.runs, name.as_str(), Mode::from_raw_mode(0o700)).is_err() {
            return false;
        }
        let works = open_dir(&self.runs, &name).is_ok_and(|d| {
            let ok = mount_tmpfs(&d, 1 << 20, 0, 0).is_ok();
            if ok {
                let _ = umount(&d);
            }
            ok
        });
        let _ = rustix::fs::unlinkat(&self.runs, name.as_str(), rustix::fs::AtFlags::REMOVEDIR);
        works
    }

    /// A run's folder `<runs>/<name>` (made by the server) becomes a tmpfs of `bytes`, the
    /// run's uid's, that the server's group can write too; `.tmp` inside is the run's /tmp.
    fn scratch(&self, name: &str, bytes: u64, uid: u32) -> Result<(), String> {
        valid_name(name)?;
        valid_uid(uid)?;
        let gid = self.settings.sandbox_gid.unwrap_or(uid);
        let dir = open_dir(&self.runs, name).map_err(|e| e.to_string())?;
        if mount_root(&dir) {
            return Err(format!("{name} is mounted already"));
        }
        mount_tmpfs(&dir, bytes, uid, gid)
            .map_err(|e| format!("cannot mount the run's folder: {e}"))?;
        // The handle still names the folder beneath: the tmpfs is opened afresh.
        let root = rustix::fs::openat2(
            &self.runs,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            BENEATH,
        )
        .map_err(|e| e.to_string())?;
        rustix::fs::mkdirat(&root, ".tmp", Mode::from_raw_mode(0o700))
            .map_err(|e| e.to_string())?;
        rustix::fs::chownat(
            &root,
            ".tmp",
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(uid)),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    fn disk_create(&self, id: &str, bytes: u64, uid: u32) -> Result<(), String> {
        valid_name(id)?;
        valid_uid(uid)?;
        let disks = self.disks.as_ref().ok_or("no folder for disk images")?;
        let image = format!("{id}.img");
        let fd = rustix::fs::openat(
            disks,
            image.as_str(),
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| format!("cannot make the disk image: {e}"))?;
        let file = std::fs::File::from(fd);
        file.set_len(bytes)
            .map_err(|e| format!("cannot size the disk image: {e}"))?;
        drop(file);
        // The image is named through the root-only folder this process holds open.
        let path = format!(
            "/proc/{}/fd/{}/{image}",
            std::process::id(),
            disks.as_raw_fd()
        );
        let gid = self.settings.sandbox_gid.unwrap_or(uid);
        // No reserved blocks (the candidate is the only user), a small journal (a crash loses
        // no more than the last moments), the root folder the candidate's.
        let made = run(std::process::Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "0", "-J", "size=4", "-E"])
            .arg(format!("root_owner={uid}:{gid}"))
            .arg(&path));
        if let Err(e) = made.and_then(|_| self.disk_mount(id)) {
            let _ = rustix::fs::unlinkat(disks, image.as_str(), rustix::fs::AtFlags::empty());
            return Err(e);
        }
        // The server copies the project in: the root folder is the group's to write too.
        if self.settings.sandbox_gid.is_some() {
            let root = rustix::fs::openat2(
                &self.workspaces,
                format!("{id}/workspace").as_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                BENEATH,
            )
            .map_err(|e| e.to_string())?;
            rustix::fs::fchmod(&root, Mode::from_raw_mode(0o775)).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Mounts workspace `id`'s image at `<workspaces>/<id>/workspace` if it has one and it is
    /// not mounted yet.
    fn disk_mount(&self, id: &str) -> Result<(), String> {
        valid_name(id)?;
        let Some(disks) = &self.disks else {
            return Ok(());
        };
        let image = format!("{id}.img");
        if rustix::fs::statat(disks, image.as_str(), rustix::fs::AtFlags::SYMLINK_NOFOLLOW).is_err()
        {
            self.adopt_old_image(id, &image);
            if rustix::fs::statat(disks, image.as_str(), rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                .is_err()
            {
                return Ok(());
            }
        }
        let target = open_dir(&self.workspaces, &format!("{id}/workspace"))
            .map_err(|e| format!("no workspace folder: {e}"))?;
        if mount_root(&target) {
            return Ok(());
        }
        let source = format!(
            "/proc/{}/fd/{}/{image}",
            std::process::id(),
            disks.as_raw_fd()
        );
        // --no-canonicalize: the kernel follows the handle's link; mount(8) must not turn it
        // back into a path the server could swap.
        run(std::process::Command::new("mount")
            .args([
                "--no-canonicalize",
                "-t",
                "ext4",
                "-o",
                "loop,nosuid,nodev,noatime",
            ])
            .arg(&source)
            .arg(format!(
                "/proc/{}/fd/{}",
                std::process::id(),
                target.as_raw_fd()
            )))?;
        // mkfs's lost+found is no file of the project's.
        if let Ok(root) = rustix::fs::openat2(
            &self.workspaces,
            format!("{id}/workspace").as_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            BENEATH,
        ) {
            let _ = rustix::fs::unlinkat(&root, "lost+found", rustix::fs::AtFlags::REMOVEDIR);
        }
        Ok(())
    }

    /// A workspace made before the images moved to `.disks` has `<id>/disk.img`: moved there
    /// if it is a regular file root made (the server cannot make root's files).
    fn adopt_old_image(&self, id: &str, image: &str) {
        let (Some(disks), Ok(dir)) = (&self.disks, open_dir(&self.workspaces, id)) else {
            return;
        };
        let is_roots = rustix::fs::statat(&dir, "disk.img", rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| {
                st.st_uid == 0
                    && rustix::fs::FileType::from_raw_mode(st.st_mode)
                        == rustix::fs::FileType::RegularFile
                    && st.st_nlink == 1
            });
        if is_roots && rustix::process::geteuid().is_root() {
            let _ = rustix::fs::renameat(&dir, "disk.img", disks, image);
        }
    }

    fn disk_unmount(&self, id: &str) -> Result<(), String> {
        valid_name(id)?;
        let Ok(target) = rustix::fs::openat2(
            &self.workspaces,
            format!("{id}/workspace").as_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            BENEATH,
        ) else {
            return Ok(());
        };
        if mount_root(&target) {
            umount(&target).map_err(|e| format!("cannot unmount the workspace: {e}"))?;
        }
        Ok(())
    }

    fn give_to(&self, id: &str, uid: u32, tree: bool) -> Result<(), String> {
        valid_name(id)?;
        valid_uid(uid)?;
        let gid = self.settings.sandbox_gid.unwrap_or(uid);
        let parts: &[&str] = if tree {
            &["run", "workspace"]
        } else {
            &["run"]
        };
        for part in parts {
            let dir =
                open_dir(&self.workspaces, &format!("{id}/{part}")).map_err(|e| e.to_string())?;
            crate::workspace::files::Tree::from_fd(
                dir,
                self.settings.workspaces_dir.join(id).join(part),
            )
            .give_to(uid, gid);
        }
        Ok(())
    }
}

fn mount_tmpfs(dir: &OwnedFd, bytes: u64, uid: u32, gid: u32) -> std::io::Result<()> {
    let target = std::ffi::CString::new(proc_path(dir)).map_err(std::io::Error::other)?;
    let options = std::ffi::CString::new(format!(
        "size={bytes},nr_inodes=16384,mode=0770,uid={uid},gid={gid}"
    ))
    .map_err(std::io::Error::other)?;
    // SAFETY: valid NUL-terminated strings that outlive the call.
    let r = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            options.as_ptr().cast(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// What a compromised server could ask for: root, its own uid's neighbours, names that
    /// climb out of the runs or workspaces folder. Each is refused before anything is touched.
    #[test]
    fn the_helper_refuses_what_a_compromised_server_could_ask() {
        for uid in [0, 1, 999, 65534, super::FIRST_SANDBOX_UID - 1, u32::MAX] {
            assert!(super::valid_uid(uid).is_err(), "uid {uid}");
        }
        assert!(super::valid_uid(super::FIRST_SANDBOX_UID).is_ok());
        for name in [
            "", "..", ".", "../etc", "a/b", "/etc", ".disks", "a b", "x\0y",
        ] {
            assert!(super::valid_name(name).is_err(), "name {name:?}");
        }
        assert!(super::valid_name("ws-AbC_9-shell").is_ok());
    }
}
