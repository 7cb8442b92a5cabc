//! Reading back: history pages, Join's view of the room, pins, deletions and replay.
use stagecast_proto::chat::v1::{self as pb, moderate_request::Action};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{Change, assert_refused, from_ts, spawn_app, user};

#[tokio::test]
async fn history_pages_go_newest_first_and_join_shows_the_latest_oldest_first() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(app.say(&room.id, room.host, &format!("message {i}")).await);
    }
    app.wait_persisted(&sent[4].id).await;
    for m in &sent {
        app.wait_persisted(&m.id).await;
    }

    let first = app.history(&room.id, "", 2).await.expect("page 1");
    let second = app.history(&room.id, &first.next_before_id, 2).await.expect("page 2");
    let third = app.history(&room.id, &second.next_before_id, 2).await.expect("page 3");

    let newest_first: Vec<pb::ChatMessage> = sent.iter().rev().cloned().collect();
    assert_eq!(first.messages, newest_first[0..2]);
    assert_eq!(second.messages, newest_first[2..4]);
    assert_eq!(third.messages, newest_first[4..5]);
    assert_eq!(third.next_before_id, "", "no page after the last");
    assert_eq!(app.join(&room.id, user()).await.expect("join").history, sent, "Join lists them oldest first");
    assert_refused(app.history(&room.id, "", 201).await, Code::InvalidArgument, "invalid_limit");
    assert_refused(app.history(&room.id, "nope", 0).await, Code::InvalidArgument, "invalid_before_id");
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_message_disappears_from_history_join_and_replay() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    let keep = app.say(&room.id, viewer, "keep me").await;
    let gone = app.say(&room.id, viewer, "delete me").await;
    let mut room_bus = app.listen(&room.id).await;

    // Straight after sending: the persister may not have written it yet, and that is fine.
    let action =
        app.moderate_with(&room.id, room.cohost, Action::DeleteMessageId(gone.id.clone()), "off topic").await.expect("delete");

    assert_eq!(action.kind, "delete_message");
    assert_eq!(
        (action.target_message_id.as_str(), action.target_user_id.as_str()),
        (gone.id.as_str(), viewer.to_string().as_str())
    );
    let announced = crate::helpers::hear(&mut room_bus, |h| h.moderation()).await;
    assert_eq!(announced.target_message_id, gone.id);
    app.wait_persisted(&keep.id).await;
    assert_eq!(app.history(&room.id, "", 0).await.expect("history").messages, vec![keep.clone()]);
    assert_eq!(app.join(&room.id, viewer).await.expect("join").history, vec![keep.clone()]);
    let replayed: Vec<pb::ChatMessage> =
        app.replay(&room.id, 0, 0).await.expect("replay").items.into_iter().filter_map(|i| i.message).collect();
    assert_eq!(replayed, vec![keep]);
    assert_refused(
        app.moderate(&room.id, room.cohost, Action::DeleteMessageId(gone.id.clone())).await,
        Code::NotFound,
        "message_not_found",
    );
    assert_refused(app.moderate(&room.id, room.cohost, Action::PinMessageId(gone.id)).await, Code::NotFound, "message_not_found");
    app.stop().await;
}

#[tokio::test]
async fn the_pinned_message_shows_in_join_until_it_is_unpinned_or_deleted() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    let message = app.say(&room.id, viewer, "read the rules").await;

    let action = app.moderate(&room.id, room.host, Action::PinMessageId(message.id.clone())).await.expect("pin");

    assert_eq!(action.message.as_ref(), Some(&message), "the pin announcement carries the message");
    assert_eq!(app.join(&room.id, user()).await.expect("join").pinned, Some(message.clone()));
    app.moderate(&room.id, room.host, Action::Unpin(true)).await.expect("unpin");
    assert_eq!(app.join(&room.id, user()).await.expect("join").pinned, None);

    app.moderate(&room.id, room.host, Action::PinMessageId(message.id.clone())).await.expect("pin again");
    app.moderate(&room.id, room.host, Action::DeleteMessageId(message.id)).await.expect("delete");
    assert_eq!(app.join(&room.id, user()).await.expect("join").pinned, None, "a deleted message is never shown pinned");
    assert_refused(app.moderate(&room.id, room.host, Action::Unpin(true)).await, Code::NotFound, "nothing_pinned");
    app.stop().await;
}

#[tokio::test]
async fn replay_offsets_count_from_go_live_and_page_to_the_end() {
    let app = spawn_app().await;
    let mut room = app.scheduled_room().await;
    let viewer = user();
    assert_refused(app.replay(&room.id, 0, 0).await, Code::FailedPrecondition, "not_live_yet");
    let before_live = app.say(&room.id, viewer, "is it starting?").await;
    app.announce(&mut room, Change::WentLive).await;
    let went_live = from_ts(&room.event.went_live_at);
    let mut during = Vec::new();
    for i in 0..5 {
        during.push(app.say(&room.id, room.host, &format!("live {i}")).await);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    app.wait_persisted(&before_live.id).await;
    for m in &during {
        app.wait_persisted(&m.id).await;
    }

    let all = app.replay(&room.id, 0, 0).await.expect("replay");

    let messages: Vec<pb::ChatMessage> = all.items.iter().filter_map(|i| i.message.clone()).collect();
    assert_eq!(messages, during, "only what was said after go-live, in order");
    for item in &all.items {
        let sent_at = from_ts(&item.message.as_ref().expect("message").sent_at);
        assert_eq!(item.offset_ms, (sent_at - went_live).num_milliseconds(), "offset from went_live_at");
        assert!(item.offset_ms >= 0);
    }
    assert_eq!(all.next_offset_ms, -1, "nothing more");

    let mut paged = Vec::new();
    let mut from = 0;
    loop {
        let page = app.replay(&room.id, from, 2).await.expect("replay page");
        assert!(page.items.len() <= 2);
        paged.extend(page.items.into_iter().filter_map(|i| i.message));
        if page.next_offset_ms == -1 {
            break;
        }
        assert!(page.next_offset_ms >= from, "pages move forward");
        from = page.next_offset_ms;
        assert!(paged.len() <= 10, "paging terminates");
    }
    assert_eq!(paged, during, "pages cover everything once");

    let last_offset = all.items.last().expect("items").offset_ms;
    let tail = app.replay(&room.id, last_offset, 0).await.expect("tail");
    assert_eq!(tail.items.last().and_then(|i| i.message.clone()), during.last().cloned());
    assert_refused(app.replay(&room.id, -1, 0).await, Code::InvalidArgument, "invalid_from_offset");
    assert_refused(app.replay(&room.id, 0, 501).await, Code::InvalidArgument, "invalid_limit");
    assert_refused(app.replay(&Uuid::now_v7().to_string(), 0, 0).await, Code::NotFound, "event_not_found");
    app.stop().await;
}
