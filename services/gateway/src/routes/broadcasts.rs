//! Restreaming (docs/broadcast.md): each user's saved destinations, and per event (host and
//! co-hosts) attaching, starting and stopping them. Stream keys go in once and never come back
//! out: responses carry only their last four characters.
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use stagecast_proto::broadcast::v1 as pb;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    api_doc::Problem as ProblemDoc,
    extract::{ApiJson, AuthUser},
    input_schemas::{DestinationName, RtmpServerUrl, StreamKey},
    problem::Problem,
    state::AppState,
    wire::broadcasts::{Destination, DestinationPlatform, EventDestination, destination, event_destination},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(remove))
        .routes(routes!(list_event, attach))
        .routes(routes!(detach, set_auto_start))
        .routes(routes!(start))
        .routes(routes!(stop))
}

#[derive(Debug, Serialize, ToSchema)]
struct DestinationList {
    destinations: Vec<Destination>,
}

#[derive(Debug, Serialize, ToSchema)]
struct EventDestinationList {
    destinations: Vec<EventDestination>,
}

/// A destination to save.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateDestination)]
struct CreateBody {
    #[schema(value_type = DestinationPlatform)]
    platform: String,
    #[serde(default)]
    #[schema(value_type = DestinationName)]
    name: String,
    /// Left out or blank: the platform's ingest (youtube rtmps://a.rtmps.youtube.com:443/live2,
    /// twitch rtmp://live.twitch.tv/app, facebook rtmps://live-api-s.facebook.com:443/rtmp);
    /// required (not blank) for custom.
    // The document states "required for custom" as an `anyOf` (api_doc::cross_field_rules).
    #[serde(default)]
    #[schema(value_type = RtmpServerUrl)]
    server_url: String,
    #[schema(value_type = StreamKey)]
    stream_key: String,
}

// The key is a secret: a failed request must never print it.
impl std::fmt::Debug for CreateBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateBody")
            .field("platform", &self.platform)
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

/// Save a restreaming destination (YouTube, Twitch, Facebook or a custom RTMP(S) server)
///
/// The stream key is stored encrypted and never returned (key_hint only). See docs/broadcast.md.
#[utoipa::path(
    post,
    path = "/destinations",
    tag = "Restreaming",
    operation_id = "createDestination",
    request_body = CreateBody,
    responses(
        (status = 201, description = "The saved destination", body = Destination),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_platform`; `invalid_server_url` (not rtmp:// or rtmps:// with a host and an application path, or missing for custom); `invalid_stream_key` (empty, over 512 bytes, spaces or slashes); `invalid_name` (over 80 characters, or control characters such as line breaks); `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn create(
    State(st): State<AppState>,
    who: AuthUser,
    ApiJson(b): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<Destination>), Problem> {
    let d = st
        .broadcast
        .clone()
        .create_destination(pb::CreateDestinationRequest {
            actor_id: who.user_id,
            platform: b.platform,
            name: b.name,
            server_url: b.server_url,
            stream_key: b.stream_key,
        })
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(destination(d))))
}

/// Your saved restreaming destinations
///
/// Only your own; stream keys are never returned (key_hint only).
#[utoipa::path(
    get,
    path = "/destinations",
    tag = "Restreaming",
    operation_id = "listDestinations",
    responses((status = 200, description = "Your destinations", body = DestinationList)),
    security(("bearer" = []))
)]
async fn list(State(st): State<AppState>, who: AuthUser) -> Result<Json<DestinationList>, Problem> {
    let r = st.broadcast.clone().list_destinations(pb::ListDestinationsRequest { actor_id: who.user_id }).await?.into_inner();
    Ok(Json(DestinationList { destinations: r.destinations.into_iter().map(destination).collect() }))
}

/// Delete one of your saved destinations
///
/// It is detached from every event and its encrypted key erased.
#[utoipa::path(
    delete,
    path = "/destinations/{id}",
    tag = "Restreaming",
    operation_id = "deleteDestination",
    params(("id" = String, Path, format = Uuid, description = "The destination's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`destination_not_found` (also someone else's)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`destination_in_use` (it is pushing to a live event now: stop it there first)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_destination_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn remove(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    st.broadcast.clone().delete_destination(pb::DestinationRef { actor_id: who.user_id, destination_id: id }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The event's destinations with the state of each push (host and co-hosts)
///
/// Bitrates are as the egress worker last reported (every 5 s while pushing).
#[utoipa::path(
    get,
    path = "/events/{id}/destinations",
    tag = "Restreaming",
    operation_id = "listEventDestinations",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "The event's destinations", body = EventDestinationList),
        (status = 403, description = "`not_event_staff`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn list_event(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<EventDestinationList>, Problem> {
    let r =
        st.broadcast.clone().list_event_destinations(pb::EventRef { actor_id: who.user_id, event_id: id }).await?.into_inner();
    Ok(Json(EventDestinationList { destinations: r.destinations.into_iter().map(event_destination).collect() }))
}

/// A saved destination to attach.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AttachDestination)]
struct AttachBody {
    /// One of your saved destinations (a co-host may also attach the host's).
    #[schema(format = Uuid)]
    destination_id: String,
    /// Start it when the event goes live; left out: false.
    #[serde(default)]
    auto_start: bool,
}

/// Attach a saved destination to the event (host and co-hosts)
///
/// A co-host may attach their own destinations or the host's.
#[utoipa::path(
    post,
    path = "/events/{id}/destinations",
    tag = "Restreaming",
    operation_id = "attachDestination",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = AttachBody,
    responses(
        (status = 201, description = "The event destination, in state idle", body = EventDestination),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_event_staff`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`destination_not_found` (unknown, or not yours or the host's), `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`already_attached`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`, `invalid_destination_id`, `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn attach(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AttachBody>,
) -> Result<(StatusCode, Json<EventDestination>), Problem> {
    let d = st
        .broadcast
        .clone()
        .attach_destination(pb::AttachRequest {
            actor_id: who.user_id,
            event_id: id,
            destination_id: b.destination_id,
            auto_start: b.auto_start,
        })
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(event_destination(d))))
}

