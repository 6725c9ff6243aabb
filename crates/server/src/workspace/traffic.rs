//! What reaches a workspace's app, recorded for the interviewer's live view: one small record per
//! request (method, path template, status, latency, bytes, origin) in a bounded ring, plus
//! markers (a scenario activated or reset, a file saved). The figures (requests per second, error
//! rate, p50/p95 latency per time step) are computed from the ring when asked for, so recording
//! costs one short lock and a push per request.

use std::collections::VecDeque;

use parking_lot::Mutex;
use serde::Serialize;

use crate::util::now_ms;

/// Requests kept per session: at 50 requests/s, the last ~3 minutes in full; a typical interview's
/// traffic is far below that, so the default 5-minute window is usually whole.
pub const MAX_RECORDS: usize = 10_000;
const MAX_MARKERS: usize = 200;
/// The same marker (e.g. one file saved on every keystroke's sync) is kept once per this long.
const MARKER_COALESCE_MS: i64 = 10_000;
const MAX_PATH_CHARS: usize = 200;

/// Who sent a request to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Through the session's proxy: the request console, the terminal's and VS Code's 127.0.0.1:8000.
    Candidate,
    /// A scenario's traffic action.
    Chaos,
    /// A recovery check's probe.
    Check,
}

#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub at: i64,
    pub method: String,
    /// The path with ids replaced by `{id}` and without the query.
    pub path: String,
    /// The answer's status; 0 when the connection was dropped without one.
    pub status: u16,
    /// Until the answer's head (what a client waits before it sees a status).
    pub ms: f64,
    /// The answer's body as sent.
    pub bytes: u64,
    pub origin: Origin,
}

