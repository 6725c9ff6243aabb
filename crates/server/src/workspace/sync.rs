//! Keeps each open file's live document (`file:<path>`, `Y.Text` "content") and the file on disk
//! in step, both ways, without losing either side's changes.
//!
//! The disk is treated as one more collaborator: a shadow copy of the document stands for what is
//! on disk. A change found on disk becomes a minimal edit of the shadow (a line diff, refined to
//! characters inside changed lines), which is then merged into the live document like any
//! client's update, so concurrent editor changes survive and remote cursors stay put. Changes
//! from the editors flow into the shadow, and the merged text is written back to disk.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use similar::{DiffTag, TextDiff};
use tokio_util::sync::CancellationToken;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, Text, TextRef, Transact, TransactionMut, Update};

use super::files::Tree;
use crate::collab::RoomHandle;

pub const TEXT: &str = "content";
/// How often open files are checked for changes, both ways.
const TICK: Duration = Duration::from_millis(150);
/// Inside a changed block of lines, a character diff is worth it only when the block is small.
const CHAR_DIFF_MAX_BYTES: usize = 16 * 1024;

/// The open files of one workspace, each synced while at least one editor has it open.
pub struct FileSyncs {
    open: Mutex<HashMap<String, (usize, CancellationToken)>>,
    /// A save from the editors is a marker on the interviewer's live view of the app.
    traffic: Arc<super::traffic::Traffic>,
}

/// Keeps a file synced while alive.
pub struct SyncGuard {
    syncs: Arc<FileSyncs>,
    path: String,
}

impl Drop for SyncGuard {
    fn drop(&mut self) {
        let mut open = self.syncs.open.lock();
        if let Some((count, stop)) = open.get_mut(&self.path) {
            *count -= 1;
            if *count == 0 {
                stop.cancel();
                open.remove(&self.path);
            }
        }
    }
}

impl FileSyncs {
    pub fn new(traffic: Arc<super::traffic::Traffic>) -> FileSyncs {
        FileSyncs {
            open: Mutex::new(HashMap::new()),
            traffic,
        }
    }

    /// Starts syncing the file `rel` of `files` with `room` unless it already is.
    pub fn attach(self: &Arc<Self>, rel: &str, files: Arc<Tree>, room: RoomHandle) -> SyncGuard {
        let mut open = self.open.lock();
        match open.get_mut(rel) {
            Some((count, _)) => *count += 1,
            None => {
                let stop = CancellationToken::new();
                open.insert(rel.to_string(), (1, stop.clone()));
                tokio::spawn(run(
                    files,
                    rel.to_string(),
                    room,
                    stop,
                    self.traffic.clone(),
                ));
            }
        }
        SyncGuard {
            syncs: self.clone(),
            path: rel.to_string(),
        }
    }

    /// How many files are open (and synced) now; a workspace with open files is in use.
    pub fn open_count(&self) -> usize {
        self.open.lock().len()
    }
}

async fn run(
    files: Arc<Tree>,
    rel: String,
    room: RoomHandle,
    stop: CancellationToken,
    traffic: Arc<super::traffic::Traffic>,
) {
    let mut file = FileSync::new(files, rel.clone(), &room);
    let mut changes = room.subscribe();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = true;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            r = changes.recv() => match r {
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => dirty = true,
                Err(_) => break,
            },
            _ = tick.tick() => {
                if dirty || file.disk_changed() {
                    dirty = false;
                    if file.sync(&room) {
                        traffic.mark("file", format!("saved {rel}"));
                    }
                }
            }
        }
    }
    // Whatever the editors typed last reaches the disk.
    file.sync(&room);
}

struct FileSync {
    /// The workspace's files; every read and write of this one goes beneath its handle, so a
    /// symlink the candidate puts in its place is never followed.
    files: Arc<Tree>,
    rel: String,
    /// What is on disk, as a replica of the live document.
    shadow: Doc,
    /// The disk's (modification time, length) when last read or written.
    seen: Option<(SystemTime, u64)>,
}

impl FileSync {
    fn new(files: Arc<Tree>, rel: String, room: &RoomHandle) -> FileSync {
        let shadow = Doc::new();
        let state = room.read(|doc| {
            doc.transact()
                .encode_state_as_update_v1(&yrs::StateVector::default())
        });
        if let Ok(u) = Update::decode_v1(&state) {
            let _ = shadow.transact_mut().apply_update(u);
        }
        FileSync {
            files,
            rel,
            shadow,
            seen: None,
        }
    }

    fn stat(&self) -> Option<(SystemTime, u64)> {
        let st = self.files.stat(&self.rel)?;
        let modified =
            SystemTime::UNIX_EPOCH + Duration::new(st.st_mtime as u64, st.st_mtime_nsec as u32);
        Some((modified, st.st_size as u64))
    }

    fn disk_changed(&self) -> bool {
        self.stat() != self.seen
    }

    fn shadow_text(&self) -> String {
        let text = self.shadow.get_or_insert_text(TEXT);
        text.get_string(&self.shadow.transact())
    }

