//! Who is calling: the token (Bearer header, `?token=`, or the session cookie) resolved to a role,
//! or a signed-in account (the sign-in cookie or an API key) of the session's team.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, CookieBuilder};

use super::AppState;
use super::error::ApiError;
use crate::accounts::{API_KEY_PREFIX, Account};
use crate::ids::SessionId;
use crate::sessions::{Caller, Role, SessionError};

/// The sign-in cookie (an account, not a session): Path=/, HttpOnly, SameSite=Lax. Over https
/// it is a `__Host-` cookie: the browser keeps it to exactly this host, and no other host (the
/// untrusted origin's, say) can set one of that name beside it.
pub fn account_cookie(state: &AppState) -> &'static str {
    if https(state) {
        "__Host-iide_account"
    } else {
        "iide_account"
    }
}

/// Whether the platform is served over https: its cookies are `Secure` then.
fn https(state: &AppState) -> bool {
    state.config.public_url().starts_with("https://")
}

/// A cookie's value by name. Two different values under one name (one planted by another
/// origin of this host, with a longer path, say) are no answer: neither is believed.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == name);
    let first = values.next()?;
    if values.any(|other| other.value() != first.value()) {
        return None;
    }
    Some(first.value().to_string())
}

/// A cookie's `Max-Age`: how long the browser keeps it (zero: it drops it now).
pub fn max_age(lifetime: Duration) -> cookie::time::Duration {
    cookie::time::Duration::try_from(lifetime).unwrap_or(cookie::time::Duration::ZERO)
}

/// Adds the `Set-Cookie` of one of the platform's cookies to an answer's headers: every one is
/// HttpOnly, and Secure over https. A value a header cannot carry sets nothing (the values are
/// tokens of our own alphabet, so it does not happen).
pub fn set_cookie(state: &AppState, headers: &mut HeaderMap, cookie: CookieBuilder<'_>) {
    let cookie = cookie.http_only(true).secure(https(state)).build();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        headers.append(header::SET_COOKIE, value);
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// The signed-in account of a request, if any: an API key (`Authorization: Bearer iide_...`,
/// refused with 401 when revoked or unknown) or the sign-in cookie. Writes riding on the cookie
/// from another origin are refused (CSRF).
pub async fn account_of(parts: &Parts, state: &AppState) -> Result<Option<Account>, ApiError> {
    if let Some(key) = bearer(&parts.headers).filter(|b| b.starts_with(API_KEY_PREFIX)) {
        let Some((account, scopes)) = state.accounts.by_api_key(key).await? else {
            return Err(ApiError::Unauthorized);
        };
        return match scope_needed(&parts.method, parts.uri.path()) {
            Some(needed) if scopes.iter().any(|s| s == needed) => Ok(Some(account)),
            Some(needed) => Err(ApiError::Forbidden(format!(
                "this API key lacks the '{needed}' scope"
            ))),
            None => Err(ApiError::Forbidden(
                "API keys cannot manage keys: sign in to do that".into(),
            )),
        };
    }
    let Some(value) = cookie(&parts.headers, account_cookie(state)) else {
        return Ok(None);
    };
    let account = state.accounts.by_cookie(&value).await?;
    if account.is_some() && cross_origin_write(parts) {
        return Err(ApiError::Forbidden("cross-origin request refused".into()));
    }
    Ok(account)
}

/// The scope an API key needs for a request; None: no key may make it (keys never make,
/// list or revoke keys, so a leaked key cannot mint itself a successor).
fn scope_needed(method: &axum::http::Method, path: &str) -> Option<&'static str> {
    let path = path.strip_prefix("/api").unwrap_or(path);
    if path == "/keys" || path.starts_with("/keys/") {
        return None;
    }
    if path.starts_with("/admin/") {
        return Some("admin");
    }
    if matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD) {
        Some("sessions:read")
    } else {
        Some("sessions:write")
    }
}

/// Extractor: a signed-in person of the organisation (401 otherwise).
pub struct SignedIn(pub Account);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        account_of(parts, state)
            .await?
            .map(SignedIn)
            .ok_or(ApiError::Unauthorized)
    }
}

/// Extractor: a signed-in admin (401 signed out, 403 for an interviewer).
pub struct AdminAccount(pub Account);

impl FromRequestParts<AppState> for AdminAccount {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SignedIn(account) = SignedIn::from_request_parts(parts, state).await?;
        if !account.is_admin() {
            return Err(ApiError::Forbidden("only an admin can do that".into()));
        }
        Ok(AdminAccount(account))
    }
}

/// The session cookie's name; one per session so sessions in one browser do not collide.
pub fn cookie_name(session_id: &str) -> String {
    format!("iide_{session_id}")
}

/// The token of a request, by precedence: Authorization header, query parameter, cookie.
pub fn request_token(headers: &HeaderMap, query: Option<&str>, session_id: &str) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
    {
        return Some(token.trim().to_string());
    }
    if let Some(query) = query {
        let token = form_urlencoded_pairs(query)
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v);
        if token.is_some() {
            return token;
        }
    }
    cookie(headers, &cookie_name(session_id))
}

