//! Rooms follow the events service through the bus, idempotently and never backwards.
use stagecast_proto::{chat::v1 as pb, events::v1 as events_pb};
use uuid::Uuid;

use crate::helpers::{Change, event_envelope, spawn_app, ts, user};

async fn status(app: &crate::helpers::TestApp, id: &str) -> (String, Option<chrono::DateTime<chrono::Utc>>) {
    sqlx::query_as("SELECT status, went_live_at FROM chat.rooms WHERE event_id = $1::uuid")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("room row")
}

#[tokio::test]
async fn a_room_follows_its_event_through_the_lifecycle_and_co_host_changes() {
    let app = spawn_app().await;
    let mut room = app.scheduled_room().await;
    let newcomer = user();
    assert_eq!(status(&app, &room.id).await.0, "scheduled");

    app.announce(&mut room, Change::WentLive).await;
    let (live, went_live_at) = status(&app, &room.id).await;
    assert_eq!(live, "live");
    assert_eq!(
        went_live_at.map(|t| t.timestamp_micros()),
        Some(crate::helpers::from_ts(&room.event.went_live_at).timestamp_micros())
    );

    room.event.cohost_ids = vec![newcomer.to_string()];
    app.announce(&mut room, Change::Updated).await;
    assert_eq!(app.join(&room.id, newcomer).await.expect("join").role(), pb::ChatRole::Cohost);
    assert_eq!(app.join(&room.id, room.cohost).await.expect("join").role(), pb::ChatRole::Viewer, "no longer a co-host");

    app.announce(&mut room, Change::Ended).await;
    assert_eq!(status(&app, &room.id).await.0, "ended");
    app.stop().await;
}

#[tokio::test]
async fn a_repeated_or_out_of_date_event_message_changes_nothing() {
    let app = spawn_app().await;
    let mut room = app.scheduled_room().await;
    let scheduled = room.event.clone();
    let first = event_envelope(Change::Scheduled, &scheduled);
    app.publish_event_envelope(Change::Scheduled, &first, &room.id).await;
    app.announce(&mut room, Change::WentLive).await;

    // The same envelope again, under a Nats-Msg-Id JetStream has not seen (a redelivery beyond
    // its duplicate window), and an older version of the event in a new envelope.
    let subject = format!("stagecast.events.v1.event.{}.scheduled", room.id);
    app.publish(subject, &Uuid::new_v4().to_string(), first.encode()).await;
    let stale = event_envelope(Change::Updated, &scheduled);
    app.publish_event_envelope(Change::Updated, &stale, &room.id).await;
    // A marker after them: once it is applied, the two before it were handled too.
    let mut marker = room.clone();
    marker.id = Uuid::now_v7().to_string();
    marker.event.id = marker.id.clone();
    marker.event.updated_at = Some(ts(chrono::Utc::now()));
    app.announce(&mut marker, Change::Scheduled).await;

    assert_eq!(status(&app, &room.id).await.0, "live", "never moved back to scheduled");
    let processed: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM chat.processed_messages WHERE message_id = $1)")
        .bind(stale.id)
        .fetch_one(&app.db)
        .await
        .expect("processed");
    assert!(processed, "the stale message was seen and recorded");
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_event_message_is_skipped() {
    let app = spawn_app().await;
    let id = Uuid::now_v7().to_string();
    let broken = events_pb::Event { id: id.clone(), host_id: "not-a-user".into(), status: 1, ..Default::default() };
    let envelope = event_envelope(Change::Scheduled, &broken);
    app.publish_event_envelope(Change::Scheduled, &envelope, &id).await;

    let room = app.scheduled_room().await;

    assert!(app.join(&room.id, user()).await.is_ok(), "later messages are applied");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM chat.rooms WHERE event_id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(stored, 0);
    app.stop().await;
}

/// The stage's speakers are labelled as such in chat: every stage change says the target's role
/// after it, and the chat keeps its speaker list from them (a demotion or a ban takes it away).
#[tokio::test]
async fn a_speaker_on_the_stage_chats_as_a_speaker_until_moved_back_to_the_audience() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let guest = user();
    let stage = |kind: &str, role: &str, previous: &str| {
        let env = stagecast_bus::Envelope::wrap(&events_pb::StageChanged {
            event_id: room.id.clone(),
            kind: kind.into(),
            actor_id: room.host.to_string(),
            target_user_id: guest.to_string(),
            role: role.into(),
            previous_role: previous.into(),
            at: Some(ts(chrono::Utc::now())),
            ..Default::default()
        });
        (format!("stagecast.events.v1.event.{}.stage", room.id), env)
    };
    assert_eq!(app.join(&room.id, guest).await.expect("join").role(), pb::ChatRole::Viewer);

    let (subject, env) = stage("invitation_accepted", "speaker", "audience");
    app.publish(subject, &env.id.to_string(), env.encode()).await;
    chats_as(&app, &room.id, guest, pb::ChatRole::Speaker).await;
    let said = app.say(&room.id, guest, "hello from the stage").await;
    assert_eq!(said.author.expect("author").role(), pb::ChatRole::Speaker);

    let (subject, env) = stage("role_changed", "audience", "speaker");
    app.publish(subject, &env.id.to_string(), env.encode()).await;
    chats_as(&app, &room.id, guest, pb::ChatRole::Viewer).await;
    app.stop().await;
}

async fn chats_as(app: &crate::helpers::TestApp, event: &str, user: Uuid, want: pb::ChatRole) {
    app.wait_until(&format!("the user chats as {want:?}"), || async { app.join(event, user).await.expect("join").role() == want })
        .await
}
