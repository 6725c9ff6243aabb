-- Sessions, participants, the document update log with its snapshots, and the event timeline.
-- Timestamps are Unix milliseconds (BIGINT) so both backends sort and compare them the same way.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'pad',
    interviewer_token_hash TEXT NOT NULL,
    candidate_token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    ended_at BIGINT
);

CREATE TABLE participants (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    color TEXT NOT NULL,
    role TEXT NOT NULL,
    joined_at BIGINT NOT NULL
);
CREATE INDEX participants_by_session ON participants(session_id, joined_at);

-- Every update applied to a live document, in order. Replay reads it; loading reads the newest
-- snapshot plus the updates after it.
CREATE TABLE doc_updates (
    id BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    doc TEXT NOT NULL,
    at BIGINT NOT NULL,
    data BYTEA NOT NULL
);
CREATE INDEX doc_updates_by_doc ON doc_updates(session_id, doc, id);

-- Full document state as of update `upto_update_id` (inclusive): a checkpoint.
CREATE TABLE doc_snapshots (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    doc TEXT NOT NULL,
    upto_update_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    state BYTEA NOT NULL,
    PRIMARY KEY (session_id, doc, upto_update_id)
);

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_session ON events(session_id, id);
