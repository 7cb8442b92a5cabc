//! The SFU's RTP taps: each on-air person's camera, microphone and screen, sent as plain RTP to
//! the job's UDP ports (`stagecast.media.v1.MediaService/StartTap`, docs/media.md). The SFU never
//! taps the backstage, so it never reaches a recording. Also what the job asks the SFU about its
//! room: who publishes (for the idle clock) and keyframes after a loss on a tap.
use std::{
    collections::HashSet,
    net::{IpAddr, SocketAddr},
};

use stagecast_kit::grpc::MediaControl;
use stagecast_proto::media::v1::{self as pb, media_service_client::MediaServiceClient};
use tonic::{service::interceptor::InterceptedService, transport::Channel};

use crate::composite::InputPorts;

type Client = MediaServiceClient<InterceptedService<Channel, MediaControl>>;

/// What tapping one person started.
#[derive(Debug, Default)]
pub struct Tapped {
    /// `(source, tap id)`.
    pub taps: Vec<(String, String)>,
    /// `(source, codec)` of the sources already publishing.
    pub codecs: Vec<(String, String)>,
}

/// Starts and stops taps. Without an SFU (`None`), inputs are whatever is sent to the ports —
/// how the pipeline's own tests feed it.
#[derive(Clone)]
pub struct Taps {
    client: Option<Client>,
    /// The address the SFU sends RTP to (this worker's).
    rtp_ip: IpAddr,
}

impl Taps {
    pub fn new(client: Option<Client>, rtp_ip: IpAddr) -> Self {
        Self { client, rtp_ip }
    }

    pub fn connect(url: &str, control: MediaControl, rtp_ip: IpAddr) -> anyhow::Result<Self> {
        let channel = tonic::transport::Endpoint::from_shared(url.to_owned())?
            .connect_timeout(std::time::Duration::from_secs(2))
            .timeout(std::time::Duration::from_secs(5))
            .connect_lazy();
        Ok(Self::new(Some(MediaServiceClient::with_interceptor(channel, control)), rtp_ip))
    }

    /// Taps `user_id`'s three sources; returns the taps (`(source, tap id)`), and the video
    /// codecs the SFU reports (`(source, codec)`, for sources already publishing).
    pub async fn start(&self, room: &str, user_id: &str, ports: InputPorts) -> Result<Tapped, tonic::Status> {
        let Some(client) = &self.client else { return Ok(Tapped::default()) };
        let mut tapped = Tapped::default();
        for (source, port) in [("camera", ports.camera), ("microphone", ports.microphone), ("screen", ports.screen)] {
            let res = client
                .clone()
                .start_tap(pb::StartTapRequest {
                    room: room.to_owned(),
                    user_id: user_id.to_owned(),
                    sources: vec![source.to_owned()],
                    destination: SocketAddr::new(self.rtp_ip, port).to_string(),
                })
                .await?;
            for s in res.into_inner().streams {
                if !s.codec.is_empty() {
                    tapped.codecs.push((s.source.clone(), s.codec.clone()));
                }
                tapped.taps.push((s.source, s.tap_id));
            }
        }
        Ok(tapped)
    }

    /// Asks the SFU for a keyframe from the publisher behind a video tap (an input lost RTP
    /// between the SFU and us, which the SFU cannot see). Without an SFU there is nobody to ask.
    pub async fn request_keyframe(&self, tap_id: &str) -> Result<(), tonic::Status> {
        let Some(client) = &self.client else { return Ok(()) };
        client.clone().request_keyframe(pb::RequestKeyframeRequest { tap_id: tap_id.to_owned() }).await?;
        Ok(())
    }

    /// Whether there is an SFU to ask about the room (the pipeline's own tests run without).
    pub fn has_sfu(&self) -> bool {
        self.client.is_some()
    }

    /// The users publishing in `room` now: connected, visible and not backstage, with at least
    /// one track (muted or not: someone who muted is still on air). `None` without an SFU.
    pub async fn publishers(&self, room: &str) -> Result<Option<HashSet<String>>, tonic::Status> {
        let Some(client) = &self.client else { return Ok(None) };
        let res = client.clone().list_participants(pb::ListParticipantsRequest { room: room.to_owned() }).await?;
        Ok(Some(
            res.into_inner()
                .participants
                .into_iter()
                .filter(|p| {
                    let g = p.grants.clone().unwrap_or_default();
                    p.connected && !g.hidden && !g.backstage && !p.tracks.is_empty()
                })
                .map(|p| p.user_id)
                .collect(),
        ))
    }

    pub async fn stop_all(&self, ids: &[String]) {
        let Some(client) = &self.client else { return };
        for id in ids {
            if let Err(e) = client.clone().stop_tap(pb::StopTapRequest { tap_id: id.clone() }).await
                && e.code() != tonic::Code::NotFound
            {
                tracing::warn!(tap = %id, error = %e, "cannot stop a tap");
            }
        }
    }
}
