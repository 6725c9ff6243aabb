//! The document persistence queue: rooms enqueue writes without waiting; one task commits them in
//! batches. Batching turns thousands of small inserts per second into a few transactions, and
//! bounds what a crash can lose to one flush interval plus one commit.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;
use crate::store::{DocWrite, Store};

enum Command {
    Write(DocWrite),
    /// Answered once every write enqueued before it is committed.
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Persister {
    tx: mpsc::UnboundedSender<Command>,
}

const MAX_BATCH: usize = 4096;

impl Persister {
    /// Starts the writer task. It stops after every `Persister` clone is dropped and the queue is drained.
    pub fn start(store: Store, flush_interval: Duration, metrics: Metrics) -> (Persister, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = tokio::spawn(writer(store, rx, flush_interval, metrics));
        (Persister { tx }, handle)
    }

    pub fn write(&self, write: DocWrite) {
        if self.tx.send(Command::Write(write)).is_err() {
            tracing::error!("document write dropped: the persistence task has stopped");
        }
    }

    /// Waits until everything enqueued so far is committed (or has failed for good).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Command::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn writer(store: Store, mut rx: mpsc::UnboundedReceiver<Command>, interval: Duration, metrics: Metrics) {
    let mut batch: Vec<DocWrite> = Vec::new();
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + interval;
        let mut cmd = Some(first);
        // Gather what arrives within one interval of the first write; a flush request cuts it short.
        loop {
            match cmd.take() {
                Some(Command::Write(w)) => batch.push(w),
                Some(Command::Flush(done)) => {
                    waiters.push(done);
                    break;
                }
                None => {}
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(next)) => cmd = Some(next),
                Ok(None) | Err(_) => break,
            }
        }
        // Also take whatever is already queued, without waiting.
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Command::Write(w)) => batch.push(w),
                Ok(Command::Flush(done)) => waiters.push(done),
                Err(_) => break,
            }
        }
        commit(&store, &mut batch, &metrics).await;
        for done in waiters.drain(..) {
            let _ = done.send(());
        }
    }
    commit(&store, &mut batch, &metrics).await;
}

/// Commits a batch, retrying with backoff while storage is unreachable so that an outage delays
/// writes instead of dropping them. A write that storage refuses outright (its session was
/// deleted meanwhile) must not take the rest of the batch down with it: the batch is then
/// written one by one and only the refused writes are dropped.
async fn commit(store: &Store, batch: &mut Vec<DocWrite>, metrics: &Metrics) {
    if batch.is_empty() {
        return;
    }
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=30 {
        let started = std::time::Instant::now();
        match store.write_docs(batch).await {
            Ok(()) => {
                metrics.persist_batch(batch.len(), started.elapsed());
                batch.clear();
                return;
            }
            Err(e) if !e.is_transient() => {
                metrics.persist_error();
                tracing::warn!(writes = batch.len(), error = %e, "a batch of document writes was refused; writing one by one");
                for write in batch.drain(..) {
                    if let Err(e) = store.write_docs(std::slice::from_ref(&write)).await {
                        tracing::warn!(error = %e, "dropping a document write that storage refuses");
                    }
                }
                return;
            }
            Err(e) => {
                tracing::error!(attempt, writes = batch.len(), error = %e, "storage unreachable; retrying document writes");
                metrics.persist_error();
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    tracing::error!(writes = batch.len(), "giving up on a batch of document writes after repeated failures");
    batch.clear();
}
