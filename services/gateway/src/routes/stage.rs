//! The stage: raise a hand, invitations to speak, roles, kicks and bans.
//!
//! The events service decides every change with its one role policy and announces it on the
//! bus (where the live sockets hear it as `stage` frames). The gateway applies the result to the
//! SFU at once, so a promoted speaker publishes and a demoted one stops without rejoining, and a
//! kicked or banned user's media connections close.
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use stagecast_proto::{auth::v1 as auth_pb, events::v1 as pb, media::v1 as media_pb};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    api_doc::Problem as ProblemDoc,
    extract::{ApiJson, AuthUser},
    input_schemas::{DisplayName, GuestLinkLifetime, ImageUrl, StageReason},
    problem::Problem,
    routes::media::{Grants, room_of},
    state::AppState,
    wire::{
        rfc3339,
        stage::{Invitation, StageChange, StageRole, change, invitation},
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(view))
        .routes(routes!(raise_hand, lower_own_hand))
        .routes(routes!(lower_hand))
        .routes(routes!(invite))
        .routes(routes!(withdraw))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(set_role))
        .routes(routes!(leave))
        .routes(routes!(log))
        .routes(routes!(bring_on_air))
        .routes(routes!(send_backstage))
        .routes(routes!(kick))
        .routes(routes!(ban))
        .routes(routes!(unban))
        .routes(routes!(create_link, list_links))
        .routes(routes!(revoke_link))
        .routes(routes!(regenerate_link))
        .routes(routes!(peek_link))
        .routes(routes!(join_link))
}

/// The stage role a guest invite link grants.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents what the events service's `LinkSpec` accepts
pub enum GuestLinkRole {
    #[serde(rename = "speaker")]
    Speaker,
    #[serde(rename = "cohost")]
    CoHost,
}

/// The role the guest holds: the link's, or `audience` when the link needs approval (the
/// guest's hand is raised).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents what `redeem_link` answers
enum GuestJoinedRole {
    #[serde(rename = "speaker")]
    Speaker,
    #[serde(rename = "cohost")]
    CoHost,
    #[serde(rename = "audience")]
    Audience,
}

/// What a stage change endpoint answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StageChanged)]
pub struct Changed {
    change: StageChange,
    /// What the target may now do in the media room (absent once banned or the event is over).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    grants: Option<Grants>,
    /// Whether the SFU took the change (false when it could not be reached: the user's next
    /// media token carries the new rights anyway).
    applied_to_media: bool,
}

/// Applies a stage change to the SFU: new grants for a role change, a disconnect for a kick or
/// ban, a server mute for a mute. The events service has committed the change already, so a
/// failure here is logged and reported, not undone.
async fn apply_to_media(st: &AppState, room: &str, r: &pb::StageChangeResponse) -> bool {
    let Some(c) = r.change.as_ref() else { return false };
    let mut media = st.media.clone();
    let result = match c.kind.as_str() {
        "role_changed" | "invitation_accepted" | "brought_on_air" | "sent_backstage" => match r.target_grants.as_ref() {
            Some(g) => media
                .update_grants(media_pb::UpdateGrantsRequest {
                    room: room.to_owned(),
                    user_id: c.target_user_id.clone(),
                    grants: Some(media_pb::Grants {
                        subscribe: g.subscribe,
                        publish: g.publish.clone(),
                        hidden: g.hidden,
                        backstage: g.backstage,
                        see_backstage: g.see_backstage,
                    }),
                })
                .await
                .map(|_| ()),
            None => Ok(()),
        },
        "kicked" | "banned" => media
            .remove_participant(media_pb::RemoveParticipantRequest {
                room: room.to_owned(),
                user_id: c.target_user_id.clone(),
                reason: c.kind.clone(),
            })
            .await
            .map(|_| ()),
        "muted" => media
            .mute_track(media_pb::MuteTrackRequest {
                room: room.to_owned(),
                user_id: c.target_user_id.clone(),
                source: c.source.clone(),
            })
            .await
            .map(|_| ()),
        _ => return true,
    };
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(room, kind = %c.kind, error = %e.message(), "cannot apply a stage change to the SFU");
            false
        }
    }
}

async fn changed(st: &AppState, room: &str, r: pb::StageChangeResponse) -> Json<Changed> {
    let applied_to_media = apply_to_media(st, room, &r).await;
    let grants = r.target_grants.map(Grants::from);
    Json(Changed { change: change(r.change.unwrap_or_default()), grants, applied_to_media })
}

fn request(room: &str, who: &AuthUser, target: &str) -> pb::StageRequest {
    pb::StageRequest {
        event_id: room.to_owned(),
        actor_id: who.user_id.clone(),
        target_user_id: target.to_owned(),
        ..Default::default()
    }
}

/// Someone on the stage, with their name and avatar.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StagePerson)]
pub struct Person {
    user_id: String,
    /// Empty when the profile could not be read.
    display_name: String,
    #[schema(required = true)]
    avatar_url: Option<String>,
}

