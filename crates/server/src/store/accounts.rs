//! Accounts: teams, users, sign-ins, API keys, invites, the audit log, and the team's list of
//! sessions. Secrets arrive here already hashed.

use sqlx::FromRow;

use super::{Result, SessionRow, Store};

#[derive(Debug, Clone, FromRow)]
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    /// argon2id PHC string; None for a user who signs in only with SSO.
    pub password_hash: Option<String>,
    /// `admin` or `interviewer`.
    pub role: String,
    pub team_id: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub key_hash: String,
    /// The first characters of the key, to tell keys apart in a list.
    pub prefix: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// What the key may do, comma-separated (`sessions:read`, `sessions:write`, `admin`).
    pub scopes: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, FromRow)]
pub struct InviteRow {
    pub code_hash: String,
    pub team_id: String,
    pub role: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
}

/// Which of a team's sessions to list.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// None: every team's sessions (an admin's list).
    pub team_id: Option<String>,
    /// Only sessions this user created.
    pub created_by: Option<String>,
    /// `open` or `ended`.
    pub status: Option<String>,
    /// Case-insensitive part of the title.
    pub search: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// A row of the team's list: the session, who created it, who joined.
#[derive(Debug, Clone)]
pub struct ListedSession {
    pub session: SessionRow,
    pub creator_email: Option<String>,
    pub participants: Vec<(String, String)>,
}

const USER_COLUMNS: &str =
    "u.id, u.email, u.name, u.password_hash, u.role, u.team_id, u.created_at, u.disabled_at";

