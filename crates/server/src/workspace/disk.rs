//! A workspace's own filesystem, so one candidate cannot fill the host's disk: an ext4 image of
//! the quota's size (sparse: it takes on the host only what is written), loop-mounted at
//! `<id>/workspace`. Writes past the quota fail with "No space left on device" in the sandbox,
//! and the platform's own writes say "Disk limit reached".
//!
//! The sandbox helper makes, mounts and unmounts it (`crate::sandbox::helper`): it needs root
//! and loop devices (a container usually has none). Where it cannot be made, the workspace is
//! a plain folder and the server says so once.

use std::path::Path;

/// Whether `ws` is a mount point (its device differs from its parent's).
fn mounted(ws: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(a), Some(Ok(b))) = (
        std::fs::symlink_metadata(ws),
        ws.parent().map(std::fs::symlink_metadata),
    ) else {
        return false;
    };
    a.dev() != b.dev()
}

/// (used, limit) bytes of a workspace `ws` with a quota of `limit` bytes: as used, everything
/// but what is still free for files (the filesystem's own bookkeeping counts as used).
pub fn usage(ws: &Path, limit: u64) -> Option<(u64, u64)> {
    if limit == 0 || !mounted(ws) {
        return None;
    }
    let s = rustix::fs::statvfs(ws).ok()?;
    Some((limit.saturating_sub(s.f_bavail * s.f_frsize), limit))
}
