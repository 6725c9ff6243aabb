-- What the candidate may use, set by the interviewer.
ALTER TABLE sessions ADD COLUMN execution_enabled BIGINT NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN time_limit_seconds BIGINT NOT NULL DEFAULT 10;
