-- Accounts and teams: people of the organisation sign in (password or OpenID Connect), belong to
-- one team, and own that team's sessions. Secrets (sign-in cookies, API keys, invite codes) are
-- stored only as SHA-256 hashes; passwords as argon2id PHC strings.
CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT,
    role TEXT NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id),
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);

-- A signed-in browser: the cookie's hash.
CREATE TABLE logins (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX logins_by_user ON logins(user_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE invites (
    code_hash TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id),
    role TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);

-- Which team a session belongs to and who made it (NULL for sessions made before accounts).
ALTER TABLE sessions ADD COLUMN team_id TEXT;
ALTER TABLE sessions ADD COLUMN created_by TEXT;
CREATE INDEX sessions_by_team ON sessions(team_id, created_at);
