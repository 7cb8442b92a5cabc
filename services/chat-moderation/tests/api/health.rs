//! Operability: health reporting and graceful shutdown.
use stagecast_chat_moderation::startup::SERVICE_NAME;
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
    assert_eq!(SERVICE_NAME, "stagecast.chat.v1.ChatService");
    app.stop().await;
}

#[tokio::test]
async fn shutdown_returns_promptly_and_leaves_no_moderation_unannounced() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    app.moderate(&room.id, room.host, stagecast_proto::chat::v1::moderate_request::Action::BanUserId(user().to_string()))
        .await
        .expect("ban");
    let db = app.db.clone();

    app.stop().await;

    let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM chat.outbox WHERE published_at IS NULL")
        .fetch_one(&db)
        .await
        .expect("count unpublished");
    assert_eq!(unpublished, 0, "the relay drained the outbox before returning");
}
