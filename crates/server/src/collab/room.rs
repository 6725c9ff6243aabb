//! A room: one document and the fan-out to every connection on it. All document mutations go
//! through here so that each applied change is broadcast and enqueued for storage in the same
//! critical section, in the same order.
//!
//! The document is kept packed (encoded, see `packed`) and clients' edits are appended to it
//! as they are; it becomes a live yrs `Doc` only while the server needs one (its own writes,
//! reads, an update only a `Doc` can apply) and is packed again `--doc-live-seconds` after the
//! server last needed it (`Collab::pack_unneeded`).

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use yrs::sync::awareness::AwarenessUpdate;
use yrs::sync::{Awareness, Message, SyncMessage};
use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, Map, ReadTxn, StateVector, Transact, TransactionMut, Update};

use super::packed::{Appended, Packed, shrunk};
use super::persist::{PendingDoc, Persister};
use crate::docname::DocKey;
use crate::metrics::Metrics;

/// Identifies a room: a document of a session.
pub type RoomKey = DocKey;

/// A frame fanned out to the room's connections; `from` is the sending connection (0: the server),
/// which skips its own frames.
#[derive(Debug, Clone)]
pub struct Broadcast {
    pub from: u64,
    pub frame: Bytes,
}

/// Why an incoming message was refused; the connection closes with the matching code.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("malformed update")]
    Malformed,
    #[error("awareness state is not valid JSON or too large")]
    BadAwareness,
    #[error("the update could not be applied")]
    Internal,
    /// Storage is behind: the client should reconnect a little later (its edits are kept).
    #[error("storage is behind; try again later")]
    Busy,
}

/// Room fan-out buffer (frames); a connection further behind than this is resynced. Every
/// slot is allocated up front and keeps its last frame alive, per room: 64 keeps a thousand
/// rooms at a few MB, and each connection's writer drains the buffer as soon as its socket takes
/// data, so only a connection whose socket is full falls behind.
const BROADCAST_CAPACITY: usize = 64;
/// An awareness state is a small JSON object (user, cursor); anything larger is abuse.
const MAX_AWARENESS_STATE_BYTES: usize = 16 * 1024;

/// Where a room's applied updates go.
#[derive(Clone)]
pub enum DocLog {
    /// One node: the batched writer to the database.
    Local(Persister),
    /// Cluster mode: the document's Redis stream, which the other nodes read.
    Cluster(Arc<dyn ClusterLog>),
}

/// What a room in cluster mode sends to the other nodes. `relay::Relay` is it; the room knows
/// only this, so the relay, which hands the other nodes' updates to rooms, depends on the room
/// and not the other way round.
pub trait ClusterLog: Send + Sync {
    /// Whether the other nodes are so far behind that new edits must wait.
    fn is_backlogged(&self) -> bool;
    /// Appends an applied update to its document's stream (in order, without waiting).
    fn append(&self, key: &DocKey, update: Vec<u8>);
    /// Sends an awareness update of this node's clients to the other nodes.
    fn publish_awareness(&self, key: &DocKey, update: Vec<u8>);
}

impl DocLog {
    fn is_backlogged(&self) -> bool {
        match self {
            DocLog::Local(p) => p.is_backlogged(),
            DocLog::Cluster(r) => r.is_backlogged(),
        }
    }
}

pub struct Room {
    pub key: RoomKey,
    state: Mutex<RoomState>,
    bus: broadcast::Sender<Broadcast>,
    /// Connections and short-lived users holding the room; it is only unloaded at zero.
    holders: AtomicUsize,
    idle_since: Mutex<Instant>,
    log: DocLog,
    pending: Arc<PendingDoc>,
    snapshot_every: u32,
    /// Set when the session ended: the document keeps its final state; clients' edits are ignored.
    frozen: AtomicBool,
    /// Cancelled when the session is deleted: every connection closes.
    closed: CancellationToken,
    metrics: Metrics,
}

struct RoomState {
    /// The awareness states (on an empty `Doc` of its own: the document is `body`).
    awareness: Awareness,
    body: Body,
    /// When the server last needed the document as a `Doc`.
    needed_at: Instant,
    updates_since_snapshot: u32,
    /// The sequence number of the last update applied (stored or pending).
    last_seq: i64,
    /// Awareness client ids of this node's connections (cluster mode announces them again to a
    /// node that opens the document).
    local_clients: HashSet<u64>,
}

