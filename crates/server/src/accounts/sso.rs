//! OpenID Connect sign-in: the authorization code flow with PKCE (`openidconnect` crate), and
//! matching the provider's verified email to an account.
//!
//! `start` remembers, per sign-in in progress, the state, nonce and PKCE verifier here on the
//! server (single use, `PENDING_TTL`); the browser only carries the state, in a short-lived
//! HttpOnly cookie, so a callback finishes only in the browser that started it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use parking_lot::Mutex;

use super::{Account, AccountError, AccountRole, Accounts};
use crate::cluster::Node;
use crate::config::{OidcConfig, Secret};
use crate::redis_keys::Temporary;
use crate::store::StoreError;
use crate::store::{TeamRow, UserRow};
use crate::util::{new_id, now_ms};

/// A sign-in must come back from the provider within this time.
pub const PENDING_TTL: Duration = Duration::from_secs(10 * 60);
/// Bounds the memory of sign-ins started and never finished.
const MAX_PENDING: usize = 10_000;
/// The provider's metadata (endpoints, signing keys) is fetched again after this long.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// Why an SSO sign-in was refused; the message is shown to the person signing in.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("this sign-in link has expired or was already used; start again")]
    UnknownState,
    #[error("the identity provider refused the sign-in: {0}")]
    Provider(String),
    #[error("the identity provider could not be reached; try again later")]
    Unreachable,
    #[error("the identity provider did not give a verified email address")]
    UnverifiedEmail,
    #[error("accounts with this email domain cannot sign in here")]
    DomainNotAllowed,
    #[error("no account has this email address; ask an admin for an invite")]
    NoAccount,
    #[error("this account is disabled")]
    Disabled,
    #[error("too many sign-ins in progress; try again in a few minutes")]
    Busy,
    /// Our side failed (storage, say): the detail goes to the log, not the page.
    #[error("could not sign in because of an error on this server; try again later")]
    Account(#[from] AccountError),
}

struct Pending {
    nonce: Nonce,
    verifier: PkceCodeVerifier,
    started: Instant,
}

pub struct Sso {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Secret,
    redirect: RedirectUrl,
    /// Shown on the sign-in button.
    pub name: String,
    allowed_domains: Vec<String>,
    create_users: bool,
    team: Option<String>,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
    pending: Mutex<HashMap<String, Pending>>,
    /// In cluster mode sign-ins in progress live in Redis: the provider sends the browser back
    /// through the load balancer, to any node.
    cluster: Option<Arc<Node>>,
}

/// A sign-in in progress as the cluster keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct SharedPending {
    nonce: String,
    verifier: String,
}

/// What the provider said about the person, once checked.
pub struct Identity {
    pub email: String,
    pub name: Option<String>,
}

