//! The AI assistant: a chat per session where the candidate asks and the interviewer reads along.
//!
//! - `provider`: the provider trait, Anthropic Messages API and OpenAI-compatible implementations.
//! - `prompt`: the system prompt, built here from the mode and the session, never by the client.
//! - the mode per session and the persisted conversation (text, usage, timings) are in the
//!   store's assistant tables (`Store::assistant()`).
//! - `live`: the server-written `chat` live document every open page follows.
//!
//! Limits: message and context size, messages per minute per session, one reply at a time per
//! session, and a token budget per session.

pub mod live;
pub mod prompt;
pub mod provider;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::collab::{Collab, RoomHandle, RoomKey};
use crate::config::AssistantConfig;
use crate::docname::DocName;
use crate::ids::SessionId;
use crate::redis_keys::{Lease, Limit};
use crate::sessions::{Caller, Role, Sessions, language};
use crate::store::{MessageRow, Store, StoreError};
use crate::util::{new_id, now_ms};
use provider::{
    Anthropic, ChatRequest, OpenAi, Provider, ProviderError, ReplyStream, Secret, StreamEvent,
    Turn, TurnRole,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Off,
    Hints,
    Full,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Hints => "hints",
            Mode::Full => "full",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "off" => Some(Mode::Off),
            "hints" => Some(Mode::Hints),
            "full" => Some(Mode::Full),
            _ => None,
        }
    }
}

/// What the candidate's editor adds to a question ("Ask about this file" / "about my selection").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// `file` or `selection`.
    #[serde(default = "default_kind")]
    pub kind: String,
    pub code: String,
    /// The last run's output or error, if any.
    #[serde(default)]
    pub output: Option<String>,
}

fn default_kind() -> String {
    "file".into()
}

#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    pub max_message_chars: usize,
    pub max_context_chars: usize,
    pub messages_per_minute: u32,
    pub token_budget: i64,
    pub max_reply_tokens: u32,
    #[serde(skip)]
    pub history_messages: usize,
}

