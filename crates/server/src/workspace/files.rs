//! The workspace's files as the server touches them: the API (list, read, create, rename,
//! delete), the live sync, the saves scan and the platform's own writes.
//!
//! The candidate owns everything under the workspace and can change it at any moment (a
//! terminal loop swapping a file for a symlink, say), while the server runs with more power than
//! the candidate. So no access here ever goes by a path string from the host's root: the project
//! folder is opened once as a directory handle (`Tree`), and every path beneath it is resolved by
//! the kernel in one step with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)`: no `..` out, no symlink followed anywhere on the
//! way (a symlink the candidate made is simply not a file to the server), no mount crossed, and
//! no gap between checking a path and using it. Walks go one directory handle at a time with
//! `O_NOFOLLOW`, and opens of files use `O_NONBLOCK` so a FIFO cannot hang the server.
//! Paths from a client are first checked by `clean`.

use std::ffi::CStr;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use serde::Serialize;

use super::WorkspaceError;

/// Files over this size, and binary files, are shown read-only (no live document).
pub const MAX_EDITABLE_BYTES: u64 = 1024 * 1024;
const MAX_PATH_CHARS: usize = 512;
const MAX_ENTRIES: usize = 5000;
/// How deep a walk goes (listing, the saves scan, handing a tree to the sandbox's user).
const MAX_DEPTH: usize = 32;
/// Folders listed but not walked into: generated, and large.
const NOT_WALKED: &[&str] = &[
    "__pycache__",
    ".pytest_cache",
    ".git",
    "node_modules",
    ".venv",
    ".mypy_cache",
];
/// Names the platform keeps for itself inside the workspace.
const RESERVED_PREFIX: &str = ".iide";

/// How every path beneath the workspace is resolved (see the module's comment).
const BENEATH: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS)
    .union(ResolveFlags::NO_XDEV);

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
    let bad = |why: &str| {
        WorkspaceError::BadPath(format!(
            "invalid path '{}': {why}",
            path.chars().take(80).collect::<String>()
        ))
    };
    if path.is_empty() {
        return Err(bad("empty"));
    }
    if path.chars().count() > MAX_PATH_CHARS {
        return Err(bad("too long"));
    }
    if path.starts_with('/') || path.contains('\\') || path.contains('\0') {
        return Err(bad(
            "must be relative to the workspace, with '/' separators",
        ));
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

/// One entry met by `Tree::walk`: where it is and what it is (never a symlink).
pub struct Item<'a> {
    /// Relative to the workspace root.
    pub rel: &'a str,
    pub name: &'a str,
    /// The folder that holds it (for `*at` calls on `name`).
    pub dir: BorrowedFd<'a>,
    pub stat: &'a Stat,
    pub depth: usize,
}

impl Item<'_> {
    pub fn is_dir(&self) -> bool {
        FileType::from_raw_mode(self.stat.st_mode) == FileType::Directory
    }
    pub fn is_file(&self) -> bool {
        FileType::from_raw_mode(self.stat.st_mode) == FileType::RegularFile
    }
    /// The entry opened for reading, if it is still the same regular file.
    pub fn open_file(&self) -> Option<std::fs::File> {
        let fd = rustix::fs::openat(
            self.dir,
            self.name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        regular(&fd).then(|| std::fs::File::from(fd))
    }
}

/// A workspace's project folder, opened once; every access beneath it goes through here.
#[derive(Debug)]
pub struct Tree {
    root: OwnedFd,
    path: PathBuf,
}

fn regular(fd: &OwnedFd) -> bool {
    rustix::fs::fstat(fd).is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::RegularFile)
}

fn not_found(rel: &str) -> WorkspaceError {
    WorkspaceError::NotFound(format!("no file '{rel}'"))
}

fn io(e: impl std::fmt::Display) -> WorkspaceError {
    WorkspaceError::Io(e.to_string())
}

