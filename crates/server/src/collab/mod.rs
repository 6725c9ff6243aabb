//! Live collaboration: rooms of yrs documents with awareness, served over the y-websocket
//! protocol, persisted through a batched update log, unloaded when idle.

pub mod connection;
pub mod packed;
pub mod persist;
pub mod relay;
pub mod room;

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::OnceCell;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Transact, Update};

use crate::docname::DocKey;
use crate::ids::SessionId;
use crate::metrics::Metrics;
use crate::store::{DocStore, StoreError, StoredDoc};
pub use persist::{PersistSettings, Persister};
pub use relay::{Relay, RelaySettings};
pub use room::{DocLog, Room, RoomKey};

type Slot = Arc<OnceCell<Arc<Room>>>;

pub struct Collab {
    rooms: Mutex<HashMap<RoomKey, Slot>>,
    store: Arc<dyn DocStore>,
    persister: Persister,
    /// Cluster mode: rooms log to Redis streams and hear the other nodes through this.
    relay: Option<Arc<Relay>>,
    snapshot_every: u32,
    idle: Duration,
    /// How long a document stays a live `Doc` after the server last needed one (see `room`).
    pack_after: Duration,
    metrics: Metrics,
}

impl Collab {
    pub fn new(
        store: Arc<dyn DocStore>,
        persister: Persister,
        relay: Option<Arc<Relay>>,
        snapshot_every: u32,
        idle: Duration,
        pack_after: Duration,
        metrics: Metrics,
    ) -> Arc<Collab> {
        Arc::new(Collab {
            rooms: Mutex::new(HashMap::new()),
            store,
            persister,
            relay,
            snapshot_every: snapshot_every.max(1),
            idle,
            pack_after,
            metrics,
        })
    }

    /// Loads a room: from storage on one node; from PostgreSQL and the document's stream in
    /// cluster mode, then watching the stream for the other nodes' updates.
    async fn load(&self, key: &RoomKey) -> Result<Arc<Room>, StoreError> {
        let room = match &self.relay {
            None => {
                // Writes of an earlier, unloaded copy of this room may still be queued.
                self.persister.flush().await;
                let stored = self.store.load(key, None).await?;
                let unsnapshotted = stored.updates.len() as u32;
                let doc = rebuild(key, &stored, &self.metrics);
                Arc::new(Room::new(
                    key.clone(),
                    doc,
                    stored.last_seq,
                    unsnapshotted,
                    DocLog::Local(self.persister.clone()),
                    self.snapshot_every,
                    self.metrics.clone(),
                ))
            }
            Some(relay) => {
                let (doc, stored, last_id) = relay.load(key, &self.metrics).await?;
                let room = Arc::new(Room::new(
                    key.clone(),
                    doc,
                    stored.last_seq,
                    0,
                    DocLog::Cluster(relay.clone()),
                    self.snapshot_every,
                    self.metrics.clone(),
                ));
                relay.watch(&room, last_id);
                room
            }
        };
        self.metrics.room_loaded();
        Ok(room)
    }

