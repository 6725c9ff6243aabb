//! Chaos Engine routes: interviewer only on every route (candidate 403, no token 401), so a
//! candidate cannot even learn that chaos exists in their session.

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
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

fn interviewer_workspace(state: &AppState, caller: &Caller) -> Result<std::sync::Arc<crate::workspace::Workspace>, ApiError> {
    caller.require_interviewer()?;
    workspace_of(state, caller)
}

pub async fn status(State(state): State<AppState>, Auth(caller): Auth) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller)?;
    Ok(Json(chaos::status(&ws)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRef {
    scenario: String,
}

pub async fn activate(State(state): State<AppState>, Auth(caller): Auth, JsonBody(body): JsonBody<ScenarioRef>) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller)?;
    caller.require_open()?;
    let started = Instant::now();
    chaos::activate(&ws, &body.scenario).await?;
    let took_ms = started.elapsed().as_millis() as u64;
    state.sessions.event(&caller.session.id, "chaos_activated", Role::Interviewer, serde_json::json!({"scenario": body.scenario, "took_ms": took_ms})).await;
    Ok(Json(chaos::status(&ws)))
}

pub async fn deactivate(State(state): State<AppState>, Auth(caller): Auth, JsonBody(body): JsonBody<ScenarioRef>) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller)?;
    chaos::deactivate(&ws, &body.scenario)?;
    state.sessions.event(&caller.session.id, "chaos_deactivated", Role::Interviewer, serde_json::json!({"scenario": body.scenario})).await;
    Ok(Json(chaos::status(&ws)))
}

pub async fn add_fault(State(state): State<AppState>, Auth(caller): Auth, JsonBody(spec): JsonBody<FaultSpec>) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller)?;
    caller.require_open()?;
    let fault = chaos::add_fault(&ws, spec)?;
    state.sessions.event(&caller.session.id, "chaos_fault_added", Role::Interviewer, serde_json::to_value(&fault).unwrap_or_default()).await;
    Ok((StatusCode::CREATED, Json(chaos::status(&ws))))
}

pub async fn remove_fault(State(state): State<AppState>, Auth(caller): Auth, Path((_, fault_id)): Path<(String, String)>) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller)?;
    chaos::remove_fault(&ws, &fault_id)?;
    state.sessions.event(&caller.session.id, "chaos_fault_removed", Role::Interviewer, serde_json::json!({"fault": fault_id})).await;
    Ok(Json(chaos::status(&ws)))
}

pub async fn reset(State(state): State<AppState>, Auth(caller): Auth) -> Result<impl IntoResponse, ApiError> {
    let ws = interviewer_workspace(&state, &caller)?;
    chaos::reset(&ws).await?;
    state.sessions.event(&caller.session.id, "chaos_reset", Role::Interviewer, serde_json::json!({})).await;
    Ok(Json(chaos::status(&ws)))
}
