//! One WebSocket connection on a room, speaking the y-websocket protocol: one y-protocols
//! message per binary frame, sync (steps 1/2, updates) and awareness.

use std::collections::HashSet;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;

use super::RoomHandle;
use super::room::ApplyError;
use crate::metrics::Metrics;

/// Limits and identity of one connection.
pub struct ConnectionSettings {
    pub conn_id: u64,
    pub max_frame_bytes: usize,
    pub max_messages_per_second: u32,
    /// False for read-only participants: their document updates are refused.
    pub can_write: bool,
    pub shutdown: CancellationToken,
    pub metrics: Metrics,
}

pub mod close_code {
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const UNSUPPORTED_DATA: u16 = 1003;
    pub const POLICY_VIOLATION: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL_ERROR: u16 = 1011;
    /// Application code: the session no longer exists; clients should not reconnect.
    pub const SESSION_DELETED: u16 = 4404;
}

/// Serves the connection until either side closes it; always removes the connection's awareness.
pub async fn serve(socket: WebSocket, room: RoomHandle, settings: ConnectionSettings) {
    let (mut sink, mut stream) = socket.split();
    let conn_id = settings.conn_id;
    // Subscribe before the greeting so nothing broadcast in between is missed.
    let mut bus = room.subscribe();
    let mut controlled: HashSet<u64> = HashSet::new();
    let mut limiter = RateLimiter::new(settings.max_messages_per_second);
    settings.metrics.ws_opened();

    let mut close: Option<(u16, &'static str)> = None;
    for frame in room.greeting() {
        if sink.send(WsMessage::Binary(frame)).await.is_err() {
            close = Some((0, ""));
            break;
        }
    }

    if close.is_none() {
        close = loop {
            tokio::select! {
                biased;
                _ = settings.shutdown.cancelled() => break Some((close_code::GOING_AWAY, "server shutting down")),
                _ = room.closed() => break Some((close_code::SESSION_DELETED, "session deleted")),
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
                            if sink.send(WsMessage::Binary(reply)).await.is_err() {
                                break None;
                            }
                        }
                        Ok(None) => {}
                        Err(ApplyError::Internal) => break Some((close_code::INTERNAL_ERROR, "update could not be applied")),
                        Err(ApplyError::Malformed) => break Some((close_code::PROTOCOL_ERROR, "malformed y-websocket message")),
                        Err(ApplyError::BadAwareness) => break Some((close_code::PROTOCOL_ERROR, "invalid awareness state")),
                    }
                }
                broadcast = bus.recv() => match broadcast {
                    Ok(b) => {
                        if b.from != conn_id && sink.send(WsMessage::Binary(b.frame)).await.is_err() {
                            break None;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        // Fell behind the room: send the whole state rather than drop edits silently.
                        settings.metrics.ws_resynced();
                        let mut failed = false;
                        for frame in room.resync() {
                            if sink.send(WsMessage::Binary(frame)).await.is_err() {
                                failed = true;
                                break;
                            }
                        }
                        if failed {
                            break None;
                        }
                    }
                    Err(RecvError::Closed) => break None,
                },
            }
        };
    }

    room.remove_awareness(conn_id, &controlled);
    if let Some((code, reason)) = close.filter(|(code, _)| *code != 0) {
        if code != close_code::GOING_AWAY {
            settings.metrics.ws_refused_input();
            tracing::info!(conn = conn_id, code, reason, "closing a live document connection");
        }
        let _ = sink.send(WsMessage::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    }
    settings.metrics.ws_closed();
}

fn handle_frame(
    room: &RoomHandle,
    settings: &ConnectionSettings,
    data: &[u8],
    controlled: &mut HashSet<u64>,
) -> Result<Option<bytes::Bytes>, ApplyError> {
    let message = Message::decode_v1(data).map_err(|_| ApplyError::Malformed)?;
    match message {
        Message::Sync(SyncMessage::SyncStep1(sv)) => Ok(Some(room.sync_step2_for(&sv))),
        Message::Sync(SyncMessage::SyncStep2(update)) | Message::Sync(SyncMessage::Update(update)) => {
            if settings.can_write {
                let started = Instant::now();
                if room.apply_update(settings.conn_id, &update)? {
                    settings.metrics.update_applied(update.len(), started.elapsed());
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
        RateLimiter { rate, capacity: rate * 2.0, tokens: rate * 2.0, last: Instant::now() }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
