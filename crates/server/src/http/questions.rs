//! The question library's routes. `GET /api/questions`: the library (titles and test counts, no
//! tests). `GET /api/sessions/{id}/question`: the session's question, with the visible tests for
//! the candidate and every test for the interviewer (`null` for a session without one). `POST /api/sessions/{id}/tests`
//! {"language","code"}: runs the tests on the server (visible ones for the candidate, all for the
//! interviewer) and answers pass/fail per test; the run goes on the timeline (`tests_run`).
//! The team's own questions (signed-in interviewers; another team's questions are 404):
//! `GET /api/questions/{id}` (whole, hidden tests included), `POST /api/questions` (new, answers
//! its id), `PUT /api/questions/{id}`, `DELETE /api/questions/{id}`; the library's are read-only
//! (403). `PUT /api/admin/questions/{id}` (the operator's token): saves a question of the server's
//! library.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::AppState;
use super::api::JsonBody;
use super::auth::{Auth, SignedIn};
use super::error::ApiError;
use crate::questions::{QuestionError, QuestionInput};
use crate::sessions::Role;

impl From<QuestionError> for ApiError {
    fn from(e: QuestionError) -> Self {
        match e {
            QuestionError::NotFound(m) => ApiError::NotFound(m),
            QuestionError::Invalid(m) => ApiError::BadRequest(m),
            QuestionError::Conflict(m) => ApiError::Conflict(m),
            QuestionError::Forbidden(m) => ApiError::Forbidden(m),
            QuestionError::Busy(secs) => ApiError::Busy { retry_after: secs },
            QuestionError::Store(e) => e.into(),
        }
    }
}

/// The library is the team's interviewing material: only signed-in people browse it (a
/// candidate with a session link must not read the questions ahead).
pub async fn list(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.questions.list(&account.team_id).await?))
}

pub async fn get_one(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.questions.get(&account.team_id, &id).await?))
}

pub async fn create(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    JsonBody(body): JsonBody<QuestionInput>,
) -> Result<impl IntoResponse, ApiError> {
    let id = state
        .questions
        .create(&account.team_id, &account.id, body)
        .await?;
    state
        .accounts
        .audit(
            Some(&account.email),
            "question_created",
            Some(&id),
            serde_json::json!({}),
        )
        .await;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(serde_json::json!({ "id": id })),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<QuestionInput>,
) -> Result<impl IntoResponse, ApiError> {
    state.questions.update(&account.team_id, &id, body).await?;
    state
        .accounts
        .audit(
            Some(&account.email),
            "question_updated",
            Some(&id),
            serde_json::json!({}),
        )
        .await;
    Ok(Json(serde_json::json!({ "id": id, "saved": true })))
}

pub async fn delete(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    state.questions.delete(&account.team_id, &id).await?;
    state
        .accounts
        .audit(
            Some(&account.email),
            "question_deleted",
            Some(&id),
            serde_json::json!({}),
        )
        .await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

pub async fn of_session(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.questions.for_session(&caller).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunTests {
    language: String,
    code: String,
}

pub async fn run_tests(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<RunTests>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_open()?;
    if caller.role == Role::Candidate && !caller.session.policy.execution_enabled {
        return Err(ApiError::Forbidden(
            "code execution is turned off by the interviewer".into(),
        ));
    }
    // Every language's tests run on the server, the browser's three included.
    ApiError::unless_installed(
        &state.config.workspaces.tools_dir,
        crate::installing::Feature::Languages,
    )?;
    let report = state
        .questions
        .run_tests(&caller, &body.language, &body.code)
        .await?;
    let results: Vec<_> = report.results.iter().map(|r| serde_json::json!({"name": r.name, "hidden": r.hidden, "passed": r.passed, "status": r.status})).collect();
    state
        .sessions
        .event(
            &caller.session.id,
            "tests_run",
            caller.role,
            serde_json::json!({"language": report.language, "passed": report.passed, "failed": report.failed, "results": results}),
        )
        .await;
    Ok(Json(report))
}

pub async fn save(
    State(state): State<AppState>,
    _: super::cockpit::Operator,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<QuestionInput>,
) -> Result<impl IntoResponse, ApiError> {
    state.questions.save(&id, body).await?;
    Ok(Json(serde_json::json!({ "id": id, "saved": true })))
}
