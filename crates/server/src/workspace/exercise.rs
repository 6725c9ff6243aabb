//! Exercises: a folder per exercise under the exercises directory, with an `exercise.toml` manifest
//! (title, app commands, runtime, interviewer notes, chaos scenarios) and a `project/` folder that
//! becomes each session's workspace. Only `project/` is ever shown to the candidate
//! (docs/EXERCISES.md).
//!
//! What an exercise runs is data: its `[runtime]` table names the environment (folders on PATH,
//! environment variables), how the set-up scripts install it, the app's database, the headers of
//! the app server's own error answers, and the files the workspace opens first. Nothing here or in
//! the sandbox names a language or a framework.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::faults::FaultSpec;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub title: String,
    pub description: String,
    /// The technologies, as the exercise picker shows them (e.g. "Python · FastAPI · SQLite").
    #[serde(default)]
    pub stack: String,
    /// How long an interview on it usually takes, in minutes.
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// What it probes in a candidate, a few words each (the picker lists them).
    #[serde(default)]
    pub probes: Vec<String>,
    #[serde(default)]
    pub interviewer_notes: String,
    pub app: AppSpec,
    #[serde(default)]
    pub runtime: Runtime,
    #[serde(default)]
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// Run once in the sandbox when a workspace is created (e.g. to create and seed the database).
    #[serde(default)]
    pub setup: Vec<String>,
    /// Starts the app; `{socket}` becomes the Unix socket it must listen on.
    pub command: Vec<String>,
}

/// What the exercise's processes run with (`[runtime]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    /// The environment's folder, relative to the tools directory (e.g. `venvs/trading-backend`);
    /// `{env}` in `path` and `env` stands for its full path. The tools directory is mounted
    /// read-only in every sandbox at the same path.
    pub environment: Option<String>,
    /// Folders put on PATH before the system's (`/usr/local/bin:/usr/bin:/bin`), in this order.
    #[serde(default)]
    pub path: Vec<String>,
    /// Environment variables of the app, the setup command and the terminal.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Files the workspace opens first, relative to the project (the web app shows them).
    #[serde(default)]
    pub open_first: Vec<String>,
    /// Printed when the candidate's terminal opens; `{app_url}` is the app's address there.
    pub terminal_greeting: Option<String>,
    /// How the set-up scripts build the environment (read by scripts/lib.sh, not by the server).
    pub install: Option<Install>,
    /// The app's database: data actions and reset act on it.
    pub database: Option<Database>,
    /// What the app's own server sends with an error it answers itself.
    #[serde(default)]
    pub error_response: ErrorResponse,
}

/// `[runtime.install]`: run on the host by the set-up scripts, not by the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// Debian packages the commands need.
    #[serde(default)]
    pub packages: Vec<String>,
    /// Shell commands; `{env}` is the environment's folder, `{exercise}` the exercise's folder.
    pub commands: Vec<String>,
    /// Files of the exercise folder whose change means: install again.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// A command whose output, when it changes, also means: install again (e.g. the interpreter's version).
    pub fingerprint: Option<String>,
}

/// `[runtime.database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Database {
    /// An SQLite file, relative to the workspace.
    Sqlite { path: String },
}

/// `[runtime.error_response]`: an error the platform answers in the app's place (a chaos `error`
/// fault) carries these headers, so it cannot be told from the app's own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorResponse {
    #[serde(default = "plain_text")]
    pub headers: BTreeMap<String, String>,
}

impl Default for ErrorResponse {
    fn default() -> Self {
        ErrorResponse {
            headers: plain_text(),
        }
    }
}

fn plain_text() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "content-type".to_string(),
        "text/plain; charset=utf-8".to_string(),
    )])
}

impl Runtime {
    /// The environment's full path (host and sandbox alike), if the exercise has one.
    pub fn environment_dir(&self, tools_dir: &Path) -> Option<PathBuf> {
        self.environment.as_ref().map(|e| tools_dir.join(e))
    }

    /// `text` with `{env}` replaced by the environment's folder.
    fn expand(&self, text: &str, tools_dir: &Path) -> String {
        match self.environment_dir(tools_dir) {
            Some(dir) => text.replace("{env}", &dir.display().to_string()),
            None => text.to_string(),
        }
    }

