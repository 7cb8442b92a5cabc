//! The scheduled → live → ended lifecycle, cancellation, and who may do what.
use stagecast_proto::events::v1 as pb;
use tonic::Code;

use crate::helpers::{assert_refused, micros, spawn_app, user};

#[tokio::test]
async fn an_event_goes_live_and_then_ends() {
    let app = spawn_app().await;
    let (host, cohost) = (user(), user());
    let event = app.create_with(host, crate::helpers::minutes_from_now(60), &[cohost]).await;

    let live = app.go_live(host, &event.id).await.expect("host takes it live");
    assert_eq!(live.status(), pb::EventStatus::Live);
    assert!(live.went_live_at.is_some());
    assert_eq!(live.ended_at, None);
    assert!(micros(live.updated_at) > micros(event.updated_at));
    assert_eq!(app.fetch(&event.id).await, live);

    assert_refused(app.end(cohost, &event.id).await, Code::PermissionDenied, "host_only");
    assert_eq!(app.fetch(&event.id).await, live);
    let ended = app.end(host, &event.id).await.expect("the host ends it");
    assert_eq!(ended.status(), pb::EventStatus::Ended);
    assert_eq!(ended.went_live_at, live.went_live_at);
    assert!(ended.ended_at.is_some() && micros(ended.ended_at) >= micros(ended.went_live_at));
    assert_eq!(ended.cancelled_at, None);
    assert_eq!(app.fetch(&event.id).await, ended);
}

#[tokio::test]
async fn a_cohost_can_take_an_event_live() {
    let app = spawn_app().await;
    let (host, cohost) = (user(), user());
    let event = app.create_with(host, crate::helpers::minutes_from_now(60), &[cohost]).await;
    assert_eq!(app.go_live(cohost, &event.id).await.expect("go live").status(), pb::EventStatus::Live);
}

#[tokio::test]
async fn the_host_can_cancel_a_scheduled_event_but_a_cohost_cannot() {
    let app = spawn_app().await;
    let (host, cohost) = (user(), user());
    let event = app.create_with(host, crate::helpers::minutes_from_now(60), &[cohost]).await;

    assert_refused(app.cancel(cohost, &event.id).await, Code::PermissionDenied, "host_only");
    assert_refused(app.cancel(user(), &event.id).await, Code::PermissionDenied, "not_a_host");
    assert_eq!(app.fetch(&event.id).await, event);

    let cancelled = app.cancel(host, &event.id).await.expect("host cancels");
    assert_eq!(cancelled.status(), pb::EventStatus::Cancelled);
    assert!(cancelled.cancelled_at.is_some());
    assert_eq!(cancelled.went_live_at, None);
}

#[tokio::test]
async fn a_stranger_cannot_take_an_event_live_or_end_it() {
    let app = spawn_app().await;
    let host = user();
    let event = app.create(host).await;
    assert_refused(app.go_live(user(), &event.id).await, Code::PermissionDenied, "not_a_host");
    assert_eq!(app.fetch(&event.id).await, event, "nothing changed");

    let live = app.go_live(host, &event.id).await.expect("go live");
    assert_refused(app.end(user(), &event.id).await, Code::PermissionDenied, "not_a_host");
    assert_eq!(app.fetch(&event.id).await, live);
    assert_eq!(app.counts().await.outbox, 2, "refusals announce nothing");
}

#[tokio::test]
async fn illegal_transitions_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let host = user();

    let scheduled = app.create(host).await;
    let live = app.create(host).await;
    let live = app.go_live(host, &live.id).await.expect("go live");
    let ended = app.create(host).await;
    app.go_live(host, &ended.id).await.expect("go live");
    let ended = app.end(host, &ended.id).await.expect("end");
    let cancelled = app.create(host).await;
    let cancelled = app.cancel(host, &cancelled.id).await.expect("cancel");
    let outbox_before = app.counts().await.outbox;

    let attempts = [
        ("an ended event going live again", app.go_live(host, &ended.id).await, &ended),
        ("an ended event ending again", app.end(host, &ended.id).await, &ended),
        ("a live event being cancelled", app.cancel(host, &live.id).await, &live),
        ("a live event going live again", app.go_live(host, &live.id).await, &live),
        ("a scheduled event ending", app.end(host, &scheduled.id).await, &scheduled),
        ("a cancelled event going live", app.go_live(host, &cancelled.id).await, &cancelled),
        ("a cancelled event being cancelled again", app.cancel(host, &cancelled.id).await, &cancelled),
    ];
    for (what, result, before) in attempts {
        let status = result.expect_err(what);
        assert_eq!(status.code(), Code::FailedPrecondition, "{what}");
        assert_eq!(crate::helpers::error_code(&status), "illegal_transition", "{what}");
        assert!(status.message().contains(" to "), "{what}: the message says from what to what: {}", status.message());
        assert_eq!(&app.fetch(&before.id).await, before, "{what} changed the event");
    }
    assert_eq!(app.counts().await.outbox, outbox_before, "refusals announce nothing");
}

#[tokio::test]
async fn an_ended_event_says_it_is_final_when_asked_to_go_live() {
    let app = spawn_app().await;
    let host = user();
    let event = app.create(host).await;
    app.go_live(host, &event.id).await.expect("go live");
    app.end(host, &event.id).await.expect("end");
    let status = app.go_live(host, &event.id).await.expect_err("ended is final");
    assert_eq!(status.message(), "an event cannot go from ended to live: an ended event is final");
}

#[tokio::test]
async fn concurrent_go_live_calls_let_exactly_one_through() {
    let app = spawn_app().await;
    let (host, cohost) = (user(), user());
    let event = app.create_with(host, crate::helpers::minutes_from_now(60), &[cohost]).await;

    let calls = (0..8).map(|i| {
        let actor = if i % 2 == 0 { host } else { cohost };
        let app = &app;
        let id = event.id.clone();
        async move { app.go_live(actor, &id).await }
    });
    let results = futures::future::join_all(calls).await;

    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(succeeded, 1, "{results:?}");
    for status in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(crate::helpers::error_code(status), "illegal_transition");
    }
    assert_eq!(app.counts().await.outbox, 2, "one scheduled and exactly one live message");
}

#[tokio::test]
async fn transition_requests_with_malformed_ids_are_refused() {
    let app = spawn_app().await;
    let event = app.create(user()).await;
    assert_refused(app.go_live(user(), "last-one").await, Code::InvalidArgument, "invalid_event_id");
    let request = pb::TransitionRequest { actor_id: "anonymous".into(), id: event.id.clone() };
    let result = app.client.clone().go_live(request).await.map(|r| r.into_inner());
    assert_refused(result, Code::InvalidArgument, "invalid_actor");
    assert_eq!(app.fetch(&event.id).await, event);
}