/// Someone holding a role on the stage.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StageMember)]
pub struct Member {
    #[serde(flatten)]
    person: Person,
    #[schema(value_type = StageRole)]
    role: String,
    /// Since when they hold the role.
    #[schema(format = DateTime, required = true)]
    since: Option<String>,
    /// In the green room (listed only to the host, co-hosts, moderators and the backstage).
    backstage: bool,
}

/// A raised hand.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StageHand)]
pub struct Hand {
    #[serde(flatten)]
    person: Person,
    #[schema(format = DateTime, required = true)]
    raised_at: Option<String>,
}

/// Someone banned from the event.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StageBan)]
pub struct Ban {
    #[serde(flatten)]
    person: Person,
    banned_by: String,
    /// Empty when none was given.
    reason: String,
    #[schema(format = DateTime, required = true)]
    banned_at: Option<String>,
}

/// The stage of an event. Staff (host, co-hosts, moderators) see every hand, open invitation
/// and ban; others see only their own hand and invitation, and no bans.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageView {
    event_id: String,
    /// Seats: the host, co-hosts and speakers on air.
    max_speakers: u32,
    #[schema(value_type = StageRole)]
    your_role: String,
    /// The host, co-hosts, moderators and speakers (everyone else is the audience); backstage
    /// members only for those who see the green room.
    members: Vec<Member>,
    /// Oldest first.
    hands: Vec<Hand>,
    /// Open ones only.
    invitations: Vec<Invitation>,
    bans: Vec<Ban>,
}

/// Names and avatars for people on the stage; someone whose profile cannot be read (a deleted
/// account, an auth hiccup) is shown by id rather than failing the whole view.
async fn people(st: &AppState, ids: Vec<String>) -> Vec<Person> {
    join_all(ids.into_iter().map(|user_id| {
        let mut auth = st.auth.clone();
        async move {
            match auth.get_profile(auth_pb::GetProfileRequest { user_id: user_id.clone() }).await {
                Ok(p) => {
                    let p = p.into_inner();
                    Person { user_id, display_name: p.display_name, avatar_url: Some(p.avatar_url).filter(|u| !u.is_empty()) }
                }
                Err(_) => Person { display_name: String::new(), avatar_url: None, user_id },
            }
        }
    }))
    .await
}

/// The stage: who holds a role, the hands raised, open invitations and bans
///
/// Staff (host, co-hosts, moderators) see every hand, open invitation and ban; others only their
/// own hand and invitation, and no bans. Backstage members are listed only to those who see the
/// green room (staff and the backstage). Names and avatars come from the profiles; someone whose
/// profile cannot be read is listed with an empty name.
#[utoipa::path(
    get,
    path = "/events/{id}/stage",
    tag = "Stage",
    operation_id = "getStage",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "The stage as you may see it", body = StageView),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn view(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<StageView>, Problem> {
    let room = room_of(&id)?;
    let s = st.stage.clone().get_stage(pb::GetStageRequest { event_id: room, actor_id: who.user_id }).await?.into_inner();
    let members = people(&st, s.members.iter().map(|m| m.user_id.clone()).collect()).await;
    let hands = people(&st, s.hands.iter().map(|h| h.user_id.clone()).collect()).await;
    let banned = people(&st, s.bans.iter().map(|b| b.user_id.clone()).collect()).await;
    Ok(Json(StageView {
        event_id: s.event_id,
        max_speakers: s.max_speakers,
        your_role: s.your_role,
        members: members
            .into_iter()
            .zip(s.members)
            .map(|(person, m)| Member { person, role: m.role, since: rfc3339(m.since.as_ref()), backstage: m.backstage })
            .collect(),
        hands: hands
            .into_iter()
            .zip(s.hands)
            .map(|(person, h)| Hand { person, raised_at: rfc3339(h.raised_at.as_ref()) })
            .collect(),
        invitations: s.invitations.into_iter().map(invitation).collect(),
        bans: banned
            .into_iter()
            .zip(s.bans)
            .map(|(person, b)| Ban { person, banned_by: b.banned_by, reason: b.reason, banned_at: rfc3339(b.banned_at.as_ref()) })
            .collect(),
    }))
}

/// Raise your hand to speak (the audience)
///
/// Answers the change `hand_raised`; staff see the hand in the stage view and every live socket
/// hears the change.
#[utoipa::path(
    post,
    path = "/events/{id}/stage/hand",
    tag = "Stage",
    operation_id = "raiseHand",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 201, description = "Your hand is up: the change", body = Changed),
        (status = 403, description = "`banned`: you are banned from this event; `not_allowed`: a moderator cannot raise a hand.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`hand_already_raised`; `already_on_stage`: the host, co-hosts and speakers are on the stage already; `event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn raise_hand(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Changed>), Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().raise_hand(request(&room, &who, "")).await?.into_inner();
    Ok((StatusCode::CREATED, changed(&st, &room, r).await))
}

