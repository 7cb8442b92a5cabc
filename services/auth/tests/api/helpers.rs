use std::time::Duration;

use base64::Engine;
use stagecast_auth::{config::Config, startup::Application};
use stagecast_proto::auth::v1::{self as pb, auth_service_client::AuthServiceClient, tokens_service_client::TokensServiceClient};
use tonic::transport::Channel;

pub struct TestApp {
    pub client: AuthServiceClient<Channel>,
    pub tokens: TokensServiceClient<Channel>,
    pub database_url: String,
    pub port: u16,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn() -> TestApp {
    spawn_with_ttl(Duration::from_secs(900)).await
}

pub async fn spawn_with_ttl(access_ttl: Duration) -> TestApp {
    let database_url = stagecast_testkit::fresh_database().await;
    let config = Config {
        database_url: database_url.parse().unwrap(),
        database_max_connections: 5,
        nats_url: stagecast_testkit::nats_url(),
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        signing_key: base64::engine::general_purpose::STANDARD.encode(rand_seed()).parse().unwrap(),
        access_token_ttl: access_ttl,
        refresh_token_ttl: Duration::from_secs(3600),
        media_token_ttl: Duration::from_secs(300),
    };
    let app = Application::build(config).await.expect("auth service builds");
    let port = app.port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect().await.expect("connect");
    let client = AuthServiceClient::new(channel.clone());
    let tokens = TokensServiceClient::new(channel);
    TestApp { client, tokens, database_url, port, _shutdown: tx }
}

fn rand_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    for (i, b) in uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).enumerate() {
        seed[i] = *b;
    }
    seed
}

pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

impl TestApp {
    /// What the standard gRPC health service says about `service` on this server.
    pub async fn health_of(&self, service: &str) -> i32 {
        let channel =
            tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{}", self.port)).unwrap().connect().await.unwrap();
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        let r = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            health.check(tonic_health::pb::HealthCheckRequest { service: service.into() }),
        )
        .await
        .unwrap()
        .unwrap();
        r.into_inner().status
    }

    pub async fn sign_up(&self, email: &str, password: &str) -> Result<pb::SessionResponse, tonic::Status> {
        self.client
            .clone()
            .sign_up(pb::SignUpRequest { email: email.into(), password: password.into(), display_name: "Ada Lovelace".into() })
            .await
            .map(|r| r.into_inner())
    }

    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.database_url).await.unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut conn).await.unwrap()
    }
}

/// The stable code a service error carries.
pub fn code(status: &tonic::Status) -> String {
    stagecast_kit::ApiError::from_status(status).code.into_owned()
}
