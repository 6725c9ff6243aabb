//! A workspace's own filesystem, so one candidate cannot fill the host's disk: an ext4 image of
//! the quota's size at `<id>/disk.img` (sparse: it takes on the host only what is written),
//! loop-mounted at `<id>/workspace`. Writes past the quota fail with "No space left on device"
//! in the sandbox, and the platform's own writes say "Disk limit reached".
//!
//! Needs root and loop devices (a container usually has none): where it cannot be made, the
//! workspace is a plain folder and the server says so once.

use std::path::Path;
use std::process::Command;

const IMAGE: &str = "disk.img";

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{:?} failed: {}", cmd.get_program(), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Whether `ws` is a mount point (its device differs from its parent's).
fn mounted(ws: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(a), Some(Ok(b))) = (std::fs::symlink_metadata(ws), ws.parent().map(std::fs::symlink_metadata)) else { return false };
    a.dev() != b.dev()
}

/// Makes the image for a new workspace `<dir>/workspace` (owned by `uid`) and mounts it.
pub fn create(dir: &Path, bytes: u64, uid: u32) -> Result<(), String> {
    let image = dir.join(IMAGE);
    std::fs::create_dir_all(dir.join("workspace")).map_err(|e| e.to_string())?;
    std::fs::File::create(&image).and_then(|f| f.set_len(bytes)).map_err(|e| format!("cannot make {}: {e}", image.display()))?;
    // No reserved blocks (the candidate is the only user), a small journal (a crash loses no
    // more than the last moments), the root folder the candidate's.
    let made = run(Command::new("mkfs.ext4").args(["-q", "-F", "-m", "0", "-J", "size=4", "-E"]).arg(format!("root_owner={uid}:{uid}")).arg(&image));
    if let Err(e) = made.and_then(|_| mount(dir)) {
        let _ = std::fs::remove_file(&image);
        return Err(e);
    }
    Ok(())
}

/// Mounts the workspace's image if it has one and it is not mounted (after a restart).
pub fn mount(dir: &Path) -> Result<(), String> {
    let (image, ws) = (dir.join(IMAGE), dir.join("workspace"));
    if !image.is_file() || mounted(&ws) {
        return Ok(());
    }
    std::fs::create_dir_all(&ws).map_err(|e| e.to_string())?;
    run(Command::new("mount").args(["-t", "ext4", "-o", "loop,nosuid,nodev,noatime"]).arg(&image).arg(&ws))?;
    // mkfs's lost+found is no file of the project's.
    let _ = std::fs::remove_dir(ws.join("lost+found"));
    Ok(())
}

/// Unmounts the workspace (lazily: a straggler cannot keep it busy); the image stays.
pub fn unmount(dir: &Path) {
    let ws = dir.join("workspace");
    if mounted(&ws) {
        if let Err(e) = run(Command::new("umount").args(["-l"]).arg(&ws)) {
            tracing::warn!(error = %e, "could not unmount a workspace");
        }
    }
}

/// (used, limit) bytes of a workspace with a quota: the limit as configured (the image's size),
/// and as used everything but what is still free for files (the filesystem's own bookkeeping
/// counts as used).
pub fn usage(dir: &Path) -> Option<(u64, u64)> {
    let ws = dir.join("workspace");
    let limit = std::fs::metadata(dir.join(IMAGE)).ok()?.len();
    if !mounted(&ws) {
        return None;
    }
    let s = rustix::fs::statvfs(&ws).ok()?;
    Some((limit.saturating_sub(s.f_bavail * s.f_frsize), limit))
}
