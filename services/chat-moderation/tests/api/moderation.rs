//! Moderation: bans, timeouts, moderators, protection of the host and co-hosts, announcements
//! on the bus and the audit log.
use std::time::Duration;

use stagecast_proto::chat::v1::{self as pb, moderate_request::Action};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{assert_refused, code, from_ts, hear, heard, retry_after, spawn_app, spawn_app_with, user};

#[tokio::test]
async fn a_ban_refuses_send_join_and_reading_the_history_until_unbanned() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    app.say(&room.id, viewer, "before").await;
    let (history, replay) = app.read_as(&room.id, viewer).await;
    history.expect("history before the ban");
    replay.expect("replay before the ban");

    app.moderate_with(&room.id, room.host, Action::BanUserId(viewer.to_string()), "spam").await.expect("ban");

    assert_refused(app.try_send(&room.id, viewer, "c1", "let me in").await, Code::PermissionDenied, "banned");
    assert_refused(app.join(&room.id, viewer).await, Code::PermissionDenied, "banned");
    let (history, replay) = app.read_as(&room.id, viewer).await;
    assert_refused(history, Code::PermissionDenied, "banned");
    assert_refused(replay, Code::PermissionDenied, "banned");
    // Others read on; so does a service reading on its own behalf.
    assert!(app.read_as(&room.id, room.host).await.0.is_ok());
    app.history(&room.id, "", 10).await.expect("a service reads");
    assert_refused(
        app.moderate(&room.id, room.host, Action::BanUserId(viewer.to_string())).await,
        Code::AlreadyExists,
        "already_banned",
    );

    app.moderate(&room.id, room.cohost, Action::UnbanUserId(viewer.to_string())).await.expect("unban");

    app.join(&room.id, viewer).await.expect("join again");
    assert!(app.read_as(&room.id, viewer).await.0.is_ok(), "reading again after the ban is lifted");
    app.say(&room.id, viewer, "thanks").await;
    assert_refused(
        app.moderate(&room.id, room.host, Action::UnbanUserId(viewer.to_string())).await,
        Code::NotFound,
        "not_banned",
    );
    app.stop().await;
}