    /// PATH entries before the system's, expanded.
    pub fn path_entries(&self, tools_dir: &Path) -> Vec<String> {
        self.path
            .iter()
            .map(|p| self.expand(p, tools_dir))
            .collect()
    }

    /// The environment variables, expanded.
    pub fn env_vars(&self, tools_dir: &Path) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), self.expand(v, tools_dir)))
            .collect()
    }

    /// The database file of an SQLite database, relative to the workspace.
    pub fn sqlite_path(&self) -> Option<&str> {
        match &self.database {
            Some(Database::Sqlite { path }) => Some(path),
            None => None,
        }
    }

    /// The error headers, checked at load time.
    pub fn error_headers(&self) -> Vec<(axum::http::HeaderName, axum::http::HeaderValue)> {
        self.error_response
            .headers
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    axum::http::HeaderName::from_bytes(k.as_bytes()).ok()?,
                    axum::http::HeaderValue::from_str(v).ok()?,
                ))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub watch_for: String,
    #[serde(default)]
    pub actions: Vec<Action>,
    /// What "fixed" means for this scenario, checked against the running app on request.
    #[serde(default)]
    pub checks: Vec<Check>,
}

/// A recovery check (`[[scenarios.checks]]`): an HTTP probe of the app or an SQL invariant on its
/// database (docs/EXERCISES.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub id: String,
    pub title: String,
    pub kind: CheckKind,
    /// A query on the app's database that must return no rows: the whole of an `sql` check; for
    /// an `http` check, an invariant read once every answer has arrived.
    #[serde(default)]
    pub query: Option<String>,
    /// SQL run on the app's database before the check: the data its probe acts on (a customer of
    /// its own, so it never touches the candidate's rows).
    #[serde(default)]
    pub setup: Option<String>,
    /// SQL run after the check, passed or not: removes what `setup` and the probe wrote.
    #[serde(default)]
    pub cleanup: Option<String>,
    /// `http`: the request, sent through the session's proxy (and its faults) like the candidate's.
    #[serde(default = "get")]
    pub method: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Sent this many times (`concurrency` at a time); every answer must pass.
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default = "one")]
    pub concurrency: u32,
    /// Accepted statuses; none listed means any 2xx.
    #[serde(default)]
    pub status: Vec<u16>,
    /// Each answer (head and body) within this many milliseconds.
    #[serde(default)]
    pub max_ms: Option<u64>,
    /// Values in the answer: a JSON path or a header, equal to a value or within bounds.
    #[serde(default)]
    pub expect: Vec<Expect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Http,
    Sql,
}

/// One value an HTTP check reads from each answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// A path into the JSON body: keys and array indexes separated by dots (`0.price`,
    /// `holdings.1.quantity`); `length` after an array or object is its size.
    #[serde(default)]
    pub json: Option<String>,
    /// A response header (its value read as a number for `min`/`max`).
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Action {
    /// SQL statements run against the app's database.
    Data { sql: String },
    /// Requests the platform sends to the app through its proxy; `{i}` in the body is the request's number.
    Traffic {
        method: String,
        path: String,
        #[serde(default)]
        body: Option<String>,
        #[serde(default = "one")]
        count: u32,
        #[serde(default = "one")]
        concurrency: u32,
    },
    /// A fault in the proxy in front of the app.
    Network(FaultSpec),
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone)]
pub struct Exercise {
    pub id: String,
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Exercise {
    pub fn project_dir(&self) -> PathBuf {
        self.dir.join("project")
    }
}

/// The exercises found at start-up, by id (the folder name).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    exercises: BTreeMap<String, Exercise>,
}

#[derive(Debug, Serialize)]
pub struct ExerciseSummary {
    pub id: String,
    pub title: String,
    pub description: String,
    pub stack: String,
    pub duration_minutes: Option<u32>,
    pub probes: Vec<String>,
    /// The Chaos Engine's scenarios, by title.
    pub scenarios: Vec<String>,
}

