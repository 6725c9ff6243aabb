//! Cluster mode at the HTTP edge. Live documents need no routing (every node serves every
//! document through Redis), but a workspace runs on one node: its requests (files, terminal,
//! app, VS Code, chaos, and its files' live documents, which keep the disk in step) are
//! proxied to that node, WebSockets included. New workspace sessions are made on the least
//! loaded node.

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use crate::ids::SessionId;
use crate::lifecycle::Placement;

/// Set on a request one node forwards to another: the receiver serves it itself (no loops).
const FORWARDED_BY: &str = "x-iide-forwarded-by";

/// The session id in `/api/sessions/{id}/...`.
fn session_in(path: &str) -> Option<SessionId> {
    let mut parts = path.split('/').skip_while(|p| *p != "sessions");
    parts.next()?;
    parts.next().and_then(SessionId::parse)
}

/// Whether a `/docs/{doc}` path names a workspace file's document (`file:<path>`).
fn is_file_doc(path: &str) -> bool {
    path.split_once("/docs/").is_some_and(|(_, doc)| {
        doc.starts_with("file:") || doc.to_ascii_lowercase().starts_with("file%3a")
    })
}

/// Middleware on the workspace routes: serve here, or proxy to the node that runs the workspace.
pub async fn to_workspace_owner(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if state.cluster.is_none() || req.headers().contains_key(FORWARDED_BY) {
        return next.run(req).await;
    }
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().path().to_string(), |u| u.0.path().to_string());
    if path.contains("/docs/") && !is_file_doc(&path) {
        return next.run(req).await;
    }
    let Some(id) = session_in(&path) else {
        return next.run(req).await;
    };
    let session = match state.store.get_session(&id).await {
        Ok(Some(s)) if s.kind == "workspace" => s,
        // Not a workspace session (or none): the handler gives the right answer.
        Ok(_) => return next.run(req).await,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match state.lifecycle.place_workspace(&session).await {
        Ok(Placement::Here) => next.run(req).await,
        Ok(Placement::At { node, url }) => forward(&state, &node, &url, req).await,
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Middleware on the untrusted origin's routes where the platform's router mounts them: only a
/// request forwarded by another node reaches them (a browser cannot add the header to a link).
pub async fn forwarded_only(req: Request, next: Next) -> Response {
    if req.headers().contains_key(FORWARDED_BY) {
        next.run(req).await
    } else {
        ApiError::NotFound("no such route".into()).into_response()
    }
}

/// Middleware on `POST /sessions`: a new workspace session is made on the node running the
/// fewest workspaces (this one when tied), so that the cluster fills evenly.
pub async fn to_least_loaded(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(node) = state.cluster.clone() else {
        return next.run(req).await;
    };
    if req.method() != Method::POST || req.headers().contains_key(FORWARDED_BY) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, state.config.server.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return ApiError::TooLarge.into_response(),
    };
    let wants_workspace = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .is_some_and(|v| v.get("exercise").is_some_and(|e| !e.is_null()));
    let req = Request::from_parts(parts, Body::from(bytes));
    if !wants_workspace {
        return next.run(req).await;
    }
    let nodes = node.nodes().await;
    let here = nodes
        .iter()
        .find(|n| n.id == node.id)
        .map_or(0, |n| n.workspaces);
    match nodes
        .iter()
        .filter(|n| n.id != node.id)
        .min_by_key(|n| n.workspaces)
    {
        Some(other) if other.workspaces < here => forward(&state, &other.id, &other.url, req).await,
        _ => next.run(req).await,
    }
}

/// Sends the request as it came to another node and returns its answer.
async fn forward(state: &AppState, node: &str, url: &str, mut req: Request) -> Response {
    let Some(me) = &state.cluster else {
        return ApiError::Unavailable.into_response();
    };
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let original = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.clone())
        .unwrap_or_else(|| req.uri().clone());
    let target = original
        .path_and_query()
        .map_or_else(|| original.path().to_string(), |pq| pq.to_string());
    match target.parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return ApiError::BadRequest("bad path".into()).into_response(),
    }
    if let Ok(v) = HeaderValue::from_str(&me.id) {
        req.headers_mut().insert(FORWARDED_BY, v);
    }
    if let Ok(v) = HeaderValue::from_str(&addr) {
        req.headers_mut().insert(header::HOST, v);
    }
    match crate::workspace::proxy::forward_tcp(&addr, req).await {
        Ok(res) => res,
        Err(e) => {
            tracing::warn!(node, url, error = %e, "the node running a workspace did not answer");
            ApiError::Unavailable.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_and_file_documents() {
        assert_eq!(
            session_in("/api/sessions/abc/files").as_deref(),
            Some("abc")
        );
        assert_eq!(session_in("/sessions/abc/app/x").as_deref(), Some("abc"));
        assert_eq!(session_in("/api/languages"), None);
        assert_eq!(session_in("/api/sessions/a:b/files"), None);
        assert!(is_file_doc("/api/sessions/a/docs/file%3Aapp.py"));
        assert!(is_file_doc("/api/sessions/a/docs/file:src/app.py"));
        assert!(!is_file_doc("/api/sessions/a/docs/main"));
    }
}