#[tokio::test]
async fn a_ban_through_one_replica_is_refused_at_once_by_another_that_knew_the_user() {
    let a = spawn_app().await;
    let room = a.live_room().await;
    let b = spawn_app_with(|c| {
        c.database_url = a.config().database_url.clone();
        c.consumer_prefix = a.config().consumer_prefix.clone();
    })
    .await;
    let viewer = user();
    // Replica B reads the viewer's view of the room, and caches it: not before this instant, so
    // the cached view cannot expire (1 s) before `bus_only_until`.
    let before_caching = std::time::Instant::now();
    b.say(&room.id, viewer, "before").await;
    let bus_only_until = before_caching + Duration::from_millis(950);

    a.moderate_with(&room.id, room.host, Action::BanUserId(viewer.to_string()), "spam").await.expect("ban");

    // Refused while B's cached view would still be valid: only A's announcement of the ban can
    // have dropped it.
    let refused = loop {
        match b.try_send(&room.id, viewer, &Uuid::new_v4().to_string(), "still here?").await {
            Err(status) => break status,
            Ok(_) => {
                assert!(std::time::Instant::now() < bus_only_until, "replica B still accepts a banned user's messages");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    assert!(std::time::Instant::now() < bus_only_until, "refused only once the cached view expired");
    assert_eq!(code(&refused), "banned");
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_timed_out_user_is_refused_with_the_time_left() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    let timeout = pb::Timeout { user_id: viewer.to_string(), duration_secs: 60 };

    let action = app.moderate_with(&room.id, room.cohost, Action::Timeout(timeout), "calm down").await.expect("timeout");

    assert_eq!((action.kind.as_str(), action.duration_secs), ("timeout", 60));
    let status = assert_refused(app.try_send(&room.id, viewer, "c", "hey").await, Code::PermissionDenied, "timed_out");
    let wait = retry_after(&status).expect("retry-after");
    assert!(wait >= Duration::from_secs(59) && wait <= Duration::from_secs(60), "{wait:?}");
    let joined = app.join(&room.id, viewer).await.expect("a timed-out user may still read");
    let until = from_ts(&joined.timed_out_until);
    assert_eq!(until, from_ts(&action.at) + chrono::Duration::seconds(60));
    assert!(app.join(&room.id, user()).await.expect("join").timed_out_until.is_none());
    for bad in [0, 86_401] {
        let t = pb::Timeout { user_id: viewer.to_string(), duration_secs: bad };
        assert_refused(
            app.moderate(&room.id, room.host, Action::Timeout(t)).await,
            Code::InvalidArgument,
            "invalid_timeout_duration",
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn viewers_cannot_moderate_or_read_the_moderation_lists() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();

    for action in [
        Action::BanUserId(user().to_string()),
        Action::SetSlowModeSecs(10),
        Action::Unpin(true),
        Action::AddModeratorUserId(viewer.to_string()),
    ] {
        assert_refused(app.moderate(&room.id, viewer, action).await, Code::PermissionDenied, "not_a_moderator");
    }
    assert_refused(app.list_held(&room.id, viewer).await, Code::PermissionDenied, "not_a_moderator");
    assert_refused(app.audit_log(&room.id, viewer, "", 0).await, Code::PermissionDenied, "not_a_moderator");
    assert!(app.audit_log(&room.id, room.host, "", 0).await.expect("audit").actions.is_empty(), "refusals leave no trace");
    app.stop().await;
}

#[tokio::test]
async fn nobody_can_ban_time_out_or_delete_the_messages_of_the_host_or_cohosts() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let moderator = user();
    app.moderate(&room.id, room.host, Action::AddModeratorUserId(moderator.to_string())).await.expect("appoint");
    let host_message = app.say(&room.id, room.host, "welcome").await;
    app.wait_persisted(&host_message.id).await;

    for target in [room.host, room.cohost] {
        assert_refused(
            app.moderate(&room.id, moderator, Action::BanUserId(target.to_string())).await,
            Code::PermissionDenied,
            "cannot_moderate_host",
        );
        let t = pb::Timeout { user_id: target.to_string(), duration_secs: 10 };
        assert_refused(
            app.moderate(&room.id, room.cohost, Action::Timeout(t)).await,
            Code::PermissionDenied,
            "cannot_moderate_host",
        );
    }
    assert_refused(
        app.moderate(&room.id, room.cohost, Action::DeleteMessageId(host_message.id.clone())).await,
        Code::PermissionDenied,
        "cannot_moderate_host",
    );
    app.say(&room.id, room.host, "still here").await;
    app.stop().await;
}

#[tokio::test]
async fn only_the_host_and_cohosts_appoint_and_remove_moderators() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let (moderator, viewer) = (user(), user());

    app.moderate(&room.id, room.cohost, Action::AddModeratorUserId(moderator.to_string())).await.expect("appoint");

    app.moderate(&room.id, moderator, Action::SetSlowModeSecs(5)).await.expect("a moderator moderates");
    assert_refused(
        app.moderate(&room.id, moderator, Action::AddModeratorUserId(viewer.to_string())).await,
        Code::PermissionDenied,
        "not_a_host",
    );
    assert_refused(
        app.moderate(&room.id, room.host, Action::AddModeratorUserId(moderator.to_string())).await,
        Code::AlreadyExists,
        "already_moderator",
    );
    assert_refused(
        app.moderate(&room.id, room.host, Action::AddModeratorUserId(room.cohost.to_string())).await,
        Code::AlreadyExists,
        "already_moderator",
    );

    app.moderate(&room.id, room.host, Action::RemoveModeratorUserId(moderator.to_string())).await.expect("remove");

    assert_refused(
        app.moderate(&room.id, moderator, Action::SetSlowModeSecs(0)).await,
        Code::PermissionDenied,
        "not_a_moderator",
    );
    assert_refused(
        app.moderate(&room.id, room.host, Action::RemoveModeratorUserId(moderator.to_string())).await,
        Code::NotFound,
        "moderator_not_found",
    );

    // A banned moderator loses the role.
    app.moderate(&room.id, room.host, Action::AddModeratorUserId(viewer.to_string())).await.expect("appoint");
    app.moderate(&room.id, room.cohost, Action::BanUserId(viewer.to_string())).await.expect("ban a moderator");
    app.moderate(&room.id, room.cohost, Action::UnbanUserId(viewer.to_string())).await.expect("unban");
    assert_eq!(app.join(&room.id, viewer).await.expect("join").role(), pb::ChatRole::Viewer);
    app.stop().await;
}

#[tokio::test]
async fn every_moderation_action_is_announced_on_the_room_s_moderation_subject() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let viewer = user();
    let mut room_bus = app.listen(&room.id).await;

    let action = app.moderate_with(&room.id, room.host, Action::BanUserId(viewer.to_string()), "rude").await.expect("ban");

    let (subject, announced) = hear(&mut room_bus, |h| h.moderation().map(|a| (h.subject.clone(), a))).await;
    assert_eq!(subject, format!("stagecast.chat.v1.room.{}.moderation", room.id));
    assert_eq!(announced, action, "the bus carries what the caller got back");
    assert_eq!(announced.kind, "ban");
    assert_eq!(announced.actor_id, room.host.to_string());
    assert_eq!(announced.target_user_id, viewer.to_string());
    assert_eq!(announced.reason, "rude");
    assert_eq!(announced.event_id, room.id);
    app.stop().await;
}

#[tokio::test]
async fn the_audit_log_lists_every_action_newest_first_in_pages() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let (viewer, moderator) = (user(), user());
    let message = app.say(&room.id, viewer, "hello there").await;
    let other = app.say(&room.id, viewer, "pin me").await;
    app.wait_persisted(&other.id).await;
    let terms = pb::BlockedTerms { terms: vec!["spam".into()], mode: pb::BlockedTermMode::Hold.into() };
    let timeout = pb::Timeout { user_id: viewer.to_string(), duration_secs: 1 };
    let steps: Vec<(Action, &str, Option<String>, Option<String>)> = vec![
        (Action::AddModeratorUserId(moderator.to_string()), "add_moderator", Some(moderator.to_string()), None),
        (Action::SetSlowModeSecs(3), "slow_mode", None, None),
        (Action::SetBlockedTerms(terms), "blocked_terms", None, None),
        (Action::PinMessageId(other.id.clone()), "pin", Some(viewer.to_string()), Some(other.id.clone())),
        (Action::Unpin(true), "unpin", None, None),
        (Action::DeleteMessageId(message.id.clone()), "delete_message", Some(viewer.to_string()), Some(message.id.clone())),
        (Action::Timeout(timeout), "timeout", Some(viewer.to_string()), None),
        (Action::BanUserId(viewer.to_string()), "ban", Some(viewer.to_string()), None),
        (Action::UnbanUserId(viewer.to_string()), "unban", Some(viewer.to_string()), None),
        (Action::RemoveModeratorUserId(moderator.to_string()), "remove_moderator", Some(moderator.to_string()), None),
    ];
    let mut done = Vec::new();
    for (i, (action, kind, target_user, target_message)) in steps.into_iter().enumerate() {
        let reason = format!("reason {i}");
        let a = app.moderate_with(&room.id, room.host, action, &reason).await.unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(a.kind, kind);
        assert_eq!(a.target_user_id, target_user.unwrap_or_default(), "{kind}");
        assert_eq!(a.target_message_id, target_message.unwrap_or_default(), "{kind}");
        done.push((a.id, kind, reason));
    }
    // Held and then approved / denied: the last two kinds.
    tokio::time::sleep(Duration::from_millis(1100)).await; // the 1 s timeout runs out
    let held_a = app.try_send(&room.id, viewer, "h1", "buy spam").await.expect("held").message.expect("message");
    let held_b = app.try_send(&room.id, room.host, "h2", "more spam").await.expect("held").message.expect("message");
    for (action, kind) in
        [(Action::ApproveMessageId(held_a.id.clone()), "approve"), (Action::DenyMessageId(held_b.id.clone()), "deny")]
    {
        let a = app.moderate_with(&room.id, moderator, action.clone(), "review").await;
        assert_refused(a, Code::PermissionDenied, "not_a_moderator");
        let a = app.moderate_with(&room.id, room.cohost, action, "review").await.expect(kind);
        assert_eq!(a.actor_id, room.cohost.to_string());
        done.push((a.id, kind, "review".to_owned()));
    }

    let mut listed = Vec::new();
    let mut before = String::new();
    loop {
        let page = app.audit_log(&room.id, room.cohost, &before, 5).await.expect("audit page");
        assert!(page.actions.len() <= 5);
        listed.extend(page.actions);
        if page.next_before_id.is_empty() {
            break;
        }
        before = page.next_before_id;
    }
    let expected: Vec<(String, &str, String)> = done.into_iter().rev().collect();
    let got: Vec<(String, &str, String)> = listed.iter().map(|a| (a.id.clone(), a.kind.as_str(), a.reason.clone())).collect();
    assert_eq!(got, expected, "every action, newest first, with its reason");
    assert_eq!(listed.len(), 12, "all twelve kinds");
    assert!(listed.iter().all(|a| a.actor_id == room.host.to_string() || a.actor_id == room.cohost.to_string()));
    let slow = listed.iter().find(|a| a.kind == "slow_mode").expect("slow mode entry");
    assert_eq!(slow.duration_secs, 3);
    let blocked = listed.iter().find(|a| a.kind == "blocked_terms").expect("blocked terms entry");
    assert_eq!(blocked.settings.as_ref().expect("settings").blocked_terms, vec!["spam".to_owned()]);
    let approve = listed.iter().find(|a| a.kind == "approve").expect("approve entry");
    assert_eq!(approve.target_message_id, held_a.id);
    assert_eq!(approve.target_user_id, viewer.to_string());
    assert_refused(app.audit_log(&room.id, room.host, "x", 0).await, Code::InvalidArgument, "invalid_before_id");
    assert_refused(app.audit_log(&room.id, room.host, "", 201).await, Code::InvalidArgument, "invalid_limit");
    app.stop().await;
}

#[tokio::test]
async fn moderation_of_unknown_or_malformed_targets_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let mut room_bus = app.listen(&room.id).await;
    let host = room.host;
    let unknown = Uuid::now_v7().to_string();

    assert_refused(
        app.moderate(&room.id, host, Action::DeleteMessageId(Uuid::new_v4().to_string())).await,
        Code::NotFound,
        "message_not_found",
    );
    assert_refused(
        app.moderate(&room.id, host, Action::PinMessageId(unknown.clone())).await,
        Code::NotFound,
        "message_not_found",
    );
    assert_refused(
        app.moderate(&room.id, host, Action::ApproveMessageId(unknown.clone())).await,
        Code::NotFound,
        "message_not_found",
    );
    assert_refused(app.moderate(&room.id, host, Action::DenyMessageId(unknown)).await, Code::NotFound, "message_not_found");
    assert_refused(
        app.moderate(&room.id, host, Action::DeleteMessageId("m-1".into())).await,
        Code::InvalidArgument,
        "invalid_message_id",
    );
    assert_refused(app.moderate(&room.id, host, Action::BanUserId("bob".into())).await, Code::InvalidArgument, "invalid_user_id");
    assert_refused(app.moderate(&room.id, host, Action::Unpin(true)).await, Code::NotFound, "nothing_pinned");
    assert_refused(app.moderate(&room.id, host, Action::SetSlowModeSecs(3601)).await, Code::InvalidArgument, "invalid_slow_mode");
    let too_many =
        pb::BlockedTerms { terms: (0..101).map(|i| format!("t{i}")).collect(), mode: pb::BlockedTermMode::Reject.into() };
    assert_refused(
        app.moderate(&room.id, host, Action::SetBlockedTerms(too_many)).await,
        Code::InvalidArgument,
        "too_many_blocked_terms",
    );
    let long = pb::BlockedTerms { terms: vec!["x".repeat(51)], mode: pb::BlockedTermMode::Reject.into() };
    assert_refused(
        app.moderate(&room.id, host, Action::SetBlockedTerms(long)).await,
        Code::InvalidArgument,
        "invalid_blocked_term",
    );
    assert_refused(
        app.moderate_with(&room.id, host, Action::BanUserId(user().to_string()), &"r".repeat(501)).await,
        Code::InvalidArgument,
        "reason_too_long",
    );
    let no_action =
        pb::ModerateRequest { event_id: room.id.clone(), actor_id: host.to_string(), reason: String::new(), action: None };
    assert_refused(app.client.clone().moderate(no_action).await, Code::InvalidArgument, "action_required");

    assert!(app.audit_log(&room.id, host, "", 0).await.expect("audit").actions.is_empty());
    assert!(heard(&mut room_bus, Duration::from_millis(300)).await.is_empty(), "nothing announced");
    app.stop().await;
}