    /// Opens (loading it if needed) a room and holds it until the handle is dropped.
    pub async fn open(self: &Arc<Self>, key: RoomKey) -> Result<RoomHandle, StoreError> {
        loop {
            let slot = self.rooms.lock().entry(key.clone()).or_default().clone();
            let room = slot.get_or_try_init(|| self.load(&key)).await?.clone();
            // Register as a holder only if this room was not unloaded while we waited for it.
            let rooms = self.rooms.lock();
            if rooms.get(&key).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                room.hold();
                return Ok(RoomHandle { room });
            }
        }
    }

    /// Unloads rooms nobody has held for the idle period, snapshotting what changed.
    pub fn unload_idle(&self) -> usize {
        self.unload_where(|room| room.is_idle_for(self.idle))
    }

    /// Packs the documents the server has not needed as a `Doc` for `pack_after`.
    pub fn pack_unneeded(&self) -> usize {
        let rooms: Vec<Arc<Room>> = self
            .rooms
            .lock()
            .values()
            .filter_map(|s| s.get().cloned())
            .collect();
        rooms
            .iter()
            .filter(|room| room.pack_if_unneeded(self.pack_after))
            .count()
    }

    fn unload_where(&self, pred: impl Fn(&Room) -> bool) -> usize {
        let mut unloaded = Vec::new();
        self.rooms.lock().retain(|_, slot| match slot.get() {
            Some(room) if pred(room) => {
                unloaded.push(room.clone());
                false
            }
            _ => true,
        });
        for room in &unloaded {
            room.snapshot_if_dirty();
            if let Some(relay) = &self.relay {
                relay.unwatch(&room.key, false);
            }
            self.metrics.room_unloaded();
        }
        unloaded.len()
    }

    /// Freezes the loaded documents of a session that ended (on another node, in cluster mode).
    pub fn freeze_session(&self, session_id: &SessionId) {
        for slot in self.rooms.lock().values() {
            if let Some(room) = slot.get()
                && &room.key.session_id == session_id
                && room.key.doc.freezes_when_ended()
            {
                room.freeze();
            }
        }
    }

    /// Drops every room of a deleted session without saving, closing its connections.
    pub fn discard_session(&self, session_id: &SessionId) {
        let mut dropped = Vec::new();
        self.rooms.lock().retain(|key, slot| {
            if &key.session_id != session_id {
                return true;
            }
            if let Some(room) = slot.get() {
                dropped.push(room.clone());
            }
            false
        });
        for room in dropped {
            room.freeze();
            room.discard_pending();
            room.close();
            if let Some(relay) = &self.relay {
                relay.unwatch(&room.key, true);
            }
            self.metrics.room_unloaded();
        }
    }

    /// Snapshots every loaded room and waits until all writes are stored (graceful shutdown).
    pub async fn shutdown(&self) {
        self.unload_where(|_| true);
        self.flush().await;
    }

    /// Waits until every applied update so far is stored (in cluster mode: in its stream).
    pub async fn flush(&self) {
        self.persister.flush().await;
        if let Some(relay) = &self.relay {
            relay.flush().await;
        }
    }

    /// Makes a document's whole history readable from the database: what is pending is written
    /// and, in cluster mode, its stream is compacted into it.
    async fn settle(&self, key: &DocKey) {
        self.flush().await;
        if let Some(relay) = &self.relay {
            relay.compact_now(key).await;
        }
    }

    /// A document as it was at `at` (ms), rebuilt from storage (replay).
    pub async fn doc_at(&self, key: &DocKey, at: i64) -> Result<Doc, StoreError> {
        // What is applied but not yet written belongs to the past too.
        self.settle(key).await;
        let stored = self.store.load(key, Some(at)).await?;
        Ok(rebuild(key, &stored, &self.metrics))
    }

    /// When a document changed, oldest first (the replay bar).
    pub async fn change_times(&self, key: &DocKey) -> Result<Vec<i64>, StoreError> {
        self.settle(key).await;
        self.store.change_times(key).await
    }

    pub fn loaded_rooms(&self) -> usize {
        self.rooms
            .lock()
            .values()
            .filter(|s| s.get().is_some())
            .count()
    }

    /// Periodically unloads idle rooms until `stop` fires.
    pub fn spawn_janitor(self: &Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        let collab = self.clone();
        let period = (self.idle / 4).clamp(Duration::from_millis(250), Duration::from_secs(10));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {
                        collab.unload_idle();
                        collab.pack_unneeded();
                    }
                }
            }
        });
    }
}

/// Rebuilds a document from storage: the snapshot, then the updates after it. Shared by loading
/// a room and by replay. A stored update that does not decode or apply is logged and counted
/// (`iide_doc_stored_updates_skipped_total`), never dropped silently.
pub fn rebuild(key: &DocKey, stored: &StoredDoc, metrics: &Metrics) -> Doc {
    let doc = Doc::new();
    {
        let mut txn = doc.transact_mut();
        for data in stored.snapshot.iter().chain(stored.updates.iter()) {
            let applied = Update::decode_v1(data)
                .map_err(|e| e.to_string())
                .and_then(|u| txn.apply_update(u).map_err(|e| e.to_string()));
            if let Err(error) = applied {
                metrics.stored_update_skipped();
                tracing::error!(session = %key.session_id, doc = %key.doc, %error, bytes = data.len(), "skipping a stored update that does not decode or apply");
            }
        }
    }
    doc
}

/// A held room: keeps it loaded while alive.
pub struct RoomHandle {
    room: Arc<Room>,
}

impl RoomHandle {
    /// The room itself, for a task that must reach it without holding it loaded.
    pub fn shared(&self) -> Arc<Room> {
        self.room.clone()
    }
}

impl Deref for RoomHandle {
    type Target = Room;
    fn deref(&self) -> &Room {
        &self.room
    }
}

impl Drop for RoomHandle {
    fn drop(&mut self) {
        self.room.release();
    }
}