/// Lower your own hand
///
/// Answers the change `hand_lowered`.
#[utoipa::path(
    delete,
    path = "/events/{id}/stage/hand",
    tag = "Stage",
    operation_id = "lowerOwnHand",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "Your hand is down: the change", body = Changed),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`hand_not_raised`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn lower_own_hand(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().lower_hand(request(&room, &who, "")).await?.into_inner();
    Ok(changed(&st, &room, r).await)
}

/// Lower someone's hand (staff, on a lower rank)
///
/// Answers the change `hand_lowered`. Lowering your own hand this way needs no rank.
#[utoipa::path(
    delete,
    path = "/events/{id}/stage/hands/{user_id}",
    tag = "Stage",
    operation_id = "lowerHand",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), ("user_id" = String, Path, format = Uuid, description = "Whose hand")),
    responses(
        (status = 200, description = "The hand is down: the change", body = Changed),
        (status = 403, description = "`not_allowed`: your role may not lower hands; `cannot_act_on_higher_role`: they rank as high as you or higher.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`hand_not_raised`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID; `invalid_target_user_id`: the user id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn lower_hand(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().lower_hand(request(&room, &who, &user_id)).await?.into_inner();
    Ok(changed(&st, &room, r).await)
}

/// Whom a stage action is for, and why.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StageTarget)]
pub struct TargetBody {
    #[schema(format = Uuid)]
    user_id: String,
    /// Kicks and bans: shown to them. Accepted and ignored by an invitation.
    #[serde(default)]
    #[schema(value_type = StageReason)]
    reason: String,
}

/// Invite someone to speak (staff, on a lower rank)
///
/// The invitation is open for 120 seconds. Answers the change `invited`, with the invitation;
/// the invitee accepts or declines it. `reason` is not used.
#[utoipa::path(
    post,
    path = "/events/{id}/stage/invitations",
    tag = "Stage",
    operation_id = "inviteToSpeak",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = TargetBody,
    responses(
        (status = 201, description = "Invited: the change, with the invitation", body = Changed),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`cannot_invite_yourself`: not on yourself; `not_allowed`: your role may not invite; `cannot_act_on_higher_role`: they rank as high as you or higher; `banned`: they are banned from this event (lift the ban first).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`already_on_stage`: they are on the stage already; `already_invited`: they have an open invitation; `stage_full`: every seat is taken; `event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID; `invalid_target_user_id`: `user_id` is not a UUID; `invalid_body`: the body does not match the schema", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn invite(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TargetBody>,
) -> Result<(StatusCode, Json<Changed>), Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().invite(request(&room, &who, &b.user_id)).await?.into_inner();
    Ok((StatusCode::CREATED, changed(&st, &room, r).await))
}

async fn answer(st: AppState, who: AuthUser, id: String, invitation_id: String, accept: bool) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let r = st
        .stage
        .clone()
        .answer_invitation(pb::AnswerInvitationRequest { event_id: room.clone(), actor_id: who.user_id, invitation_id, accept })
        .await?
        .into_inner();
    Ok(changed(&st, &room, r).await)
}

/// Withdraw an open invitation to speak (staff, on a lower rank)
///
/// Answers the change `invitation_withdrawn`; the invitee can no longer accept it.
#[utoipa::path(
    delete,
    path = "/events/{id}/stage/invitations/{invitation_id}",
    tag = "Stage",
    operation_id = "withdrawInvitation",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), ("invitation_id" = String, Path, format = Uuid, description = "The invitation's id")),
    responses(
        (status = 200, description = "Withdrawn: the change, with the invitation", body = Changed),
        (status = 403, description = "`not_allowed`: your role may not invite; `cannot_act_on_higher_role`: the invitee ranks as high as you or higher.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`invitation_not_found`: no such invitation (also once answered or withdrawn, or when the invitee is on the stage meanwhile, or the id is not a UUID); `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn withdraw(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, invitation_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let r = st
        .stage
        .clone()
        .withdraw_invitation(pb::WithdrawInvitationRequest { event_id: room.clone(), actor_id: who.user_id, invitation_id })
        .await?
        .into_inner();
    Ok(changed(&st, &room, r).await)
}

/// Accept your invitation: you become a speaker
///
/// Answers the change `invitation_accepted`; you take a seat and may publish your microphone
/// and camera at once.
#[utoipa::path(
    post,
    path = "/events/{id}/stage/invitations/{invitation_id}/accept",
    tag = "Stage",
    operation_id = "acceptInvitation",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), ("invitation_id" = String, Path, format = Uuid, description = "The invitation's id")),
    responses(
        (status = 200, description = "You are a speaker: the change, with the invitation", body = Changed),
        (status = 403, description = "`banned`: you are banned from this event.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`invitation_not_found`: not yours, answered or withdrawn (or the id is not a UUID); `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`invitation_expired`: raise your hand to be invited again; `already_on_stage`; `stage_full`: every seat is taken; `event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn accept(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, invitation_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    answer(st, who, id, invitation_id, true).await
}

/// Decline your invitation
///
/// Answers the change `invitation_declined`.
#[utoipa::path(
    post,
    path = "/events/{id}/stage/invitations/{invitation_id}/decline",
    tag = "Stage",
    operation_id = "declineInvitation",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), ("invitation_id" = String, Path, format = Uuid, description = "The invitation's id")),
    responses(
        (status = 200, description = "Declined: the change, with the invitation", body = Changed),
        (status = 404, description = "`invitation_not_found`: not yours, answered or withdrawn (or the id is not a UUID); `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`invitation_expired`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn decline(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, invitation_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    answer(st, who, id, invitation_id, false).await
}

/// The role to give.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StageRoleChange)]
pub struct RoleBody {
    #[schema(value_type = StageRole)]
    role: String,
}

async fn put_role(st: &AppState, who: &AuthUser, room: &str, target: String, role: String) -> Result<Json<Changed>, Problem> {
    let r = st
        .stage
        .clone()
        .set_role(pb::SetRoleRequest { event_id: room.to_owned(), actor_id: who.user_id.clone(), target_user_id: target, role })
        .await?
        .into_inner();
    Ok(changed(st, room, r).await)
}

/// Give someone a role: promote, demote (audience) or hand over the host role (by rank)
///
/// Answers the change `role_changed`. Only the host appoints or removes co-hosts and hands the
/// host role over (the old host stays on as a co-host); the host and co-hosts appoint
/// moderators; staff bring people up to speak and back to the audience. Giving yourself
/// `audience` is leaving the stage (as `POST …/stage/leave`).
#[utoipa::path(
    put,
    path = "/events/{id}/stage/roles/{user_id}",
    tag = "Stage",
    operation_id = "setStageRole",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), ("user_id" = String, Path, format = Uuid, description = "The target's user id")),
    request_body = RoleBody,
    responses(
        (status = 200, description = "The role changed: the change", body = Changed),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_allowed`: your role may not give this role (or you may only move yourself to the audience); `cannot_act_on_higher_role`: they rank as high as you or higher; `banned`: they are banned from this event (lift the ban first).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`role_unchanged`: they hold this role already; `stage_full`: every seat is taken; `host_must_hand_over`: the host cannot step down, only hand the role over; `too_many_cohosts`: 10 co-hosts already; `event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID; `invalid_target_user_id`: the user id is not a UUID; `invalid_role`; `invalid_body`: the body does not match the schema", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn set_role(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
    ApiJson(b): ApiJson<RoleBody>,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    put_role(&st, &who, &room, user_id, b.role).await
}

