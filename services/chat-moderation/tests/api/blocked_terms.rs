//! Blocked terms: whole-word, case-insensitive matching; reject mode refuses, hold mode keeps
//! the message for a moderator, who approves (publishes) or denies (drops) it.
use std::time::Duration;

use stagecast_proto::chat::v1::{self as pb, moderate_request::Action};
use tonic::Code;

use crate::helpers::{assert_refused, hear, heard, spawn_app, user};

fn terms(list: &[&str], mode: pb::BlockedTermMode) -> Action {
    Action::SetBlockedTerms(pb::BlockedTerms { terms: list.iter().map(|s| s.to_string()).collect(), mode: mode.into() })
}

#[tokio::test]
async fn in_reject_mode_a_blocked_term_refuses_the_message() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    let set = app.moderate(&room.id, room.host, terms(&["Spam", "free money"], pb::BlockedTermMode::Reject)).await.expect("set");
    assert_eq!(set.settings.expect("settings").blocked_terms, vec!["Spam".to_owned(), "free money".to_owned()]);

    for text in ["SPAM!", "get FREE   money now", "so, spam."] {
        assert_refused(app.try_send(&room.id, viewer, text, text).await, Code::InvalidArgument, "blocked_term");
    }
    // Another sender: refused messages count towards the rate limit.
    let other = user();
    for text in ["spammer", "free of money", "antispam"] {
        assert!(app.try_send(&room.id, other, text, text).await.is_ok(), "{text} has no blocked whole word");
    }
    let settings = app.join(&room.id, viewer).await.expect("join").settings.expect("settings");
    assert_eq!(settings.blocked_term_mode(), pb::BlockedTermMode::Reject);
    assert_eq!(settings.blocked_terms.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_rejected_message_does_not_use_up_the_slow_mode_slot() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    app.moderate(&room.id, room.host, terms(&["spam"], pb::BlockedTermMode::Reject)).await.expect("terms");
    app.moderate(&room.id, room.host, Action::SetSlowModeSecs(60)).await.expect("slow mode");

    assert_refused(app.try_send(&room.id, viewer, "a", "spam").await, Code::InvalidArgument, "blocked_term");

    app.say(&room.id, viewer, "rephrased").await;
    app.stop().await;
}

#[tokio::test]
async fn in_hold_mode_the_message_waits_for_a_moderator_and_approval_publishes_it() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    app.moderate(&room.id, room.host, terms(&["spam"], pb::BlockedTermMode::Hold)).await.expect("set");
    let mut room_bus = app.listen(&room.id).await;

    let sent = app.try_send(&room.id, viewer, "h", "buy spam here").await.expect("accepted for review");

    assert!(sent.held);
    let held = sent.message.clone().expect("message");
    let published = heard(&mut room_bus, Duration::from_millis(300)).await;
    assert!(published.iter().all(|h| h.chat_message().is_none()), "a held message is not published");
    assert_eq!(app.list_held(&room.id, room.cohost).await.expect("held"), vec![held.clone()]);
    assert_eq!(app.try_send(&room.id, viewer, "h", "buy spam here").await.expect("retry"), sent, "retries are idempotent too");

    let action = app.moderate(&room.id, room.cohost, Action::ApproveMessageId(held.id.clone())).await.expect("approve");

    assert_eq!(action.kind, "approve");
    assert_eq!(action.message.as_ref(), Some(&held));
    let published = hear(&mut room_bus, |h| h.chat_message()).await;
    assert_eq!(published, held, "approval publishes the message as sent");
    let announced = hear(&mut room_bus, |h| h.moderation()).await;
    assert_eq!(announced.kind, "approve");
    assert!(app.list_held(&room.id, room.cohost).await.expect("held").is_empty());
    app.wait_persisted(&held.id).await;
    assert_eq!(app.history(&room.id, "", 0).await.expect("history").messages, vec![held.clone()]);
    assert_refused(
        app.moderate(&room.id, room.cohost, Action::ApproveMessageId(held.id)).await,
        Code::NotFound,
        "message_not_found",
    );
    app.stop().await;
}

#[tokio::test]
async fn a_denied_message_is_dropped_without_a_trace_in_the_room() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    app.moderate(&room.id, room.host, terms(&["spam"], pb::BlockedTermMode::Hold)).await.expect("set");
    let held = app.try_send(&room.id, viewer, "h", "spam spam").await.expect("held").message.expect("message");
    let mut room_bus = app.listen(&room.id).await;

    let action = app.moderate(&room.id, room.host, Action::DenyMessageId(held.id.clone())).await.expect("deny");

    assert_eq!((action.kind.as_str(), action.target_message_id.as_str()), ("deny", held.id.as_str()));
    let published = heard(&mut room_bus, Duration::from_millis(500)).await;
    assert!(published.iter().all(|h| h.chat_message().is_none()), "nothing published but the announcement");
    // The terms change is announced too, through the outbox: it may reach the bus after the
    // listener started, so only the denials are counted.
    assert_eq!(published.iter().filter_map(|h| h.moderation()).filter(|m| m.kind == "deny").count(), 1);
    assert!(app.list_held(&room.id, room.host).await.expect("held").is_empty());
    assert!(app.history(&room.id, "", 0).await.expect("history").messages.is_empty());
    assert_refused(
        app.moderate(&room.id, room.host, Action::ApproveMessageId(held.id)).await,
        Code::NotFound,
        "message_not_found",
    );
    app.stop().await;
}
