//! Operability: health reporting and graceful shutdown.
use stagecast_events::startup::SERVICE_NAME;
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::helpers::{spawn_app, user};

#[tokio::test]
async fn the_health_service_reports_serving() {
    let app = spawn_app().await;
    let channel =
        Channel::from_shared(format!("http://127.0.0.1:{}", app.port)).expect("valid uri").connect().await.expect("connect");
    let mut health = HealthClient::new(channel);
    for service in [SERVICE_NAME, ""] {
        let response = health.check(HealthCheckRequest { service: service.into() }).await.expect("health check").into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
    assert_eq!(SERVICE_NAME, "stagecast.events.v1.EventsService");
}

#[tokio::test]
async fn shutdown_returns_promptly_and_leaves_nothing_unpublished() {
    let app = spawn_app().await;
    let host = user();
    let event = app.create(host).await;
    app.go_live(host, &event.id).await.expect("go live");
    let db = app.db.clone();

    app.shutdown().await.expect("run_until returns Ok");

    let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM events.outbox WHERE published_at IS NULL")
        .fetch_one(&db)
        .await
        .expect("count unpublished");
    assert_eq!(unpublished, 0, "the relay drained the outbox before returning");
}
