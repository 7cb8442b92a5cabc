//! Cloud recording (docs/recording.md): start, stop and layout for the event's staff, the
//! library, the chat replay aligned to a recording, and playback streamed from S3 with range
//! requests after checking, on every request, that the caller may watch.
use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::{chat::v1 as chat_pb, recording::v1 as pb};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    api_doc::Problem as ProblemDoc,
    extract::{ApiJson, AuthUser, authenticate},
    problem::Problem,
    state::AppState,
    wire::recordings::{Recording, RecordingLayout, RecordingQuality, recording},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(optional_body(routes!(start, list_for_event), "/events/{id}/recordings"))
        .routes(routes!(stop))
        .routes(routes!(settings, set_settings))
        .routes(routes!(host_settings, set_host_settings))
        .routes(routes!(layout))
        .routes(routes!(list_mine))
        .routes(routes!(one, remove))
        .routes(routes!(chat))
        .routes(routes!(hls))
        .routes(routes!(mp4))
        .routes(routes!(thumbnail))
}

/// Marks the POST body of `path` optional: `#[utoipa::path]` says so only for `Option<T>`,
/// which would also allow a JSON `null` (refused with `invalid_json`).
fn optional_body(
    (schemas, mut paths, router): utoipa_axum::router::UtoipaMethodRouter<AppState>,
    path: &str,
) -> utoipa_axum::router::UtoipaMethodRouter<AppState> {
    if let Some(utoipa::openapi::RefOr::T(body)) =
        paths.paths.get_mut(path).and_then(|p| p.post.as_mut()).and_then(|op| op.request_body.as_mut())
    {
        body.required = Some(utoipa::openapi::Required::False);
    }
    (schemas, paths, router)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingList {
    /// Newest first, at most 200.
    recordings: Vec<Recording>,
}

/// How to record; the body may be left out (grid, 720p).
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StartRecording)]
struct StartBody {
    /// Left out: grid.
    #[schema(value_type = Option<RecordingLayout>)]
    layout: Option<String>,
    /// Left out: 720p.
    #[schema(value_type = Option<RecordingQuality>)]
    quality: Option<String>,
}

/// Start recording the live event (host and co-hosts)
///
/// One composite recording per event at a time (docs/recording.md). The body may be empty
/// (grid, 720p); it is read as JSON whatever its Content-Type. A refused start leaves no
/// recording behind.
#[utoipa::path(
    post,
    path = "/events/{id}/recordings",
    tag = "Recordings",
    operation_id = "startRecording",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body(content = StartBody, description = "Optional: no body (or only whitespace) records grid at 720p"),
    responses(
        (status = 201, description = "The recording, in state recording", body = Recording),
        (status = 403, description = "`not_event_staff`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`event_not_live`, `recording_already_running`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_json` (an unparseable body or an unknown field), `unknown_layout`, `unknown_quality`, `invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "`egress_busy` (the egress worker is full; try again later); `rate_limited` (an API key beyond its requests a minute)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn start(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Recording>), Problem> {
    // The body is optional: no body starts with the defaults.
    let b: StartBody = if body.iter().all(u8::is_ascii_whitespace) {
        StartBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Problem::new(ErrorKind::InvalidInput, "invalid_json", format!("the body is not a valid recording request: {e}"))
        })?
    };
    let r = st
        .recording
        .clone()
        .start_recording(pb::StartRecordingRequest {
            event_id: id,
            actor_id: who.user_id,
            layout: b.layout.unwrap_or_default(),
            quality: b.quality.unwrap_or_default(),
        })
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(recording(r))))
}

/// The recording, checked to belong to the event in the path.
async fn of_event(st: &AppState, event_id: &str, rid: &str, actor: &str) -> Result<pb::Recording, Problem> {
    let r = st
        .recording
        .clone()
        .get_recording(pb::RecordingAction { recording_id: rid.to_owned(), actor_id: actor.to_owned() })
        .await?
        .into_inner();
    if r.event_id != event_id {
        return Err(Problem::new(ErrorKind::NotFound, "recording_not_found", "this event has no such recording"));
    }
    Ok(r)
}

