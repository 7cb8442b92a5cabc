//! Room happenings on the bus: `stagecast.media.v1.room.{room}.{what}`, each in the standard
//! envelope. Published by one task fed by every worker, so forwarding never waits on NATS.
//!
//! These are facts about live connections, not records: a message lost while NATS is away is
//! superseded by the next one (or by `ListParticipants`), so there is no outbox here.
use async_nats::HeaderMap;
use stagecast_bus::envelope::{Envelope, HEADER_MSG_ID, HEADER_TYPE};
use stagecast_proto::media::v1 as pb;
use tokio::sync::mpsc;

use crate::sfu::{RoomEvent, TrackInfo};

fn track(t: &TrackInfo) -> pb::Track {
    pb::Track { source: t.source.as_str().to_owned(), kind: t.kind.to_owned(), muted: t.muted }
}

/// The subject and envelope of one room event.
pub fn message(e: &RoomEvent) -> (String, Envelope) {
    let (room, what, env) = match e {
        RoomEvent::ParticipantJoined { room, peer, user_id, name } => (
            room,
            "joined",
            Envelope::wrap(&pb::ParticipantJoined {
                room: room.clone(),
                participant_id: peer.to_string(),
                user_id: user_id.clone(),
                name: name.clone(),
            }),
        ),
        RoomEvent::ParticipantLeft { room, peer, user_id, reason } => (
            room,
            "left",
            Envelope::wrap(&pb::ParticipantLeft {
                room: room.clone(),
                participant_id: peer.to_string(),
                user_id: user_id.clone(),
                reason: reason.clone(),
            }),
        ),
        RoomEvent::TrackPublished { room, peer, user_id, track: t } => (
            room,
            "track_published",
            Envelope::wrap(&pb::TrackPublished {
                room: room.clone(),
                participant_id: peer.to_string(),
                user_id: user_id.clone(),
                track: Some(track(t)),
            }),
        ),
        RoomEvent::TrackUnpublished { room, peer, user_id, track: t } => (
            room,
            "track_unpublished",
            Envelope::wrap(&pb::TrackUnpublished {
                room: room.clone(),
                participant_id: peer.to_string(),
                user_id: user_id.clone(),
                track: Some(track(t)),
            }),
        ),
        RoomEvent::TrackMuted { room, peer, user_id, track: t, by_server } => (
            room,
            "track_muted",
            Envelope::wrap(&pb::TrackMuted {
                room: room.clone(),
                participant_id: peer.to_string(),
                user_id: user_id.clone(),
                track: Some(track(t)),
                by_server: *by_server,
            }),
        ),
        RoomEvent::ActiveSpeaker { room, peer, user_id } => (
            room,
            "active_speaker",
            Envelope::wrap(&pb::ActiveSpeakerChanged {
                room: room.clone(),
                participant_id: peer.map(|p| p.to_string()).unwrap_or_default(),
                user_id: user_id.clone(),
            }),
        ),
    };
    (format!("stagecast.media.v1.room.{room}.{what}"), env)
}

/// Publishes every event from `rx` until all workers are gone.
pub async fn publish(nats: async_nats::Client, mut rx: mpsc::UnboundedReceiver<RoomEvent>) {
    while let Some(e) = rx.recv().await {
        let (subject, env) = message(&e);
        let mut headers = HeaderMap::new();
        headers.insert(HEADER_MSG_ID, env.id.to_string().as_str());
        headers.insert(HEADER_TYPE, env.type_name.as_str());
        if let Err(err) = nats.publish_with_headers(subject, headers, env.encode().into()).await {
            tracing::warn!(error = %err, "cannot publish a room event");
        }
    }
}
