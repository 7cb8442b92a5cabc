//! GetMediaGrants: who may publish and who may only watch, decided from the role in the event.
use stagecast_proto::events::v1::{self as pb, stage_service_client::StageServiceClient};
use tonic::{Code, Status, transport::Channel};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_refused, minutes_from_now, spawn_app, user};

const ALL_SOURCES: [&str; 4] = ["camera", "microphone", "screen", "screen_audio"];

impl TestApp {
    fn stage(&self) -> StageServiceClient<Channel> {
        StageServiceClient::new(self.channel.clone())
    }

    async fn media_grants(&self, event_id: &str, user: Uuid) -> Result<pb::MediaGrantsResponse, Status> {
        let request = pb::GetMediaGrantsRequest { event_id: event_id.to_owned(), user_id: user.to_string() };
        self.stage().get_media_grants(request).await.map(|r| r.into_inner())
    }
}

/// (role, subscribe, publish, hidden) of a successful answer.
fn summary(r: pb::MediaGrantsResponse) -> (String, bool, Vec<String>, bool) {
    let g = r.grants.expect("grants are always set");
    (r.role, g.subscribe, g.publish, g.hidden)
}

fn publisher(role: &str) -> (String, bool, Vec<String>, bool) {
    (role.to_owned(), true, ALL_SOURCES.map(String::from).to_vec(), false)
}

fn audience() -> (String, bool, Vec<String>, bool) {
    ("audience".to_owned(), true, vec![], false)
}

#[tokio::test]
async fn the_host_and_cohosts_publish_everything_and_others_only_subscribe() {
    let app = spawn_app().await;
    let (host, cohost) = (user(), user());
    let event = app.create_with(host, minutes_from_now(60), &[cohost]).await;

    // Scheduled: a backstage preview for the hosts, the audience may already watch.
    assert_eq!(summary(app.media_grants(&event.id, host).await.unwrap()), publisher("host"));
    assert_eq!(summary(app.media_grants(&event.id, cohost).await.unwrap()), publisher("cohost"));
    assert_eq!(summary(app.media_grants(&event.id, user()).await.unwrap()), audience());

    app.go_live(host, &event.id).await.expect("go live");
    assert_eq!(summary(app.media_grants(&event.id, host).await.unwrap()), publisher("host"));
    assert_eq!(summary(app.media_grants(&event.id, cohost).await.unwrap()), publisher("cohost"));
    assert_eq!(summary(app.media_grants(&event.id, user()).await.unwrap()), audience());
}

#[tokio::test]
async fn a_removed_cohost_is_back_in_the_audience() {
    let app = spawn_app().await;
    let (host, cohost) = (user(), user());
    let event = app.create_with(host, minutes_from_now(60), &[cohost]).await;
    let request = pb::UpdateEventRequest { set_cohosts: true, ..crate::helpers::update_request(host, &event.id) };
    app.update(request).await.expect("host clears the co-hosts");
    assert_eq!(summary(app.media_grants(&event.id, cohost).await.unwrap()), audience());
}

#[tokio::test]
async fn nobody_gets_grants_for_an_ended_or_cancelled_event() {
    let app = spawn_app().await;
    let host = user();
    let ended = app.create(host).await;
    app.go_live(host, &ended.id).await.expect("go live");
    app.end(host, &ended.id).await.expect("end");
    let cancelled = app.create(host).await;
    app.cancel(host, &cancelled.id).await.expect("cancel");
    for id in [&ended.id, &cancelled.id] {
        assert_refused(app.media_grants(id, host).await, Code::FailedPrecondition, "event_over");
        assert_refused(app.media_grants(id, user()).await, Code::FailedPrecondition, "event_over");
    }
}

#[tokio::test]
async fn grants_for_an_unknown_event_or_a_malformed_id_are_refused() {
    let app = spawn_app().await;
    assert_refused(app.media_grants(&Uuid::now_v7().to_string(), user()).await, Code::NotFound, "event_not_found");
    assert_refused(app.media_grants("nope", user()).await, Code::InvalidArgument, "invalid_event_id");
    let event = app.create(user()).await;
    let request = pb::GetMediaGrantsRequest { event_id: event.id, user_id: "someone".into() };
    assert_refused(app.stage().get_media_grants(request).await, Code::InvalidArgument, "invalid_user_id");
}

#[tokio::test]
async fn the_stage_service_reports_serving_beside_the_events_service() {
    let app = spawn_app().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone());
    let request = tonic_health::pb::HealthCheckRequest { service: stagecast_events::startup::STAGE_SERVICE_NAME.into() };
    let status = health.check(request).await.expect("health check").into_inner().status();
    assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::Serving);
    assert_eq!(stagecast_events::startup::STAGE_SERVICE_NAME, "stagecast.events.v1.StageService");
}
