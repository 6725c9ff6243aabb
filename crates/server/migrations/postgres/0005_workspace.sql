-- Workspace sessions: which exercise the session's workspace was created from (NULL for a pad).
ALTER TABLE sessions ADD COLUMN exercise TEXT;
