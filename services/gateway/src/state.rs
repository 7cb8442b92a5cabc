//! Shared state handed to every handler.
use std::sync::Arc;

use redis::aio::ConnectionManager;
use stagecast_proto::{auth::v1::auth_service_client::AuthServiceClient, events::v1::events_service_client::EventsServiceClient};
use stagecast_telemetry::grpc::PropagateTrace;
use tonic::{service::interceptor::InterceptedService, transport::Channel};

use crate::{config::Config, keys::KeyStore, observe::Metrics};

pub type Grpc = InterceptedService<Channel, PropagateTrace>;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthServiceClient<Grpc>,
    pub events: EventsServiceClient<Grpc>,
    pub auth_channel: Channel,
    pub events_channel: Channel,
    pub redis: ConnectionManager,
    pub keys: Arc<KeyStore>,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
}
