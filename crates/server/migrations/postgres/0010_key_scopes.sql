-- API keys say what they may do, may expire, and show when they were last used. Keys made
-- before scopes keep working as they did (every scope; admin stays limited to admin accounts).
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'sessions:read,sessions:write,admin';
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
