//! Creating, reading and editing events.
use stagecast_proto::events::v1 as pb;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{Counts, assert_refused, create_request, micros, minutes_from_now, spawn_app, update_request, user};

#[tokio::test]
async fn a_created_event_is_scheduled_and_reads_back_the_same() {
    let app = spawn_app().await;
    let (host, cohost_a, cohost_b) = (user(), user(), user());
    let request = pb::CreateEventRequest {
        title: "  Friday night set  ".into(),
        // Sent twice and out of order: stored once, sorted.
        cohost_ids: vec![cohost_b.to_string(), cohost_a.to_string(), cohost_b.to_string()],
        ..create_request(host)
    };
    let starts_at = request.starts_at;

    let created = app.try_create(request).await.expect("create event");

    assert!(Uuid::parse_str(&created.id).is_ok());
    assert_eq!(created.title, "Friday night set");
    assert_eq!(created.description, "Two hours of\nlive techno.");
    assert_eq!(created.cover_url, "https://cdn.example.com/covers/friday.png");
    assert_eq!(created.status(), pb::EventStatus::Scheduled);
    assert_eq!(created.host_id, host.to_string());
    let mut expected_cohosts = [cohost_a, cohost_b];
    expected_cohosts.sort();
    assert_eq!(created.cohost_ids, expected_cohosts.iter().map(Uuid::to_string).collect::<Vec<_>>());
    assert_eq!(created.starts_at.map(|t| t.seconds), starts_at.map(|t| t.seconds));
    assert!(created.created_at.is_some() && created.created_at == created.updated_at);
    assert_eq!((created.went_live_at, created.ended_at, created.cancelled_at), (None, None, None));

    assert_eq!(app.fetch(&created.id).await, created, "a read returns exactly what the create returned");
    assert_eq!(app.counts().await, Counts { events: 1, cohosts: 2, outbox: 1 });
}

#[tokio::test]
async fn getting_an_unknown_or_malformed_id_is_refused() {
    let app = spawn_app().await;
    assert_refused(app.get(&Uuid::new_v4().to_string()).await, Code::NotFound, "event_not_found");
    assert_refused(app.get("event-1").await, Code::InvalidArgument, "invalid_event_id");
    assert_refused(app.go_live(user(), &Uuid::new_v4().to_string()).await, Code::NotFound, "event_not_found");
    let mut update = update_request(user(), &Uuid::new_v4().to_string());
    update.title = Some("x".into());
    assert_refused(app.update(update).await, Code::NotFound, "event_not_found");
}

#[tokio::test]
async fn invalid_create_requests_are_refused_and_leave_nothing_behind() {
    let app = spawn_app().await;
    let host = user();
    let eleven: Vec<String> = (0..11).map(|_| Uuid::new_v4().to_string()).collect();
    let cases: Vec<(pb::CreateEventRequest, &str)> = vec![
        (pb::CreateEventRequest { actor_id: "admin".into(), ..create_request(host) }, "invalid_actor"),
        (pb::CreateEventRequest { actor_id: String::new(), ..create_request(host) }, "invalid_actor"),
        (pb::CreateEventRequest { title: "   ".into(), ..create_request(host) }, "title_required"),
        (pb::CreateEventRequest { title: "x".repeat(141), ..create_request(host) }, "title_too_long"),
        (pb::CreateEventRequest { description: "x".repeat(5001), ..create_request(host) }, "description_too_long"),
        (pb::CreateEventRequest { starts_at: None, ..create_request(host) }, "starts_at_required"),
        (pb::CreateEventRequest { starts_at: Some(minutes_from_now(-5)), ..create_request(host) }, "starts_at_in_past"),
        (pb::CreateEventRequest { cover_url: "javascript:alert(1)".into(), ..create_request(host) }, "invalid_cover_url"),
        (pb::CreateEventRequest { cohost_ids: eleven, ..create_request(host) }, "too_many_cohosts"),
        (pb::CreateEventRequest { cohost_ids: vec!["bob".into()], ..create_request(host) }, "invalid_cohost_id"),
        (pb::CreateEventRequest { cohost_ids: vec![host.to_string()], ..create_request(host) }, "host_cannot_be_cohost"),
    ];
    for (request, code) in cases {
        assert_refused(app.try_create(request).await, Code::InvalidArgument, code);
    }
    assert_eq!(app.counts().await, Counts { events: 0, cohosts: 0, outbox: 0 });
}

