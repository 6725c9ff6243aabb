//! Network faults in the proxy in front of a workspace's app, in Toxiproxy's vocabulary but
//! HTTP-aware: each matches requests by method and path and fires with a probability.
//!
//! This is the layer below both `workspace` (whose app proxy applies a session's faults to every
//! request) and `chaos` (which decides which faults are on). It knows nothing of either.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode, header};
use bytes::Bytes;
use futures_util::StreamExt;
use parking_lot::Mutex;
use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// Delay before the request reaches the app: `latency_ms` +- `jitter_ms`.
    Latency,
    /// Answer with `status` instead of calling the app.
    Error,
    /// Drop the connection without an answer.
    Reset,
    /// Hang for `timeout_ms`, then drop the connection.
    Timeout,
    /// Send the app's answer at `bytes_per_second`.
    Bandwidth,
}

/// A fault as written in an exercise manifest (`fault = "..."`) or sent to the API (`"kind"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(rename = "kind", alias = "fault")]
    pub kind: FaultKind,
    /// Upper-case HTTP methods; empty matches any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// A glob over the request path: `*` matches any characters.
    #[serde(default = "any_path")]
    pub path: String,
    #[serde(default = "always")]
    pub probability: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_second: Option<u64>,
}

fn any_path() -> String {
    "*".into()
}
fn always() -> f64 {
    1.0
}

const MAX_DELAY_MS: u64 = 120_000;

impl FaultSpec {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.probability) || self.probability.is_nan() {
            return Err("probability must be between 0 and 1".into());
        }
        if !self.path.starts_with('/') && !self.path.starts_with('*') {
            return Err("path must start with '/' or '*'".into());
        }
        if self.path.len() > 200 || self.methods.len() > 10 {
            return Err("path or methods too long".into());
        }
        for m in &self.methods {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(format!("invalid method '{m}'"));
            }
        }
        let need = |v: Option<u64>, name: &str, max: u64| match v {
            Some(x) if x <= max => Ok(()),
            Some(_) => Err(format!("{name} must be at most {max}")),
            None => Err(format!("a {:?} fault needs {name}", self.kind).to_lowercase()),
        };
        match self.kind {
            FaultKind::Latency => {
                need(self.latency_ms, "latency_ms", MAX_DELAY_MS)?;
                if self.jitter_ms.unwrap_or(0) > MAX_DELAY_MS {
                    return Err(format!("jitter_ms must be at most {MAX_DELAY_MS}"));
                }
            }
            FaultKind::Error => {
                if let Some(s) = self.status
                    && !(400..=599).contains(&s)
                {
                    return Err("status must be an error status (400-599)".into());
                }
            }
            FaultKind::Reset => {}
            FaultKind::Timeout => need(self.timeout_ms, "timeout_ms", MAX_DELAY_MS)?,
            FaultKind::Bandwidth => {
                need(self.bytes_per_second, "bytes_per_second", u64::MAX)?;
                if self.bytes_per_second == Some(0) {
                    return Err("bytes_per_second must be above 0".into());
                }
            }
        }
        Ok(())
    }

    pub fn normalized(mut self) -> FaultSpec {
        for m in &mut self.methods {
            *m = m.to_ascii_uppercase();
        }
        self
    }

    pub fn matches(&self, method: &str, path: &str) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m == method))
            && glob(&self.path, path)
    }
}

/// `*` matches any run of characters (including `/`); everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// What the proxy does with one request, from every fault that matched and fired.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub delay: Duration,
    pub outcome: Outcome,
    pub bytes_per_second: Option<u64>,
}

#[derive(Debug, Default, PartialEq)]
pub enum Outcome {
    #[default]
    Forward,
    Error(u16),
    Reset,
    /// Hang this long, then drop the connection.
    Hang(Duration),
}

