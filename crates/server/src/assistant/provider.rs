//! AI providers behind one trait: the Anthropic Messages API and any OpenAI-compatible
//! chat-completions endpoint (OpenAI, Ollama, llama.cpp, vLLM), both streamed over SSE.
//!
//! `start` returns once the provider has accepted the request (HTTP status known), so refusals
//! (401, 429, 529, ...) are errors before anything is streamed; after that, events arrive one by
//! one and a failure mid-stream is an `Err` item.

use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

/// One turn of the conversation sent to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: TurnRole,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnRole {
    User,
    Assistant,
}

impl TurnRole {
    fn as_str(self) -> &'static str {
        match self {
            TurnRole::User => "user",
            TurnRole::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub system: String,
    pub turns: Vec<Turn>,
    pub max_tokens: u32,
}

/// What a reply stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A piece of the answer's text.
    Text(String),
    /// Token counts so far (providers report input at the start and output at the end).
    Usage {
        input_tokens: Option<u64>,
        output_tokens: Option<u64>,
    },
    /// Why the model stopped (`end_turn`, `max_tokens`, ...), before the end of the stream.
    StopReason(String),
    /// The reply is complete.
    Done,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ProviderError {
    #[error("the AI provider rejected the API key (401); check the server's configuration")]
    Unauthorized,
    #[error("the AI provider is rate limiting requests{}", retry_after.map(|s| format!("; retry in {s} s")).unwrap_or_default())]
    RateLimited { retry_after: Option<u64> },
    #[error("the AI provider is overloaded right now; try again in a moment")]
    Overloaded,
    #[error("the AI provider answered {status}: {message}")]
    Http { status: u16, message: String },
    #[error("the AI provider could not be reached: {0}")]
    Network(String),
    #[error("the AI provider reported an error: {0}")]
    Stream(String),
    #[error("the AI provider's stream broke off before the answer was complete")]
    Truncated,
}

impl ProviderError {
    /// Seconds after which retrying may work, when the provider said so.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ProviderError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

pub type ReplyStream = BoxStream<'static, Result<StreamEvent, ProviderError>>;

pub trait Provider: Send + Sync {
    /// `anthropic` or `openai`.
    fn name(&self) -> &'static str;
    fn model(&self) -> &str;
    fn start<'a>(
        &'a self,
        request: ChatRequest,
    ) -> BoxFuture<'a, Result<ReplyStream, ProviderError>>;
}

pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";
pub use crate::config::DEFAULT_ANTHROPIC_BASE_URL;
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The HTTP client all providers share: connection reuse, no overall timeout (answers stream for
/// a while), but bounded connect time and a bound on silence between chunks.
pub fn http_client() -> reqwest::Client {
    // reqwest is built with rustls but without a bundled crypto provider (no aws-lc C build): ring
    // is installed here, idempotently, so a client can never be built without one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .user_agent(concat!("interview-ide/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

pub use crate::config::Secret;

pub struct Anthropic {
    client: reqwest::Client,
    base_url: String,
    key: Secret,
    model: String,
}

impl Anthropic {
    pub fn new(client: reqwest::Client, base_url: &str, key: Secret, model: &str) -> Self {
        Anthropic {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
            model: model.to_string(),
        }
    }
}

impl Provider for Anthropic {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn start<'a>(
        &'a self,
        request: ChatRequest,
    ) -> BoxFuture<'a, Result<ReplyStream, ProviderError>> {
        Box::pin(async move {
            let messages: Vec<Value> = request
                .turns
                .iter()
                .map(|t| json!({"role": t.role.as_str(), "content": t.text}))
                .collect();
            let body = json!({
                "model": self.model,
                "max_tokens": request.max_tokens,
                "system": request.system,
                "messages": messages,
                "stream": true,
            });
            let response = self
                .client
                .post(format!("{}/v1/messages", self.base_url))
                .header("x-api-key", self.key.expose())
                .header("anthropic-version", ANTHROPIC_VERSION)
                .header("accept", "text/event-stream")
                .json(&body)
                .send()
                .await
                .map_err(network_error)?;
            let response = check_status(response).await?;
            Ok(sse_events(response, anthropic_event).boxed())
        })
    }
}

/// Maps one Anthropic stream event to what we yield. `Ok(None)`: nothing to yield (ping, block
/// start/stop); `Err`: the provider's `error` event or a malformed event.
fn anthropic_event(ev: &Event) -> Result<Vec<StreamEvent>, ProviderError> {
    let data: Value = serde_json::from_str(&ev.data).map_err(|_| malformed())?;
    // An event the stream did not name is a "message"; its data says what it is then.
    let kind = Some(ev.event.as_str())
        .filter(|e| *e != "message")
        .or_else(|| data["type"].as_str())
        .unwrap_or("");
    Ok(match kind {
        "message_start" => {
            let usage = &data["message"]["usage"];
            vec![StreamEvent::Usage {
                input_tokens: usage["input_tokens"].as_u64(),
                output_tokens: usage["output_tokens"].as_u64(),
            }]
        }
        "content_block_delta" => match data["delta"]["type"].as_str() {
            Some("text_delta") => match data["delta"]["text"].as_str() {
                Some(t) if !t.is_empty() => vec![StreamEvent::Text(t.to_string())],
                _ => vec![],
            },
            // thinking, tool input and signature deltas are not shown.
            _ => vec![],
        },
        "message_delta" => {
            let mut out = Vec::new();
            let usage = &data["usage"];
            if usage.is_object() {
                out.push(StreamEvent::Usage {
                    input_tokens: usage["input_tokens"].as_u64(),
                    output_tokens: usage["output_tokens"].as_u64(),
                });
            }
            if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                out.push(StreamEvent::StopReason(reason.to_string()));
            }
            out
        }
        "message_stop" => vec![StreamEvent::Done],
        "error" => {
            let kind = data["error"]["type"].as_str().unwrap_or("error");
            let message = data["error"]["message"].as_str().unwrap_or("unknown error");
            return Err(if kind == "overloaded_error" {
                ProviderError::Overloaded
            } else {
                ProviderError::Stream(format!("{kind}: {message}"))
            });
        }
        // ping, content_block_start, content_block_stop, and event types added later.
        _ => vec![],
    })
}

