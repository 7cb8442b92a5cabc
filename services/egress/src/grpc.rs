//! The control API (`stagecast.egress.v1.EgressService`); proto types stop here.
use std::sync::Arc;

use stagecast_proto::egress::v1::{self as pb, egress_service_server::EgressService};
use tonic::{Request, Response, Status};

use crate::{
    composite::Participant,
    job::{JobSpec, JobView},
    worker::Worker,
};

pub struct EgressApi {
    worker: Arc<Worker>,
}

impl EgressApi {
    pub fn new(worker: Arc<Worker>) -> Self {
        Self { worker }
    }
}

fn on_air(list: Vec<pb::OnAir>) -> Vec<Participant> {
    list.into_iter().map(|p| Participant { user_id: p.user_id, name: p.name }).collect()
}

pub fn to_proto(v: &JobView) -> pb::Job {
    pb::Job {
        job_id: v.spec.job_id.clone(),
        room: v.spec.room.clone(),
        state: v.state.as_str().to_owned(),
        layout: v.spec.layout.clone(),
        quality: v.spec.quality.clone(),
        segments: v.segments,
        bytes: v.bytes,
        duration_ms: v.duration_ms,
        first_frame_at_ms: v.first_frame_at.map(|t| t.timestamp_millis()).unwrap_or(0),
        gaps: v.gaps.iter().map(|g| pb::Gap { at_ms: g.at_ms, duration_ms: g.duration_ms, reason: g.reason.clone() }).collect(),
        layout_changes: v.layout_changes.iter().map(|c| pb::LayoutChange { at_ms: c.at_ms, layout: c.layout.clone() }).collect(),
        playlist_key: v.playlist_key(),
        mp4_key: v.mp4_key(),
        thumbnail_key: v.thumbnail_key(),
        error: v.error.clone(),
        spooled: v.spooled,
        inputs: v
            .inputs
            .iter()
            .map(|(u, p)| pb::Input {
                user_id: u.clone(),
                camera_port: p.camera as u32,
                microphone_port: p.microphone as u32,
                screen_port: p.screen as u32,
            })
            .collect(),
        mp4_bytes: v.mp4_bytes,
        outputs: v
            .outputs
            .iter()
            .map(|o| pb::Output {
                output_id: o.id.clone(),
                state: o.state.as_str().to_owned(),
                bitrate_bps: o.bitrate_bps,
                bytes_sent: o.bytes_sent,
                live_since_ms: o.live_since.map(|t| t.timestamp_millis()).unwrap_or(0),
                retries: o.retries,
                error: o.error.clone(),
                error_code: o.error_code.clone(),
            })
            .collect(),
        broadcast_only: !v.spec.record,
        idle_since_ms: v.idle_since.map(|t| t.timestamp_millis()).unwrap_or(0),
    }
}

#[tonic::async_trait]
impl EgressService for EgressApi {
    async fn start_job(&self, req: Request<pb::StartJobRequest>) -> Result<Response<pb::Job>, Status> {
        let r = req.into_inner();
        let spec = JobSpec {
            job_id: r.job_id,
            room: r.room,
            layout: if r.layout.is_empty() { "grid".into() } else { r.layout },
            quality: r.quality,
            key_prefix: r.key_prefix,
            on_air: r.on_air.into_iter().map(|p| (p.user_id, p.name)).collect(),
            record: !r.broadcast_only,
        };
        Ok(Response::new(to_proto(&self.worker.start(spec)?)))
    }

    async fn update_job(&self, req: Request<pb::UpdateJobRequest>) -> Result<Response<pb::Job>, Status> {
        let r = req.into_inner();
        let layout = (!r.layout.is_empty()).then_some(r.layout.as_str());
        let people = r.set_on_air.then(|| on_air(r.on_air));
        Ok(Response::new(to_proto(&self.worker.update(&r.job_id, layout, people).await?)))
    }

    async fn stop_job(&self, req: Request<pb::StopJobRequest>) -> Result<Response<pb::Job>, Status> {
        Ok(Response::new(to_proto(&self.worker.stop(&req.into_inner().job_id).await?)))
    }

    async fn get_job(&self, req: Request<pb::GetJobRequest>) -> Result<Response<pb::Job>, Status> {
        Ok(Response::new(to_proto(&self.worker.get(&req.into_inner().job_id)?)))
    }

    async fn find_job(&self, req: Request<pb::FindJobRequest>) -> Result<Response<pb::Job>, Status> {
        Ok(Response::new(to_proto(&self.worker.find(&req.into_inner().room)?)))
    }

    async fn add_output(&self, req: Request<pb::AddOutputRequest>) -> Result<Response<pb::Job>, Status> {
        let r = req.into_inner();
        Ok(Response::new(to_proto(&self.worker.add_output(&r.job_id, &r.output_id, &r.url).await?)))
    }

    async fn remove_output(&self, req: Request<pb::RemoveOutputRequest>) -> Result<Response<pb::Job>, Status> {
        let r = req.into_inner();
        Ok(Response::new(to_proto(&self.worker.remove_output(&r.job_id, &r.output_id).await?)))
    }
}
