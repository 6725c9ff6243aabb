//! The server's side of the sandbox helper, and the protocol between them. The helper (its own
//! side is `crate::privileges::helper`) is the one process that keeps root's powers, so the
//! server that parses HTTP, WebSocket and Yjs input from the internet does not need them.
//!
//! `interview-ide` started as root starts the helper first (the same binary, `sandbox-helper`),
//! then drops to its own unprivileged user before it reads any input. The two speak over a
//! socket pair (the helper's standard input): a request is one JSON datagram, with file
//! descriptors attached where a process's standard streams travel. The helper does only:
//! - start a sandboxed process (`Jail`) as a sandbox uid, never as root or the server's uid,
//!   with the common bwrap part, the seccomp filter and the limits it adds itself; report its
//!   exit; kill it on request;
//! - make, measure and remove limit groups (cgroups), by name;
//! - mount and unmount a run's size-limited tmpfs, and a workspace's disk image, at folders
//!   it opens itself beneath the runs and workspaces folders without following a symlink
//!   (the server owns those folders: it could plant links there);
//! - hand a workspace's files to the session's uid (never following a link).
//!
//! Disk images live in a folder only root can open (`<workspaces>/.disks`): the kernel never
//! mounts an image the server could have written. Everything the server asks for is checked
//! here (names, uids, paths); what it cannot ask for is anything that runs as root.

use std::collections::HashMap;
use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use rustix::fs::OFlags;
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use serde::{Deserialize, Serialize};
use tokio::io::unix::AsyncFd;
use tokio::sync::oneshot;

use super::{Jail, Limits, cgroups};

/// The lowest uid a sandbox may run as: below are the system's and people's accounts.
pub const FIRST_SANDBOX_UID: u32 = 100_000;
/// A datagram's largest size (a process's arguments and mounts fit many times over).
pub(crate) const MAX_MESSAGE: usize = 1 << 20;
/// Folder (beneath the workspaces folder) of the workspaces' disk images: root's alone.
pub(crate) const DISKS: &str = ".disks";

/// What the helper is told at start (one JSON argument).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub runs_dir: PathBuf,
    pub workspaces_dir: PathBuf,
    /// The group sandboxed processes run in: the server's, so it can read and write the files
    /// they make (and they the ones it makes) without either being the other. None: each
    /// sandbox's own (a server that runs as root, as in the tests).
    pub sandbox_gid: Option<u32>,
    pub allow_unlimited: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request {
    pub id: u64,
    pub op: Op,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Op {
    /// Starts `jail`; `stdio` says which of stdin, stdout, stderr come as attached descriptors
    /// (in that order; the others are /dev/null). `terminal`: the first is a pseudo-terminal,
    /// made the process's controlling terminal.
    Spawn {
        child: u64,
        jail: Jail,
        stdio: [bool; 3],
        terminal: bool,
    },
    Kill {
        child: u64,
    },
    Group {
        name: String,
        limits: Limits,
    },
    Stats {
        name: String,
    },
    RemoveGroup {
        name: String,
    },
    RemoveGroups {
        prefix: String,
    },
    LiveGroups,
    Status,
    ScratchWorks,
    Scratch {
        name: String,
        bytes: u64,
        uid: u32,
    },
    Unscratch {
        name: String,
    },
    DiskCreate {
        id: String,
        bytes: u64,
        uid: u32,
    },
    DiskMount {
        id: String,
    },
    DiskUnmount {
        id: String,
    },
    DiskRemove {
        id: String,
    },
    /// `tree`: the workspace's files too, not only its runtime folder.
    GiveTo {
        id: String,
        uid: u32,
        tree: bool,
    },
    /// One path the platform just made in the workspace (and the folders it made on its way).
    GivePath {
        id: String,
        uid: u32,
        path: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum FromHelper {
    Reply {
        id: u64,
        result: Result<serde_json::Value, String>,
    },
    /// A spawned process ended: its raw wait status.
    Exited { child: u64, status: i32 },
}

// ---------------------------------------------------------------------------------------------
// The wire: one datagram per message, descriptors attached.

fn send_now(sock: BorrowedFd, bytes: &[u8], fds: &[BorrowedFd]) -> std::io::Result<()> {
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len().max(1)))];
    let mut anc = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() && !anc.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(std::io::Error::other(
            "too many descriptors for one message",
        ));
    }
    rustix::net::sendmsg(
        sock,
        &[std::io::IoSlice::new(bytes)],
        &mut anc,
        SendFlags::NOSIGNAL | SendFlags::DONTWAIT,
    )?;
    Ok(())
}