pub struct OpenAi {
    client: reqwest::Client,
    base_url: String,
    key: Option<Secret>,
    model: String,
}

impl OpenAi {
    /// `base_url` is the API root that `/chat/completions` is appended to, e.g.
    /// `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1` (Ollama).
    pub fn new(client: reqwest::Client, base_url: &str, key: Option<Secret>, model: &str) -> Self {
        OpenAi {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
            model: model.to_string(),
        }
    }
}

impl Provider for OpenAi {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn start<'a>(
        &'a self,
        request: ChatRequest,
    ) -> BoxFuture<'a, Result<ReplyStream, ProviderError>> {
        Box::pin(async move {
            let mut messages = vec![json!({"role": "system", "content": request.system})];
            messages.extend(
                request
                    .turns
                    .iter()
                    .map(|t| json!({"role": t.role.as_str(), "content": t.text})),
            );
            let body = json!({
                "model": self.model,
                "messages": messages,
                "max_tokens": request.max_tokens,
                "stream": true,
                "stream_options": {"include_usage": true},
            });
            let mut builder = self
                .client
                .post(format!("{}/chat/completions", self.base_url))
                .header("accept", "text/event-stream")
                .json(&body);
            if let Some(key) = &self.key {
                builder = builder.bearer_auth(key.expose());
            }
            let response = builder.send().await.map_err(network_error)?;
            let response = check_status(response).await?;
            Ok(sse_events(response, openai_event).boxed())
        })
    }
}

