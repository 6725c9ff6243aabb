-- The AI assistant: its mode per session (absent row: 'hints') and the conversation of each session.
CREATE TABLE assistant_settings (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    mode TEXT NOT NULL DEFAULT 'hints'
);

-- One row per message. An assistant message is written when its reply starts (status 'streaming')
-- and completed when it ends: 'done', or 'cut_off' (stopped, or the provider failed mid-way; the
-- partial text is kept), or 'error' (the provider refused before any text).
CREATE TABLE chat_messages (
    n BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    context_kind TEXT,
    context TEXT,
    status TEXT NOT NULL,
    cut_off BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    model TEXT,
    mode TEXT,
    input_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    first_token_ms BIGINT,
    duration_ms BIGINT
);
CREATE INDEX chat_messages_by_session ON chat_messages(session_id, n);