impl Sso {
    /// None when no issuer is configured; an error when the configuration is incomplete.
    pub fn from_config(
        config: &OidcConfig,
        public_url: &str,
        cluster: Option<Arc<Node>>,
    ) -> anyhow::Result<Option<Sso>> {
        let Some(issuer) = config
            .issuer
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            return Ok(None);
        };
        let (Some(client_id), Some(secret)) = (&config.client_id, &config.client_secret) else {
            anyhow::bail!("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET");
        };
        let issuer = IssuerUrl::new(issuer.trim_end_matches('/').to_string())
            .map_err(|e| anyhow::anyhow!("OIDC_ISSUER: {e}"))?;
        let redirect = RedirectUrl::new(format!("{public_url}/api/auth/sso/callback"))
            .map_err(|e| anyhow::anyhow!("PUBLIC_URL: {e}"))?;
        let name = config
            .name
            .clone()
            .unwrap_or_else(|| issuer.url().host_str().unwrap_or("SSO").to_string());
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            // Following redirects would let a token request land somewhere else (the crate's advice).
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("interview-ide/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Some(Sso {
            issuer,
            client_id: ClientId::new(client_id.clone()),
            client_secret: secret.clone(),
            redirect,
            name,
            allowed_domains: config
                .allowed_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            create_users: config.create_users,
            team: config.team.clone().filter(|t| !t.trim().is_empty()),
            http,
            metadata: tokio::sync::Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            cluster,
        }))
    }

    /// The provider's URL to send the browser to, and the state to keep in its cookie.
    pub async fn start(&self) -> Result<(String, String), SsoError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        if let Some(node) = &self.cluster {
            let shared = SharedPending {
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
            };
            let value = serde_json::to_string(&shared).unwrap_or_default();
            node.put_temporary(&Temporary::sso(state.secret()), &value, PENDING_TTL, false)
                .await
                .map_err(unavailable)?;
            return Ok((url.to_string(), state.secret().clone()));
        }
        let mut pending = self.pending.lock();
        pending.retain(|_, p| p.started.elapsed() < PENDING_TTL);
        if pending.len() >= MAX_PENDING {
            return Err(SsoError::Busy);
        }
        pending.insert(
            state.secret().clone(),
            Pending {
                nonce,
                verifier,
                started: Instant::now(),
            },
        );
        Ok((url.to_string(), state.secret().clone()))
    }

    /// The callback: the state must be one this server handed to this browser (`cookie_state`),
    /// unused and recent; the code is exchanged with the PKCE verifier and the ID token checked
    /// (signature, issuer, audience, expiry, nonce).
    pub async fn finish(
        &self,
        state: &str,
        cookie_state: Option<&str>,
        code: &str,
    ) -> Result<Identity, SsoError> {
        if cookie_state != Some(state) {
            return Err(SsoError::UnknownState);
        }
        let pending = match &self.cluster {
            // Redis expires it after PENDING_TTL; taking it makes it single use on every node.
            Some(node) => node
                .take_temporary(&Temporary::sso(state))
                .await
                .map_err(unavailable)?
                .and_then(|v| serde_json::from_str::<SharedPending>(&v).ok())
                .map(|p| Pending {
                    nonce: Nonce::new(p.nonce),
                    verifier: PkceCodeVerifier::new(p.verifier),
                    started: Instant::now(),
                }),
            None => self.pending.lock().remove(state),
        };
        let Some(pending) = pending.filter(|p| p.started.elapsed() < PENDING_TTL) else {
            return Err(SsoError::UnknownState);
        };
        let client = self.client().await?;
        let http = |request: openidconnect::HttpRequest| send(self.http.clone(), request);
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| SsoError::Provider(e.to_string()))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "OpenID Connect: the code exchange failed");
                SsoError::Provider("the sign-in code was not accepted".into())
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| SsoError::Provider("no ID token in the answer".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &pending.nonce)
            .map_err(|e| {
                tracing::warn!(error = %e, "OpenID Connect: the ID token was refused");
                SsoError::Provider("the ID token is not valid".into())
            })?;
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string());
        if let Some(email) = claims.email() {
            return verified(email.as_str(), claims.email_verified(), name);
        }
        // Providers that put the email only in the UserInfo answer (the ID token stays small).
        let info: CoreUserInfoClaims = client
            .user_info(token.access_token().clone(), Some(claims.subject().clone()))
            .map_err(|e| SsoError::Provider(e.to_string()))?
            .request_async(&http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "OpenID Connect: the UserInfo request failed");
                SsoError::Provider("the user's details could not be read".into())
            })?;
        let name = name.or_else(|| info.name().and_then(|n| n.get(None)).map(|n| n.to_string()));
        match info.email() {
            Some(email) => verified(email.as_str(), info.email_verified(), name),
            None => Err(SsoError::UnverifiedEmail),
        }
    }

    /// Whether an email's domain may sign in (any, when no domain is configured).
    pub fn domain_allowed(&self, email: &str) -> bool {
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_lowercase())
            .unwrap_or_default();
        self.allowed_domains.is_empty() || self.allowed_domains.contains(&domain)
    }

    async fn client(
        &self,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        SsoError,
    > {
        let mut cached = self.metadata.lock().await;
        let fresh = cached
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < METADATA_TTL);
        if !fresh {
            let http = |request: openidconnect::HttpRequest| send(self.http.clone(), request);
            let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &http).await.map_err(|e| {
                tracing::warn!(issuer = %self.issuer.as_str(), error = %e, "OpenID Connect: discovery failed");
                SsoError::Unreachable
            })?;
            *cached = Some((Instant::now(), metadata));
        }
        let metadata = cached
            .as_ref()
            .map(|(_, m)| m.clone())
            .ok_or(SsoError::Unreachable)?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(ClientSecret::new(self.client_secret.expose().to_string())),
        )
        .set_redirect_uri(self.redirect.clone()))
    }
}

