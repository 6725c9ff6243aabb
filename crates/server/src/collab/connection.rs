//! One WebSocket connection on a room, speaking the y-websocket protocol: one y-protocols
//! message per binary frame, sync (steps 1/2, updates) and awareness.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;

use super::RoomHandle;
use super::room::{ApplyError, Broadcast, Room};
use crate::metrics::Metrics;

/// Limits and identity of one connection.
pub struct ConnectionSettings {
    pub conn_id: u64,
    pub max_frame_bytes: usize,
    pub max_messages_per_second: u32,
    /// False for read-only participants: their document updates are refused.
    pub can_write: bool,
    pub shutdown: CancellationToken,
    /// Fires when the caller's standing is withdrawn (a rotated link, a disabled account).
    pub withdrawn: CancellationToken,
    pub metrics: Metrics,
}

pub mod close_code {
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const UNSUPPORTED_DATA: u16 = 1003;
    pub const POLICY_VIOLATION: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL_ERROR: u16 = 1011;
    /// Storage is behind; the client reconnects after a moment and sends its edits again.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// Application code: the session no longer exists; clients should not reconnect.
    pub const SESSION_DELETED: u16 = 4404;
    /// Application code: the link this connection was opened with was replaced, or the account
    /// disabled; reconnecting with it is refused.
    pub const ACCESS_WITHDRAWN: u16 = 4403;
}

/// What the reader hands the writer besides the room's broadcasts.
enum Outgoing {
    Frame(Bytes),
    Close(u16, &'static str),
}

/// Replies (answers to SyncStep1, awareness queries) waiting for the writer. Bounded: a client
/// that asks without reading stops being read, and only it waits.
const REPLY_QUEUE: usize = 16;
/// Bytes fed to the socket before a flush when more frames are ready.
const COALESCE_BYTES: usize = 64 * 1024;
/// How long a connection's last frames (e.g. its close frame) may take to leave.
const WRITER_GRACE: Duration = Duration::from_secs(5);

/// Serves the connection until either side closes it; always removes the connection's awareness.
///
/// Reading and writing are separate tasks, so a client that does not read (a full socket)
/// never stops the server from reading its edits, and the room never waits for any
/// connection: the room's fan-out is a broadcast buffer each writer drains at its own pace.
pub async fn serve(socket: WebSocket, room: RoomHandle, settings: ConnectionSettings) {
    let (sink, mut stream) = socket.split();
    let conn_id = settings.conn_id;
    // Subscribe before the greeting so nothing broadcast in between is missed.
    let bus = room.subscribe();
    let (out, out_rx) = mpsc::channel(REPLY_QUEUE);
    for frame in room.greeting() {
        let _ = out.try_send(Outgoing::Frame(frame));
    }
    let mut writer = tokio::spawn(write_loop(
        sink,
        bus,
        out_rx,
        room.shared(),
        conn_id,
        settings.metrics.clone(),
    ));
    let mut controlled: HashSet<u64> = HashSet::new();
    let mut limiter = RateLimiter::new(settings.max_messages_per_second);
    settings.metrics.ws_opened();

    let mut writer_done = false;
    let close: Option<(u16, &'static str)> = loop {
        tokio::select! {
            biased;
            _ = settings.shutdown.cancelled() => break Some((close_code::GOING_AWAY, "server shutting down")),
            _ = settings.withdrawn.cancelled() => break Some((close_code::ACCESS_WITHDRAWN, "access withdrawn")),
            _ = room.closed() => break Some((close_code::SESSION_DELETED, "session deleted")),
            // The writer only stops early when the client is gone.
            _ = &mut writer => {
                writer_done = true;
                break None;
            }
            incoming = stream.next() => {
                let data = match incoming {
                    None | Some(Ok(WsMessage::Close(_))) => break None,
                    Some(Err(e)) => {
                        // tungstenite reports an over-limit frame as a capacity error.
                        let text = e.to_string();
                        if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
                            break Some((close_code::TOO_BIG, "frame too large"));
                        }
                        break None;
                    }
                    Some(Ok(WsMessage::Binary(data))) => data,
                    Some(Ok(WsMessage::Text(_))) => break Some((close_code::UNSUPPORTED_DATA, "expected binary y-websocket messages")),
                    Some(Ok(_)) => continue, // ping/pong: answered by the WebSocket layer
                };
                if data.len() > settings.max_frame_bytes {
                    break Some((close_code::TOO_BIG, "frame too large"));
                }
                if !limiter.allow() {
                    break Some((close_code::POLICY_VIOLATION, "too many messages per second"));
                }
                match handle_frame(&room, &settings, &data, &mut controlled) {
                    Ok(Some(reply)) => {
                        tokio::select! {
                            sent = out.send(Outgoing::Frame(reply)) => if sent.is_err() { break None },
                            _ = settings.shutdown.cancelled() => break Some((close_code::GOING_AWAY, "server shutting down")),
                        }
                    }
                    Ok(None) => {}
                    Err(ApplyError::Internal) => break Some((close_code::INTERNAL_ERROR, "update could not be applied")),
                    Err(ApplyError::Malformed) => break Some((close_code::PROTOCOL_ERROR, "malformed y-websocket message")),
                    Err(ApplyError::BadAwareness) => break Some((close_code::PROTOCOL_ERROR, "invalid awareness state")),
                    Err(ApplyError::Busy) => {
                        settings.metrics.ws_busy();
                        break Some((close_code::TRY_AGAIN_LATER, "storage is behind; reconnect in a moment"));
                    }
                }
            }
        }
    };

