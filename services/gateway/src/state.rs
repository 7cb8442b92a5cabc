//! Shared state handed to every handler.
use std::sync::Arc;

use redis::aio::ConnectionManager;
use stagecast_proto::{
    auth::v1::{auth_service_client::AuthServiceClient, tokens_service_client::TokensServiceClient},
    chat::v1::chat_service_client::ChatServiceClient,
    events::v1::{events_service_client::EventsServiceClient, stage_service_client::StageServiceClient},
    media::v1::media_service_client::MediaServiceClient,
    recording::v1::recording_service_client::RecordingServiceClient,
};
use stagecast_telemetry::grpc::PropagateTrace;
use tonic::{service::interceptor::InterceptedService, transport::Channel};

use stagecast_kit::keys::KeyStore;

use crate::{avatar_store::AvatarStore, config::Config, live::hub::Hub, observe::Metrics};

pub type Grpc = InterceptedService<Channel, PropagateTrace>;

pub use stagecast_kit::grpc::MediaControl;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthServiceClient<Grpc>,
    /// Media tokens, served by the auth service (same channel as `auth`).
    pub tokens: TokensServiceClient<Grpc>,
    pub events: EventsServiceClient<Grpc>,
    /// Media-room grants, served by the events service (same channel as `events`).
    pub stage: StageServiceClient<Grpc>,
    pub chat: ChatServiceClient<Grpc>,
    /// The SFU's control API.
    pub media: MediaServiceClient<InterceptedService<Channel, MediaControl>>,
    pub auth_channel: Channel,
    pub events_channel: Channel,
    pub chat_channel: Channel,
    pub hub: Arc<Hub>,
    /// Flips to true on shutdown: open WebSockets tell their clients to reconnect elsewhere.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    pub redis: ConnectionManager,
    pub keys: Arc<KeyStore>,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    /// Uploaded avatars; `None` when S3 is not configured.
    pub avatars: Option<Arc<AvatarStore>>,
    /// Recordings, served from the store; `None` when S3 is not configured.
    pub bucket: Option<stagecast_storage::Bucket>,
    pub recording: RecordingServiceClient<Grpc>,
    pub broadcast: stagecast_proto::broadcast::v1::broadcast_service_client::BroadcastServiceClient<Grpc>,
    pub webhooks: stagecast_proto::webhooks::v1::webhooks_service_client::WebhooksServiceClient<Grpc>,
    /// True while the revoked-session list is being reloaded into Redis (one reload at a time).
    pub revocation_refill: Arc<std::sync::atomic::AtomicBool>,
    /// Set when a revocation could not be written to Redis: the list must be rebuilt.
    pub revocation_lost: Arc<std::sync::atomic::AtomicBool>,
}
