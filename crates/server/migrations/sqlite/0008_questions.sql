-- The question library: a title, a Markdown description, starter code per language (JSON object
-- language -> code) and tests (JSON array of {name, input, expected, hidden}). owner_team_id is
-- NULL for the server's own library; teams own questions once accounts exist.
CREATE TABLE questions (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    starters TEXT NOT NULL,
    tests TEXT NOT NULL,
    owner_team_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX questions_owner ON questions (owner_team_id);

-- Which question a session was created from (sessions without one have no row).
CREATE TABLE session_questions (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    question_id TEXT NOT NULL REFERENCES questions (id)
);
