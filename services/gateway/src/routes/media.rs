//! Media tokens: the ticket a client shows the SFU to join an event's room.
//!
//! The events service decides what the caller may do there (from their role in the event), the
//! auth service signs that decision, and the SFU checks the signature with the public keys. The
//! gateway only passes the decision along: it never chooses grants itself.
//!
//! Stage control: the host, co-hosts and moderators list who is connected to the room, mute
//! someone's track (only that person can unmute) and remove someone, through the SFU's control
//! API. The events service's stage policy decides who may act on whom, and logs each action.
use std::time::Duration;

use axum::{
    Json,
    extract::{Path, State},
};
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::{auth::v1 as auth_pb, events::v1 as events_pb, media::v1 as media_pb};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    api_doc::Problem as ProblemDoc,
    extract::{ApiJson, AuthUser},
    input_schemas::StageReason,
    problem::Problem,
    ratelimit,
    state::AppState,
};

/// Mints per user per minute. A client needs one per join (and one per reconnect), so this is
/// generous for people and still stops a loop hammering two services.
pub const MEDIA_TOKEN_LIMIT_PER_MINUTE: u32 = 30;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(media_token)).routes(routes!(participants)).routes(routes!(mute)).routes(routes!(remove))
}

/// A track source in the media room.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names `stagecast_authn::TrackSource` parses
pub enum TrackSource {
    #[serde(rename = "camera")]
    Camera,
    #[serde(rename = "microphone")]
    Microphone,
    #[serde(rename = "screen")]
    Screen,
    #[serde(rename = "screen_audio")]
    ScreenAudio,
}

/// The caller's role in the event, which decided the grants (highest rank first).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names the events service's `Role` gives
pub enum EventRole {
    #[serde(rename = "host")]
    Host,
    #[serde(rename = "cohost")]
    CoHost,
    #[serde(rename = "moderator")]
    Moderator,
    #[serde(rename = "speaker")]
    Speaker,
    #[serde(rename = "audience")]
    Audience,
}

/// A track's kind.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names the SFU gives
pub enum TrackKind {
    #[serde(rename = "audio")]
    Audio,
    #[serde(rename = "video")]
    Video,
}

const EVENT_ID: &str = "The event's id (also its media room)";

/// The event id in its canonical spelling, which is also the SFU room.
pub(crate) fn room_of(id: &str) -> Result<String, Problem> {
    Ok(uuid::Uuid::parse_str(id.trim())
        .map_err(|_| Problem::new(ErrorKind::InvalidInput, "invalid_event_id", "event id must be a UUID"))?
        .hyphenated()
        .to_string())
}

/// Only the stage's staff (host, co-hosts, moderators) see who is connected; the events
/// service says who they are.
async fn require_staff(st: &AppState, room: &str, user_id: &str) -> Result<(), Problem> {
    let decided = st
        .stage
        .clone()
        .get_media_grants(events_pb::GetMediaGrantsRequest { event_id: room.to_owned(), user_id: user_id.to_owned() })
        .await?
        .into_inner();
    if matches!(decided.role.as_str(), "host" | "cohost" | "moderator") {
        Ok(())
    } else {
        Err(Problem::new(ErrorKind::PermissionDenied, "not_allowed", "only the host, co-hosts and moderators run the stage"))
    }
}