fn openai_event(ev: &Event) -> Result<Vec<StreamEvent>, ProviderError> {
    if ev.data.trim() == "[DONE]" {
        return Ok(vec![StreamEvent::Done]);
    }
    let data: Value = serde_json::from_str(&ev.data).map_err(|_| malformed())?;
    if let Some(err) = data.get("error").filter(|e| !e.is_null()) {
        let message = err["message"]
            .as_str()
            .or_else(|| err.as_str())
            .unwrap_or("unknown error");
        return Err(ProviderError::Stream(message.to_string()));
    }
    let mut out = Vec::new();
    if let Some(choice) = data["choices"].get(0)
        && let Some(t) = choice["delta"]["content"]
            .as_str()
            .filter(|t| !t.is_empty())
    {
        out.push(StreamEvent::Text(t.to_string()));
    }
    let usage = &data["usage"];
    if usage.is_object() {
        out.push(StreamEvent::Usage {
            input_tokens: usage["prompt_tokens"].as_u64(),
            output_tokens: usage["completion_tokens"].as_u64(),
        });
    }
    if let Some(reason) = data["choices"]
        .get(0)
        .and_then(|c| c["finish_reason"].as_str())
    {
        out.push(StreamEvent::StopReason(reason.to_string()));
    }
    // The usage chunk comes after finish_reason; the stream ends at [DONE].
    Ok(out)
}

fn network_error(e: reqwest::Error) -> ProviderError {
    // reqwest's message can carry the URL but never headers, so the key cannot leak through it.
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), url.host_str().unwrap_or("provider"));
    }
    ProviderError::Network(text)
}

/// Refusals before the stream starts, with the provider's own message when it gave one.
async fn check_status(response: reqwest::Response) -> Result<reqwest::Response, ProviderError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|s| s.ceil().max(0.0) as u64);
    let body = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["error"].as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(200).collect());
    Err(match status.as_u16() {
        401 | 403 => ProviderError::Unauthorized,
        429 => ProviderError::RateLimited { retry_after },
        529 | 503 => ProviderError::Overloaded,
        s => ProviderError::Http { status: s, message },
    })
}

fn malformed() -> ProviderError {
    ProviderError::Stream("malformed event from the provider".into())
}

type MapEvent = fn(&Event) -> Result<Vec<StreamEvent>, ProviderError>;

/// Turns a streaming HTTP body into our events: `eventsource-stream` reads the Server-Sent
/// Events, a per-provider mapper turns each into ours. The stream ends after `Done` or the
/// first error; a body that ends before `Done` is `Truncated`.
fn sse_events(
    response: reqwest::Response,
    map: MapEvent,
) -> impl Stream<Item = Result<StreamEvent, ProviderError>> + Send + 'static {
    events(response.bytes_stream(), map)
}