/// Stop a recording (host and co-hosts)
///
/// It becomes stopping, then ready once everything is stored.
#[utoipa::path(
    post,
    path = "/events/{id}/recordings/{rid}/stop",
    tag = "Recordings",
    operation_id = "stopRecording",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("rid" = String, Path, format = Uuid, description = "The recording's id"),
    ),
    responses(
        (status = 200, description = "The recording, in state stopping", body = Recording),
        (status = 403, description = "`not_event_staff`, `banned`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`recording_not_found` (also a recording of another event)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`recording_not_running` (already stopping, ready or failed)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_recording_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn stop(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, rid)): Path<(String, String)>,
) -> Result<Json<Recording>, Problem> {
    of_event(&st, &id, &rid, &who.user_id).await?;
    let r =
        st.recording.clone().stop_recording(pb::RecordingAction { recording_id: rid, actor_id: who.user_id }).await?.into_inner();
    Ok(Json(recording(r)))
}

/// The layout to switch to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SetRecordingLayout)]
struct LayoutBody {
    #[schema(value_type = RecordingLayout)]
    layout: String,
}

/// Change a running recording's layout (host and co-hosts)
///
/// Applied at the next frame and added to layout_changes.
#[utoipa::path(
    put,
    path = "/events/{id}/recordings/{rid}/layout",
    tag = "Recordings",
    operation_id = "setRecordingLayout",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("rid" = String, Path, format = Uuid, description = "The recording's id"),
    ),
    request_body = LayoutBody,
    responses(
        (status = 200, description = "The recording, with the change in layout_changes", body = Recording),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_event_staff`, `banned`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`recording_not_found` (also a recording of another event)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`recording_not_running` (only while recording)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`unknown_layout`, `invalid_recording_id`, `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn layout(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, rid)): Path<(String, String)>,
    ApiJson(b): ApiJson<LayoutBody>,
) -> Result<Json<Recording>, Problem> {
    of_event(&st, &id, &rid, &who.user_id).await?;
    let r = st
        .recording
        .clone()
        .set_layout(pb::SetLayoutRequest { recording_id: rid, actor_id: who.user_id, layout: b.layout })
        .await?
        .into_inner();
    Ok(Json(recording(r)))
}

/// The event's recordings (anyone signed in and not banned from the event)
///
/// An event without recordings, or no such event, answers an empty list.
#[utoipa::path(
    get,
    path = "/events/{id}/recordings",
    tag = "Recordings",
    operation_id = "listEventRecordings",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "Newest first, at most 200", body = RecordingList),
        (status = 403, description = "`banned`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn list_for_event(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<RecordingList>, Problem> {
    let r = st
        .recording
        .clone()
        .list_recordings(pb::ListRecordingsRequest { event_id: id, actor_id: who.user_id })
        .await?
        .into_inner();
    Ok(Json(RecordingList { recordings: r.recordings.into_iter().map(recording).collect() }))
}

/// Which recordings.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MineQuery {
    /// Only `mine` (the default).
    #[param(value_type = Option<MineScope>, inline)]
    scope: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the one scope `list_mine` accepts
enum MineScope {
    #[serde(rename = "mine")]
    Mine,
}

