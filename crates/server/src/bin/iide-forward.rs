//! Runs inside a workspace's sandbox: 127.0.0.1:<port> there leads to the platform's proxy in
//! front of the app (a Unix socket bound into the sandbox), so the candidate's `curl` goes the
//! same way as the browser's requests, through the Chaos Engine's faults.
//!
//! `iide-forward <port> <socket>`: detaches into a session of its own (Ctrl+C in the terminal
//! must not stop it), then forwards each connection on a thread of its own. Std only: it is
//! started in every sandbox and should cost next to nothing.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;

fn pipe(mut from: impl Read, mut to: impl Write, done: impl FnOnce()) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    done();
}

fn serve(client: TcpStream, socket: &str) {
    let Ok(upstream) = UnixStream::connect(socket) else {
        return;
    };
    let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    std::thread::spawn(move || pipe(c2, u2, || {}));
    let c3 = client.try_clone();
    pipe(upstream, client, move || {
        if let Ok(c) = c3 {
            let _ = c.shutdown(Shutdown::Both);
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(port), Some(socket)) = (
        args.get(1).and_then(|p| p.parse::<u16>().ok()),
        args.get(2).cloned(),
    ) else {
        eprintln!("usage: iide-forward <port> <unix socket>");
        std::process::exit(2);
    };
    // SAFETY: setsid has no preconditions; failing (already a leader) is harmless.
    unsafe { libc::setsid() };
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("iide-forward: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    for client in listener.incoming().flatten() {
        let socket = socket.clone();
        let _ = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || serve(client, &socket));
    }
}
