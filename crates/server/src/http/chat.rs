//! The assistant's routes: the chat (SSE stream of the reply) and the mode.
//!
//! `POST /api/sessions/{id}/chat` answers with `text/event-stream` once the provider has accepted
//! the question; refusals before that are JSON errors with their status. Events (each `data:` is
//! JSON): `start` {message_id, user_message_id, model}, `delta` {text} (one per piece of text, sent
//! as it arrives), `done` {message_id, usage, stop_reason, first_token_ms, duration_ms}, or `error`
//! {message_id, error, cut_off, retry_after?} when the reply fails or stops mid-way.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;
use super::api::JsonBody;
use super::auth::Auth;
use super::error::ApiError;
use crate::assistant::provider::ProviderError;
use crate::assistant::{ChatError, Context, Mode, ReplyEvent};

impl IntoResponse for ChatError {
    fn into_response(self) -> Response {
        let (status, retry_after) = match &self {
            ChatError::Forbidden(_) => (StatusCode::FORBIDDEN, None),
            ChatError::Invalid(_) => (StatusCode::BAD_REQUEST, None),
            ChatError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, None),
            ChatError::NotConfigured(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
            ChatError::Off | ChatError::Busy | ChatError::BudgetExhausted { .. } => {
                (StatusCode::CONFLICT, None)
            }
            ChatError::RateLimited { retry_after, .. } => {
                (StatusCode::TOO_MANY_REQUESTS, Some(*retry_after))
            }
            ChatError::Provider(e) => match e {
                ProviderError::RateLimited { retry_after } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(retry_after.unwrap_or(30)),
                ),
                ProviderError::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, Some(30)),
                _ => (StatusCode::BAD_GATEWAY, None),
            },
            ChatError::Store(_) => {
                return ApiError::from(match self {
                    ChatError::Store(e) => e,
                    _ => unreachable!(),
                })
                .into_response();
            }
        };
        let mut response = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert("retry-after", v);
        }
        response
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    message: String,
    #[serde(default)]
    context: Option<Context>,
}

pub async fn ask(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Ask>,
) -> Result<Response, ChatError> {
    let reply = state
        .assistant
        .ask(&caller, body.message, body.context)
        .await?;
    let message_id = reply.message_id.clone();
    let start = Event::default()
        .event("start")
        .data(serde_json::json!({"message_id": reply.message_id, "user_message_id": reply.user_message_id, "model": reply.model}).to_string());
    let events = ReceiverStream::new(reply.events).map(move |ev| {
        Ok::<_, Infallible>(match ev {
            ReplyEvent::Delta(text) => Event::default().event("delta").data(serde_json::json!({ "text": text }).to_string()),
            ReplyEvent::Done { usage, stop_reason, first_token_ms, duration_ms } => Event::default().event("done").data(
                serde_json::json!({"message_id": message_id, "usage": usage, "stop_reason": stop_reason, "first_token_ms": first_token_ms, "duration_ms": duration_ms})
                    .to_string(),
            ),
            ReplyEvent::Error { error, cut_off, retry_after } => Event::default()
                .event("error")
                .data(serde_json::json!({"message_id": message_id, "error": error, "cut_off": cut_off, "retry_after": retry_after}).to_string()),
        })
    });
    let stream = tokio_stream::once(Ok::<_, Infallible>(start)).chain(events);
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    // Tell reverse proxies (nginx) not to buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    Ok(response)
}

pub async fn history(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ChatError> {
    let messages = state.assistant.messages(&caller.session.id).await?;
    Ok(Json(serde_json::json!({ "messages": messages })))
}

pub async fn status(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ChatError> {
    Ok(Json(state.assistant.status(&caller).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetMode {
    mode: String,
}

pub async fn set_mode(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<SetMode>,
) -> Result<impl IntoResponse, ChatError> {
    if caller.role != crate::sessions::Role::Interviewer {
        return Err(ChatError::Forbidden(
            "only the interviewer can change the assistant's mode".into(),
        ));
    }
    let mode = Mode::parse(&body.mode)
        .ok_or_else(|| ChatError::Invalid("mode must be one of: off, hints, full".into()))?;
    state.assistant.set_mode(&caller, mode).await?;
    Ok(Json(state.assistant.status(&caller).await?))
}