/// My recordings
///
/// Those of events I hosted or co-hosted when they were recorded, newest first (at most 200).
#[utoipa::path(
    get,
    path = "/recordings",
    tag = "Recordings",
    operation_id = "listMyRecordings",
    params(MineQuery),
    responses(
        (status = 200, description = "Newest first, at most 200", body = RecordingList),
        (status = 422, description = "`unknown_scope` (a scope other than mine), `invalid_query`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn list_mine(
    State(st): State<AppState>,
    who: AuthUser,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<MineQuery>,
) -> Result<Json<RecordingList>, Problem> {
    if q.scope.as_deref().is_some_and(|s| s != "mine") {
        return Err(Problem::new(ErrorKind::InvalidInput, "unknown_scope", "scope must be \"mine\""));
    }
    let r = st
        .recording
        .clone()
        .list_recordings(pb::ListRecordingsRequest { event_id: String::new(), actor_id: who.user_id })
        .await?
        .into_inner();
    Ok(Json(RecordingList { recordings: r.recordings.into_iter().map(recording).collect() }))
}

/// A recording (anyone signed in and not banned from the event)
///
/// With playback URLs once it can be played.
#[utoipa::path(
    get,
    path = "/recordings/{rid}",
    tag = "Recordings",
    operation_id = "getRecording",
    params(("rid" = String, Path, format = Uuid, description = "The recording's id")),
    responses(
        (status = 200, description = "The recording", body = Recording),
        (status = 403, description = "`banned`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`recording_not_found` (also once deleted)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_recording_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn one(State(st): State<AppState>, who: AuthUser, Path(rid): Path<String>) -> Result<Json<Recording>, Problem> {
    let r =
        st.recording.clone().get_recording(pb::RecordingAction { recording_id: rid, actor_id: who.user_id }).await?.into_inner();
    Ok(Json(recording(r)))
}

/// Delete a recording and its stored files (the event's host)
///
/// The objects in S3 go first, then the recording; if the object store fails nothing is changed
/// (503 `storage_unavailable`: try again).
#[utoipa::path(
    delete,
    path = "/recordings/{rid}",
    tag = "Recordings",
    operation_id = "deleteRecording",
    params(("rid" = String, Path, format = Uuid, description = "The recording's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`host_only`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`recording_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`recording_running` (stop it first)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_recording_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn remove(State(st): State<AppState>, who: AuthUser, Path(rid): Path<String>) -> Result<StatusCode, Problem> {
    st.recording.clone().delete_recording(pb::RecordingAction { recording_id: rid, actor_id: who.user_id }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An event's recording settings.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RecordingSettings)]
struct Settings {
    #[schema(format = Uuid)]
    event_id: String,
    /// Start a recording, as the host, when the event goes live.
    auto_record: bool,
    #[schema(value_type = RecordingLayout)]
    layout: String,
    #[schema(value_type = RecordingQuality)]
    quality: String,
}

fn settings_json(s: pb::Settings) -> Settings {
    Settings { event_id: s.event_id, auto_record: s.auto_record, layout: s.layout, quality: s.quality }
}

/// The event's recording settings (host and co-hosts)
///
/// The defaults (no automatic recording, grid, 720p) when never set.
#[utoipa::path(
    get,
    path = "/events/{id}/recording-settings",
    tag = "Recordings",
    operation_id = "getRecordingSettings",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "The settings", body = Settings),
        (status = 403, description = "`not_event_staff`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn settings(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Settings>, Problem> {
    let s = st.recording.clone().get_settings(pb::SettingsRequest { event_id: id, actor_id: who.user_id }).await?.into_inner();
    Ok(Json(settings_json(s)))
}

/// New recording settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SetRecordingSettings)]
struct SettingsBody {
    /// Start a recording, as the host, when the event goes live.
    auto_record: bool,
    /// Left out: unchanged. Also what the automatic recording uses.
    #[schema(value_type = Option<RecordingLayout>)]
    layout: Option<String>,
    /// Left out: unchanged. Also what the automatic recording uses.
    #[schema(value_type = Option<RecordingQuality>)]
    quality: Option<String>,
}

/// Set the event's recording settings (host and co-hosts)
///
/// With auto_record a recording starts, as the host, when the event goes live.
#[utoipa::path(
    put,
    path = "/events/{id}/recording-settings",
    tag = "Recordings",
    operation_id = "setRecordingSettings",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = SettingsBody,
    responses(
        (status = 200, description = "The settings now", body = Settings),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_event_staff`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`unknown_layout`, `unknown_quality`, `invalid_event_id`, `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn set_settings(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SettingsBody>,
) -> Result<Json<Settings>, Problem> {
    let s = st
        .recording
        .clone()
        .set_settings(pb::SetSettingsRequest {
            event_id: id,
            actor_id: who.user_id,
            auto_record: b.auto_record,
            layout: b.layout.unwrap_or_default(),
            quality: b.quality.unwrap_or_default(),
        })
        .await?
        .into_inner();
    Ok(Json(settings_json(s)))
}

/// The caller's own recording settings, for the events they host.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = HostRecordingSettings)]
struct HostSettings {
    /// Days a recording of an event you host is kept after it ended, then deleted with its files;
    /// null: the platform's default.
    #[schema(minimum = 1, maximum = 3650, required = true)]
    retention_days: Option<u32>,
    /// The platform's retention: the default, and the most your own counts for; null: none.
    #[schema(minimum = 1, required = true)]
    operator_retention_days: Option<u32>,
    /// What applies: the smaller of the two; null: kept until deleted.
    #[schema(minimum = 1, required = true)]
    effective_retention_days: Option<u32>,
}

fn host_settings_json(s: pb::HostSettings) -> HostSettings {
    HostSettings {
        retention_days: s.retention_days,
        operator_retention_days: s.operator_retention_days,
        effective_retention_days: s.effective_retention_days,
    }
}

/// Your recording settings as a host
///
/// How long the recordings of events you host are kept; the platform's default when never set.
#[utoipa::path(
    get,
    path = "/me/recording-settings",
    tag = "Recordings",
    operation_id = "getHostRecordingSettings",
    responses((status = 200, description = "The settings", body = HostSettings)),
    security(("bearer" = []))
)]
async fn host_settings(State(st): State<AppState>, who: AuthUser) -> Result<Json<HostSettings>, Problem> {
    let s = st.recording.clone().get_host_settings(pb::HostSettingsRequest { actor_id: who.user_id }).await?.into_inner();
    Ok(Json(host_settings_json(s)))
}

/// New recording settings as a host.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SetHostRecordingSettings)]
struct HostSettingsBody {
    /// Days a recording of an event you host is kept after it ended (1–3650); null or left out:
    /// the platform's default.
    #[schema(minimum = 1, maximum = 3650)]
    retention_days: Option<u32>,
}

/// Set how long the recordings of events you host are kept
///
/// Applies to the recordings of every event you host, those already made too, at the platform's
/// next retention sweep: a recording that ended longer ago than that is deleted with its files.
/// The platform's retention, when it has one, is the most yours counts for: a longer one is
/// kept as you set it, and the platform's applies (`effective_retention_days`).
#[utoipa::path(
    put,
    path = "/me/recording-settings",
    tag = "Recordings",
    operation_id = "setHostRecordingSettings",
    request_body = HostSettingsBody,
    responses(
        (status = 200, description = "The settings now", body = HostSettings),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_retention_days` (not 1–3650), `invalid_body` (an unknown field, a wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn set_host_settings(
    State(st): State<AppState>,
    who: AuthUser,
    ApiJson(b): ApiJson<HostSettingsBody>,
) -> Result<Json<HostSettings>, Problem> {
    let s = st
        .recording
        .clone()
        .set_host_settings(pb::SetHostSettingsRequest { actor_id: who.user_id, retention_days: b.retention_days })
        .await?
        .into_inner();
    Ok(Json(host_settings_json(s)))
}

/// A page of the recording's chat.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ChatQuery {
    /// From this position on the recording's timeline (ms); left out: 0. A negative value counts
    /// as 0.
    from_offset_ms: Option<i64>,
    /// How many messages the replay page holds before those outside the recording are left out:
    /// 1–500, left out: 200.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// A chat message on a recording's timeline.
#[derive(Debug, Serialize, ToSchema)]
struct ReplayMessage {
    #[schema(format = Uuid)]
    message_id: String,
    #[schema(format = Uuid)]
    user_id: String,
    display_name: String,
    text: String,
    /// Milliseconds from the recording's first frame.
    offset_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RecordingChatPage)]
struct ReplayPage {
    /// Oldest first.
    messages: Vec<ReplayMessage>,
}

fn millis(t: Option<&prost_types::Timestamp>) -> Option<i64> {
    t.map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

/// The event's chat replay on the recording's timeline
///
/// Offsets are counted from the recording's first frame (its playlist's first
/// PROGRAM-DATE-TIME), not from go-live: a message appears in the video at the moment it was
/// sent. Messages before the first frame, and once ready those after the end, are left out;
/// limit bounds the replay page before that, so a page may hold fewer messages: ask for the next
/// from the last offset_ms + 1. Empty before the first frame is stored. A query value of the
/// wrong type is refused with a plain-text 400 (not a problem document).
#[utoipa::path(
    get,
    path = "/recordings/{rid}/chat",
    tag = "Recordings",
    operation_id = "getRecordingChat",
    params(("rid" = String, Path, format = Uuid, description = "The recording's id"), ChatQuery),
    responses(
        (status = 200, description = "A page of messages", body = ReplayPage),
        (status = 403, description = "`banned`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`recording_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_limit`, `invalid_recording_id`, `invalid_from_offset` (too large), `invalid_query` (a value of the wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn chat(
    State(st): State<AppState>,
    who: AuthUser,
    Path(rid): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<ChatQuery>,
) -> Result<Json<ReplayPage>, Problem> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=500).contains(&limit) {
        return Err(Problem::new(ErrorKind::InvalidInput, "invalid_limit", "limit must be between 1 and 500"));
    }
    // The recording service refuses a banned viewer here; the chat service checks the reader too.
    let r = st
        .recording
        .clone()
        .get_recording(pb::RecordingAction { recording_id: rid, actor_id: who.user_id.clone() })
        .await?
        .into_inner();
    let (Some(first), Some(live)) = (millis(r.first_frame_at.as_ref()), millis(r.event_went_live_at.as_ref())) else {
        return Ok(Json(ReplayPage { messages: Vec::new() }));
    };
    // Where the recording starts on the replay's timeline (milliseconds after go-live).
    let shift = first - live;
    let from = shift + q.from_offset_ms.unwrap_or(0).max(0);
    let page = st
        .chat
        .clone()
        .replay(chat_pb::ReplayRequest { event_id: r.event_id.clone(), from_offset_ms: from, limit, reader_id: who.user_id })
        .await?
        .into_inner();
    let end = shift + r.duration_ms as i64 + r.gaps.iter().map(|g| g.duration_ms as i64).sum::<i64>();
    let messages = page
        .items
        .into_iter()
        .filter(|i| i.offset_ms >= shift && (r.state != "ready" || i.offset_ms <= end))
        .filter_map(|i| {
            let m = i.message?;
            let author = m.author.unwrap_or_default();
            Some(ReplayMessage {
                message_id: m.id,
                user_id: author.user_id,
                display_name: author.display_name,
                text: m.text,
                offset_ms: i.offset_ms - shift,
            })
        })
        .collect();
    Ok(Json(ReplayPage { messages }))
}

/// Playback's token in the URL.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TokenQuery {
    /// The access token, for players and links that cannot send Authorization (the header wins
    /// when both are sent). Never an API key (401 `api_key_in_url`).
    access_token: Option<String>,
}

/// Playback accepts the token as a header or, for `<video>` and download links, as
/// `?access_token=` (like the live socket).
async fn viewer(st: &AppState, headers: &HeaderMap, q: &TokenQuery) -> Result<String, Problem> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim);
    if header.is_none()
        && let Some(t) = q.access_token.as_deref()
    {
        crate::extract::no_key_in_url(t)?;
    }
    let token = header.or(q.access_token.as_deref()).filter(|t| !t.is_empty()).ok_or_else(|| {
        Problem::new(
            ErrorKind::Unauthenticated,
            "missing_token",
            "pass the access token as Authorization: Bearer or ?access_token=",
        )
    })?;
    let user = authenticate(st, token).await?;
    // Playback is reading a recording, whatever file of it is asked for.
    user.check_access(&http::Method::GET, "/api/v1/recordings")?;
    if user.event_scope.is_some() {
        return Err(Problem::new(ErrorKind::PermissionDenied, "guest_session_scope", "a guest session cannot watch recordings"));
    }
    Ok(user.user_id)
}

async fn playable(st: &AppState, headers: &HeaderMap, q: &TokenQuery, rid: &str) -> Result<pb::Recording, Problem> {
    let user = viewer(st, headers, q).await?;
    Ok(st
        .recording
        .clone()
        .get_recording(pb::RecordingAction { recording_id: rid.to_owned(), actor_id: user })
        .await?
        .into_inner())
}

/// Streams one object of a recording, honouring `Range`.
async fn object(
    st: &AppState,
    headers: &HeaderMap,
    key: &str,
    content_type: &str,
    download: Option<&str>,
) -> Result<Response, Problem> {
    let bucket = st
        .bucket
        .as_ref()
        .ok_or_else(|| Problem::new(ErrorKind::Unavailable, "storage_unavailable", "the object store is not configured"))?;
    let range = headers.get(header::RANGE).and_then(|r| r.to_str().ok());
    let obj = match bucket.get_range(key, range).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            return Err(Problem::new(
                ErrorKind::NotFound,
                "recording_file_not_found",
                "this part of the recording is not stored (yet)",
            ));
        }
        Err(stagecast_storage::Error::Refused { status: 416, .. }) => {
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, "").into_response());
        }
        Err(e) => {
            tracing::warn!(error = %e, key, "cannot read a recording from the object store");
            return Err(Problem::new(
                ErrorKind::Unavailable,
                "storage_unavailable",
                "the object store did not answer; try again",
            ));
        }
    };
    let mut res = Response::builder()
        .status(if obj.content_range.is_some() { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK })
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "private, no-cache");
    if let Some(len) = obj.content_length {
        res = res.header(header::CONTENT_LENGTH, len);
    }
    if let Some(cr) = &obj.content_range {
        res = res.header(header::CONTENT_RANGE, cr);
    }
    if let Some(name) = download {
        res = res.header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""));
    }
    let body = Body::from_stream(obj.body.map(|c| c.map_err(std::io::Error::other)));
    res.body(body).map_err(|e| Problem(stagecast_kit::ApiError::internal(e)))
}

/// HLS playback: the playlist or a segment
///
/// `index.m3u8` (an EVENT playlist that grows while recording and ends with EXT-X-ENDLIST once
/// ready; segment URIs are relative) or a segment `seg-NNNNN.ts`, streamed from S3 with range
/// requests. Asked for with `?access_token=`, the playlist comes back whole, with the token
/// appended to each segment URI. The token goes in `Authorization: Bearer` or `?access_token=`;
/// an API key (header only) needs `recordings:read`. Checked on every request: signed in, not a
/// guest session, not banned from the event.
#[utoipa::path(
    get,
    path = "/recordings/{rid}/hls/{file}",
    tag = "Recordings",
    operation_id = "getRecordingHlsFile",
    params(
        ("rid" = String, Path, format = Uuid, description = "The recording's id"),
        ("file" = String, Path, pattern = r"^(index\.m3u8|seg-[0-9]{5}\.ts)$", description = "`index.m3u8` or a segment `seg-NNNNN.ts`"),
        TokenQuery,
        ("Range" = Option<String>, Header, nullable = false, description = "A byte range (e.g. bytes=0-1023): answered with 206 and Content-Range (not for the playlist rewritten for `?access_token=`)"),
    ),
    responses(
        (status = 200, description = "The whole file", headers(("Accept-Ranges" = String, description = "bytes")),
            content((String = "application/vnd.apple.mpegurl"), (crate::api_doc::Binary = "video/mp2t"))),
        (status = 206, description = "The requested range", headers(("Content-Range" = String, description = "The range sent, e.g. bytes 0-1023/146515")),
            content((String = "application/vnd.apple.mpegurl"), (crate::api_doc::Binary = "video/mp2t"))),
        (status = 403, description = "`banned`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`recording_not_found`; `recording_file_not_found` (not stored yet, or any other file name)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 416, description = "The Range is outside the file (no body)"),
        (status = 422, description = "`invalid_recording_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn hls(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((rid, file)): Path<(String, String)>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<TokenQuery>,
) -> Result<Response, Problem> {
    let r = playable(&st, &headers, &q, &rid).await?;
    // Only the playlist and its segments: nothing else under the prefix is reachable.
    let content_type = if file == "index.m3u8" {
        "application/vnd.apple.mpegurl"
    } else if file.len() == 12
        && file.starts_with("seg-")
        && file.ends_with(".ts")
        && file[4..9].bytes().all(|b| b.is_ascii_digit())
    {
        "video/mp2t"
    } else {
        return Err(Problem::new(ErrorKind::NotFound, "recording_file_not_found", "no such file in this recording"));
    };
    if file == "index.m3u8"
        && let Some(token) = q.access_token.as_deref()
    {
        // A player given the token in the URL (native HLS) must carry it to the segments too.
        return playlist_with_token(&st, &r, token).await;
    }
    object(&st, &headers, &format!("{}{file}", r.key_prefix), content_type, None).await
}

async fn playlist_with_token(st: &AppState, r: &pb::Recording, token: &str) -> Result<Response, Problem> {
    let bucket = st
        .bucket
        .as_ref()
        .ok_or_else(|| Problem::new(ErrorKind::Unavailable, "storage_unavailable", "the object store is not configured"))?;
    let obj = bucket
        .get(&format!("{}index.m3u8", r.key_prefix))
        .await
        .map_err(|_| Problem::new(ErrorKind::Unavailable, "storage_unavailable", "the object store did not answer; try again"))?
        .ok_or_else(|| Problem::new(ErrorKind::NotFound, "recording_file_not_found", "the playlist is not stored yet"))?;
    let mut bytes = Vec::new();
    let mut body = obj.body;
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(
            &chunk.map_err(|_| Problem::new(ErrorKind::Unavailable, "storage_unavailable", "reading the playlist failed"))?,
        );
    }
    let text = String::from_utf8_lossy(&bytes);
    let encoded: String = token
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    let rewritten: String = text
        .lines()
        .map(|l| if l.starts_with("seg-") { format!("{l}?access_token={encoded}\n") } else { format!("{l}\n") })
        .collect();
    Ok(([(header::CONTENT_TYPE, "application/vnd.apple.mpegurl"), (header::CACHE_CONTROL, "private, no-cache")], rewritten)
        .into_response())
}

/// The recording as one MP4, as a download
///
/// Written when the recording is ready; streamed from S3 with range requests, with
/// `Content-Disposition: attachment` named after the event. The token goes in
/// `Authorization: Bearer` or `?access_token=`; an API key (header only) needs `recordings:read`.
/// Checked on every request: signed in, not a guest session, not banned from the event.
#[utoipa::path(
    get,
    path = "/recordings/{rid}/download.mp4",
    tag = "Recordings",
    operation_id = "downloadRecordingMp4",
    params(
        ("rid" = String, Path, format = Uuid, description = "The recording's id"),
        TokenQuery,
        ("Range" = Option<String>, Header, nullable = false, description = "A byte range (e.g. bytes=0-1023): answered with 206 and Content-Range"),
    ),
    responses(
        (status = 200, description = "The whole file", body = crate::api_doc::Binary, content_type = "video/mp4",
            headers(("Content-Disposition" = String, description = "attachment; filename=\"<event title>.mp4\""), ("Accept-Ranges" = String, description = "bytes"))),
        (status = 206, description = "The requested range", body = crate::api_doc::Binary, content_type = "video/mp4",
            headers(("Content-Range" = String, description = "The range sent, e.g. bytes 0-1023/146515"), ("Content-Disposition" = String))),
        (status = 403, description = "`banned`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`recording_not_found`, `recording_file_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`recording_not_ready` (the MP4 is written when the recording is ready)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 416, description = "The Range is outside the file (no body)"),
        (status = 422, description = "`invalid_recording_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn mp4(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(rid): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<TokenQuery>,
) -> Result<Response, Problem> {
    let r = playable(&st, &headers, &q, &rid).await?;
    if !r.has_mp4 {
        return Err(Problem::new(
            ErrorKind::FailedPrecondition,
            "recording_not_ready",
            "the MP4 is written when the recording ends; try again then",
        ));
    }
    let name = format!(
        "{}.mp4",
        r.event_title.chars().filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-').collect::<String>().trim()
    );
    let name = if name == ".mp4" { "recording.mp4".to_owned() } else { name };
    object(&st, &headers, &format!("{}recording.mp4", r.key_prefix), "video/mp4", Some(&name)).await
}

/// A frame of the recording (480x270 JPEG)
///
/// Stored when the recording is ready; streamed from S3 with range requests. The token goes in
/// `Authorization: Bearer` or `?access_token=`; an API key (header only) needs `recordings:read`.
/// Checked on every request: signed in, not a guest session, not banned from the event.
#[utoipa::path(
    get,
    path = "/recordings/{rid}/thumbnail.jpg",
    tag = "Recordings",
    operation_id = "getRecordingThumbnail",
    params(
        ("rid" = String, Path, format = Uuid, description = "The recording's id"),
        TokenQuery,
        ("Range" = Option<String>, Header, nullable = false, description = "A byte range (e.g. bytes=0-1023): answered with 206 and Content-Range"),
    ),
    responses(
        (status = 200, description = "The whole file", body = crate::api_doc::Binary, content_type = "image/jpeg", headers(("Accept-Ranges" = String, description = "bytes"))),
        (status = 206, description = "The requested range", body = crate::api_doc::Binary, content_type = "image/jpeg", headers(("Content-Range" = String, description = "The range sent, e.g. bytes 0-1023/20480"))),
        (status = 403, description = "`banned`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`recording_not_found`, `recording_file_not_found` (before ready)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 416, description = "The Range is outside the file (no body)"),
        (status = 422, description = "`invalid_recording_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn thumbnail(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(rid): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<TokenQuery>,
) -> Result<Response, Problem> {
    let r = playable(&st, &headers, &q, &rid).await?;
    object(&st, &headers, &format!("{}thumbnail.jpg", r.key_prefix), "image/jpeg", None).await
}