fn verified(
    email: &str,
    email_verified: Option<bool>,
    name: Option<String>,
) -> Result<Identity, SsoError> {
    if email_verified != Some(true) {
        return Err(SsoError::UnverifiedEmail);
    }
    Ok(Identity {
        email: email.trim().to_lowercase(),
        name,
    })
}

/// The crate's HTTP requests through our reqwest (rustls with ring), without following redirects.
async fn send(
    client: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await?.to_vec();
    let mut out = openidconnect::HttpResponse::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

impl Accounts {
    /// Signs in the account of a verified SSO email: refused for a disallowed domain or a disabled
    /// account; an unknown email gets an interviewer account only when `create_users` is on.
    /// Every outcome is audited.
    pub async fn sso_sign_in(
        &self,
        sso: &Sso,
        who: &Identity,
    ) -> Result<(Account, String), SsoError> {
        let refuse = |reason: SsoError| async move {
            self.audit(
                Some(&who.email),
                "sign_in_failed",
                None,
                serde_json::json!({"method": "sso", "reason": reason.to_string()}),
            )
            .await;
            Err::<(Account, String), SsoError>(reason)
        };
        if !sso.domain_allowed(&who.email) {
            return refuse(SsoError::DomainNotAllowed).await;
        }
        let user = match self
            .store
            .user_by_email(&who.email)
            .await
            .map_err(AccountError::from)?
        {
            Some(user) if user.disabled_at.is_some() => return refuse(SsoError::Disabled).await,
            Some(user) => user,
            None if !sso.create_users => return refuse(SsoError::NoAccount).await,
            None => {
                let email = super::clean_email(&who.email)?;
                let team = self.sso_team(sso).await?;
                let name = who.name.as_deref().map(str::trim).filter(|n| {
                    !n.is_empty() && n.chars().count() <= 100 && !n.chars().any(char::is_control)
                });
                let user = UserRow {
                    id: new_id(),
                    name: name.unwrap_or(&email).to_string(),
                    email,
                    // Signs in with SSO only, until an admin or a reset gives a password.
                    password_hash: None,
                    role: AccountRole::Interviewer.as_str().into(),
                    team_id: team.id,
                    created_at: now_ms(),
                    disabled_at: None,
                };
                self.store
                    .create_user(&user)
                    .await
                    .map_err(AccountError::from)?;
                self.audit(
                    Some(&user.email),
                    "user_created",
                    Some(&user.email),
                    serde_json::json!({"role": "interviewer", "via": "sso"}),
                )
                .await;
                user
            }
        };
        let token = self.start_login(&user).await?;
        self.audit(
            Some(&user.email),
            "sign_in",
            None,
            serde_json::json!({"method": "sso"}),
        )
        .await;
        Ok((Account::from_row(&user), token))
    }

    /// The team of accounts made by SSO: OIDC_TEAM by name (created if missing) or the first team.
    async fn sso_team(&self, sso: &Sso) -> Result<TeamRow, AccountError> {
        let Some(name) = sso.team.as_deref() else {
            return self.default_team().await;
        };
        if let Some(team) = self
            .store
            .teams()
            .await?
            .into_iter()
            .find(|t| t.name == name || t.id == name)
        {
            return Ok(team);
        }
        let team = TeamRow {
            id: new_id(),
            name: super::clean_line(name, 100, "OIDC_TEAM")?,
            created_at: now_ms(),
        };
        self.store.create_team(&team).await?;
        self.audit(
            None,
            "team_created",
            Some(&team.id),
            serde_json::json!({"name": team.name, "via": "sso"}),
        )
        .await;
        Ok(team)
    }
}

fn unavailable(e: redis::RedisError) -> SsoError {
    SsoError::Account(AccountError::Store(StoreError::Unavailable(format!(
        "redis: {e}"
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_verified_email_is_accepted() {
        assert!(
            verified("Ada@Example.com", Some(true), None)
                .is_ok_and(|i| i.email == "ada@example.com")
        );
        assert!(matches!(
            verified("ada@example.com", Some(false), None),
            Err(SsoError::UnverifiedEmail)
        ));
        assert!(matches!(
            verified("ada@example.com", None, None),
            Err(SsoError::UnverifiedEmail)
        ));
    }
}
