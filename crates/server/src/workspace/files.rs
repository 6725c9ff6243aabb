//! The workspace's files as the API sees them: safe path resolution, listing, create, rename,
//! delete. Every path from a client is relative to the workspace root and is checked here.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use super::WorkspaceError;

/// Files over this size, and binary files, are shown read-only (no live document).
pub const MAX_EDITABLE_BYTES: u64 = 1024 * 1024;
const MAX_PATH_CHARS: usize = 512;
const MAX_ENTRIES: usize = 5000;
/// Folders listed but not walked into: generated, and large.
const NOT_WALKED: &[&str] = &["__pycache__", ".pytest_cache", ".git", "node_modules", ".venv", ".mypy_cache"];
/// Names the platform keeps for itself inside the workspace.
const RESERVED_PREFIX: &str = ".iide";

#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct Entry {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub size: u64,
    pub editable: bool,
}

/// Checks a client's path: relative, `/`-separated, no empty, `.` or `..` parts.
pub fn clean(path: &str) -> Result<String, WorkspaceError> {
    let bad = |why: &str| WorkspaceError::BadPath(format!("invalid path '{}': {why}", path.chars().take(80).collect::<String>()));
    if path.is_empty() {
        return Err(bad("empty"));
    }
    if path.chars().count() > MAX_PATH_CHARS {
        return Err(bad("too long"));
    }
    if path.starts_with('/') || path.contains('\\') || path.contains('\0') {
        return Err(bad("must be relative to the workspace, with '/' separators"));
    }
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    for p in &parts {
        if p.is_empty() || *p == "." || *p == ".." {
            return Err(bad("'..', '.' and empty parts are not allowed"));
        }
    }
    if parts[0].starts_with(RESERVED_PREFIX) {
        return Err(bad("reserved name"));
    }
    Ok(parts.join("/"))
}

/// Resolves a clean relative path under `root`, refusing anything (a symlink on the way, or the
/// target itself) that leads outside the workspace. `root` must be canonical.
pub fn resolve(root: &Path, rel: &str) -> Result<PathBuf, WorkspaceError> {
    let rel = clean(rel)?;
    let full = root.join(&rel);
    // The deepest part of the path that exists must stay inside the root once symlinks are followed.
    let mut existing = full.as_path();
    loop {
        if existing.symlink_metadata().is_ok() {
            break;
        }
        existing = existing.parent().unwrap_or(root);
    }
    let real = std::fs::canonicalize(existing).map_err(|_| WorkspaceError::BadPath(format!("invalid path '{rel}': it leads nowhere")))?;
    if !real.starts_with(root) {
        return Err(WorkspaceError::BadPath(format!("invalid path '{rel}': it leads outside the workspace")));
    }
    debug_assert!(full.components().all(|c| !matches!(c, Component::ParentDir)));
    Ok(full)
}

/// Whether a file can be a live document: small enough and text (UTF-8 without NUL bytes).
pub fn is_editable(path: &Path, size: u64) -> bool {
    if size > MAX_EDITABLE_BYTES {
        return false;
    }
    let Ok(mut f) = std::fs::File::open(path) else { return false };
    let mut buf = vec![0u8; 8192.min(size as usize)];
    if f.read_exact(&mut buf).is_err() {
        return size == 0;
    }
    if buf.contains(&0) {
        return false;
    }
    match std::str::from_utf8(&buf) {
        Ok(_) => true,
        // A multi-byte character cut at the end of the sample is still text.
        Err(e) => e.error_len().is_none(),
    }
}

/// Every file and folder under `root`, sorted by path.
pub fn list(root: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Entry>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if out.len() >= MAX_ENTRIES {
            return;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        if dir == root && name.starts_with(RESERVED_PREFIX) {
            continue;
        }
        let path = entry.path();
        let Ok(rel) = path.strip_prefix(root) else { continue };
        let rel = rel.to_string_lossy().to_string();
        // Symlinks are listed only when they stay inside; their targets are never followed out.
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if entry.file_type().map(|t| t.is_symlink()).unwrap_or(false) && resolve(root, &rel).is_err() {
            continue;
        }
        if meta.is_dir() {
            out.push(Entry { path: rel, kind: "dir", size: 0, editable: false });
            if !NOT_WALKED.contains(&name.as_str()) && !entry.file_type().map(|t| t.is_symlink()).unwrap_or(false) {
                walk(root, &path, out);
            }
        } else if meta.is_file() {
            out.push(Entry { editable: is_editable(&path, meta.len()), path: rel, kind: "file", size: meta.len() });
        }
    }
}

pub fn entry(root: &Path, rel: &str) -> Result<Entry, WorkspaceError> {
    let full = resolve(root, rel)?;
    let meta = std::fs::metadata(&full).map_err(|_| WorkspaceError::NotFound(format!("no file '{rel}'")))?;
    let path = clean(rel)?;
    Ok(if meta.is_dir() {
        Entry { path, kind: "dir", size: 0, editable: false }
    } else {
        Entry { editable: is_editable(&full, meta.len()), path, kind: "file", size: meta.len() }
    })
}

