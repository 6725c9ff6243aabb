//! `POST /api/sessions/{id}/execute` {"language","code","stdin"?}: runs code of a server-side
//! language and streams what happens as Server-Sent Events, each `data:` JSON: `queued`
//! {ahead} (only when it waits for a free place), `start` {run_id, language}, `stdout` {text},
//! `stderr` {text}, `exit` {run_id, status, code, step, time_ms, compile_ms, memory_bytes, cpu_ms,
//! output_bytes, message}. Refusals come before the stream as JSON errors: 403 for a candidate
//! while execution is off, 409 once the session ended, 400 for a language that does not run on
//! the server, 429 with Retry-After when the queue is full. Closing the stream stops the run.
//! The run goes on the timeline (`code_run`, the same record as the browser's `POST .../runs`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;
use super::api::JsonBody;
use super::auth::Auth;
use super::error::ApiError;
use crate::execute::{Job, RunEvent, server_language, server_language_ids};
use crate::sessions::{Role, RunReport};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Execute {
    language: String,
    code: String,
    #[serde(default)]
    stdin: Option<String>,
}

pub async fn execute(State(state): State<AppState>, Auth(caller): Auth, JsonBody(body): JsonBody<Execute>) -> Result<Response, ApiError> {
    caller.require_open()?;
    if caller.role == Role::Candidate && !caller.session.policy.execution_enabled {
        return Err(ApiError::Forbidden("code execution is turned off by the interviewer".into()));
    }
    let language = server_language(&body.language).ok_or_else(|| ApiError::NotOneOf {
        message: format!("'{}' does not run on the server (Python, JavaScript and TypeScript run in the browser)", body.language),
        valid: server_language_ids(),
    })?;
    let ticket = state.executor.admit().map_err(|busy| ApiError::Busy { retry_after: busy.retry_after_secs })?;
    let run_id = crate::util::new_id();
    let cancel = tokio_util::sync::CancellationToken::new();
    let job = Job {
        language,
        code: body.code,
        stdin: body.stdin.unwrap_or_default(),
        time_limit: Duration::from_secs(caller.session.policy.time_limit_seconds.max(1) as u64),
        cancel: cancel.clone(),
    };
    let (events, done) = state.executor.start(ticket, job);

    // A candidate's run stops when the interviewer switches execution off (or ends the session)
    // meanwhile: the server checks, not only the candidate's page.
    let sessions = state.sessions.clone();
    let watched = caller.clone();
    let finished = tokio_util::sync::CancellationToken::new();
    let watch_done = finished.clone();
    if caller.role == Role::Candidate {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = watch_done.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                if let Ok(now) = sessions.reload(&watched).await {
                    if !now.session.policy.execution_enabled || now.session.ended_at.is_some() {
                        cancel.cancel();
                        return;
                    }
                }
            }
        });
    }

    // The timeline gets the run once it has ended, also when the caller left mid-way.
    let sessions = state.sessions.clone();
    let record = RunReport { run_id: run_id.clone(), language: language.id.to_string(), status: String::new(), duration_ms: 0, output_bytes: None };
    let recorder = caller.clone();
    tokio::spawn(async move {
        let outcome = done.await;
        finished.cancel();
        if let Ok(outcome) = outcome {
            let run = RunReport { status: outcome.status.to_string(), duration_ms: outcome.time_ms, output_bytes: Some(outcome.output_bytes), ..record };
            // Refused only when the session ended or execution was switched off meanwhile.
            let _ = sessions.record_run(&recorder, &run).await;
        }
    });

    let id = run_id.clone();
    let lang = language.id;
    let stream = ReceiverStream::new(events).map(move |ev| {
        let (name, data) = match ev {
            RunEvent::Queued { ahead } => ("queued", serde_json::json!({ "ahead": ahead })),
            RunEvent::Started => ("start", serde_json::json!({ "run_id": id, "language": lang })),
            RunEvent::Stdout(text) => ("stdout", serde_json::json!({ "text": text })),
            RunEvent::Stderr(text) => ("stderr", serde_json::json!({ "text": text })),
            RunEvent::Exit(outcome) => {
                let mut v = serde_json::to_value(&outcome).unwrap_or_default();
                v["run_id"] = serde_json::Value::String(id.clone());
                ("exit", v)
            }
        };
        Ok::<_, Infallible>(Event::default().event(name).data(data.to_string()))
    });
    let mut response = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response();
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    response.headers_mut().insert("cache-control", HeaderValue::from_static("no-cache"));
    Ok(response)
}