/// The document, packed or live.
#[allow(
    clippy::large_enum_variant,
    reason = "one per open document, switched in place; a box would add an allocation per pack"
)]
enum Body {
    Packed(Packed),
    Live(Doc),
}

impl RoomState {
    /// The document as a `Doc`, unpacking it if needed; `need`: the server needs it (keeps it
    /// live a while) rather than a client's update passing through.
    fn doc(&mut self, need: bool, metrics: &Metrics) -> &Doc {
        if need {
            self.needed_at = Instant::now();
        }
        if let Body::Packed(packed) = &self.body {
            self.body = Body::Live(packed.unpack());
            metrics.doc_unpacked();
        }
        match &self.body {
            Body::Live(doc) => doc,
            Body::Packed(_) => unreachable!("unpacked just above"),
        }
    }

    fn state_vector(&self) -> StateVector {
        match &self.body {
            Body::Packed(packed) => packed.state_vector().clone(),
            Body::Live(doc) => doc.transact().state_vector(),
        }
    }

    /// The whole document as one update.
    fn whole(&mut self) -> Vec<u8> {
        match &mut self.body {
            Body::Packed(packed) => packed.state().to_vec(),
            Body::Live(doc) => shrunk(
                doc.transact()
                    .encode_state_as_update_v1(&StateVector::default()),
            ),
        }
    }
}

impl Room {
    /// A room on a document rebuilt from storage (see `collab::rebuild`): `last_seq` is the
    /// highest stored sequence number, `unsnapshotted` how many stored updates follow the snapshot.
    pub fn new(
        key: RoomKey,
        doc: Doc,
        last_seq: i64,
        unsnapshotted: u32,
        log: DocLog,
        snapshot_every: u32,
        metrics: Metrics,
    ) -> Room {
        let (bus, _) = broadcast::channel(BROADCAST_CAPACITY);
        let body = match Packed::pack(&doc, key.doc.server_owned_map()) {
            Some(packed) => Body::Packed(packed),
            None => {
                metrics.doc_live_changed(1);
                Body::Live(doc)
            }
        };
        Room {
            pending: PendingDoc::new(key.clone()),
            key,
            state: Mutex::new(RoomState {
                awareness: Awareness::new(Doc::new()),
                body,
                needed_at: Instant::now(),
                updates_since_snapshot: unsnapshotted,
                last_seq,
                local_clients: HashSet::new(),
            }),
            bus,
            holders: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            log,
            snapshot_every,
            frozen: AtomicBool::new(false),
            closed: CancellationToken::new(),
            metrics,
        }
    }

