//! Accounts over HTTP: sign-in and out, first-run setup, invites, the team's sessions, API keys,
//! and the admin's users, teams and audit log.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, CookieBuilder, SameSite};
use serde::Deserialize;

use super::AppState;
use super::api::{JsonBody, client_address};
use super::auth::{
    AdminAccount, Auth, SignedIn, account_cookie, cookie, cross_origin_write, max_age, set_cookie,
};
use super::error::ApiError;
use crate::accounts::{Account, LOGIN_TTL, MIN_PASSWORD_CHARS, NewUser};
use crate::sessions::Role;
use crate::store::SessionFilter;
use crate::util::{escape_html, rfc3339};

/// The sign-in cookie for a sign-in (or, with None, clearing it).
fn login_cookie<'a>(state: &AppState, token: Option<&'a str>) -> CookieBuilder<'a> {
    let (value, lifetime) = match token {
        Some(t) => (t, LOGIN_TTL),
        None => ("", Duration::ZERO),
    };
    Cookie::build((account_cookie(state), value))
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(max_age(lifetime))
}

/// Sign-in, setup and invite forms are refused from other origins (login CSRF).
fn same_origin(parts: &Parts) -> Result<(), ApiError> {
    if cross_origin_write(parts) {
        Err(ApiError::Forbidden("cross-origin request refused".into()))
    } else {
        Ok(())
    }
}

/// Answers a new sign-in: the user, and a fresh cookie. A cookie the browser already had is
/// ended first, so a cookie planted before sign-in never becomes a signed-in one (fixation).
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    account: Account,
    token: String,
) -> Response {
    if let Some(old) = cookie(headers, account_cookie(state)) {
        let _ = state.accounts.logout(&old).await;
    }
    let mut response = (status, Json(serde_json::json!({ "user": account }))).into_response();
    set_cookie(
        state,
        response.headers_mut(),
        login_cookie(state, Some(&token)),
    );
    response
}

