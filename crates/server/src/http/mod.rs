//! The HTTP edge: routes, extractors, errors, headers, request logging.

pub mod account;
pub mod api;
pub mod auth;
pub mod chaos;
pub mod chat;
pub mod cluster;
pub mod cockpit;
pub mod error;
pub mod execute;
pub mod live;
pub mod questions;
pub mod untrusted;
pub mod web;
pub mod workspace;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::App;
use error::ApiError;

pub type AppState = Arc<App>;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/config", get(account::config))
        .route("/auth/login", post(account::login))
        .route("/auth/logout", post(account::logout))
        .route("/auth/me", get(account::me))
        .route("/auth/sso/start", get(account::sso_start))
        .route("/auth/sso/callback", get(account::sso_callback))
        .route("/auth/setup", post(account::setup))
        .route(
            "/auth/invites/{code}",
            get(account::invite_info).post(account::accept_invite),
        )
        .route("/keys", get(account::keys).post(account::create_key))
        .route("/keys/{key_id}", axum::routing::delete(account::revoke_key))
        .route("/admin/users", get(account::users))
        .route(
            "/admin/users/{user_id}/disable",
            post(account::disable_user),
        )
        .route("/admin/users/{user_id}/enable", post(account::enable_user))
        .route(
            "/admin/teams",
            get(account::teams).post(account::create_team),
        )
        .route("/admin/invites", post(account::invite))
        .route("/admin/audit", get(account::audit))
        .route(
            "/sessions",
            post(api::create_session)
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    cluster::to_least_loaded,
                ))
                .get(account::team_sessions),
        )
        .route(
            "/sessions/{id}/interviewer-link",
            post(account::rotate_interviewer_link),
        )
        .route(
            "/sessions/{id}/candidate-link",
            post(account::rotate_candidate_link),
        )
        .route(
            "/sessions/{id}",
            get(api::get_session).patch(api::update_session),
        )
        .route("/sessions/{id}/role", get(api::get_role))
        .route("/sessions/{id}/join", post(api::join))
        .route("/sessions/{id}/runs", post(api::record_run))
        .route("/sessions/{id}/execute", post(execute::execute))
        .route("/sessions/{id}/execute/ws", get(execute::execute_ws))
        .route("/questions", get(questions::list).post(questions::create))
        .route(
            "/questions/{id}",
            get(questions::get_one)
                .put(questions::update)
                .delete(questions::delete),
        )
        .route("/admin/questions/{id}", axum::routing::put(questions::save))
        .route("/sessions/{id}/question", get(questions::of_session))
        .route("/sessions/{id}/tests", post(questions::run_tests))
        .route("/sessions/{id}/activity", post(api::record_activity))
        .route("/sessions/{id}/events", get(cockpit::events))
        .route("/sessions/{id}/end", post(cockpit::end))
        .route("/sessions/{id}/replay/{doc}", get(cockpit::replay))
        .route(
            "/sessions/{id}/scorecard",
            get(cockpit::get_scorecard).put(cockpit::put_scorecard),
        )
        .route("/sessions/{id}/report", get(cockpit::report))
        .route("/admin/sessions", get(cockpit::admin_sessions))
        .route(
            "/admin/sessions/{id}",
            axum::routing::delete(cockpit::admin_delete),
        )
        .route("/admin/sessions/{id}/report", get(cockpit::admin_report))
        .route("/sessions/{id}/chat", get(chat::history).post(chat::ask))
        .route(
            "/sessions/{id}/assistant",
            get(chat::status).patch(chat::set_mode),
        )
        .route("/languages", get(api::languages))
        .route("/exercises", get(workspace::exercises))
        .route("/sessions/{id}/content", get(workspace::content_link))
        .merge(workspace_routes(state.clone()))
        .fallback(|| async { ApiError::NotFound("no such API route".into()) })
        .layer(axum::middleware::from_fn(auth::refuse_simple_writes));

    let metrics = state.metrics.clone();
    let request_id = HeaderName::from_static("x-request-id");
    let csp = HeaderValue::from_str(&web::csp(state.config.server.untrusted_origin.as_deref().unwrap_or("'none'")))
        // An origin that is no header value frames nothing.
        .unwrap_or_else(|_| HeaderValue::from_str(&web::csp("'none'")).expect("a valid policy"));
    let hsts = state
        .config
        .public_url()
        .starts_with("https://")
        .then(|| HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    Router::new()
        .nest("/api", api)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        // The untrusted origin's routes, for requests another node forwards here (in cluster
        // mode); a browser never reaches them on this origin.
        .merge(untrusted::content_routes(state.clone()).route_layer(axum::middleware::from_fn(cluster::forwarded_only)))
        .fallback(web::serve)
        .layer(DefaultBodyLimit::max(state.config.server.max_body_bytes))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp))
        .layer(always("x-content-type-options", "nosniff"))
        // Served over https: browsers keep to https for this host from then on.
        .layer(SetResponseHeaderLayer::if_not_present(header::STRICT_TRANSPORT_SECURITY, move |_: &Response<_>| hsts.clone()))
        // Tokens travel in links: never leak them through Referer.
        .layer(always("referrer-policy", "no-referrer"))
        // Cross-origin isolation lets the in-browser Python runtime be interrupted (SharedArrayBuffer).
        .layer(always("cross-origin-opener-policy", "same-origin"))
        .layer(always("cross-origin-embedder-policy", "require-corp"))
        .layer(always("cross-origin-resource-policy", "same-origin"))
        .layer(
            // One line per request. Only the path is logged: queries carry tokens.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", id = %id, method = %req.method(), path = %loggable_path(req.uri().path()))
                })
                .on_request(())
                // Our own failures are logged where they happen (ApiError::Internal); a 5xx from a
                // workspace's app (the candidate's code, or a chaos fault) is not a server error.
                .on_failure(())
                .on_response(move |res: &Response<_>, latency: Duration, _span: &Span| {
                    metrics.http_response(res.status().as_u16());
                    tracing::info!(status = res.status().as_u16(), ms = latency.as_secs_f64() * 1000.0, "response");
                }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, SequentialRequestId::default()))
        .with_state(state)
}

