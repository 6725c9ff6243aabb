//! Saves made anywhere in the project (the terminal, VS Code, the shared editor) become "saved"
//! markers on the interviewer's live view of the app, so a change in the app's behaviour can be
//! read against the edit that caused it. The project folder is scanned once a second: the
//! sandbox writes the same host folder, and a scan of an exercise's few dozen files costs far less
//! than a watch descriptor per folder would need to be kept right across renames.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::files::Tree;
use super::traffic::Traffic;

const SCAN_EVERY: Duration = Duration::from_secs(1);
/// A project bigger than this is only partly watched (the rest is dependencies or data).
const MAX_FILES: usize = 5_000;
const MAX_DEPTH: usize = 12;
/// Folders that tools write to on their own: their changes are not the candidate's saves.
const SKIPPED_DIRS: [&str; 4] = ["node_modules", "__pycache__", "target", "dist"];

/// A file's identity for "has it changed": modification time (s, ns) and length, by path
/// relative to the workspace.
type Seen = HashMap<String, (i64, i64, u64)>;

/// Scans the workspace until `stop`; `database` (the app's own SQLite file, relative to the
/// workspace, with its journals) is left out.
pub fn watch(
    files: Arc<Tree>,
    database: Option<String>,
    traffic: Arc<Traffic>,
    stop: CancellationToken,
) {
    let ignored: Vec<String> = database
        .map(|db| {
            ["", "-wal", "-shm", "-journal"]
                .iter()
                .map(|s| format!("{db}{s}"))
                .collect()
        })
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
            let (tree, skip) = (files.clone(), ignored.clone());
            let Ok(now) = tokio::task::spawn_blocking(move || scan(&tree, &skip)).await else {
                break;
            };
            if let Some(before) = &seen {
                for rel in changed(before, &now) {
                    traffic.mark("file", format!("saved {rel}"));
                }
            }
            seen = Some(now);
        }
    });
}

/// Files new or changed since `before`, in a stable order.
fn changed(before: &Seen, now: &Seen) -> Vec<String> {
    let mut out: Vec<String> = now
        .iter()
        .filter(|(path, stat)| before.get(*path) != Some(*stat))
        .map(|(path, _)| path.clone())
        .collect();
    out.sort();
    out
}

/// The project's files, through the workspace's handle (never following a link: the candidate
/// could point one anywhere).
fn scan(files: &Tree, ignored: &[String]) -> Seen {
    let mut seen = Seen::new();
    files.walk(MAX_DEPTH, |item| {
        // Hidden entries are tools' state (.git, .pytest_cache, .vscode), not the project.
        if item.name.starts_with('.') || seen.len() >= MAX_FILES {
            return false;
        }
        if item.is_dir() {
            return !SKIPPED_DIRS.contains(&item.name);
        }
        if !ignored.iter().any(|i| i == item.rel) {
            seen.insert(
                item.rel.to_string(),
                (
                    item.stat.st_mtime,
                    item.stat.st_mtime_nsec as i64,
                    item.stat.st_size as u64,
                ),
            );
        }
        false
    });
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_sees_new_and_changed_files_but_not_tools_or_the_database() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(tmp.path()).unwrap();
        for d in ["src", "node_modules/x", "__pycache__", ".git", "data"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(dir.join("src/app.ts"), "a").unwrap();
        let ignored = vec!["data/app.db".to_string(), "data/app.db-wal".to_string()];
        let tree = Tree::open(&dir).unwrap();
        let before = scan(&tree, &ignored);
        std::fs::write(dir.join("src/app.ts"), "ab").unwrap();
        std::fs::write(dir.join("README.md"), "new").unwrap();
        for noise in [
            "node_modules/x/i.js",
            "__pycache__/m.pyc",
            ".git/index",
            "data/app.db",
            "data/app.db-wal",
        ] {
            std::fs::write(dir.join(noise), "x").unwrap();
        }
        // A link to a host folder is never walked into.
        std::os::unix::fs::symlink("/etc", dir.join("src/etc")).unwrap();
        let after = scan(&tree, &ignored);
        assert_eq!(
            changed(&before, &after),
            vec!["README.md".to_string(), "src/app.ts".to_string()]
        );
        assert!(
            changed(&after, &scan(&tree, &ignored)).is_empty(),
            "nothing changed since"
        );
    }
}