pub fn plan<'a>(faults: impl IntoIterator<Item = &'a FaultSpec>, method: &str, path: &str) -> Plan {
    let mut rng = rand::rng();
    let mut plan = Plan::default();
    for f in faults {
        if !f.matches(method, path)
            || !(f.probability >= 1.0 || rng.random_bool(f.probability.clamp(0.0, 1.0)))
        {
            continue;
        }
        match f.kind {
            FaultKind::Latency => {
                let base = f.latency_ms.unwrap_or(0) as i64;
                let jitter = f.jitter_ms.unwrap_or(0) as i64;
                let ms = if jitter > 0 {
                    base + rng.random_range(-jitter..=jitter)
                } else {
                    base
                };
                plan.delay += Duration::from_millis(ms.max(0) as u64);
            }
            // The first failure that fires decides; later ones cannot make it worse.
            FaultKind::Error if plan.outcome == Outcome::Forward => {
                plan.outcome = Outcome::Error(f.status.unwrap_or(500))
            }
            FaultKind::Reset if plan.outcome == Outcome::Forward => plan.outcome = Outcome::Reset,
            FaultKind::Timeout if plan.outcome == Outcome::Forward => {
                plan.outcome = Outcome::Hang(Duration::from_millis(f.timeout_ms.unwrap_or(30_000)))
            }
            FaultKind::Bandwidth => {
                let b = f.bytes_per_second.unwrap_or(u64::MAX);
                plan.bytes_per_second = Some(plan.bytes_per_second.map_or(b, |x| x.min(b)));
            }
            _ => {}
        }
    }
    plan
}

/// A fault that is on in a session, as the interviewer's panel lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveFault {
    pub id: String,
    /// The scenario that turned it on; none for a fault added by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    #[serde(flatten)]
    pub spec: FaultSpec,
    pub since: i64,
}

/// What is on in one session: its faults, and the scenarios that are active (since when). A
/// scenario is recorded here even when it has no network fault, so one lock covers both.
#[derive(Debug, Default)]
pub struct Active {
    pub faults: Vec<ActiveFault>,
    pub scenarios: BTreeMap<String, i64>,
}

/// One session's faults: read on every request to its app, changed by the Chaos Engine.
#[derive(Default)]
pub struct SessionFaults {
    state: Mutex<Active>,
    /// Activations and resets one at a time, so a reset never interleaves with an activation.
    changes: tokio::sync::Mutex<()>,
    /// The headers the app's own server sends with an error (the exercise says which).
    error_headers: Vec<(HeaderName, HeaderValue)>,
}

/// What happens to one request before (and whether) it reaches the app.
pub enum Verdict {
    /// Send it to the app; pace the answer if a bandwidth fault fired.
    Forward { bytes_per_second: Option<u64> },
    /// Answer this instead of calling the app.
    Answer(Response<Body>),
    /// Drop the connection without an answer.
    Drop,
}

impl SessionFaults {
    /// `error_headers`: what an error answered in the app's place carries (besides `Date` and
    /// `Content-Length`), so it looks like the app's own.
    pub fn new(error_headers: Vec<(HeaderName, HeaderValue)>) -> SessionFaults {
        SessionFaults {
            error_headers,
            ..SessionFaults::default()
        }
    }

    pub fn lock(&self) -> parking_lot::MutexGuard<'_, Active> {
        self.state.lock()
    }

    /// Held while a change that spans several steps (an activation, a reset) is made.
    pub async fn changing(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.changes.lock().await
    }

    pub fn specs(&self) -> Vec<FaultSpec> {
        self.lock().faults.iter().map(|f| f.spec.clone()).collect()
    }

    /// Applies the faults to a request: waits out any latency, then says what to do with it.
    pub async fn verdict(&self, method: &str, path: &str) -> Verdict {
        let faults = self.specs();
        let plan = if faults.is_empty() {
            Plan::default()
        } else {
            plan(faults.iter(), method, path)
        };
        if !plan.delay.is_zero() {
            tokio::time::sleep(plan.delay).await;
        }
        match plan.outcome {
            Outcome::Forward => Verdict::Forward {
                bytes_per_second: plan.bytes_per_second,
            },
            Outcome::Error(status) => Verdict::Answer(app_like_error(status, &self.error_headers)),
            Outcome::Reset => Verdict::Drop,
            Outcome::Hang(d) => {
                tokio::time::sleep(d).await;
                Verdict::Drop
            }
        }
    }
}