/// The request's token for session `id`. With only the cookie, changes and live connections
/// must come from this origin: the cookie rides along with requests from any page of the same
/// site (another port of this host, say).
pub fn checked_token(parts: &Parts, id: &str) -> Result<Option<String>, ApiError> {
    let token = request_token(&parts.headers, parts.uri.query(), id);
    if token.is_some()
        && !explicit_token(&parts.headers, parts.uri.query())
        && cross_origin_write(parts)
    {
        return Err(ApiError::Forbidden("cross-origin request refused".into()));
    }
    Ok(token)
}

/// Whether the request names its token itself (header or query), rather than riding on the cookie.
fn explicit_token(headers: &HeaderMap, query: Option<&str>) -> bool {
    headers.contains_key(header::AUTHORIZATION)
        || query.is_some_and(|q| form_urlencoded_pairs(q).any(|(k, _)| k == "token"))
}

/// A state-changing request or a WebSocket upgrade whose `Origin` is not this server's.
pub fn cross_origin_write(parts: &Parts) -> bool {
    let unsafe_method = !matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let upgrade = parts.headers.contains_key(header::UPGRADE);
    if !unsafe_method && !upgrade {
        return false;
    }
    let Some(origin) = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host)
}

/// Middleware on `/api`: a state-changing request riding on a cookie must be one no other page
/// can make without the server's consent (CORS): a JSON body or the `X-Requested-With` header.
/// A form, a link or a `text/plain` fetch from another origin (which may carry the cookie: another
/// port of this host is the same site) is refused before anything reads it. The Origin check
/// (`cross_origin_write`) stands beside this.
pub async fn refuse_simple_writes(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let unsafe_method = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let h = req.headers();
    let json = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            let t = t
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            t == "application/json" || t.ends_with("+json")
        });
    // Without a cookie a request has no standing but what it names itself (a header or the
    // query's token), which no other page knows.
    let rides_on_cookie = h.contains_key(header::COOKIE) && !explicit_token(h, req.uri().query());
    if unsafe_method && rides_on_cookie && !json && !h.contains_key("x-requested-with") {
        return ApiError::UnsupportedMediaType("a change needs a JSON body (Content-Type: application/json) or the X-Requested-With header".into()).into_response();
    }
    next.run(req).await
}

fn form_urlencoded_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
}

/// A query parameter by name.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query.and_then(|q| {
        form_urlencoded_pairs(q)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    })
}

/// Extractor: the session id of a `.../sessions/{id}/...` route, its shape checked here once.
/// An id that cannot be one is a session that does not exist (404), like an unknown id.
pub struct SessionPath(pub SessionId);

impl<S: Send + Sync> FromRequestParts<S> for SessionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let no_such_session = || ApiError::NotFound("no such session".into());
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| no_such_session())?;
        params
            .iter()
            .find(|(k, _)| *k == "id")
            .and_then(|(_, v)| SessionId::parse(v))
            .map(SessionPath)
            .ok_or_else(no_such_session)
    }
}

/// Extractor: the caller of a `/api/sessions/{id}/...` route, with their role.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SessionPath(id) = SessionPath::from_request_parts(parts, state).await?;
        // An API key in the header is an account, not a session token.
        let token = checked_token(parts, &id)?.filter(|t| !t.starts_with(API_KEY_PREFIX));
        let refused = match state.sessions.authorize(&id, token.as_deref()).await {
            Ok(caller) => return Ok(Auth(caller)),
            Err(SessionError::Unauthorized) => ApiError::Unauthorized,
            Err(e) => return Err(e.into()),
        };
        // No valid link token: a signed-in member of the session's team (or an admin) is its interviewer.
        let Some(account) = account_of(parts, state).await? else {
            return Err(refused);
        };
        let session = state
            .store
            .get_session(&id)
            .await?
            .ok_or_else(|| ApiError::NotFound("no such session".into()))?;
        if !account.may_open(session.team_id.as_deref()) {
            return Err(ApiError::Forbidden(
                "this session belongs to another team".into(),
            ));
        }
        Ok(Auth(Caller {
            session,
            role: Role::Interviewer,
            account: Some(account.email),
        }))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append("cookie", c.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_cookie_is_read_by_its_exact_name() {
        let h = headers(&["theme=dark; iide_account=tok", "iide_account_x=other"]);
        assert_eq!(super::cookie(&h, "iide_account").as_deref(), Some("tok"));
        assert_eq!(super::cookie(&h, "missing"), None);
    }

    #[test]
    fn two_values_under_one_name_are_not_believed() {
        let h = headers(&["iide_account=a; x=1", "iide_account=b"]);
        assert_eq!(super::cookie(&h, "iide_account"), None);
        let same = headers(&["iide_account=a; iide_account=a"]);
        assert_eq!(super::cookie(&same, "iide_account").as_deref(), Some("a"));
    }
}
