//! Sending: publication on the bus, persistence, idempotent retries, validation, roles, and
//! rooms that are closed or unknown.
use std::time::Duration;

use prost::Name;
use stagecast_proto::chat::v1 as pb;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{Change, assert_refused, from_ts, hear, heard, spawn_app, spawn_app_with, user};

#[tokio::test]
async fn an_accepted_message_is_published_to_the_room_and_then_appears_in_history() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    let mut room_bus = app.listen(&room.id).await;

    let sent = app.try_send(&room.id, viewer, "c-1", "  hello e\u{301}veryone  ").await.expect("send");

    assert!(!sent.held);
    let message = sent.message.expect("message");
    let id: Uuid = message.id.parse().expect("a UUID");
    assert_eq!(id.get_version_num(), 7, "message ids are UUIDv7");
    assert_eq!(message.text, "hello \u{e9}veryone", "trimmed and NFC-normalised");
    assert_eq!(message.event_id, room.id);
    assert_eq!(message.client_msg_id, "c-1");
    let author = message.author.clone().expect("author");
    assert_eq!(author.user_id, viewer.to_string());
    assert_eq!(author.role(), pb::ChatRole::Viewer, "the role a caller sends is ignored");
    assert!((chrono::Utc::now() - from_ts(&message.sent_at)).num_seconds().abs() < 5);

    let published =
        hear(&mut room_bus, |h| h.chat_message().map(|m| (h.subject.clone(), h.msg_id.clone(), h.envelope.clone(), m))).await;
    assert_eq!(published.0, format!("stagecast.chat.v1.room.{}.message", room.id));
    assert_eq!(published.1.as_deref(), Some(message.id.as_str()), "Nats-Msg-Id is the message id");
    assert_eq!(published.2.id, id, "the envelope id is the message id");
    assert_eq!(published.2.type_name, pb::ChatMessage::full_name());
    assert_eq!(published.3, message);

    app.wait_persisted(&message.id).await;
    let history = app.history(&room.id, "", 0).await.expect("history");
    assert_eq!(history.messages, vec![message.clone()], "history returns exactly what was published");
    assert_eq!(history.next_before_id, "");
    app.stop().await;
}

#[tokio::test]
async fn a_retried_send_returns_the_first_result_and_publishes_nothing_new() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    let mut room_bus = app.listen(&room.id).await;

    let first = app.try_send(&room.id, viewer, "retry-me", "first try").await.expect("send");
    let retry = app.try_send(&room.id, viewer, "retry-me", "first try").await.expect("retry");
    let changed = app.try_send(&room.id, viewer, "retry-me", "a different text").await.expect("retry with other text");

    assert_eq!(retry, first, "the retry gets the first answer");
    assert_eq!(changed, first, "the client_msg_id decides, not the text");
    let other = app.try_send(&room.id, viewer, "another-id", "first try").await.expect("send another");
    assert_ne!(other.message, first.message, "another client_msg_id is another message");

    let chat: Vec<pb::ChatMessage> =
        heard(&mut room_bus, Duration::from_millis(500)).await.iter().filter_map(|h| h.chat_message()).collect();
    assert_eq!(chat, vec![first.message.clone().expect("first"), other.message.clone().expect("other")]);
    let first_id = first.message.expect("message").id;
    app.wait_persisted(&first_id).await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM chat.messages WHERE client_msg_id = 'retry-me'")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(rows, 1, "one row for the retried message");
    app.stop().await;
}

#[tokio::test]
async fn concurrent_duplicates_of_one_send_publish_one_message() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    let mut room_bus = app.listen(&room.id).await;

    let attempts = futures::future::join_all((0..5).map(|_| app.try_send(&room.id, viewer, "twin", "only once"))).await;

    let mut ids = Vec::new();
    for attempt in attempts {
        match attempt {
            Ok(sent) => ids.push(sent.message.expect("message").id),
            // Allowed: a duplicate that found the first still in flight after waiting.
            Err(status) => assert_eq!(crate::helpers::code(&status), "duplicate_in_flight"),
        }
    }
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| *id == ids[0]), "every success names the same message: {ids:?}");
    let published = heard(&mut room_bus, Duration::from_millis(500)).await;
    assert_eq!(published.iter().filter(|h| h.chat_message().is_some()).count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn invalid_messages_are_refused_with_specific_codes_and_nothing_is_published() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    let mut room_bus = app.listen(&room.id).await;

    for (text, expected) in [
        ("   ", "message_empty"),
        (&"x".repeat(501) as &str, "message_too_long"),
        ("line one\nline two", "control_characters"),
        ("bell\u{7}", "control_characters"),
    ] {
        assert_refused(app.try_send(&room.id, viewer, "c", text).await, Code::InvalidArgument, expected);
    }
    assert!(app.try_send(&room.id, viewer, "c-500", &"é".repeat(500)).await.is_ok(), "500 characters are fine");
    assert_refused(app.try_send(&room.id, viewer, "", "hi").await, Code::InvalidArgument, "invalid_client_msg_id");
    assert_refused(app.try_send(&room.id, viewer, &"c".repeat(65), "hi").await, Code::InvalidArgument, "invalid_client_msg_id");
    assert_refused(app.try_send("not-a-uuid", viewer, "c", "hi").await, Code::InvalidArgument, "invalid_event_id");
    let no_user = pb::SendRequest { event_id: room.id.clone(), user: None, client_msg_id: "c".into(), text: "hi".into() };
    assert_refused(app.client.clone().send(no_user).await, Code::InvalidArgument, "user_required");
    let bad_user = pb::SendRequest {
        event_id: room.id.clone(),
        user: Some(pb::Author { user_id: "bob".into(), ..Default::default() }),
        client_msg_id: "c".into(),
        text: "hi".into(),
    };
    assert_refused(app.client.clone().send(bad_user).await, Code::InvalidArgument, "invalid_user_id");

    let published = heard(&mut room_bus, Duration::from_millis(300)).await;
    assert_eq!(published.len(), 1, "only the valid 500-character message went out");
    app.stop().await;
}