/// Bring a backstage co-host or speaker on air (host, co-hosts, by rank)
///
/// From the green room on air: they take a seat and the audience receives them from now on.
/// Answers the change `brought_on_air`.
#[utoipa::path(
    post,
    path = "/events/{id}/stage/on-air/{user_id}",
    tag = "Stage",
    operation_id = "bringOnAir",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), ("user_id" = String, Path, format = Uuid, description = "The target's user id")),
    responses(
        (status = 200, description = "On air: the change", body = Changed),
        (status = 403, description = "`not_allowed`: only the host and co-hosts move people between the backstage and the air; `cannot_act_on_higher_role`: they rank as high as you or higher.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`not_backstage`; `stage_full`: every seat is taken; `event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID; `invalid_target_user_id`: the user id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn bring_on_air(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().bring_on_air(request(&room, &who, &user_id)).await?.into_inner();
    Ok(changed(&st, &room, r).await)
}

/// Send an on-air co-host or speaker to the green room (host, co-hosts, by rank; or yourself)
///
/// The audience stops receiving them at once; the host, co-hosts, moderators and the backstage
/// still see and hear them. Their seat is freed. Answers the change `sent_backstage`.
#[utoipa::path(
    post,
    path = "/events/{id}/stage/backstage/{user_id}",
    tag = "Stage",
    operation_id = "sendBackstage",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), ("user_id" = String, Path, format = Uuid, description = "The target's user id")),
    responses(
        (status = 200, description = "Backstage: the change", body = Changed),
        (status = 403, description = "`not_allowed`: only the host and co-hosts move others, and only co-hosts and speakers can go backstage; `cannot_act_on_higher_role`: they rank as high as you or higher.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`already_backstage`; `event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID; `invalid_target_user_id`: the user id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn send_backstage(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().send_backstage(request(&room, &who, &user_id)).await?.into_inner();
    Ok(changed(&st, &room, r).await)
}

/// Go back to the audience yourself (speaker, moderator, co-host)
///
/// Answers the change `role_changed` to `audience`.
#[utoipa::path(
    post,
    path = "/events/{id}/stage/leave",
    tag = "Stage",
    operation_id = "leaveStage",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "You are in the audience: the change", body = Changed),
        (status = 403, description = "`not_allowed`: you are in the audience already.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`host_must_hand_over`: the host hands the role over first; `event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn leave(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let me = who.user_id.clone();
    put_role(&st, &who, &room, me, "audience".to_owned()).await
}