/// What the web app needs to know of a workspace session's exercise.
#[derive(Debug, Serialize)]
pub struct ExerciseInfo {
    pub id: String,
    pub title: String,
    pub open_first: Vec<String>,
}

impl Exercise {
    pub fn info(&self) -> ExerciseInfo {
        ExerciseInfo {
            id: self.id.clone(),
            title: self.manifest.title.clone(),
            open_first: self.manifest.runtime.open_first.clone(),
        }
    }
}

impl Catalog {
    /// Reads every `<dir>/<id>/exercise.toml`. A missing directory is an empty catalog; a broken
    /// manifest is an error, so a typo is found at start-up rather than in an interview.
    pub fn load(dir: &Path) -> anyhow::Result<Catalog> {
        let mut exercises = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            tracing::warn!(dir = %dir.display(), "no exercises directory: workspace sessions are unavailable");
            return Ok(Catalog::default());
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let manifest_path = path.join("exercise.toml");
            if !manifest_path.is_file() {
                continue;
            }
            let id = entry.file_name().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&manifest_path)?;
            let manifest: Manifest = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", manifest_path.display()))?;
            validate(&id, &manifest)
                .map_err(|e| anyhow::anyhow!("{}: {e}", manifest_path.display()))?;
            if !path.join("project").is_dir() {
                anyhow::bail!("{}: the exercise has no project/ folder", path.display());
            }
            for file in &manifest.runtime.open_first {
                if !path.join("project").join(file).is_file() {
                    anyhow::bail!(
                        "{}: runtime.open_first: project/{file} does not exist",
                        manifest_path.display()
                    );
                }
            }
            let dir = std::fs::canonicalize(&path)?;
            exercises.insert(id.clone(), Exercise { id, dir, manifest });
        }
        Ok(Catalog { exercises })
    }

    pub fn get(&self, id: &str) -> Option<&Exercise> {
        self.exercises.get(id)
    }

    pub fn ids(&self) -> Vec<String> {
        self.exercises.keys().cloned().collect()
    }

    pub fn summaries(&self) -> Vec<ExerciseSummary> {
        self.exercises
            .values()
            .map(|e| ExerciseSummary {
                id: e.id.clone(),
                title: e.manifest.title.clone(),
                description: e.manifest.description.clone(),
                stack: e.manifest.stack.clone(),
                duration_minutes: e.manifest.duration_minutes,
                probes: e.manifest.probes.clone(),
                scenarios: e
                    .manifest
                    .scenarios
                    .iter()
                    .map(|s| s.title.clone())
                    .collect(),
            })
            .collect()
    }
}

fn validate(id: &str, m: &Manifest) -> Result<(), String> {
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "exercise id '{id}' must be letters, digits, '-' or '_'"
        ));
    }
    if m.app.command.is_empty() {
        return Err("app.command is empty".into());
    }
    validate_runtime(&m.runtime)?;
    let mut seen = std::collections::HashSet::new();
    for s in &m.scenarios {
        if !seen.insert(s.id.as_str()) {
            return Err(format!("scenario id '{}' appears twice", s.id));
        }
        for a in &s.actions {
            match a {
                Action::Network(f) => f
                    .validate()
                    .map_err(|e| format!("scenario '{}': {e}", s.id))?,
                Action::Data { .. } if m.runtime.database.is_none() => {
                    return Err(format!(
                        "scenario '{}' has a data action but runtime.database is not set",
                        s.id
                    ));
                }
                Action::Traffic { path, .. } if !path.starts_with('/') => {
                    return Err(format!(
                        "scenario '{}': traffic path must start with '/'",
                        s.id
                    ));
                }
                _ => {}
            }
        }
        validate_checks(s, m.runtime.database.is_some())?;
    }
    Ok(())
}