/// Hands a path the platform created to the sandbox's user, so the candidate can change it.
pub fn give_to(path: &Path, uid: u32) {
    use std::os::unix::ffi::OsStrExt;
    if let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) {
        // SAFETY: a valid NUL-terminated path; lchown does not follow symlinks.
        unsafe { libc::lchown(c.as_ptr(), uid, uid) };
    }
}

/// Gives a whole tree to the sandbox's user.
pub fn give_tree_to(path: &Path, uid: u32) {
    give_to(path, uid);
    if path.symlink_metadata().map(|m| m.is_dir()).unwrap_or(false) {
        if let Ok(entries) = std::fs::read_dir(path) {
            for e in entries.flatten() {
                give_tree_to(&e.path(), uid);
            }
        }
    }
}

pub fn create(root: &Path, rel: &str, dir: bool, content: Option<&str>, uid: u32) -> Result<Entry, WorkspaceError> {
    let full = resolve(root, rel)?;
    if full.symlink_metadata().is_ok() {
        return Err(WorkspaceError::Conflict(format!("'{rel}' already exists")));
    }
    // Missing parent folders are created (and handed to the sandbox user) too.
    let mut missing = Vec::new();
    let mut p = full.parent();
    while let Some(dir) = p {
        if dir.exists() || dir == root {
            break;
        }
        missing.push(dir.to_path_buf());
        p = dir.parent();
    }
    for d in missing.iter().rev() {
        std::fs::create_dir(d).map_err(io)?;
        give_to(d, uid);
    }
    if dir {
        std::fs::create_dir(&full).map_err(io)?;
    } else {
        let content = content.unwrap_or("");
        if content.len() as u64 > MAX_EDITABLE_BYTES {
            return Err(WorkspaceError::TooLarge);
        }
        std::fs::OpenOptions::new().write(true).create_new(true).open(&full).and_then(|mut f| {
            use std::io::Write;
            f.write_all(content.as_bytes())
        })
        .map_err(io)?;
    }
    give_to(&full, uid);
    entry(root, rel)
}

pub fn rename(root: &Path, from: &str, to: &str) -> Result<Entry, WorkspaceError> {
    let src = resolve(root, from)?;
    let dst = resolve(root, to)?;
    if src.symlink_metadata().is_err() {
        return Err(WorkspaceError::NotFound(format!("no file '{from}'")));
    }
    if dst.symlink_metadata().is_ok() {
        return Err(WorkspaceError::Conflict(format!("'{to}' already exists")));
    }
    if dst.starts_with(&src) {
        return Err(WorkspaceError::BadPath("cannot move a folder into itself".into()));
    }
    if let Some(parent) = dst.parent() {
        if !parent.is_dir() {
            return Err(WorkspaceError::NotFound(format!("no folder for '{to}'")));
        }
    }
    std::fs::rename(&src, &dst).map_err(io)?;
    entry(root, to)
}

pub fn delete(root: &Path, rel: &str) -> Result<(), WorkspaceError> {
    let full = resolve(root, rel)?;
    let meta = full.symlink_metadata().map_err(|_| WorkspaceError::NotFound(format!("no file '{rel}'")))?;
    if meta.is_dir() { std::fs::remove_dir_all(&full) } else { std::fs::remove_file(&full) }.map_err(io)
}

/// Copies an exercise's project into a new workspace (regular files and folders only).
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if ty.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else if ty.is_file() {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

fn io(e: std::io::Error) -> WorkspaceError {
    WorkspaceError::Io(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_refuses_escapes() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\\b", ".iide/x", "a/\0"] {
            assert!(clean(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(clean("app/main.py").unwrap(), "app/main.py");
        assert_eq!(clean("app/").unwrap(), "app");
    }

    #[test]
    fn resolve_refuses_symlinks_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("out")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("pw")).unwrap();
        std::fs::create_dir(root.join("in")).unwrap();
        std::os::unix::fs::symlink(root.join("in"), root.join("inlink")).unwrap();
        assert!(resolve(&root, "out/passwd").is_err());
        assert!(resolve(&root, "out/new-file").is_err());
        assert!(resolve(&root, "pw").is_err());
        assert!(resolve(&root, "inlink/x").is_ok());
        assert!(resolve(&root, "new/deep/file.py").is_ok());
    }

    #[test]
    fn binary_and_large_files_are_not_editable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b");
        std::fs::write(&p, [0u8, 1, 2]).unwrap();
        assert!(!is_editable(&p, 3));
        std::fs::write(&p, "héllo").unwrap();
        assert!(is_editable(&p, 6));
        assert!(!is_editable(&p, MAX_EDITABLE_BYTES + 1));
    }
}
