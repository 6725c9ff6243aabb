//! `GET /api/sessions/{id}/docs/{doc}`: the WebSocket upgrade to a live document. Authorization
//! (token, role, document access) is decided here, before the upgrade.

use std::sync::atomic::Ordering;

use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;

use super::AppState;
use super::auth::{Auth, query_param};
use super::error::ApiError;
use crate::collab::RoomKey;
use crate::collab::connection::{self, ConnectionSettings};
use crate::sessions::Role;

/// Live documents of workspace files are named `file:<path>`.
pub const FILE_PREFIX: &str = "file:";

/// Who may open which document.
pub fn doc_access(doc: &str, role: Role) -> Result<(), ApiError> {
    match doc {
        "main" | "runs" => Ok(()),
        // The assistant conversation: both roles read it; only the server writes it.
        "chat" => Ok(()),
        // The interviewer's private notes: refused to candidates here, not just hidden in the UI.
        "notes" if role == Role::Interviewer => Ok(()),
        "notes" => Err(ApiError::Forbidden("notes are for the interviewer only".into())),
        // Workspace files: both roles; the path is checked against the workspace when opened.
        d if d.starts_with(FILE_PREFIX) => Ok(()),
        _ => Err(ApiError::NotFound(format!("no document named '{doc}'"))),
    }
}

pub async fn open_doc(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((_, doc)): Path<(String, String)>,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    doc_access(&doc, caller.role)?;
    let upgrade = upgrade.map_err(|_| ApiError::BadRequest("expected a WebSocket upgrade (y-websocket protocol)".into()))?;
    let session_id = caller.session.id.clone();
    // A workspace file: it must exist and be text; the document and the file stay synced while open.
    let file = match doc.strip_prefix(FILE_PREFIX) {
        Some(rel) => {
            let ws = super::workspace::workspace_of(&state, &caller)?;
            let full = crate::workspace::files::resolve(&ws.root, rel)?;
            let entry = crate::workspace::files::entry(&ws.root, rel)?;
            if entry.kind != "file" || !entry.editable {
                return Err(ApiError::Conflict(format!("'{rel}' is binary or larger than 1 MiB: it opens read-only")));
            }
            Some((ws, entry.path, full))
        }
        None => None,
    };
    let doc = match &file {
        Some((_, rel, _)) => format!("{FILE_PREFIX}{rel}"),
        None => doc,
    };
    let room = state.collab.open(RoomKey { session_id: session_id.clone(), doc: doc.clone() }).await?;
    let sync_guard = match file {
        Some((ws, rel, full)) if caller.session.ended_at.is_none() => {
            let held = state.collab.open(RoomKey { session_id: session_id.clone(), doc: doc.clone() }).await?;
            Some(ws.syncs.attach(&rel, full, held))
        }
        _ => None,
    };
    if caller.session.ended_at.is_some() && doc != "notes" {
        // An ended session opens in its final state, read-only (also after a restart).
        room.freeze();
    }

    // Ties the connection to a participant of this session for the timeline, if it says which.
    let participant = match query_param(uri.query(), "participant") {
        Some(p) if doc == "main" => state.store.participants(&session_id).await?.into_iter().find(|row| row.id == p),
        _ => None,
    };

    let settings = ConnectionSettings {
        conn_id: state.next_conn_id.fetch_add(1, Ordering::Relaxed),
        max_frame_bytes: state.config.storage.max_frame_bytes,
        max_messages_per_second: state.config.storage.max_messages_per_second,
        // Server-written documents refuse clients' updates.
        can_write: doc != "chat",
        shutdown: state.shutdown.clone(),
        metrics: state.metrics.clone(),
    };
    let limit = state.config.storage.max_frame_bytes;
    Ok(upgrade
        // The WebSocket layer allocates its read buffer per connection (128 KiB by default);
        // edits are tens of bytes, so a small buffer saves ~120 KiB per open editor.
        .read_buffer_size(4 * 1024)
        // Frames somewhat over the limit are read and refused with a clear close code; far larger
        // ones are cut off by the WebSocket layer itself.
        .max_message_size(limit.saturating_mul(2).max(64 * 1024))
        .max_frame_size(limit.saturating_mul(2).max(64 * 1024))
        .on_upgrade(move |socket| async move {
            let _sync = sync_guard;
            let role = caller.role;
            if let Some(p) = &participant {
                state.sessions.event(&session_id, "connected", role, serde_json::json!({"participant": p.id, "name": p.name})).await;
            }
            connection::serve(socket, room, settings).await;
            if let Some(p) = &participant {
                state.sessions.event(&session_id, "disconnected", role, serde_json::json!({"participant": p.id, "name": p.name})).await;
            }
        }))
}
