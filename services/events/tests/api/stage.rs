//! The stage over gRPC against the real service: hands, invitations, roles, bans, the seat
//! limit under a race, and refusals that change nothing.
use stagecast_proto::events::v1::{self as pb, stage_service_client::StageServiceClient};
use tonic::{Code, Status, transport::Channel};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_refused, minutes_from_now, spawn_app, user};

impl TestApp {
    fn stages(&self) -> StageServiceClient<Channel> {
        StageServiceClient::new(self.channel.clone())
    }

    async fn view(&self, event: &str, actor: Uuid) -> pb::Stage {
        let r = pb::GetStageRequest { event_id: event.to_owned(), actor_id: actor.to_string() };
        self.stages().get_stage(r).await.expect("get stage").into_inner()
    }

    async fn raise(&self, event: &str, actor: Uuid) -> Result<pb::StageChangeResponse, Status> {
        self.stages().raise_hand(req(event, actor, None)).await.map(|r| r.into_inner())
    }

    async fn invite(&self, event: &str, actor: Uuid, target: Uuid) -> Result<pb::StageChangeResponse, Status> {
        self.stages().invite(req(event, actor, Some(target))).await.map(|r| r.into_inner())
    }

    async fn answer(&self, event: &str, actor: Uuid, invitation: &str, accept: bool) -> Result<pb::StageChangeResponse, Status> {
        let r = pb::AnswerInvitationRequest {
            event_id: event.to_owned(),
            actor_id: actor.to_string(),
            invitation_id: invitation.to_owned(),
            accept,
        };
        self.stages().answer_invitation(r).await.map(|r| r.into_inner())
    }

    async fn set_role(&self, event: &str, actor: Uuid, target: Uuid, role: &str) -> Result<pb::StageChangeResponse, Status> {
        let r = pb::SetRoleRequest {
            event_id: event.to_owned(),
            actor_id: actor.to_string(),
            target_user_id: target.to_string(),
            role: role.to_owned(),
        };
        self.stages().set_role(r).await.map(|r| r.into_inner())
    }

    async fn ban(&self, event: &str, actor: Uuid, target: Uuid) -> Result<pb::StageChangeResponse, Status> {
        self.stages().ban(req(event, actor, Some(target))).await.map(|r| r.into_inner())
    }

    async fn kick(&self, event: &str, actor: Uuid, target: Uuid) -> Result<pb::StageChangeResponse, Status> {
        self.stages().kick(req(event, actor, Some(target))).await.map(|r| r.into_inner())
    }

    async fn mute(&self, event: &str, actor: Uuid, target: Uuid) -> Result<pb::StageChangeResponse, Status> {
        let r = pb::StageRequest { source: "microphone".into(), ..req(event, actor, Some(target)) };
        self.stages().mute(r).await.map(|r| r.into_inner())
    }

    async fn role(&self, event: &str, user: Uuid) -> Result<String, Status> {
        let r = pb::GetMediaGrantsRequest { event_id: event.to_owned(), user_id: user.to_string() };
        self.stages().get_media_grants(r).await.map(|r| r.into_inner().role)
    }

    async fn publish(&self, event: &str, user: Uuid) -> Vec<String> {
        let r = pb::GetMediaGrantsRequest { event_id: event.to_owned(), user_id: user.to_string() };
        self.stages().get_media_grants(r).await.expect("grants").into_inner().grants.unwrap_or_default().publish
    }

    async fn stage_rows(&self) -> (i64, i64) {
        let log: i64 = sqlx::query_scalar("SELECT count(*) FROM events.stage_log").fetch_one(&self.db).await.unwrap();
        let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM events.outbox").fetch_one(&self.db).await.unwrap();
        (log, outbox)
    }

    /// An event hosted by `host` with `cohosts`, live, and one user of each other role.
    async fn live_stage(&self) -> Cast {
        let (host, cohost, moderator, speaker, viewer) = (user(), user(), user(), user(), user());
        let event = self.create_with(host, minutes_from_now(60), &[cohost]).await.id;
        self.go_live(host, &event).await.expect("go live");
        self.set_role(&event, host, moderator, "moderator").await.expect("appoint a moderator");
        self.set_role(&event, host, speaker, "speaker").await.expect("bring up a speaker");
        Cast { event, host, cohost, moderator, speaker, viewer }
    }
}

