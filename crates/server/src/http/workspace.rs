//! Workspace routes: exercises, status and logs, files, the app proxy, the shared terminal and
//! the code-server proxy. Both roles reach all of them; the interviewer only watches the
//! terminal. Chaos routes are in `chaos.rs`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;

use super::AppState;
use super::api::JsonBody;
use super::auth::Auth;
use super::error::ApiError;
use crate::ids::SessionId;
use crate::sessions::{Caller, Role};
use crate::workspace::terminal::Output;
use crate::workspace::{Workspace, proxy};

/// The caller's workspace; 404 for a pad session.
pub async fn workspace_of(state: &AppState, caller: &Caller) -> Result<Arc<Workspace>, ApiError> {
    if caller.session.kind != "workspace" {
        return Err(ApiError::NotFound("this session has no workspace".into()));
    }
    Ok(state.workspaces.get(&caller.session).await?)
}

/// Running things needs an open session.
pub(super) async fn running_workspace(
    state: &AppState,
    caller: &Caller,
) -> Result<Arc<Workspace>, ApiError> {
    caller.require_open()?;
    workspace_of(state, caller).await
}

pub async fn exercises(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.workspaces.catalog.summaries())
}

/// The exercise of a workspace session with the interviewer's notes (interviewer only: the notes
/// name the planted weaknesses).
pub async fn exercise(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_interviewer()?;
    let ws = workspace_of(&state, &caller).await?;
    let m = &ws.exercise.manifest;
    Ok(Json(serde_json::json!({
        "id": ws.exercise.id,
        "title": m.title,
        "description": m.description,
        "interviewer_notes": m.interviewer_notes,
    })))
}

/// Where a caller's content is served on the untrusted origin (`untrusted.rs`):
/// `<origin>/sessions/{id}/{capability}/` (then `vscode/` or `app/...`), with a fresh capability
/// for their role.
fn base_url(state: &AppState, caller: &Caller) -> String {
    let expires = crate::util::now_ms() as u64 / 1000 + crate::capability::LIFETIME_SECS;
    let capability = crate::capability::issue(&caller.session, caller.role, expires);
    let origin = state
        .config
        .server
        .untrusted_origin
        .clone()
        .unwrap_or_default();
    format!("{origin}/sessions/{}/{capability}/", caller.session.id)
}

/// `GET /api/sessions/{id}/content`: where the caller opens the session's candidate-made
/// content (VS Code, the app) on the untrusted origin, with a capability for their role.
pub async fn content_link(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    // Any node answers (the workspace itself is not opened here: it runs on its own node).
    if caller.session.kind != "workspace" {
        return Err(ApiError::NotFound("this session has no workspace".into()));
    }
    let base = base_url(&state, &caller);
    Ok(Json(serde_json::json!({
        "base": base,
        "vscode": format!("{base}vscode/?folder=/workspace"),
        "app": format!("{base}app/"),
        "expires_in_seconds": crate::capability::LIFETIME_SECS,
    })))
}

pub async fn status(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    let ws = workspace_of(&state, &caller).await?;
    Ok(Json(ws.status().await))
}

pub async fn start(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    let ws = running_workspace(&state, &caller).await?;
    ws.app.start();
    Ok(Json(ws.status().await))
}

pub async fn restart(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    let ws = running_workspace(&state, &caller).await?;
    ws.app.restart().await;
    state
        .sessions
        .event(
            &caller.session.id,
            "app_restarted",
            caller.role,
            serde_json::json!({}),
        )
        .await;
    Ok(Json(ws.status().await))
}

#[derive(Deserialize)]
pub struct LogsQuery {
    after: Option<u64>,
}

pub async fn logs(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Query(q): Query<LogsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = workspace_of(&state, &caller).await?;
    let (lines, next) = ws.app.logs_after(q.after);
    Ok(Json(serde_json::json!({ "lines": lines, "next": next })))
}

// --- files ---

pub async fn list_files(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    let ws = workspace_of(&state, &caller).await?;
    let entries = tokio::task::spawn_blocking(move || ws.files.list())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(serde_json::json!({ "entries": entries })))
}

#[derive(Deserialize)]
pub struct PathQuery {
    path: String,
}

