//! Wiring: database, NATS, outbox relay and the gRPC server.
use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use stagecast_authn::Signer;
use stagecast_bus::outbox::Relay;
use stagecast_proto::auth::v1::{auth_service_server::AuthServiceServer, tokens_service_server::TokensServiceServer};
use tokio::net::TcpListener;

use crate::{
    config::Config,
    grpc::{AuthGrpc, TokensGrpc},
    service::{Auth, Lifetimes},
};

pub const GRPC_SERVICE_NAME: &str = "stagecast.auth.v1.AuthService";
pub const TOKENS_SERVICE_NAME: &str = "stagecast.auth.v1.TokensService";

pub struct Application {
    listener: TcpListener,
    auth: Arc<Auth>,
    relay: Relay,
    /// The database, probed for the health status.
    pool: sqlx::PgPool,
}

impl Application {
    /// Connects to everything and binds the listener (port 0 picks a free port), but serves
    /// nothing until [`Application::run_until`].
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let signer = Signer::from_seed_base64(config.signing_key.expose()).context("AUTH_SIGNING_KEY")?;
        let pool =
            stagecast_kit::db::connect(config.database_url.expose(), "auth", &crate::MIGRATOR, config.database_max_connections)
                .await
                .context("connecting to Postgres (DATABASE_URL) and migrating schema auth")?;
        let nats = stagecast_bus::stream::connect(&config.nats_url, "auth").await.context("connecting to NATS (NATS_URL)")?;
        let js = async_nats::jetstream::new(nats);
        // If NATS is not reachable yet the relay creates the stream's messages later; the stream
        // itself is ensured here when possible so the first publish lands.
        if let Err(e) = stagecast_bus::stream::ensure_stream(&js).await {
            tracing::warn!(error = %e, "cannot ensure JetStream stream yet; the relay will retry");
        }
        let relay = Relay::new(pool.clone(), js, "auth");
        let ttl = Lifetimes { access: config.access_token_ttl, refresh: config.refresh_token_ttl, media: config.media_token_ttl };
        let auth = Arc::new(Auth::new(pool.clone(), signer, ttl));
        let listener = TcpListener::bind(config.grpc_addr).await.with_context(|| format!("binding {}", config.grpc_addr))?;
        Ok(Self { listener, auth, relay, pool })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `shutdown` resolves; then finishes in-flight calls and drains the outbox.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let (stop_relay, relay_stopped) = tokio::sync::oneshot::channel::<()>();
        let relay = tokio::spawn(self.relay.run(
            async {
                let _ = relay_stopped.await;
            },
            Duration::from_secs(5),
        ));
        let routes = tonic::service::Routes::new(AuthServiceServer::new(AuthGrpc::new(self.auth.clone())))
            .add_service(TokensServiceServer::new(TokensGrpc::new(self.auth)));
        let served = stagecast_kit::grpc::serve_with_database(
            self.listener,
            routes,
            &[GRPC_SERVICE_NAME, TOKENS_SERVICE_NAME],
            self.pool,
            shutdown,
        )
        .await;
        // Requests are done: now publish everything they committed.
        let _ = stop_relay.send(());
        let _ = relay.await;
        tracing::info!("auth service stopped");
        served.context("gRPC server")
    }
}