impl Record {
    pub fn is_error(&self) -> bool {
        self.status == 0 || self.status >= 500
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    pub at: i64,
    /// `scenario`, `reset`, `file`, `checks`.
    pub kind: &'static str,
    pub label: String,
}

/// One session's recorder. `enabled` false records nothing (the proxy's cost without it).
pub struct Traffic {
    enabled: bool,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    records: VecDeque<Record>,
    markers: VecDeque<Marker>,
    /// Everything ever recorded, including what has left the ring.
    total: u64,
}

impl Traffic {
    pub fn new(enabled: bool) -> Traffic {
        Traffic {
            enabled,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn record(&self, r: Record) {
        if !self.enabled {
            return;
        }
        let mut i = self.lock();
        i.total += 1;
        if i.records.len() >= MAX_RECORDS {
            i.records.pop_front();
        }
        i.records.push_back(r);
    }

    pub fn mark(&self, kind: &'static str, label: impl Into<String>) {
        let label = label.into();
        let now = now_ms();
        let mut i = self.lock();
        if i.markers
            .iter()
            .rev()
            .take(5)
            .any(|m| m.kind == kind && m.label == label && now - m.at < MARKER_COALESCE_MS)
        {
            return;
        }
        if i.markers.len() >= MAX_MARKERS {
            i.markers.pop_front();
        }
        i.markers.push_back(Marker {
            at: now,
            kind,
            label,
        });
    }

    /// The figures over the last `window_s` seconds, in steps of `step_s` seconds.
    pub fn stats(&self, window_s: u32, step_s: u32, latest: usize) -> Stats {
        let now = now_ms();
        let step_ms = i64::from(step_s.max(1)) * 1000;
        let window_ms = i64::from(window_s.max(step_s.max(1)));
        let window_ms = window_ms * 1000;
        // Steps end on a multiple of the step, so a chart does not shift between two polls.
        let end = (now / step_ms + 1) * step_ms;
        let start = end - window_ms;
        let i = self.lock();
        let in_window: Vec<&Record> = i.records.iter().filter(|r| r.at >= start).collect();
        let steps = (window_ms / step_ms) as usize;
        let mut buckets: Vec<Vec<&Record>> = vec![Vec::new(); steps];
        for r in &in_window {
            let k = ((r.at - start) / step_ms) as usize;
            if let Some(b) = buckets.get_mut(k.min(steps.saturating_sub(1))) {
                b.push(r);
            }
        }
        let series = buckets
            .iter()
            .enumerate()
            .map(|(k, rs)| {
                let errors = rs.iter().filter(|r| r.is_error()).count() as u64;
                let mut ms: Vec<f64> = rs.iter().map(|r| r.ms).collect();
                ms.sort_by(f64::total_cmp);
                Step {
                    t: start + k as i64 * step_ms,
                    requests: rs.len() as u64,
                    rps: rs.len() as f64 / f64::from(step_s.max(1)),
                    errors,
                    error_rate: if rs.is_empty() {
                        None
                    } else {
                        Some(errors as f64 / rs.len() as f64)
                    },
                    p50_ms: percentile(&ms, 50.0),
                    p95_ms: percentile(&ms, 95.0),
                }
            })
            .collect();
        let mut ms: Vec<f64> = in_window.iter().map(|r| r.ms).collect();
        ms.sort_by(f64::total_cmp);
        let errors = in_window.iter().filter(|r| r.is_error()).count() as u64;
        let count = |o: Origin| in_window.iter().filter(|r| r.origin == o).count() as u64;
        let totals = Totals {
            requests: in_window.len() as u64,
            errors,
            error_rate: if in_window.is_empty() {
                None
            } else {
                Some(errors as f64 / in_window.len() as f64)
            },
            p50_ms: percentile(&ms, 50.0),
            p95_ms: percentile(&ms, 95.0),
            p99_ms: percentile(&ms, 99.0),
            bytes: in_window.iter().map(|r| r.bytes).sum(),
            candidate: count(Origin::Candidate),
            chaos: count(Origin::Chaos),
            check: count(Origin::Check),
        };
        Stats {
            recording: self.enabled,
            now,
            window_s: (window_ms / 1000) as u32,
            step_s: step_s.max(1),
            recorded_total: i.total,
            totals,
            series,
            latest: i.records.iter().rev().take(latest).cloned().collect(),
            markers: i
                .markers
                .iter()
                .filter(|m| m.at >= start)
                .cloned()
                .collect(),
        }
    }
}

/// Nearest rank: the smallest value with at least p% of the values at or below it.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// `/users/42/alerts?x=1` -> `/users/{id}/alerts`: numbers, UUIDs and long hex ids become `{id}`, so
/// the same route is one line however many users call it.
pub fn path_template(path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    let mut out = String::with_capacity(path.len().min(MAX_PATH_CHARS));
    for (k, seg) in path.split('/').enumerate() {
        if k > 0 {
            out.push('/');
        }
        let is_id = !seg.is_empty()
            && (seg.bytes().all(|b| b.is_ascii_digit())
                || (seg.len() >= 16
                    && seg.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
                    && seg.bytes().any(|b| b.is_ascii_digit())));
        out.push_str(if is_id { "{id}" } else { seg });
        if out.len() > MAX_PATH_CHARS {
            break;
        }
    }
    out.chars().take(MAX_PATH_CHARS).collect()
}

#[derive(Debug, Serialize)]
pub struct Stats {
    pub recording: bool,
    pub now: i64,
    pub window_s: u32,
    pub step_s: u32,
    pub recorded_total: u64,
    pub totals: Totals,
    pub series: Vec<Step>,
    /// Newest first.
    pub latest: Vec<Record>,
    pub markers: Vec<Marker>,
}

#[derive(Debug, Serialize)]
pub struct Totals {
    pub requests: u64,
    pub errors: u64,
    pub error_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub bytes: u64,
    pub candidate: u64,
    pub chaos: u64,
    pub check: u64,
}

#[derive(Debug, Serialize)]
pub struct Step {
    /// The step's start (ms since the epoch).
    pub t: i64,
    pub requests: u64,
    pub rps: f64,
    pub errors: u64,
    pub error_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(status: u16, ms: f64) -> Record {
        Record {
            at: now_ms(),
            method: "GET".into(),
            path: "/x".into(),
            status,
            ms,
            bytes: 10,
            origin: Origin::Candidate,
        }
    }

    #[test]
    fn templates() {
        assert_eq!(path_template("/users/42/alerts?x=1"), "/users/{id}/alerts");
        assert_eq!(path_template("/stocks/GOOGL"), "/stocks/GOOGL");
        assert_eq!(path_template("/"), "/");
        assert_eq!(
            path_template("/p/3f2a9c1e-1b2c-4d5e-8f90-123456789abc"),
            "/p/{id}"
        );
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&xs, 50.0), Some(50.0));
        assert_eq!(percentile(&xs, 95.0), Some(95.0));
        assert_eq!(percentile(&xs, 99.0), Some(99.0));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn counts_errors_and_bounds_the_ring() {
        let t = Traffic::new(true);
        for k in 0..(MAX_RECORDS + 10) {
            t.record(rec(if k % 4 == 0 { 503 } else { 200 }, k as f64));
        }
        let s = t.stats(300, 5, 3);
        assert_eq!(s.recorded_total, (MAX_RECORDS + 10) as u64);
        assert_eq!(s.totals.requests, MAX_RECORDS as u64);
        assert_eq!(s.totals.errors, (MAX_RECORDS / 4) as u64);
        assert_eq!(s.latest.len(), 3);
        assert_eq!(s.series.len(), 60);
        assert_eq!(
            s.series.iter().map(|b| b.requests).sum::<u64>(),
            MAX_RECORDS as u64
        );
        let off = Traffic::new(false);
        off.record(rec(200, 1.0));
        assert_eq!(off.stats(60, 5, 10).totals.requests, 0);
    }

    #[test]
    fn markers_coalesce() {
        let t = Traffic::new(true);
        t.mark("file", "app/main.py");
        t.mark("file", "app/main.py");
        t.mark("scenario", "Alert flood");
        assert_eq!(t.stats(60, 5, 0).markers.len(), 2);
    }
}