pub async fn file_content(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Query(q): Query<PathQuery>,
) -> Result<Response, ApiError> {
    let ws = workspace_of(&state, &caller).await?;
    let bytes = tokio::task::spawn_blocking(move || ws.files.read(&q.path, 16 * 1024 * 1024))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let mut res = Response::new(Body::from(bytes));
    // Served as bytes, never rendered as a page of this origin.
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    // And should a browser render it anyway: a page without an origin, running nothing.
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(res)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFile {
    path: String,
    #[serde(rename = "type", default = "file_type")]
    kind: String,
    content: Option<String>,
}

fn file_type() -> String {
    "file".into()
}

pub async fn create_file(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<NewFile>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = running_workspace(&state, &caller).await?;
    let dir = match body.kind.as_str() {
        "file" => false,
        "dir" => true,
        _ => {
            return Err(ApiError::NotOneOf {
                message: "unknown type".into(),
                valid: vec!["file".into(), "dir".into()],
            });
        }
    };
    let entry = ws
        .files
        .create(&body.path, dir, body.content.as_deref(), ws.sandbox.uid)?;
    // The candidate's to own (and `chmod +x`), like the files they make themselves.
    if let Err(e) = ws
        .sandbox
        .helper
        .give_path(&ws.sandbox.session_id, ws.sandbox.uid, &entry.path)
        .await
    {
        tracing::warn!(error = %e, "a new workspace file stays the platform's");
    }
    state
        .sessions
        .event(
            &caller.session.id,
            "file_created",
            caller.role,
            serde_json::json!({"path": entry.path}),
        )
        .await;
    Ok((StatusCode::CREATED, Json(entry)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    from: String,
    to: String,
}

pub async fn rename_file(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Rename>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = running_workspace(&state, &caller).await?;
    let entry = ws.files.rename(&body.from, &body.to)?;
    state
        .sessions
        .event(
            &caller.session.id,
            "file_renamed",
            caller.role,
            serde_json::json!({"from": body.from, "to": entry.path}),
        )
        .await;
    Ok(Json(entry))
}

pub async fn delete_file(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Query(q): Query<PathQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = running_workspace(&state, &caller).await?;
    ws.files.delete(&q.path)?;
    state
        .sessions
        .event(
            &caller.session.id,
            "file_deleted",
            caller.role,
            serde_json::json!({"path": q.path}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

// --- the app ---

/// The part of a path after `/sessions/{id}/{what}` (the router may or may not have stripped `/api`).
fn after_prefix<'a>(path: &'a str, session_id: &SessionId, what: &str) -> &'a str {
    let prefix = format!("/sessions/{session_id}/{what}");
    let path = path.strip_prefix("/api").unwrap_or(path);
    path.strip_prefix(&prefix).unwrap_or("")
}

/// `/api/sessions/{id}/app/{path}`: the session's app for API clients and the request console,
/// which read its answers as data. A browser never renders them here: a navigation is sent to
/// the untrusted origin, any other load (a script, an image, a frame) is refused, so nothing the
/// candidate's app answers runs as the platform's origin.
pub async fn app_proxy(
    State(state): State<AppState>,
    Auth(caller): Auth,
    req: Request,
) -> Result<Response, ApiError> {
    let ws = running_workspace(&state, &caller).await?;
    let (parts, body) = req.into_parts();
    let path = after_prefix(parts.uri.path(), &caller.session.id, "app").to_string();
    match parts
        .headers
        .get("sec-fetch-dest")
        .and_then(|v| v.to_str().ok())
    {
        None | Some("empty") => {}
        Some("document") => {
            // The same path and query there, without the token (the capability stands in).
            let query = proxy::without_token("", parts.uri.query());
            let url = format!("{}app{path}{query}", base_url(&state, &caller));
            return Ok(axum::response::Redirect::to(&url).into_response());
        }
        Some(_) => {
            return Err(ApiError::Forbidden(
                "the candidate's app is shown from its own origin; use the App panel".into(),
            ));
        }
    }
    Ok(forward_to_app(&ws, &path, parts, body).await)
}

/// Sends a request to the session's app (through the same proxy and faults as the candidate's
/// terminal uses) and returns its answer; `path` is the app's own path. The platform's
/// credentials never reach the app, and nothing it answers may change the browser's state.
pub async fn forward_to_app(
    ws: &Arc<Workspace>,
    path: &str,
    mut parts: axum::http::request::Parts,
    body: Body,
) -> Response {
    let path = if path.is_empty() { "/" } else { path };
    match proxy::without_token(path, parts.uri.query()).parse() {
        Ok(uri) => parts.uri = uri,
        Err(_) => return ApiError::BadRequest("invalid path".into()).into_response(),
    }
    proxy::strip_credentials(&mut parts.headers);
    parts.headers.remove("x-request-id");
    parts.headers.remove(header::REFERER);
    // Bodies to the app are limited like every other body.
    let body = Body::new(http_body_util::Limited::new(body, 1024 * 1024));
    match ws
        .call_app(
            axum::http::Request::from_parts(parts, body),
            crate::workspace::traffic::Origin::Candidate,
        )
        .await
    {
        Ok(mut res) => {
            // Whatever the candidate's code answers is a sandboxed page: it has no origin of its
            // own to act as, wherever it is opened.
            res.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "sandbox allow-scripts allow-forms allow-popups allow-modals",
                ),
            );
            proxy::strip_browser_state(res.headers_mut());
            res
        }
        // A dropped connection, as the browser sees it: the answer starts and breaks off.
        Err(_) => {
            let broken = futures_util::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("connection reset"))
            });
            let mut res = Response::new(Body::from_stream(broken));
            res.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("1"));
            res
        }
    }
}

