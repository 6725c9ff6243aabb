//! The assistant's tables: its mode per session and the conversation. `Store::assistant()`
//! hands out `AssistantTables`; the SQL stays here, in the store.

use serde::Serialize;
use sqlx::FromRow;

use super::{Flag, Result, Store};

/// The assistant's tables of one store.
#[derive(Clone, Copy)]
pub struct AssistantTables<'a> {
    store: &'a Store,
}

impl Store {
    /// The assistant's settings and conversation.
    pub fn assistant(&self) -> AssistantTables<'_> {
        AssistantTables { store: self }
    }
}

/// One message of a session's assistant conversation: a question or a reply.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct MessageRow {
    pub id: String,
    #[serde(skip)]
    pub session_id: crate::ids::SessionId,
    pub role: String,
    pub text: String,
    pub context_kind: Option<String>,
    pub context: Option<String>,
    pub status: String,
    #[sqlx(try_from = "Flag")]
    pub cut_off: bool,
    pub error: Option<String>,
    pub model: Option<String>,
    pub mode: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub created_at: i64,
    pub first_token_ms: Option<i64>,
    pub duration_ms: Option<i64>,
}

impl AssistantTables<'_> {
    pub async fn mode(self, session_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT mode FROM assistant_settings WHERE session_id = $1")
                .bind(session_id)
                .fetch_optional(self.store.pool())
                .await?,
        )
    }

    pub async fn set_mode(self, session_id: &str, mode: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO assistant_settings (session_id, mode) VALUES ($1, $2) \
             ON CONFLICT (session_id) DO UPDATE SET mode = excluded.mode",
        )
        .bind(session_id)
        .bind(mode)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    pub async fn insert_message(self, m: &MessageRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO chat_messages (id, session_id, role, text, context_kind, context, status, cut_off, error, model, mode, \
             input_tokens, output_tokens, created_at, first_token_ms, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&m.id)
        .bind(&m.session_id)
        .bind(&m.role)
        .bind(&m.text)
        .bind(&m.context_kind)
        .bind(&m.context)
        .bind(&m.status)
        .bind(i64::from(m.cut_off))
        .bind(&m.error)
        .bind(&m.model)
        .bind(&m.mode)
        .bind(m.input_tokens)
        .bind(m.output_tokens)
        .bind(m.created_at)
        .bind(m.first_token_ms)
        .bind(m.duration_ms)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Completes an assistant message: its text, outcome, usage and timings.
    pub async fn finish_message(self, m: &MessageRow) -> Result<()> {
        sqlx::query(
            "UPDATE chat_messages SET text = $1, status = $2, cut_off = $3, error = $4, input_tokens = $5, output_tokens = $6, \
             first_token_ms = $7, duration_ms = $8 WHERE id = $9",
        )
        .bind(&m.text)
        .bind(&m.status)
        .bind(i64::from(m.cut_off))
        .bind(&m.error)
        .bind(m.input_tokens)
        .bind(m.output_tokens)
        .bind(m.first_token_ms)
        .bind(m.duration_ms)
        .bind(&m.id)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    pub async fn messages(self, session_id: &str) -> Result<Vec<MessageRow>> {
        Ok(sqlx::query_as(
            "SELECT id, session_id, role, text, context_kind, context, status, cut_off, error, model, mode, input_tokens, \
             output_tokens, created_at, first_token_ms, duration_ms FROM chat_messages WHERE session_id = $1 ORDER BY n",
        )
        .bind(session_id)
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Tokens the session has used so far (input and output of every reply).
    pub async fn tokens_used(self, session_id: &str) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT CAST(COALESCE(SUM(input_tokens + output_tokens), 0) AS BIGINT) AS used FROM chat_messages WHERE session_id = $1")
            .bind(session_id)
            .fetch_one(self.store.pool())
            .await?)
    }

    /// Replies left 'streaming' by a server that stopped mid-way: (session, message id).
    pub async fn interrupted(self) -> Result<Vec<(crate::ids::SessionId, String)>> {
        Ok(sqlx::query_as(
            "SELECT session_id, id FROM chat_messages WHERE status = 'streaming' ORDER BY n",
        )
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Marks a reply that was interrupted as cut off, keeping its text.
    pub async fn mark_interrupted(self, id: &str, error: &str) -> Result<()> {
        sqlx::query("UPDATE chat_messages SET status = 'cut_off', cut_off = 1, error = $1 WHERE id = $2 AND status = 'streaming'")
            .bind(error)
            .bind(id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }
}
