//! Wiring: the UDP sockets and their workers, the HTTP signalling server, the gRPC control API,
//! the bus publisher, and a shutdown that tells every participant to reconnect elsewhere.
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use stagecast_authn::MEDIA_AUDIENCE;
use stagecast_kit::keys::KeyStore;
use stagecast_proto::{auth::v1::auth_service_client::AuthServiceClient, media::v1::media_service_server::MediaServiceServer};
use stagecast_telemetry::grpc::PropagateTrace;
use tokio::net::TcpListener;
use tonic::transport::Endpoint;

use crate::{
    config::Config,
    grpc::{ControlAuth, MediaApi},
    http,
    rooms::Rooms,
    worker,
};

pub const GRPC_SERVICE_NAME: &str = "stagecast.media.v1.MediaService";

pub struct Application {
    http: TcpListener,
    grpc: TcpListener,
    rooms: Arc<Rooms>,
    keys: Arc<KeyStore>,
    nats: async_nats::Client,
    events: tokio::sync::mpsc::UnboundedReceiver<crate::sfu::RoomEvent>,
    control: ControlAuth,
    metrics: Arc<crate::observe::Metrics>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (events_tx, events) = tokio::sync::mpsc::unbounded_channel();
        let metrics = Arc::new(crate::observe::Metrics::new());
        let mut workers = Vec::with_capacity(config.workers);
        for i in 0..config.workers {
            let port = if config.udp_port == 0 { 0 } else { config.udp_port + i as u16 };
            let socket = std::net::UdpSocket::bind(SocketAddr::new(config.udp_ip, port))
                .with_context(|| format!("binding UDP {}:{port} (MEDIA_UDP_IP / MEDIA_UDP_PORT)", config.udp_ip))?;
            let advertised = SocketAddr::new(config.public_ip, socket.local_addr()?.port());
            workers.push(
                worker::spawn(
                    i,
                    socket,
                    advertised,
                    events_tx.clone(),
                    metrics.worker(i),
                    crate::sfu::Forwarding { loudest_audio: config.loudest_audio, direct_audio: config.direct_audio },
                )
                .context("starting an SFU worker")?,
            );
        }
        let channel = Endpoint::from_shared(config.auth_grpc_url.clone())
            .context("AUTH_GRPC_URL")?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .connect_lazy();
        let keys = Arc::new(KeyStore::new(AuthServiceClient::with_interceptor(channel, PropagateTrace), MEDIA_AUDIENCE));
        let nats = stagecast_bus::stream::connect(&config.nats_url, "media").await.context("connecting to NATS (NATS_URL)")?;
        let http = TcpListener::bind(config.http_addr).await.with_context(|| format!("binding {}", config.http_addr))?;
        let grpc = TcpListener::bind(config.grpc_addr).await.with_context(|| format!("binding {}", config.grpc_addr))?;
        let control = ControlAuth::new(config.control_secret.as_ref());
        let rooms = Arc::new(Rooms::new(workers, metrics.clone()));
        Ok(Self { http, grpc, rooms, keys, nats, events, control, metrics })
    }

    pub fn http_port(&self) -> u16 {
        self.http.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The UDP addresses peers send media to, one per worker.
    pub fn media_addrs(&self) -> Vec<SocketAddr> {
        self.rooms.worker_addrs()
    }

    /// Serves until `shutdown` resolves; then tells every participant to reconnect elsewhere.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let publisher = tokio::spawn(crate::bus::publish(self.nats.clone(), self.events));
        let commands = tokio::spawn(crate::commands::follow(self.nats.clone(), MediaApi::new(self.rooms.clone())));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        // Stage changes from the bus; joins wait (a few seconds at most) until the recent
        // removals are known again, so a restart does not readmit someone banned minutes ago.
        let (caught_up_tx, caught_up) = tokio::sync::oneshot::channel();
        let stage_feed = tokio::spawn(crate::stage_feed::follow(
            self.nats.clone(),
            self.rooms.clone(),
            crate::stage_feed::SUBJECT.to_owned(),
            caught_up_tx,
            stop_rx.clone(),
        ));
        if tokio::time::timeout(std::time::Duration::from_secs(5), caught_up).await.is_err() {
            tracing::warn!("stage changes from the bus not replayed within 5 s; admitting joins anyway");
        }
        let app = http::router(http::HttpState {
            rooms: self.rooms.clone(),
            keys: self.keys,
            metrics: self.metrics.clone(),
            control: self.control.clone(),
        });
        let mut http_stop = stop_rx.clone();
        let http = tokio::spawn(async move {
            axum::serve(self.http, app)
                .with_graceful_shutdown(async move {
                    let _ = http_stop.wait_for(|s| *s).await;
                })
                .await
        });
        let api = MediaServiceServer::with_interceptor(MediaApi::new(self.rooms.clone()), self.control.clone());
        let routes = tonic::service::Routes::new(api);
        let mut grpc_stop = stop_rx.clone();
        let grpc = tokio::spawn(stagecast_kit::grpc::serve(self.grpc, routes, &[GRPC_SERVICE_NAME], async move {
            let _ = grpc_stop.wait_for(|s| *s).await;
        }));
        shutdown.await;
        tracing::info!("media service stopping: telling participants to reconnect");
        self.rooms.shutdown().await;
        let _ = stop_tx.send(true);
        let http = http.await.context("HTTP task")?;
        let grpc = grpc.await.context("gRPC task")?;
        let _ = self.nats.flush().await;
        publisher.abort();
        commands.abort();
        let _ = stage_feed.await;
        tracing::info!("media service stopped");
        http.context("HTTP server")?;
        grpc.context("gRPC server")
    }
}