/// Bans `target` from the event (also the chat's `POST /chat/bans`).
pub(crate) async fn ban_user(
    st: &AppState,
    who: &AuthUser,
    id: &str,
    target: String,
    reason: String,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(id)?;
    let r = st.stage.clone().ban(pb::StageRequest { reason, ..request(&room, who, &target) }).await?;
    Ok(changed(st, &room, r.into_inner()).await)
}

pub(crate) async fn unban_user(st: &AppState, who: &AuthUser, id: &str, target: String) -> Result<Json<Changed>, Problem> {
    let room = room_of(id)?;
    let r = st.stage.clone().unban(request(&room, who, &target)).await?.into_inner();
    Ok(changed(st, &room, r).await)
}

pub(crate) async fn set_user_role(
    st: &AppState,
    who: &AuthUser,
    id: &str,
    target: String,
    role: &str,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(id)?;
    put_role(st, who, &room, target, role.to_owned()).await
}

/// Moves a moderator back to the audience; someone who is not a moderator is left alone.
pub(crate) async fn remove_moderator(st: &AppState, who: &AuthUser, id: &str, target: String) -> Result<Json<Changed>, Problem> {
    let room = room_of(id)?;
    let current = st
        .stage
        .clone()
        .get_media_grants(pb::GetMediaGrantsRequest { event_id: room.clone(), user_id: target.clone() })
        .await?
        .into_inner();
    if current.role != "moderator" {
        return Err(Problem::new(
            stagecast_kit::ErrorKind::NotFound,
            "moderator_not_found",
            "this user is not a moderator of this event",
        ));
    }
    put_role(st, who, &room, target, "audience".to_owned()).await
}

/// Kick someone out of the event (staff, on a lower rank); they may come back
///
/// Answers the change `kicked`: the SFU disconnects them and their live sockets close with
/// 4010. Their role stays.
#[utoipa::path(
    post,
    path = "/events/{id}/kick",
    tag = "Stage",
    operation_id = "kickFromEvent",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = TargetBody,
    responses(
        (status = 200, description = "Kicked: the change", body = Changed),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`cannot_act_on_yourself`: not on yourself; `not_allowed`: your role may not kick; `cannot_act_on_higher_role`: they rank as high as you or higher.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID; `invalid_target_user_id`: `user_id` is not a UUID; `reason_too_long`: over 200 characters; `invalid_reason`: control characters; `invalid_body`: the body does not match the schema", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn kick(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TargetBody>,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().kick(pb::StageRequest { reason: b.reason, ..request(&room, &who, &b.user_id) }).await?;
    Ok(changed(&st, &room, r.into_inner()).await)
}

/// Ban someone from the event (staff, on a lower rank)
///
/// Answers the change `banned`: as a kick, and they lose their role, hand and invitations;
/// media tokens, the live socket, chat and the stage refuse them (`banned`) until the ban is
/// lifted. Also `POST /events/{id}/chat/bans`.
#[utoipa::path(
    post,
    path = "/events/{id}/bans",
    tag = "Stage",
    operation_id = "banFromEvent",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = TargetBody,
    responses(
        (status = 201, description = "Banned: the change", body = Changed),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`cannot_act_on_yourself`: not on yourself; `not_allowed`: your role may not ban; `cannot_act_on_higher_role`: they rank as high as you or higher.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`already_banned`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID; `invalid_target_user_id`: `user_id` is not a UUID; `reason_too_long`: over 200 characters; `invalid_reason`: control characters; `invalid_body`: the body does not match the schema", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn ban(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TargetBody>,
) -> Result<(StatusCode, Json<Changed>), Problem> {
    Ok((StatusCode::CREATED, ban_user(&st, &who, &id, b.user_id, b.reason).await?))
}

/// Lift a ban (staff)
///
/// Answers the change `unbanned`. They come back as the audience.
#[utoipa::path(
    delete,
    path = "/events/{id}/bans/{user_id}",
    tag = "Stage",
    operation_id = "unbanFromEvent",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), ("user_id" = String, Path, format = Uuid, description = "Who is banned")),
    responses(
        (status = 200, description = "The ban is lifted: the change", body = Changed),
        (status = 403, description = "`not_allowed`: your role may not lift bans.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`not_banned`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID; `invalid_target_user_id`: the user id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn unban(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    unban_user(&st, &who, &id, user_id).await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// How many entries, newest first.
    #[param(minimum = 1, maximum = 500, default = 100)]
    limit: Option<u32>,
}

/// The latest stage changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageLog {
    /// Newest first. The log keeps each change's kind, actor, target, role, reason and time:
    /// its entries have no `previous_role`, `invitation` or `source`.
    entries: Vec<StageChange>,
}

