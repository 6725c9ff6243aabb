//! What a workspace adds to the one sandbox (`crate::sandbox`) for every process it runs (the
//! app, the terminal's shell, code-server, the setup, the Chaos Engine's sqlite3): the workspace
//! as the only writable folder besides a small /tmp and /home, the session's own passwd, hosts
//! and settings under /etc/iide, its runtime sockets, a uid of its own per session, and a limit
//! group per kind of process.

use std::path::PathBuf;

use crate::ids::SessionId;
pub use crate::sandbox::Limits;
use crate::sandbox::{self, Jail, Rlimits};

/// Where things are inside the sandbox.
pub const WORKSPACE: &str = "/workspace";
/// The sandbox's runtime folder (Unix sockets: the app's, code-server's, the platform's proxy).
pub const RUNTIME: &str = "/run/iide";
/// Read-only files the platform writes for the sandbox (passwd, shell profile, settings).
pub const CONF: &str = "/etc/iide";
/// The port forwarder (`iide-forward`), bound read-only.
const FORWARDER: &str = "/run/iide-bin/forward";
pub const HOME: &str = "/home/candidate";
pub const APP_SOCKET: &str = "/run/iide/app.sock";
pub const PROXY_SOCKET: &str = "/run/iide/proxy.sock";
pub const CODE_SERVER_SOCKET: &str = "/run/iide/code.sock";
/// The port the candidate uses to reach the app from inside the sandbox (forwarded to the proxy).
pub const APP_PORT: u16 = 8000;

/// One session's sandbox: its folders on the host and its user.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub session_id: SessionId,
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
    /// The `iide-forward` binary on the host.
    pub forwarder: PathBuf,
    /// The process that starts the sandbox's processes.
    pub helper: sandbox::Helper,
}

/// A sandboxed process to start.
pub struct Spec<'a> {
    pub argv: &'a [String],
    /// Which limit group (cgroup) it joins: the app, the shell and code-server have one each,
    /// so a runaway shell cannot starve the app the interviewer is watching. Starting a process
    /// of a group ends whatever the group still held.
    pub group: &'static str,
    /// Start in a new session (detached from any terminal). Off for the terminal's shell, which
    /// gets its pseudo-terminal as controlling terminal instead.
    pub new_session: bool,
    pub extra_env: Vec<(String, String)>,
}

/// A stable, per-session uid (files in the workspace are owned by it across restarts): a process
/// count limit per uid then bounds each session on its own.
pub fn uid_for(session_id: &SessionId) -> u32 {
    // FNV-1a: small, stable across versions (std's hasher is not).
    let mut h: u64 = 0xcbf29ce484222325;
    for b in session_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    200_000 + (h % 1_000_000) as u32
}

impl Sandbox {
    /// Writes the read-only files the sandbox sees at /etc/iide.
    pub fn write_conf(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.conf)?;
        std::fs::create_dir_all(&self.runtime)?;
        let uid = self.uid;
        std::fs::write(
            self.conf.join("passwd"),
            format!(
                "root:x:0:0:root:/root:/bin/false\ncandidate:x:{uid}:{uid}:Candidate:{HOME}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
            ),
        )?;
        std::fs::write(
            self.conf.join("group"),
            format!("root:x:0:\ncandidate:x:{uid}:\nnogroup:x:65534:\n"),
        )?;
        std::fs::write(
            self.conf.join("hosts"),
            "127.0.0.1 localhost app\n::1 localhost\n",
        )?;
        std::fs::write(self.conf.join("bashrc"), BASHRC)?;
        std::fs::write(
            self.conf.join("greeting"),
            format!(
                "{}\n",
                self.greeting.trim_end().replace("{app_url}", &app_url())
            ),
        )?;
        std::fs::write(self.conf.join("vscode-settings.json"), VSCODE_SETTINGS)?;
        Ok(())
    }

    fn env(&self) -> Vec<(String, String)> {
        let path: Vec<&str> = self
            .path
            .iter()
            .map(String::as_str)
            .chain(["/usr/local/bin", "/usr/bin", "/bin"])
            .collect();
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

    /// This sandbox's own mounts and environment (the common part is `crate::sandbox`'s).
    fn mounts(&self, spec: &Spec) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
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
        if self.forwarder.is_file() {
            push(&[
                "--ro-bind",
                &self.forwarder.display().to_string(),
                FORWARDER,
            ]);
        }
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
        a
    }

    /// The limit group of `group` in this session: `ws-<session>-<group>`.
    fn group_name(&self, group: &str) -> String {
        let id: String = self
            .session_id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!("ws-{id}-{group}")
    }

    /// What starts `spec` sandboxed, in a fresh limit group of its kind.
    pub async fn jail(&self, spec: &Spec<'_>) -> std::io::Result<Jail> {
        let group = sandbox::group(&self.helper, &self.group_name(spec.group), &self.limits)
            .await
            .map_err(std::io::Error::other)?;
        // Without a memory cgroup, an address-space limit still stops a memory hog (not for
        // code-server: V8 reserves far more address space than it uses).
        let address_space = (group.is_none() && spec.group != "vscode")
            .then(|| self.limits.memory_bytes.saturating_mul(2));
        Ok(Jail {
            hostname: "workspace".into(),
            new_session: spec.new_session,
            extra_etc: vec![],
            mounts: self.mounts(spec),
            argv: spec.argv.to_vec(),
            uid: self.uid,
            group: group.map(|g| g.name().to_string()),
            rlimits: Rlimits {
                processes: self.limits.processes,
                file_bytes: 512 << 20,
                open_files: 4096,
                cpu_seconds: None,
                address_space,
            },
        })
    }

    /// Kills whatever is left in the session's groups and removes them.
    pub async fn remove_cgroups(&self) {
        self.helper.remove_groups(&self.group_name("")).await;
    }

    /// Whether memory, process and CPU limits are enforced by cgroups here.
    pub fn cgroups_enforced(&self) -> bool {
        sandbox::status(&self.helper).problem.is_none()
    }
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
        format!(
            "mkdir -p {user_data_dir}/User && cp {CONF}/vscode-settings.json {user_data_dir}/User/settings.json; exec \"$@\""
        ),
        "sh".to_string(),
    ];
    out.extend(argv.iter().cloned());
    out
}

/// The argv that starts the forwarder in the background (inside the sandbox, 127.0.0.1:8000
/// leads to the platform's proxy in front of the app), then `then`.
pub fn with_forwarder(then: &[String]) -> Vec<String> {
    let mut argv = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        format!("{FORWARDER} {APP_PORT} {PROXY_SOCKET} >/dev/null 2>&1 & exec \"$@\""),
        "sh".to_string(),
    ];
    argv.extend(then.iter().cloned());
    argv
}