    /// One round: disk changes into the document, then the document's changes onto the disk.
    /// True when the editors' changes were written to disk.
    fn sync(&mut self, room: &RoomHandle) -> bool {
        if room.is_frozen() {
            return false;
        }
        let stat = self.stat();
        // A file grown past the editable size is left alone too (never read whole into memory).
        if stat.is_some_and(|(_, len)| len > super::files::MAX_EDITABLE_BYTES) {
            self.seen = stat;
            return false;
        }
        // A deleted file, one that is no longer text, or no longer a file (a symlink, a FIFO) is
        // left alone (its document stays).
        let Some(Ok(disk)) = self
            .files
            .read(&self.rel, super::files::MAX_EDITABLE_BYTES)
            .ok()
            .map(String::from_utf8)
        else {
            self.seen = stat;
            return false;
        };
        let before = self.shadow_text();
        if disk != before {
            let sv = room.read(|doc| doc.transact().state_vector());
            {
                let text = self.shadow.get_or_insert_text(TEXT);
                let mut txn = self.shadow.transact_mut();
                apply_diff(&text, &mut txn, &before, &disk);
            }
            let update = self.shadow.transact().encode_state_as_update_v1(&sv);
            let _ = room.server_change(|txn| {
                if let Ok(u) = Update::decode_v1(&update) {
                    let _ = txn.apply_update(u);
                }
            });
        }
        // The editors' changes (merged with the disk's) into the shadow.
        let sv = self.shadow.transact().state_vector();
        let update = room.read(|doc| doc.transact().encode_state_as_update_v1(&sv));
        if let Ok(u) = Update::decode_v1(&update) {
            let _ = self.shadow.transact_mut().apply_update(u);
        }
        let merged = self.shadow_text();
        let mut written = false;
        if merged != disk {
            // Written in place, so the file keeps its owner (the sandbox's user) and inode.
            match self.files.overwrite(&self.rel, merged.as_bytes()) {
                Ok(()) => written = true,
                Err(e) => tracing::warn!(error = %e, "could not write a workspace file"),
            }
        }
        self.seen = self.stat();
        written
    }
}

/// Edits `text` (currently `old`) into `new` with as few changes as a line diff finds, refined
/// to characters inside small changed blocks. Offsets are UTF-8 bytes (the document's default).
pub fn apply_diff(text: &TextRef, txn: &mut TransactionMut, old: &str, new: &str) {
    let diff = TextDiff::from_lines(old, new);
    let old_starts = starts(diff.old_slices());
    let new_slices = diff.new_slices();
    // Back to front, so the offsets of what is still to do stay valid.
    for op in diff.ops().iter().rev() {
        let (tag, o, n) = op.as_tag_tuple();
        let (start, end) = (old_starts[o.start], old_starts[o.end]);
        let replacement: String = new_slices[n.clone()].concat();
        match tag {
            DiffTag::Equal => {}
            DiffTag::Replace if end - start + replacement.len() <= CHAR_DIFF_MAX_BYTES => {
                let old_block = &old[start..end];
                let chars = TextDiff::from_chars(old_block, &replacement);
                let c_starts = starts(chars.old_slices());
                let c_new = chars.new_slices();
                for cop in chars.ops().iter().rev() {
                    let (ctag, co, cn) = cop.as_tag_tuple();
                    if ctag == DiffTag::Equal {
                        continue;
                    }
                    splice(
                        text,
                        txn,
                        start + c_starts[co.start],
                        start + c_starts[co.end],
                        &c_new[cn].concat(),
                    );
                }
            }
            _ => splice(text, txn, start, end, &replacement),
        }
    }
}

fn starts(slices: &[&str]) -> Vec<usize> {
    let mut out = Vec::with_capacity(slices.len() + 1);
    let mut acc = 0;
    for s in slices {
        out.push(acc);
        acc += s.len();
    }
    out.push(acc);
    out
}

fn splice(text: &TextRef, txn: &mut TransactionMut, start: usize, end: usize, insert: &str) {
    if end > start {
        text.remove_range(txn, start as u32, (end - start) as u32);
    }
    if !insert.is_empty() {
        text.insert(txn, start as u32, insert);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(old: &str, new: &str) {
        let doc = Doc::new();
        let text = doc.get_or_insert_text(TEXT);
        text.insert(&mut doc.transact_mut(), 0, old);
        apply_diff(&text, &mut doc.transact_mut(), old, new);
        assert_eq!(text.get_string(&doc.transact()), new);
    }

    #[test]
    fn diffs_reproduce_the_new_text() {
        check("", "hello\n");
        check("a\nb\nc\n", "a\nB\nc\n");
        check("a\nb\nc\n", "");
        check("héllo wörld\nzwei\n", "hello wörld!\nzwei\ndrei");
        check(
            "def f():\n    return 1\n",
            "def f(x):\n    return x\n\nprint(f(2))\n",
        );
        check("x = '🎉'\n", "x = '🎉🎉'\ny = 1\n");
    }

    #[test]
    fn a_disk_change_merges_with_a_concurrent_editor_change() {
        // The editor and the disk both start from the same text.
        let room = Doc::new();
        let rt = room.get_or_insert_text(TEXT);
        rt.insert(
            &mut room.transact_mut(),
            0,
            "line one\nline two\nline three\n",
        );
        let shadow = Doc::new();
        let u = room
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        shadow
            .transact_mut()
            .apply_update(Update::decode_v1(&u).unwrap())
            .unwrap();
        // The editor changes the first line; the disk (e.g. sed) the last.
        rt.insert(&mut room.transact_mut(), 4, " ONE");
        let st = shadow.get_or_insert_text(TEXT);
        let old = st.get_string(&shadow.transact());
        apply_diff(
            &st,
            &mut shadow.transact_mut(),
            &old,
            "line one\nline two\nline 3\n",
        );
        let sv = room.transact().state_vector();
        let u = shadow.transact().encode_state_as_update_v1(&sv);
        room.transact_mut()
            .apply_update(Update::decode_v1(&u).unwrap())
            .unwrap();
        assert_eq!(
            rt.get_string(&room.transact()),
            "line ONE one\nline two\nline 3\n"
        );
    }
}