struct Cast {
    event: String,
    host: Uuid,
    cohost: Uuid,
    moderator: Uuid,
    speaker: Uuid,
    viewer: Uuid,
}

impl Cast {
    fn by_role(&self) -> [(&'static str, Uuid); 5] {
        [
            ("host", self.host),
            ("cohost", self.cohost),
            ("moderator", self.moderator),
            ("speaker", self.speaker),
            ("audience", self.viewer),
        ]
    }
}

fn req(event: &str, actor: Uuid, target: Option<Uuid>) -> pb::StageRequest {
    pb::StageRequest {
        event_id: event.to_owned(),
        actor_id: actor.to_string(),
        target_user_id: target.map(|t| t.to_string()).unwrap_or_default(),
        ..Default::default()
    }
}

fn code(r: Result<pb::StageChangeResponse, Status>) -> String {
    match r {
        Ok(_) => "ok".to_owned(),
        Err(s) => crate::helpers::error_code(&s),
    }
}

#[tokio::test]
async fn a_raised_hand_is_invited_accepts_and_publishes_as_a_speaker() {
    let app = spawn_app().await;
    let cast = app.live_stage().await;
    let (first, second) = (user(), user());
    app.raise(&cast.event, first).await.expect("raise");
    app.raise(&cast.event, second).await.expect("raise");
    assert_refused(app.raise(&cast.event, first).await, Code::FailedPrecondition, "hand_already_raised");

    // Staff see the queue oldest first; a viewer sees only their own hand.
    let queue: Vec<String> = app.view(&cast.event, cast.moderator).await.hands.into_iter().map(|h| h.user_id).collect();
    assert_eq!(queue, [first.to_string(), second.to_string()]);
    let own: Vec<String> = app.view(&cast.event, second).await.hands.into_iter().map(|h| h.user_id).collect();
    assert_eq!(own, [second.to_string()]);
    assert!(app.view(&cast.event, second).await.bans.is_empty());

    let invited = app.invite(&cast.event, cast.moderator, first).await.expect("invite");
    let invitation = invited.change.unwrap().invitation.expect("an invitation").id;
    assert_refused(app.invite(&cast.event, cast.host, first).await, Code::AlreadyExists, "already_invited");
    // Only the invitee answers.
    assert_refused(app.answer(&cast.event, second, &invitation, true).await, Code::NotFound, "invitation_not_found");
    assert_eq!(app.view(&cast.event, first).await.invitations.len(), 1);

    let accepted = app.answer(&cast.event, first, &invitation, true).await.expect("accept");
    assert_eq!(accepted.target_grants.unwrap().publish, ["camera", "microphone"]);
    assert_eq!(app.role(&cast.event, first).await.unwrap(), "speaker");
    assert_eq!(app.publish(&cast.event, first).await, ["camera", "microphone"]);
    let queue: Vec<String> = app.view(&cast.event, cast.host).await.hands.into_iter().map(|h| h.user_id).collect();
    assert_eq!(queue, [second.to_string()], "the hand comes down on the stage");

    // A double accept is refused and changes nothing.
    let before = app.stage_rows().await;
    assert_refused(app.answer(&cast.event, first, &invitation, true).await, Code::NotFound, "invitation_not_found");
    assert_eq!(app.stage_rows().await, before);

    // Every change is on the bus, on the event's stage subject, in order.
    let kinds: Vec<String> = app
        .bus_messages(&cast.event, 8)
        .await
        .into_iter()
        .filter(|(subject, _)| subject.ends_with(".stage"))
        .map(|(_, env)| env.open::<pb::StageChanged>().unwrap().kind)
        .collect();
    assert_eq!(kinds, ["role_changed", "role_changed", "hand_raised", "hand_raised", "invited", "invitation_accepted"]);
}

#[tokio::test]
async fn invitations_expire_and_can_be_declined() {
    let app = spawn_app().await;
    let cast = app.live_stage().await;
    let invited = app.invite(&cast.event, cast.host, cast.viewer).await.unwrap();
    let id = invited.change.unwrap().invitation.unwrap().id;
    sqlx::query("UPDATE events.stage_invitations SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.db)
        .await
        .unwrap();
    assert_refused(app.answer(&cast.event, cast.viewer, &id, true).await, Code::FailedPrecondition, "invitation_expired");
    assert_eq!(app.role(&cast.event, cast.viewer).await.unwrap(), "audience");
    // An expired invitation does not block a new one.
    let again = app.invite(&cast.event, cast.host, cast.viewer).await.unwrap().change.unwrap().invitation.unwrap().id;
    let declined = app.answer(&cast.event, cast.viewer, &again, false).await.expect("decline");
    assert_eq!(declined.change.unwrap().kind, "invitation_declined");
    assert_eq!(app.role(&cast.event, cast.viewer).await.unwrap(), "audience");
    assert_refused(app.answer(&cast.event, cast.viewer, "not-a-uuid", true).await, Code::NotFound, "invitation_not_found");
}

#[tokio::test]
async fn every_stage_action_by_every_role_is_allowed_or_refused_by_rank() {
    let app = spawn_app().await;
    // One fresh stage per (action, actor, target) row would be slow; actions that change the
    // target's role run on a target made for the purpose.
    let cast = app.live_stage().await;
    type Table = [(&'static str, [&'static str; 5]); 5];
    // kick: (target role, expected per actor host, cohost, moderator, speaker, audience)
    let kick: Table = [
        (
            "host",
            ["cannot_act_on_yourself", "cannot_act_on_higher_role", "cannot_act_on_higher_role", "not_allowed", "not_allowed"],
        ),
        ("cohost", ["ok", "cannot_act_on_yourself", "cannot_act_on_higher_role", "not_allowed", "not_allowed"]),
        ("moderator", ["ok", "ok", "cannot_act_on_yourself", "not_allowed", "not_allowed"]),
        ("speaker", ["ok", "ok", "ok", "cannot_act_on_yourself", "not_allowed"]),
        ("audience", ["ok", "ok", "ok", "not_allowed", "cannot_act_on_yourself"]),
    ];
    let people = cast.by_role();
    for (target_role, expected) in kick {
        let target = people.iter().find(|(r, _)| *r == target_role).unwrap().1;
        for ((actor_role, actor), want) in people.iter().zip(expected) {
            assert_eq!(code(app.kick(&cast.event, *actor, target).await), want, "{actor_role} kicks {target_role}");
            let muted = code(app.mute(&cast.event, *actor, target).await);
            let want_mute = if want == "cannot_act_on_yourself" && *actor_role != "host" {
                "cannot_act_on_higher_role"
            } else if want == "cannot_act_on_yourself" {
                "ok"
            } else {
                want
            };
            if *actor_role != "audience" && *actor_role != "speaker" {
                assert_eq!(muted, want_mute, "{actor_role} mutes {target_role}");
            } else {
                assert_eq!(muted, "not_allowed", "{actor_role} mutes {target_role}");
            }
        }
    }
    // Raising a hand: the audience only.
    for (role, who) in people {
        let want = match role {
            "audience" => "ok",
            "moderator" => "not_allowed",
            _ => "already_on_stage",
        };
        assert_eq!(code(app.raise(&cast.event, who).await), want, "{role} raises a hand");
    }
    // Co-hosts are the host's alone; moderators cannot make moderators.
    let newcomer = user();
    assert_refused(app.set_role(&cast.event, cast.cohost, newcomer, "cohost").await, Code::PermissionDenied, "not_allowed");
    assert_refused(app.set_role(&cast.event, cast.moderator, newcomer, "moderator").await, Code::PermissionDenied, "not_allowed");
    assert_refused(app.set_role(&cast.event, cast.speaker, newcomer, "speaker").await, Code::PermissionDenied, "not_allowed");
    assert_refused(app.set_role(&cast.event, cast.host, newcomer, "admin").await, Code::InvalidArgument, "invalid_role");
    assert_eq!(app.role(&cast.event, newcomer).await.unwrap(), "audience");
    // Only the host ends the show.
    assert_refused(app.end(cast.cohost, &cast.event).await, Code::PermissionDenied, "host_only");
}

#[tokio::test]
async fn of_two_promotions_racing_for_the_last_seat_exactly_one_wins() {
    let app = spawn_app().await;
    let cast = app.live_stage().await;
    // Host, co-host and speaker hold 3 seats; one is left.
    sqlx::query("UPDATE events.events SET max_speakers = 4 WHERE id = $1::uuid")
        .bind(&cast.event)
        .execute(&app.db)
        .await
        .unwrap();
    for _ in 0..5 {
        let (a, b) = (user(), user());
        let (ra, rb) = tokio::join!(
            app.set_role(&cast.event, cast.host, a, "speaker"),
            app.set_role(&cast.event, cast.cohost, b, "speaker")
        );
        let mut codes = [code(ra), code(rb)];
        codes.sort();
        assert_eq!(codes, ["ok", "stage_full"]);
        let winner = if app.role(&cast.event, a).await.unwrap() == "speaker" { a } else { b };
        assert_eq!(app.view(&cast.event, cast.host).await.members.len(), 5, "host, cohost, moderator and two speakers");
        // Free the seat for the next round; the winner leaves by themselves.
        app.set_role(&cast.event, winner, winner, "audience").await.expect("leave the stage");
    }
    // Accepting an invitation needs a seat as well.
    let invited = app.invite(&cast.event, cast.host, cast.viewer).await.unwrap().change.unwrap().invitation.unwrap().id;
    app.set_role(&cast.event, cast.host, user(), "speaker").await.expect("the last seat goes");
    assert_refused(app.answer(&cast.event, cast.viewer, &invited, true).await, Code::FailedPrecondition, "stage_full");
    assert_refused(app.invite(&cast.event, cast.host, user()).await, Code::FailedPrecondition, "stage_full");
}

#[tokio::test]
async fn a_ban_takes_the_role_and_refuses_grants_hands_and_promotions_until_lifted() {
    let app = spawn_app().await;
    let cast = app.live_stage().await;
    let banned = app.ban(&cast.event, cast.moderator, cast.speaker).await.expect("ban");
    assert!(banned.target_grants.is_none());
    assert_eq!(banned.change.unwrap().previous_role, "speaker");
    assert_refused(app.role(&cast.event, cast.speaker).await, Code::PermissionDenied, "banned");
    assert_refused(app.raise(&cast.event, cast.speaker).await, Code::PermissionDenied, "banned");
    assert_refused(app.set_role(&cast.event, cast.host, cast.speaker, "speaker").await, Code::PermissionDenied, "banned");
    assert_refused(app.invite(&cast.event, cast.host, cast.speaker).await, Code::PermissionDenied, "banned");
    assert_refused(app.ban(&cast.event, cast.host, cast.speaker).await, Code::AlreadyExists, "already_banned");
    let bans = app.view(&cast.event, cast.cohost).await.bans;
    assert_eq!(bans.len(), 1);
    assert_eq!(bans[0].user_id, cast.speaker.to_string());

    let r = pb::StageRequest { ..req(&cast.event, cast.cohost, Some(cast.speaker)) };
    app.stages().unban(r.clone()).await.expect("unban");
    assert_eq!(app.role(&cast.event, cast.speaker).await.unwrap(), "audience", "back, without the old role");
    assert_refused(app.stages().unban(r).await, Code::FailedPrecondition, "not_banned");

    // Banning a co-host is the host's alone, and takes their co-host role with it.
    assert_refused(app.ban(&cast.event, cast.moderator, cast.cohost).await, Code::PermissionDenied, "cannot_act_on_higher_role");
    app.ban(&cast.event, cast.host, cast.cohost).await.expect("host bans a co-host");
    assert!(app.fetch(&cast.event).await.cohost_ids.is_empty());
}

#[tokio::test]
async fn the_host_hands_over_and_stays_as_a_cohost_and_people_leave_the_stage_by_themselves() {
    let app = spawn_app().await;
    let cast = app.live_stage().await;
    assert_refused(
        app.set_role(&cast.event, cast.host, cast.host, "audience").await,
        Code::FailedPrecondition,
        "host_must_hand_over",
    );
    app.set_role(&cast.event, cast.speaker, cast.speaker, "audience").await.expect("a speaker leaves");
    assert_eq!(app.publish(&cast.event, cast.speaker).await, Vec::<String>::new());
    assert_refused(app.set_role(&cast.event, cast.viewer, cast.viewer, "speaker").await, Code::PermissionDenied, "not_allowed");

    app.set_role(&cast.event, cast.host, cast.cohost, "host").await.expect("hand over");
    let event = app.fetch(&cast.event).await;
    assert_eq!(event.host_id, cast.cohost.to_string());
    assert_eq!(event.cohost_ids, [cast.host.to_string()]);
    assert_eq!(app.role(&cast.event, cast.host).await.unwrap(), "cohost");
    assert_refused(app.end(cast.host, &cast.event).await, Code::PermissionDenied, "host_only");
    app.end(cast.cohost, &cast.event).await.expect("the new host ends it");
    // The stage is closed with the event.
    assert_refused(app.raise(&cast.event, user()).await, Code::FailedPrecondition, "event_over");
}

#[tokio::test]
async fn the_stage_log_is_for_staff_and_lists_changes_newest_first() {
    let app = spawn_app().await;
    let cast = app.live_stage().await;
    app.kick(&cast.event, cast.host, cast.viewer).await.expect("kick");
    let log = |actor: Uuid| {
        let r = pb::StageLogRequest { event_id: cast.event.clone(), actor_id: actor.to_string(), limit: 10 };
        let mut stages = app.stages();
        async move { stages.stage_log(r).await.map(|r| r.into_inner().entries) }
    };
    let entries = log(cast.moderator).await.expect("staff read the log");
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["kicked", "role_changed", "role_changed"]);
    assert_eq!(entries[0].target_user_id, cast.viewer.to_string());
    assert_refused(log(cast.speaker).await, Code::PermissionDenied, "not_allowed");
}

