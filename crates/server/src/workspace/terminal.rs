//! The workspace's shared terminal: one shell in the sandbox on a pseudo-terminal; its output is
//! kept as scrollback and broadcast to every watcher; only the candidate types.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::broadcast;

use super::sandbox::{self, Sandbox, Spec};

const SCROLLBACK_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub enum Output {
    Data(Bytes),
    Exit(Option<i32>),
}

pub struct Terminal {
    master: Mutex<std::fs::File>,
    master_fd: i32,
    scrollback: Mutex<VecDeque<u8>>,
    bus: broadcast::Sender<Output>,
    alive: std::sync::atomic::AtomicBool,
    kill: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl Terminal {
    /// Starts a shell in the sandbox on a new pseudo-terminal.
    pub async fn start(sandbox: &Sandbox, cols: u16, rows: u16) -> std::io::Result<Arc<Terminal>> {
        let (master, slave) = open_pty(cols, rows)?;
        let shell = vec![
            "/bin/bash".to_string(),
            "--rcfile".to_string(),
            format!("{}/bashrc", sandbox::CONF),
            "-i".to_string(),
        ];
        let argv = sandbox::with_forwarder(&shell);
        let spec = Spec {
            argv: &argv,
            group: "shell",
            new_session: false,
            extra_env: vec![],
        };
        let mut child = sandbox
            .jail(&spec)
            .await?
            .spawn_on_terminal(&sandbox.helper, slave)
            .await?;
        let master_fd = master.as_raw_fd();
        let reader = std::fs::File::from(master.try_clone()?);
        let (bus, _) = broadcast::channel(1024);
        let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
        let term = Arc::new(Terminal {
            master: Mutex::new(std::fs::File::from(master)),
            master_fd,
            scrollback: Mutex::new(VecDeque::new()),
            bus,
            alive: std::sync::atomic::AtomicBool::new(true),
            kill: Mutex::new(Some(kill_tx)),
        });
        // The pseudo-terminal is read on a thread of its own: reads block.
        let t = term.clone();
        std::thread::spawn(move || {
            let mut reader = reader;
            let mut buf = [0u8; 16 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => t.output(&buf[..n]),
                }
            }
        });
        let t = term.clone();
        tokio::spawn(async move {
            let code = tokio::select! {
                status = child.wait() => status.ok().and_then(|s| s.code()),
                _ = kill_rx => { let _ = child.kill().await; None }
            };
            t.alive.store(false, std::sync::atomic::Ordering::SeqCst);
            let _ = t.bus.send(Output::Exit(code));
        });
        Ok(term)
    }

    fn output(&self, data: &[u8]) {
        // Scrollback and broadcast under one lock, so a new watcher sees every byte exactly once.
        let mut sb = self.scrollback.lock();
        sb.extend(data);
        let excess = sb.len().saturating_sub(SCROLLBACK_BYTES);
        sb.drain(..excess);
        let _ = self.bus.send(Output::Data(Bytes::copy_from_slice(data)));
    }

    /// The scrollback so far and a subscription to what follows.
    pub fn watch(&self) -> (Vec<u8>, broadcast::Receiver<Output>) {
        let sb = self.scrollback.lock();
        let rx = self.bus.subscribe();
        (sb.iter().copied().collect(), rx)
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn input(&self, data: &[u8]) {
        let mut m = self.master.lock();
        let _ = m.write_all(data);
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        let ws = libc::winsize {
            ws_row: rows.clamp(2, 500),
            ws_col: cols.clamp(2, 1000),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: a valid fd we own and a valid winsize.
        unsafe { libc::ioctl(self.master_fd, libc::TIOCSWINSZ, &ws) };
    }

    pub fn stop(&self) {
        if let Some(k) = self.kill.lock().take() {
            let _ = k.send(());
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.stop();
    }
}

fn open_pty(cols: u16, rows: u16) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut master = -1;
    let mut slave = -1;
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: out-pointers to valid ints; openpty allocates the pair.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openpty returned two fresh descriptors that we now own.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [&master, &slave] {
        // SAFETY: valid fds; FD_CLOEXEC keeps them out of unrelated children.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok((master, slave))
}