#[tokio::test]
async fn moderators_see_who_moderates_who_is_banned_and_whose_timeout_is_running() {
    let app = spawn_app().await;
    let room = app.live_room().await;
    let (moderator, banned, timed_out, viewer) = (user(), user(), user(), user());
    app.moderate(&room.id, room.host, Action::AddModeratorUserId(moderator.to_string())).await.expect("appoint");
    let ban = app.moderate(&room.id, moderator, Action::BanUserId(banned.to_string())).await.expect("ban");
    let t = pb::Timeout { user_id: timed_out.to_string(), duration_secs: 300 };
    let timeout = app.moderate(&room.id, room.cohost, Action::Timeout(t)).await.expect("timeout");

    let standing = app.standing(&room.id, moderator).await.expect("a moderator may read the standing");
    let ids = |list: &[pb::StandingEntry]| list.iter().map(|e| e.user_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&standing.moderators), [moderator.to_string()]);
    assert_eq!(ids(&standing.banned), [banned.to_string()]);
    assert_eq!(ids(&standing.timed_out), [timed_out.to_string()]);
    assert_eq!(standing.moderators[0].by_user_id, room.host.to_string());
    assert_eq!(standing.banned[0].by_user_id, moderator.to_string());
    assert_eq!(from_ts(&standing.banned[0].since), from_ts(&ban.at));
    assert!(standing.banned[0].until.is_none());
    let entry = &standing.timed_out[0];
    assert_eq!(entry.by_user_id, room.cohost.to_string());
    assert_eq!(from_ts(&entry.since), from_ts(&timeout.at));
    assert_eq!(from_ts(&entry.until), from_ts(&timeout.at) + chrono::Duration::seconds(300));

    assert_refused(app.standing(&room.id, viewer).await, Code::PermissionDenied, "not_a_moderator");
    assert_refused(app.standing(&room.id, banned).await, Code::PermissionDenied, "not_a_moderator");
    assert_refused(app.standing("not-a-uuid", room.host).await, Code::InvalidArgument, "invalid_event_id");

    app.moderate(&room.id, room.host, Action::UnbanUserId(banned.to_string())).await.expect("unban");
    app.moderate(&room.id, room.host, Action::RemoveModeratorUserId(moderator.to_string())).await.expect("remove");
    let after = app.standing(&room.id, room.host).await.expect("standing");
    assert!(after.moderators.is_empty() && after.banned.is_empty(), "unbanned and removed users leave the lists");
    assert_eq!(ids(&after.timed_out), [timed_out.to_string()]);
    assert_refused(app.standing(&room.id, moderator).await, Code::PermissionDenied, "not_a_moderator");
    app.stop().await;
}
