//! Saves made anywhere in the project (the terminal, VS Code, the shared editor) become "saved"
//! markers on the interviewer's live view of the app, so a change in the app's behaviour can be
//! read against the edit that caused it. The project folder is scanned once a second: the
//! sandbox writes the same host folder, and a scan of an exercise's few dozen files costs far less
//! than a watch descriptor per folder would need to be kept right across renames.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use super::traffic::Traffic;

const SCAN_EVERY: Duration = Duration::from_secs(1);
/// A project bigger than this is only partly watched (the rest is dependencies or data).
const MAX_FILES: usize = 5_000;
const MAX_DEPTH: usize = 12;
/// Folders that tools write to on their own: their changes are not the candidate's saves.
const SKIPPED_DIRS: [&str; 4] = ["node_modules", "__pycache__", "target", "dist"];

/// A file's identity for "has it changed": modification time and length.
type Seen = HashMap<PathBuf, (SystemTime, u64)>;

/// Scans `root` until `stop`; `database` (the app's own SQLite file, with its journals) is left out.
pub fn watch(root: PathBuf, database: Option<PathBuf>, traffic: Arc<Traffic>, stop: CancellationToken) {
    let ignored: Vec<PathBuf> = database
        .map(|db| ["", "-wal", "-shm", "-journal"].iter().map(|s| PathBuf::from(format!("{}{s}", db.display()))).collect())
        .unwrap_or_default();
    tokio::spawn(async move {
        let mut seen: Option<Seen> = None;
        let mut tick = tokio::time::interval(SCAN_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let (dir, skip) = (root.clone(), ignored.clone());
            let Ok(now) = tokio::task::spawn_blocking(move || scan(&dir, &skip)).await else { break };
            if let Some(before) = &seen {
                for rel in changed(before, &now, &root) {
                    traffic.mark("file", format!("saved {rel}"));
                }
            }
            seen = Some(now);
        }
    });
}

/// Files new or changed since `before`, relative to `root`, in a stable order.
fn changed(before: &Seen, now: &Seen, root: &Path) -> Vec<String> {
    let mut out: Vec<String> = now
        .iter()
        .filter(|(path, stat)| before.get(*path) != Some(*stat))
        .filter_map(|(path, _)| path.strip_prefix(root).ok().map(|p| p.to_string_lossy().into_owned()))
        .collect();
    out.sort();
    out
}

fn scan(root: &Path, ignored: &[PathBuf]) -> Seen {
    let mut seen = Seen::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Hidden entries are tools' state (.git, .pytest_cache, .vscode), not the project.
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            // Never follows a link: the candidate could point one anywhere.
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if depth < MAX_DEPTH && !SKIPPED_DIRS.contains(&name.as_ref()) {
                    stack.push((path, depth + 1));
                }
            } else if kind.is_file() && !ignored.contains(&path) {
                if let Ok(m) = entry.metadata() {
                    if let Ok(modified) = m.modified() {
                        seen.insert(path, (modified, m.len()));
                    }
                }
                if seen.len() >= MAX_FILES {
                    return seen;
                }
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_sees_new_and_changed_files_but_not_tools_or_the_database() {
        let dir = std::env::temp_dir().join(format!("iide-saves-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for d in ["src", "node_modules/x", "__pycache__", ".git", "data"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(dir.join("src/app.ts"), "a").unwrap();
        let db = dir.join("data/app.db");
        let ignored = vec![db.clone(), PathBuf::from(format!("{}-wal", db.display()))];
        let before = scan(&dir, &ignored);
        std::fs::write(dir.join("src/app.ts"), "ab").unwrap();
        std::fs::write(dir.join("README.md"), "new").unwrap();
        for noise in ["node_modules/x/i.js", "__pycache__/m.pyc", ".git/index", "data/app.db", "data/app.db-wal"] {
            std::fs::write(dir.join(noise), "x").unwrap();
        }
        let after = scan(&dir, &ignored);
        assert_eq!(changed(&before, &after, &dir), vec!["README.md".to_string(), "src/app.ts".to_string()]);
        assert!(changed(&after, &scan(&dir, &ignored), &dir).is_empty(), "nothing changed since");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
