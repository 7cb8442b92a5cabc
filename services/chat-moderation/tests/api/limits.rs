//! Slow mode and the per-user rate limit, both with retry-after; who is exempt; and that a
//! refused message can be retried later with the same client_msg_id.
use std::time::Duration;

use stagecast_proto::chat::v1::moderate_request::Action;
use tonic::Code;

use crate::helpers::{assert_refused, retry_after, spawn_app, spawn_app_with, user};

#[tokio::test]
async fn slow_mode_refuses_a_second_message_with_the_time_left_and_spares_moderators() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let (viewer, other) = (user(), user());
    let set = app.moderate(&room.id, room.cohost, Action::SetSlowModeSecs(30)).await.expect("slow mode on");
    assert_eq!(set.kind, "slow_mode");
    assert_eq!(set.duration_secs, 30);
    assert_eq!(set.settings.expect("settings").slow_mode_secs, 30);

    app.say(&room.id, viewer, "first").await;
    let status = assert_refused(app.try_send(&room.id, viewer, "second", "second").await, Code::ResourceExhausted, "slow_mode");

    let wait = retry_after(&status).expect("retry-after");
    assert!(wait >= Duration::from_secs(29) && wait <= Duration::from_secs(30), "{wait:?}");
    app.say(&room.id, other, "slow mode is per user").await;
    app.say(&room.id, room.host, "host one").await;
    app.say(&room.id, room.host, "host two: exempt").await;
    assert_eq!(app.join(&room.id, viewer).await.expect("join").settings.expect("settings").slow_mode_secs, 30);

    app.moderate(&room.id, room.cohost, Action::SetSlowModeSecs(0)).await.expect("slow mode off");
    assert!(app.try_send(&room.id, other, "after-off", "free again").await.is_ok());
    app.stop().await;
}

#[tokio::test]
async fn the_rate_limit_refuses_messages_beyond_the_window_with_retry_after() {
    let app = spawn_app_with(|c| {
        c.rate_limit_messages = 3;
        // Long, so that the fixed window does not roll over in the middle of the test.
        c.rate_limit_window = Duration::from_secs(3600);
    })
    .await;
    let room = app.live_room().await;
    let viewer = user();

    for i in 0..3 {
        app.say(&room.id, viewer, &format!("message {i}")).await;
    }
    let status =
        assert_refused(app.try_send(&room.id, viewer, "fourth", "one too many").await, Code::ResourceExhausted, "rate_limited");

    let wait = retry_after(&status).expect("retry-after");
    assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(3600), "{wait:?}");
    app.say(&room.id, user(), "others are not affected").await;
    for i in 0..5 {
        app.say(&room.id, room.cohost, &format!("cohost {i}: exempt")).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_refused_message_can_be_sent_later_with_the_same_client_msg_id() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    app.moderate(&room.id, room.host, Action::SetSlowModeSecs(1)).await.expect("slow mode 1 s");
    app.say(&room.id, viewer, "first").await;
    assert_refused(app.try_send(&room.id, viewer, "again", "second").await, Code::ResourceExhausted, "slow_mode");

    tokio::time::sleep(Duration::from_millis(1100)).await;

    let sent = app.try_send(&room.id, viewer, "again", "second").await.expect("the same id goes through later");
    assert_eq!(sent.message.expect("message").text, "second");
    app.stop().await;
}
