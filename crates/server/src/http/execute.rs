//! `GET /api/sessions/{id}/execute/ws`: the same over a WebSocket, with input typed while the
//! program runs (`execute_ws`).
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
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;
use super::api::JsonBody;
use super::auth::Auth;
use super::error::ApiError;
use crate::execute::{Job, RunEvent, server_language, server_language_ids};
use crate::sessions::{Caller, Role, RunReport};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Execute {
    language: String,
    code: String,
    #[serde(default)]
    stdin: Option<String>,
}

pub async fn execute(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Execute>,
) -> Result<Response, ApiError> {
    let run = begin(&state, &caller, body, None)?;
    let (id, lang) = (run.id, run.language);
    let stream = ReceiverStream::new(run.events).map(move |ev| {
        let (name, data) = event_json(ev, &id, lang);
        Ok::<_, Infallible>(Event::default().event(name).data(data.to_string()))
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `GET /api/sessions/{id}/execute/ws`: the same run over a WebSocket, so the program's input can
/// be typed while it runs. The first message is the request (`{"language","code","stdin"?}`);
/// then each event comes as `{"type": "start"|"stdout"|..., ...}` (a refusal as `{"type":
/// "error","status","error"}`), and the client sends `{"stdin": "text"}` for more input and
/// `{"eof": true}` to end it. Closing the socket stops the run.
pub async fn execute_ws(
    State(state): State<AppState>,
    Auth(caller): Auth,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade =
        upgrade.map_err(|_| ApiError::BadRequest("expected a WebSocket upgrade".into()))?;
    Ok(upgrade
        .max_message_size(MAX_REQUEST_BYTES)
        .on_upgrade(move |socket| serve_ws(socket, state, caller)))
}

/// The largest request (the code) or input message a run's WebSocket takes.
const MAX_REQUEST_BYTES: usize = 1 << 20;

async fn serve_ws(socket: WebSocket, state: AppState, caller: Caller) {
    let (mut out, mut incoming) = socket.split();
    let send = |v: serde_json::Value| Message::Text(v.to_string().into());
    // The request comes first, and soon.
    let first = tokio::time::timeout(Duration::from_secs(10), incoming.next()).await;
    let body = match first {
        Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str::<Execute>(&text)
            .map_err(|e| ApiError::BadRequest(format!("invalid run request: {e}"))),
        _ => Err(ApiError::BadRequest(
            "the first message must be the run request as JSON text".into(),
        )),
    };
    let (input, more_stdin) = tokio::sync::mpsc::channel::<String>(64);
    let run = body.and_then(|body| begin(&state, &caller, body, Some(more_stdin)));
    let mut run = match run {
        Ok(run) => run,
        Err(e) => {
            let (status, message) = e.status_and_message();
            let _ = out
                .send(send(
                    serde_json::json!({"type": "error", "status": status, "error": message}),
                ))
                .await;
            let _ = out.close().await;
            return;
        }
    };
    let mut input = Some(input);
    let registration = state.connections.register(&caller);
    loop {
        tokio::select! {
            // The server stops, or the caller's link is rotated or account disabled.
            _ = registration.ended.cancelled() => break,
            ev = run.events.recv() => {
                let Some(ev) = ev else { break };
                let last = matches!(ev, RunEvent::Exit(_));
                let (name, mut data) = event_json(ev, &run.id, run.language);
                data["type"] = serde_json::Value::String(name.to_string());
                if out.send(send(data)).await.is_err() || last {
                    break;
                }
            }
            msg = incoming.next() => match msg {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<Input>(&text) {
                    Ok(Input { stdin: Some(t), eof }) => {
                        // Never waits: a program that does not read its input must not stop its
                        // output from reaching the caller.
                        if input.as_ref().is_some_and(|tx| tx.try_send(t).is_err()) {
                            let _ = out.send(send(serde_json::json!({"type": "error", "status": 429, "error": "the program is not reading its input: this line was not sent"}))).await;
                        }
                        if eof {
                            input = None;
                        }
                    }
                    Ok(Input { stdin: None, eof: true }) => input = None,
                    _ => {
                        let _ = out.send(send(serde_json::json!({"type": "error", "status": 400, "error": "expected {\"stdin\": \"text\"} or {\"eof\": true}"}))).await;
                    }
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    // Dropping the events ends the run if it is still going (the executor sees its caller gone).
    let _ = out.close().await;
}

/// More input for a running program.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    #[serde(default)]
    stdin: Option<String>,
    #[serde(default)]
    eof: bool,
}

/// A run that has a place in the queue: its id, language and events.
struct Started {
    id: String,
    language: &'static str,
    events: tokio::sync::mpsc::Receiver<RunEvent>,
}

/// Checks who may run what, queues the run, and arranges what happens around it: a candidate's
/// run stops when execution is switched off, and the timeline gets the run once it ends.
fn begin(
    state: &AppState,
    caller: &Caller,
    body: Execute,
    more_stdin: Option<tokio::sync::mpsc::Receiver<String>>,
) -> Result<Started, ApiError> {
    caller.require_open()?;
    if caller.role == Role::Candidate && !caller.session.policy.execution_enabled {
        return Err(ApiError::Forbidden(
            "code execution is turned off by the interviewer".into(),
        ));
    }
    let language = server_language(&body.language).ok_or_else(|| ApiError::NotOneOf {
        message: format!("'{}' does not run on the server (Python, JavaScript and TypeScript run in the browser)", body.language),
        valid: server_language_ids(),
    })?;
    if !crate::sandbox::bwrap_available() {
        // The slim image, or a machine without bubblewrap: say so rather than fail each run.
        return Err(ApiError::Conflict(
            "this server has no sandbox (bubblewrap), so it runs no code itself; Python, JavaScript and TypeScript run in the browser".into(),
        ));
    }
    ApiError::unless_installed(
        &state.config.workspaces.tools_dir,
        crate::installing::Feature::Languages,
    )?;
    let ticket = state.executor.admit().map_err(|busy| ApiError::Busy {
        retry_after: busy.retry_after_secs,
    })?;
    let run_id = crate::util::new_id();
    let cancel = tokio_util::sync::CancellationToken::new();
    let job = Job {
        language,
        code: body.code,
        stdin: body.stdin.unwrap_or_default(),
        more_stdin,
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
                if let Ok(now) = sessions.reload(&watched).await
                    && (!now.session.policy.execution_enabled || now.session.ended_at.is_some())
                {
                    cancel.cancel();
                    return;
                }
            }
        });
    }

    // The timeline gets the run once it has ended, also when the caller left mid-way.
    let sessions = state.sessions.clone();
    let record = RunReport {
        run_id: run_id.clone(),
        language: language.id.to_string(),
        status: String::new(),
        duration_ms: 0,
        output_bytes: None,
    };
    let recorder = caller.clone();
    tokio::spawn(async move {
        let outcome = done.await;
        finished.cancel();
        if let Ok(outcome) = outcome {
            let run = RunReport {
                status: outcome.status.to_string(),
                duration_ms: outcome.time_ms,
                output_bytes: Some(outcome.output_bytes),
                ..record
            };
            // Refused only when the session ended or execution was switched off meanwhile.
            let _ = sessions.record_run(&recorder, &run).await;
        }
    });
    Ok(Started {
        id: run_id,
        language: language.id,
        events,
    })
}

/// An event's name and JSON, as both transports send it.
fn event_json(ev: RunEvent, id: &str, language: &str) -> (&'static str, serde_json::Value) {
    match ev {
        RunEvent::Queued { ahead } => ("queued", serde_json::json!({ "ahead": ahead })),
        RunEvent::Started => (
            "start",
            serde_json::json!({ "run_id": id, "language": language }),
        ),
        RunEvent::Stdout(text) => ("stdout", serde_json::json!({ "text": text })),
        RunEvent::Stderr(text) => ("stderr", serde_json::json!({ "text": text })),
        RunEvent::Exit(outcome) => {
            let mut v = serde_json::to_value(&outcome).unwrap_or_default();
            v["run_id"] = serde_json::Value::String(id.to_string());
            ("exit", v)
        }
    }
}
