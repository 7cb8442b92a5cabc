//! The SFU's RTP taps: each on-air person's camera, microphone and screen, sent as plain RTP to
//! the job's UDP ports (`stagecast.media.v1.MediaService/StartTap`, docs/media.md). The SFU never
//! taps the backstage, so it never reaches a recording.
use std::net::{IpAddr, SocketAddr};

use stagecast_kit::grpc::MediaControl;
use stagecast_proto::media::v1::{self as pb, media_service_client::MediaServiceClient};
use tonic::{service::interceptor::InterceptedService, transport::Channel};

use crate::composite::InputPorts;

type Client = MediaServiceClient<InterceptedService<Channel, MediaControl>>;

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

    /// Taps `user_id`'s three sources; returns the tap ids, and the video codecs the SFU
    /// reports (`(source, codec)`, for sources already publishing).
    pub async fn start(
        &self,
        room: &str,
        user_id: &str,
        ports: InputPorts,
    ) -> Result<(Vec<String>, Vec<(String, String)>), tonic::Status> {
        let Some(client) = &self.client else { return Ok((Vec::new(), Vec::new())) };
        let mut ids = Vec::new();
        let mut codecs = Vec::new();
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
                    codecs.push((s.source.clone(), s.codec.clone()));
                }
                ids.push(s.tap_id);
            }
        }
        Ok((ids, codecs))
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
