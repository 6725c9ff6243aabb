//! Live documents across nodes (cluster mode). Every update a room applies is appended to its
//! document's Redis stream (XADD, pipelined in order by one writer task); one blocking XREAD per
//! node brings the other nodes' updates to its open rooms. Awareness (cursors, presence) goes
//! through pub/sub, which may drop a message: the next awareness update replaces it anyway, and
//! a node that opens a document asks the others to announce their clients again.
//!
//! Durability: the stream is the log. A document is PostgreSQL's newest snapshot plus the stream
//! entries after the entry that snapshot covers. Compaction (any node, under a lease) merges the
//! stream into PostgreSQL (update rows for replay, and a snapshot) in a transaction that checks
//! nobody compacted meanwhile, and only then trims what the snapshot holds (keeping the last
//! `TRIM_GRACE` of entries so that a node reading a little behind never misses one).
//!
//! Stream entry ids (`ms-n`) become the stored `seq` of a document as `ms << 20 | n`, so the
//! snapshot's `covers_seq` says exactly which entry it ends at, and the existing rows (the
//! starter code at seq 1, rows written before cluster mode) order before every entry.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use parking_lot::Mutex;
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use super::room::{ClusterLog, Room};
use crate::cluster::Node;
use crate::docname::DocKey;
use crate::metrics::Metrics;
use crate::redis_keys::{Lease, awareness_channel, doc_stream};
use crate::store::{DocStore, DocWrite, StoreError, StoredDoc};

/// Compacted entries are stored as update rows of at most this span (replay's granularity).
const ROW_SPAN_MS: i64 = 200;
/// Entries merged by one compaction at most (a longer stream takes several).
const COMPACT_BATCH: usize = 20_000;
const COMPACT_LEASE: Duration = Duration::from_secs(60);
/// Background compactions one node runs at the same time.
const COMPACTIONS_AT_ONCE: usize = 2;

/// A stream entry id as a stored sequence number, and back.
pub fn id_to_seq(id: &str) -> i64 {
    let (ms, n) = id.split_once('-').unwrap_or((id, "0"));
    let ms: i64 = ms.parse().unwrap_or(0);
    let n: i64 = n.parse().unwrap_or(0);
    (ms << 20) | n.min((1 << 20) - 1)
}

pub fn seq_to_id(seq: i64) -> String {
    format!("{}-{}", seq >> 20, seq & ((1 << 20) - 1))
}

enum Out {
    Update {
        stream: String,
        data: Vec<u8>,
    },
    Publish {
        channel: String,
        payload: Vec<u8>,
    },
    /// Answered once everything queued before it is in Redis.
    Flush(oneshot::Sender<()>),
}

/// A room this node has open, as the reader and the awareness listener see it.
struct Watched {
    key: DocKey,
    room: Weak<Room>,
    /// The newest entry this node has seen.
    last_id: String,
    /// Entries seen since this node last compacted the document.
    since_compaction: u32,
    /// `since_compaction` at which it compacts: somewhat less than `compact_every`, drawn per
    /// document, so that documents opened together do not all compact at the same moment.
    compact_at: u32,
}

/// How a relay treats its streams.
pub struct RelaySettings {
    /// Bytes waiting for Redis past which rooms refuse new edits (1013, retry later).
    pub max_pending_bytes: usize,
    /// Entries of a document past which a node compacts its stream.
    pub compact_every: u32,
    /// Compacted entries younger than this stay in the stream: a node whose reader is a little
    /// behind (or reconnecting) still finds them.
    pub keep: Duration,
}

pub struct Relay {
    node: Arc<Node>,
    keep: Duration,
    store: Arc<dyn DocStore>,
    metrics: Metrics,
    outbox: mpsc::UnboundedSender<Out>,
    pending_bytes: AtomicUsize,
    max_pending_bytes: usize,
    compact_every: u32,
    /// By stream key.
    watched: Mutex<HashMap<String, Watched>>,
    /// By awareness channel: the stream key.
    channels: Mutex<HashMap<String, String>>,
    /// Bumped when the set of watched streams changes; the reader catches up to it.
    generation: AtomicU64,
    reader_generation: AtomicU64,
    reader_client: AtomicI64,
    watch_changed: Notify,
    kicking: AtomicBool,
    subscriptions: mpsc::UnboundedSender<(bool, String)>,
    compacting: Mutex<HashSet<String>>,
    /// Background compactions run a few at a time: a burst of due documents must not take the
    /// CPU the live edits need (their streams just wait a little longer).
    compaction_slots: tokio::sync::Semaphore,
    me: Weak<Relay>,
}

