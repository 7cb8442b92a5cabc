//! Events: schedule, edit, list, and the lifecycle (go live, end, cancel).
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::events::v1 as pb;

use crate::{
    extract::{ApiJson, AuthUser},
    problem::Problem,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", post(create).get(list))
        .route("/events/{id}", get(get_one).patch(update))
        .route("/events/{id}/go-live", post(go_live))
        .route("/events/{id}/end", post(end))
        .route("/events/{id}/cancel", post(cancel))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEvent {
    title: String,
    #[serde(default)]
    description: String,
    starts_at: String,
    #[serde(default)]
    cover_url: String,
    #[serde(default)]
    cohost_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchEvent {
    title: Option<String>,
    description: Option<String>,
    starts_at: Option<String>,
    cover_url: Option<String>,
    cohost_ids: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    id: String,
    title: String,
    description: String,
    starts_at: Option<String>,
    cover_url: Option<String>,
    status: &'static str,
    host_id: String,
    cohost_ids: Vec<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    went_live_at: Option<String>,
    ended_at: Option<String>,
    cancelled_at: Option<String>,
}

#[derive(Serialize)]
pub struct EventPage {
    events: Vec<Event>,
    next_cursor: Option<String>,
}

fn status_name(s: i32) -> &'static str {
    match pb::EventStatus::try_from(s) {
        Ok(pb::EventStatus::Scheduled) => "scheduled",
        Ok(pb::EventStatus::Live) => "live",
        Ok(pb::EventStatus::Ended) => "ended",
        Ok(pb::EventStatus::Cancelled) => "cancelled",
        _ => "unknown",
    }
}

pub(crate) fn event(e: pb::Event) -> Event {
    use super::rfc3339;
    Event {
        starts_at: rfc3339(e.starts_at.as_ref()),
        created_at: rfc3339(e.created_at.as_ref()),
        updated_at: rfc3339(e.updated_at.as_ref()),
        went_live_at: rfc3339(e.went_live_at.as_ref()),
        ended_at: rfc3339(e.ended_at.as_ref()),
        cancelled_at: rfc3339(e.cancelled_at.as_ref()),
        status: status_name(e.status),
        cover_url: Some(e.cover_url).filter(|s| !s.is_empty()),
        id: e.id,
        title: e.title,
        description: e.description,
        host_id: e.host_id,
        cohost_ids: e.cohost_ids,
    }
}

fn timestamp(field: &'static str, raw: &str) -> Result<prost_types::Timestamp, Problem> {
    let t = chrono::DateTime::parse_from_rfc3339(raw.trim()).map_err(|_| {
        Problem::new(
            ErrorKind::InvalidInput,
            "invalid_timestamp",
            format!("{field} must be an RFC 3339 time such as 2030-01-31T18:00:00Z"),
        )
    })?;
    Ok(prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 })
}

async fn create(
    State(st): State<AppState>,
    who: AuthUser,
    ApiJson(b): ApiJson<CreateEvent>,
) -> Result<(StatusCode, Json<Event>), Problem> {
    let req = pb::CreateEventRequest {
        actor_id: who.user_id,
        title: b.title,
        description: b.description,
        starts_at: Some(timestamp("starts_at", &b.starts_at)?),
        cover_url: b.cover_url,
        cohost_ids: b.cohost_ids,
    };
    let e = st.events.clone().create_event(req).await?.into_inner();
    Ok((StatusCode::CREATED, Json(event(e))))
}

async fn list(
    State(st): State<AppState>,
    _who: AuthUser,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EventPage>, Problem> {
    let Query(q) = q.map_err(|e| Problem::new(ErrorKind::InvalidInput, "invalid_query", e.body_text()))?;
    let filter = match q.status.as_deref().unwrap_or("upcoming") {
        "live" => pb::ListFilter::Live,
        "upcoming" => pb::ListFilter::Upcoming,
        "past" => pb::ListFilter::Past,
        other => {
            return Err(Problem::new(
                ErrorKind::InvalidInput,
                "invalid_status",
                format!("status must be live, upcoming or past, not {other:?}"),
            ));
        }
    };
    let resp = st
        .events
        .clone()
        .list_events(pb::ListEventsRequest {
            filter: filter as i32,
            limit: q.limit.unwrap_or(20),
            cursor: q.cursor.unwrap_or_default(),
        })
        .await?
        .into_inner();
    Ok(Json(EventPage {
        events: resp.events.into_iter().map(event).collect(),
        next_cursor: Some(resp.next_cursor).filter(|c| !c.is_empty()),
    }))
}

async fn get_one(State(st): State<AppState>, _who: AuthUser, Path(id): Path<String>) -> Result<Json<Event>, Problem> {
    let e = st.events.clone().get_event(pb::GetEventRequest { id }).await?.into_inner();
    Ok(Json(event(e)))
}

async fn update(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PatchEvent>,
) -> Result<Json<Event>, Problem> {
    let starts_at = b.starts_at.as_deref().map(|s| timestamp("starts_at", s)).transpose()?;
    let req = pb::UpdateEventRequest {
        actor_id: who.user_id,
        id,
        title: b.title,
        description: b.description,
        starts_at,
        cover_url: b.cover_url,
        set_cohosts: b.cohost_ids.is_some(),
        cohost_ids: b.cohost_ids.unwrap_or_default(),
    };
    let e = st.events.clone().update_event(req).await?.into_inner();
    Ok(Json(event(e)))
}

async fn go_live(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Event>, Problem> {
    let e = st.events.clone().go_live(pb::TransitionRequest { actor_id: who.user_id, id }).await?.into_inner();
    Ok(Json(event(e)))
}

async fn end(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Event>, Problem> {
    let e = st.events.clone().end_event(pb::TransitionRequest { actor_id: who.user_id, id }).await?.into_inner();
    Ok(Json(event(e)))
}

async fn cancel(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Event>, Problem> {
    let e = st.events.clone().cancel_event(pb::TransitionRequest { actor_id: who.user_id, id }).await?.into_inner();
    Ok(Json(event(e)))
}