/// One datagram (None: the other side closed) and the descriptors it carried.
fn recv_now(sock: BorrowedFd, buf: &mut [u8]) -> std::io::Result<Option<(usize, Vec<OwnedFd>)>> {
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(8))];
    let mut anc = RecvAncillaryBuffer::new(&mut space);
    let r = rustix::net::recvmsg(
        sock,
        &mut [IoSliceMut::new(buf)],
        &mut anc,
        RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT,
    )?;
    let mut fds = Vec::new();
    for msg in anc.drain() {
        if let RecvAncillaryMessage::ScmRights(rights) = msg {
            fds.extend(rights);
        }
    }
    if r.bytes == 0 && fds.is_empty() {
        return Ok(None);
    }
    if r.flags.contains(rustix::net::ReturnFlags::TRUNC) {
        return Err(std::io::Error::other(
            "a message too large for the sandbox helper",
        ));
    }
    Ok(Some((r.bytes, fds)))
}

pub(crate) async fn send(
    sock: &AsyncFd<OwnedFd>,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
) -> std::io::Result<()> {
    loop {
        let mut guard = sock.writable().await?;
        match guard.try_io(|s| send_now(s.get_ref().as_fd(), bytes, fds)) {
            Ok(r) => return r,
            Err(_would_block) => continue,
        }
    }
}

pub(crate) async fn recv(
    sock: &AsyncFd<OwnedFd>,
    buf: &mut [u8],
) -> std::io::Result<Option<(usize, Vec<OwnedFd>)>> {
    loop {
        let mut guard = sock.readable().await?;
        match guard.try_io(|s| recv_now(s.get_ref().as_fd(), buf)) {
            Ok(r) => return r,
            Err(_would_block) => continue,
        }
    }
}