impl Relay {
    pub fn start(
        node: Arc<Node>,
        store: Arc<dyn DocStore>,
        settings: RelaySettings,
        metrics: Metrics,
        stop: CancellationToken,
    ) -> Arc<Relay> {
        let (outbox, out_rx) = mpsc::unbounded_channel();
        let (subscriptions, sub_rx) = mpsc::unbounded_channel();
        let relay = Arc::new_cyclic(|me| Relay {
            me: me.clone(),
            node,
            store,
            metrics,
            outbox,
            pending_bytes: AtomicUsize::new(0),
            max_pending_bytes: settings.max_pending_bytes.max(1),
            compact_every: settings.compact_every.max(1),
            keep: settings.keep,
            watched: Mutex::new(HashMap::new()),
            channels: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            reader_generation: AtomicU64::new(0),
            reader_client: AtomicI64::new(-1),
            watch_changed: Notify::new(),
            kicking: AtomicBool::new(false),
            compaction_slots: tokio::sync::Semaphore::new(COMPACTIONS_AT_ONCE),
            subscriptions,
            compacting: Mutex::new(HashSet::new()),
        });
        tokio::spawn(writer(relay.clone(), out_rx, stop.clone()));
        tokio::spawn(reader(Arc::downgrade(&relay), stop.clone()));
        tokio::spawn(awareness_listener(Arc::downgrade(&relay), sub_rx, stop));
        relay
    }

    pub fn node_id(&self) -> &str {
        &self.node.id
    }

    fn publish(&self, key: &DocKey, kind: u8, data: &[u8]) {
        let id = self.node.id.as_bytes();
        let mut payload = Vec::with_capacity(2 + id.len() + data.len());
        payload.push(id.len().min(255) as u8);
        payload.extend_from_slice(&id[..id.len().min(255)]);
        payload.push(kind);
        payload.extend_from_slice(data);
        let _ = self.outbox.send(Out::Publish {
            channel: awareness_channel(key),
            payload,
        });
    }

    /// Waits until every update appended so far is in Redis (or the writer gave up).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.outbox.send(Out::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Loads a document: PostgreSQL's snapshot and rows, then the stream entries after them.
    /// Returns the document, what it was built from, and the id of the last entry read.
    pub async fn load(
        &self,
        key: &DocKey,
        metrics: &Metrics,
    ) -> Result<(Doc, StoredDoc, String), StoreError> {
        // This node's own appends must be in the stream before it is read.
        self.flush().await;
        loop {
            let stored = self.store.load(key, None).await?;
            let from = seq_to_id(stored.last_seq);
            let entries = match self.read_after(key, &from, usize::MAX).await {
                Ok(entries) => entries,
                Err(e) => {
                    self.node.mark(false);
                    return Err(StoreError::Unavailable(format!("redis: {e}")));
                }
            };
            // A compaction that committed meanwhile may have trimmed entries this read expected
            // to find: then read again from its snapshot.
            if self.store.latest_snapshot_seq(key).await? != stored.covers_seq {
                continue;
            }
            let doc = super::rebuild(key, &stored, metrics);
            apply_entries(&doc, key, &entries, metrics);
            let last = entries.last().map(|e| e.id.clone()).unwrap_or(from);
            return Ok((doc, stored, last));
        }
    }

