//! Interviewer-only routes: timeline, replay, end, scorecard, report; and the operator's admin routes.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::account::actor;
use super::api::JsonBody;
use super::auth::{Auth, SessionPath, account_of};
use super::error::ApiError;
use crate::cockpit::Scorecard;
use crate::ids::SessionId;
use crate::util::rfc3339;

pub async fn events(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.cockpit.events(&caller).await?))
}

pub async fn end(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    state.lifecycle.end(&caller).await?;
    state
        .accounts
        .audit(
            Some(&actor(&caller)),
            "session_ended",
            Some(&caller.session.id),
            serde_json::json!({}),
        )
        .await;
    let caller = state.sessions.reload(&caller).await?;
    Ok(Json(state.sessions.view(&caller).await?))
}

#[derive(Deserialize)]
pub struct AtQuery {
    at: Option<i64>,
}

/// `GET /api/sessions/{id}/replay/{doc}?at=<ms>`: the document at that moment (default: now);
/// without `at`, also the times at which it changed.
pub async fn replay(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((_, doc)): Path<(String, String)>,
    Query(q): Query<AtQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let at = q.at.unwrap_or_else(crate::util::now_ms);
    let state_at = state.cockpit.doc_at(&caller, &doc, at).await?;
    let changes = state.cockpit.change_times(&caller, &doc).await?;
    Ok(Json(serde_json::json!({
        "doc": doc,
        "at_ms": state_at.at_ms,
        "text": state_at.text,
        "update": state_at.update,
        "changes": changes,
        "created_at_ms": caller.session.created_at,
        "ended_at_ms": caller.session.ended_at,
    })))
}

pub async fn get_scorecard(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.cockpit.scorecard(&caller).await?))
}

pub async fn put_scorecard(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(card): JsonBody<Scorecard>,
) -> Result<impl IntoResponse, ApiError> {
    state.cockpit.set_scorecard(&caller, &card).await?;
    Ok(Json(card))
}

pub async fn report(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Response, ApiError> {
    let html = state.cockpit.report(&caller).await?;
    state
        .accounts
        .audit(
            Some(&actor(&caller)),
            "report_exported",
            Some(&caller.session.id),
            serde_json::json!({}),
        )
        .await;
    Ok(html_download(html, &caller.session.id))
}

fn html_download(html: String, id: &SessionId) -> Response {
    let mut response = html.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"interview-{id}.html\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Extractor: the operator, either a signed-in admin account or (kept for scripts) the
/// `ADMIN_TOKEN` in `Authorization: Bearer`, compared in constant time. Holds who it was.
pub struct Operator(String);

impl axum::extract::FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(expected) = state
            .config
            .server
            .admin_token
            .as_deref()
            .filter(|t| !t.is_empty())
        {
            let given = parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            // Hash both sides so the comparison takes the same time whatever the lengths.
            if crate::util::token_matches(given, &crate::util::token_hash(expected)) {
                return Ok(Operator("operator token".into()));
            }
        }
        match account_of(parts, state).await {
            Ok(Some(account)) if account.is_admin() => Ok(Operator(account.email)),
            Ok(Some(_)) => Err(ApiError::Forbidden("only an admin can do that".into())),
            Ok(None) | Err(ApiError::Unauthorized) => Err(ApiError::Unauthorized),
            Err(e) => Err(e),
        }
    }
}

pub async fn admin_sessions(
    State(state): State<AppState>,
    _: Operator,
) -> Result<impl IntoResponse, ApiError> {
    let rows = state.store.list_sessions(1000).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(s, participants)| {
                serde_json::json!({
                    "id": s.id,
                    "title": s.title,
                    "language": s.language,
                    "kind": s.kind,
                    "created_at": rfc3339(s.created_at),
                    "ended_at": s.ended_at.map(rfc3339),
                    "status": if s.ended_at.is_some() { "ended" } else { "open" },
                    "participants": participants,
                    "report_url": format!("/api/admin/sessions/{}/report", s.id),
                })
            })
            .collect::<Vec<_>>(),
    ))
}

pub async fn admin_delete(
    State(state): State<AppState>,
    Operator(by): Operator,
    SessionPath(id): SessionPath,
) -> Result<impl IntoResponse, ApiError> {
    if !state.lifecycle.delete(&id).await? {
        return Err(ApiError::NotFound("no such session".into()));
    }
    tracing::info!(session = %id, "session deleted by the operator");
    state
        .accounts
        .audit(
            Some(&by),
            "session_deleted",
            Some(&id),
            serde_json::json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn admin_report(
    State(state): State<AppState>,
    Operator(by): Operator,
    SessionPath(id): SessionPath,
) -> Result<Response, ApiError> {
    let session = state
        .store
        .get_session(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such session".into()))?;
    let caller = crate::sessions::Caller {
        session,
        role: crate::sessions::Role::Interviewer,
        account: None,
    };
    let html = state.cockpit.report(&caller).await?;
    state
        .accounts
        .audit(
            Some(&by),
            "report_exported",
            Some(&id),
            serde_json::json!({}),
        )
        .await;
    Ok(html_download(html, &id))
}
