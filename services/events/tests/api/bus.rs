//! What the service announces on the bus: one message per change, on the event's subject, in
//! the order the changes happened, each carrying the event as it was after the change.
use stagecast_proto::events::v1 as pb;

use crate::helpers::{spawn_app, update_request, user};

fn subject(id: &str, suffix: &str) -> String {
    format!("stagecast.events.v1.event.{id}.{suffix}")
}

#[tokio::test]
async fn each_lifecycle_change_is_announced_once_in_order() {
    let app = spawn_app().await;
    let host = user();
    let created = app.create(host).await;
    let mut request = update_request(host, &created.id);
    request.title = Some("Retitled".into());
    let updated = app.update(request).await.expect("update");
    let live = app.go_live(host, &created.id).await.expect("go live");
    let ended = app.end(host, &created.id).await.expect("end");

    let messages = app.bus_messages(&created.id, 4).await;

    let subjects: Vec<&str> = messages.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        vec![
            subject(&created.id, "scheduled"),
            subject(&created.id, "updated"),
            subject(&created.id, "live"),
            subject(&created.id, "ended"),
        ],
        "exactly one message per change, in order"
    );
    let envelopes: Vec<_> = messages.into_iter().map(|(_, e)| e).collect();
    let scheduled = envelopes[0].open::<pb::EventScheduled>().expect("EventScheduled");
    assert_eq!(scheduled.event, Some(created));
    assert_eq!(envelopes[1].open::<pb::EventUpdated>().expect("EventUpdated").event, Some(updated));
    assert_eq!(envelopes[2].open::<pb::EventWentLive>().expect("EventWentLive").event, Some(live));
    assert_eq!(envelopes[3].open::<pb::EventEnded>().expect("EventEnded").event, Some(ended));
    assert!(envelopes.windows(2).all(|w| w[0].occurred_at <= w[1].occurred_at));
}

#[tokio::test]
async fn cancelling_is_announced_with_the_cancelled_event() {
    let app = spawn_app().await;
    let host = user();
    let created = app.create(host).await;
    let cancelled = app.cancel(host, &created.id).await.expect("cancel");

    let messages = app.bus_messages(&created.id, 2).await;

    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].0, subject(&created.id, "cancelled"));
    let message = messages[1].1.open::<pb::EventCancelled>().expect("EventCancelled");
    assert_eq!(message.event, Some(cancelled));
}

#[tokio::test]
async fn refused_and_empty_changes_are_not_announced() {
    let app = spawn_app().await;
    let host = user();
    let created = app.create(host).await;

    let mut bad = update_request(host, &created.id);
    bad.title = Some(String::new());
    app.update(bad).await.expect_err("empty title");
    let mut same = update_request(host, &created.id);
    same.title = Some(created.title.clone());
    assert_eq!(app.update(same).await.expect("no-op update"), created, "an update that changes nothing returns the event as is");
    app.end(host, &created.id).await.expect_err("a scheduled event cannot end");
    app.go_live(user(), &created.id).await.expect_err("a stranger cannot go live");

    let messages = app.bus_messages(&created.id, 1).await;

    let subjects: Vec<&str> = messages.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(subjects, vec![subject(&created.id, "scheduled")]);
}
