//! Process metrics in the Prometheus text format, kept as plain atomics: the hot paths (every
//! applied update) only do relaxed increments.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

#[derive(Clone, Default)]
pub struct Metrics(Arc<Inner>);

#[derive(Default)]
struct Inner {
    http_by_class: [AtomicU64; 6],
    ws_open: AtomicI64,
    ws_total: AtomicU64,
    ws_refused_input: AtomicU64,
    ws_resyncs: AtomicU64,
    rooms_loaded: AtomicI64,
    updates_applied: AtomicU64,
    update_bytes: AtomicU64,
    update_apply_micros: AtomicU64,
    persist_batches: AtomicU64,
    persist_writes: AtomicU64,
    persist_micros: AtomicU64,
    persist_errors: AtomicU64,
    persist_updates: AtomicU64,
    persist_pending_bytes: AtomicU64,
    persist_lag_millis: AtomicU64,
    persist_lag_max_millis: AtomicU64,
    stored_updates_skipped: AtomicU64,
    docs_unpacked: AtomicU64,
    docs_packed: AtomicU64,
    docs_live: AtomicI64,
    cluster_remote_updates: AtomicU64,
    cluster_compactions: AtomicU64,
    cluster_compacted_entries: AtomicU64,
    ws_busy: AtomicU64,
    sessions_created: AtomicU64,
}

impl Metrics {
    pub fn http_response(&self, status: u16) {
        let class = (status / 100).min(5) as usize;
        self.0.http_by_class[class].fetch_add(1, Relaxed);
    }
    pub fn ws_opened(&self) {
        self.0.ws_open.fetch_add(1, Relaxed);
        self.0.ws_total.fetch_add(1, Relaxed);
    }
    pub fn ws_closed(&self) {
        self.0.ws_open.fetch_sub(1, Relaxed);
    }
    pub fn ws_refused_input(&self) {
        self.0.ws_refused_input.fetch_add(1, Relaxed);
    }
    pub fn ws_resynced(&self) {
        self.0.ws_resyncs.fetch_add(1, Relaxed);
    }
    pub fn room_loaded(&self) {
        self.0.rooms_loaded.fetch_add(1, Relaxed);
    }
    pub fn room_unloaded(&self) {
        self.0.rooms_loaded.fetch_sub(1, Relaxed);
    }
    pub fn update_applied(&self, bytes: usize, took: Duration) {
        self.0.updates_applied.fetch_add(1, Relaxed);
        self.0.update_bytes.fetch_add(bytes as u64, Relaxed);
        self.0
            .update_apply_micros
            .fetch_add(took.as_micros() as u64, Relaxed);
    }
    pub fn persist_batch(&self, writes: usize, took: Duration) {
        self.0.persist_batches.fetch_add(1, Relaxed);
        self.0.persist_writes.fetch_add(writes as u64, Relaxed);
        self.0
            .persist_micros
            .fetch_add(took.as_micros() as u64, Relaxed);
    }
    /// Updates stored (several may go in one stored row).
    pub fn persist_updates(&self, n: usize) {
        self.0.persist_updates.fetch_add(n as u64, Relaxed);
    }
    pub fn persist_pending(&self, bytes: usize) {
        self.0.persist_pending_bytes.store(bytes as u64, Relaxed);
    }
    /// How long the oldest edit of the last commit waited for it.
    pub fn persist_lag(&self, lag: Duration) {
        let ms = lag.as_millis() as u64;
        self.0.persist_lag_millis.store(ms, Relaxed);
        self.0.persist_lag_max_millis.fetch_max(ms, Relaxed);
    }
    pub fn stored_update_skipped(&self) {
        self.0.stored_updates_skipped.fetch_add(1, Relaxed);
    }
    pub fn doc_unpacked(&self) {
        self.0.docs_unpacked.fetch_add(1, Relaxed);
        self.0.docs_live.fetch_add(1, Relaxed);
    }
    pub fn doc_packed(&self) {
        self.0.docs_packed.fetch_add(1, Relaxed);
        self.0.docs_live.fetch_sub(1, Relaxed);
    }
    /// A loaded document that could not be packed at load, or a live one unloaded.
    pub fn doc_live_changed(&self, by: i64) {
        self.0.docs_live.fetch_add(by, Relaxed);
    }
    pub fn cluster_remote_update(&self) {
        self.0.cluster_remote_updates.fetch_add(1, Relaxed);
    }
    pub fn cluster_compaction(&self, entries: usize) {
        self.0.cluster_compactions.fetch_add(1, Relaxed);
        self.0
            .cluster_compacted_entries
            .fetch_add(entries as u64, Relaxed);
    }
    pub fn ws_busy(&self) {
        self.0.ws_busy.fetch_add(1, Relaxed);
    }
    pub fn persist_error(&self) {
        self.0.persist_errors.fetch_add(1, Relaxed);
    }
    pub fn session_created(&self) {
        self.0.sessions_created.fetch_add(1, Relaxed);
    }

