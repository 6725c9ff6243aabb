//! Accounts of the organisation: teams, users and their roles, password sign-in (argon2id) with
//! throttling, sign-in cookies, API keys, invites, the first-run setup code, and the audit log.
//! Candidates have no account: they join with their session link alone.

pub mod sso;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use parking_lot::Mutex;
use rand::RngCore;
use serde::Serialize;

use crate::cluster::Node;
use crate::redis_keys::{Counter, Temporary};
use crate::store::{ApiKeyRow, AuditRow, InviteRow, Store, StoreError, TeamRow, UserRow};
use crate::util::{new_id, new_token, now_ms, rfc3339, token_hash, token_matches};

pub const MIN_PASSWORD_CHARS: usize = 10;
const MAX_PASSWORD_CHARS: usize = 256;
/// A sign-in lasts this long.
pub const LOGIN_TTL: Duration = Duration::from_secs(14 * 24 * 3600);
const INVITE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Sign-in attempts counted within `THROTTLE_WINDOW`: per account from one address (tight:
/// guesses from one place lock out only that place), per account from everywhere (loose: a
/// spread-out guesser is slowed, the owner elsewhere rarely affected), per address (any
/// accounts). Past one of them, sign-in answers 429 without checking the password (no hashing).
/// An attempt is counted before its password is checked, so parallel guesses cannot all pass.
const MAX_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS: u64 = 10;
const MAX_ATTEMPTS_PER_ACCOUNT: u64 = 100;
const MAX_ATTEMPTS_PER_ADDRESS: u64 = 50;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// API keys start with this, so a key is recognised (and found by secret scanners).
pub const API_KEY_PREFIX: &str = "iide_";
/// What an API key may be allowed: read sessions (every GET a signed-in person may make),
/// create and change sessions (every other method), and the admin routes. No key manages keys.
pub const KEY_SCOPES: &[&str] = &["sessions:read", "sessions:write", "admin"];
/// A new key's scopes when none are asked for.
const DEFAULT_KEY_SCOPES: &[&str] = &["sessions:read", "sessions:write"];
/// The longest a key may be made to last, in days (none: until revoked).
pub const MAX_KEY_DAYS: u32 = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountRole {
    Admin,
    Interviewer,
}

impl AccountRole {
    pub fn parse(s: &str) -> Option<AccountRole> {
        match s {
            "admin" => Some(AccountRole::Admin),
            "interviewer" => Some(AccountRole::Interviewer),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            AccountRole::Admin => "admin",
            AccountRole::Interviewer => "interviewer",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("wrong email or password")]
    WrongCredentials,
    #[error("too many failed sign-ins; try again later")]
    Throttled,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, AccountError>;

/// A signed-in person (by cookie or API key), as every route sees them.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: AccountRole,
    pub team_id: String,
}

impl Account {
    fn from_row(u: &UserRow) -> Account {
        Account {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: AccountRole::parse(&u.role).unwrap_or(AccountRole::Interviewer),
            team_id: u.team_id.clone(),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == AccountRole::Admin
    }

    /// Members of the owning team, and admins, open a session as its interviewer.
    pub fn may_open(&self, team_id: Option<&str>) -> bool {
        self.is_admin() || team_id == Some(self.team_id.as_str())
    }
}

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub team_id: String,
    pub created_at: String,
    pub disabled: bool,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        UserView {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            team_id: u.team_id.clone(),
            created_at: rfc3339(u.created_at),
            disabled: u.disabled_at.is_some(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub user_id: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

impl From<&ApiKeyRow> for KeyView {
    fn from(k: &ApiKeyRow) -> Self {
        KeyView {
            id: k.id.clone(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            user_id: k.user_id.clone(),
            created_at: rfc3339(k.created_at),
            revoked_at: k.revoked_at.map(rfc3339),
            scopes: k
                .scopes
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            expires_at: k.expires_at.map(rfc3339),
            last_used_at: k.last_used_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AuditView {
    pub id: i64,
    pub at: String,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: serde_json::Value,
}

impl From<AuditRow> for AuditView {
    fn from(a: AuditRow) -> Self {
        AuditView {
            id: a.id,
            at: rfc3339(a.at),
            actor: a.actor,
            action: a.action,
            target: a.target,
            detail: serde_json::from_str(&a.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// What a new account needs.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
}

pub struct Accounts {
    store: Store,
    /// The one-time code of the first-run setup link, while no account exists.
    setup_code: Mutex<Option<String>>,
    /// Sign-in attempts by counter key (when not counted in the cluster): window start, count.
    attempts: Mutex<HashMap<String, (Instant, u32)>>,
    /// In cluster mode the setup code and the failure counts live in Redis, so that every node
    /// agrees on them (a setup link or a guessing attacker may reach any node).
    cluster: Option<Arc<Node>>,
}

/// The setup code lasts in the cluster's shared state as long as nobody uses it.
const SETUP_CODE_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// Checked against when the email is unknown, so that answer takes as long as a wrong password.
/// Made on first use, off the start-up path.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

impl Accounts {
    pub fn new(store: Store, cluster: Option<Arc<Node>>) -> Accounts {
        Accounts {
            store,
            setup_code: Mutex::new(None),
            attempts: Mutex::new(HashMap::new()),
            cluster,
        }
    }

    /// At start: creates the admin from ADMIN_EMAIL/ADMIN_PASSWORD if no account has that email;
    /// then, while no account exists, makes the one-time setup code and returns it.
    pub async fn bootstrap(&self, admin: Option<(&str, &str)>) -> Result<Option<String>> {
        if let Some((email, password)) = admin {
            let email = clean_email(email)?;
            if self.store.user_by_email(&email).await?.is_none() {
                let team = self.default_team().await?;
                let user = self
                    .new_user_row(
                        &NewUser {
                            email: &email,
                            name: "Admin",
                            password,
                        },
                        AccountRole::Admin,
                        &team,
                    )
                    .await?;
                match self.store.create_user(&user).await {
                    Ok(()) => {
                        self.audit(
                            None,
                            "user_created",
                            Some(&email),
                            serde_json::json!({"role": "admin", "via": "ADMIN_EMAIL"}),
                        )
                        .await;
                        tracing::info!(email = %email, "admin account created from ADMIN_EMAIL");
                    }
                    // Another server on the same database made it meanwhile.
                    Err(_) if self.store.user_by_email(&email).await?.is_some() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let mut code = new_token();
        if let Some(node) = &self.cluster {
            // The first node to start makes the code; the others log the same one.
            code = node
                .put_temporary(&Temporary::setup_code(), &code, SETUP_CODE_TTL, true)
                .await
                .map_err(|e| AccountError::Store(StoreError::Unavailable(format!("redis: {e}"))))?;
        }
        *self.setup_code.lock() = Some(code.clone());
        Ok(Some(code))
    }

    /// Whether the first-run setup is still to be done.
    pub async fn setup_needed(&self) -> Result<bool> {
        Ok(self.store.count_users().await? == 0)
    }

    /// First-run setup: the code from the log creates the first admin (once), signed in.
    pub async fn setup(&self, code: &str, new: &NewUser<'_>) -> Result<(Account, String)> {
        let expected = match &self.cluster {
            Some(node) => node
                .temporary(&Temporary::setup_code())
                .await
                .map_err(|e| AccountError::Store(StoreError::Unavailable(format!("redis: {e}"))))?,
            None => self.setup_code.lock().clone(),
        };
        let valid = expected
            .as_deref()
            .is_some_and(|c| token_matches(code, &token_hash(c)));
        if !valid || self.store.count_users().await? > 0 {
            return Err(AccountError::NotFound(
                "this setup link is not valid (it works once, while no account exists)".into(),
            ));
        }
        let team = self.default_team().await?;
        let user = self.new_user_row(new, AccountRole::Admin, &team).await?;
        // Taken before the insert so that two requests with the code cannot both succeed.
        let taken = match &self.cluster {
            Some(node) => node
                .take_temporary(&Temporary::setup_code())
                .await
                .map_err(|e| AccountError::Store(StoreError::Unavailable(format!("redis: {e}"))))?,
            None => self.setup_code.lock().take(),
        };
        if taken.is_none() {
            return Err(AccountError::NotFound(
                "this setup link has been used".into(),
            ));
        }
        self.store.create_user(&user).await?;
        self.audit(
            Some(&user.email),
            "user_created",
            Some(&user.email),
            serde_json::json!({"role": "admin", "via": "setup"}),
        )
        .await;
        let token = self.start_login(&user).await?;
        Ok((Account::from_row(&user), token))
    }

    /// Password sign-in. The same error for an unknown email and a wrong password; 429 (Throttled)
    /// after repeated attempts (see `MAX_ATTEMPTS_*`), before any hashing.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        addr: IpAddr,
    ) -> Result<(Account, String)> {
        let email = email.trim().to_lowercase();
        let pair_key = format!("pair:{email}|{addr}");
        let limits = [
            (pair_key.clone(), MAX_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS),
            (format!("account:{email}"), MAX_ATTEMPTS_PER_ACCOUNT),
            (format!("address:{addr}"), MAX_ATTEMPTS_PER_ADDRESS),
        ];
        // Reserve the attempt on every counter first; the password is checked only if all allow it.
        let mut allowed = true;
        for (key, max) in &limits {
            allowed &= self.reserve_attempt(key).await <= *max;
        }
        if !allowed {
            self.audit(
                Some(&email),
                "sign_in_throttled",
                None,
                serde_json::json!({"address": addr.to_string()}),
            )
            .await;
            return Err(AccountError::Throttled);
        }
        let user = self.store.user_by_email(&email).await?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let ok = verify_password(password, hash).await
            && user
                .as_ref()
                .is_some_and(|u| u.password_hash.is_some() && u.disabled_at.is_none());
        let Some(user) = user.filter(|_| ok) else {
            self.audit(
                Some(&email),
                "sign_in_failed",
                None,
                serde_json::json!({"address": addr.to_string()}),
            )
            .await;
            return Err(AccountError::WrongCredentials);
        };
        // A success is no guess: the owner's attempts from this address start over, and this one
        // is taken back from the account's and the address's counts (an office behind one address
        // signs in all day).
        self.clear_attempts(&pair_key).await;
        for (key, _) in &limits[1..] {
            self.refund_attempt(key).await;
        }
        let token = self.start_login(&user).await?;
        self.audit(
            Some(&user.email),
            "sign_in",
            None,
            serde_json::json!({"address": addr.to_string(), "method": "password"}),
        )
        .await;
        Ok((Account::from_row(&user), token))
    }

    /// Ends a sign-in: its cookie stops working at once.
    pub async fn logout(&self, cookie: &str) -> Result<()> {
        self.store.delete_login(&token_hash(cookie)).await?;
        Ok(())
    }

    /// The enabled account of a sign-in cookie.
    pub async fn by_cookie(&self, cookie: &str) -> Result<Option<Account>> {
        Ok(self
            .store
            .login_user(&token_hash(cookie), now_ms())
            .await?
            .as_ref()
            .map(Account::from_row))
    }

    /// The enabled account of an unrevoked, unexpired API key, and the key's scopes.
    pub async fn by_api_key(&self, key: &str) -> Result<Option<(Account, Vec<String>)>> {
        if !key.starts_with(API_KEY_PREFIX) {
            return Ok(None);
        }
        let found = self.store.api_key_user(&token_hash(key), now_ms()).await?;
        Ok(found.map(|(user, scopes)| {
            (
                Account::from_row(&user),
                scopes.split(',').map(str::to_string).collect(),
            )
        }))
    }

    /// A new API key acting as `owner` with `scopes` (default: read and write sessions; `admin`
    /// only for an admin), lasting `days` (None: until revoked). The key itself is returned once
    /// and stored hashed.
    pub async fn create_key(
        &self,
        owner: &Account,
        name: &str,
        scopes: Option<&[String]>,
        days: Option<u32>,
    ) -> Result<(KeyView, String)> {
        let name = clean_line(name, 100, "name")?;
        let scopes: Vec<String> = match scopes {
            None => DEFAULT_KEY_SCOPES.iter().map(|s| s.to_string()).collect(),
            Some(list) => {
                if list.is_empty() {
                    return Err(AccountError::Invalid(format!(
                        "a key needs at least one scope of: {}",
                        KEY_SCOPES.join(", ")
                    )));
                }
                if let Some(bad) = list.iter().find(|s| !KEY_SCOPES.contains(&s.as_str())) {
                    return Err(AccountError::Invalid(format!(
                        "unknown scope '{bad}'; expected some of: {}",
                        KEY_SCOPES.join(", ")
                    )));
                }
                let mut list = list.to_vec();
                list.sort();
                list.dedup();
                list
            }
        };
        if scopes.iter().any(|s| s == "admin") && !owner.is_admin() {
            return Err(AccountError::Forbidden(
                "only an admin can make a key with the admin scope".into(),
            ));
        }
        let expires_at = match days {
            None => None,
            Some(d) if (1..=MAX_KEY_DAYS).contains(&d) => {
                Some(now_ms() + i64::from(d) * 24 * 3600 * 1000)
            }
            Some(_) => {
                return Err(AccountError::Invalid(format!(
                    "expires_in_days must be 1 to {MAX_KEY_DAYS}"
                )));
            }
        };
        let key = format!("{API_KEY_PREFIX}{}", new_token());
        let row = ApiKeyRow {
            id: new_id(),
            user_id: owner.id.clone(),
            name,
            key_hash: token_hash(&key),
            prefix: key.chars().take(API_KEY_PREFIX.len() + 6).collect(),
            created_at: now_ms(),
            revoked_at: None,
            scopes: scopes.join(","),
            expires_at,
            last_used_at: None,
        };
        self.store.create_api_key(&row).await?;
        self.audit(Some(&owner.email), "key_created", Some(&row.id), serde_json::json!({"name": row.name, "scopes": scopes, "expires_at": expires_at.map(rfc3339)})).await;
        Ok(((&row).into(), key))
    }

    /// One user's keys, or (None) everyone's.
    pub async fn keys(&self, user_id: Option<&str>) -> Result<Vec<KeyView>> {
        Ok(self
            .store
            .api_keys(user_id)
            .await?
            .iter()
            .map(Into::into)
            .collect())
    }

    /// Revokes a key: the caller's own, or any key for an admin.
    pub async fn revoke_key(&self, by: &Account, id: &str) -> Result<()> {
        let owner = if by.is_admin() {
            None
        } else {
            Some(by.id.as_str())
        };
        if !self.store.revoke_api_key(id, now_ms(), owner).await? {
            return Err(AccountError::NotFound("no such active key".into()));
        }
        self.audit(
            Some(&by.email),
            "key_revoked",
            Some(id),
            serde_json::json!({}),
        )
        .await;
        Ok(())
    }

    /// An invite code for a new member of `team_id` with `role`, valid a week, once.
    pub async fn invite(&self, by: &Account, team_id: Option<&str>, role: &str) -> Result<String> {
        let role = AccountRole::parse(role)
            .ok_or_else(|| AccountError::Invalid("role must be admin or interviewer".into()))?;
        let team_id = team_id.unwrap_or(&by.team_id);
        if !self.store.teams().await?.iter().any(|t| t.id == team_id) {
            return Err(AccountError::Invalid("no such team".into()));
        }
        let code = new_token();
        let now = now_ms();
        self.store
            .create_invite(&InviteRow {
                code_hash: token_hash(&code),
                team_id: team_id.to_string(),
                role: role.as_str().into(),
                created_by: by.id.clone(),
                created_at: now,
                expires_at: now + INVITE_TTL.as_millis() as i64,
            })
            .await?;
        self.audit(
            Some(&by.email),
            "user_invited",
            Some(team_id),
            serde_json::json!({"role": role.as_str()}),
        )
        .await;
        Ok(code)
    }

    /// The team name and role an invite code offers.
    pub async fn invite_info(&self, code: &str) -> Result<(String, String)> {
        let invite = self
            .store
            .invite(&token_hash(code), now_ms())
            .await?
            .ok_or_else(invalid_invite)?;
        let team = self
            .store
            .teams()
            .await?
            .into_iter()
            .find(|t| t.id == invite.team_id)
            .map(|t| t.name)
            .unwrap_or_default();
        Ok((team, invite.role))
    }

    /// Creates the invited user (once per code), signed in.
    pub async fn accept_invite(&self, code: &str, new: &NewUser<'_>) -> Result<(Account, String)> {
        let hash = token_hash(code);
        let invite = self
            .store
            .invite(&hash, now_ms())
            .await?
            .ok_or_else(invalid_invite)?;
        let team = TeamRow {
            id: invite.team_id.clone(),
            name: String::new(),
            created_at: 0,
        };
        let role = AccountRole::parse(&invite.role).unwrap_or(AccountRole::Interviewer);
        let user = self.new_user_row(new, role, &team).await?;
        if self.store.user_by_email(&user.email).await?.is_some() {
            return Err(AccountError::Conflict(
                "an account with this email exists".into(),
            ));
        }
        if !self.store.accept_invite(&hash, &user).await? {
            return Err(invalid_invite());
        }
        self.audit(
            Some(&user.email),
            "user_created",
            Some(&user.email),
            serde_json::json!({"role": invite.role, "via": "invite"}),
        )
        .await;
        let token = self.start_login(&user).await?;
        Ok((Account::from_row(&user), token))
    }

    pub async fn users(&self) -> Result<Vec<UserView>> {
        Ok(self.store.users().await?.iter().map(Into::into).collect())
    }

    /// Disables or enables a user; answers their email. Disabling ends their sign-ins and revokes
    /// their keys for good (the caller ends their open connections).
    pub async fn set_disabled(
        &self,
        by: &Account,
        user_id: &str,
        disabled: bool,
    ) -> Result<String> {
        if disabled && by.id == user_id {
            return Err(AccountError::Conflict(
                "you cannot disable your own account".into(),
            ));
        }
        let at = disabled.then(now_ms);
        if !self.store.set_user_disabled(user_id, at).await? {
            return Err(AccountError::NotFound("no such user".into()));
        }
        let action = if disabled {
            "user_disabled"
        } else {
            "user_enabled"
        };
        self.audit(
            Some(&by.email),
            action,
            Some(user_id),
            serde_json::json!({}),
        )
        .await;
        let email = self
            .store
            .users()
            .await?
            .into_iter()
            .find(|u| u.id == user_id)
            .map(|u| u.email)
            .unwrap_or_default();
        Ok(email)
    }

    pub async fn teams(&self) -> Result<Vec<TeamRow>> {
        Ok(self.store.teams().await?)
    }

    pub async fn create_team(&self, by: &Account, name: &str) -> Result<TeamRow> {
        let team = TeamRow {
            id: new_id(),
            name: clean_line(name, 100, "name")?,
            created_at: now_ms(),
        };
        self.store.create_team(&team).await?;
        self.audit(
            Some(&by.email),
            "team_created",
            Some(&team.id),
            serde_json::json!({"name": team.name}),
        )
        .await;
        Ok(team)
    }

    /// Records an audit entry; losing one must not fail the action it describes.
    pub async fn audit(
        &self,
        actor: Option<&str>,
        action: &str,
        target: Option<&str>,
        detail: serde_json::Value,
    ) {
        if let Err(e) = self
            .store
            .add_audit(now_ms(), actor, action, target, &detail.to_string())
            .await
        {
            tracing::warn!(action, error = %e, "could not record an audit entry");
        }
    }

    pub async fn audit_log(&self, limit: i64, before: Option<i64>) -> Result<Vec<AuditView>> {
        Ok(self
            .store
            .audit(limit.clamp(1, 500), before)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn start_login(&self, user: &UserRow) -> Result<String> {
        let token = new_token();
        let now = now_ms();
        self.store
            .create_login(
                &token_hash(&token),
                &user.id,
                now,
                now + LOGIN_TTL.as_millis() as i64,
            )
            .await?;
        Ok(token)
    }

    async fn default_team(&self) -> Result<TeamRow> {
        if let Some(team) = self.store.teams().await?.into_iter().next() {
            return Ok(team);
        }
        let team = TeamRow {
            id: new_id(),
            name: "Default".into(),
            created_at: now_ms(),
        };
        self.store.create_team(&team).await?;
        Ok(team)
    }

    async fn new_user_row(
        &self,
        new: &NewUser<'_>,
        role: AccountRole,
        team: &TeamRow,
    ) -> Result<UserRow> {
        let email = clean_email(new.email)?;
        let name = clean_line(
            if new.name.trim().is_empty() {
                &email
            } else {
                new.name
            },
            100,
            "name",
        )?;
        let chars = new.password.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(AccountError::Invalid(format!(
                "the password must be at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(AccountError::Invalid(format!(
                "the password must be at most {MAX_PASSWORD_CHARS} characters"
            )));
        }
        let password = new.password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password_now(&password))
            .await
            .map_err(|_| AccountError::Invalid("could not hash the password".into()))?
            .ok_or_else(|| AccountError::Invalid("could not hash the password".into()))?;
        Ok(UserRow {
            id: new_id(),
            email,
            name,
            password_hash: Some(hash),
            role: role.as_str().into(),
            team_id: team.id.clone(),
            created_at: now_ms(),
            disabled_at: None,
        })
    }

    /// Counts an attempt under `key` and answers how many the window now holds (this one
    /// included). In cluster mode the count is the cluster's; if Redis does not answer, this
    /// node's own count applies.
    async fn reserve_attempt(&self, key: &str) -> u64 {
        if let Some(node) = &self.cluster {
            match node
                .count_event(&Counter::sign_in_attempts(key), THROTTLE_WINDOW)
                .await
            {
                Ok(n) => return n,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot count sign-in attempts in the cluster; counting on this node only")
                }
            }
        }
        let mut attempts = self.attempts.lock();
        if attempts.len() > 100_000 {
            attempts.retain(|_, (start, _)| start.elapsed() < THROTTLE_WINDOW);
        }
        let entry = attempts
            .entry(key.to_string())
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= THROTTLE_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
        u64::from(entry.1)
    }

    async fn refund_attempt(&self, key: &str) {
        if let Some(node) = &self.cluster
            && node
                .uncount_event(&Counter::sign_in_attempts(key))
                .await
                .is_ok()
        {
            return;
        }
        if let Some(entry) = self.attempts.lock().get_mut(key) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }

    async fn clear_attempts(&self, key: &str) {
        self.attempts.lock().remove(key);
        if let Some(node) = &self.cluster {
            let _ = node.forget_events(&Counter::sign_in_attempts(key)).await;
        }
    }
}

fn invalid_invite() -> AccountError {
    AccountError::NotFound("this invite link is not valid: it was used or has expired".into())
}

/// argon2id (the crate's defaults: 19 MiB, 2 passes) with a random per-password salt.
fn hash_password_now(password: &str) -> Option<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).ok()?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .ok()
        .map(|h| h.to_string())
}

/// Checks a password off the async workers (argon2 takes tens of milliseconds of CPU). Without a
/// hash (unknown email) it checks against a dummy one, so both answers take as long.
async fn verify_password(password: &str, hash: Option<String>) -> bool {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| {
            DUMMY_HASH
                .get_or_init(|| hash_password_now(&new_token()).unwrap_or_default())
                .clone()
        });
        let matches = PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        known && matches
    })
    .await
    .unwrap_or(false)
}

fn clean_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && (domain.contains('.') || domain == "localhost")
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(AccountError::Invalid(
            "a valid email address is needed".into(),
        ))
    }
}

fn clean_line(value: &str, max_chars: usize, what: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty()
        || value.chars().count() > max_chars
        || value.chars().any(|c| c.is_control())
    {
        return Err(AccountError::Invalid(format!(
            "{what} must be 1 to {max_chars} characters, without control characters"
        )));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_a_salt_each() {
        let a = hash_password_now("correct horse battery").unwrap();
        let b = hash_password_now("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "a salt per password");
        let parsed = PasswordHash::new(&a).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(clean_email(" Ada@Example.COM ").unwrap(), "ada@example.com");
        assert!(clean_email("nope").is_err());
        assert!(clean_email("a b@example.com").is_err());
    }
}