    room.remove_awareness(conn_id, &controlled);
    if let Some((code, reason)) = close {
        if code != close_code::GOING_AWAY && code != close_code::TRY_AGAIN_LATER {
            settings.metrics.ws_refused_input();
            tracing::info!(
                conn = conn_id,
                code,
                reason,
                "closing a live document connection"
            );
        }
        let _ = out.try_send(Outgoing::Close(code, reason));
    }
    drop(out);
    if !writer_done
        && tokio::time::timeout(WRITER_GRACE, &mut writer)
            .await
            .is_err()
    {
        writer.abort();
    }
    settings.metrics.ws_closed();
}

/// Sends the replies and the room's broadcasts (not the connection's own) to the client. Every
/// frame that is ready goes out in one write, without waiting for more: fewer system calls and
/// TCP segments per delivered edit, and no Nagle delay.
async fn write_loop(
    mut sink: SplitSink<WebSocket, WsMessage>,
    mut bus: broadcast::Receiver<Broadcast>,
    mut out: mpsc::Receiver<Outgoing>,
    room: Arc<Room>,
    conn_id: u64,
    metrics: Metrics,
) {
    loop {
        // Replies first: they answer what the client just asked.
        let first = tokio::select! {
            biased;
            next = out.recv() => match next {
                Some(o) => Ready::Out(o),
                None => return,
            },
            b = bus.recv() => Ready::Bus(b),
        };
        let mut fed = 0;
        let mut next = Some(first);
        while let Some(item) = next.take() {
            // One frame per broadcast; a resync is several, and only it needs a list.
            let (frame, resync) = match item {
                Ready::Out(Outgoing::Frame(frame)) => (Some(frame), Vec::new()),
                Ready::Out(Outgoing::Close(code, reason)) => {
                    let _ = sink
                        .send(WsMessage::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })))
                        .await;
                    return;
                }
                Ready::Bus(Ok(b)) if b.from == conn_id => (None, Vec::new()),
                Ready::Bus(Ok(b)) => (Some(b.frame), Vec::new()),
                Ready::Bus(Err(RecvError::Lagged(_))) => {
                    // Fell behind the room: send the whole state rather than drop edits silently.
                    metrics.ws_resynced();
                    (None, room.resync())
                }
                Ready::Bus(Err(RecvError::Closed)) => return,
            };
            for frame in frame.into_iter().chain(resync) {
                fed += frame.len();
                if sink.feed(WsMessage::Binary(frame)).await.is_err() {
                    return;
                }
            }
            if fed < COALESCE_BYTES {
                next = match out.try_recv() {
                    Ok(o) => Some(Ready::Out(o)),
                    Err(_) => match bus.try_recv() {
                        Err(TryRecvError::Empty) => None,
                        Err(TryRecvError::Closed) => Some(Ready::Bus(Err(RecvError::Closed))),
                        Err(TryRecvError::Lagged(n)) => Some(Ready::Bus(Err(RecvError::Lagged(n)))),
                        Ok(b) => Some(Ready::Bus(Ok(b))),
                    },
                };
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}

enum Ready {
    Out(Outgoing),
    Bus(Result<Broadcast, RecvError>),
}

fn handle_frame(
    room: &RoomHandle,
    settings: &ConnectionSettings,
    data: &[u8],
    controlled: &mut HashSet<u64>,
) -> Result<Option<Bytes>, ApplyError> {
    let message = Message::decode_v1(data).map_err(|_| ApplyError::Malformed)?;
    match message {
        Message::Sync(SyncMessage::SyncStep1(sv)) => Ok(Some(room.sync_step2_for(&sv))),
        Message::Sync(SyncMessage::SyncStep2(update))
        | Message::Sync(SyncMessage::Update(update)) => {
            if settings.can_write {
                let started = Instant::now();
                if room.apply_update(settings.conn_id, &update)? {
                    settings
                        .metrics
                        .update_applied(update.len(), started.elapsed());
                }
            }
            Ok(None)
        }
        Message::Awareness(update) => {
            room.apply_awareness(settings.conn_id, update, controlled)?;
            Ok(None)
        }
        Message::AwarenessQuery => Ok(room.awareness_states()),
        // Auth messages and custom tags carry nothing this server acts on.
        Message::Auth(_) | Message::Custom(..) => Ok(None),
    }
}

/// Token bucket: `rate` messages per second on average, bursts up to twice that.
struct RateLimiter {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        RateLimiter {
            rate,
            capacity: rate * 2.0,
            tokens: rate * 2.0,
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate)
            .min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
