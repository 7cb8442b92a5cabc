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
    Json, Router,
    extract::{Path, State},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::{auth::v1 as auth_pb, events::v1 as events_pb, media::v1 as media_pb};

use crate::{
    extract::{ApiJson, AuthUser},
    problem::Problem,
    ratelimit,
    state::AppState,
};

/// Mints per user per minute. A client needs one per join (and one per reconnect), so this is
/// generous for people and still stops a loop hammering two services.
pub const MEDIA_TOKEN_LIMIT_PER_MINUTE: u32 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events/{id}/media-token", post(media_token))
        .route("/events/{id}/stage/participants", get(participants))
        .route("/events/{id}/stage/mute", post(mute))
        .route("/events/{id}/stage/remove", post(remove))
}

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

#[derive(Debug, Serialize)]
pub struct StageTrack {
    source: String,
    kind: String,
    muted: bool,
}

#[derive(Debug, Serialize)]
pub struct StageParticipant {
    participant_id: String,
    user_id: String,
    name: String,
    connected: bool,
    tracks: Vec<StageTrack>,
}

#[derive(Debug, Serialize)]
pub struct StageParticipants {
    participants: Vec<StageParticipant>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteBody {
    user_id: String,
    source: String,
}

#[derive(Debug, Serialize)]
pub struct Muted {
    tracks_muted: u32,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveBody {
    user_id: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Serialize)]
pub struct Removed {
    participants_removed: u32,
}

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
#[derive(Debug, Serialize)]
pub struct Grants {
    subscribe: bool,
    publish: Vec<String>,
    hidden: bool,
    /// In the green room: only the host, co-hosts, moderators and the backstage see them.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    backstage: bool,
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

#[derive(Debug, Serialize)]
pub struct MediaToken {
    token: String,
    expires_in: i64,
    /// Where the SFU is, for the client to connect to with `token`.
    url: String,
    room: String,
    role: String,
    grants: Grants,
}

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