pub async fn config(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(serde_json::json!({
        "setup_needed": state.accounts.setup_needed().await?,
        "sso": state.sso.as_ref().map(|s| s.name.clone()),
        "min_password_chars": MIN_PASSWORD_CHARS,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    parts: Parts,
    JsonBody(body): JsonBody<Login>,
) -> Result<Response, ApiError> {
    same_origin(&parts)?;
    let addr = client_address(&parts.headers, peer, &state.config.server);
    let (account, token) = state
        .accounts
        .login(&body.email, &body.password, addr)
        .await?;
    Ok(signed_in(&state, &parts.headers, StatusCode::OK, account, token).await)
}

pub async fn logout(State(state): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    same_origin(&parts)?;
    if let Some(value) = cookie(&parts.headers, account_cookie(&state)) {
        state.accounts.logout(&value).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie(&state, response.headers_mut(), login_cookie(&state, None));
    Ok(response)
}

pub async fn me(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
) -> Result<impl IntoResponse, ApiError> {
    let team = state
        .accounts
        .teams()
        .await?
        .into_iter()
        .find(|t| t.id == account.team_id);
    Ok(Json(serde_json::json!({
        "user": account,
        "team": team.map(|t| serde_json::json!({"id": t.id, "name": t.name})),
    })))
}

/// Carries the state of an SSO sign-in in progress from `start` to `callback` in the one browser.
const SSO_COOKIE: &str = "iide_sso";

fn sso_cookie(value: Option<&str>) -> CookieBuilder<'_> {
    let (value, lifetime) = match value {
        Some(v) => (v, crate::accounts::sso::PENDING_TTL),
        None => ("", Duration::ZERO),
    };
    Cookie::build((SSO_COOKIE, value))
        .path("/api/auth/sso")
        .same_site(SameSite::Lax)
        .max_age(max_age(lifetime))
}

/// The page a refused SSO sign-in lands on: what happened, and the way back to the sign-in page.
fn sso_refused(state: &AppState, status: StatusCode, message: &str) -> Response {
    let message = escape_html(&message.chars().take(300).collect::<String>());
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in refused · interview-ide</title>\
<style>body{{background:#1e1e1e;color:#d4d4d4;font:14px system-ui,sans-serif;display:flex;justify-content:center;padding-top:15vh}}\
main{{background:#252526;border:1px solid #3c3c3c;padding:24px 32px;max-width:480px}}h1{{font-size:18px;margin:0 0 12px}}a{{color:#4fc1ff}}</style></head>\
<body><main><h1>Sign-in refused</h1><p data-testid=\"sso-error\">{message}</p><p><a href=\"/signin\">Back to sign-in</a></p></main></body></html>"
    );
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response();
    set_cookie(state, response.headers_mut(), sso_cookie(None));
    response
}

/// `GET /api/auth/sso/start`: to the identity provider, with a fresh state, nonce and PKCE challenge.
pub async fn sso_start(State(state): State<AppState>) -> Response {
    let Some(sso) = state.sso.as_ref() else {
        return sso_refused(
            &state,
            StatusCode::NOT_FOUND,
            "single sign-on is not configured on this server",
        );
    };
    match sso.start().await {
        Ok((url, flow_state)) => {
            let mut response = axum::response::Redirect::to(&url).into_response();
            set_cookie(
                &state,
                response.headers_mut(),
                sso_cookie(Some(&flow_state)),
            );
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => sso_refused(&state, StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

#[derive(Deserialize)]
pub struct SsoCallback {
    code: Option<String>,
    state: Option<String>,
    /// The provider's refusal (e.g. `access_denied`), instead of a code.
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /api/auth/sso/callback`: the provider's answer. Signed in: the sign-in cookie and on to
/// the home page. Refused: a page saying why.
pub async fn sso_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SsoCallback>,
) -> Response {
    use crate::accounts::sso::SsoError;
    let Some(sso) = state.sso.as_ref() else {
        return sso_refused(
            &state,
            StatusCode::NOT_FOUND,
            "single sign-on is not configured on this server",
        );
    };
    if let Some(error) = q.error {
        // Only the error code, cut to its alphabet: anyone can make a link with any description.
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(60)
            .collect();
        if let Some(description) = q.error_description {
            tracing::info!(error = %code, description = %description.chars().take(200).collect::<String>(), "OpenID Connect: the provider refused the sign-in");
        }
        return sso_refused(
            &state,
            StatusCode::FORBIDDEN,
            &format!("the identity provider refused the sign-in ({code})"),
        );
    }
    let (Some(code), Some(flow_state)) = (q.code, q.state) else {
        return sso_refused(
            &state,
            StatusCode::BAD_REQUEST,
            "the identity provider's answer has no code or state",
        );
    };
    let result = match sso
        .finish(&flow_state, cookie(&headers, SSO_COOKIE).as_deref(), &code)
        .await
    {
        Ok(who) => state.accounts.sso_sign_in(sso, &who).await,
        Err(e) => {
            state
                .accounts
                .audit(
                    None,
                    "sign_in_failed",
                    None,
                    serde_json::json!({"method": "sso", "reason": e.to_string()}),
                )
                .await;
            Err(e)
        }
    };
    let (_, token) = match result {
        Ok(signed_in) => signed_in,
        Err(e) => {
            let status = match e {
                SsoError::UnknownState => StatusCode::BAD_REQUEST,
                SsoError::Unreachable => StatusCode::BAD_GATEWAY,
                SsoError::Busy => StatusCode::SERVICE_UNAVAILABLE,
                SsoError::Account(ref detail) => {
                    tracing::warn!(error = %detail, "SSO sign-in failed on our side");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
                _ => StatusCode::FORBIDDEN,
            };
            return sso_refused(&state, status, &e.to_string());
        }
    };
    // As with a password: a cookie planted before sign-in is ended, never promoted (fixation).
    if let Some(old) = cookie(&headers, account_cookie(&state)) {
        let _ = state.accounts.logout(&old).await;
    }
    let mut response = axum::response::Redirect::to("/").into_response();
    set_cookie(
        &state,
        response.headers_mut(),
        login_cookie(&state, Some(&token)),
    );
    set_cookie(&state, response.headers_mut(), sso_cookie(None));
    response
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[serde(default)]
    code: String,
    email: String,
    #[serde(default)]
    name: String,
    password: String,
}

pub async fn setup(
    State(state): State<AppState>,
    parts: Parts,
    JsonBody(body): JsonBody<NewAccount>,
) -> Result<Response, ApiError> {
    same_origin(&parts)?;
    let new = NewUser {
        email: &body.email,
        name: &body.name,
        password: &body.password,
    };
    let (account, token) = state.accounts.setup(&body.code, &new).await?;
    Ok(signed_in(&state, &parts.headers, StatusCode::CREATED, account, token).await)
}

pub async fn invite_info(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (team, role) = state.accounts.invite_info(&code).await?;
    Ok(Json(serde_json::json!({ "team": team, "role": role })))
}

pub async fn accept_invite(
    State(state): State<AppState>,
    Path(code): Path<String>,
    parts: Parts,
    JsonBody(body): JsonBody<NewAccount>,
) -> Result<Response, ApiError> {
    same_origin(&parts)?;
    let new = NewUser {
        email: &body.email,
        name: &body.name,
        password: &body.password,
    };
    let (account, token) = state.accounts.accept_invite(&code, &new).await?;
    Ok(signed_in(&state, &parts.headers, StatusCode::CREATED, account, token).await)
}

#[derive(Deserialize)]
pub struct ListQuery {
    /// Part of the title.
    q: Option<String>,
    /// `open` or `ended`.
    status: Option<String>,
    /// `1` or `true`: only the caller's own sessions.
    mine: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// `GET /api/sessions`: the caller's team's sessions (every session for an admin), newest first, paged.
pub async fn team_sessions(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(status) = q
        .status
        .as_deref()
        .filter(|s| !matches!(*s, "open" | "ended" | ""))
    {
        return Err(ApiError::NotOneOf {
            message: format!(
                "unknown status '{}'",
                status.chars().take(20).collect::<String>()
            ),
            valid: vec!["open".into(), "ended".into()],
        });
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let offset = q.offset.unwrap_or(0).max(0);
    let mine = matches!(q.mine.as_deref(), Some("1" | "true"));
    let filter = SessionFilter {
        team_id: (!account.is_admin()).then(|| account.team_id.clone()),
        created_by: mine.then(|| account.id.clone()),
        status: q.status.filter(|s| !s.is_empty()),
        search: q.q.map(|s| s.chars().take(200).collect()),
        limit,
        offset,
    };
    let (rows, total) = state.store.team_sessions(&filter).await?;
    let sessions: Vec<_> = rows
        .into_iter()
        .map(|r| {
            let s = r.session;
            serde_json::json!({
                "id": s.id,
                "title": s.title,
                "kind": s.kind,
                "language": s.language,
                "exercise": s.exercise,
                "status": if s.ended_at.is_some() { "ended" } else { "open" },
                "created_by": r.creator_email,
                "mine": s.created_by.as_deref() == Some(account.id.as_str()),
                "created_at": rfc3339(s.created_at),
                "ended_at": s.ended_at.map(rfc3339),
                "participants": r.participants.into_iter().map(|(name, role)| serde_json::json!({"name": name, "role": role})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(
        serde_json::json!({ "sessions": sessions, "total": total, "limit": limit, "offset": offset }),
    ))
}

/// `POST /api/sessions/{id}/interviewer-link`: a new interviewer link; the old one stops
/// working, and what was opened with it (live documents, terminal, runs, VS Code) ends.
pub async fn rotate_interviewer_link(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    let (token, url) = rotate(&state, &caller, Role::Interviewer).await?;
    Ok(Json(
        serde_json::json!({ "interviewer_token": token, "interviewer_url": url }),
    ))
}

/// `POST /api/sessions/{id}/candidate-link` (interviewer): a new candidate link, as above; for a
/// link that reached the wrong person, or a candidate who must not come back.
pub async fn rotate_candidate_link(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    let (token, url) = rotate(&state, &caller, Role::Candidate).await?;
    Ok(Json(
        serde_json::json!({ "candidate_token": token, "candidate_url": url }),
    ))
}

async fn rotate(
    state: &AppState,
    caller: &crate::sessions::Caller,
    role: Role,
) -> Result<(String, String), ApiError> {
    let rotated = state.sessions.rotate_link(caller, role).await?;
    state
        .connections
        .end(crate::connections::Holder::Link {
            session: caller.session.id.clone(),
            role,
        })
        .await;
    let action = format!("{}_link_rotated", role.as_str());
    state
        .accounts
        .audit(
            Some(&actor(caller)),
            &action,
            Some(&caller.session.id),
            serde_json::json!({}),
        )
        .await;
    Ok(rotated)
}

/// Who acted in a session, for the audit log.
pub fn actor(caller: &crate::sessions::Caller) -> String {
    caller
        .account
        .clone()
        .unwrap_or_else(|| format!("{} link", caller.role.as_str()))
}

#[derive(Deserialize)]
pub struct KeysQuery {
    /// `1`: every user's keys (admins only).
    all: Option<String>,
}

pub async fn keys(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    Query(q): Query<KeysQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let all = matches!(q.all.as_deref(), Some("1" | "true"));
    if all && !account.is_admin() {
        return Err(ApiError::Forbidden(
            "only an admin can list every key".into(),
        ));
    }
    Ok(Json(
        state
            .accounts
            .keys(if all { None } else { Some(&account.id) })
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: String,
    /// Some of `sessions:read`, `sessions:write`, `admin` (default: the first two).
    scopes: Option<Vec<String>>,
    /// Days until the key stops working (default: until revoked).
    expires_in_days: Option<u32>,
}

/// `POST /api/keys`: a key acting as the caller (signed in; a key never makes keys). Its secret
/// is in this answer only.
pub async fn create_key(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    JsonBody(body): JsonBody<NewKey>,
) -> Result<impl IntoResponse, ApiError> {
    let (view, secret) = state
        .accounts
        .create_key(
            &account,
            &body.name,
            body.scopes.as_deref(),
            body.expires_in_days,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "key": view, "secret": secret })),
    ))
}

pub async fn revoke_key(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    state.accounts.revoke_key(&account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn users(
    State(state): State<AppState>,
    AdminAccount(_): AdminAccount,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.accounts.users().await?))
}

pub async fn disable_user(
    State(state): State<AppState>,
    AdminAccount(admin): AdminAccount,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let email = state.accounts.set_disabled(&admin, &id, true).await?;
    // What they have open ends now, not at their next request.
    state
        .connections
        .end(crate::connections::Holder::Account {
            email: email.to_ascii_lowercase(),
        })
        .await;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn enable_user(
    State(state): State<AppState>,
    AdminAccount(admin): AdminAccount,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    state.accounts.set_disabled(&admin, &id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn teams(
    State(state): State<AppState>,
    AdminAccount(_): AdminAccount,
) -> Result<impl IntoResponse, ApiError> {
    let teams = state.accounts.teams().await?;
    Ok(Json(teams.into_iter().map(|t| serde_json::json!({"id": t.id, "name": t.name, "created_at": rfc3339(t.created_at)})).collect::<Vec<_>>()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    name: String,
}

pub async fn create_team(
    State(state): State<AppState>,
    AdminAccount(admin): AdminAccount,
    JsonBody(body): JsonBody<NewTeam>,
) -> Result<impl IntoResponse, ApiError> {
    let team = state.accounts.create_team(&admin, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            serde_json::json!({"id": team.id, "name": team.name, "created_at": rfc3339(team.created_at)}),
        ),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvite {
    role: Option<String>,
    team_id: Option<String>,
}

/// `POST /api/admin/invites`: a one-time invite link (valid a week) to hand to the new member.
pub async fn invite(
    State(state): State<AppState>,
    AdminAccount(admin): AdminAccount,
    JsonBody(body): JsonBody<NewInvite>,
) -> Result<impl IntoResponse, ApiError> {
    let code = state
        .accounts
        .invite(
            &admin,
            body.team_id.as_deref(),
            body.role.as_deref().unwrap_or("interviewer"),
        )
        .await?;
    let url = format!("{}/invite?code={code}", state.config.public_url());
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "code": code, "url": url })),
    ))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    limit: Option<i64>,
    /// Entries older than this id (the `id` of the last entry of the previous page).
    before: Option<i64>,
}

pub async fn audit(
    State(state): State<AppState>,
    AdminAccount(_): AdminAccount,
    Query(q): Query<AuditQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        state
            .accounts
            .audit_log(q.limit.unwrap_or(100), q.before)
            .await?,
    ))
}