/// What a session's workspace answers (and its files' live documents, which keep its disk in
/// step): in cluster mode, served by the node that runs the workspace.
fn workspace_routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/docs/{doc}", get(live::open_doc))
        .route("/sessions/{id}/workspace", get(workspace::status))
        .route("/sessions/{id}/exercise", get(workspace::exercise))
        .route("/sessions/{id}/workspace/start", post(workspace::start))
        .route("/sessions/{id}/workspace/restart", post(workspace::restart))
        .route("/sessions/{id}/workspace/logs", get(workspace::logs))
        .route("/sessions/{id}/files", get(workspace::list_files).post(workspace::create_file).delete(workspace::delete_file))
        .route("/sessions/{id}/files/content", get(workspace::file_content))
        .route("/sessions/{id}/files/rename", post(workspace::rename_file))
        // Before the app's own paths: `/app/stats` is the platform's, never proxied.
        .route("/sessions/{id}/app/stats", get(chaos::app_stats))
        .route("/sessions/{id}/app", any(workspace::app_proxy))
        .route("/sessions/{id}/app/{*path}", any(workspace::app_proxy))
        .route("/sessions/{id}/terminal", get(workspace::terminal))
        .route("/sessions/{id}/chaos", post(chaos::activate))
        .route("/sessions/{id}/chaos/activate", post(chaos::activate))
        .route("/sessions/{id}/chaos/status", get(chaos::status))
        .route("/sessions/{id}/chaos/deactivate", post(chaos::deactivate))
        .route("/sessions/{id}/chaos/reset", post(chaos::reset))
        .route("/sessions/{id}/chaos/checks", post(chaos::checks))
        .route("/sessions/{id}/chaos/faults", post(chaos::add_fault))
        .route("/sessions/{id}/chaos/faults/{fault_id}", axum::routing::delete(chaos::remove_fault))
        .route_layer(axum::middleware::from_fn_with_state(state, cluster::to_workspace_owner))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.store.ping().await.is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "storage unreachable".to_string(),
        );
    }
    if let Some(node) = &state.cluster
        && !node.ready().await
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "redis unreachable".to_string(),
        );
    }
    // Ready to serve pads either way; whether candidate code can run on the server is said
    // here too, so an operator sees a host without usable cgroups at once.
    let sandbox = crate::sandbox::status(&state.sandbox_helper);
    let message = match (&sandbox.problem, sandbox.unlimited_allowed) {
        (None, _) => format!("ready\nsandbox limits: cgroup {}\n", sandbox.cgroups),
        (Some(p), true) => format!(
            "ready\nsandbox limits: NOT ENFORCED (allowed by ALLOW_UNLIMITED_SANDBOXES): {p}\n"
        ),
        (Some(p), false) => format!(
            "ready\nsandbox limits: unavailable, so no candidate code runs on this server: {p}\n"
        ),
    };
    let installing = crate::installing::pending(&state.config.workspaces.tools_dir);
    let message = match installing.is_empty() {
        true => message,
        false => {
            let what: Vec<&str> = installing.iter().map(|f| f.describe()).collect();
            format!(
                "{message}still installing (switch on when ready): {}\n",
                what.join(", ")
            )
        }
    };
    (StatusCode::OK, message)
}

/// A request's path as the log shows it: an invite's code is a credential (it makes an
/// account, an admin's for an admin invite) and is never written down.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.split_once("/invites/") {
        Some((before, after)) => {
            let rest = after.find('/').map_or("", |i| &after[i..]);
            std::borrow::Cow::Owned(format!("{before}/invites/[redacted]{rest}"))
        }
        None => std::borrow::Cow::Borrowed(path),
    }
}

/// The Prometheus metrics: with the metrics token, or (without one configured) to a direct
/// request from this machine. They tell an outsider how busy the server is and what it runs.
async fn metrics_text(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let allowed = match &state.config.server.metrics_token {
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            use subtle::ConstantTimeEq;
            bool::from(given.as_bytes().ct_eq(token.as_bytes()))
        }
        None => {
            peer.ip().is_loopback()
                && !headers.contains_key("x-forwarded-for")
                && !headers.contains_key(header::FORWARDED)
        }
    };
    if !allowed {
        return (
            StatusCode::UNAUTHORIZED,
            "metrics need METRICS_TOKEN (or a direct request from this machine)\n",
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// A header every response gets unless the handler set it.
fn always(name: &'static str, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

/// Request ids: a per-process random prefix and a counter, cheap and unique enough for logs.
#[derive(Clone)]
struct SequentialRequestId {
    prefix: u32,
    next: Arc<AtomicU64>,
}

impl Default for SequentialRequestId {
    fn default() -> Self {
        SequentialRequestId {
            prefix: rand::random(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:08x}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn invite_codes_never_reach_the_log() {
        assert_eq!(
            super::loggable_path("/api/auth/invites/SECRETCODE"),
            "/api/auth/invites/[redacted]"
        );
        assert_eq!(
            super::loggable_path("/api/auth/invites/SECRETCODE/accept"),
            "/api/auth/invites/[redacted]/accept"
        );
        assert_eq!(
            super::loggable_path("/api/sessions/abc/files"),
            "/api/sessions/abc/files"
        );
    }
}
