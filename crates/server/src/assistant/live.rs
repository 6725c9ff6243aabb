//! The `chat` live document: the server writes the conversation into it as it happens (text
//! streamed token by token) so every open page, the interviewer's panel included, follows it over
//! the existing y-websocket connection. Clients may read it but their updates are refused.
//!
//! Shape: `Y.Array` `messages` of `Y.Map`s with `id`, `role`, `text` (a `Y.Text`), `status`,
//! `cut_off`, `error`, `created_at`, `context_kind`, `context`, `input_tokens`, `output_tokens`,
//! `first_token_ms`, `duration_ms` (numbers are doubles so JavaScript reads plain numbers).

use yrs::{
    Any, Array, Map, MapPrelim, MapRef, Out, Text, TextPrelim, TextRef, TransactionMut, WriteTxn,
};

use crate::collab::RoomHandle;
use crate::store::MessageRow;

/// A message being written into the live document, by its id: it is looked up for each write,
/// as the room may have packed its document (and dropped its `Doc`) in between.
pub struct LiveMessage {
    id: String,
}

/// The message with this id, searched from the newest (the one being written is near the end).
fn find(txn: &mut TransactionMut, id: &str) -> Option<MapRef> {
    let messages = txn.get_or_insert_array("messages");
    let len = messages.len(txn);
    (0..len)
        .rev()
        .filter_map(|i| messages.get(txn, i)?.cast::<MapRef>().ok())
        .find(|m| matches!(m.get(txn, "id"), Some(Out::Any(Any::String(s))) if &*s == id))
}

fn opt_str(v: &Option<String>) -> Any {
    v.as_deref().map(Any::from).unwrap_or(Any::Null)
}

fn opt_num(v: Option<i64>) -> Any {
    v.map(|n| Any::from(n as f64)).unwrap_or(Any::Null)
}

/// Appends a message (its text so far included).
pub fn push(room: &RoomHandle, m: &MessageRow) -> Option<LiveMessage> {
    let mut made = None;
    let result = room.server_change(|txn| {
        let messages = txn.get_or_insert_array("messages");
        let map: MapRef = messages.push_back(txn, MapPrelim::default());
        map.insert(txn, "text", TextPrelim::new(m.text.as_str()));
        map.insert(txn, "id", m.id.as_str());
        map.insert(txn, "role", m.role.as_str());
        map.insert(txn, "status", m.status.as_str());
        map.insert(txn, "cut_off", m.cut_off);
        map.insert(txn, "created_at", m.created_at as f64);
        map.insert(txn, "context_kind", opt_str(&m.context_kind));
        map.insert(txn, "context", opt_str(&m.context));
        map.insert(txn, "error", opt_str(&m.error));
        made = Some(LiveMessage { id: m.id.clone() });
    });
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not write a chat message into the live document");
    }
    made
}

pub fn append(room: &RoomHandle, live: &LiveMessage, delta: &str) {
    let _ = room.server_change(|txn| {
        if let Some(text) =
            find(txn, &live.id).and_then(|m| m.get(txn, "text")?.cast::<TextRef>().ok())
        {
            text.push(txn, delta);
        }
    });
}

/// Writes the outcome of a reply.
pub fn finish(room: &RoomHandle, live: &LiveMessage, m: &MessageRow) {
    let _ = room.server_change(|txn| {
        let Some(map) = find(txn, &live.id) else {
            return;
        };
        map.insert(txn, "status", m.status.as_str());
        map.insert(txn, "cut_off", m.cut_off);
        map.insert(txn, "error", opt_str(&m.error));
        map.insert(txn, "input_tokens", m.input_tokens as f64);
        map.insert(txn, "output_tokens", m.output_tokens as f64);
        map.insert(txn, "first_token_ms", opt_num(m.first_token_ms));
        map.insert(txn, "duration_ms", opt_num(m.duration_ms));
    });
}

/// Marks a message of the live document as cut off by its id (a reply a stopped server left open).
pub fn mark_interrupted(room: &RoomHandle, id: &str, error: &str) {
    let _ = room.server_change(|txn| {
        let Some(m) = find(txn, id) else { return };
        m.insert(txn, "status", "cut_off");
        m.insert(txn, "cut_off", true);
        m.insert(txn, "error", error);
    });
}
