//! code-server (VS Code in the browser) per workspace: started in the sandbox on first use,
//! listening on a Unix socket that only the platform's reverse proxy reaches, with its auth off
//! (the platform checks the session's cookie) and its own port proxy disabled.

use std::path::PathBuf;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;

use super::sandbox::{self, Sandbox, Spec};
use crate::installing::{self, Feature};
use crate::sandbox::Io;

pub const INSTALL_HINT: &str = "code-server is not installed on this server. Run ./scripts/start.sh (it installs it into /opt/interview-ide/code-server), or set CODE_SERVER_BIN to its path.";

#[derive(Debug, Serialize)]
pub struct Status {
    pub installed: bool,
    /// The set-up scripts are installing it now (it switches on by itself).
    pub installing: bool,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_hint: Option<String>,
}

pub struct CodeServer {
    sandbox: Sandbox,
    bin: PathBuf,
    pub socket: PathBuf,
    child: Mutex<Option<crate::sandbox::Child>>,
    start: tokio::sync::Mutex<()>,
}

impl CodeServer {
    pub fn new(sandbox: Sandbox, bin: PathBuf) -> CodeServer {
        let socket = sandbox.runtime.join("code.sock");
        CodeServer {
            sandbox,
            bin,
            socket,
            child: Mutex::new(None),
            start: tokio::sync::Mutex::new(()),
        }
    }

    pub fn installed(&self) -> bool {
        self.bin.is_file()
    }

    fn running(&self) -> bool {
        let mut child = self.child.lock();
        match child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn status(&self) -> Status {
        let installed = self.installed();
        // The installer's file is read only when code-server is missing.
        let installing = !installed && self.installing();
        Status {
            installed,
            installing,
            state: if self.running() { "running" } else { "stopped" },
            install_hint: (!installed).then(|| not_installed(installing)),
        }
    }

    fn installing(&self) -> bool {
        installing::is_pending(&self.sandbox.tools_dir, Feature::CodeServer)
    }

    /// Starts code-server unless it runs, and waits until its socket answers.
    pub async fn ensure_running(&self) -> Result<(), String> {
        if !self.installed() {
            return Err(not_installed(self.installing()));
        }
        let _one_at_a_time = self.start.lock().await;
        if self.running() && tokio::net::UnixStream::connect(&self.socket).await.is_ok() {
            return Ok(());
        }
        let _ = std::fs::remove_file(&self.socket);
        let home = sandbox::HOME;
        let cs = vec![
            self.bin.display().to_string(),
            "--socket".into(),
            sandbox::CODE_SERVER_SOCKET.into(),
            "--auth".into(),
            "none".into(),
            "--disable-telemetry".into(),
            "--disable-update-check".into(),
            "--disable-workspace-trust".into(),
            "--disable-getting-started-override".into(),
            // Its /proxy/<port>/ route would reach any port inside the sandbox from the browser.
            "--disable-proxy".into(),
            "--disable-file-downloads".into(),
            "--user-data-dir".into(),
            format!("{home}/.code-server/data"),
            "--extensions-dir".into(),
            format!("{home}/.code-server/extensions"),
            sandbox::WORKSPACE.into(),
        ];
        let argv = sandbox::with_forwarder(&sandbox::with_vscode_settings(
            &cs,
            &format!("{home}/.code-server/data"),
        ));
        let env = vec![
            ("XDG_CONFIG_HOME".to_string(), format!("{home}/.config")),
            ("XDG_DATA_HOME".to_string(), format!("{home}/.local/share")),
        ];
        let spec = Spec {
            argv: &argv,
            group: "vscode",
            new_session: true,
            extra_env: env,
        };
        let jail = self.sandbox.jail(&spec).await.map_err(|e| e.to_string())?;
        let child = jail
            .spawn(&self.sandbox.helper, Io::Null, Io::Null, Io::Null)
            .await
            .map_err(|e| format!("could not start code-server: {e}"))?;
        *self.child.lock() = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            if tokio::net::UnixStream::connect(&self.socket).await.is_ok() {
                return Ok(());
            }
            if !self.running() {
                return Err("code-server exited while starting".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("code-server did not start in time".into())
    }

    pub fn stop(&self) {
        if let Some(mut c) = self.child.lock().take() {
            c.start_kill();
        }
    }
}

/// Why code-server cannot start: being installed right now, or not installed at all.
fn not_installed(installing: bool) -> String {
    match installing {
        true => Feature::CodeServer.not_yet(),
        false => INSTALL_HINT.into(),
    }
}
