//! The persister: at-least-once delivery from JetStream, stored exactly once.
use std::time::Duration;

use stagecast_chat_moderation::startup::Application;
use uuid::Uuid;

use crate::helpers::{chat_message, message_envelope, spawn_app};

fn subject(event: &str) -> String {
    format!("stagecast.chat.v1.room.{event}.message")
}

#[tokio::test]
async fn a_redelivered_message_is_stored_once() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let message = chat_message(&room.id, "said twice");
    let body = message_envelope(&message);

    // Different Nats-Msg-Ids get past JetStream's own dedupe, as a redelivery beyond its
    // window would.
    app.publish(subject(&room.id), &Uuid::new_v4().to_string(), body.clone()).await;
    app.publish(subject(&room.id), &Uuid::new_v4().to_string(), body).await;

    app.wait_persisted(&message.id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.stored(&message.id).await, 1);
    assert_eq!(app.history(&room.id, "", 0).await.expect("history").messages, vec![message]);
    app.stop().await;
}

#[tokio::test]
async fn a_deletion_recorded_before_the_message_is_stored_still_hides_it() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let message = chat_message(&room.id, "deleted in flight");
    sqlx::query("INSERT INTO chat.message_deletions (message_id, event_id, deleted_by) VALUES ($1::uuid, $2::uuid, $3)")
        .bind(&message.id)
        .bind(&room.id)
        .bind(room.host)
        .execute(&app.db)
        .await
        .expect("tombstone first");

    app.publish(subject(&room.id), &message.id, message_envelope(&message)).await;

    app.wait_persisted(&message.id).await;
    assert!(app.history(&room.id, "", 0).await.expect("history").messages.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn an_unusable_message_on_the_subject_does_not_hold_up_the_others() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let good = chat_message(&room.id, "fine");
    let mut bad = chat_message(&room.id, "nul \0 inside");
    bad.id = Uuid::now_v7().to_string();

    app.publish(subject(&room.id), &Uuid::new_v4().to_string(), b"not an envelope".to_vec()).await;
    app.publish(subject(&room.id), &bad.id, message_envelope(&bad)).await;
    app.publish(subject(&room.id), &good.id, message_envelope(&good)).await;

    app.wait_persisted(&good.id).await;
    assert_eq!(app.stored(&bad.id).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn messages_accepted_while_the_service_was_down_are_stored_after_it_restarts() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let config = app.config().clone();
    let (db, js) = (app.db.clone(), app.js.clone());
    // A restart, not a teardown: the durable consumers stay.
    app.stop_keeping_consumers().await;
    let message = chat_message(&room.id, "while you were out");
    js.publish(subject(&room.id), message_envelope(&message).into()).await.expect("publish").await.expect("ack");

    let restarted = Application::build(config.clone()).await.expect("restart");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(restarted.run_until(async {
        let _ = stopped.await;
    }));

    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    loop {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM chat.messages WHERE id = $1::uuid")
            .bind(&message.id)
            .fetch_one(&db)
            .await
            .expect("count");
        if n == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the restarted persister stores the message");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = stop.send(());
    server.await.expect("no panic").expect("clean stop");
    crate::helpers::delete_consumers(&js, &config).await;
}
