//! The tonic edge of `stagecast.media.v1.MediaService`: requests parsed into domain values here,
//! nothing past this module sees proto types.
use std::sync::Arc;

use stagecast_authn::{MediaGrants, TrackSource};
use stagecast_kit::ApiError;
use stagecast_proto::media::v1::{self as pb, media_service_server::MediaService};
use tonic::{Request, Response, Status};

use crate::rooms::Rooms;

pub struct MediaApi {
    rooms: Arc<Rooms>,
}

impl MediaApi {
    pub fn new(rooms: Arc<Rooms>) -> Self {
        Self { rooms }
    }
}

fn required<'a>(field: &'static str, v: &'a str) -> Result<&'a str, ApiError> {
    let v = v.trim();
    if v.is_empty() || v.len() > 128 {
        return Err(ApiError::invalid("invalid_argument", format!("{field} is required (at most 128 characters)")));
    }
    Ok(v)
}

fn source(s: &str) -> Result<TrackSource, ApiError> {
    TrackSource::parse(s).ok_or_else(|| {
        ApiError::invalid("unknown_source", format!("unknown track source {s:?}; use camera, microphone, screen or screen_audio"))
    })
}

fn grants(g: pb::Grants) -> Result<MediaGrants, ApiError> {
    let mut publish = g.publish.iter().map(|s| source(s)).collect::<Result<Vec<_>, _>>()?;
    publish.sort();
    publish.dedup();
    Ok(MediaGrants { subscribe: g.subscribe, publish, hidden: g.hidden })
}

fn grants_pb(g: &MediaGrants) -> pb::Grants {
    pb::Grants {
        subscribe: g.subscribe,
        publish: g.publish.iter().map(|s| s.as_str().to_owned()).collect(),
        hidden: g.hidden,
    }
}

#[tonic::async_trait]
impl MediaService for MediaApi {
    async fn list_participants(
        &self,
        request: Request<pb::ListParticipantsRequest>,
    ) -> Result<Response<pb::ListParticipantsResponse>, Status> {
        let r = request.into_inner();
        let room = required("room", &r.room)?;
        let participants = self
            .rooms
            .participants(room)
            .await?
            .into_iter()
            .map(|p| pb::Participant {
                participant_id: p.peer.to_string(),
                user_id: p.user_id,
                name: p.name,
                grants: Some(grants_pb(&p.grants)),
                tracks: p
                    .tracks
                    .iter()
                    .map(|t| pb::Track { source: t.source.as_str().into(), kind: t.kind.into(), muted: t.muted })
                    .collect(),
                connected: p.connected,
            })
            .collect();
        Ok(Response::new(pb::ListParticipantsResponse { participants }))
    }

    async fn mute_track(&self, request: Request<pb::MuteTrackRequest>) -> Result<Response<pb::MuteTrackResponse>, Status> {
        let r = request.into_inner();
        let n = self.rooms.mute(required("room", &r.room)?, required("user_id", &r.user_id)?, source(&r.source)?).await?;
        Ok(Response::new(pb::MuteTrackResponse { tracks_muted: n }))
    }

    async fn update_grants(
        &self,
        request: Request<pb::UpdateGrantsRequest>,
    ) -> Result<Response<pb::UpdateGrantsResponse>, Status> {
        let r = request.into_inner();
        let grants = grants(r.grants.ok_or_else(|| ApiError::invalid("invalid_argument", "grants is required"))?)?;
        let n = self.rooms.update_grants(required("room", &r.room)?, required("user_id", &r.user_id)?, grants).await?;
        Ok(Response::new(pb::UpdateGrantsResponse { participants_updated: n }))
    }

    async fn remove_participant(
        &self,
        request: Request<pb::RemoveParticipantRequest>,
    ) -> Result<Response<pb::RemoveParticipantResponse>, Status> {
        let r = request.into_inner();
        let reason = if r.reason.trim().is_empty() { "removed by a host" } else { r.reason.trim() };
        let n = self.rooms.remove(required("room", &r.room)?, required("user_id", &r.user_id)?, reason).await?;
        Ok(Response::new(pb::RemoveParticipantResponse { participants_removed: n }))
    }
}