/// The latest stage changes, newest first (staff)
#[utoipa::path(
    get,
    path = "/events/{id}/stage/log",
    tag = "Stage",
    operation_id = "getStageLog",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), LogQuery),
    responses(
        (status = 200, description = "The latest changes, newest first", body = StageLog),
        (status = 403, description = "`not_allowed`: only staff see the stage log.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID; `invalid_limit`: `limit` is not between 1 and 500; `invalid_query`: the query string does not parse (a parameter other than `limit`, a `limit` that is not a number)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn log(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<LogQuery>,
) -> Result<Json<StageLog>, Problem> {
    let room = room_of(&id)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::new(stagecast_kit::ErrorKind::InvalidInput, "invalid_limit", "limit must be between 1 and 500"));
    }
    let r = st.stage.clone().stage_log(pb::StageLogRequest { event_id: room, actor_id: who.user_id, limit }).await?.into_inner();
    Ok(Json(StageLog { entries: r.entries.into_iter().map(change).collect() }))
}

// ---- guest invite links --------------------------------------------------------------------

/// A guest invite link, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuestLink {
    #[schema(format = Uuid)]
    id: String,
    /// The stage role it grants.
    #[schema(value_type = GuestLinkRole)]
    role: String,
    /// Guests join the audience with a raised hand instead of taking the role.
    needs_approval: bool,
    /// How many guests may join through it.
    max_uses: u32,
    /// How many have.
    uses: u32,
    created_by: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    expires_at: Option<String>,
    /// When it was withdrawn (or replaced by a regenerated one).
    #[schema(format = DateTime, required = true)]
    revoked_at: Option<String>,
}

fn guest_link(l: pb::GuestLink) -> GuestLink {
    GuestLink {
        created_at: rfc3339(l.created_at.as_ref()),
        expires_at: rfc3339(l.expires_at.as_ref()),
        revoked_at: rfc3339(l.revoked_at.as_ref()),
        id: l.id,
        role: l.role,
        needs_approval: l.needs_approval,
        max_uses: l.max_uses,
        uses: l.uses,
        created_by: l.created_by,
    }
}

/// A new link and its secret (in `token` and `join_url`), shown this once: only a hash of it is
/// stored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = GuestLinkCreated)]
pub struct NewLink {
    link: GuestLink,
    /// 43 URL-safe base64 characters.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    token: String,
    /// The web client's join page for this link: `{GATEWAY_PUBLIC_URL}/join/{token}`, relative
    /// (`/join/{token}`) when that is not set.
    join_url: String,
}

fn new_link(st: &AppState, c: pb::LinkCreated) -> NewLink {
    let base = st.config.public_url.clone().unwrap_or_default();
    NewLink { join_url: format!("{base}/join/{}", c.token), token: c.token, link: guest_link(c.link.unwrap_or_default()) }
}

/// What a new guest invite link grants, and its limits.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateGuestLink)]
pub struct LinkBody {
    /// `cohost` links are the host's alone.
    #[schema(value_type = GuestLinkRole)]
    role: String,
    #[serde(default)]
    #[schema(value_type = GuestLinkLifetime)]
    expires_in_secs: u32,
    /// How many guests may join through it: 1 to 1000; 0 or absent: one.
    #[serde(default)]
    #[schema(maximum = 1000, default = 1)]
    max_uses: u32,
    /// Guests join the audience with a raised hand instead of taking the role.
    #[serde(default)]
    needs_approval: bool,
}