/// An error of opening `rel` beneath the root, in the API's words: a symlink on the way (ELOOP,
/// EXDEV, or ENOTDIR where a link stands for a folder) is "leads outside", a missing part is
/// "not found".
fn open_error(rel: &str, e: rustix::io::Errno) -> WorkspaceError {
    use rustix::io::Errno;
    match e {
        Errno::NOENT => not_found(rel),
        Errno::LOOP | Errno::XDEV => WorkspaceError::BadPath(format!(
            "invalid path '{rel}': a symbolic link, which the platform never follows"
        )),
        Errno::NOTDIR => WorkspaceError::BadPath(format!(
            "invalid path '{rel}': a part of it is not a folder"
        )),
        Errno::EXIST => WorkspaceError::Conflict(format!("'{rel}' already exists")),
        Errno::NOSPC | Errno::DQUOT => WorkspaceError::DiskFull(format!(
            "Disk limit reached: the workspace has no room for '{rel}'"
        )),
        other => io(std::io::Error::from(other)),
    }
}

/// A failed write, with the disk quota's message when that is why.
fn write_error(rel: &str, e: std::io::Error) -> WorkspaceError {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => open_error(rel, rustix::io::Errno::NOSPC),
        _ => io(e),
    }
}

impl Tree {
    /// Opens the project folder at `path` (a path of the platform's own, not the candidate's).
    pub fn open(path: &Path) -> std::io::Result<Tree> {
        let root = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Tree {
            root,
            path: path.to_path_buf(),
        })
    }

    /// A folder already opened (by the sandbox helper, beneath its own handle).
    pub fn from_fd(root: OwnedFd, path: PathBuf) -> Tree {
        Tree { root, path }
    }

    /// Where the folder is on the host (for mounting it into the sandbox; never for file access).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens a clean relative path beneath the root.
    fn open_at(&self, rel: &str, flags: OFlags, mode: Mode) -> Result<OwnedFd, WorkspaceError> {
        rustix::fs::openat2(&self.root, rel, flags | OFlags::CLOEXEC, mode, BENEATH)
            .map_err(|e| open_error(rel, e))
    }

    /// The folder holding `rel` and `rel`'s last part.
    fn parent<'r>(&self, rel: &'r str) -> Result<(OwnedFd, &'r str), WorkspaceError> {
        match rel.rsplit_once('/') {
            Some((dir, name)) => Ok((
                self.open_at(dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?,
                name,
            )),
            None => Ok((
                rustix::io::fcntl_dupfd_cloexec(&self.root, 0).map_err(io)?,
                rel,
            )),
        }
    }

    /// What `rel` is (never following a symlink: a symlink is "not found").
    pub fn stat(&self, rel: &str) -> Option<Stat> {
        let rel = clean(rel).ok()?;
        let fd = self.open_at(&rel, OFlags::PATH, Mode::empty()).ok()?;
        rustix::fs::fstat(&fd).ok()
    }

    /// A regular file, opened for reading (a clean relative path).
    pub fn open_read(&self, rel: &str) -> Result<std::fs::File, WorkspaceError> {
        self.open_file(&clean(rel)?, false)
    }

    /// A regular file, opened for reading or writing.
    fn open_file(&self, rel: &str, write: bool) -> Result<std::fs::File, WorkspaceError> {
        let flags = if write {
            OFlags::WRONLY
        } else {
            OFlags::RDONLY
        };
        let fd = self.open_at(
            rel,
            flags | OFlags::NONBLOCK | OFlags::NOCTTY,
            Mode::empty(),
        )?;
        if !regular(&fd) {
            return Err(WorkspaceError::BadPath(format!("'{rel}' is not a file")));
        }
        Ok(std::fs::File::from(fd))
    }

    /// A file's bytes; `TooLarge` past `max`.
    pub fn read(&self, rel: &str, max: u64) -> Result<Vec<u8>, WorkspaceError> {
        let rel = clean(rel)?;
        let f = self.open_file(&rel, false)?;
        let mut out = Vec::new();
        f.take(max + 1).read_to_end(&mut out).map_err(io)?;
        if out.len() as u64 > max {
            return Err(WorkspaceError::TooLarge);
        }
        Ok(out)
    }

    /// Replaces the content of an existing file in place (it keeps its owner and inode).
    pub fn overwrite(&self, rel: &str, bytes: &[u8]) -> Result<(), WorkspaceError> {
        let rel = clean(rel)?;
        let mut f = self.open_file(&rel, true)?;
        f.set_len(0).map_err(io)?;
        f.write_all(bytes).map_err(|e| write_error(&rel, e))
    }

    /// Writes a file, creating it and its missing folders (owned by `uid`) if need be.
    pub fn write(&self, rel: &str, bytes: &[u8], uid: u32) -> Result<(), WorkspaceError> {
        let rel = clean(rel)?;
        match self.overwrite(&rel, bytes) {
            Err(WorkspaceError::NotFound(_)) => {
                self.make_parents(&rel, uid)?;
                self.create_file(&rel, bytes, uid)
            }
            other => other,
        }
    }

    /// Whether something is at `rel`: false only when nothing is (a symlink on the way or at
    /// the end is an error, not "nothing").
    fn exists(&self, rel: &str) -> Result<bool, WorkspaceError> {
        match self.open_at(rel, OFlags::PATH, Mode::empty()) {
            Ok(_) => Ok(true),
            Err(WorkspaceError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn make_parents(&self, rel: &str, uid: u32) -> Result<(), WorkspaceError> {
        let mut at = 0;
        while let Some(i) = rel[at..].find('/') {
            let dir = &rel[..at + i];
            if !self.exists(dir)? {
                self.make_dir(dir, uid)?;
            }
            at += i + 1;
        }
        Ok(())
    }

    fn make_dir(&self, rel: &str, uid: u32) -> Result<(), WorkspaceError> {
        let (parent, name) = self.parent(rel)?;
        // Group-writable: the sandbox shares the server's group (the umask trims it otherwise).
        rustix::fs::mkdirat(&parent, name, Mode::from_raw_mode(0o775))
            .map_err(|e| open_error(rel, e))?;
        let _ = rustix::fs::chownat(
            &parent,
            name,
            Some(uid_of(uid)),
            Some(gid_of(uid)),
            AtFlags::SYMLINK_NOFOLLOW,
        );
        Ok(())
    }

    fn create_file(&self, rel: &str, bytes: &[u8], uid: u32) -> Result<(), WorkspaceError> {
        let fd = self.open_at(
            rel,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
            Mode::from_raw_mode(0o664),
        )?;
        let _ = rustix::fs::fchown(&fd, Some(uid_of(uid)), Some(gid_of(uid)));
        std::fs::File::from(fd)
            .write_all(bytes)
            .map_err(|e| write_error(rel, e))
    }

    /// Whether a file can be a live document: small enough and text (UTF-8 without NUL bytes).
    fn editable(file: Option<std::fs::File>, size: u64) -> bool {
        if size > MAX_EDITABLE_BYTES {
            return false;
        }
        let Some(mut f) = file else { return false };
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

    pub fn entry(&self, rel: &str) -> Result<Entry, WorkspaceError> {
        let path = clean(rel)?;
        let fd = self.open_at(&path, OFlags::PATH, Mode::empty())?;
        let st = rustix::fs::fstat(&fd).map_err(io)?;
        Ok(match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => Entry {
                path,
                kind: "dir",
                size: 0,
                editable: false,
            },
            FileType::RegularFile => {
                let size = st.st_size as u64;
                let file = self.open_file(&path, false).ok();
                Entry {
                    editable: Self::editable(file, size),
                    path,
                    kind: "file",
                    size,
                }
            }
            _ => return Err(not_found(rel)),
        })
    }

    /// Visits every file and folder beneath the root (symlinks and special files skipped), each
    /// folder's entries before the next folder's; `visit` says whether to go into a folder.
    pub fn walk(&self, max_depth: usize, mut visit: impl FnMut(&Item) -> bool) {
        let Ok(top) = rustix::fs::openat(
            &self.root,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return;
        };
        let mut stack: Vec<(OwnedFd, String, usize)> = vec![(top, String::new(), 0)];
        while let Some((dir, prefix, depth)) = stack.pop() {
            let Ok(entries) = rustix::fs::Dir::read_from(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Some(name) = name_of(entry.file_name()) else {
                    continue;
                };
                let Ok(stat) = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
                    continue;
                };
                let kind = FileType::from_raw_mode(stat.st_mode);
                if kind != FileType::Directory && kind != FileType::RegularFile {
                    continue;
                }
                let rel = if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}/{name}")
                };
                let item = Item {
                    rel: &rel,
                    name,
                    dir: dir.as_fd(),
                    stat: &stat,
                    depth,
                };
                if visit(&item) && kind == FileType::Directory && depth < max_depth {
                    // One component with O_NOFOLLOW: swapped for a symlink since the stat, it fails.
                    if let Ok(sub) = rustix::fs::openat(
                        &dir,
                        name,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    ) {
                        stack.push((sub, rel, depth + 1));
                    }
                }
            }
        }
    }

    /// Every file and folder, sorted by path (symlinks are not listed: the platform never
    /// follows them, so they are not files to it).
    pub fn list(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        self.walk(MAX_DEPTH, |item| {
            if out.len() >= MAX_ENTRIES
                || (item.depth == 0 && item.name.starts_with(RESERVED_PREFIX))
            {
                return false;
            }
            if item.is_dir() {
                out.push(Entry {
                    path: item.rel.to_string(),
                    kind: "dir",
                    size: 0,
                    editable: false,
                });
                !NOT_WALKED.contains(&item.name)
            } else {
                let size = item.stat.st_size as u64;
                let editable = size <= MAX_EDITABLE_BYTES && Self::editable(item.open_file(), size);
                out.push(Entry {
                    editable,
                    path: item.rel.to_string(),
                    kind: "file",
                    size,
                });
                false
            }
        });
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// Hands everything beneath the root, and the root, to the sandbox's user and group. When
    /// the group is not the user's own (it is the server's), files and folders become the
    /// group's to read and write too, so the server edits them without being their owner.
    pub fn give_to(&self, uid: u32, gid: u32) {
        let shared = uid != gid;
        let give = |fd: &OwnedFd, dir: bool| {
            let _ = rustix::fs::chownat(
                fd,
                "",
                Some(uid_of(uid)),
                Some(gid_of(gid)),
                AtFlags::EMPTY_PATH,
            );
            if shared && let Ok(st) = rustix::fs::fstat(fd) {
                let bits = if dir { 0o070 } else { 0o060 };
                // An O_PATH handle takes no fchmod; its /proc link leads to exactly this inode.
                let _ = rustix::fs::chmod(
                    format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(fd)).as_str(),
                    Mode::from_raw_mode((st.st_mode & 0o7777) | bits),
                );
            }
        };
        give(&self.root, true);
        self.walk(MAX_DEPTH, |item| {
            // One component, never a symlink: what `walk` listed may have been swapped since.
            if let Ok(fd) = rustix::fs::openat(
                item.dir,
                item.name,
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                let kind = rustix::fs::fstat(&fd).map(|st| FileType::from_raw_mode(st.st_mode));
                if matches!(kind, Ok(FileType::Directory | FileType::RegularFile)) {
                    give(&fd, kind == Ok(FileType::Directory));
                }
            }
            true
        });
    }

    /// Hands `rel` and the folders on its way that are not `uid`'s yet (the platform just made
    /// them) to `uid` and `gid`: one component at a time beneath the root, never a symlink.
    pub fn give_path(&self, rel: &str, uid: u32, gid: u32) -> Result<(), WorkspaceError> {
        let rel = clean(rel)?;
        let mut at = 0;
        loop {
            let end = rel[at..].find('/').map_or(rel.len(), |i| at + i);
            let fd = self.open_at(&rel[..end], OFlags::PATH | OFlags::NOFOLLOW, Mode::empty())?;
            let st = rustix::fs::fstat(&fd).map_err(io)?;
            let kind = FileType::from_raw_mode(st.st_mode);
            if st.st_uid != uid && matches!(kind, FileType::Directory | FileType::RegularFile) {
                let _ = rustix::fs::chownat(
                    &fd,
                    "",
                    Some(uid_of(uid)),
                    Some(gid_of(gid)),
                    AtFlags::EMPTY_PATH,
                );
            }
            if end == rel.len() {
                return Ok(());
            }
            at = end + 1;
        }
    }

    pub fn create(
        &self,
        rel: &str,
        dir: bool,
        content: Option<&str>,
        uid: u32,
    ) -> Result<Entry, WorkspaceError> {
        let rel = clean(rel)?;
        if self.exists(&rel)? {
            return Err(WorkspaceError::Conflict(format!("'{rel}' already exists")));
        }
        let content = content.unwrap_or("");
        if content.len() as u64 > MAX_EDITABLE_BYTES {
            return Err(WorkspaceError::TooLarge);
        }
        // Missing parent folders are created (and handed to the sandbox user) too.
        self.make_parents(&rel, uid)?;
        if dir {
            self.make_dir(&rel, uid)?;
        } else {
            self.create_file(&rel, content.as_bytes(), uid)?;
        }
        self.entry(&rel)
    }

    pub fn rename(&self, from: &str, to: &str) -> Result<Entry, WorkspaceError> {
        let (from, to) = (clean(from)?, clean(to)?);
        if to == from || to.starts_with(&format!("{from}/")) {
            return Err(WorkspaceError::BadPath(
                "cannot move a folder into itself".into(),
            ));
        }
        let (src_dir, src_name) = self.parent(&from)?;
        // A symlink is not a file to the platform: it is not moved either.
        let st = rustix::fs::statat(&src_dir, src_name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|_| not_found(&from))?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            return Err(open_error(&from, rustix::io::Errno::LOOP));
        }
        let (dst_dir, dst_name) = self.parent(&to).map_err(|e| match e {
            WorkspaceError::NotFound(_) => {
                WorkspaceError::NotFound(format!("no folder for '{to}'"))
            }
            other => other,
        })?;
        // Never replaces what is at `to`; a symlink at `from` is moved as the link it is.
        rustix::fs::renameat_with(
            &src_dir,
            src_name,
            &dst_dir,
            dst_name,
            rustix::fs::RenameFlags::NOREPLACE,
        )
        .map_err(|e| match e {
            rustix::io::Errno::NOENT => not_found(&from),
            other => open_error(&to, other),
        })?;
        self.entry(&to)
    }

    pub fn delete(&self, rel: &str) -> Result<(), WorkspaceError> {
        let rel = clean(rel)?;
        let (dir, name) = self.parent(&rel)?;
        let st = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|_| not_found(&rel))?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            remove_tree_at(&dir, name, 0).map_err(|e| open_error(&rel, e))
        } else {
            // unlinkat never follows: a symlink goes, not its target.
            rustix::fs::unlinkat(&dir, name, AtFlags::empty()).map_err(|e| open_error(&rel, e))
        }
    }
}