    async fn read_after(
        &self,
        key: &DocKey,
        from: &str,
        limit: usize,
    ) -> redis::RedisResult<Vec<StreamId>> {
        let mut conn = self.node.conn();
        let stream = doc_stream(key);
        let mut start = format!("({from}");
        let mut all = Vec::new();
        loop {
            let page = 1000.min(limit - all.len());
            let reply: StreamRangeReply = redis::cmd("XRANGE")
                .arg(&stream)
                .arg(&start)
                .arg("+")
                .arg("COUNT")
                .arg(page)
                .query_async(&mut conn)
                .await?;
            let n = reply.ids.len();
            if let Some(last) = reply.ids.last() {
                start = format!("({}", last.id);
            }
            all.extend(reply.ids);
            if n < page || all.len() >= limit {
                return Ok(all);
            }
        }
    }

    /// Starts delivering the other nodes' updates and awareness to `room`, from after `last_id`.
    pub fn watch(&self, room: &Arc<Room>, last_id: String) {
        let stream = doc_stream(&room.key);
        let channel = awareness_channel(&room.key);
        self.watched.lock().insert(
            stream.clone(),
            Watched {
                key: room.key.clone(),
                room: Arc::downgrade(room),
                last_id,
                since_compaction: 0,
                compact_at: self.compact_every - rand::random_range(0..=self.compact_every / 2),
            },
        );
        self.channels.lock().insert(channel.clone(), stream);
        let _ = self.subscriptions.send((true, channel));
        self.watch_set_changed();
        // Ask the nodes that have it open to announce their clients' cursors and presence.
        self.publish(&room.key, b'h', &[]);
    }

    /// Stops delivering to a room that unloads; compacts what it saw unless `discard`.
    pub fn unwatch(self: &Arc<Self>, key: &DocKey, discard: bool) {
        let stream = doc_stream(key);
        let channel = awareness_channel(key);
        let removed = self.watched.lock().remove(&stream);
        self.channels.lock().remove(&channel);
        let _ = self.subscriptions.send((false, channel));
        self.watch_set_changed();
        if let Some(w) = removed
            && !discard
            && w.since_compaction > 0
        {
            self.spawn_compaction(w.key);
        }
    }

