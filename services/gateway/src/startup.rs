//! Wiring: gRPC channels, Redis, NATS, the router and its middleware, graceful shutdown.
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{Router, extract::DefaultBodyLimit};
use stagecast_proto::{
    auth::v1::{auth_service_client::AuthServiceClient, tokens_service_client::TokensServiceClient},
    chat::v1::chat_service_client::ChatServiceClient,
    events::v1::{events_service_client::EventsServiceClient, stage_service_client::StageServiceClient},
    media::v1::media_service_client::MediaServiceClient,
};
use stagecast_telemetry::grpc::PropagateTrace;
use tokio::net::TcpListener;
use tonic::transport::{Channel, Endpoint};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    timeout::TimeoutLayer,
};

use stagecast_kit::keys::KeyStore;

use crate::{avatar_store::AvatarStore, config::Config, observe, routes, state::AppState};

/// Largest JSON body accepted anywhere in the API.
pub const BODY_LIMIT: usize = 64 * 1024;

pub struct Application {
    listener: TcpListener,
    router: Router,
    nats: async_nats::Client,
    state: AppState,
    shutdown_tx: tokio::sync::watch::Sender<bool>,
}

fn channel(url: &str) -> anyhow::Result<Channel> {
    // Lazy: the gateway starts (and reports not-ready) while a backend is still coming up.
    Ok(Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("invalid gRPC URL {url}"))?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .connect_lazy())
}

/// The avatar bucket, if S3 credentials are configured. The bucket is created on first use, so
/// the gateway starts (and serves everything else) while the store is down.
fn avatar_store(config: &Config) -> anyhow::Result<Option<(Arc<AvatarStore>, stagecast_storage::Bucket)>> {
    let s3 = &config.s3;
    let (Some(access_key), Some(secret_key)) = (&s3.access_key, &s3.secret_key) else {
        tracing::warn!("S3_ACCESS_KEY / S3_SECRET_KEY not set: avatar uploads are unavailable");
        return Ok(None);
    };
    let bucket = stagecast_storage::Bucket::new(stagecast_storage::Config {
        endpoint: Some(s3.endpoint.clone()),
        region: s3.region.clone(),
        access_key: access_key.expose().to_owned(),
        secret_key: secret_key.expose().to_owned(),
        bucket: s3.bucket.clone(),
    })
    .context("S3_ENDPOINT / S3_BUCKET")?;
    Ok(Some((Arc::new(AvatarStore::new(bucket.clone())), bucket)))
}

impl Application {
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        // Bound first, so the default public URL has the real port (tests bind port 0).
        let listener = TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
        if config.public_url.is_none() {
            let mut local = listener.local_addr().context("bound address")?;
            if local.ip().is_unspecified() {
                local.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            config.public_url = Some(format!("http://{local}"));
        }
        let (avatars, bucket) = match avatar_store(&config)? {
            Some((a, b)) => (Some(a), Some(b)),
            None => (None, None),
        };
        let recording = stagecast_proto::recording::v1::recording_service_client::RecordingServiceClient::with_interceptor(
            channel(&config.recording_grpc_url).context("RECORDING_GRPC_URL")?,
            PropagateTrace,
        );
        let broadcast = stagecast_proto::broadcast::v1::broadcast_service_client::BroadcastServiceClient::with_interceptor(
            channel(&config.broadcast_grpc_url).context("BROADCAST_GRPC_URL")?,
            PropagateTrace,
        );
        let webhooks = stagecast_proto::webhooks::v1::webhooks_service_client::WebhooksServiceClient::with_interceptor(
            channel(&config.webhooks_grpc_url).context("WEBHOOKS_GRPC_URL")?,
            PropagateTrace,
        );
        let auth_channel = channel(&config.auth_grpc_url).context("AUTH_GRPC_URL")?;
        let events_channel = channel(&config.events_grpc_url).context("EVENTS_GRPC_URL")?;
        let auth = AuthServiceClient::with_interceptor(auth_channel.clone(), PropagateTrace);
        let tokens = TokensServiceClient::with_interceptor(auth_channel.clone(), PropagateTrace);
        let events = EventsServiceClient::with_interceptor(events_channel.clone(), PropagateTrace);
        let stage = StageServiceClient::with_interceptor(events_channel.clone(), PropagateTrace);
        let chat_channel = channel(&config.chat_grpc_url).context("CHAT_GRPC_URL")?;
        let chat = ChatServiceClient::with_interceptor(chat_channel.clone(), PropagateTrace);
        let media = MediaServiceClient::with_interceptor(
            channel(&config.media_grpc_url).context("MEDIA_GRPC_URL")?,
            crate::state::MediaControl::new(config.media_control_secret.as_ref())?,
        );
        let redis = stagecast_kit::cache::connect(&config.redis_url).await.context("REDIS_URL")?;
        let nats = stagecast_bus::stream::connect(&config.nats_url, "gateway").await.context("connecting to NATS (NATS_URL)")?;
        let (shutdown_tx, shutdown) = tokio::sync::watch::channel(false);
        let state = AppState {
            hub: crate::live::hub::Hub::new(nats.clone(), redis.clone()),
            chat,
            media,
            chat_channel,
            shutdown,
            keys: Arc::new(KeyStore::new(auth.clone(), stagecast_authn::ACCESS_AUDIENCE)),
            auth,
            tokens,
            events,
            stage,
            auth_channel,
            events_channel,
            redis,
            metrics: Arc::new(observe::Metrics::new()),
            config: Arc::new(config.clone()),
            avatars,
            bucket,
            recording,
            broadcast,
            webhooks,
            revocation_refill: Arc::default(),
            revocation_lost: Arc::default(),
        };
        let router = routes::router(state.clone())
            .layer(axum::middleware::from_fn_with_state(state.clone(), observe::middleware))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .layer(TimeoutLayer::with_status_code(http::StatusCode::GATEWAY_TIMEOUT, Duration::from_secs(30)))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            // Keeps Authorization out of any request logging.
            .layer(SetSensitiveRequestHeadersLayer::new([http::header::AUTHORIZATION, http::header::COOKIE]));
        Ok(Self { listener, router, nats, state, shutdown_tx })
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let follower = tokio::spawn(crate::revocation::follow(
            self.nats.clone(),
            self.state.redis.clone(),
            self.state.revocation_lost.clone(),
        ));
        // A gateway starting after Redis did fills the revoked-session list before it is needed.
        crate::revocation::refill_soon(&self.state);
        let app = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let shutdown_tx = self.shutdown_tx;
        let shutdown = async move {
            shutdown.await;
            // Upgraded WebSockets are not HTTP requests the server waits for: tell them first.
            let _ = shutdown_tx.send(true);
        };
        let served = axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await;
        follower.abort();
        tracing::info!("gateway stopped");
        served.context("HTTP server")
    }
}