impl Store {
    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.pool())
            .await?)
    }

    pub async fn create_team(&self, t: &TeamRow) -> Result<()> {
        sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&t.id)
            .bind(&t.name)
            .bind(t.created_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn teams(&self) -> Result<Vec<TeamRow>> {
        Ok(
            sqlx::query_as("SELECT id, name, created_at FROM teams ORDER BY created_at, id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn create_user(&self, u: &UserRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, role, team_id, created_at, disabled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(&u.name)
        .bind(u.password_hash.clone())
        .bind(&u.role)
        .bind(&u.team_id)
        .bind(u.created_at)
        .bind(u.disabled_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.email = $1"
        )))
        .bind(email)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn users(&self) -> Result<Vec<UserRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.created_at, u.id"
        )))
        .fetch_all(self.pool())
        .await?)
    }

    /// Disables (Some(at)) or enables (None) a user; a disabled user's sign-ins are deleted and
    /// their keys revoked.
    pub async fn set_user_disabled(&self, id: &str, at: Option<i64>) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if at.is_some() {
            sqlx::query("DELETE FROM logins WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // For good: enabling the user again does not bring their keys back.
            sqlx::query(
                "UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn create_login(
        &self,
        token_hash: &str,
        user_id: &str,
        created_at: i64,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO logins (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(created_at)
            .bind(expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The enabled user of an unexpired sign-in.
    pub async fn login_user(&self, token_hash: &str, now: i64) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM logins l JOIN users u ON u.id = l.user_id \
             WHERE l.token_hash = $1 AND l.expires_at > $2 AND u.disabled_at IS NULL"
        )))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn delete_login(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM logins WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn create_api_key(&self, k: &ApiKeyRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, key_hash, prefix, created_at, revoked_at, scopes, expires_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&k.id)
        .bind(&k.user_id)
        .bind(&k.name)
        .bind(&k.key_hash)
        .bind(&k.prefix)
        .bind(k.created_at)
        .bind(k.revoked_at)
        .bind(&k.scopes)
        .bind(k.expires_at)
        .bind(k.last_used_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The enabled user of an unrevoked, unexpired key, with the key's scopes; marks it used
    /// (at most once a minute: not a write per request).
    pub async fn api_key_user(
        &self,
        key_hash: &str,
        now: i64,
    ) -> Result<Option<(UserRow, String)>> {
        #[derive(FromRow)]
        struct KeyUser {
            #[sqlx(flatten)]
            user: UserRow,
            key_id: String,
            key_scopes: String,
            key_last_used: Option<i64>,
        }
        let row: Option<KeyUser> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, k.id AS key_id, k.scopes AS key_scopes, k.last_used_at AS key_last_used FROM api_keys k JOIN users u ON u.id = k.user_id \
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2) AND u.disabled_at IS NULL"
        )))
        .bind(key_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        if r.key_last_used.is_none_or(|t| now - t > 60_000) {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(r.key_id)
                .execute(self.pool())
                .await?;
        }
        Ok(Some((r.user, r.key_scopes)))
    }

    /// Keys, newest first: one user's, or everyone's.
    pub async fn api_keys(&self, user_id: Option<&str>) -> Result<Vec<ApiKeyRow>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, name, key_hash, prefix, created_at, revoked_at, scopes, expires_at, last_used_at FROM api_keys \
             WHERE ($1 IS NULL OR user_id = $1) ORDER BY created_at DESC, id",
        )
        .bind(user_id.map(str::to_string))
        .fetch_all(self.pool())
        .await?)
    }

    /// Revokes a key (once); `owner` limits it to that user's keys.
    pub async fn revoke_api_key(&self, id: &str, at: i64, owner: Option<&str>) -> Result<bool> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR user_id = $3)")
            .bind(at)
            .bind(id)
            .bind(owner.map(str::to_string))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn create_invite(&self, i: &InviteRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO invites (code_hash, team_id, role, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&i.code_hash)
        .bind(&i.team_id)
        .bind(&i.role)
        .bind(&i.created_by)
        .bind(i.created_at)
        .bind(i.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// An unused, unexpired invite.
    pub async fn invite(&self, code_hash: &str, now: i64) -> Result<Option<InviteRow>> {
        Ok(sqlx::query_as(
            "SELECT code_hash, team_id, role, created_by, created_at, expires_at FROM invites \
             WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(code_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Uses an invite to create its user, once: false if it was used meanwhile.
    pub async fn accept_invite(&self, code_hash: &str, user: &UserRow) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done =
            sqlx::query("UPDATE invites SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
                .bind(user.created_at)
                .bind(code_hash)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, role, team_id, created_at, disabled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.password_hash.clone())
        .bind(&user.role)
        .bind(&user.team_id)
        .bind(user.created_at)
        .bind(user.disabled_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn add_audit(
        &self,
        at: i64,
        actor: Option<&str>,
        action: &str,
        target: Option<&str>,
        detail: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(at)
        .bind(actor.map(str::to_string))
        .bind(action)
        .bind(target.map(str::to_string))
        .bind(detail)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The audit log, newest first, entries before id `before` (all when None).
    pub async fn audit(&self, limit: i64, before: Option<i64>) -> Result<Vec<AuditRow>> {
        Ok(sqlx::query_as("SELECT id, at, actor, action, target, detail FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2")
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }

    /// A page of sessions, newest first, and how many match in all.
    pub async fn team_sessions(&self, f: &SessionFilter) -> Result<(Vec<ListedSession>, i64)> {
        let search = f
            .search
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| format!("%{}%", s.to_lowercase()));
        let open = f.status.as_deref().map(|s| i64::from(s == "open"));
        let filter = "($1 IS NULL OR s.team_id = $1) AND ($2 IS NULL OR s.created_by = $2) \
             AND ($3 IS NULL OR LOWER(s.title) LIKE $3) \
             AND ($4 IS NULL OR ($4 = 1 AND s.ended_at IS NULL) OR ($4 = 0 AND s.ended_at IS NOT NULL))";
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM sessions s WHERE {filter}"
        )))
        .bind(f.team_id.clone())
        .bind(f.created_by.clone())
        .bind(search.clone())
        .bind(open)
        .fetch_one(self.pool())
        .await?;
        #[derive(FromRow)]
        struct WithCreator {
            #[sqlx(flatten)]
            session: SessionRow,
            creator_email: Option<String>,
        }
        let rows: Vec<WithCreator> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT s.id, s.title, s.language, s.kind, s.interviewer_token_hash, s.candidate_token_hash, s.created_at, \
             s.ended_at, s.execution_enabled, s.time_limit_seconds, s.exercise, s.team_id, s.created_by, u.email AS creator_email \
             FROM sessions s LEFT JOIN users u ON u.id = s.created_by WHERE {filter} \
             ORDER BY s.created_at DESC, s.id LIMIT $5 OFFSET $6"
        )))
        .bind(f.team_id.clone())
        .bind(f.created_by.clone())
        .bind(search)
        .bind(open)
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let participants = self
                .participants(&r.session.id)
                .await?
                .into_iter()
                .map(|p| (p.name, p.role))
                .collect();
            out.push(ListedSession {
                session: r.session,
                creator_email: r.creator_email,
                participants,
            });
        }
        Ok((out, count))
    }

    /// Replaces a session's link token of one role (`candidate` false: the interviewer's).
    pub async fn set_token_hash(&self, id: &str, candidate: bool, hash: &str) -> Result<()> {
        let sql = if candidate {
            "UPDATE sessions SET candidate_token_hash = $1 WHERE id = $2"
        } else {
            "UPDATE sessions SET interviewer_token_hash = $1 WHERE id = $2"
        };
        sqlx::query(sql)
            .bind(hash)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
