//! Cloud recording (docs/recording.md): start, stop and layout for the event's staff, the
//! library, the chat replay aligned to a recording, and playback streamed from S3 with range
//! requests after checking, on every request, that the caller may watch.
use axum::{
    Json, Router,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::{chat::v1 as chat_pb, recording::v1 as pb};

use crate::{
    extract::{ApiJson, AuthUser, authenticate},
    problem::Problem,
    routes::rfc3339,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events/{id}/recordings", post(start).get(list_for_event))
        .route("/events/{id}/recordings/{rid}/stop", post(stop))
        .route("/events/{id}/recording-settings", get(settings).put(set_settings))
        .route("/events/{id}/recordings/{rid}/layout", put(layout))
        .route("/recordings", get(list_mine))
        .route("/recordings/{rid}", get(one).delete(remove))
        .route("/recordings/{rid}/chat", get(chat))
        .route("/recordings/{rid}/hls/{file}", get(hls))
        .route("/recordings/{rid}/download.mp4", get(mp4))
        .route("/recordings/{rid}/thumbnail.jpg", get(thumbnail))
}

#[derive(Debug, Serialize)]
pub struct Gap {
    at_ms: u64,
    duration_ms: u64,
    reason: String,
}

#[derive(Debug, Serialize)]
pub struct LayoutChange {
    at_ms: u64,
    layout: String,
}

#[derive(Debug, Serialize)]
pub struct Playback {
    hls_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mp4_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Recording {
    id: String,
    event_id: String,
    event_title: String,
    host_id: String,
    state: String,
    layout: String,
    quality: String,
    started_at: Option<String>,
    ended_at: Option<String>,
    updated_at: Option<String>,
    duration_ms: u64,
    size_bytes: u64,
    thumbnail_url: Option<String>,
    layout_changes: Vec<LayoutChange>,
    gaps: Vec<Gap>,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    playback: Option<Playback>,
}

pub fn recording(r: pb::Recording) -> Recording {
    let base = format!("/api/v1/recordings/{}", r.id);
    Recording {
        playback: r.has_playlist.then(|| Playback {
            hls_url: format!("{base}/hls/index.m3u8"),
            mp4_url: r.has_mp4.then(|| format!("{base}/download.mp4")),
        }),
        thumbnail_url: r.has_thumbnail.then(|| format!("{base}/thumbnail.jpg")),
        started_at: rfc3339(r.started_at.as_ref()),
        ended_at: rfc3339(r.ended_at.as_ref()),
        updated_at: rfc3339(r.updated_at.as_ref()),
        id: r.id,
        event_id: r.event_id,
        event_title: r.event_title,
        host_id: r.host_id,
        state: r.state,
        layout: r.layout,
        quality: r.quality,
        duration_ms: r.duration_ms,
        size_bytes: r.size_bytes,
        layout_changes: r.layout_changes.into_iter().map(|c| LayoutChange { at_ms: c.at_ms, layout: c.layout }).collect(),
        gaps: r.gaps.into_iter().map(|g| Gap { at_ms: g.at_ms, duration_ms: g.duration_ms, reason: g.reason }).collect(),
        error: r.error,
    }
}

#[derive(Debug, Serialize)]
pub struct RecordingList {
    recordings: Vec<Recording>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StartBody {
    layout: Option<String>,
    quality: Option<String>,
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutBody {
    layout: String,
}

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

#[derive(Debug, Deserialize)]
struct MineQuery {
    scope: Option<String>,
}

async fn list_mine(
    State(st): State<AppState>,
    who: AuthUser,
    Query(q): Query<MineQuery>,
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

async fn one(State(st): State<AppState>, who: AuthUser, Path(rid): Path<String>) -> Result<Json<Recording>, Problem> {
    let r =
        st.recording.clone().get_recording(pb::RecordingAction { recording_id: rid, actor_id: who.user_id }).await?.into_inner();
    Ok(Json(recording(r)))
}

async fn remove(State(st): State<AppState>, who: AuthUser, Path(rid): Path<String>) -> Result<StatusCode, Problem> {
    st.recording.clone().delete_recording(pb::RecordingAction { recording_id: rid, actor_id: who.user_id }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
struct Settings {
    event_id: String,
    auto_record: bool,
    layout: String,
    quality: String,
}

fn settings_json(s: pb::Settings) -> Settings {
    Settings { event_id: s.event_id, auto_record: s.auto_record, layout: s.layout, quality: s.quality }
}

async fn settings(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Settings>, Problem> {
    let s = st.recording.clone().get_settings(pb::SettingsRequest { event_id: id, actor_id: who.user_id }).await?.into_inner();
    Ok(Json(settings_json(s)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    auto_record: bool,
    layout: Option<String>,
    quality: Option<String>,
}

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

#[derive(Debug, Deserialize)]
struct ChatQuery {
    from_offset_ms: Option<i64>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct ReplayMessage {
    message_id: String,
    user_id: String,
    display_name: String,
    text: String,
    offset_ms: i64,
}

#[derive(Debug, Serialize)]
struct ReplayPage {
    messages: Vec<ReplayMessage>,
}

fn millis(t: Option<&prost_types::Timestamp>) -> Option<i64> {
    t.map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

/// The event's chat replay, with offsets counted from the recording's first frame (its
/// playlist's first PROGRAM-DATE-TIME), not from go-live: a message appears in the video at the
/// moment it was sent.
async fn chat(
    State(st): State<AppState>,
    who: AuthUser,
    Path(rid): Path<String>,
    Query(q): Query<ChatQuery>,
) -> Result<Json<ReplayPage>, Problem> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=500).contains(&limit) {
        return Err(Problem::new(ErrorKind::InvalidInput, "invalid_limit", "limit must be between 1 and 500"));
    }
    let r =
        st.recording.clone().get_recording(pb::RecordingAction { recording_id: rid, actor_id: who.user_id }).await?.into_inner();
    let (Some(first), Some(live)) = (millis(r.first_frame_at.as_ref()), millis(r.event_went_live_at.as_ref())) else {
        return Ok(Json(ReplayPage { messages: Vec::new() }));
    };
    // Where the recording starts on the replay's timeline (milliseconds after go-live).
    let shift = first - live;
    let from = shift + q.from_offset_ms.unwrap_or(0).max(0);
    let page = st
        .chat
        .clone()
        .replay(chat_pb::ReplayRequest { event_id: r.event_id.clone(), from_offset_ms: from, limit })
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

#[derive(Debug, Deserialize)]
struct TokenQuery {
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

async fn hls(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((rid, file)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
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

async fn mp4(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(rid): Path<String>,
    Query(q): Query<TokenQuery>,
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

async fn thumbnail(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(rid): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Problem> {
    let r = playable(&st, &headers, &q, &rid).await?;
    object(&st, &headers, &format!("{}thumbnail.jpg", r.key_prefix), "image/jpeg", None).await
}