    /// Makes the document read-only for clients (the session ended).
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen.load(Ordering::SeqCst)
    }

    /// Closes every connection on this room (its session was deleted).
    pub fn close(&self) {
        self.closed.cancel();
    }

    pub fn closed(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.closed.cancelled()
    }

    fn lock(&self) -> MutexGuard<'_, RoomState> {
        self.state.lock()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Broadcast> {
        self.bus.subscribe()
    }

    pub(super) fn hold(&self) {
        self.holders.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn release(&self) {
        if self.holders.fetch_sub(1, Ordering::SeqCst) == 1 {
            *self.idle_since.lock() = Instant::now();
        }
    }

    pub(super) fn is_idle_for(&self, d: std::time::Duration) -> bool {
        self.holders.load(Ordering::SeqCst) == 0 && self.idle_since.lock().elapsed() >= d
    }

    /// What the server sends first: its state vector (so the client sends what the server lacks)
    /// and, as a separate frame, the current awareness states.
    pub fn greeting(&self) -> Vec<Bytes> {
        let state = self.lock();
        let sv = state.state_vector();
        let mut frames = vec![frame(Message::Sync(SyncMessage::SyncStep1(sv)))];
        if let Some(frame) = awareness_frame(&state.awareness) {
            frames.push(frame);
        }
        frames
    }

    /// Everything a client may have missed after falling behind: the whole document as a
    /// SyncStep2 (applying known parts again is harmless) and all awareness states.
    pub fn resync(&self) -> Vec<Bytes> {
        let mut state = self.lock();
        let update = state.whole();
        let sv = state.state_vector();
        let mut frames = vec![
            frame(Message::Sync(SyncMessage::SyncStep2(update))),
            frame(Message::Sync(SyncMessage::SyncStep1(sv))),
        ];
        if let Some(frame) = awareness_frame(&state.awareness) {
            frames.push(frame);
        }
        frames
    }

    /// Answer to a client's SyncStep1: the part of the document it does not have.
    pub fn sync_step2_for(&self, sv: &StateVector) -> Bytes {
        let mut state = self.lock();
        let update = match &mut state.body {
            Body::Packed(packed) => packed.diff(sv),
            Body::Live(doc) => doc.transact().encode_state_as_update_v1(sv),
        };
        frame(Message::Sync(SyncMessage::SyncStep2(update)))
    }

    pub fn awareness_states(&self) -> Option<Bytes> {
        awareness_frame(&self.lock().awareness)
    }

    /// Applies a client's document update; what actually changed is broadcast and stored.
    pub fn apply_update(&self, from: u64, data: &[u8]) -> Result<bool, ApplyError> {
        if self.is_frozen() {
            return Ok(false);
        }
        let update = Update::decode_v1(data).map_err(|_| ApplyError::Malformed)?;
        // An empty update (a sync reply with nothing new) costs storage nothing: never refuse it.
        if self.log.is_backlogged() && !update.is_empty() {
            return Err(ApplyError::Busy);
        }
        if let Some(applied) = self.append_packed(from, true, &update) {
            return applied;
        }
        self.mutate(from, |txn| {
            txn.apply_update(update).map_err(|_| ApplyError::Malformed)
        })
    }

    /// Appends an update to the packed document when no `Doc` is needed for it (see `packed`);
    /// None when one is. What is appended, broadcast and stored is yrs' own encoding of the
    /// update, never the client's bytes as they came.
    fn append_packed(
        &self,
        from: u64,
        record: bool,
        update: &Update,
    ) -> Option<Result<bool, ApplyError>> {
        let mut state = self.lock();
        let Body::Packed(packed) = &mut state.body else {
            return None;
        };
        let data = shrunk(update.encode_v1());
        // yrs may panic on a crafted update (decoding it, or folding it in): as on the `Doc` path,
        // that ends this message, not the process.
        match catch_unwind(AssertUnwindSafe(|| packed.append(&data))) {
            Err(_) => Some(Err(ApplyError::Internal)),
            Ok(Appended::NeedsDoc) => None,
            Ok(Appended::Nothing) => Some(Ok(false)),
            Ok(Appended::Applied) => {
                self.publish(&mut state, from, record, data);
                Some(Ok(true))
            }
        }
    }

    /// Applies an update another node applied first (cluster mode): broadcast to this node's
    /// connections, not logged again (it is in the stream already), applied even when frozen.
    pub fn apply_remote(&self, data: &[u8]) -> Result<bool, ApplyError> {
        let update = Update::decode_v1(data).map_err(|_| ApplyError::Malformed)?;
        if let Some(applied) = self.append_packed(0, false, &update) {
            return applied;
        }
        self.apply(0, false, |txn| {
            txn.apply_update(update).map_err(|_| ApplyError::Malformed)
        })
    }

    /// Runs a change made by the server itself (e.g. the language picked through the API).
    pub fn server_change(
        &self,
        change: impl FnOnce(&mut TransactionMut),
    ) -> Result<bool, ApplyError> {
        self.lock().doc(true, &self.metrics);
        self.mutate(0, |txn| {
            change(txn);
            Ok(())
        })
    }

    fn mutate(
        &self,
        from: u64,
        change: impl FnOnce(&mut TransactionMut) -> Result<(), ApplyError>,
    ) -> Result<bool, ApplyError> {
        self.apply(from, true, change)
    }

    /// Runs a change and broadcasts what it changed; `record`: also logs it (storage, or the
    /// stream the other nodes read).
    fn apply(
        &self,
        from: u64,
        record: bool,
        change: impl FnOnce(&mut TransactionMut) -> Result<(), ApplyError>,
    ) -> Result<bool, ApplyError> {
        let mut state = self.lock();
        let doc = state.doc(false, &self.metrics);
        // A map the server owns (the pad's `meta`: language, policy, end of session) is the
        // server's to write; a client that writes it anyway is overruled in the same
        // transaction, so nobody else ever sees a spoofed value.
        let guarded_meta = self
            .key
            .doc
            .server_owned_map()
            .filter(|_| from != 0)
            .map(|name| doc.get_or_insert_map(name));
        // yrs may panic on a crafted update; contain it to this message instead of the process.
        let delta = catch_unwind(AssertUnwindSafe(|| {
            let mut txn = doc.transact_mut();
            let before = guarded_meta.as_ref().map(|meta| meta.to_json(&txn));
            change(&mut txn)?;
            if let (Some(meta), Some(before)) = (&guarded_meta, before)
                && meta.to_json(&txn) != before
            {
                restore_map(meta, &mut txn, &before);
            }
            Ok::<_, ApplyError>(shrunk(txn.encode_update_v1()))
        }))
        .map_err(|_| ApplyError::Internal)??;
        // An update that adds nothing new encodes as two zero bytes (no structs, no deletions).
        if delta.len() <= 2 && delta.iter().all(|b| *b == 0) {
            return Ok(false);
        }
        self.publish(&mut state, from, record, delta);
        Ok(true)
    }

    /// Broadcasts an applied change and, with `record`, logs it.
    fn publish(&self, state: &mut RoomState, from: u64, record: bool, delta: Vec<u8>) {
        let frame = frame(Message::Sync(SyncMessage::Update(delta.clone())));
        match (&self.log, record) {
            (DocLog::Local(persister), _) => {
                // Every change of a single node's room is its own, hence recorded.
                state.last_seq += 1;
                persister.update(&self.pending, state.last_seq, delta);
                state.updates_since_snapshot += 1;
                if state.updates_since_snapshot >= self.snapshot_every {
                    self.snapshot_locked(state);
                }
            }
            (DocLog::Cluster(relay), true) => relay.append(&self.key, delta),
            (DocLog::Cluster(_), false) => {}
        }
        let _ = self.bus.send(Broadcast { from, frame });
    }

    /// Applies a client's awareness update and relays it. `controlled` collects the awareness
    /// client ids this connection speaks for, so they can be removed when it leaves.
    pub fn apply_awareness(
        &self,
        from: u64,
        update: AwarenessUpdate,
        controlled: &mut HashSet<u64>,
    ) -> Result<(), ApplyError> {
        for entry in update.clients.values() {
            if entry.json.len() > MAX_AWARENESS_STATE_BYTES
                || serde_json::from_str::<serde_json::Value>(&entry.json).is_err()
            {
                return Err(ApplyError::BadAwareness);
            }
        }
        let frame = frame(Message::Awareness(update.clone()));
        let for_nodes = matches!(self.log, DocLog::Cluster(_)).then(|| update.encode_v1());
        let mut state = self.lock();
        let summary = catch_unwind(AssertUnwindSafe(|| {
            state.awareness.apply_update_summary(update)
        }))
        .map_err(|_| ApplyError::Internal)?
        .map_err(|_| ApplyError::BadAwareness)?;
        if let Some(summary) = summary {
            for id in summary.added.iter().chain(summary.updated.iter()) {
                controlled.insert(id.get());
                state.local_clients.insert(id.get());
            }
            for id in &summary.removed {
                controlled.remove(&id.get());
                state.local_clients.remove(&id.get());
            }
        }
        drop(state);
        if let (DocLog::Cluster(relay), Some(update)) = (&self.log, for_nodes) {
            relay.publish_awareness(&self.key, update);
        }
        let _ = self.bus.send(Broadcast { from, frame });
        Ok(())
    }

    /// Applies another node's awareness update and relays it to this node's connections.
    pub fn apply_remote_awareness(&self, update: AwarenessUpdate) {
        if update
            .clients
            .values()
            .any(|e| e.json.len() > MAX_AWARENESS_STATE_BYTES)
        {
            return;
        }
        let frame = frame(Message::Awareness(update.clone()));
        let mut state = self.lock();
        let applied = catch_unwind(AssertUnwindSafe(|| {
            state.awareness.apply_update_summary(update)
        }));
        drop(state);
        if matches!(applied, Ok(Ok(_))) {
            let _ = self.bus.send(Broadcast { from: 0, frame });
        }
    }

    /// The awareness states of this node's connections, to announce to another node.
    pub fn local_awareness(&self) -> Option<AwarenessUpdate> {
        let state = self.lock();
        let ids: Vec<yrs::block::ClientID> = state
            .local_clients
            .iter()
            .map(|id| yrs::block::ClientID::new(*id))
            .collect();
        if ids.is_empty() {
            return None;
        }
        state.awareness.update_with_clients(ids).ok()
    }

    /// Removes the awareness states of a connection that left, for everyone still here.
    pub fn remove_awareness(&self, from: u64, clients: &HashSet<u64>) {
        if clients.is_empty() {
            return;
        }
        let mut state = self.lock();
        let ids: Vec<yrs::block::ClientID> = clients
            .iter()
            .map(|id| yrs::block::ClientID::new(*id))
            .collect();
        for id in &ids {
            state.awareness.remove_state(*id);
            state.local_clients.remove(&id.get());
        }
        if let Ok(update) = state.awareness.update_with_clients(ids) {
            if let DocLog::Cluster(relay) = &self.log {
                relay.publish_awareness(&self.key, update.encode_v1());
            }
            let frame = frame(Message::Awareness(update));
            let _ = self.bus.send(Broadcast { from, frame });
        }
    }

    /// Writes a snapshot if anything changed since the last one (called when the room unloads).
    pub fn snapshot_if_dirty(&self) {
        if matches!(self.log, DocLog::Cluster(_)) {
            return; // the relay compacts the stream instead
        }
        let mut state = self.lock();
        if state.updates_since_snapshot > 0 {
            self.snapshot_locked(&mut state);
        }
    }

    fn snapshot_locked(&self, state: &mut RoomState) {
        let DocLog::Local(persister) = &self.log else {
            return;
        };
        let snapshot = state.whole();
        persister.snapshot(&self.pending, state.last_seq, snapshot);
        state.updates_since_snapshot = 0;
    }

    /// Forgets what is not yet stored (the session was deleted).
    pub fn discard_pending(&self) {
        if let DocLog::Local(persister) = &self.log {
            persister.discard(&self.pending);
        }
    }

    /// Read access to the document (e.g. to read the code for an export).
    pub fn read<T>(&self, f: impl FnOnce(&Doc) -> T) -> T {
        f(self.lock().doc(true, &self.metrics))
    }

    /// Packs the document again if the server has not needed it as a `Doc` for `after`.
    /// True when it did.
    pub fn pack_if_unneeded(&self, after: Duration) -> bool {
        let mut state = self.lock();
        let Body::Live(doc) = &state.body else {
            return false;
        };
        if state.needed_at.elapsed() < after {
            return false;
        }
        match Packed::pack(doc, self.key.doc.server_owned_map()) {
            Some(packed) => {
                state.body = Body::Packed(packed);
                self.metrics.doc_packed();
                true
            }
            // Structs waiting for missing ones: try again later.
            None => {
                state.needed_at = Instant::now();
                false
            }
        }
    }

    /// Whether the document is packed (for tests and metrics).
    pub fn is_packed(&self) -> bool {
        matches!(self.lock().body, Body::Packed(_))
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        if matches!(self.lock().body, Body::Live(_)) {
            self.metrics.doc_live_changed(-1);
        }
    }
}

/// Puts a map back to the given JSON state: every key as it was, and no other key.
fn restore_map(map: &yrs::MapRef, txn: &mut TransactionMut, state: &yrs::Any) {
    let yrs::Any::Map(entries) = state else {
        return;
    };
    let current: Vec<String> = map.keys(txn).map(str::to_string).collect();
    for key in current {
        if !entries.contains_key(&key) {
            map.remove(txn, &key);
        }
    }
    for (key, value) in entries.iter() {
        map.insert(txn, key.as_str(), value.clone());
    }
}

fn awareness_frame(awareness: &Awareness) -> Option<Bytes> {
    let update = awareness.update().ok()?;
    if update.clients.is_empty() {
        return None;
    }
    Some(frame(Message::Awareness(update)))
}

/// A message encoded as a frame that may stay in memory for a while (the room's fan-out buffer
/// keeps its last frames): see `shrunk`.
fn frame(message: Message) -> Bytes {
    Bytes::from(shrunk(message.encode_v1()))
}