pub(crate) fn nonblocking(fd: OwnedFd) -> std::io::Result<AsyncFd<OwnedFd>> {
    let flags = rustix::fs::fcntl_getfl(&fd)?;
    rustix::fs::fcntl_setfl(&fd, flags | OFlags::NONBLOCK)?;
    // SAFETY: the AsyncFd owns the descriptor for its whole life.
    unsafe { AsyncFd::register(fd) }.map_err(|e| std::io::Error::other(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// The server's side.

/// The server's connection to its helper.
pub struct Client {
    sock: AsyncFd<OwnedFd>,
    next: AtomicU64,
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<serde_json::Value, String>>>>,
    exits: Mutex<HashMap<u64, oneshot::Sender<i32>>>,
    gone: AtomicBool,
    status: OnceLock<cgroups::Status>,
    /// The helper process (kept so it is reaped when it ends).
    _process: Mutex<Option<std::process::Child>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("alive", &self.alive())
            .finish()
    }
}

/// Starts a helper (`bin sandbox-helper`) with this process's powers. Must run on a Tokio
/// runtime. It ends when the returned client (its socket) is dropped.
pub fn start(bin: &Path, settings: &Settings) -> std::io::Result<Arc<Client>> {
    let (ours, theirs) = rustix::net::socketpair(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::SEQPACKET,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )?;
    let json = serde_json::to_string(settings).map_err(std::io::Error::other)?;
    // The socket is the helper's standard input: nothing else of ours is inherited.
    let process = std::process::Command::new(bin)
        .arg("sandbox-helper")
        .arg(json)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(std::process::Stdio::from(theirs))
        .spawn()
        .map_err(|e| {
            std::io::Error::other(format!(
                "cannot start the sandbox helper {}: {e}",
                bin.display()
            ))
        })?;
    let reader = nonblocking(ours.try_clone()?)?;
    let client = Arc::new(Client {
        sock: nonblocking(ours)?,
        next: AtomicU64::new(1),
        pending: Mutex::default(),
        exits: Mutex::default(),
        gone: AtomicBool::new(false),
        status: OnceLock::new(),
        _process: Mutex::new(Some(process)),
    });
    tokio::spawn(Client::read_loop(Arc::downgrade(&client), reader));
    Ok(client)
}

impl Drop for Client {
    fn drop(&mut self) {
        // The helper reads the end of its input and ends, and with it its sandboxes.
        let _ = rustix::net::shutdown(self.sock.get_ref(), rustix::net::Shutdown::Write);
    }
}

/// The helper binary: this executable when it is the server, else `interview-ide` next to it
/// (or one folder up: tests run from `target/*/deps`).
pub fn default_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    if exe.file_name().is_some_and(|n| n == "interview-ide") {
        return exe;
    }
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join("interview-ide"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| exe.with_file_name("interview-ide"))
}

impl Client {
    /// Reads the helper's replies and exits on `reader` (its own handle of the socket, so
    /// that dropping the last client ends the helper) until the helper ends.
    async fn read_loop(me: std::sync::Weak<Client>, reader: AsyncFd<OwnedFd>) {
        let mut buf = vec![0u8; MAX_MESSAGE];
        loop {
            let (n, _fds) = match recv(&reader, &mut buf).await {
                Ok(Some(m)) => m,
                Ok(None) | Err(_) => break,
            };
            let Some(this) = me.upgrade() else { return };
            match serde_json::from_slice::<FromHelper>(&buf[..n]) {
                Ok(FromHelper::Reply { id, result }) => {
                    if let Some(tx) = this.pending.lock().remove(&id) {
                        let _ = tx.send(result);
                    }
                }
                Ok(FromHelper::Exited { child, status }) => {
                    if let Some(tx) = this.exits.lock().remove(&child) {
                        let _ = tx.send(status);
                    }
                }
                Err(e) => tracing::error!(error = %e, "unreadable message from the sandbox helper"),
            }
        }
        let Some(this) = me.upgrade() else { return };
        this.gone.store(true, Ordering::SeqCst);
        this.pending.lock().clear();
        this.exits.lock().clear();
        tracing::error!(
            "the sandbox helper has stopped: no sandbox can start until the server restarts"
        );
    }

    /// Whether the helper still answers.
    pub fn alive(&self) -> bool {
        !self.gone.load(Ordering::SeqCst)
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        op: Op,
        fds: &[BorrowedFd<'_>],
    ) -> std::io::Result<T> {
        if !self.alive() {
            return Err(std::io::Error::other("the sandbox helper has stopped"));
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        let bytes = serde_json::to_vec(&Request { id, op }).map_err(std::io::Error::other)?;
        if let Err(e) = send(&self.sock, &bytes, fds).await {
            self.pending.lock().remove(&id);
            return Err(e);
        }
        let value = rx
            .await
            .map_err(|_| std::io::Error::other("the sandbox helper has stopped"))?
            .map_err(std::io::Error::other)?;
        serde_json::from_value(value).map_err(std::io::Error::other)
    }

    /// Fire and forget (from `Drop`): sent at once, or from a task when the socket is full.
    fn tell(self: &Arc<Self>, op: Op) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let Ok(bytes) = serde_json::to_vec(&Request { id, op }) else {
            return;
        };
        if send_now(self.sock.get_ref().as_fd(), &bytes, &[]).is_err() {
            let me = self.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = send(&me.sock, &bytes, &[]).await;
                });
            }
        }
    }

    pub(super) async fn spawn(
        self: &Arc<Self>,
        jail: Jail,
        stdio: [Option<OwnedFd>; 3],
        terminal: bool,
    ) -> std::io::Result<(u32, u64, oneshot::Receiver<i32>)> {
        let child = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        // Registered before asking: the exit may arrive before the reply is read.
        self.exits.lock().insert(child, tx);
        let mask = [stdio[0].is_some(), stdio[1].is_some(), stdio[2].is_some()];
        let fds: Vec<BorrowedFd> = stdio.iter().flatten().map(|f| f.as_fd()).collect();
        match self
            .call::<u32>(
                Op::Spawn {
                    child,
                    jail,
                    stdio: mask,
                    terminal,
                },
                &fds,
            )
            .await
        {
            Ok(pid) => Ok((pid, child, rx)),
            Err(e) => {
                self.exits.lock().remove(&child);
                Err(e)
            }
        }
    }

    pub(super) fn kill(self: &Arc<Self>, child: u64) {
        self.tell(Op::Kill { child });
    }

    pub(super) fn unscratch_later(self: &Arc<Self>, name: &str) {
        self.tell(Op::Unscratch { name: name.into() });
    }

    pub async fn group(&self, name: &str, limits: &Limits) -> std::io::Result<bool> {
        self.call(
            Op::Group {
                name: name.into(),
                limits: *limits,
            },
            &[],
        )
        .await
    }

    pub async fn stats(&self, name: &str) -> std::io::Result<cgroups::Stats> {
        self.call(Op::Stats { name: name.into() }, &[]).await
    }

    pub async fn remove_group(&self, name: &str) {
        let _: std::io::Result<()> = self.call(Op::RemoveGroup { name: name.into() }, &[]).await;
    }

    pub async fn remove_groups(&self, prefix: &str) {
        let _: std::io::Result<()> = self
            .call(
                Op::RemoveGroups {
                    prefix: prefix.into(),
                },
                &[],
            )
            .await;
    }

    pub async fn live_groups(&self) -> std::io::Result<Vec<String>> {
        self.call(Op::LiveGroups, &[]).await
    }

    /// The helper's cgroups, asked once at start (`/readyz` reads it often).
    pub async fn load_status(&self) -> std::io::Result<cgroups::Status> {
        let s: cgroups::Status = self.call(Op::Status, &[]).await?;
        let _ = self.status.set(s.clone());
        Ok(s)
    }

    pub fn status(&self) -> Option<&cgroups::Status> {
        self.status.get()
    }

    pub async fn scratch_works(&self) -> bool {
        self.call(Op::ScratchWorks, &[]).await.unwrap_or(false)
    }

    pub async fn scratch(&self, name: &str, bytes: u64, uid: u32) -> std::io::Result<()> {
        self.call(
            Op::Scratch {
                name: name.into(),
                bytes,
                uid,
            },
            &[],
        )
        .await
    }

    pub async fn unscratch(&self, name: &str) -> std::io::Result<()> {
        self.call(Op::Unscratch { name: name.into() }, &[]).await
    }

    pub async fn disk_create(&self, id: &str, bytes: u64, uid: u32) -> std::io::Result<()> {
        self.call(
            Op::DiskCreate {
                id: id.into(),
                bytes,
                uid,
            },
            &[],
        )
        .await
    }

    pub async fn disk_mount(&self, id: &str) -> std::io::Result<()> {
        self.call(Op::DiskMount { id: id.into() }, &[]).await
    }

    pub async fn disk_unmount(&self, id: &str) -> std::io::Result<()> {
        self.call(Op::DiskUnmount { id: id.into() }, &[]).await
    }

    pub async fn disk_remove(&self, id: &str) -> std::io::Result<()> {
        self.call(Op::DiskRemove { id: id.into() }, &[]).await
    }

    /// Hands workspace `id`'s runtime folder (`run`; with `tree`, its files too) to `uid` and the
    /// sandboxes' group.
    pub async fn give_to(&self, id: &str, uid: u32, tree: bool) -> std::io::Result<()> {
        self.call(
            Op::GiveTo {
                id: id.into(),
                uid,
                tree,
            },
            &[],
        )
        .await
    }

    /// Hands `path` (a file or folder the platform just made in workspace `id`) to `uid`, so the
    /// candidate can change its mode too.
    pub async fn give_path(&self, id: &str, uid: u32, path: &str) -> std::io::Result<()> {
        self.call(
            Op::GivePath {
                id: id.into(),
                uid,
                path: path.into(),
            },
            &[],
        )
        .await
    }
}
