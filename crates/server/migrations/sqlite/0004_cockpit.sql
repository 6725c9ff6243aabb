-- The interviewer's scorecard of a session, as JSON.
ALTER TABLE sessions ADD COLUMN scorecard TEXT;