    fn watch_set_changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.watch_changed.notify_one();
        self.kick_reader();
    }

    /// A blocked XREAD only sees the streams it was started with: unblock it (CLIENT UNBLOCK)
    /// until the reader has picked up the new set. Repeated because the unblock may land just
    /// before the reader blocks again with the old set.
    fn kick_reader(&self) {
        if self.kicking.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut conn = self.node.conn();
        let client = self.reader_client.load(Ordering::SeqCst);
        let relay = self.weak_self();
        tokio::spawn(async move {
            for _ in 0..200 {
                let Some(relay) = relay.upgrade() else { return };
                if relay.reader_generation.load(Ordering::SeqCst)
                    >= relay.generation.load(Ordering::SeqCst)
                {
                    relay.kicking.store(false, Ordering::SeqCst);
                    // A change made between the check and the store must not be left waiting.
                    if relay.reader_generation.load(Ordering::SeqCst)
                        < relay.generation.load(Ordering::SeqCst)
                    {
                        relay.kick_reader();
                    }
                    return;
                }
                let client = relay.reader_client.load(Ordering::SeqCst).max(client);
                drop(relay);
                if client >= 0 {
                    let _: redis::RedisResult<i64> = redis::cmd("CLIENT")
                        .arg("UNBLOCK")
                        .arg(client)
                        .query_async(&mut conn)
                        .await;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if let Some(relay) = relay.upgrade() {
                relay.kicking.store(false, Ordering::SeqCst);
            }
        });
    }

    fn weak_self(&self) -> Weak<Relay> {
        self.me.clone()
    }

    fn spawn_compaction(self: &Arc<Self>, key: DocKey) {
        let relay = self.clone();
        tokio::spawn(async move {
            let Ok(_slot) = relay.compaction_slots.acquire().await else {
                return;
            };
            if let Err(e) = relay.compact(&key).await {
                tracing::warn!(session = %key.session_id, doc = %key.doc, error = %e, "compaction failed; the stream keeps the updates and the next compaction retries");
            }
        });
    }

    /// Merges the document's stream into PostgreSQL and trims what the new snapshot holds.
    /// Ok(false) when there was nothing to do or another node is compacting it.
    pub async fn compact(&self, key: &DocKey) -> Result<bool, StoreError> {
        let stream = doc_stream(key);
        if !self.compacting.lock().insert(stream.clone()) {
            return Ok(false);
        }
        let lease = Lease::compaction(key);
        let result = if self.node.lease(&lease, COMPACT_LEASE).await {
            self.compact_held(key, &stream).await
        } else {
            Ok(false)
        };
        if self
            .node
            .lease_holder(&lease)
            .await
            .ok()
            .flatten()
            .as_deref()
            == Some(self.node.id.as_str())
        {
            self.node.release(&lease).await;
        }
        self.compacting.lock().remove(&stream);
        result
    }

    async fn compact_held(&self, key: &DocKey, stream: &str) -> Result<bool, StoreError> {
        let stored = self.store.load(key, None).await?;
        let from = seq_to_id(stored.last_seq);
        let entries = self
            .read_after(key, &from, COMPACT_BATCH)
            .await
            .map_err(|e| StoreError::Unavailable(format!("redis: {e}")))?;
        let Some(last) = entries.last() else {
            return Ok(false);
        };
        let last_id = last.id.clone();
        let doc = super::rebuild(key, &stored, &self.metrics);
        apply_entries(&doc, key, &entries, &self.metrics);
        let mut writes = rows(key, &entries);
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        writes.push(DocWrite::Snapshot {
            key: key.clone(),
            covers_seq: id_to_seq(&last_id),
            at: entry_ms(&last_id),
            state,
        });
        if !self
            .store
            .write_if_unchanged(key, stored.last_seq, &writes)
            .await?
        {
            // Someone else stored these entries first: theirs stands, ours is dropped.
            return Ok(false);
        }
        let now = crate::util::now_ms();
        let grace = now - self.keep.as_millis() as i64;
        let seq = id_to_seq(&last_id) + 1;
        let min_id = if entry_ms(&last_id) < grace {
            seq_to_id(seq)
        } else {
            format!("{grace}-0")
        };
        let mut conn = self.node.conn();
        let trimmed: redis::RedisResult<i64> = redis::cmd("XTRIM")
            .arg(stream)
            .arg("MINID")
            .arg(&min_id)
            .query_async(&mut conn)
            .await;
        if let Err(e) = trimmed {
            tracing::warn!(stream, error = %e, "could not trim a compacted stream; the next compaction trims it");
        }
        self.metrics.cluster_compaction(entries.len());
        if let Some(w) = self.watched.lock().get_mut(stream) {
            w.since_compaction = 0;
        }
        Ok(true)
    }

    /// Compacts a document now (before reading its history from PostgreSQL), waiting for a
    /// compaction another node runs.
    pub async fn compact_now(&self, key: &DocKey) {
        for _ in 0..50 {
            match self.compact(key).await {
                Ok(true) => continue,
                Ok(false) => {
                    let lease = Lease::compaction(key);
                    if self
                        .node
                        .lease_holder(&lease)
                        .await
                        .ok()
                        .flatten()
                        .is_none()
                    {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(session = %key.session_id, doc = %key.doc, error = %e, "could not compact before reading the history");
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Applies what a room may have missed while Redis was away (entries trimmed before this
    /// node read them): the stored document, merged into the live one.
    async fn catch_up_all(&self) {
        let rooms: Vec<(DocKey, Weak<Room>)> = self
            .watched
            .lock()
            .values()
            .map(|w| (w.key.clone(), w.room.clone()))
            .collect();
        for (key, room) in rooms {
            let Ok((doc, _, last_id)) = self.load(&key, &self.metrics).await else {
                continue;
            };
            let Some(room) = room.upgrade() else { continue };
            let update = doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default());
            let _ = room.apply_remote(&update);
            if let Some(w) = self.watched.lock().get_mut(&doc_stream(&key))
                && id_to_seq(&w.last_id) < id_to_seq(&last_id)
            {
                w.last_id = last_id;
            }
        }
    }
}

/// Rooms in cluster mode send their updates and awareness through the relay.
impl ClusterLog for Relay {
    /// Whether Redis is so far behind that new edits must wait.
    fn is_backlogged(&self) -> bool {
        self.pending_bytes.load(Ordering::Relaxed) >= self.max_pending_bytes
    }

    fn append(&self, key: &DocKey, data: Vec<u8>) {
        self.pending_bytes.fetch_add(data.len(), Ordering::Relaxed);
        let _ = self.outbox.send(Out::Update {
            stream: doc_stream(key),
            data,
        });
    }

    fn publish_awareness(&self, key: &DocKey, update: Vec<u8>) {
        self.publish(key, b'u', &update);
    }
}

fn entry_ms(id: &str) -> i64 {
    id.split_once('-')
        .map_or(id, |(ms, _)| ms)
        .parse()
        .unwrap_or(0)
}

fn entry_data(entry: &StreamId) -> Option<&[u8]> {
    match entry.map.get("u")? {
        redis::Value::BulkString(data) => Some(data),
        _ => None,
    }
}

fn entry_origin(entry: &StreamId) -> Option<&[u8]> {
    match entry.map.get("n")? {
        redis::Value::BulkString(data) => Some(data),
        redis::Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// Applies stream entries to a document being loaded; one that does not decode is logged and
/// counted like a stored update that does not (see `collab::rebuild`).
fn apply_entries(doc: &Doc, key: &DocKey, entries: &[StreamId], metrics: &Metrics) {
    let mut txn = doc.transact_mut();
    for entry in entries {
        let applied = entry_data(entry)
            .ok_or_else(|| "no update field".to_string())
            .and_then(|data| Update::decode_v1(data).map_err(|e| e.to_string()))
            .and_then(|u| txn.apply_update(u).map_err(|e| e.to_string()));
        if let Err(error) = applied {
            metrics.stored_update_skipped();
            tracing::error!(session = %key.session_id, doc = %key.doc, id = %entry.id, %error, "skipping a stream entry that does not decode or apply");
        }
    }
}

/// Stream entries as stored update rows: the entries of each `ROW_SPAN_MS` merged into one.
fn rows(key: &DocKey, entries: &[StreamId]) -> Vec<DocWrite> {
    let mut rows = Vec::new();
    let mut group: Vec<&[u8]> = Vec::new();
    let mut group_start = 0;
    let mut last_id = "";
    let flush = |group: &mut Vec<&[u8]>, last_id: &str, rows: &mut Vec<DocWrite>| {
        if group.is_empty() {
            return;
        }
        let data = if group.len() == 1 {
            Ok(group[0].to_vec())
        } else {
            yrs::merge_updates_v1(group.iter().copied())
        };
        match data {
            Ok(data) => rows.push(DocWrite::Update {
                key: key.clone(),
                seq: id_to_seq(last_id),
                at: entry_ms(last_id),
                data,
            }),
            // Should not happen (rooms produced them); the snapshot holds them all anyway.
            Err(e) => {
                tracing::warn!(session = %key.session_id, doc = %key.doc, error = %e, "could not merge stream entries into a replay row")
            }
        }
        group.clear();
    };
    for entry in entries {
        let Some(data) = entry_data(entry) else {
            continue;
        };
        let ms = entry_ms(&entry.id);
        if !group.is_empty() && ms - group_start >= ROW_SPAN_MS {
            flush(&mut group, last_id, &mut rows);
        }
        if group.is_empty() {
            group_start = ms;
        }
        group.push(data);
        last_id = &entry.id;
    }
    flush(&mut group, last_id, &mut rows);
    rows
}

/// Writes queued appends and publishes to Redis in order, pipelined; retries while Redis is
/// away (rooms refuse new edits once `max_pending_bytes` wait).
async fn writer(relay: Arc<Relay>, mut rx: mpsc::UnboundedReceiver<Out>, stop: CancellationToken) {
    let mut conn = relay.node.conn();
    let node_id = relay.node.id.clone();
    let mut batch = Vec::with_capacity(256);
    loop {
        let first = tokio::select! {
            item = rx.recv() => item,
            _ = stop.cancelled() => {
                // Send what is queued, then end.
                rx.close();
                rx.recv().await
            }
        };
        let Some(first) = first else { return };
        batch.push(first);
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let mut pipe = redis::pipe();
        let (mut bytes, mut updates) = (0, 0);
        let mut waiters = Vec::new();
        for item in batch.drain(..) {
            match item {
                Out::Update { stream, data } => {
                    bytes += data.len();
                    updates += 1;
                    pipe.cmd("XADD")
                        .arg(stream)
                        .arg("*")
                        .arg("n")
                        .arg(&node_id)
                        .arg("u")
                        .arg(data)
                        .ignore();
                }
                Out::Publish { channel, payload } => {
                    pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
                }
                Out::Flush(done) => waiters.push(done),
            }
        }
        let mut delay = Duration::from_millis(50);
        let mut attempts = 0;
        loop {
            // A batch of only flushes has nothing to send (and an empty pipeline gets no reply).
            if pipe.is_empty() {
                break;
            }
            attempts += 1;
            match pipe.query_async::<()>(&mut conn).await {
                Ok(()) => {
                    relay.node.mark(true);
                    // In cluster mode an update is stored once its stream has it.
                    relay.metrics.persist_updates(updates);
                    break;
                }
                Err(e) => {
                    relay.node.mark(false);
                    if stop.is_cancelled() && attempts >= 5 {
                        tracing::error!(error = %e, "stopping with live edits not written to redis");
                        break;
                    }
                    if attempts == 1 {
                        tracing::error!(error = %e, "redis refused or missed live edits; retrying");
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
            }
        }
        relay.pending_bytes.fetch_sub(bytes, Ordering::Relaxed);
        for done in waiters {
            let _ = done.send(());
        }
    }
}

/// One blocking XREAD over every stream this node has open; delivers the other nodes' entries.
async fn reader(relay: Weak<Relay>, stop: CancellationToken) {
    let mut delay = Duration::from_millis(100);
    let mut reconnected = false;
    while !stop.is_cancelled() {
        let Some(r) = relay.upgrade() else { return };
        let conn = r.node.dedicated(None).await;
        let mut conn = match conn {
            Ok(c) => c,
            Err(_) => {
                r.node.mark(false);
                drop(r);
                tokio::select! { _ = stop.cancelled() => return, _ = tokio::time::sleep(delay) => {} }
                delay = (delay * 2).min(Duration::from_secs(2));
                reconnected = true;
                continue;
            }
        };
        delay = Duration::from_millis(100);
        match redis::cmd("CLIENT")
            .arg("ID")
            .query_async::<i64>(&mut conn)
            .await
        {
            Ok(id) => r.reader_client.store(id, Ordering::SeqCst),
            Err(_) => continue,
        }
        if reconnected {
            // Entries may have been trimmed while this node could not read them.
            r.catch_up_all().await;
        }
        drop(r);
        loop {
            let Some(r) = relay.upgrade() else { return };
            let generation = r.generation.load(Ordering::SeqCst);
            let streams: Vec<(String, String)> = r
                .watched
                .lock()
                .iter()
                .map(|(k, w)| (k.clone(), w.last_id.clone()))
                .collect();
            r.reader_generation.store(generation, Ordering::SeqCst);
            if streams.is_empty() {
                tokio::select! { _ = stop.cancelled() => return, _ = r.watch_changed.notified() => {} }
                continue;
            }
            let mut cmd = redis::cmd("XREAD");
            cmd.arg("COUNT")
                .arg(1000)
                .arg("BLOCK")
                .arg(10_000)
                .arg("STREAMS");
            for (k, _) in &streams {
                cmd.arg(k);
            }
            for (_, id) in &streams {
                cmd.arg(id);
            }
            drop(r);
            let reply = tokio::select! {
                _ = stop.cancelled() => return,
                reply = cmd.query_async::<Option<StreamReadReply>>(&mut conn) => reply,
            };
            let Some(r) = relay.upgrade() else { return };
            match reply {
                Ok(Some(reply)) => {
                    r.node.mark(true);
                    r.deliver(reply);
                }
                Ok(None) => r.node.mark(true),
                Err(e) => {
                    r.node.mark(false);
                    tracing::warn!(error = %e, "reading live edits from redis failed; reconnecting");
                    reconnected = true;
                    break;
                }
            }
        }
    }
}

impl Relay {
    fn deliver(self: &Arc<Self>, reply: StreamReadReply) {
        let me = self.node.id.as_bytes();
        for stream in reply.keys {
            let (room, key, due) = {
                let mut watched = self.watched.lock();
                let Some(w) = watched.get_mut(&stream.key) else {
                    continue;
                };
                if let Some(last) = stream.ids.last() {
                    w.last_id = last.id.clone();
                }
                w.since_compaction += stream.ids.len() as u32;
                (
                    w.room.upgrade(),
                    w.key.clone(),
                    w.since_compaction >= w.compact_at,
                )
            };
            if let Some(room) = room {
                for entry in &stream.ids {
                    if entry_origin(entry) == Some(me) {
                        continue;
                    }
                    let Some(data) = entry_data(entry) else {
                        continue;
                    };
                    self.metrics.cluster_remote_update();
                    if room.apply_remote(data).is_err() {
                        tracing::warn!(session = %key.session_id, doc = %key.doc, id = %entry.id, "an update from another node did not apply");
                    }
                }
            }
            if due {
                if let Some(w) = self.watched.lock().get_mut(&stream.key) {
                    w.since_compaction = 0;
                }
                self.spawn_compaction(key);
            }
        }
    }
}

/// The awareness subscription: (un)subscribes as rooms open and unload, delivers the other
/// nodes' awareness updates, and answers their requests to announce this node's clients.
async fn awareness_listener(
    relay: Weak<Relay>,
    mut changes: mpsc::UnboundedReceiver<(bool, String)>,
    stop: CancellationToken,
) {
    let mut delay = Duration::from_millis(100);
    while !stop.is_cancelled() {
        let Some(r) = relay.upgrade() else { return };
        let pubsub = r.node.pubsub().await;
        let (mut sink, mut messages) = match pubsub {
            Ok(p) => p.split(),
            Err(_) => {
                drop(r);
                tokio::select! { _ = stop.cancelled() => return, _ = tokio::time::sleep(delay) => {} }
                delay = (delay * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        delay = Duration::from_millis(100);
        // Subscribe to what is open now (also after a reconnect).
        let open: Vec<String> = r.channels.lock().keys().cloned().collect();
        drop(r);
        let mut ok = true;
        for channel in open {
            ok &= sink.subscribe(&channel).await.is_ok();
        }
        while ok {
            tokio::select! {
                _ = stop.cancelled() => return,
                change = changes.recv() => {
                    let Some((subscribe, channel)) = change else { return };
                    let res = if subscribe { sink.subscribe(&channel).await } else { sink.unsubscribe(&channel).await };
                    ok = res.is_ok();
                }
                message = messages.next() => {
                    let Some(message) = message else { break };
                    let Some(r) = relay.upgrade() else { return };
                    r.on_awareness(message.get_channel_name(), message.get_payload_bytes());
                }
            }
        }
    }
}

impl Relay {
    fn on_awareness(&self, channel: &str, payload: &[u8]) {
        let Some((&len, rest)) = payload.split_first() else {
            return;
        };
        let len = len as usize;
        if rest.len() <= len || &rest[..len] == self.node.id.as_bytes() {
            return;
        }
        let (kind, data) = (rest[len], &rest[len + 1..]);
        let room = {
            let channels = self.channels.lock();
            let Some(stream) = channels.get(channel) else {
                return;
            };
            self.watched
                .lock()
                .get(stream)
                .and_then(|w| w.room.upgrade())
        };
        let Some(room) = room else { return };
        match kind {
            b'u' => {
                if let Ok(update) = yrs::sync::awareness::AwarenessUpdate::decode_v1(data) {
                    room.apply_remote_awareness(update);
                }
            }
            b'h' => {
                if let Some(update) = room.local_awareness() {
                    self.publish(&room.key, b'u', &update.encode_v1());
                }
            }
            _ => {}
        }
    }
}
