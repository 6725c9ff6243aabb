//! Chaos Engine routes: interviewer only on every route (candidate 403, no token 401), so a
//! candidate cannot even learn that chaos exists in their session.

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::AppState;
use super::api::JsonBody;
use super::auth::Auth;
use super::error::ApiError;
use super::workspace::workspace_of;
use crate::chaos::{self, FaultSpec};
use crate::sessions::{Caller, Role};

async fn interviewer_workspace(
    state: &AppState,
    caller: &Caller,
) -> Result<std::sync::Arc<crate::workspace::Workspace>, ApiError> {
    caller.require_interviewer()?;
    workspace_of(state, caller).await
}

pub async fn status(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller).await?;
    Ok(Json(chaos::status(&ws)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRef {
    scenario: String,
}

pub async fn activate(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ScenarioRef>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller).await?;
    caller.require_open()?;
    let started = Instant::now();
    chaos::activate(&ws, &body.scenario).await?;
    let took_ms = started.elapsed().as_millis() as u64;
    state
        .sessions
        .event(
            &caller.session.id,
            "chaos_activated",
            Role::Interviewer,
            serde_json::json!({"scenario": body.scenario, "took_ms": took_ms}),
        )
        .await;
    Ok(Json(chaos::status(&ws)))
}

pub async fn deactivate(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ScenarioRef>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller).await?;
    chaos::deactivate(&ws, &body.scenario)?;
    state
        .sessions
        .event(
            &caller.session.id,
            "chaos_deactivated",
            Role::Interviewer,
            serde_json::json!({"scenario": body.scenario}),
        )
        .await;
    Ok(Json(chaos::status(&ws)))
}

pub async fn add_fault(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(spec): JsonBody<FaultSpec>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller).await?;
    caller.require_open()?;
    let fault = chaos::add_fault(&ws, spec)?;
    state
        .sessions
        .event(
            &caller.session.id,
            "chaos_fault_added",
            Role::Interviewer,
            serde_json::to_value(&fault).unwrap_or_default(),
        )
        .await;
    Ok((StatusCode::CREATED, Json(chaos::status(&ws))))
}

pub async fn remove_fault(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((_, fault_id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller).await?;
    chaos::remove_fault(&ws, &fault_id)?;
    state
        .sessions
        .event(
            &caller.session.id,
            "chaos_fault_removed",
            Role::Interviewer,
            serde_json::json!({"fault": fault_id}),
        )
        .await;
    Ok(Json(chaos::status(&ws)))
}

pub async fn reset(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller).await?;
    chaos::reset(&ws).await?;
    state
        .sessions
        .event(
            &caller.session.id,
            "chaos_reset",
            Role::Interviewer,
            serde_json::json!({}),
        )
        .await;
    Ok(Json(chaos::status(&ws)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksRequest {
    scenario: Option<String>,
}

/// Runs the recovery checks (one scenario's, or all); the results go on the timeline (and so
/// into the report).
pub async fn checks(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ChecksRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller).await?;
    caller.require_open()?;
    let scenario = body.scenario;
    let results = chaos::checks::run(&ws, scenario.as_deref()).await?;
    let passed = results.iter().filter(|r| r.passed).count();
    ws.traffic.mark(
        "checks",
        format!("{passed} of {} checks passed", results.len()),
    );
    state
        .sessions
        .event(&caller.session.id, "chaos_checks", Role::Interviewer, serde_json::json!({"scenario": scenario, "passed": passed, "failed": results.len() - passed, "checks": results}))
        .await;
    Ok(Json(serde_json::json!({ "checks": results })))
}

#[derive(Deserialize)]
pub struct StatsQuery {
    /// Seconds of history (default 300, at most 3,600).
    window: Option<u32>,
    /// Seconds per chart point (default: the window / 60).
    step: Option<u32>,
}

/// `GET /api/sessions/{id}/app/stats`: the live figures of the app's traffic. Interviewer only.
pub async fn app_stats(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Query(q): Query<StatsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller).await?;
    let window = q.window.unwrap_or(300).clamp(10, 3600);
    let step = q.step.unwrap_or((window / 60).max(1)).clamp(1, window);
    // At most 600 points per chart.
    let step = step.max(window.div_ceil(600));
    Ok(Json(ws.traffic.stats(window, step, 50)))
}
