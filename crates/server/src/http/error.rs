//! The one HTTP error type: every layer's errors become `{"error": "..."}` with the right status here.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::sessions::SessionError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid token")]
    Unauthorized,
    /// A failed sign-in: the same answer whether the email or the password was wrong.
    #[error("wrong email or password")]
    WrongCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    TooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests; try again in a minute")]
    RateLimited,
    #[error("too many sign-in attempts; try again in 15 minutes, or sign in from another device")]
    SignInThrottled,
    #[error("too many code runs are waiting; try again in {retry_after} s")]
    Busy { retry_after: u64 },
    #[error("storage is unavailable")]
    Unavailable,
    /// A feature the set-up scripts are still installing (see `installing`).
    #[error("{0}")]
    StillInstalling(String),
    #[error("internal error")]
    Internal(String),
    /// 400 for a value outside a fixed set; the answer lists the valid ones.
    #[error("{message}")]
    NotOneOf { message: String, valid: Vec<String> },
}

impl ApiError {
    /// The status and message of the JSON answer (also sent as is over a WebSocket); an internal
    /// error's detail goes to the log, never to the caller.
    pub fn status_and_message(&self) -> (u16, String) {
        if let ApiError::Internal(detail) = self {
            tracing::error!(error = %detail, "request failed");
        }
        (self.status().as_u16(), self.to_string())
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::WrongCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited | ApiError::SignInThrottled | ApiError::Busy { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable | ApiError::StillInstalling(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::NotOneOf { .. } => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (_, message) = self.status_and_message();
        let status = self.status();
        let body = match &self {
            ApiError::NotOneOf { valid, .. } => {
                serde_json::json!({ "error": message, "valid": valid })
            }
            _ => serde_json::json!({ "error": message }),
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::StillInstalling(_) = self {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(30));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let secs = match &self {
                ApiError::Busy { retry_after } => *retry_after,
                ApiError::SignInThrottled => crate::accounts::THROTTLE_WINDOW.as_secs(),
                _ => 60,
            };
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(secs));
        }
        response
    }
}

impl ApiError {
    /// Refuses what needs `feature` while the set-up scripts are still installing it.
    pub fn unless_installed(
        tools_dir: &std::path::Path,
        feature: crate::installing::Feature,
    ) -> Result<(), ApiError> {
        match crate::installing::is_pending(tools_dir, feature) {
            true => Err(ApiError::StillInstalling(feature.not_yet())),
            false => Ok(()),
        }
    }
}

impl From<crate::accounts::AccountError> for ApiError {
    fn from(e: crate::accounts::AccountError) -> Self {
        use crate::accounts::AccountError as A;
        match e {
            A::WrongCredentials => ApiError::WrongCredentials,
            A::Throttled => ApiError::SignInThrottled,
            A::Invalid(m) => ApiError::BadRequest(m),
            A::NotFound(m) => ApiError::NotFound(m),
            A::Conflict(m) => ApiError::Conflict(m),
            A::Forbidden(m) => ApiError::Forbidden(m),
            A::Store(e) => e.into(),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::NotFound => ApiError::NotFound("no such session".into()),
            SessionError::Unauthorized => ApiError::Unauthorized,
            SessionError::Forbidden => {
                ApiError::Forbidden("only the interviewer can do that".into())
            }
            SessionError::Invalid(msg) => ApiError::BadRequest(msg),
            SessionError::Conflict(msg) => ApiError::Conflict(msg),
            SessionError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // Storage that may answer again later (unreachable, busy) is a 503, as the writer retries it.
        if e.is_transient() {
            ApiError::Unavailable
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

impl From<crate::lifecycle::LifecycleError> for ApiError {
    fn from(e: crate::lifecycle::LifecycleError) -> Self {
        match e {
            crate::lifecycle::LifecycleError::Session(e) => e.into(),
            crate::lifecycle::LifecycleError::Workspace(e) => e.into(),
        }
    }
}

impl From<crate::workspace::WorkspaceError> for ApiError {
    fn from(e: crate::workspace::WorkspaceError) -> Self {
        use crate::workspace::WorkspaceError as W;
        match e {
            W::BadPath(m) => ApiError::BadRequest(m),
            W::NotFound(m) => ApiError::NotFound(m),
            W::Conflict(m) => ApiError::Conflict(m),
            W::TooLarge => ApiError::TooLarge,
            W::Unavailable(m) => ApiError::Conflict(m),
            W::Io(m) => ApiError::Internal(m),
            W::DiskFull(m) => ApiError::Conflict(m),
        }
    }
}

impl From<crate::chaos::ChaosError> for ApiError {
    fn from(e: crate::chaos::ChaosError) -> Self {
        use crate::chaos::ChaosError as C;
        match e {
            C::UnknownScenario { id, valid } => ApiError::NotOneOf {
                message: format!("unknown scenario '{id}'"),
                valid,
            },
            C::Invalid(m) => ApiError::BadRequest(m),
            C::NotFound(m) => ApiError::NotFound(m),
            C::AppNotRunning(m) => ApiError::Conflict(m),
            C::Failed(m) => ApiError::Internal(m),
        }
    }
}
