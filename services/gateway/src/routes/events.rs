//! Events: schedule, edit, list, and the lifecycle (go live, end, cancel).
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::events::v1 as pb;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    api_doc::Problem as ProblemDoc,
    extract::{ApiJson, AuthUser},
    input_schemas::{EventDescription, EventTitle, ImageUrl},
    problem::Problem,
    state::AppState,
    wire::events::{Event, event},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, update))
        .routes(routes!(go_live))
        .routes(routes!(end))
        .routes(routes!(cancel))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvent {
    #[schema(value_type = EventTitle)]
    title: String,
    #[serde(default)]
    #[schema(value_type = EventDescription)]
    description: String,
    /// RFC 3339; not more than 60 seconds in the past (see the operation).
    #[schema(format = DateTime, example = "2030-01-31T18:00:00Z")]
    starts_at: String,
    /// The cover image; blank for none.
    #[serde(default)]
    #[schema(value_type = ImageUrl)]
    cover_url: String,
    /// Co-hosts' user ids (UUIDs): at most 10 different users (repeats collapse), not the host.
    #[serde(default)]
    #[schema(format = "uuid")]
    cohost_ids: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEvent {
    #[schema(value_type = Option<EventTitle>)]
    title: Option<String>,
    #[schema(value_type = Option<EventDescription>)]
    description: Option<String>,
    /// RFC 3339; not more than 60 seconds in the past (see the operation); only while the event
    /// is scheduled (409 `starts_at_locked`).
    #[schema(format = DateTime)]
    starts_at: Option<String>,
    /// The cover image; blank removes it.
    #[schema(value_type = Option<ImageUrl>)]
    cover_url: Option<String>,
    /// Replaces the whole co-host list (host only; `[]` removes every co-host): at most 10
    /// different user ids (UUIDs), not the host.
    #[schema(format = "uuid")]
    cohost_ids: Option<Vec<String>>,
}

/// Which events `GET /events` lists.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names `list` accepts
pub enum EventListing {
    /// Live now, most recently started first.
    #[serde(rename = "live")]
    Live,
    /// Scheduled, soonest first.
    #[serde(rename = "upcoming")]
    Upcoming,
    /// Ended, most recently ended first.
    #[serde(rename = "past")]
    Past,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// live (most recently started first), upcoming (scheduled, soonest first; the default) or
    /// past (ended, most recently ended first).
    #[param(inline, value_type = Option<EventListing>)]
    status: Option<String>,
    /// Events per page; 0 means the default.
    #[param(minimum = 0, maximum = 100, default = 20)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page (of the same `status`); empty or left out: the first
    /// page. A cursor is a position in the listing's order (a time and an event id), so any
    /// string of its form is accepted: one from another listing continues this one from there.
    #[param(pattern = "^(?:[A-Za-z0-9_-]{32})?$")]
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EventPage {
    events: Vec<Event>,
    /// Pass it back as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
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

/// Schedule an event (the caller becomes its host)
///
/// `starts_at` must not be more than 60 seconds before the time the request arrives (422
/// `starts_at_in_past`): a rule relative to the time of the request, which the schema cannot
/// state.
#[utoipa::path(
    post,
    path = "/events",
    tag = "Events",
    operation_id = "createEvent",
    request_body = CreateEvent,
    responses(
        (status = 201, description = "The event, scheduled", body = Event),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`title_required`, `title_too_long`, `invalid_title`, `description_too_long`, `invalid_description`, `invalid_timestamp` (starts_at is not RFC 3339), `starts_at_in_past`, `invalid_cover_url`, `invalid_cohost_id`, `too_many_cohosts`, `host_cannot_be_cohost`, `invalid_body` (a missing or unknown field, a wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
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

/// List live, upcoming or past events
///
/// One page at a time: pass `next_cursor` back as `cursor` for the next one.
#[utoipa::path(
    get,
    path = "/events",
    tag = "Events",
    operation_id = "listEvents",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of events", body = EventPage),
        (status = 422, description = "`invalid_status`, `invalid_limit` (over 100), `invalid_cursor` (not of a cursor's form), `invalid_query` (a malformed value or an unknown parameter)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn list(
    State(st): State<AppState>,
    _who: AuthUser,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<ListQuery>,
) -> Result<Json<EventPage>, Problem> {
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

/// One event
#[utoipa::path(
    get,
    path = "/events/{id}",
    tag = "Events",
    operation_id = "getEvent",
    params(("id" = String, Path, format = "uuid", description = "The event's id")),
    responses(
        (status = 200, description = "The event", body = Event),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_one(State(st): State<AppState>, _who: AuthUser, Path(id): Path<String>) -> Result<Json<Event>, Problem> {
    let e = st.events.clone().get_event(pb::GetEventRequest { id }).await?.into_inner();
    Ok(Json(event(e)))
}

/// Edit an event (host or co-host; co-host list: host only)
///
/// Fields left out (or null) stay as they are. Details stay editable while the event is live; the
/// start time only while it is scheduled; nothing once it has ended or was cancelled. A new
/// `starts_at` must not be more than 60 seconds before the time the request arrives (422
/// `starts_at_in_past`): a rule relative to the time of the request, which the schema cannot
/// state.
#[utoipa::path(
    patch,
    path = "/events/{id}",
    tag = "Events",
    operation_id = "updateEvent",
    params(("id" = String, Path, format = "uuid", description = "The event's id")),
    request_body = PatchEvent,
    responses(
        (status = 200, description = "The event as it is now", body = Event),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_a_host`: only the host or a co-host edits; `host_only`: only the host changes the co-hosts.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`event_closed`: the event has ended or was cancelled; `starts_at_locked`: the start time changes only while the event is scheduled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`, `title_required`, `title_too_long`, `invalid_title`, `description_too_long`, `invalid_description`, `invalid_timestamp`, `starts_at_in_past`, `invalid_cover_url`, `invalid_cohost_id`, `too_many_cohosts`, `host_cannot_be_cohost`, `invalid_body` (an unknown field, a wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
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

/// scheduled → live (host or co-host)
#[utoipa::path(
    post,
    path = "/events/{id}/go-live",
    tag = "Events",
    operation_id = "goLive",
    params(("id" = String, Path, format = "uuid", description = "The event's id")),
    responses(
        (status = 200, description = "The event, now live", body = Event),
        (status = 403, description = "`not_a_host`: only the host or a co-host takes it live.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`illegal_transition`: the event is not scheduled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn go_live(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Event>, Problem> {
    let e = st.events.clone().go_live(pb::TransitionRequest { actor_id: who.user_id, id }).await?.into_inner();
    Ok(Json(event(e)))
}

/// live → ended (host)
///
/// A co-host gets 403 `host_only`.
#[utoipa::path(
    post,
    path = "/events/{id}/end",
    tag = "Events",
    operation_id = "endEvent",
    params(("id" = String, Path, format = "uuid", description = "The event's id")),
    responses(
        (status = 200, description = "The event, now ended", body = Event),
        (status = 403, description = "`not_a_host` (neither host nor co-host), `host_only` (a co-host).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`illegal_transition`: the event is not live", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn end(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Event>, Problem> {
    let e = st.events.clone().end_event(pb::TransitionRequest { actor_id: who.user_id, id }).await?.into_inner();
    Ok(Json(event(e)))
}

/// scheduled → cancelled (host)
#[utoipa::path(
    post,
    path = "/events/{id}/cancel",
    tag = "Events",
    operation_id = "cancelEvent",
    params(("id" = String, Path, format = "uuid", description = "The event's id")),
    responses(
        (status = 200, description = "The event, now cancelled", body = Event),
        (status = 403, description = "`not_a_host` (neither host nor co-host), `host_only` (a co-host).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`illegal_transition`: the event is not scheduled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn cancel(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Event>, Problem> {
    let e = st.events.clone().cancel_event(pb::TransitionRequest { actor_id: who.user_id, id }).await?.into_inner();
    Ok(Json(event(e)))
}
