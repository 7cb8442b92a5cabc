//! Restreaming (docs/broadcast.md): each user's saved destinations, and per event (host and
//! co-hosts) attaching, starting and stopping them. Stream keys go in once and never come back
//! out: responses carry only their last four characters.
use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post},
};
use serde::{Deserialize, Serialize};
use stagecast_proto::broadcast::v1 as pb;

use crate::{
    extract::{ApiJson, AuthUser},
    problem::Problem,
    routes::rfc3339,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/destinations", post(create).get(list))
        .route("/destinations/{id}", delete(remove))
        .route("/events/{id}/destinations", get(list_event).post(attach))
        .route("/events/{id}/destinations/{did}", delete(detach).patch(set_auto_start))
        .route("/events/{id}/destinations/{did}/start", post(start))
        .route("/events/{id}/destinations/{did}/stop", post(stop))
}

#[derive(Debug, Serialize)]
pub struct Destination {
    id: String,
    platform: String,
    name: String,
    server_url: String,
    key_hint: String,
    created_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct EventDestination {
    event_id: String,
    destination: Option<Destination>,
    auto_start: bool,
    state: String,
    bitrate_bps: u64,
    bytes_sent: u64,
    live_since: Option<String>,
    retries: u32,
    error: String,
    error_code: String,
    updated_at: Option<String>,
}

fn destination(d: pb::Destination) -> Destination {
    Destination {
        created_at: rfc3339(d.created_at.as_ref()),
        id: d.id,
        platform: d.platform,
        name: d.name,
        server_url: d.server_url,
        key_hint: d.key_hint,
    }
}

pub fn event_destination(d: pb::EventDestination) -> EventDestination {
    EventDestination {
        live_since: rfc3339(d.live_since.as_ref()),
        updated_at: rfc3339(d.updated_at.as_ref()),
        event_id: d.event_id,
        destination: d.destination.map(destination),
        auto_start: d.auto_start,
        state: d.state,
        bitrate_bps: d.bitrate_bps,
        bytes_sent: d.bytes_sent,
        retries: d.retries,
        error: d.error,
        error_code: d.error_code,
    }
}

#[derive(Debug, Serialize)]
struct DestinationList {
    destinations: Vec<Destination>,
}

#[derive(Debug, Serialize)]
struct EventDestinationList {
    destinations: Vec<EventDestination>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    platform: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    server_url: String,
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

async fn list(State(st): State<AppState>, who: AuthUser) -> Result<Json<DestinationList>, Problem> {
    let r = st.broadcast.clone().list_destinations(pb::ListDestinationsRequest { actor_id: who.user_id }).await?.into_inner();
    Ok(Json(DestinationList { destinations: r.destinations.into_iter().map(destination).collect() }))
}

async fn remove(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    st.broadcast.clone().delete_destination(pb::DestinationRef { actor_id: who.user_id, destination_id: id }).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_event(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<EventDestinationList>, Problem> {
    let r =
        st.broadcast.clone().list_event_destinations(pb::EventRef { actor_id: who.user_id, event_id: id }).await?.into_inner();
    Ok(Json(EventDestinationList { destinations: r.destinations.into_iter().map(event_destination).collect() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachBody {
    destination_id: String,
    #[serde(default)]
    auto_start: bool,
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoStartBody {
    auto_start: bool,
}

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

async fn detach(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, did)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    st.broadcast.clone().detach_destination(target(who, id, did)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn start(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, did)): Path<(String, String)>,
) -> Result<Json<EventDestination>, Problem> {
    let d = st.broadcast.clone().start_destination(target(who, id, did)).await?.into_inner();
    Ok(Json(event_destination(d)))
}

async fn stop(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, did)): Path<(String, String)>,
) -> Result<Json<EventDestination>, Problem> {
    let d = st.broadcast.clone().stop_destination(target(who, id, did)).await?.into_inner();
    Ok(Json(event_destination(d)))
}
