//! JSON routes of sessions, participants and languages.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::auth::{Auth, SignedIn, cookie_name, max_age, set_cookie};
use super::error::ApiError;
use crate::redis_keys::Limit;
use crate::sessions::{Activity, LANGUAGES, NewSession, PolicyChange, RunReport};

/// A JSON body whose errors are JSON too: 413 above the size limit, 400 for anything malformed.
/// An empty body reads as `{}`, so `curl -X POST /api/sessions` works.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })?;
        let text: &[u8] = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    title: Option<String>,
    language: Option<String>,
    /// `pad` (default) or `workspace`.
    kind: Option<String>,
    /// The exercise of a workspace session.
    exercise: Option<String>,
    /// A question of the library: the pad starts from its starter code, its description and
    /// tests come with the session.
    question: Option<String>,
}

pub async fn create_session(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    SignedIn(account): SignedIn,
    JsonBody(body): JsonBody<CreateSession>,
) -> Result<impl IntoResponse, ApiError> {
    let client = client_address(&headers, peer, &state.config.server);
    // In cluster mode the count is shared by every node (the local one when Redis is away).
    let shared = match &state.cluster {
        Some(node) => {
            node.allow(
                &Limit::session_creation(&client),
                state.config.server.max_sessions_per_minute,
            )
            .await
        }
        None => None,
    };
    if !shared.unwrap_or_else(|| state.create_limiter.allow(client)) {
        return Err(ApiError::RateLimited);
    }
    let exercise = match (
        body.kind.as_deref().unwrap_or("pad"),
        body.exercise.as_deref(),
    ) {
        ("pad", None) => None,
        ("pad", Some(_)) => {
            return Err(ApiError::BadRequest(
                "a pad session has no exercise; use \"kind\": \"workspace\"".into(),
            ));
        }
        ("workspace", Some(id)) if state.workspaces.catalog.get(id).is_some() => Some(id),
        ("workspace", other) => {
            return Err(ApiError::NotOneOf {
                message: match other {
                    None => "a workspace session needs an exercise".into(),
                    Some(id) => format!(
                        "unknown exercise '{}'",
                        id.chars().take(100).collect::<String>()
                    ),
                },
                valid: state.workspaces.catalog.ids(),
            });
        }
        (kind, _) => {
            return Err(ApiError::NotOneOf {
                message: format!(
                    "unknown kind '{}'",
                    kind.chars().take(40).collect::<String>()
                ),
                valid: vec!["pad".into(), "workspace".into()],
            });
        }
    };
    // A workspace that cannot be created (e.g. no sandbox on this server) fails the request
    // before any session exists.
    if exercise.is_some() && !crate::sandbox::bwrap_available() {
        return Err(ApiError::Conflict(
            "workspaces need bubblewrap (bwrap) on the server, which is not installed".into(),
        ));
    }
    let (question_title, question) = match body.question.as_deref() {
        None => (None, None),
        Some(_) if exercise.is_some() => {
            return Err(ApiError::BadRequest(
                "a question starts a pad session, not a workspace".into(),
            ));
        }
        Some(id) => {
            let language = body
                .language
                .as_deref()
                .unwrap_or(crate::sessions::LANGUAGES[0].id);
            let Some((title, starter)) = state
                .questions
                .start(&account.team_id, id, language)
                .await?
            else {
                let valid = state
                    .questions
                    .list(&account.team_id)
                    .await?
                    .into_iter()
                    .map(|q| q.id)
                    .collect();
                return Err(ApiError::NotOneOf {
                    message: format!(
                        "unknown question '{}'",
                        id.chars().take(100).collect::<String>()
                    ),
                    valid,
                });
            };
            (
                Some(title),
                Some(crate::sessions::FromQuestion {
                    id: id.to_string(),
                    starter,
                }),
            )
        }
    };
    let new = NewSession {
        // A session from a question is named after it unless the interviewer named it.
        title: body.title.clone().or(question_title),
        language: body.language.clone(),
        exercise: exercise.map(str::to_string),
        owner: Some(crate::sessions::Owner {
            team_id: account.team_id.clone(),
            user_id: account.id.clone(),
        }),
        question,
    };
    let created = state.lifecycle.create(new).await?;
    state.metrics.session_created();
    state
        .accounts
        .audit(
            Some(&account.email),
            "session_created",
            Some(&created.id),
            serde_json::json!({"kind": if exercise.is_some() { "workspace" } else { "pad" }}),
        )
        .await;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The session as `Sessions::view` shows it, plus, for a workspace session, what the web app
/// needs of its exercise (`exercise_info`: id, title, the files to open first).
#[derive(serde::Serialize)]
struct SessionAnswer<V: serde::Serialize> {
    #[serde(flatten)]
    view: V,
    #[serde(skip_serializing_if = "Option::is_none")]
    exercise_info: Option<crate::workspace::exercise::ExerciseInfo>,
}

pub async fn get_session(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    let exercise_info = match (
        caller.session.kind.as_str(),
        caller.session.exercise.as_deref(),
    ) {
        ("workspace", Some(id)) => state.workspaces.catalog.get(id).map(|e| e.info()),
        _ => None,
    };
    Ok(Json(SessionAnswer {
        view: state.sessions.view(&caller).await?,
        exercise_info,
    }))
}

pub async fn get_role(Auth(caller): Auth) -> impl IntoResponse {
    Json(serde_json::json!({ "role": caller.role }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Join {
    name: String,
}

/// Joins as a named participant and sets the session cookie, so the page can drop the token
/// from its address and a bare `/session/{id}` still works in this browser.
pub async fn join(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    uri: axum::http::Uri,
    JsonBody(body): JsonBody<Join>,
) -> Result<Response, ApiError> {
    let participant = state.sessions.join(&caller, &body.name).await?;
    let mut response = (StatusCode::CREATED, Json(participant)).into_response();
    // The token is known valid: Auth just resolved it from this same request.
    if let Some(token) = super::auth::request_token(&headers, uri.query(), &caller.session.id) {
        let session_cookie = Cookie::build((cookie_name(&caller.session.id), token))
            .path(format!("/api/sessions/{}", caller.session.id))
            .same_site(SameSite::Strict)
            .max_age(max_age(Duration::from_secs(30 * 24 * 3600)));
        set_cookie(&state, response.headers_mut(), session_cookie);
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSession {
    language: Option<String>,
    title: Option<String>,
    policy: Option<PolicyChange>,
}

pub async fn update_session(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<UpdateSession>,
) -> Result<impl IntoResponse, ApiError> {
    if body.language.is_none() && body.title.is_none() && body.policy.is_none() {
        return Err(ApiError::BadRequest(
            "nothing to change: send \"language\", \"title\" or \"policy\"".into(),
        ));
    }
    // Interviewer-only changes are checked before anything is applied.
    if body.title.is_some() || body.policy.is_some() {
        caller.require_interviewer()?;
    }
    if let Some(policy) = &body.policy {
        state.sessions.set_policy(&caller, policy).await?;
    }
    if let Some(title) = &body.title {
        state.sessions.set_title(&caller, title).await?;
    }
    if let Some(language) = &body.language {
        state.sessions.set_language(&caller, language).await?;
        // A question's starter follows the language until someone has typed.
        if let Some((from, to)) = state
            .questions
            .starters_for(&caller.session.id, &caller.session.language, language)
            .await?
        {
            state
                .sessions
                .replace_untouched_code(&caller, &from, &to)
                .await?;
        }
    }
    let caller = state.sessions.reload(&caller).await?;
    Ok(Json(state.sessions.view(&caller).await?))
}

pub async fn languages(State(state): State<AppState>) -> impl IntoResponse {
    // Where its code runs: in the browser's sandboxed workers, on the server's sandbox, or nowhere.
    let runs_on = |id: &str| match id {
        "python" | "javascript" | "typescript" => Some("browser"),
        _ if crate::execute::server_language(id).is_some() => Some("server"),
        _ => None,
    };
    // The server's languages may still be installing (the first start serves pads before them).
    let installing = crate::installing::is_pending(
        &state.config.workspaces.tools_dir,
        crate::installing::Feature::Languages,
    );
    Json(
        LANGUAGES
            .iter()
            .map(|l| {
                let runs_on = runs_on(l.id);
                let installing = installing && runs_on == Some("server");
                serde_json::json!({"id": l.id, "name": l.name, "runs_on": runs_on, "installing": installing})
            })
            .collect::<Vec<_>>(),
    )
}

pub fn client_address(
    headers: &HeaderMap,
    peer: SocketAddr,
    config: &crate::config::ServerConfig,
) -> IpAddr {
    let trusted = |ip: &IpAddr| {
        config
            .trusted_proxies
            .iter()
            .any(|p| in_range(ip, p.trim()))
    };
    let peer_trusted =
        trusted(&peer.ip()) || (config.trust_forwarded_for && config.trusted_proxies.is_empty());
    if !peer_trusted {
        return peer.ip();
    }
    // Each proxy appends what it saw; only the entries our own proxies added can be believed,
    // so the client is the right-most one that is not a proxy of ours. Whatever a client sent
    // itself sits further left and is never read.
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|e| e.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    forwarded
        .iter()
        .rev()
        .find(|ip| !trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer.ip())
}

/// Whether `ip` is `range` (an address, or a CIDR such as `10.0.0.0/8`).
fn in_range(ip: &IpAddr, range: &str) -> bool {
    let (base, bits) = match range.split_once('/') {
        Some((b, n)) => (b, n.parse::<u32>().ok()),
        None => (range, None),
    };
    let Ok(base) = base.parse::<IpAddr>() else {
        return false;
    };
    let ip = match (ip, &base) {
        // An IPv4 client seen through an IPv6 socket.
        (IpAddr::V6(v6), IpAddr::V4(_)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(*ip),
        _ => *ip,
    };
    match (ip, base) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let n = bits.unwrap_or(32).min(32);
            let mask = if n == 0 { 0 } else { u32::MAX << (32 - n) };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let n = bits.unwrap_or(128).min(128);
            let mask = if n == 0 { 0 } else { u128::MAX << (128 - n) };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// Records a finished code run (the browser that ran it reports it) on the timeline.
pub async fn record_run(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(run): JsonBody<RunReport>,
) -> Result<impl IntoResponse, ApiError> {
    timeline_budget(&state, &caller)?;
    state.sessions.record_run(&caller, &run).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"recorded": true})),
    ))
}

/// Records page activity (a large paste, the window losing focus) on the timeline.
/// `?participant=` names the participant whose page saw it: one of the caller's own role, or
/// the report is refused (a candidate cannot file events under the interviewer, nor the reverse).
pub async fn record_activity(
    State(state): State<AppState>,
    Auth(caller): Auth,
    uri: axum::http::Uri,
    JsonBody(activity): JsonBody<Activity>,
) -> Result<impl IntoResponse, ApiError> {
    timeline_budget(&state, &caller)?;
    let participant = super::auth::query_param(uri.query(), "participant");
    state
        .sessions
        .record_activity(&caller, participant.as_deref(), &activity)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"recorded": true})),
    ))
}

