//! The question library's tables: questions, and which question a session was created from.

use sqlx::FromRow;

use super::{Result, Store};

/// A stored question. `starters` and `tests` are JSON, read by the `questions` module.
#[derive(Debug, Clone, FromRow)]
pub struct QuestionRow {
    pub id: String,
    pub title: String,
    pub description: String,
    pub starters: String,
    pub tests: String,
    /// None: the server's own library; else the team that wrote it.
    pub owner_team_id: Option<String>,
    /// The account that wrote a team's question.
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Deleted questions stay for the sessions made from them, out of every list.
    pub deleted_at: Option<i64>,
}

const COLUMNS: &str = "id, title, description, starters, tests, owner_team_id, created_by, created_at, updated_at, deleted_at";

impl Store {
    /// Inserts the question, or replaces its content when it exists (the library's files are the
    /// source of the server's own questions).
    pub async fn upsert_question(&self, q: &QuestionRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO questions (id, title, description, starters, tests, owner_team_id, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description, \
             starters = excluded.starters, tests = excluded.tests, updated_at = excluded.updated_at",
        )
        .bind(&q.id)
        .bind(&q.title)
        .bind(&q.description)
        .bind(&q.starters)
        .bind(&q.tests)
        .bind(&q.owner_team_id)
        .bind(&q.created_by)
        .bind(q.created_at)
        .bind(q.updated_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Inserts a new question; false when its id is taken (nothing is changed then).
    pub async fn insert_question(&self, q: &QuestionRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO questions (id, title, description, starters, tests, owner_team_id, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&q.id)
        .bind(&q.title)
        .bind(&q.description)
        .bind(&q.starters)
        .bind(&q.tests)
        .bind(&q.owner_team_id)
        .bind(&q.created_by)
        .bind(q.created_at)
        .bind(q.updated_at)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The questions a team may use: the server's library and its own.
    pub async fn list_questions(&self, team_id: &str) -> Result<Vec<QuestionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM questions WHERE deleted_at IS NULL AND (owner_team_id IS NULL OR owner_team_id = $1) ORDER BY title, id"
        )))
        .bind(team_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Replaces the content of `team_id`'s question `id`; false when the team has no such question.
    pub async fn update_team_question(&self, team_id: &str, q: &QuestionRow) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE questions SET title = $1, description = $2, starters = $3, tests = $4, updated_at = $5 \
             WHERE id = $6 AND owner_team_id = $7 AND deleted_at IS NULL",
        )
        .bind(&q.title)
        .bind(&q.description)
        .bind(&q.starters)
        .bind(&q.tests)
        .bind(q.updated_at)
        .bind(&q.id)
        .bind(team_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks `team_id`'s question deleted; false when the team has no such question.
    pub async fn delete_team_question(&self, team_id: &str, id: &str, at: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE questions SET deleted_at = $1 WHERE id = $2 AND owner_team_id = $3 AND deleted_at IS NULL")
            .bind(at)
            .bind(id)
            .bind(team_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn question(&self, id: &str) -> Result<Option<QuestionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM questions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn set_session_question(&self, session_id: &str, question_id: &str) -> Result<()> {
        sqlx::query("INSERT INTO session_questions (session_id, question_id) VALUES ($1, $2)")
            .bind(session_id)
            .bind(question_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The question a session was created from, if any.
    pub async fn session_question(&self, session_id: &str) -> Result<Option<QuestionRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM questions q JOIN session_questions s ON s.question_id = q.id WHERE s.session_id = $1",
            COLUMNS.split(", ").map(|c| format!("q.{c}")).collect::<Vec<_>>().join(", ")
        )))
        .bind(session_id)
        .fetch_optional(self.pool())
        .await?)
    }
}
