-- Each document numbers its own updates (`seq`); a snapshot records the highest `seq` it holds.
-- Until now coverage was the highest row id at snapshot time, which is only right with one
-- writer. Existing rows keep their order: their id becomes their seq.
ALTER TABLE doc_updates ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE doc_updates SET seq = id;
DROP INDEX doc_updates_by_doc;
CREATE UNIQUE INDEX doc_updates_by_seq ON doc_updates(session_id, doc, seq);
ALTER TABLE doc_snapshots RENAME COLUMN upto_update_id TO covers_seq;