/// Removes the folder `name` in `dir` and everything in it, never following a link.
fn remove_tree_at(dir: &OwnedFd, name: &str, depth: usize) -> rustix::io::Result<()> {
    if depth > 256 {
        return Err(rustix::io::Errno::LOOP);
    }
    let sub = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let names: Vec<(String, bool)> = rustix::fs::Dir::read_from(&sub)?
        .flatten()
        .filter_map(|e| {
            name_of(e.file_name()).map(|n| (n.to_string(), e.file_type() == FileType::Directory))
        })
        .collect();
    for (n, is_dir) in names {
        if is_dir {
            remove_tree_at(&sub, &n, depth + 1)?;
        } else {
            match rustix::fs::unlinkat(&sub, n.as_str(), AtFlags::empty()) {
                // d_type can be unknown on some filesystems: a folder after all.
                Err(rustix::io::Errno::ISDIR) => remove_tree_at(&sub, &n, depth + 1)?,
                r => r?,
            }
        }
    }
    rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
}

/// A directory entry's name, unless it is `.`, `..` or not UTF-8.
fn name_of(name: &CStr) -> Option<&str> {
    let name = name.to_str().ok()?;
    (name != "." && name != "..").then_some(name)
}

fn uid_of(uid: u32) -> rustix::fs::Uid {
    rustix::fs::Uid::from_raw(uid)
}