#[tokio::test]
async fn a_start_time_within_the_clock_skew_allowance_is_accepted() {
    let app = spawn_app().await;
    let request = pb::CreateEventRequest { starts_at: Some(minutes_from_now(0)), ..create_request(user()) };
    let half_a_minute_ago =
        prost_types::Timestamp { seconds: request.starts_at.map(|t| t.seconds - 30).unwrap_or_default(), nanos: 0 };
    let created = app.try_create(pb::CreateEventRequest { starts_at: Some(half_a_minute_ago), ..request }).await;
    assert!(created.is_ok(), "{created:?}");
}

#[tokio::test]
async fn host_can_edit_every_field_and_replace_the_cohosts() {
    let app = spawn_app().await;
    let (host, old_cohost, new_cohost) = (user(), user(), user());
    let event = app.create_with(host, minutes_from_now(60), &[old_cohost]).await;
    let new_start = minutes_from_now(180);

    let mut request = update_request(host, &event.id);
    request.title = Some("Saturday set".into());
    request.description = Some(String::new());
    request.starts_at = Some(new_start);
    request.cover_url = Some(String::new());
    request.set_cohosts = true;
    request.cohost_ids = vec![new_cohost.to_string()];
    let updated = app.update(request).await.expect("host updates");

    assert_eq!(updated.title, "Saturday set");
    assert_eq!(updated.description, "");
    assert_eq!(updated.cover_url, "", "an empty cover_url removes the cover");
    assert_eq!(updated.starts_at.map(|t| t.seconds), Some(new_start.seconds));
    assert_eq!(updated.cohost_ids, vec![new_cohost.to_string()]);
    assert_eq!(updated.created_at, event.created_at);
    assert!(micros(updated.updated_at) > micros(event.updated_at), "updated_at moves forward");
    assert_eq!(app.fetch(&event.id).await, updated);
    assert_eq!(app.counts().await, Counts { events: 1, cohosts: 1, outbox: 2 });
}

#[tokio::test]
async fn unset_fields_are_left_alone_and_set_cohosts_with_no_ids_removes_them_all() {
    let app = spawn_app().await;
    let host = user();
    let event = app.create_with(host, minutes_from_now(60), &[user(), user()]).await;

    let mut request = update_request(host, &event.id);
    request.title = Some("Only the title".into());
    let updated = app.update(request).await.expect("update title");
    assert_eq!(updated.title, "Only the title");
    assert_eq!(
        (updated.description.as_str(), updated.cover_url.as_str()),
        (event.description.as_str(), event.cover_url.as_str())
    );
    assert_eq!(updated.cohost_ids, event.cohost_ids);

    let mut request = update_request(host, &event.id);
    request.set_cohosts = true;
    let updated = app.update(request).await.expect("clear cohosts");
    assert!(updated.cohost_ids.is_empty());
    assert_eq!(app.counts().await.cohosts, 0);
}

#[tokio::test]
async fn a_cohost_can_edit_details_but_not_the_cohost_list() {
    let app = spawn_app().await;
    let (host, cohost) = (user(), user());
    let event = app.create_with(host, minutes_from_now(60), &[cohost]).await;

    let mut request = update_request(cohost, &event.id);
    request.title = Some("Renamed by a co-host".into());
    assert_eq!(app.update(request).await.expect("cohost edits").title, "Renamed by a co-host");

    let mut request = update_request(cohost, &event.id);
    request.set_cohosts = true;
    request.cohost_ids = vec![cohost.to_string(), user().to_string()];
    assert_refused(app.update(request).await, Code::PermissionDenied, "host_only");
    assert_eq!(app.fetch(&event.id).await.cohost_ids, vec![cohost.to_string()]);
}

