//! Persistence of live documents. A room never waits for storage: it appends each applied
//! update to its document's pending log (`PendingDoc`); one writer task takes every pending log
//! at most one flush interval after its first update, merges each document's updates into one
//! update (yrs merges encoded updates without a `Doc`) and commits all documents in one
//! transaction. Storage work thus follows the number of documents being edited, not keystrokes.
//!
//! Memory is bounded: the bytes pending (not yet committed) are counted, and past the limit
//! rooms refuse clients' updates (the connection closes with 1013, "try again later"; the
//! y-websocket client reconnects and sends its edits again) until storage catches up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::docname::DocKey;
use crate::metrics::Metrics;
use crate::store::{DocStore, DocWrite};
use crate::util::now_ms;

/// The writes of one document not yet handed to storage.
pub struct PendingDoc {
    key: DocKey,
    state: Mutex<PendingState>,
    /// Set when the document's session is deleted: what is pending is dropped, not written.
    discarded: AtomicBool,
}

#[derive(Default)]
struct PendingState {
    /// (seq, at, update), in order.
    updates: Vec<(i64, i64, Vec<u8>)>,
    /// The newest snapshot asked for: (covers_seq, at, state).
    snapshot: Option<(i64, i64, Vec<u8>)>,
    /// Whether the writer already has this document in its list.
    queued: bool,
}

impl PendingDoc {
    pub fn new(key: DocKey) -> Arc<PendingDoc> {
        Arc::new(PendingDoc {
            key,
            state: Mutex::new(PendingState::default()),
            discarded: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, PendingState> {
        self.state.lock()
    }

    /// Takes what is pending as at most two writes: the updates merged into one, then the snapshot.
    /// Also says how many bytes that was, when the oldest of it was applied, and how many updates.
    fn take(&self) -> (Vec<DocWrite>, usize, Option<i64>, usize) {
        let (updates, snapshot) = {
            let mut state = self.lock();
            state.queued = false;
            (std::mem::take(&mut state.updates), state.snapshot.take())
        };
        let count = updates.len();
        let mut bytes = 0;
        let oldest = updates
            .first()
            .map(|u| u.1)
            .into_iter()
            .chain(snapshot.as_ref().map(|s| s.1))
            .min();
        let mut writes = Vec::with_capacity(2);
        let mut updates = updates;
        // A document's first state (the starter code, a file as it was on disk) keeps a row of
        // its own, so replay can show it before the first edit.
        if updates.first().is_some_and(|u| u.0 == 1) {
            let (seq, at, data) = updates.remove(0);
            bytes += data.len();
            writes.push(DocWrite::Update {
                key: self.key.clone(),
                seq,
                at,
                data,
            });
        }
        if let Some(&(seq, at, _)) = updates.last() {
            bytes += updates.iter().map(|(_, _, d)| d.len()).sum::<usize>();
            let merged = if updates.len() == 1 {
                Ok(updates.pop().map(|u| u.2).unwrap_or_default())
            } else {
                yrs::merge_updates_v1(updates.iter().map(|(_, _, d)| d.as_slice()))
            };
            match merged {
                Ok(data) => writes.push(DocWrite::Update {
                    key: self.key.clone(),
                    seq,
                    at,
                    data,
                }),
                Err(e) => {
                    // Should not happen (the room produced them); keep every update as it is.
                    tracing::warn!(session = %self.key.session_id, doc = %self.key.doc, error = %e, "could not merge pending updates; storing them one by one");
                    writes.extend(updates.into_iter().map(|(seq, at, data)| DocWrite::Update {
                        key: self.key.clone(),
                        seq,
                        at,
                        data,
                    }));
                }
            }
        }
        if let Some((covers_seq, at, state)) = snapshot {
            bytes += state.len();
            writes.push(DocWrite::Snapshot {
                key: self.key.clone(),
                covers_seq,
                at,
                state,
            });
        }
        (writes, bytes, oldest, count)
    }
}

enum Command {
    /// Answered once everything applied before it is committed (or has failed for good).
    Flush(oneshot::Sender<()>),
}

struct Shared {
    /// Documents with pending writes, each once.
    dirty: Mutex<Vec<Arc<PendingDoc>>>,
    wake: Notify,
    pending_bytes: AtomicUsize,
    max_pending_bytes: usize,
    metrics: Metrics,
}

#[derive(Clone)]
pub struct Persister {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
}

pub struct PersistSettings {
    pub flush_interval: Duration,
    pub max_pending_bytes: usize,
}

impl Persister {
    /// Starts the writer task. After `stop` is cancelled it writes what is pending and ends.
    pub fn start(
        store: Arc<dyn DocStore>,
        settings: PersistSettings,
        metrics: Metrics,
        stop: CancellationToken,
    ) -> (Persister, tokio::task::JoinHandle<()>) {
        let (commands, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            dirty: Mutex::new(Vec::new()),
            wake: Notify::new(),
            pending_bytes: AtomicUsize::new(0),
            max_pending_bytes: settings.max_pending_bytes.max(1),
            metrics,
        });
        let handle = tokio::spawn(writer(
            store,
            shared.clone(),
            rx,
            settings.flush_interval,
            stop,
        ));
        (Persister { shared, commands }, handle)
    }

    /// Whether storage is so far behind that new edits must wait.
    pub fn is_backlogged(&self) -> bool {
        self.shared.pending_bytes.load(Ordering::Relaxed) >= self.shared.max_pending_bytes
    }

    /// Records an applied update of a document.
    pub fn update(&self, doc: &Arc<PendingDoc>, seq: i64, data: Vec<u8>) {
        self.shared
            .pending_bytes
            .fetch_add(data.len(), Ordering::Relaxed);
        let mut state = doc.lock();
        state.updates.push((seq, now_ms(), data));
        self.enqueue(doc, &mut state);
    }

    /// Records a snapshot of a document holding every update up to `covers_seq`.
    pub fn snapshot(&self, doc: &Arc<PendingDoc>, covers_seq: i64, state_bytes: Vec<u8>) {
        self.shared
            .pending_bytes
            .fetch_add(state_bytes.len(), Ordering::Relaxed);
        let mut state = doc.lock();
        if let Some((_, _, older)) = state.snapshot.replace((covers_seq, now_ms(), state_bytes)) {
            self.shared
                .pending_bytes
                .fetch_sub(older.len(), Ordering::Relaxed);
        }
        self.enqueue(doc, &mut state);
    }

    /// Drops what is pending for a document whose session was deleted.
    pub fn discard(&self, doc: &Arc<PendingDoc>) {
        doc.discarded.store(true, Ordering::Relaxed);
    }

    fn enqueue(&self, doc: &Arc<PendingDoc>, state: &mut PendingState) {
        if !state.queued {
            state.queued = true;
            self.shared.dirty.lock().push(doc.clone());
            self.shared.wake.notify_one();
        }
    }

    /// Waits until everything recorded so far is committed (or has failed for good).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Flush(done)).is_ok() {
            self.shared.wake.notify_one();
            let _ = wait.await;
        }
    }
}