fn gid_of(gid: u32) -> rustix::fs::Gid {
    rustix::fs::Gid::from_raw(gid)
}

/// Sets the mode of the Unix socket at `path` (one the server just bound, in a folder the
/// candidate can write): never through a symlink, never on anything but a socket.
pub fn chmod_socket(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = rustix::fs::open(
        path,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::Socket {
        return Err(std::io::Error::other(format!(
            "{} is no longer the socket the server made",
            path.display()
        )));
    }
    // An O_PATH handle takes no fchmod; its /proc link leads to exactly this inode.
    rustix::fs::chmod(
        format!("/proc/self/fd/{}", fd.as_raw_fd()).as_str(),
        Mode::from_raw_mode(mode),
    )?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, Tree) {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let t = Tree::open(&root).unwrap();
        (dir, t)
    }

    #[test]
    fn clean_refuses_escapes() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\\b",
            ".iide/x",
            "a/\0",
        ] {
            assert!(clean(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(clean("app/main.py").unwrap(), "app/main.py");
        assert_eq!(clean("app/").unwrap(), "app");
    }

    #[test]
    fn symlinks_are_never_followed_in_or_out() {
        let (_d, t) = tree();
        let root = t.path().to_path_buf();
        let secret = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(secret.path(), "host secret").unwrap();
        symlink("/etc", root.join("out")).unwrap();
        symlink(secret.path(), root.join("pw")).unwrap();
        std::fs::create_dir(root.join("in")).unwrap();
        std::fs::write(root.join("in/a.txt"), "inside").unwrap();
        symlink(root.join("in"), root.join("inlink")).unwrap();
        symlink("in/a.txt", root.join("rel-link")).unwrap();
        symlink("/proc/self/environ", root.join("env")).unwrap();
        for rel in ["out/passwd", "pw", "inlink/a.txt", "rel-link", "env"] {
            assert!(t.read(rel, 1 << 20).is_err(), "{rel} must not be read");
            assert!(t.overwrite(rel, b"x").is_err(), "{rel} must not be written");
            assert!(t.entry(rel).is_err(), "{rel} is no entry");
        }
        assert!(t.create("out/new-file", false, Some("x"), 0).is_err());
        assert!(t.write("inlink/b.txt", b"x", 0).is_err());
        assert!(t.rename("in/a.txt", "out/a.txt").is_err());
        assert_eq!(
            std::fs::read_to_string(secret.path()).unwrap(),
            "host secret"
        );
        assert_eq!(t.read("in/a.txt", 100).unwrap(), b"inside");
        // Deleting a link removes the link, never what it points to.
        t.delete("pw").unwrap();
        t.delete("out").unwrap();
        assert!(secret.path().exists() && Path::new("/etc/passwd").exists());
        let listed: Vec<String> = t.list().into_iter().map(|e| e.path).collect();
        assert_eq!(listed, vec!["in", "in/a.txt"], "links are not listed");
        assert!(t.create("new/deep/file.py", false, Some("x"), 0).is_ok());
        assert_eq!(t.read("new/deep/file.py", 10).unwrap(), b"x");
    }

    #[test]
    fn a_fifo_does_not_hang_the_server() {
        let (_d, t) = tree();
        let p =
            std::ffi::CString::new(t.path().join("fifo").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(p.as_ptr(), 0o666) }, 0);
        assert!(t.read("fifo", 100).is_err());
        assert!(t.overwrite("fifo", b"x").is_err());
        assert!(t.list().is_empty());
    }

    /// The check-then-use race: a file swapped for a symlink to a host file, thousands of times,
    /// while the server reads it. Not one read may return the host file.
    #[test]
    fn a_file_swapped_for_a_symlink_is_never_read_through() {
        let (_d, t) = tree();
        let root = t.path().to_path_buf();
        let secret = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(secret.path(), "host secret").unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let (root, stop, target) = (root.clone(), stop.clone(), secret.path().to_path_buf());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::fs::remove_file(root.join("f"));
                    let _ = std::fs::write(root.join("f"), "mine");
                    let _ = std::fs::remove_file(root.join("f"));
                    let _ = symlink(&target, root.join("f"));
                }
            })
        };
        // Until both sides of the race were seen many times: how often each comes up depends
        // on how the two threads are scheduled, which a loaded machine changes a lot.
        let (mut read_mine, mut refused, mut rounds) = (0, 0, 0);
        while (read_mine < 200 || refused < 200) && rounds < 2_000_000 {
            rounds += 1;
            match t.read("f", 100) {
                Ok(bytes) => {
                    assert_ne!(bytes, b"host secret");
                    read_mine += 1;
                }
                Err(_) => refused += 1,
            }
            let _ = t.overwrite("f", b"mine");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().unwrap();
        assert_eq!(
            std::fs::read_to_string(secret.path()).unwrap(),
            "host secret"
        );
        assert!(
            read_mine > 0 && refused > 0,
            "the race ran: reads found the regular file ({read_mine}) and the link ({refused})"
        );
    }

    #[test]
    fn a_tree_is_handed_to_the_sandbox_user_but_never_what_links_point_to() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("SKIPPED: needs root");
            return;
        }
        use std::os::unix::fs::MetadataExt;
        let (_d, t) = tree();
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::fs::create_dir(t.path().join("d")).unwrap();
        std::fs::write(t.path().join("d/f"), "x").unwrap();
        symlink(outside.path(), t.path().join("d/link")).unwrap();
        t.give_to(4_242_424, 4_242_424);
        for p in ["", "d", "d/f"] {
            assert_eq!(
                std::fs::metadata(t.path().join(p)).unwrap().uid(),
                4_242_424,
                "{p}"
            );
        }
        assert_eq!(
            std::fs::metadata(outside.path()).unwrap().uid(),
            0,
            "a link's target is never handed over"
        );
    }

    #[test]
    fn a_socket_chmod_never_follows_a_link() {
        let (_d, t) = tree();
        let target = tempfile::NamedTempFile::new().unwrap();
        std::fs::set_permissions(
            target.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        symlink(target.path(), t.path().join("proxy.sock")).unwrap();
        assert!(chmod_socket(&t.path().join("proxy.sock"), 0o666).is_err());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(target.path())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        let sock = t.path().join("real.sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        chmod_socket(&sock, 0o666).unwrap();
        assert_eq!(
            std::fs::symlink_metadata(&sock)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o666
        );
    }

    #[test]
    fn binary_and_large_files_are_not_editable() {
        let (_d, t) = tree();
        std::fs::write(t.path().join("b"), [0u8, 1, 2]).unwrap();
        assert!(!t.entry("b").unwrap().editable);
        std::fs::write(t.path().join("b"), "héllo").unwrap();
        assert!(t.entry("b").unwrap().editable);
        std::fs::write(
            t.path().join("b"),
            vec![b'a'; MAX_EDITABLE_BYTES as usize + 1],
        )
        .unwrap();
        assert!(!t.entry("b").unwrap().editable);
    }
}
