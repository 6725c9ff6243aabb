-- Teams write questions of their own (owner_team_id set). A deleted question is only marked:
-- the sessions made from it keep showing it, and their reports keep its tests.
ALTER TABLE questions ADD COLUMN created_by TEXT;
ALTER TABLE questions ADD COLUMN deleted_at BIGINT;
