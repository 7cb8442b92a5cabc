//! Media tokens: the ticket a client shows the SFU to join an event's room.
//!
//! The events service decides what the caller may do there (from their role in the event), the
//! auth service signs that decision, and the SFU checks the signature with the public keys. The
//! gateway only passes the decision along: it never chooses grants itself.
use std::time::Duration;

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::post,
};
use serde::Serialize;
use stagecast_kit::ErrorKind;
use stagecast_proto::{auth::v1 as auth_pb, events::v1 as events_pb};

use crate::{extract::AuthUser, problem::Problem, ratelimit, state::AppState};

/// Mints per user per minute. A client needs one per join (and one per reconnect), so this is
/// generous for people and still stops a loop hammering two services.
pub const MEDIA_TOKEN_LIMIT_PER_MINUTE: u32 = 30;

pub fn router() -> Router<AppState> {
    Router::new().route("/events/{id}/media-token", post(media_token))
}

#[derive(Debug, Serialize)]
pub struct Grants {
    subscribe: bool,
    publish: Vec<String>,
    hidden: bool,
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
    let room = uuid::Uuid::parse_str(id.trim())
        .map_err(|_| Problem::new(ErrorKind::InvalidInput, "invalid_event_id", "event id must be a UUID"))?
        .hyphenated()
        .to_string();
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
        grants: Grants { subscribe: grants.subscribe, publish: grants.publish, hidden: grants.hidden },
    }))
}
