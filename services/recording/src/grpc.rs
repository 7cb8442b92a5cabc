//! `stagecast.recording.v1.RecordingService`; proto types stop here.
use stagecast_proto::recording::v1::{self as pb, recording_service_server::RecordingService};
use tonic::{Request, Response, Status};

use crate::service::Recordings;

pub struct RecordingApi {
    recordings: Recordings,
}

impl RecordingApi {
    pub fn new(recordings: Recordings) -> Self {
        Self { recordings }
    }
}

#[tonic::async_trait]
impl RecordingService for RecordingApi {
    async fn start_recording(&self, req: Request<pb::StartRecordingRequest>) -> Result<Response<pb::Recording>, Status> {
        let r = req.into_inner();
        Ok(Response::new(self.recordings.start(&r.event_id, &r.actor_id, &r.layout, &r.quality).await?.to_proto()))
    }

    async fn stop_recording(&self, req: Request<pb::RecordingAction>) -> Result<Response<pb::Recording>, Status> {
        let r = req.into_inner();
        Ok(Response::new(self.recordings.stop(&r.recording_id, &r.actor_id).await?.to_proto()))
    }

    async fn set_layout(&self, req: Request<pb::SetLayoutRequest>) -> Result<Response<pb::Recording>, Status> {
        let r = req.into_inner();
        Ok(Response::new(self.recordings.set_layout(&r.recording_id, &r.actor_id, &r.layout).await?.to_proto()))
    }

    async fn get_recording(&self, req: Request<pb::RecordingAction>) -> Result<Response<pb::Recording>, Status> {
        let r = req.into_inner();
        Ok(Response::new(self.recordings.get(&r.recording_id, &r.actor_id).await?.to_proto()))
    }

    async fn list_recordings(
        &self,
        req: Request<pb::ListRecordingsRequest>,
    ) -> Result<Response<pb::ListRecordingsResponse>, Status> {
        let r = req.into_inner();
        let recordings = self.recordings.list(&r.event_id, &r.actor_id).await?.iter().map(|r| r.to_proto()).collect();
        Ok(Response::new(pb::ListRecordingsResponse { recordings }))
    }

    async fn get_settings(&self, req: Request<pb::SettingsRequest>) -> Result<Response<pb::Settings>, Status> {
        let r = req.into_inner();
        Ok(Response::new(self.recordings.settings(&r.event_id, &r.actor_id).await?.to_proto()))
    }

    async fn set_settings(&self, req: Request<pb::SetSettingsRequest>) -> Result<Response<pb::Settings>, Status> {
        let r = req.into_inner();
        Ok(Response::new(
            self.recordings.set_settings(&r.event_id, &r.actor_id, r.auto_record, &r.layout, &r.quality).await?.to_proto(),
        ))
    }

    async fn get_host_settings(&self, req: Request<pb::HostSettingsRequest>) -> Result<Response<pb::HostSettings>, Status> {
        Ok(Response::new(self.recordings.host_settings(&req.into_inner().actor_id).await?.to_proto()))
    }

    async fn set_host_settings(&self, req: Request<pb::SetHostSettingsRequest>) -> Result<Response<pb::HostSettings>, Status> {
        let r = req.into_inner();
        Ok(Response::new(self.recordings.set_host_settings(&r.actor_id, r.retention_days).await?.to_proto()))
    }

    async fn delete_recording(&self, req: Request<pb::RecordingAction>) -> Result<Response<pb::DeleteRecordingResponse>, Status> {
        let r = req.into_inner();
        self.recordings.delete(&r.recording_id, &r.actor_id).await?;
        Ok(Response::new(pb::DeleteRecordingResponse {}))
    }
}