/// An error answer that looks like the app's own server produced it (its headers, and the
/// status's reason as the body): nothing tells the candidate it came from the platform.
fn app_like_error(status: u16, headers: &[(HeaderName, HeaderValue)]) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = status.canonical_reason().unwrap_or("Error").to_string();
    let mut r = Response::new(Body::from(text.clone()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now())) {
        h.insert(header::DATE, v);
    }
    for (name, value) in headers {
        h.insert(name.clone(), value.clone());
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
    r
}

/// The body, sent at most `bps` bytes per second (in 10 slices a second).
pub fn throttle(res: Response<Body>, bps: u64) -> Response<Body> {
    let (parts, body) = res.into_parts();
    let slice = (bps / 10).max(1) as usize;
    let stream = body.into_data_stream().flat_map(move |chunk| {
        let pieces: Vec<Result<Bytes, axum::Error>> = match chunk {
            Ok(b) => (0..b.len())
                .step_by(slice)
                .map(|i| Ok(b.slice(i..(i + slice).min(b.len()))))
                .collect(),
            Err(e) => vec![Err(e)],
        };
        futures_util::stream::iter(pieces)
    });
    let paced = stream.then(|piece| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        piece
    });
    Response::from_parts(parts, Body::from_stream(paced))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(json: &str) -> FaultSpec {
        serde_json::from_str::<FaultSpec>(json)
            .unwrap()
            .normalized()
    }

    #[test]
    fn globs() {
        assert!(glob("*", "/anything/at/all"));
        assert!(glob("/orders*", "/orders"));
        assert!(glob("/orders*", "/orders/12"));
        assert!(!glob("/orders*", "/users/1/orders"));
        assert!(glob("/users/*/alerts", "/users/4/alerts"));
        assert!(!glob("/users/*/alerts", "/users/4/alerts/x"));
        assert!(glob("/stocks/*", "/stocks/GOOGL"));
        assert!(!glob("/stocks/*", "/stocks"));
    }

    #[test]
    fn matching_by_method_and_path() {
        let f = fault(r#"{"kind":"error","methods":["post"],"path":"/orders*","status":503}"#);
        assert!(f.matches("POST", "/orders"));
        assert!(!f.matches("GET", "/orders"));
        assert_eq!(plan([&f], "POST", "/orders").outcome, Outcome::Error(503));
        assert_eq!(plan([&f], "GET", "/orders").outcome, Outcome::Forward);
    }

    #[test]
    fn probability_is_roughly_honoured() {
        let f = fault(r#"{"kind":"error","probability":0.3}"#);
        let hits = (0..10_000)
            .filter(|_| plan([&f], "GET", "/x").outcome != Outcome::Forward)
            .count();
        assert!((2_500..3_500).contains(&hits), "{hits}");
    }

    #[test]
    fn invalid_faults_are_refused() {
        assert!(fault(r#"{"kind":"latency"}"#).validate().is_err());
        assert!(
            fault(r#"{"kind":"error","status":200}"#)
                .validate()
                .is_err()
        );
        assert!(
            fault(r#"{"kind":"error","probability":1.5}"#)
                .validate()
                .is_err()
        );
        assert!(
            fault(r#"{"kind":"bandwidth","bytes_per_second":0}"#)
                .validate()
                .is_err()
        );
        assert!(
            fault(r#"{"kind":"latency","latency_ms":100,"jitter_ms":50}"#)
                .validate()
                .is_ok()
        );
        assert!(
            serde_json::from_str::<FaultSpec>(r#"{"kind":"latency","latency_ms":1,"oops":1}"#)
                .is_err()
        );
    }
}
