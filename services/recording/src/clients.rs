//! The services the recording service calls.
pub use stagecast_kit::{grpc::channel, stage::Grpc};
use stagecast_proto::{
    auth::v1::auth_service_client::AuthServiceClient,
    egress::v1::egress_service_client::EgressServiceClient,
    events::v1::{events_service_client::EventsServiceClient, stage_service_client::StageServiceClient},
};
use stagecast_telemetry::grpc::PropagateTrace;

#[derive(Clone)]
pub struct Clients {
    pub events: EventsServiceClient<Grpc>,
    pub stage: StageServiceClient<Grpc>,
    pub auth: AuthServiceClient<Grpc>,
    pub egress: EgressServiceClient<Grpc>,
    pub bucket: stagecast_storage::Bucket,
}

impl Clients {
    pub fn connect(
        events_url: &str,
        auth_url: &str,
        egress_url: &str,
        bucket: stagecast_storage::Bucket,
    ) -> anyhow::Result<Self> {
        let events = channel(events_url)?;
        Ok(Self {
            events: EventsServiceClient::with_interceptor(events.clone(), PropagateTrace),
            stage: StageServiceClient::with_interceptor(events, PropagateTrace),
            auth: AuthServiceClient::with_interceptor(channel(auth_url)?, PropagateTrace),
            egress: EgressServiceClient::with_interceptor(channel(egress_url)?, PropagateTrace),
            bucket,
        })
    }
}
