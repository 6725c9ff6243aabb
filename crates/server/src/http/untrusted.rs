//! The untrusted origin: a listener of its own (`UNTRUSTED_BIND`, reached as `UNTRUSTED_ORIGIN`)
//! that serves what a candidate's code makes (VS Code, which serves the workspace's files as
//! pages, and the candidate's app), so that none of it ever runs as the platform's origin, where
//! a script could act with a signed-in interviewer's or admin's cookie.
//!
//! Nothing here reads the platform's cookies or tokens: a request is let in by the capability
//! in its path (`/sessions/{id}/{capability}/vscode/...`, see `capability.rs`), which the
//! platform hands to a caller of that session (`GET /api/sessions/{id}/content`). The platform's
//! cookies still arrive (cookies ignore ports) and are dropped before anything is proxied.

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, HeaderValue, Response as HttpResponse, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tower_http::trace::TraceLayer;

use super::AppState;
use super::error::ApiError;
use crate::ids::SessionId;
use crate::sessions::Caller;

/// The routes of the untrusted listener. In cluster mode a request for a workspace on another
/// node goes to that node (whose platform listener serves these routes to forwarded requests only).
pub fn router(state: AppState) -> Router {
    content_routes(state.clone())
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "not found\n") })
        .layer(axum::middleware::map_response(finish))
        .layer(
            // One line per request, without the capability.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| tracing::info_span!("untrusted", method = %req.method(), path = %loggable_path(req.uri().path())))
                .on_request(())
                .on_failure(())
                .on_response(|res: &HttpResponse<_>, latency: std::time::Duration, _: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), ms = latency.as_secs_f64() * 1000.0, "response");
                }),
        )
        .with_state(state)
}

/// The content routes, also mounted on the platform's router for forwarded requests.
pub fn content_routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/{capability}/{what}", any(content))
        .route("/sessions/{id}/{capability}/{what}/", any(content))
        .route("/sessions/{id}/{capability}/{what}/{*path}", any(content))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::cluster::to_workspace_owner,
        ))
}

async fn content(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
    req: Request,
) -> Result<Response, ApiError> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (id, capability, what) = (param("id"), param("capability"), param("what"));
    let no_such_session = || ApiError::NotFound("no such session".into());
    let session = state
        .store
        .get_session(&SessionId::parse(&id).ok_or_else(no_such_session)?)
        .await?
        .ok_or_else(no_such_session)?;
    let now = crate::util::now_ms() as u64 / 1000;
    // A wrong, expired or rotated capability: the holder opens the session again for a new one.
    let role =
        crate::capability::check(&session, &capability, now).ok_or(ApiError::Unauthorized)?;
    let caller = Caller {
        session,
        role,
        account: None,
    };
    let ws = super::workspace::running_workspace(&state, &caller).await?;
    let prefix = format!("/sessions/{id}/{capability}/{what}");
    let path = req
        .uri()
        .path()
        .strip_prefix(&prefix)
        .unwrap_or("")
        .to_string();
    match what.as_str() {
        "vscode" => {
            let platform = state.config.public_url();
            let policy = HeaderValue::from_str(&format!("frame-ancestors 'self' {platform}"))
                .unwrap_or(HeaderValue::from_static("frame-ancestors 'self'"));
            super::workspace::vscode(&ws, &prefix, &path, req, policy).await
        }
        "app" => {
            let (parts, body) = req.into_parts();
            Ok(super::workspace::forward_to_app(&ws, &path, parts, body).await)
        }
        _ => Err(ApiError::NotFound("no such content".into())),
    }
}

/// Every answer of this origin: it may be framed by the platform's page (which isolates itself
/// with COEP), never leaks the capability through Referer, is never sniffed into another type,
/// and changes no browser state of the host (cookies reach the platform's port too).
async fn finish(mut res: Response) -> Response {
    let h = res.headers_mut();
    crate::workspace::proxy::strip_browser_state(h);
    let set = |h: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    };
    set(h, "cross-origin-resource-policy", "cross-origin");
    set(h, "cross-origin-embedder-policy", "require-corp");
    set(h, "referrer-policy", "no-referrer");
    set(h, "x-content-type-options", "nosniff");
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        );
    }
    res.into_response()
}

/// A path as the log shows it: the capability is a credential.
fn loggable_path(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.get(1) == Some(&"sessions") && parts.len() > 3 {
        parts[3] = "[capability]";
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    #[test]
    fn capabilities_never_reach_the_log() {
        assert_eq!(
            super::loggable_path("/sessions/abc/c123.SECRET/vscode/x"),
            "/sessions/abc/[capability]/vscode/x"
        );
        assert_eq!(super::loggable_path("/nope"), "/nope");
    }
}