/// What one role of a session reports to the timeline is rate-limited (429 past it).
fn timeline_budget(state: &AppState, caller: &crate::sessions::Caller) -> Result<(), ApiError> {
    if state
        .timeline_limiter
        .allow((caller.session.id.clone(), caller.role))
    {
        Ok(())
    } else {
        Err(ApiError::RateLimited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(trust: bool, proxies: &[&str]) -> crate::config::ServerConfig {
        let mut c = crate::Config::defaults().server;
        c.trust_forwarded_for = trust;
        c.trusted_proxies = proxies.iter().map(|p| p.to_string()).collect();
        c
    }

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn the_client_is_the_right_most_address_no_proxy_of_ours_added() {
        let nginx: SocketAddr = "10.0.0.5:4000".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Not trusting: the peer, whatever the header says.
        assert_eq!(
            client_address(&headers("1.2.3.4"), nginx, &config(false, &[])),
            ip("10.0.0.5")
        );
        // One proxy (TRUST_FORWARDED_FOR): what it appended, never what the client sent before it.
        assert_eq!(
            client_address(&headers("6.6.6.6, 203.0.113.9"), nginx, &config(true, &[])),
            ip("203.0.113.9")
        );
        // A list of proxies: skip ours from the right.
        let c = config(false, &["10.0.0.0/8", "192.168.1.1"]);
        assert_eq!(
            client_address(&headers("6.6.6.6, 203.0.113.9, 192.168.1.1"), nginx, &c),
            ip("203.0.113.9")
        );
        // A peer that is not one of ours is believed about nothing.
        assert_eq!(
            client_address(
                &headers("203.0.113.9"),
                "198.51.100.1:1".parse().unwrap(),
                &c
            ),
            ip("198.51.100.1")
        );
        // A header that does not parse: the peer.
        assert_eq!(
            client_address(&headers("junk, 1.2.3.4"), nginx, &c),
            ip("10.0.0.5")
        );
        assert!(in_range(&ip("::ffff:10.1.2.3"), "10.0.0.0/8"));
        assert!(!in_range(&ip("11.0.0.1"), "10.0.0.0/8"));
        assert!(in_range(&ip("fd00::1"), "fd00::/8"));
    }
}