#[tokio::test]
async fn the_service_decides_each_author_s_role() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let moderator = user();
    app.moderate(&room.id, room.host, pb::moderate_request::Action::AddModeratorUserId(moderator.to_string()))
        .await
        .expect("appoint");

    let role = |m: pb::ChatMessage| m.author.expect("author").role();
    assert_eq!(role(app.say(&room.id, room.host, "host here").await), pb::ChatRole::Host);
    assert_eq!(role(app.say(&room.id, room.cohost, "cohost here").await), pb::ChatRole::Cohost);
    assert_eq!(role(app.say(&room.id, moderator, "mod here").await), pb::ChatRole::Moderator);
    assert_eq!(role(app.say(&room.id, user(), "viewer here").await), pb::ChatRole::Viewer);
    assert_eq!(app.join(&room.id, moderator).await.expect("join").role(), pb::ChatRole::Moderator);
    app.stop().await;
}

#[tokio::test]
async fn chat_is_open_before_the_show_and_read_only_after_it() {
    let app = spawn_app().await;
    let mut room = app.scheduled_room().await;
    let viewer = user();
    app.say(&room.id, viewer, "early bird").await;
    app.announce(&mut room, Change::WentLive).await;
    app.say(&room.id, viewer, "we are live").await;

    app.announce(&mut room, Change::Ended).await;

    assert_refused(app.try_send(&room.id, viewer, "late", "hello?").await, Code::FailedPrecondition, "chat_closed");
    assert_refused(app.try_send(&room.id, room.host, "late-host", "bye").await, Code::FailedPrecondition, "chat_closed");
    let joined = app.join(&room.id, viewer).await.expect("join still works, read-only");
    assert_eq!(joined.role(), pb::ChatRole::Viewer);

    let mut cancelled = app.scheduled_room().await;
    app.announce(&mut cancelled, Change::Cancelled).await;
    assert_refused(app.try_send(&cancelled.id, viewer, "c", "hi").await, Code::FailedPrecondition, "chat_closed");
    app.stop().await;
}

#[tokio::test]
async fn unknown_events_are_not_found() {
    let app = spawn_app().await;
    let unknown = Uuid::now_v7().to_string();

    assert_refused(app.join(&unknown, user()).await, Code::NotFound, "event_not_found");
    assert_refused(app.try_send(&unknown, user(), "c", "hi").await, Code::NotFound, "event_not_found");
    assert_refused(app.history(&unknown, "", 0).await, Code::NotFound, "event_not_found");
    assert_refused(
        app.moderate(&unknown, user(), pb::moderate_request::Action::Unpin(true)).await,
        Code::NotFound,
        "event_not_found",
    );
    app.stop().await;
}

#[tokio::test]
async fn a_room_the_bus_has_not_brought_yet_is_fetched_from_the_events_service() {
    let app = spawn_app().await;
    let (host, cohost) = (user(), user());
    let id = Uuid::now_v7().to_string();
    let event = stagecast_proto::events::v1::Event {
        id: id.clone(),
        status: stagecast_proto::events::v1::EventStatus::Live.into(),
        host_id: host.to_string(),
        cohost_ids: vec![cohost.to_string()],
        went_live_at: Some(crate::helpers::ts(chrono::Utc::now())),
        updated_at: Some(crate::helpers::ts(chrono::Utc::now())),
        ..Default::default()
    };
    app.events.lock().expect("lock").insert(id.clone(), event);

    let joined = app.join(&id, cohost).await.expect("join a room only the events service knows");

    assert_eq!(joined.role(), pb::ChatRole::Cohost);
    app.say(&id, host, "hello").await;
    let stored: String = sqlx::query_scalar("SELECT status FROM chat.rooms WHERE event_id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .expect("the room was stored");
    assert_eq!(stored, "live");
    app.stop().await;
}

#[tokio::test]
async fn an_unreachable_events_service_is_reported_as_unavailable_not_as_a_missing_event() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let app = spawn_app_with(|c| c.events_grpc_url = format!("http://127.0.0.1:{port}")).await;

    let status = assert_refused(app.join(&Uuid::now_v7().to_string(), user()).await, Code::Unavailable, "events_unavailable");

    assert!(crate::helpers::retry_after(&status).is_some());
    let room = app.live_room().await;
    app.say(&room.id, user(), "rooms from the bus still work").await;
    app.stop().await;
}