async fn writer(
    store: Arc<dyn DocStore>,
    shared: Arc<Shared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut last_commit = tokio::time::Instant::now() - interval;
    loop {
        let mut waiters = Vec::new();
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = stop.cancelled() => {}
            Some(Command::Flush(done)) = commands.recv() => waiters.push(done),
        }
        // Gather edits for up to one interval after the previous commit, unless someone waits.
        if waiters.is_empty() && !stop.is_cancelled() {
            tokio::select! {
                _ = tokio::time::sleep_until(last_commit + interval) => {}
                _ = stop.cancelled() => {}
                Some(Command::Flush(done)) = commands.recv() => waiters.push(done),
            }
        }
        while let Ok(Command::Flush(done)) = commands.try_recv() {
            waiters.push(done);
        }
        last_commit = tokio::time::Instant::now();
        let docs = std::mem::take(&mut *shared.dirty.lock());
        let mut batch = Vec::with_capacity(docs.len());
        let mut bytes = 0;
        let mut discarded = 0;
        let mut oldest: Option<i64> = None;
        let mut updates = 0;
        for doc in &docs {
            let (writes, n, first_at, count) = doc.take();
            if doc.discarded.load(Ordering::Relaxed) {
                discarded += n;
            } else {
                bytes += n;
                updates += count;
                oldest = match (oldest, first_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                batch.extend(writes);
            }
        }
        shared.pending_bytes.fetch_sub(discarded, Ordering::Relaxed);
        if commit(&*store, batch, &shared.metrics).await {
            shared.metrics.persist_updates(updates);
        }
        if let Some(at) = oldest {
            // The longest an applied edit waited to be durable: what a crash could have lost.
            shared
                .metrics
                .persist_lag(Duration::from_millis((now_ms() - at).max(0) as u64));
        }
        shared.pending_bytes.fetch_sub(bytes, Ordering::Relaxed);
        shared
            .metrics
            .persist_pending(shared.pending_bytes.load(Ordering::Relaxed));
        for done in waiters {
            let _ = done.send(());
        }
        if stop.is_cancelled() && shared.dirty.lock().is_empty() {
            // Answer late flushes too: nothing is left to write.
            commands.close();
            while let Some(Command::Flush(done)) = commands.recv().await {
                let _ = done.send(());
            }
            return;
        }
    }
}

/// Commits a batch, retrying while storage is unreachable; a write storage refuses (for example
/// a document of a deleted session) is logged and dropped without holding back the others.
/// True when the whole batch was stored.
async fn commit(store: &dyn DocStore, batch: Vec<DocWrite>, metrics: &Metrics) -> bool {
    if batch.is_empty() {
        return true;
    }
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=30 {
        let started = Instant::now();
        match store.write(&batch).await {
            Ok(()) => {
                metrics.persist_batch(batch.len(), started.elapsed());
                return true;
            }
            Err(e) if !e.is_transient() => {
                metrics.persist_error();
                tracing::warn!(writes = batch.len(), error = %e, "a batch of document writes was refused; writing one by one");
                for write in &batch {
                    if let Err(e) = store.write(std::slice::from_ref(write)).await {
                        let key = write.key();
                        tracing::warn!(session = %key.session_id, doc = %key.doc, error = %e, "dropping a document write that storage refuses");
                    }
                }
                return false;
            }
            Err(e) => {
                tracing::error!(attempt, writes = batch.len(), error = %e, "storage unreachable; retrying document writes");
                metrics.persist_error();
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    tracing::error!(
        writes = batch.len(),
        "giving up on a batch of document writes after repeated failures"
    );
    false
}