#[tokio::test]
async fn a_single_use_link_admits_exactly_one_of_two_racing_guests_and_an_expired_link_none() {
    let app = spawn_app().await;
    let cast = app.live_stage().await;
    let make = || {
        let r = pb::CreateLinkRequest {
            event_id: cast.event.clone(),
            actor_id: cast.host.to_string(),
            role: "speaker".into(),
            ..Default::default()
        };
        let mut stages = app.stages();
        async move { stages.create_link(r).await.unwrap().into_inner() }
    };
    let redeem = |token: String, guest: Uuid| {
        let mut stages = app.stages();
        async move { stages.redeem_link(pb::RedeemLinkRequest { token, guest_user_id: guest.to_string() }).await }
    };
    let link = make().await;
    assert_eq!(link.link.as_ref().unwrap().max_uses, 1);
    let (a, b) = (user(), user());
    let (ra, rb) = tokio::join!(redeem(link.token.clone(), a), redeem(link.token.clone(), b));
    let mut codes = [
        ra.map(|_| "ok".to_owned()).unwrap_or_else(|s| crate::helpers::error_code(&s)),
        rb.map(|_| "ok".to_owned()).unwrap_or_else(|s| crate::helpers::error_code(&s)),
    ];
    codes.sort();
    assert_eq!(codes, ["link_exhausted", "ok"]);
    let speakers = [app.role(&cast.event, a).await.unwrap(), app.role(&cast.event, b).await.unwrap()];
    assert_eq!(speakers.iter().filter(|r| *r == "speaker").count(), 1);

    let expired = make().await;
    sqlx::query("UPDATE events.stage_links SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&expired.link.as_ref().unwrap().id)
        .execute(&app.db)
        .await
        .unwrap();
    let peek = app.stages().peek_link(pb::PeekLinkRequest { token: expired.token.clone() }).await;
    assert_refused(peek, Code::FailedPrecondition, "link_expired");
    let before = app.stage_rows().await;
    assert_refused(redeem(expired.token, user()).await, Code::FailedPrecondition, "link_expired");
    assert_eq!(app.stage_rows().await, before, "a refused redemption changes nothing");
    // A secret is kept only as a hash.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM events.stage_links WHERE id = $1::uuid")
        .bind(&link.link.unwrap().id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_ne!(stored, link.token.as_bytes());
    assert_eq!(stored.len(), 32);
}
