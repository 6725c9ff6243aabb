//! Who is calling: the token (Bearer header, `?token=`, or the session cookie) resolved to a role.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::AppState;
use super::error::ApiError;
use crate::sessions::Caller;

/// The session cookie's name; one per session so sessions in one browser do not collide.
pub fn cookie_name(session_id: &str) -> String {
    format!("iide_{session_id}")
}

/// The token of a request, by precedence: Authorization header, query parameter, cookie.
pub fn request_token(headers: &HeaderMap, query: Option<&str>, session_id: &str) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")) {
            return Some(token.trim().to_string());
        }
    }
    if let Some(query) = query {
        let token = form_urlencoded_pairs(query).find(|(k, _)| k == "token").map(|(_, v)| v);
        if token.is_some() {
            return token;
        }
    }
    let wanted = cookie_name(session_id);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_string())
}

/// The request's token for session `id`. With only the cookie, changes and live connections
/// must come from this origin: the cookie rides along with requests from any page of the same
/// site (another port of this host, say).
pub fn checked_token(parts: &Parts, id: &str) -> Result<Option<String>, ApiError> {
    let token = request_token(&parts.headers, parts.uri.query(), id);
    if token.is_some() && !explicit_token(&parts.headers, parts.uri.query()) && cross_origin_write(parts) {
        return Err(ApiError::Forbidden("cross-origin request refused".into()));
    }
    Ok(token)
}

/// Whether the request names its token itself (header or query), rather than riding on the cookie.
fn explicit_token(headers: &HeaderMap, query: Option<&str>) -> bool {
    headers.contains_key(header::AUTHORIZATION) || query.is_some_and(|q| form_urlencoded_pairs(q).any(|(k, _)| k == "token"))
}

/// A state-changing request or a WebSocket upgrade whose `Origin` is not this server's.
fn cross_origin_write(parts: &Parts) -> bool {
    let unsafe_method = !matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS);
    let upgrade = parts.headers.contains_key(header::UPGRADE);
    if !unsafe_method && !upgrade {
        return false;
    }
    let Some(origin) = parts.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host)
}

fn form_urlencoded_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default().into_iter()
}

/// A query parameter by name.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query.and_then(|q| form_urlencoded_pairs(q).find(|(k, _)| k == name).map(|(_, v)| v))
}

/// Extractor: the caller of a `/api/sessions/{id}/...` route, with their role.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("no such session".into()))?;
        let id = params
            .iter()
            .find(|(k, _)| *k == "id")
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| ApiError::NotFound("no such session".into()))?;
        let token = checked_token(parts, &id)?;
        let caller = state.sessions.authorize(&id, token.as_deref()).await?;
        Ok(Auth(caller))
    }
}
