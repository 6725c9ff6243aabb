//! Exercises: a folder per exercise under the exercises directory, with an `exercise.toml` manifest
//! (title, app commands, interviewer notes, chaos scenarios) and a `project/` folder that becomes
//! each session's workspace. Only `project/` is ever shown to the candidate (docs/EXERCISES.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::faults::FaultSpec;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub interviewer_notes: String,
    pub app: AppSpec,
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
    /// The app's SQLite database, relative to the workspace: data actions and reset act on it.
    pub database: Option<String>,
    /// The Python requirements of the exercise's environment (installed by the set-up scripts).
    pub requirements: Option<String>,
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
            let manifest: Manifest =
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", manifest_path.display()))?;
            validate(&id, &manifest).map_err(|e| anyhow::anyhow!("{}: {e}", manifest_path.display()))?;
            if !path.join("project").is_dir() {
                anyhow::bail!("{}: the exercise has no project/ folder", path.display());
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
            .map(|e| ExerciseSummary { id: e.id.clone(), title: e.manifest.title.clone(), description: e.manifest.description.clone() })
            .collect()
    }
}

fn validate(id: &str, m: &Manifest) -> Result<(), String> {
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("exercise id '{id}' must be letters, digits, '-' or '_'"));
    }
    if m.app.command.is_empty() {
        return Err("app.command is empty".into());
    }
    let mut seen = std::collections::HashSet::new();
    for s in &m.scenarios {
        if !seen.insert(s.id.as_str()) {
            return Err(format!("scenario id '{}' appears twice", s.id));
        }
        for a in &s.actions {
            match a {
                Action::Network(f) => f.validate().map_err(|e| format!("scenario '{}': {e}", s.id))?,
                Action::Data { .. } if m.app.database.is_none() => {
                    return Err(format!("scenario '{}' has a data action but app.database is not set", s.id));
                }
                Action::Traffic { path, .. } if !path.starts_with('/') => {
                    return Err(format!("scenario '{}': traffic path must start with '/'", s.id));
                }
                _ => {}
            }
        }
    }
    Ok(())
}
