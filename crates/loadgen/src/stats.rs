//! State shared by all client tasks: send timestamps, counters and latency histograms.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use parking_lot::Mutex;

/// Latencies are recorded in microseconds, from 1 µs to 1 h, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

/// The measured window, in nanoseconds since `Shared::epoch`. Edits sent inside it are the
/// ones whose deliveries are expected, counted and timed.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
}

#[derive(Default)]
pub struct Counters {
    pub connect_ok: AtomicU64,
    pub connect_failed: AtomicU64,
    /// Connect attempts that finished, successfully or not.
    pub connect_done: AtomicU64,
    /// Connections that ended (close frame, EOF or read error) before the run asked them to.
    pub closed_early: AtomicU64,
    pub protocol_errors: AtomicU64,
    pub send_errors: AtomicU64,
    pub edits_sent: AtomicU64,
    pub edits_sent_window: AtomicU64,
    pub deliveries_expected: AtomicU64,
    pub deliveries_received: AtomicU64,
    /// Deliveries of edits sent outside the window (warm-up), not timed.
    pub deliveries_other: AtomicU64,
    /// Deliveries owed for every edit sent, in the window or not: the run ends (and compares the
    /// replicas) only once they all arrived, as an edit timed just after the window is still sent.
    pub deliveries_expected_all: AtomicU64,
    /// Updates that carried the receiver's own edits back to it (some servers echo).
    pub echoes: AtomicU64,
    /// Clients that ran out of preallocated send slots (schedule far behind); should stay 0.
    pub slots_exhausted: AtomicU64,
    pub frames_in: AtomicU64,
    pub frames_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Socket reads that returned data (each one a recv system call). Fewer reads than frames
    /// means the server packs several frames into one TCP write.
    pub tcp_reads: AtomicU64,
    /// Socket writes (each one a send system call).
    pub tcp_writes: AtomicU64,
}

pub struct Hists {
    pub total: Histogram<u64>,
    /// With several server nodes: deliveries whose sender and receiver use the same node, and
    /// those that crossed from one node to another (window only).
    pub same_node: Histogram<u64>,
    pub cross_node: Histogram<u64>,
    /// Reset at every progress line.
    pub interval: Histogram<u64>,
}

pub struct Shared {
    pub epoch: Instant,
    pub clients_per_room: usize,
    /// Server nodes the clients are spread over (1 = one server).
    pub nodes: usize,
    /// Every client of a room uses the room's node (a load balancer with session affinity)
    /// instead of the clients of a room taking the nodes in turn.
    pub room_affinity: bool,
    /// Characters inserted per edit; Yjs clocks count them, so seq = clock / edit_len.
    pub edit_len: u32,
    pub apply: bool,
    /// Send an awareness update (cursor) after every edit, as an editor binding does.
    pub awareness_per_edit: bool,
    /// Every edit goes to the end of the shared text as this client's replica sees it, not to
    /// the client's own cursor: the clients of a room all type at the same place.
    pub same_spot: bool,
    /// Per client, a digest of its document text at the end (apply mode; 0 = none).
    pub digests: Vec<AtomicU64>,
    /// Per client, per edit sequence number: send time in ns since epoch, plus one (0 = unsent).
    pub send_times: Vec<Box<[AtomicU64]>>,
    /// Live (connected, not yet closed) clients per room.
    pub room_live: Vec<AtomicU32>,
    pub window: OnceLock<Window>,
    pub c: Counters,
    pub hists: Mutex<Hists>,
    errors: Mutex<ErrorLog>,
}

#[derive(Default)]
struct ErrorLog {
    /// Distinct messages and how often each happened.
    by_message: BTreeMap<String, u64>,
}

impl Shared {
    pub fn new(
        rooms: usize,
        clients_per_room: usize,
        slots: usize,
        edit_len: u32,
        apply: bool,
    ) -> Self {
        let n = rooms * clients_per_room;
        Shared {
            epoch: Instant::now(),
            clients_per_room,
            nodes: 1,
            room_affinity: false,
            edit_len,
            apply,
            awareness_per_edit: false,
            same_spot: false,
            digests: (0..n).map(|_| AtomicU64::new(0)).collect(),
            send_times: (0..n)
                .map(|_| (0..slots).map(|_| AtomicU64::new(0)).collect())
                .collect(),
            room_live: (0..rooms).map(|_| AtomicU32::new(0)).collect(),
            window: OnceLock::new(),
            c: Counters::default(),
            hists: Mutex::new(Hists {
                total: new_histogram(),
                same_node: new_histogram(),
                cross_node: new_histogram(),
                interval: new_histogram(),
            }),
            errors: Mutex::new(ErrorLog::default()),
        }
    }

    pub fn ns(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    /// Remember an error message (grouped, so 3,000 identical failures print as one line).
    pub fn error(&self, msg: impl Into<String>) {
        let mut log = self.errors.lock();
        let msg = msg.into();
        if log.by_message.len() < 100 || log.by_message.contains_key(&msg) {
            *log.by_message.entry(msg).or_default() += 1;
        }
    }

    pub fn error_messages(&self) -> Vec<(String, u64)> {
        let log = self.errors.lock();
        log.by_message
            .iter()
            .map(|(m, n)| (m.clone(), *n))
            .collect()
    }

    /// The server node client `idx` talks to: the clients of a room take the nodes in turn,
    /// so with two nodes and three clients, two of every three pairs cross nodes; with room
    /// affinity, the rooms take the nodes in turn and no edit crosses.
    pub fn node_of(&self, idx: usize) -> usize {
        if self.room_affinity {
            (idx / self.clients_per_room.max(1)) % self.nodes.max(1)
        } else {
            (idx % self.clients_per_room) % self.nodes.max(1)
        }
    }

    /// Record that edit `seq` of client `sender` has reached client `receiver` at `now_ns`.
    pub fn delivered(&self, sender: usize, receiver: usize, seq: usize, now_ns: u64) {
        let Some(slot) = self.send_times.get(sender).and_then(|s| s.get(seq)) else {
            self.c.protocol_errors.fetch_add(1, Relaxed);
            self.error(format!(
                "delivery of an edit that was never sent (client {sender}, seq {seq})"
            ));
            return;
        };
        let sent = slot.load(Relaxed);
        if sent == 0 {
            // The send time is stored before the frame is written, so this cannot be a race.
            self.c.protocol_errors.fetch_add(1, Relaxed);
            self.error(format!(
                "delivery of an edit that was never sent (client {sender}, seq {seq})"
            ));
            return;
        }
        let sent = sent - 1;
        let micros = (now_ns.saturating_sub(sent) / 1000).max(1);
        let in_window = self
            .window
            .get()
            .is_some_and(|w| sent >= w.start_ns && sent < w.end_ns);
        let mut h = self.hists.lock();
        // Progress lines show warm-up latencies too; the report only the window's.
        h.interval.saturating_record(micros);
        if in_window {
            h.total.saturating_record(micros);
            if self.nodes > 1 {
                if self.node_of(sender) == self.node_of(receiver) {
                    h.same_node.saturating_record(micros);
                } else {
                    h.cross_node.saturating_record(micros);
                }
            }
            self.c.deliveries_received.fetch_add(1, Relaxed);
        } else {
            self.c.deliveries_other.fetch_add(1, Relaxed);
        }
    }
}