    pub fn render(&self) -> String {
        let m = &self.0;
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "iide_ws_connections",
            "gauge",
            "Open live-document connections.",
            m.ws_open.load(Relaxed).to_string(),
        );
        metric(
            "iide_ws_connections_total",
            "counter",
            "Live-document connections accepted.",
            m.ws_total.load(Relaxed).to_string(),
        );
        metric(
            "iide_ws_closed_bad_input_total",
            "counter",
            "Connections closed for malformed, oversized or too many messages.",
            m.ws_refused_input.load(Relaxed).to_string(),
        );
        metric(
            "iide_ws_resyncs_total",
            "counter",
            "Full resyncs sent to connections that fell behind.",
            m.ws_resyncs.load(Relaxed).to_string(),
        );
        metric(
            "iide_rooms_loaded",
            "gauge",
            "Documents loaded in memory.",
            m.rooms_loaded.load(Relaxed).to_string(),
        );
        metric(
            "iide_doc_updates_total",
            "counter",
            "Document updates applied.",
            m.updates_applied.load(Relaxed).to_string(),
        );
        metric(
            "iide_doc_update_bytes_total",
            "counter",
            "Bytes of document updates received.",
            m.update_bytes.load(Relaxed).to_string(),
        );
        metric(
            "iide_doc_update_apply_seconds_total",
            "counter",
            "Time spent applying document updates.",
            secs(m.update_apply_micros.load(Relaxed)),
        );
        metric(
            "iide_persist_batches_total",
            "counter",
            "Storage transactions of document writes.",
            m.persist_batches.load(Relaxed).to_string(),
        );
        metric(
            "iide_persist_writes_total",
            "counter",
            "Rows of document updates and snapshots stored.",
            m.persist_writes.load(Relaxed).to_string(),
        );
        metric(
            "iide_persist_updates_total",
            "counter",
            "Document updates stored (merged per document and flush; in cluster mode, written to their Redis stream).",
            m.persist_updates.load(Relaxed).to_string(),
        );
        metric(
            "iide_persist_pending_bytes",
            "gauge",
            "Bytes of document writes applied but not yet stored.",
            m.persist_pending_bytes.load(Relaxed).to_string(),
        );
        metric(
            "iide_persist_lag_seconds",
            "gauge",
            "How long the oldest edit of the last commit waited to be stored.",
            secs(m.persist_lag_millis.load(Relaxed) * 1000),
        );
        metric(
            "iide_persist_lag_max_seconds",
            "gauge",
            "Longest any edit waited to be stored since start.",
            secs(m.persist_lag_max_millis.load(Relaxed) * 1000),
        );
        metric(
            "iide_doc_stored_updates_skipped_total",
            "counter",
            "Stored updates that did not decode or apply when a document was rebuilt.",
            m.stored_updates_skipped.load(Relaxed).to_string(),
        );
        metric(
            "iide_doc_unpacks_total",
            "counter",
            "Documents turned from their encoded form into a live yrs Doc (the server needed one).",
            m.docs_unpacked.load(Relaxed).to_string(),
        );
        metric(
            "iide_docs_live",
            "gauge",
            "Loaded documents held as a live yrs Doc; the others are kept encoded.",
            m.docs_live.load(Relaxed).to_string(),
        );
        metric(
            "iide_doc_packs_total",
            "counter",
            "Live documents turned back into their encoded form.",
            m.docs_packed.load(Relaxed).to_string(),
        );
        metric(
            "iide_cluster_remote_updates_total",
            "counter",
            "Document updates applied from other nodes (cluster mode).",
            m.cluster_remote_updates.load(Relaxed).to_string(),
        );
        metric(
            "iide_cluster_compactions_total",
            "counter",
            "Document streams merged into a stored snapshot by this node.",
            m.cluster_compactions.load(Relaxed).to_string(),
        );
        metric(
            "iide_cluster_compacted_entries_total",
            "counter",
            "Stream entries this node's compactions stored.",
            m.cluster_compacted_entries.load(Relaxed).to_string(),
        );
        metric(
            "iide_ws_closed_busy_total",
            "counter",
            "Connections told to retry later (1013) because storage was behind.",
            m.ws_busy.load(Relaxed).to_string(),
        );
        metric(
            "iide_persist_seconds_total",
            "counter",
            "Time spent committing document writes.",
            secs(m.persist_micros.load(Relaxed)),
        );
        metric(
            "iide_persist_errors_total",
            "counter",
            "Failed storage transactions (retried).",
            m.persist_errors.load(Relaxed).to_string(),
        );
        metric(
            "iide_sessions_created_total",
            "counter",
            "Sessions created.",
            m.sessions_created.load(Relaxed).to_string(),
        );
        let _ = writeln!(
            out,
            "# HELP iide_http_responses_total HTTP responses by status class.\n# TYPE iide_http_responses_total counter"
        );
        for (class, count) in m.http_by_class.iter().enumerate().skip(1) {
            let _ = writeln!(
                out,
                "iide_http_responses_total{{class=\"{class}xx\"}} {}",
                count.load(Relaxed)
            );
        }
        out
    }
}

fn secs(micros: u64) -> String {
    format!("{:.6}", micros as f64 / 1e6)
}
