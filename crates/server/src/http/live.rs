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
use crate::docname::DocName;
use crate::sessions::Role;

/// Who may open which document: the document's rules, enforced here rather than only hidden
/// in the UI.
pub fn doc_access(doc: &str, role: Role) -> Result<DocName, ApiError> {
    let name = DocName::parse(doc).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no document named '{}'",
            doc.chars().take(100).collect::<String>()
        ))
    })?;
    if role == Role::Candidate && !name.candidate_may_open() {
        return Err(ApiError::Forbidden(format!(
            "'{name}' is for the interviewer only"
        )));
    }
    Ok(name)
}

pub async fn open_doc(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((_, doc)): Path<(String, String)>,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let name = doc_access(&doc, caller.role)?;
    let upgrade = upgrade.map_err(|_| {
        ApiError::BadRequest("expected a WebSocket upgrade (y-websocket protocol)".into())
    })?;
    let session_id = caller.session.id.clone();
    // A workspace file: it must exist and be text; the document and the file stay synced while open.
    let file = match name.file_path() {
        Some(rel) => {
            let ws = super::workspace::workspace_of(&state, &caller).await?;
            let entry = ws.files.entry(rel)?;
            if entry.kind != "file" || !entry.editable {
                return Err(ApiError::Conflict(format!(
                    "'{rel}' is binary or larger than 1 MiB: it opens read-only"
                )));
            }
            Some((ws, entry.path))
        }
        None => None,
    };
    // A file's document is named by its normalized path.
    let name = match &file {
        Some((_, rel)) => DocName::File(rel.clone()),
        None => name,
    };
    let key = RoomKey::new(session_id.clone(), name.clone());
    let room = state.collab.open(key.clone()).await?;
    let sync_guard = match file {
        Some((ws, rel)) if caller.session.ended_at.is_none() => {
            let held = state.collab.open(key).await?;
            Some(ws.syncs.attach(&rel, ws.files.clone(), held))
        }
        _ => None,
    };
    if caller.session.ended_at.is_some() && name.freezes_when_ended() {
        // An ended session opens in its final state, read-only (also after a restart).
        room.freeze();
    }

    // Ties the connection to a participant of this session for the timeline, if it says which.
    let participant = match query_param(uri.query(), "participant") {
        Some(p) if name == DocName::Main => state
            .store
            .participants(&session_id)
            .await?
            .into_iter()
            .find(|row| row.id == p),
        _ => None,
    };

    let registration = state.connections.register(&caller);
    let settings = ConnectionSettings {
        conn_id: state.next_conn_id.fetch_add(1, Ordering::Relaxed),
        max_frame_bytes: state.config.storage.max_frame_bytes,
        max_messages_per_second: state.config.storage.max_messages_per_second,
        // Server-written documents refuse clients' updates.
        can_write: name.clients_write(),
        shutdown: state.shutdown.clone(),
        // When the caller's link is rotated or account disabled.
        withdrawn: registration.ended.clone(),
        metrics: state.metrics.clone(),
    };
    let limit = state.config.storage.max_frame_bytes;
    Ok(upgrade
        // The WebSocket layer keeps a read buffer per connection (128 KiB by default); edits are
        // tens of bytes, so a small one saves memory per open editor (a larger frame is read in
        // several reads).
        .read_buffer_size(1024)
        // Frames somewhat over the limit are read and refused with a clear close code; far larger
        // ones are cut off by the WebSocket layer itself.
        .max_message_size(limit.saturating_mul(2).max(64 * 1024))
        .max_frame_size(limit.saturating_mul(2).max(64 * 1024))
        .on_upgrade(move |socket| async move {
            let _sync = sync_guard;
            let _registration = registration;
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
