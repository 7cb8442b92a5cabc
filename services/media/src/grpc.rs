//! The tonic edge of `stagecast.media.v1.MediaService`: requests parsed into domain values here,
//! nothing past this module sees proto types.
use std::sync::Arc;

use stagecast_authn::{MediaGrants, TrackSource};
use stagecast_kit::ApiError;
use stagecast_proto::media::v1::{self as pb, media_service_server::MediaService};
use tonic::{Request, Response, Status};

use crate::{rooms::Rooms, sfu::TapId, tap::TapCodec};

/// Who may call the control API: holders of `MEDIA_CONTROL_SECRET`, sent as
/// `authorization: Bearer <secret>`. With no secret configured (allowed only on a loopback
/// address), every local caller may.
#[derive(Clone)]
pub struct ControlAuth {
    secret: Option<Arc<str>>,
}

impl ControlAuth {
    pub fn new(secret: Option<&stagecast_kit::config::Secret>) -> Self {
        Self { secret: secret.map(|s| Arc::from(s.expose())) }
    }
}

impl ControlAuth {
    /// Whether an `authorization` value carries the secret; why not, when it does not.
    pub fn check(&self, authorization: Option<&str>) -> Result<(), &'static str> {
        let Some(secret) = &self.secret else { return Ok(()) };
        match authorization.and_then(|v| v.strip_prefix("Bearer ")) {
            Some(g) if same(g.as_bytes(), secret.as_bytes()) => Ok(()),
            Some(_) => Err("the control secret does not match MEDIA_CONTROL_SECRET"),
            None => Err("send the control secret as `authorization: Bearer <MEDIA_CONTROL_SECRET>`"),
        }
    }
}

impl tonic::service::Interceptor for ControlAuth {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let given = req.metadata().get("authorization").and_then(|v| v.to_str().ok());
        self.check(given).map_err(Status::unauthenticated)?;
        Ok(req)
    }
}

/// Equal, in time that does not depend on where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Clone)]
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
    Ok(MediaGrants { subscribe: g.subscribe, publish, hidden: g.hidden, backstage: g.backstage, see_backstage: g.see_backstage })
}

fn grants_pb(g: &MediaGrants) -> pb::Grants {
    pb::Grants {
        subscribe: g.subscribe,
        publish: g.publish.iter().map(|s| s.as_str().to_owned()).collect(),
        hidden: g.hidden,
        backstage: g.backstage,
        see_backstage: g.see_backstage,
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

    async fn start_tap(&self, request: Request<pb::StartTapRequest>) -> Result<Response<pb::StartTapResponse>, Status> {
        let r = request.into_inner();
        let room = required("room", &r.room)?;
        let user_id = required("user_id", &r.user_id)?;
        if r.sources.is_empty() || r.sources.len() > 4 {
            return Err(ApiError::invalid("invalid_argument", "sources: name 1 to 4 track sources").into());
        }
        let sources = r.sources.iter().map(|s| source(s)).collect::<Result<Vec<_>, _>>()?;
        let destination: std::net::SocketAddr =
            r.destination.trim().parse().map_err(|_| {
                ApiError::invalid("invalid_destination", format!("destination {:?} is not ip:port", r.destination))
            })?;
        if destination.port() == 0 || destination.ip().is_unspecified() || destination.ip().is_multicast() {
            return Err(ApiError::invalid("invalid_destination", "destination must be a unicast address with a port").into());
        }
        let infos = self.rooms.start_tap(room, user_id, sources, destination).await?;
        let streams = infos
            .into_iter()
            .map(|i| {
                let codec = i.codec.unwrap_or(if i.source.is_video() { TapCodec::Vp8 } else { TapCodec::Opus });
                pb::TapStream {
                    tap_id: i.id.to_string(),
                    source: i.source.as_str().to_owned(),
                    codec: i.codec.map(|c| c.name().to_owned()).unwrap_or_default(),
                    payload_type: codec.payload_type() as u32,
                    clock_rate: codec.clock_rate(),
                    ssrc: i.ssrc,
                }
            })
            .collect();
        Ok(Response::new(pb::StartTapResponse { streams }))
    }

    async fn stop_tap(&self, request: Request<pb::StopTapRequest>) -> Result<Response<pb::StopTapResponse>, Status> {
        let r = request.into_inner();
        let id = TapId::parse(r.tap_id.trim())
            .ok_or_else(|| ApiError::invalid("invalid_argument", format!("{:?} is not a tap id", r.tap_id)))?;
        let stopped = self.rooms.stop_tap(id).await?;
        if !stopped {
            return Err(ApiError::not_found("tap_not_found", "no such tap; it may have been stopped already").into());
        }
        Ok(Response::new(pb::StopTapResponse { stopped }))
    }

    async fn request_keyframe(
        &self,
        request: Request<pb::RequestKeyframeRequest>,
    ) -> Result<Response<pb::RequestKeyframeResponse>, Status> {
        let r = request.into_inner();
        let id = TapId::parse(r.tap_id.trim())
            .ok_or_else(|| ApiError::invalid("invalid_argument", format!("{:?} is not a tap id", r.tap_id)))?;
        let tracks = self
            .rooms
            .request_tap_keyframe(id)
            .await?
            .ok_or_else(|| ApiError::not_found("tap_not_found", "no such tap; it may have been stopped"))?;
        Ok(Response::new(pb::RequestKeyframeResponse { tracks }))
    }
}

#[cfg(test)]
mod tests {
    use tonic::{Code, service::Interceptor};

    use super::*;

    fn call(auth: &mut ControlAuth, header: Option<&str>) -> Result<(), Status> {
        let mut req = Request::new(());
        if let Some(h) = header {
            req.metadata_mut().insert("authorization", h.parse().unwrap());
        }
        auth.call(req).map(|_| ())
    }

    #[test]
    fn the_control_api_admits_only_the_holder_of_its_secret() {
        let secret: stagecast_kit::config::Secret = "s".repeat(40).parse().unwrap();
        let mut auth = ControlAuth::new(Some(&secret));
        assert!(call(&mut auth, Some(&format!("Bearer {}", "s".repeat(40)))).is_ok());
        for bad in [None, Some("Bearer nope"), Some(&*format!("Bearer {}", "s".repeat(39))), Some(&*"s".repeat(40))] {
            let err = call(&mut auth, bad).unwrap_err();
            assert_eq!(err.code(), Code::Unauthenticated, "{bad:?}");
            assert!(err.message().contains("MEDIA_CONTROL_SECRET"), "{}", err.message());
            assert!(!err.message().contains(&"s".repeat(40)), "the secret is never echoed");
        }
        // No secret configured (a loopback-only control API): local callers are trusted.
        assert!(call(&mut ControlAuth::new(None), None).is_ok());
    }
}