fn validate_checks(s: &Scenario, has_database: bool) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for c in &s.checks {
        let at = format!("scenario '{}', check '{}'", s.id, c.id);
        if c.id.is_empty() || !seen.insert(c.id.as_str()) {
            return Err(format!(
                "{at}: check ids must be non-empty and unique in their scenario"
            ));
        }
        if !has_database
            && (c.kind == CheckKind::Sql
                || c.query.is_some()
                || c.setup.is_some()
                || c.cleanup.is_some())
        {
            return Err(format!(
                "{at}: a check with SQL (query, setup, cleanup) needs runtime.database"
            ));
        }
        match c.kind {
            CheckKind::Sql => {
                if c.query.as_deref().is_none_or(|q| q.trim().is_empty()) || c.path.is_some() {
                    return Err(format!("{at}: an sql check has a query and no path"));
                }
            }
            CheckKind::Http => {
                if !c.path.as_deref().is_some_and(|p| p.starts_with('/')) {
                    return Err(format!("{at}: an http check has a path starting with '/'"));
                }
                if axum::http::Method::from_bytes(c.method.as_bytes()).is_err() {
                    return Err(format!("{at}: invalid method '{}'", c.method));
                }
                if c.count == 0 || c.count > 100 || c.concurrency == 0 || c.concurrency > 20 {
                    return Err(format!("{at}: count must be 1-100 and concurrency 1-20"));
                }
                for (k, v) in &c.headers {
                    if axum::http::HeaderName::from_bytes(k.as_bytes()).is_err()
                        || axum::http::HeaderValue::from_str(v).is_err()
                    {
                        return Err(format!("{at}: '{k}: {v}' is not a valid header"));
                    }
                }
                for e in &c.expect {
                    if e.json.is_some() == e.header.is_some() {
                        return Err(format!("{at}: each expect names one of json or header"));
                    }
                    if e.equals.is_none() && e.min.is_none() && e.max.is_none() {
                        return Err(format!("{at}: each expect has equals, min or max"));
                    }
                }
            }
        }
    }
    Ok(())
}

/// A path relative to a folder that stays inside it.
fn relative_inside(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && path.is_relative()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn validate_runtime(r: &Runtime) -> Result<(), String> {
    if let Some(e) = &r.environment
        && !relative_inside(e)
    {
        return Err(format!(
            "runtime.environment '{e}' must be a relative path inside the tools directory"
        ));
    }
    for (k, v) in &r.env {
        if k.is_empty()
            || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            || k.as_bytes()[0].is_ascii_digit()
        {
            return Err(format!("runtime.env: '{k}' is not a valid variable name"));
        }
        // The platform sets these; PATH comes from runtime.path.
        if ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "APP_URL"].contains(&k.as_str()) {
            return Err(format!(
                "runtime.env: {k} is set by the platform (use runtime.path for PATH)"
            ));
        }
        if v.contains('\0') {
            return Err(format!("runtime.env: {k} contains a NUL character"));
        }
    }
    if r.path.iter().any(|p| p.is_empty() || p.contains(':')) {
        return Err("runtime.path: entries must be non-empty and contain no ':'".into());
    }
    for f in &r.open_first {
        if !relative_inside(f) {
            return Err(format!(
                "runtime.open_first: '{f}' must be a relative path inside the project"
            ));
        }
    }
    if let Some(Database::Sqlite { path }) = &r.database
        && !relative_inside(path)
    {
        return Err(format!(
            "runtime.database.path '{path}' must be a relative path inside the workspace"
        ));
    }
    for (k, v) in &r.error_response.headers {
        if axum::http::HeaderName::from_bytes(k.as_bytes()).is_err()
            || axum::http::HeaderValue::from_str(v).is_err()
        {
            return Err(format!(
                "runtime.error_response.headers: '{k}: {v}' is not a valid header"
            ));
        }
        if ["content-length", "date", "transfer-encoding", "connection"]
            .contains(&k.to_ascii_lowercase().as_str())
        {
            return Err(format!(
                "runtime.error_response.headers: {k} is set by the platform"
            ));
        }
    }
    if let Some(i) = &r.install {
        if i.commands.is_empty() {
            return Err("runtime.install.commands is empty".into());
        }
        if r.environment.is_none() {
            return Err("runtime.install needs runtime.environment (where to install)".into());
        }
        if let Some(bad) = i.inputs.iter().find(|f| !relative_inside(f)) {
            return Err(format!(
                "runtime.install.inputs: '{bad}' must be a relative path inside the exercise folder"
            ));
        }
    }
    Ok(())
}