// --- terminal ---

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum TermIn {
    Input { data: String },
    Resize { cols: u16, rows: u16 },
}

/// The largest message the terminal's socket takes (a paste of 64 KiB).
const TERMINAL_MAX_MESSAGE: usize = 64 * 1024;

pub async fn terminal(
    State(state): State<AppState>,
    Auth(caller): Auth,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = running_workspace(&state, &caller).await?;
    let upgrade =
        upgrade.map_err(|_| ApiError::BadRequest("expected a WebSocket upgrade".into()))?;
    let term = ws
        .terminal()
        .await
        .map_err(|e| ApiError::Conflict(format!("could not start the terminal: {e}")))?;
    let role = caller.role;
    let registration = state.connections.register(&caller);
    let shutdown = registration.ended.clone();
    // Keystrokes and resizes: a frame over 64 KiB is no terminal input.
    let upgrade = upgrade
        .max_message_size(TERMINAL_MAX_MESSAGE)
        .max_frame_size(TERMINAL_MAX_MESSAGE);
    Ok(upgrade.on_upgrade(move |socket| async move {
        let _registration = registration;
        ws.terminal_watchers.fetch_add(1, Ordering::SeqCst);
        serve_terminal(socket, term, role, shutdown, &ws).await;
        ws.terminal_watchers.fetch_sub(1, Ordering::SeqCst);
        ws.touch();
    }))
}

async fn serve_terminal(
    socket: WebSocket,
    term: Arc<crate::workspace::terminal::Terminal>,
    role: Role,
    shutdown: tokio_util::sync::CancellationToken,
    ws: &Workspace,
) {
    let (mut tx, mut rx) = socket.split();
    let (scrollback, mut output) = term.watch();
    if !scrollback.is_empty() && tx.send(Message::Binary(scrollback.into())).await.is_err() {
        return;
    }
    if !term.is_alive() {
        let _ = tx
            .send(Message::Text(r#"{"type":"exit","code":null}"#.into()))
            .await;
        return;
    }
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            out = output.recv() => match out {
                Ok(Output::Data(bytes)) => if tx.send(Message::Binary(bytes)).await.is_err() { break },
                Ok(Output::Exit(code)) => {
                    let _ = tx.send(Message::Text(serde_json::json!({"type": "exit", "code": code}).to_string().into())).await;
                    break;
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            },
            msg = rx.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    // The interviewer watches; only the candidate types (and sizes the terminal).
                    if role != Role::Candidate || text.len() > 64 * 1024 {
                        continue;
                    }
                    ws.touch();
                    match serde_json::from_str::<TermIn>(&text) {
                        Ok(TermIn::Input { data }) => term.input(data.as_bytes()),
                        Ok(TermIn::Resize { cols, rows }) => term.resize(cols, rows),
                        Err(_) => {}
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = tx.close().await;
}

// --- VS Code ---

/// code-server for the session: served only on the untrusted origin (`untrusted.rs`), under
/// `prefix` (`.../vscode`), since it serves the candidate's code and files as pages. Both roles
/// may open it there: it holds nothing of the platform's.
pub async fn vscode(
    ws: &Arc<Workspace>,
    prefix: &str,
    path: &str,
    req: Request,
    default_policy: HeaderValue,
) -> Result<Response, ApiError> {
    let (mut parts, body) = req.into_parts();
    if path.is_empty() {
        // Relative URLs in the workbench need the trailing slash.
        let q = parts
            .uri
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        return Ok(axum::response::Redirect::temporary(&format!("{prefix}/{q}")).into_response());
    }
    ws.code_server
        .ensure_running()
        .await
        .map_err(ApiError::Conflict)?;
    ws.touch();
    parts.uri = proxy::without_token(path, parts.uri.query())
        .parse()
        .map_err(|_| ApiError::BadRequest("invalid path".into()))?;
    proxy::strip_credentials(&mut parts.headers);
    parts.headers.remove(header::REFERER);
    let mut res = proxy::forward(
        &ws.code_server.socket,
        axum::http::Request::from_parts(parts, body),
    )
    .await
    .map_err(|e| {
        tracing::warn!(error = %e, "code-server did not answer");
        ApiError::Conflict("VS Code is not answering; reload in a moment".into())
    })?;
    // code-server frames some of its own pages (extension host, webviews); pages with a policy
    // of their own keep it.
    if !res.headers().contains_key(header::CONTENT_SECURITY_POLICY) {
        res.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, default_policy);
    }
    proxy::strip_browser_state(res.headers_mut());
    Ok(res)
}