/// Whether the destination starts by itself.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DestinationAutoStart)]
struct AutoStartBody {
    /// Start it when the event goes live.
    auto_start: bool,
}

/// Set whether the destination starts by itself when the event goes live (host and co-hosts)
#[utoipa::path(
    patch,
    path = "/events/{id}/destinations/{did}",
    tag = "Restreaming",
    operation_id = "setDestinationAutoStart",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("did" = String, Path, format = Uuid, description = "The destination's id"),
    ),
    request_body = AutoStartBody,
    responses(
        (status = 200, description = "The event destination", body = EventDestination),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_event_staff`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`not_attached`, `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`, `invalid_destination_id`, `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn set_auto_start(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, did)): Path<(String, String)>,
    ApiJson(b): ApiJson<AutoStartBody>,
) -> Result<Json<EventDestination>, Problem> {
    let d = st
        .broadcast
        .clone()
        .set_auto_start(pb::SetAutoStartRequest {
            actor_id: who.user_id,
            event_id: id,
            destination_id: did,
            auto_start: b.auto_start,
        })
        .await?
        .into_inner();
    Ok(Json(event_destination(d)))
}

fn target(who: AuthUser, id: String, did: String) -> pb::EventDestinationRef {
    pb::EventDestinationRef { actor_id: who.user_id, event_id: id, destination_id: did }
}

/// Detach a destination from the event (host and co-hosts)
///
/// A push is stopped first. The destination stays saved.
#[utoipa::path(
    delete,
    path = "/events/{id}/destinations/{did}",
    tag = "Restreaming",
    operation_id = "detachDestination",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("did" = String, Path, format = Uuid, description = "The destination's id"),
    ),
    responses(
        (status = 204, description = "Detached"),
        (status = 403, description = "`not_event_staff`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`not_attached`, `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`, `invalid_destination_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn detach(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, did)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    st.broadcast.clone().detach_destination(target(who, id, did)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start pushing the live event to the destination (host and co-hosts)
///
/// If the event's composite job runs (a recording), the destination becomes an output of it (one
/// encode); otherwise a broadcast-only job is started for the event. State changes follow on the
/// live socket as `destination` frames. A failed destination can be started again.
#[utoipa::path(
    post,
    path = "/events/{id}/destinations/{did}/start",
    tag = "Restreaming",
    operation_id = "startDestination",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("did" = String, Path, format = Uuid, description = "The destination's id"),
    ),
    responses(
        (status = 200, description = "The event destination, in state connecting", body = EventDestination),
        (status = 403, description = "`not_event_staff`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`not_attached`, `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`already_started` (connecting, live or retrying), `event_not_live`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`, `invalid_destination_id`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "`egress_busy` (the egress worker is full; try again later); `rate_limited` (an API key beyond its requests a minute)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn start(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, did)): Path<(String, String)>,
) -> Result<Json<EventDestination>, Problem> {
    let d = st.broadcast.clone().start_destination(target(who, id, did)).await?.into_inner();
    Ok(Json(event_destination(d)))
}

/// Stop pushing to the destination (host and co-hosts)
#[utoipa::path(
    post,
    path = "/events/{id}/destinations/{did}/stop",
    tag = "Restreaming",
    operation_id = "stopDestination",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("did" = String, Path, format = Uuid, description = "The destination's id"),
    ),
    responses(
        (status = 200, description = "The event destination, in state stopped", body = EventDestination),
        (status = 403, description = "`not_event_staff`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`not_attached`, `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`not_started` (it is not started, or it failed)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`, `invalid_destination_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn stop(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, did)): Path<(String, String)>,
) -> Result<Json<EventDestination>, Problem> {
    let d = st.broadcast.clone().stop_destination(target(who, id, did)).await?.into_inner();
    Ok(Json(event_destination(d)))
}