/// Why a question was not answered (before any streaming started).
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    NotConfigured(String),
    #[error("the interviewer has turned the assistant off for this session")]
    Off,
    #[error("this session's assistant token budget is used up ({used} of {budget} tokens)")]
    BudgetExhausted { used: i64, budget: i64 },
    #[error(
        "too many questions: at most {per_minute} per minute in a session; try again in {retry_after} s"
    )]
    RateLimited { per_minute: u32, retry_after: u64 },
    #[error("the assistant is still answering the previous question")]
    Busy,
    #[error("{0}")]
    Provider(ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One event of a reply, as the asking client receives it (SSE).
#[derive(Debug, Clone)]
pub enum ReplyEvent {
    Delta(String),
    Done {
        usage: Usage,
        stop_reason: Option<String>,
        first_token_ms: Option<i64>,
        duration_ms: i64,
    },
    Error {
        error: String,
        cut_off: bool,
        retry_after: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Usage {
    pub input_tokens: i64,
    pub output_tokens: i64,
}

/// An accepted question: the ids of both messages and the reply's events.
pub struct Reply {
    pub user_message_id: String,
    pub message_id: String,
    pub model: String,
    pub events: mpsc::Receiver<ReplyEvent>,
}

/// What the assistant panel shows: configured or not, mode, limits and (interviewer) usage.
#[derive(Debug, Serialize)]
pub struct Status {
    pub configured: bool,
    pub provider: Option<&'static str>,
    pub model: Option<String>,
    /// When not configured: what to set.
    pub help: Option<String>,
    pub mode: Mode,
    pub busy: bool,
    pub limits: Limits,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_used: Option<i64>,
}

pub struct Assistant {
    provider: Option<Arc<dyn Provider>>,
    help: String,
    pub limits: Limits,
    store: Store,
    collab: Arc<Collab>,
    sessions: Sessions,
    windows: Mutex<HashMap<SessionId, VecDeque<Instant>>>,
    busy: Arc<Mutex<HashSet<SessionId>>>,
    /// Cluster mode: the turn and the rate limit are shared with the other nodes through Redis.
    cluster: Option<Arc<crate::cluster::Node>>,
    /// Server shutdown: replies in flight end (cut off) instead of holding the stop up.
    shutdown: tokio_util::sync::CancellationToken,
}

const HELP: &str = "No AI provider is configured on this server. To enable the assistant, start interview-ide with \
ANTHROPIC_API_KEY set (Anthropic), or with ASSISTANT_PROVIDER=openai and OPENAI_BASE_URL (and OPENAI_API_KEY if the \
endpoint needs one) for an OpenAI-compatible endpoint such as Ollama, llama.cpp or vLLM. ASSISTANT_MODEL picks the model.";

/// Picks the provider from the configuration. `Ok(None)`: none configured (the rest works).
pub fn provider_from_config(config: &AssistantConfig) -> anyhow::Result<Option<Arc<dyn Provider>>> {
    let named = config
        .provider
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty());
    let anthropic_key = config
        .anthropic_api_key
        .as_ref()
        .map(|k| k.expose().trim().to_string())
        .filter(|k| !k.is_empty());
    let openai_key = config
        .openai_api_key
        .as_ref()
        .map(|k| k.expose().trim().to_string())
        .filter(|k| !k.is_empty());
    let which = match named.as_deref() {
        Some("anthropic") => "anthropic",
        Some("openai") => "openai",
        Some(other) => {
            anyhow::bail!("ASSISTANT_PROVIDER must be 'anthropic' or 'openai', not '{other}'")
        }
        None if anthropic_key.is_some() => "anthropic",
        None if config.openai_base_url.is_some() || openai_key.is_some() => "openai",
        None => return Ok(None),
    };
    let client = provider::http_client();
    Ok(match which {
        "anthropic" => match anthropic_key {
            Some(key) => {
                let model = config
                    .model
                    .clone()
                    .unwrap_or_else(|| provider::DEFAULT_ANTHROPIC_MODEL.into());
                Some(Arc::new(Anthropic::new(
                    client,
                    &config.anthropic_base_url,
                    Secret::new(key),
                    &model,
                )))
            }
            None => {
                tracing::warn!(
                    "ASSISTANT_PROVIDER is anthropic but ANTHROPIC_API_KEY is not set: the assistant is off"
                );
                None
            }
        },
        _ => {
            let base = config
                .openai_base_url
                .clone()
                .unwrap_or_else(|| "https://api.openai.com/v1".into());
            if config.openai_base_url.is_none() && openai_key.is_none() {
                tracing::warn!(
                    "ASSISTANT_PROVIDER is openai but neither OPENAI_BASE_URL nor OPENAI_API_KEY is set: the assistant is off"
                );
                None
            } else {
                let model = config
                    .model
                    .clone()
                    .unwrap_or_else(|| provider::DEFAULT_OPENAI_MODEL.into());
                Some(Arc::new(OpenAi::new(
                    client,
                    &base,
                    openai_key.map(Secret::new),
                    &model,
                )))
            }
        }
    })
}

/// Removes the session from the busy set when the reply ends, however it ends (and, in
/// cluster mode, gives the session's turn back to the other nodes).
struct BusyGuard {
    set: Arc<Mutex<HashSet<SessionId>>>,
    session_id: SessionId,
    cluster: Option<Arc<crate::cluster::Node>>,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.set.lock().remove(&self.session_id);
        if let Some(node) = self.cluster.take() {
            let lease = Lease::assistant_reply(&self.session_id);
            tokio::spawn(async move { node.release(&lease).await });
        }
    }
}

/// Longest a reply holds its session's turn on another node's behalf, should its node die.
const REPLY_LEASE: Duration = Duration::from_secs(180);

/// Storing a question and its reply, and putting both in the live document (see `Assistant::book`).
type Booking = tokio::task::JoinHandle<Result<(RoomHandle, Option<live::LiveMessage>), StoreError>>;

/// A reply on its way: its row (the text grows as it streams) and its live document.
struct Pending {
    row: MessageRow,
    started: Instant,
    has_context: bool,
    booking: Booking,
    /// The live document, once the booking is done.
    live: Option<(RoomHandle, Option<live::LiveMessage>)>,
    booked: bool,
}

impl Pending {
    /// Takes the booking's result. On success the live document is caught up with the text that
    /// arrived before it was ready.
    fn take_booking(
        &mut self,
        done: Result<
            Result<(RoomHandle, Option<live::LiveMessage>), StoreError>,
            tokio::task::JoinError,
        >,
    ) -> bool {
        self.booked = true;
        match done {
            Ok(Ok((room, l))) => {
                if let (Some(msg), false) = (&l, self.row.text.is_empty()) {
                    live::append(&room, msg, &self.row.text);
                }
                self.live = Some((room, l));
                true
            }
            _ => false,
        }
    }
}

/// How the provider's stream ended, and what it reported.
struct Streamed {
    /// `Err((why, retry after seconds))` when the reply was cut off.
    outcome: Result<(), (String, Option<u64>)>,
    usage: Usage,
    stop_reason: Option<String>,
    first_token_ms: Option<i64>,
}

/// The question and the reply about to stream, as stored.
fn new_rows(
    session_id: &SessionId,
    mode: Mode,
    model: &str,
    message: String,
    context: Option<&Context>,
) -> (MessageRow, MessageRow) {
    let created_at = now_ms();
    let user_row = MessageRow {
        id: new_id(),
        session_id: session_id.clone(),
        role: "user".into(),
        text: message,
        context_kind: context.map(|c| c.kind.clone()),
        context: context.map(|c| match c.output.as_deref().filter(|o| !o.is_empty()) {
            Some(out) => format!("{}\n--- last run output ---\n{}", c.code, out),
            None => c.code.clone(),
        }),
        status: "done".into(),
        cut_off: false,
        error: None,
        model: None,
        mode: Some(mode.as_str().into()),
        input_tokens: 0,
        output_tokens: 0,
        created_at,
        first_token_ms: None,
        duration_ms: None,
    };
    let reply_row = MessageRow {
        id: new_id(),
        role: "assistant".into(),
        text: String::new(),
        context_kind: None,
        context: None,
        status: "streaming".into(),
        model: Some(model.to_string()),
        created_at: created_at + 1,
        ..user_row.clone()
    };
    (user_row, reply_row)
}

impl Assistant {
    pub fn new(
        config: &AssistantConfig,
        provider: Option<Arc<dyn Provider>>,
        store: Store,
        collab: Arc<Collab>,
        sessions: Sessions,
        cluster: Option<Arc<crate::cluster::Node>>,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Assistant {
        Assistant {
            provider,
            help: HELP.into(),
            limits: Limits {
                max_message_chars: config.max_message_chars,
                max_context_chars: config.max_context_chars,
                messages_per_minute: config.messages_per_minute,
                token_budget: config.token_budget,
                max_reply_tokens: config.max_reply_tokens,
                history_messages: 20,
            },
            store,
            collab,
            sessions,
            windows: Mutex::new(HashMap::new()),
            busy: Arc::new(Mutex::new(HashSet::new())),
            cluster,
            shutdown,
        }
    }

    /// At start: replies a previous run left 'streaming' (it stopped mid-answer) become cut off,
    /// in storage and in the live document, so no page waits for them forever.
    pub async fn recover_interrupted(&self) -> Result<usize, StoreError> {
        const WHY: &str = "the server restarted before the answer was complete";
        let mut open = self.store.assistant().interrupted().await?;
        if let Some(node) = &self.cluster {
            // Another node may be streaming it right now: only a reply whose turn nobody holds
            // was left behind by a node that stopped.
            let mut orphans = Vec::new();
            for (session_id, id) in open {
                if matches!(
                    node.lease_holder(&Lease::assistant_reply(&session_id))
                        .await,
                    Ok(None)
                ) {
                    orphans.push((session_id, id));
                }
            }
            open = orphans;
        }
        for (session_id, id) in &open {
            self.store.assistant().mark_interrupted(id, WHY).await?;
            let room = self
                .collab
                .open(RoomKey::new(session_id.clone(), DocName::Chat))
                .await?;
            live::mark_interrupted(&room, id, WHY);
        }
        Ok(open.len())
    }

    pub fn configured(&self) -> bool {
        self.provider.is_some()
    }

    pub async fn mode(&self, session_id: &SessionId) -> Result<Mode, StoreError> {
        Ok(self
            .store
            .assistant()
            .mode(session_id)
            .await?
            .as_deref()
            .and_then(Mode::parse)
            .unwrap_or(Mode::Hints))
    }

    pub async fn status(&self, caller: &Caller) -> Result<Status, StoreError> {
        let session_id = &caller.session.id;
        let tokens_used = if caller.role == Role::Interviewer {
            Some(self.store.assistant().tokens_used(session_id).await?)
        } else {
            None
        };
        Ok(Status {
            configured: self.provider.is_some(),
            provider: self.provider.as_ref().map(|p| p.name()),
            model: self.provider.as_ref().map(|p| p.model().to_string()),
            help: if self.provider.is_some() {
                None
            } else {
                Some(self.help.clone())
            },
            mode: self.mode(session_id).await?,
            busy: self.busy.lock().contains(session_id),
            limits: self.limits.clone(),
            tokens_used,
        })
    }

    /// Sets the mode (interviewer only): stored, written into the `main` document's `meta` map
    /// (`assistant_mode`) so every open page follows, and recorded on the timeline.
    pub async fn set_mode(&self, caller: &Caller, mode: Mode) -> Result<(), ChatError> {
        if caller.role != Role::Interviewer {
            return Err(ChatError::Forbidden(
                "only the interviewer can change the assistant's mode".into(),
            ));
        }
        let from = self.mode(&caller.session.id).await?;
        self.store
            .assistant()
            .set_mode(&caller.session.id, mode.as_str())
            .await?;
        let room = self
            .collab
            .open(RoomKey::new(caller.session.id.clone(), DocName::Main))
            .await?;
        let _ = room.server_change(|txn| {
            use yrs::{Map, WriteTxn};
            let meta = txn.get_or_insert_map("meta");
            meta.insert(txn, "assistant_mode", mode.as_str());
        });
        self.sessions
            .event(
                &caller.session.id,
                "assistant_mode_changed",
                caller.role,
                serde_json::json!({"from": from, "to": mode}),
            )
            .await;
        Ok(())
    }

    pub async fn messages(&self, session_id: &SessionId) -> Result<Vec<MessageRow>, StoreError> {
        let mut rows = self.store.assistant().messages(session_id).await?;
        let busy = self.busy.lock().contains(session_id);
        // A reply left 'streaming' by a server that stopped mid-way is a cut-off one.
        for row in rows.iter_mut().filter(|r| r.status == "streaming") {
            if !busy {
                row.status = "cut_off".into();
                row.cut_off = true;
            }
        }
        Ok(rows)
    }

    /// Checks the limits for the caller's question (cheapest first); counts it when accepted.
    fn check_request(
        &self,
        caller: &Caller,
        message: &str,
        context: Option<&Context>,
    ) -> Result<(), ChatError> {
        if caller.role != Role::Candidate {
            return Err(ChatError::Forbidden(
                "the assistant answers the candidate; the interviewer reads the transcript".into(),
            ));
        }
        if message.trim().is_empty() {
            return Err(ChatError::Invalid("message must not be empty".into()));
        }
        if message.chars().count() > self.limits.max_message_chars {
            return Err(ChatError::TooLarge(format!(
                "message is longer than {} characters",
                self.limits.max_message_chars
            )));
        }
        if let Some(ctx) = context {
            if ctx.kind != "file" && ctx.kind != "selection" {
                return Err(ChatError::Invalid(
                    "context.kind must be 'file' or 'selection'".into(),
                ));
            }
            let size =
                ctx.code.chars().count() + ctx.output.as_deref().map_or(0, |o| o.chars().count());
            if size > self.limits.max_context_chars {
                return Err(ChatError::TooLarge(format!(
                    "context (code and output) is longer than {} characters",
                    self.limits.max_context_chars
                )));
            }
        }
        if self.provider.is_none() {
            return Err(ChatError::NotConfigured(self.help.clone()));
        }
        Ok(())
    }

    fn take_rate_slot(&self, session_id: &SessionId) -> Result<(), ChatError> {
        let per_minute = self.limits.messages_per_minute.max(1);
        let now = Instant::now();
        let mut windows = self.windows.lock();
        if windows.len() > 10_000 {
            windows.retain(|_, w| {
                w.back()
                    .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(60))
            });
        }
        let window = windows.entry(session_id.clone()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            window.pop_front();
        }
        if window.len() >= per_minute as usize {
            let oldest = *window.front().unwrap_or(&now);
            let retry_after = 60u64
                .saturating_sub(now.duration_since(oldest).as_secs())
                .max(1);
            return Err(ChatError::RateLimited {
                per_minute,
                retry_after,
            });
        }
        window.push_back(now);
        Ok(())
    }

    /// Accepts a question and starts the reply. Returns once the provider has accepted the
    /// request, so refusals are errors here, before any streaming.
    ///
    /// The steps: check the question and the policy, read the conversation (mode, budget), take
    /// the session's turn (one reply at a time, rate limit), build the provider request, book
    /// both messages (storage and live document, beside the provider call), start the provider,
    /// then stream the reply in a task of its own and finish it.
    pub async fn ask(
        self: &Arc<Self>,
        caller: &Caller,
        message: String,
        context: Option<Context>,
    ) -> Result<Reply, ChatError> {
        self.check_request(caller, &message, context.as_ref())?;
        let provider = self
            .provider
            .clone()
            .ok_or_else(|| ChatError::NotConfigured(self.help.clone()))?;
        let session_id = caller.session.id.clone();
        let (mode, history) = self.conversation_so_far(&session_id).await?;
        let turn = self.take_turn(&session_id).await?;
        let request = self.provider_request(caller, mode, &history, &message, context.as_ref());
        let started = Instant::now();
        let (user_row, reply_row) = new_rows(
            &session_id,
            mode,
            provider.model(),
            message,
            context.as_ref(),
        );
        let mut pending = Pending {
            started,
            booking: self.book(&user_row, &reply_row),
            row: reply_row,
            has_context: context.is_some(),
            live: None,
            booked: false,
        };
        let stream = match provider.start(request).await {
            Ok(s) => s,
            Err(e) => return Err(self.refused(pending, e).await),
        };
        let (tx, rx) = mpsc::channel(256);
        let reply = Reply {
            user_message_id: user_row.id,
            message_id: pending.row.id.clone(),
            model: provider.model().to_string(),
            events: rx,
        };
        let this = self.clone();
        tokio::spawn(async move {
            // The session's turn ends when the reply does, however it ends.
            let _turn = turn;
            let streamed = this.relay(&mut pending, stream, &tx).await;
            let last = this.finish_reply(pending, streamed).await;
            let _ = tx.send(last).await;
        });
        Ok(reply)
    }

    /// The mode and the conversation so far; refuses when the assistant is off or the session's
    /// token budget is used up.
    async fn conversation_so_far(
        &self,
        session_id: &SessionId,
    ) -> Result<(Mode, Vec<MessageRow>), ChatError> {
        // Two independent reads: side by side, they cost the first token one round trip, not two.
        let (mode, history) = tokio::try_join!(
            self.mode(session_id),
            self.store.assistant().messages(session_id)
        )?;
        if mode == Mode::Off {
            return Err(ChatError::Off);
        }
        let used: i64 = history
            .iter()
            .map(|m| m.input_tokens + m.output_tokens)
            .sum();
        if used >= self.limits.token_budget {
            return Err(ChatError::BudgetExhausted {
                used,
                budget: self.limits.token_budget,
            });
        }
        Ok((mode, history))
    }

    /// The session's turn: one reply at a time, and within the rate limit.
    async fn take_turn(&self, session_id: &SessionId) -> Result<BusyGuard, ChatError> {
        let mut guard = {
            let mut busy = self.busy.lock();
            if !busy.insert(session_id.clone()) {
                return Err(ChatError::Busy);
            }
            BusyGuard {
                set: self.busy.clone(),
                session_id: session_id.clone(),
                cluster: None,
            }
        };
        if let Some(node) = &self.cluster {
            if !node
                .lease(&Lease::assistant_reply(session_id), REPLY_LEASE)
                .await
            {
                return Err(ChatError::Busy);
            }
            guard.cluster = Some(node.clone());
            let per_minute = self.limits.messages_per_minute.max(1);
            match node.allow(&Limit::assistant(session_id), per_minute).await {
                Some(true) => return Ok(guard),
                Some(false) => {
                    return Err(ChatError::RateLimited {
                        per_minute,
                        retry_after: 60 - (crate::util::now_ms() / 1000 % 60) as u64,
                    });
                }
                // Redis does not answer: this node's own count still holds the line.
                None => {}
            }
        }
        self.take_rate_slot(session_id)?;
        Ok(guard)
    }

    /// The system prompt, the recent conversation and the question, as the provider gets them.
    fn provider_request(
        &self,
        caller: &Caller,
        mode: Mode,
        history: &[MessageRow],
        message: &str,
        context: Option<&Context>,
    ) -> ChatRequest {
        let lang = language(&caller.session.language);
        let system = prompt::system_prompt(&prompt::PromptInput {
            mode,
            language: lang.map_or(caller.session.language.as_str(), |l| l.name),
            kind: &caller.session.kind,
        });
        let mut turns = history_turns(history, self.limits.history_messages);
        turns.push(Turn {
            role: TurnRole::User,
            text: prompt::user_turn(message, context, &caller.session.language),
        });
        ChatRequest {
            system,
            turns: merge_turns(turns),
            max_tokens: self.limits.max_reply_tokens,
        }
    }

    /// Stores the question and the (empty, streaming) reply and puts both in the live document.
    /// This runs beside the provider request and the first tokens: storage never delays what
    /// the candidate sees.
    fn book(&self, user_row: &MessageRow, reply_row: &MessageRow) -> Booking {
        let store = self.store.clone();
        let collab = self.collab.clone();
        let (user_for_db, reply_for_db) = (user_row.clone(), reply_row.clone());
        tokio::spawn(async move {
            store.assistant().insert_message(&user_for_db).await?;
            store.assistant().insert_message(&reply_for_db).await?;
            let room = collab
                .open(RoomKey::new(user_for_db.session_id.clone(), DocName::Chat))
                .await?;
            live::push(&room, &user_for_db);
            let live_reply = live::push(&room, &reply_for_db);
            Ok::<_, StoreError>((room, live_reply))
        })
    }

    /// The provider refused the request: the reply is recorded as an error, and the error is
    /// what the caller gets (or the storage error, if booking failed).
    async fn refused(&self, mut pending: Pending, e: ProviderError) -> ChatError {
        let (room, live_reply) = match (&mut pending.booking).await {
            Ok(Ok(booked)) => booked,
            Ok(Err(store)) => return ChatError::Store(store),
            Err(_) => {
                return ChatError::Store(StoreError::Io(std::io::Error::other("task failed")));
            }
        };
        let reply_row = &mut pending.row;
        reply_row.status = "error".into();
        reply_row.error = Some(e.to_string());
        reply_row.duration_ms = Some(pending.started.elapsed().as_millis() as i64);
        let _ = self.store.assistant().finish_message(reply_row).await;
        if let Some(l) = &live_reply {
            live::finish(&room, l, reply_row);
        }
        self.exchange_event(reply_row, pending.has_context).await;
        ChatError::Provider(e)
    }

    /// Passes the provider's stream on: to the asking client first, then into the live document
    /// (once booked). Ends when the provider is done or fails, the client goes away, or the
    /// server stops.
    async fn relay(
        &self,
        pending: &mut Pending,
        mut stream: ReplyStream,
        tx: &mpsc::Sender<ReplyEvent>,
    ) -> Streamed {
        let mut streamed = Streamed {
            outcome: Ok(()),
            usage: Usage::default(),
            stop_reason: None,
            first_token_ms: None,
        };
        streamed.outcome = loop {
            let item = tokio::select! {
                biased;
                _ = tx.closed() => break Err(("stopped before the answer was complete".into(), None)),
                _ = self.shutdown.cancelled() => break Err(("the server is restarting; the answer was cut off".into(), None)),
                done = &mut pending.booking, if !pending.booked => {
                    if pending.take_booking(done) {
                        continue;
                    }
                    break Err(("the conversation could not be stored".into(), None));
                }
                item = stream.next() => item,
            };
            match item {
                Some(Ok(StreamEvent::Text(t))) => {
                    if streamed.first_token_ms.is_none() {
                        streamed.first_token_ms =
                            Some(pending.started.elapsed().as_millis() as i64);
                    }
                    pending.row.text.push_str(&t);
                    // The asking client first, then the live document for everyone else.
                    let _ = tx.send(ReplyEvent::Delta(t.clone())).await;
                    if let Some((room, Some(l))) = &pending.live {
                        live::append(room, l, &t);
                    }
                }
                Some(Ok(StreamEvent::Usage {
                    input_tokens,
                    output_tokens,
                })) => {
                    if let Some(i) = input_tokens {
                        streamed.usage.input_tokens = i as i64;
                    }
                    if let Some(o) = output_tokens {
                        streamed.usage.output_tokens = o as i64;
                    }
                }
                Some(Ok(StreamEvent::StopReason(r))) => streamed.stop_reason = Some(r),
                Some(Ok(StreamEvent::Done)) | None => break Ok(()),
                Some(Err(e)) => break Err((e.to_string(), e.retry_after())),
            }
        };
        streamed
    }

    /// Completes the reply in storage, in the live document and on the timeline; returns the
    /// last event for the asking client.
    async fn finish_reply(&self, mut pending: Pending, streamed: Streamed) -> ReplyEvent {
        // The rows must exist before they are completed.
        if !pending.booked {
            let done = (&mut pending.booking).await;
            pending.take_booking(done);
        }
        let Streamed {
            outcome,
            usage,
            stop_reason,
            first_token_ms,
        } = streamed;
        let duration_ms = pending.started.elapsed().as_millis() as i64;
        let reply_row = &mut pending.row;
        reply_row.input_tokens = usage.input_tokens;
        reply_row.output_tokens = usage.output_tokens;
        reply_row.first_token_ms = first_token_ms;
        reply_row.duration_ms = Some(duration_ms);
        match &outcome {
            Ok(()) => {
                reply_row.status = "done".into();
                reply_row.cut_off = stop_reason.as_deref() == Some("max_tokens")
                    || stop_reason.as_deref() == Some("length");
                if reply_row.cut_off {
                    reply_row.error = Some("the answer reached the length limit".into());
                }
            }
            Err((error, _)) => {
                reply_row.status = "cut_off".into();
                reply_row.cut_off = true;
                reply_row.error = Some(error.clone());
            }
        }
        if let Err(e) = self.store.assistant().finish_message(reply_row).await {
            tracing::warn!(error = %e, "could not store an assistant reply");
        }
        if let Some((room, Some(l))) = &pending.live {
            live::finish(room, l, reply_row);
        }
        self.exchange_event(reply_row, pending.has_context).await;
        match outcome {
            Ok(()) => ReplyEvent::Done {
                usage,
                stop_reason,
                first_token_ms,
                duration_ms,
            },
            Err((error, retry_after)) => ReplyEvent::Error {
                error,
                cut_off: true,
                retry_after,
            },
        }
    }

    /// Each exchange is a timeline event (no text: the transcript holds it).
    async fn exchange_event(&self, reply: &MessageRow, has_context: bool) {
        self.sessions
            .event(
                &reply.session_id,
                "assistant_exchange",
                Role::Candidate,
                serde_json::json!({
                    "message_id": reply.id,
                    "status": reply.status,
                    "cut_off": reply.cut_off,
                    "mode": reply.mode,
                    "context": has_context,
                    "input_tokens": reply.input_tokens,
                    "output_tokens": reply.output_tokens,
                    "first_token_ms": reply.first_token_ms,
                    "duration_ms": reply.duration_ms,
                }),
            )
            .await;
    }
}

/// The conversation so far as provider turns: the last `max` messages with text.
fn history_turns(history: &[MessageRow], max: usize) -> Vec<Turn> {
    let turns: Vec<Turn> = history
        .iter()
        .enumerate()
        // A question the provider refused (no answer at all) is left out: the candidate asks again.
        .filter(|(i, m)| !(m.role == "user" && history.get(i + 1).is_some_and(|r| r.role == "assistant" && r.status == "error")))
        .map(|(_, m)| m)
        .filter(|m| !m.text.trim().is_empty())
        .map(|m| Turn {
            role: if m.role == "assistant" { TurnRole::Assistant } else { TurnRole::User },
            text: if m.role == "assistant" && m.cut_off { format!("{}\n\n[this answer was cut off]", m.text) } else { m.text.clone() },
        })
        .collect();
    let skip = turns.len().saturating_sub(max);
    turns.into_iter().skip(skip).collect()
}

/// Providers want alternating turns starting with the user: merge neighbours of one role and
/// drop a leading assistant turn.
fn merge_turns(turns: Vec<Turn>) -> Vec<Turn> {
    let mut out: Vec<Turn> = Vec::with_capacity(turns.len());
    for t in turns {
        if out.is_empty() && t.role == TurnRole::Assistant {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role == t.role => {
                last.text.push_str("\n\n");
                last.text.push_str(&t.text);
            }
            _ => out.push(t),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_alternate_and_start_with_the_user() {
        let t = |role, text: &str| Turn {
            role,
            text: text.into(),
        };
        let merged = merge_turns(vec![
            t(TurnRole::Assistant, "a0"),
            t(TurnRole::User, "u1"),
            t(TurnRole::User, "u2"),
            t(TurnRole::Assistant, "a1"),
            t(TurnRole::User, "u3"),
        ]);
        assert_eq!(
            merged,
            vec![
                t(TurnRole::User, "u1\n\nu2"),
                t(TurnRole::Assistant, "a1"),
                t(TurnRole::User, "u3")
            ]
        );
    }
}