/// Make a guest invite link (host, co-hosts; co-host links: the host)
///
/// The secret (`token`, `join_url`) is in this answer only; only its hash is stored. Each
/// person who opens the link gets a guest identity of their own and a session for this event
/// only.
#[utoipa::path(
    post,
    path = "/events/{id}/stage/links",
    tag = "Guest links",
    operation_id = "createGuestLink",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = LinkBody,
    responses(
        (status = 201, description = "The link and its secret (shown this once)", body = NewLink),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_allowed`: only the host and co-hosts make links, and only the host co-host links.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID; `invalid_role`: not a role; `invalid_link_role`: a link grants `speaker` or `cohost`; `invalid_expiry`: `expires_in_secs` not 0 or 60 to 604800; `invalid_max_uses`: over 1000; `invalid_body`: the body does not match the schema", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn create_link(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<LinkBody>,
) -> Result<(StatusCode, Json<NewLink>), Problem> {
    let room = room_of(&id)?;
    let r = st
        .stage
        .clone()
        .create_link(pb::CreateLinkRequest {
            event_id: room,
            actor_id: who.user_id,
            role: b.role,
            expires_in_secs: b.expires_in_secs,
            max_uses: b.max_uses,
            needs_approval: b.needs_approval,
        })
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(new_link(&st, r))))
}

/// An event's guest invite links.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = GuestLinkList)]
pub struct Links {
    /// Newest first (at most 200), withdrawn, expired and used-up ones included.
    links: Vec<GuestLink>,
}

/// The event's guest invite links, without their secrets (host, co-hosts)
///
/// Withdrawn, expired and used-up links are listed too.
#[utoipa::path(
    get,
    path = "/events/{id}/stage/links",
    tag = "Guest links",
    operation_id = "listGuestLinks",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "The links, newest first", body = Links),
        (status = 403, description = "`not_allowed`: only the host and co-hosts see the links.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn list_links(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Links>, Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().list_links(pb::ListLinksRequest { event_id: room, actor_id: who.user_id }).await?.into_inner();
    Ok(Json(Links { links: r.links.into_iter().map(guest_link).collect() }))
}

async fn revoke(
    st: &AppState,
    who: AuthUser,
    id: &str,
    link_id: String,
    regenerate: bool,
) -> Result<pb::RevokeLinkResponse, Problem> {
    let room = room_of(id)?;
    let request = pb::RevokeLinkRequest { event_id: room, actor_id: who.user_id, link_id, regenerate };
    Ok(st.stage.clone().revoke_link(request).await?.into_inner())
}

/// Withdraw a guest invite link
///
/// Its URL stops working at once; guests who joined through it stay.
#[utoipa::path(
    delete,
    path = "/events/{id}/stage/links/{link_id}",
    tag = "Guest links",
    operation_id = "revokeGuestLink",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), ("link_id" = String, Path, format = Uuid, description = "The link's id")),
    responses(
        (status = 200, description = "The link, with `revoked_at`", body = GuestLink),
        (status = 403, description = "`not_allowed`: only the host and co-hosts withdraw links, and only the host co-host links.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`link_not_found` (also when the id is not a UUID); `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`link_revoked`: withdrawn already", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn revoke_link(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, link_id)): Path<(String, String)>,
) -> Result<Json<GuestLink>, Problem> {
    let r = revoke(&st, who, &id, link_id, false).await?;
    Ok(Json(guest_link(r.revoked.unwrap_or_default())))
}

/// Replace a guest invite link by a new one with the same settings
///
/// The old URL stops working at once (when it still worked); the new link has the same role,
/// approval and number of uses, no uses yet, and lasts as long as the old one was made to last,
/// from now. Its secret is in this answer only.
#[utoipa::path(
    post,
    path = "/events/{id}/stage/links/{link_id}/regenerate",
    tag = "Guest links",
    operation_id = "regenerateGuestLink",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), ("link_id" = String, Path, format = Uuid, description = "The link's id")),
    responses(
        (status = 201, description = "The new link and its secret (shown this once)", body = NewLink),
        (status = 403, description = "`not_allowed`: only the host and co-hosts manage links, and only the host co-host links.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`link_not_found` (also when the id is not a UUID); `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`: the event id is not a UUID", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn regenerate_link(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, link_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<NewLink>), Problem> {
    let r = revoke(&st, who, &id, link_id, true).await?;
    let replacement =
        r.replacement.ok_or_else(|| Problem(stagecast_kit::ApiError::internal("regenerate answered without a link")))?;
    Ok((StatusCode::CREATED, Json(new_link(&st, replacement))))
}

/// What a link offers, for the join page.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = GuestLinkOffer)]
pub struct LinkOffer {
    event: crate::wire::events::Event,
    #[schema(value_type = GuestLinkRole)]
    role: String,
    /// Guests join the audience with a raised hand instead of taking the role.
    needs_approval: bool,
    #[schema(value_type = String, format = DateTime)]
    expires_at: Option<String>,
}

/// What a guest invite link offers, for the join page (no sign-in)
///
/// The event, the role and whether the host approves guests first; refused once the link can
/// no longer be used.
#[utoipa::path(
    get,
    path = "/guest-links/{token}",
    tag = "Guest links",
    operation_id = "peekGuestLink",
    params(("token" = String, Path, description = "The link's secret (the last part of its join URL)")),
    responses(
        (status = 200, description = "What the link offers", body = LinkOffer),
        (status = 404, description = "`link_not_found`: no such link (also when the token is not shaped like one); `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`link_revoked`, `link_expired`, `link_exhausted`: ask the host for a new link; `event_over`: the event has ended or was cancelled", body = ProblemDoc, content_type = "application/problem+json"),
    ),
)]
async fn peek_link(State(st): State<AppState>, Path(token): Path<String>) -> Result<Json<LinkOffer>, Problem> {
    let r = st.stage.clone().peek_link(pb::PeekLinkRequest { token }).await?.into_inner();
    let event = st.events.clone().get_event(pb::GetEventRequest { id: r.event_id }).await?.into_inner();
    let link = r.link.unwrap_or_default();
    Ok(Json(LinkOffer {
        event: crate::wire::events::event(event),
        role: link.role,
        needs_approval: link.needs_approval,
        expires_at: rfc3339(link.expires_at.as_ref()),
    }))
}