fn events(
    body: impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
    map: MapEvent,
) -> impl Stream<Item = Result<StreamEvent, ProviderError>> + Send + 'static {
    // A final event without its blank line still counts: the body gets one at its end.
    let body = body.chain(stream::once(async { Ok(Bytes::from_static(b"\n\n")) }));
    let items = body.eventsource().flat_map(move |event| {
        let items = match event {
            Ok(event) => match map(&event) {
                Ok(items) => items.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            },
            Err(EventStreamError::Transport(e)) if e.is_timeout() => vec![Err(
                ProviderError::Network("the provider stopped sending".into()),
            )],
            Err(EventStreamError::Transport(_)) => vec![Err(ProviderError::Truncated)],
            Err(EventStreamError::Utf8(_) | EventStreamError::Parser(_)) => vec![Err(malformed())],
        };
        stream::iter(items)
    });
    let end = stream::once(async { Err(ProviderError::Truncated) });
    // Everything up to and including the first `Done` or error; the body is not read after it.
    let items = Box::pin(items.chain(end));
    stream::unfold(Some(items), |items| async move {
        let mut items = items?;
        let item = items.next().await?;
        let last = matches!(item, Ok(StreamEvent::Done) | Err(_));
        Some((item, (!last).then_some(items)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: Option<&str>, data: &str) -> Event {
        Event {
            event: event.unwrap_or("message").to_string(),
            data: data.into(),
            ..Event::default()
        }
    }

    /// The events of a body that arrives in these chunks.
    async fn all(
        chunks: Vec<&'static [u8]>,
        map: MapEvent,
    ) -> Vec<Result<StreamEvent, ProviderError>> {
        let body = stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c))));
        events(body, map).collect().await
    }

    const ANTHROPIC_STREAM: &[u8] = "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\r\n\r\n\
: keep-alive\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"é!\"}}\n\n\
event: ping\rdata: {\"type\": \"ping\"}\r\r\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".as_bytes();

    #[tokio::test]
    async fn a_stream_split_anywhere_gives_the_same_events() {
        let whole = all(vec![ANTHROPIC_STREAM], anthropic_event).await;
        assert_eq!(
            whole,
            vec![
                Ok(StreamEvent::Usage {
                    input_tokens: Some(3),
                    output_tokens: Some(1)
                }),
                Ok(StreamEvent::Text("é!".into())),
                Ok(StreamEvent::Done),
            ]
        );
        for split in 1..ANTHROPIC_STREAM.len() {
            let (a, b) = ANTHROPIC_STREAM.split_at(split);
            assert_eq!(
                all(vec![a, b], anthropic_event).await,
                whole,
                "split at {split}"
            );
        }
    }

    #[tokio::test]
    async fn a_stream_ends_at_done_errors_or_truncation() {
        // A last event without its blank line still counts; nothing after Done is read.
        let done = all(vec![b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\ndata: {}\n\n"], openai_event).await;
        assert_eq!(
            done,
            vec![Ok(StreamEvent::Text("a".into())), Ok(StreamEvent::Done)]
        );
        let unterminated = all(vec![b"data: [DONE]"], openai_event).await;
        assert_eq!(unterminated, vec![Ok(StreamEvent::Done)]);
        let cut = all(
            vec![b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"],
            openai_event,
        )
        .await;
        assert_eq!(
            cut,
            vec![
                Ok(StreamEvent::Text("a".into())),
                Err(ProviderError::Truncated)
            ]
        );
        let error = all(
            vec![b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\nevent: message_stop\ndata: {}\n\n"],
            anthropic_event,
        )
        .await;
        assert_eq!(error, vec![Err(ProviderError::Overloaded)]);
        let garbage = all(vec![b"data: not json\n\n"], anthropic_event).await;
        assert_eq!(garbage, vec![Err(malformed())]);
    }

    #[test]
    fn anthropic_events_map_to_text_usage_and_done() {
        assert_eq!(
            anthropic_event(&ev(Some("message_start"), r#"{"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}}"#)).unwrap(),
            vec![StreamEvent::Usage { input_tokens: Some(25), output_tokens: Some(1) }]
        );
        assert_eq!(
            anthropic_event(&ev(Some("content_block_delta"), r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#)).unwrap(),
            vec![StreamEvent::Text("Hi".into())]
        );
        assert!(
            anthropic_event(&ev(Some("ping"), r#"{"type": "ping"}"#))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            anthropic_event(&ev(Some("message_delta"), r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}"#)).unwrap(),
            vec![StreamEvent::Usage { input_tokens: None, output_tokens: Some(15) }, StreamEvent::StopReason("end_turn".into())]
        );
        assert_eq!(
            anthropic_event(&ev(
                Some("error"),
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            )),
            Err(ProviderError::Overloaded)
        );
    }

    #[test]
    fn openai_chunks_map_to_text_usage_and_done() {
        assert_eq!(
            openai_event(&ev(
                None,
                r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#
            ))
            .unwrap(),
            vec![StreamEvent::Text("Hel".into())]
        );
        assert_eq!(
            openai_event(&ev(
                None,
                r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3}}"#
            ))
            .unwrap(),
            vec![StreamEvent::Usage {
                input_tokens: Some(9),
                output_tokens: Some(3)
            }]
        );
        assert_eq!(
            openai_event(&ev(None, "[DONE]")).unwrap(),
            vec![StreamEvent::Done]
        );
        assert!(openai_event(&ev(None, r#"{"error":{"message":"boom"}}"#)).is_err());
    }

    #[test]
    fn secrets_do_not_debug_print() {
        assert_eq!(format!("{:?}", Secret::new("sk-ant-123")), "Secret(***)");
    }
}