#[tokio::test]
async fn a_stranger_cannot_edit_an_event() {
    let app = spawn_app().await;
    let event = app.create(user()).await;
    let mut request = update_request(user(), &event.id);
    request.title = Some("Hijacked".into());
    assert_refused(app.update(request).await, Code::PermissionDenied, "not_a_host");
    assert_eq!(app.fetch(&event.id).await, event);
}

#[tokio::test]
async fn invalid_updates_change_nothing() {
    let app = spawn_app().await;
    let host = user();
    let event = app.create_with(host, minutes_from_now(60), &[user()]).await;
    let eleven: Vec<String> = (0..11).map(|_| Uuid::new_v4().to_string()).collect();
    let base = || {
        // A valid change rides along with each invalid one: it must not be applied either.
        let mut r = update_request(host, &event.id);
        r.description = Some("should not stick".into());
        r
    };
    let cases: Vec<(pb::UpdateEventRequest, &str)> = vec![
        (pb::UpdateEventRequest { actor_id: "nobody".into(), ..base() }, "invalid_actor"),
        (pb::UpdateEventRequest { id: "nope".into(), ..base() }, "invalid_event_id"),
        (pb::UpdateEventRequest { title: Some(String::new()), ..base() }, "title_required"),
        (pb::UpdateEventRequest { title: Some("x".repeat(141)), ..base() }, "title_too_long"),
        (pb::UpdateEventRequest { description: Some("x".repeat(5001)), ..base() }, "description_too_long"),
        (pb::UpdateEventRequest { starts_at: Some(minutes_from_now(-10)), ..base() }, "starts_at_in_past"),
        (pb::UpdateEventRequest { cover_url: Some("ftp://example.com/c.png".into()), ..base() }, "invalid_cover_url"),
        (pb::UpdateEventRequest { set_cohosts: true, cohost_ids: eleven, ..base() }, "too_many_cohosts"),
        (pb::UpdateEventRequest { set_cohosts: true, cohost_ids: vec!["x".into()], ..base() }, "invalid_cohost_id"),
        (pb::UpdateEventRequest { set_cohosts: true, cohost_ids: vec![host.to_string()], ..base() }, "host_cannot_be_cohost"),
        (pb::UpdateEventRequest { cohost_ids: vec![user().to_string()], ..base() }, "set_cohosts_required"),
    ];
    for (request, code) in cases {
        assert_refused(app.update(request).await, Code::InvalidArgument, code);
    }
    assert_eq!(app.fetch(&event.id).await, event);
    assert_eq!(app.counts().await, Counts { events: 1, cohosts: 1, outbox: 1 });
}

#[tokio::test]
async fn the_start_time_is_fixed_once_live_but_the_details_are_not() {
    let app = spawn_app().await;
    let host = user();
    let event = app.create(host).await;
    app.go_live(host, &event.id).await.expect("go live");

    let mut request = update_request(host, &event.id);
    request.starts_at = Some(minutes_from_now(120));
    assert_refused(app.update(request).await, Code::FailedPrecondition, "starts_at_locked");

    // Sending the current start time back (a client resubmitting its whole form) is not a change.
    let mut request = update_request(host, &event.id);
    request.starts_at = event.starts_at;
    request.title = Some("We are live".into());
    let updated = app.update(request).await.expect("details editable while live");
    assert_eq!(updated.title, "We are live");
    assert_eq!(updated.status(), pb::EventStatus::Live);
}

#[tokio::test]
async fn ended_and_cancelled_events_cannot_be_edited() {
    let app = spawn_app().await;
    let host = user();
    let ended = app.create(host).await;
    app.go_live(host, &ended.id).await.expect("go live");
    let ended = app.end(host, &ended.id).await.expect("end");
    let cancelled = app.create(host).await;
    let cancelled = app.cancel(host, &cancelled.id).await.expect("cancel");

    for event in [ended, cancelled] {
        let mut request = update_request(host, &event.id);
        request.title = Some("Too late".into());
        assert_refused(app.update(request).await, Code::FailedPrecondition, "event_closed");
        assert_eq!(app.fetch(&event.id).await, event);
    }
}