/// Whether a failed call may still have been carried out: its answer was lost, not a refusal.
fn outcome_unknown(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled | tonic::Code::Unknown
    )
}

/// Deletes a guest identity made for a join that was then refused.
async fn forget_guest(st: &AppState, user_id: String, event_id: String) {
    let request = auth_pb::DeleteGuestRequest { user_id: user_id.clone(), event_id };
    if let Err(e) = st.auth.clone().delete_guest(request).await {
        tracing::warn!(error = %e.message(), code = ?e.code(), user_id, "cannot delete the guest of a refused join");
    }
}

/// Who joins through a guest invite link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = JoinGuestLink)]
pub struct JoinBody {
    #[schema(value_type = DisplayName)]
    display_name: String,
    /// Blank for none.
    #[serde(default)]
    #[schema(value_type = ImageUrl)]
    avatar_url: String,
}

/// A guest session (as sign-up answers) and where it leads.
#[derive(Serialize, ToSchema)]
#[schema(as = GuestJoined)]
pub struct Joined {
    #[serde(flatten)]
    tokens: crate::routes::auth::Tokens,
    /// The one event the session may act on.
    event_id: String,
    // Documented by `GuestJoinedRole` (a description here would break the inlined enum).
    #[schema(value_type = GuestJoinedRole, inline)]
    role: String,
    /// `role_changed` (into the green room, with the link's role) or, with approval,
    /// `hand_raised`.
    #[schema(value_type = StageChange, required = true)]
    change: Option<StageChange>,
}

/// Join an event as a guest through an invite link (no account)
///
/// A person without an account joins through a link: the link is checked, a guest identity of
/// their own is made, with a session whose access tokens work for this event only, and the
/// link's role is theirs; they wait in the green room until brought on air. With
/// `needs_approval` they join the audience with a raised hand instead. Rate limited per client
/// address as sign-up is (`SIGNUP_LIMIT_PER_HOUR`, default 20 an hour).
#[utoipa::path(
    post,
    path = "/guest-links/{token}/join",
    tag = "Guest links",
    operation_id = "joinGuestLink",
    params(("token" = String, Path, description = "The link's secret")),
    request_body = JoinBody,
    responses(
        (status = 201, description = "A guest session", body = Joined),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`link_not_found`: no such link (also when the token is not shaped like one); `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`link_revoked`, `link_expired`, `link_exhausted`: ask the host for a new link; `event_over`: the event has ended or was cancelled; `already_on_stage`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`display_name_required`, `display_name_too_long`, `invalid_display_name`, `invalid_avatar_url`, `invalid_body`: the body does not match the schema", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many guests joined from your address this hour; see Retry-After", headers(("Retry-After" = u64, description = "Seconds to wait before retrying")), body = ProblemDoc, content_type = "application/problem+json"),
    ),
)]
async fn join_link(
    State(st): State<AppState>,
    crate::extract::ClientIp(ip): crate::extract::ClientIp,
    Path(token): Path<String>,
    ApiJson(b): ApiJson<JoinBody>,
) -> Result<(StatusCode, Json<Joined>), Problem> {
    let mut redis = st.redis.clone();
    let hour = std::time::Duration::from_secs(3600);
    crate::ratelimit::check(&mut redis, &format!("guest_join:ip:{ip}"), st.config.signup_limit_per_hour, hour).await?;
    // Checked first, so a dead link makes no guest identity.
    let peek = st.stage.clone().peek_link(pb::PeekLinkRequest { token: token.clone() }).await?.into_inner();
    let session = st
        .auth
        .clone()
        .create_guest(auth_pb::CreateGuestRequest {
            display_name: b.display_name,
            avatar_url: b.avatar_url,
            event_id: peek.event_id.clone(),
        })
        .await?
        .into_inner();
    let guest_id = session.user.as_ref().map(|u| u.id.clone()).unwrap_or_default();
    let redeemed = st.stage.clone().redeem_link(pb::RedeemLinkRequest { token, guest_user_id: guest_id.clone() }).await;
    let r = match redeemed {
        Ok(r) => r.into_inner(),
        Err(status) => {
            // Two joins can pass the check above for a link's last use; the one the events
            // service refuses must not leave its guest identity behind. The identity lives in
            // the auth service and the link in the events service, so this undoes it rather
            // than sharing a transaction. When the answer was lost, not given, the guest may
            // hold the link's role, and keeping them is the lesser harm.
            if !outcome_unknown(&status) {
                forget_guest(&st, guest_id, peek.event_id).await;
            }
            return Err(status.into());
        }
    };
    let result = r.result.unwrap_or_default();
    let role = result.change.as_ref().map(|c| c.role.clone()).unwrap_or_default();
    let applied = changed(&st, &r.event_id, result).await;
    let Json(Changed { change, .. }) = applied;
    Ok((
        StatusCode::CREATED,
        Json(Joined { tokens: crate::routes::auth::tokens(session), event_id: r.event_id, role, change: Some(change) }),
    ))
}