fn stage_request(room: &str, who: &AuthUser, target: String) -> events_pb::StageRequest {
    events_pb::StageRequest {
        event_id: room.to_owned(),
        actor_id: who.user_id.clone(),
        target_user_id: target,
        ..Default::default()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageTrack {
    #[schema(inline, value_type = TrackSource)]
    source: String,
    #[schema(inline, value_type = TrackKind)]
    kind: String,
    /// Muted by its publisher or by the staff (`POST /events/{id}/stage/mute`).
    muted: bool,
}

/// One connection to the event's SFU room.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageParticipant {
    /// This connection (one user may have several).
    participant_id: String,
    #[schema(format = "uuid")]
    user_id: String,
    /// The display name from the user's media token.
    name: String,
    /// The media connection is up (false while it is being set up).
    connected: bool,
    tracks: Vec<StageTrack>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageParticipants {
    /// Recorders and other hidden participants are not listed.
    participants: Vec<StageParticipant>,
}

/// Who is connected to the event's media room (host, co-hosts and moderators)
#[utoipa::path(
    get,
    path = "/events/{id}/stage/participants",
    tag = "Media",
    operation_id = "listStageParticipants",
    params(("id" = String, Path, format = "uuid", description = EVENT_ID)),
    responses(
        (status = 200, description = "The room's participants", body = StageParticipants),
        (status = 403, description = "`not_allowed`: only the host, co-hosts and moderators run the stage; `banned`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn participants(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<StageParticipants>, Problem> {
    let room = room_of(&id)?;
    require_staff(&st, &room, &who.user_id).await?;
    let list = st.media.clone().list_participants(media_pb::ListParticipantsRequest { room }).await?.into_inner();
    let participants = list
        .participants
        .into_iter()
        // Recorders and other hidden peers are nobody's business on the stage.
        .filter(|p| !p.grants.as_ref().is_some_and(|g| g.hidden))
        .map(|p| StageParticipant {
            participant_id: p.participant_id,
            user_id: p.user_id,
            name: p.name,
            connected: p.connected,
            tracks: p.tracks.into_iter().map(|t| StageTrack { source: t.source, kind: t.kind, muted: t.muted }).collect(),
        })
        .collect();
    Ok(Json(StageParticipants { participants }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MuteTrack)]
pub struct MuteBody {
    /// Whose track.
    #[schema(format = "uuid")]
    user_id: String,
    #[schema(inline, value_type = TrackSource)]
    source: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StageMuted)]
pub struct Muted {
    /// Tracks muted now (0 when the participant is not connected or publishes no such track).
    tracks_muted: u32,
}

/// Mute a participant's track at the SFU; only that participant can unmute
///
/// For the staff (host, co-hosts, moderators), on someone of a lower rank (the host on anyone).
/// Forwarding stops at once and the participant is told; logged in the stage log as `muted`.
#[utoipa::path(
    post,
    path = "/events/{id}/stage/mute",
    tag = "Media",
    operation_id = "muteStageTrack",
    params(("id" = String, Path, format = "uuid", description = EVENT_ID)),
    request_body = MuteBody,
    responses(
        (status = 200, description = "What was muted", body = Muted),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_allowed` (not on the staff), `cannot_act_on_higher_role` (the target's rank is not lower).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`, `invalid_target_user_id` (user_id is not a UUID), `unknown_source`, `invalid_body` (a missing or unknown field, a wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn mute(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MuteBody>,
) -> Result<Json<Muted>, Problem> {
    let room = room_of(&id)?;
    // The policy decides and logs; the SFU then mutes.
    let request = events_pb::StageRequest { source: body.source.clone(), ..stage_request(&room, &who, body.user_id.clone()) };
    st.stage.clone().mute(request).await?;
    let r = st
        .media
        .clone()
        .mute_track(media_pb::MuteTrackRequest { room, user_id: body.user_id, source: body.source })
        .await?
        .into_inner();
    Ok(Json(Muted { tracks_muted: r.tracks_muted }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RemoveParticipant)]
pub struct RemoveBody {
    /// Who to disconnect (not yourself).
    #[schema(format = "uuid")]
    user_id: String,
    /// Shown to them.
    #[serde(default)]
    #[schema(value_type = StageReason)]
    reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StageRemoved)]
pub struct Removed {
    /// Connections closed (0 when they were not connected).
    participants_removed: u32,
}

/// Disconnect a participant from the media room with a reason
///
/// A kick, as `POST /events/{id}/kick`: for the staff (host, co-hosts, moderators), on someone of
/// a lower rank (the host on anyone); they may come back. The SFU sends `bye` with the reason.
#[utoipa::path(
    post,
    path = "/events/{id}/stage/remove",
    tag = "Media",
    operation_id = "removeStageParticipant",
    params(("id" = String, Path, format = "uuid", description = EVENT_ID)),
    request_body = RemoveBody,
    responses(
        (status = 200, description = "What was closed", body = Removed),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`cannot_act_on_yourself`: not on yourself; `not_allowed` (not on the staff), `cannot_act_on_higher_role` (the target's rank is not lower).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`, `invalid_target_user_id` (user_id is not a UUID), `reason_too_long`, `invalid_reason`, `invalid_body` (a missing or unknown field, a wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn remove(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RemoveBody>,
) -> Result<Json<Removed>, Problem> {
    let room = room_of(&id)?;
    // A removal is a kick: decided and logged by the policy, then the SFU disconnects.
    let request = events_pb::StageRequest { reason: body.reason.clone(), ..stage_request(&room, &who, body.user_id.clone()) };
    st.stage.clone().kick(request).await?;
    let r = st
        .media
        .clone()
        .remove_participant(media_pb::RemoveParticipantRequest { room, user_id: body.user_id, reason: body.reason })
        .await?
        .into_inner();
    Ok(Json(Removed { participants_removed: r.participants_removed }))
}

/// Media grants as the API shows them (media tokens, stage changes).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = MediaGrants)]
pub struct Grants {
    /// May receive the room's tracks.
    subscribe: bool,
    /// Track sources the holder may publish; empty for the audience.
    #[schema(inline, value_type = Vec<TrackSource>)]
    publish: Vec<String>,
    /// Not announced to other participants (recorders).
    hidden: bool,
    /// In the green room: only the host, co-hosts, moderators and the backstage receive this
    /// participant's media. Absent means false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    backstage: bool,
    /// Receives the backstage's media (host, co-hosts, moderators and the backstage itself).
    /// Absent means false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    see_backstage: bool,
}

impl From<events_pb::MediaGrants> for Grants {
    fn from(g: events_pb::MediaGrants) -> Self {
        Self {
            subscribe: g.subscribe,
            publish: g.publish,
            hidden: g.hidden,
            backstage: g.backstage,
            see_backstage: g.see_backstage,
        }
    }
}

/// A ticket to the event's room on the SFU: connect to `url` with `token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaToken {
    /// A JWT (EdDSA) for the SFU, audience `stagecast-media` (not an access token: the API refuses it).
    token: String,
    /// Seconds until the token expires (AUTH_MEDIA_TOKEN_TTL_SECS, default 300); ask for a new one
    /// to reconnect later.
    #[schema(example = 300)]
    expires_in: i64,
    /// Where the SFU is, for the client to connect to with `token`.
    #[schema(example = "http://127.0.0.1:8090")]
    url: String,
    /// The room: the event id in its canonical spelling.
    #[schema(format = "uuid")]
    room: String,
    // Described by `EventRole`: a doc comment here would wrap the inline enum in an allOf.
    #[schema(inline, value_type = EventRole)]
    role: String,
    grants: Grants,
}

/// A media token to join the event's room on the SFU
///
/// The grants come from your role in the event: the host and co-hosts publish every source (also
/// while the event is scheduled, to check their setup), speakers their camera and microphone,
/// moderators and the audience only subscribe. At most 30 tokens a minute per user.
#[utoipa::path(
    post,
    path = "/events/{id}/media-token",
    tag = "Media",
    operation_id = "createMediaToken",
    params(("id" = String, Path, format = "uuid", description = EVENT_ID)),
    responses(
        (status = 200, description = "The token, where to use it, and what it allows", body = MediaToken),
        (status = 403, description = "`banned`: you are banned from this event.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: over 30 media tokens a minute (or an API key beyond its requests a minute); see Retry-After", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn media_token(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<MediaToken>, Problem> {
    // The canonical spelling, so `room` here is exactly the room in the token.
    let room = room_of(&id)?;
    let mut redis = st.redis.clone();
    let bucket = format!("media_token:user:{}", who.user_id);
    ratelimit::check(&mut redis, &bucket, MEDIA_TOKEN_LIMIT_PER_MINUTE, Duration::from_secs(60)).await?;

    let decided = st
        .stage
        .clone()
        .get_media_grants(events_pb::GetMediaGrantsRequest { event_id: room.clone(), user_id: who.user_id.clone() })
        .await?
        .into_inner();
    let grants = decided.grants.unwrap_or_default();
    let minted = st
        .tokens
        .clone()
        .mint_media_token(auth_pb::MintMediaTokenRequest {
            event_id: room.clone(),
            user_id: who.user_id,
            grants: Some(auth_pb::MediaGrants {
                subscribe: grants.subscribe,
                publish: grants.publish.clone(),
                hidden: grants.hidden,
                backstage: grants.backstage,
                see_backstage: grants.see_backstage,
            }),
        })
        .await?
        .into_inner();
    Ok(Json(MediaToken {
        token: minted.token,
        expires_in: minted.expires_in,
        url: st.config.media_public_url.clone(),
        room,
        role: decided.role,
        grants: grants.into(),
    }))
}
