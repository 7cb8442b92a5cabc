//! The stage: raise a hand, invitations to speak, roles, kicks and bans.
//!
//! The events service decides every change with its one role policy and announces it on the
//! bus (where the live sockets hear it as `stage` frames). The gateway applies the result to the
//! SFU at once, so a promoted speaker publishes and a demoted one stops without rejoining, and a
//! kicked or banned user's media connections close.
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{delete, get, post, put},
};
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use stagecast_proto::{auth::v1 as auth_pb, events::v1 as pb, media::v1 as media_pb};

use crate::{
    extract::{ApiJson, AuthUser},
    problem::Problem,
    routes::{
        media::{Grants, room_of},
        rfc3339,
    },
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events/{id}/stage", get(view))
        .route("/events/{id}/stage/hand", post(raise_hand).delete(lower_own_hand))
        .route("/events/{id}/stage/hands/{user_id}", delete(lower_hand))
        .route("/events/{id}/stage/invitations", post(invite))
        .route("/events/{id}/stage/invitations/{invitation_id}", delete(withdraw))
        .route("/events/{id}/stage/invitations/{invitation_id}/accept", post(accept))
        .route("/events/{id}/stage/invitations/{invitation_id}/decline", post(decline))
        .route("/events/{id}/stage/roles/{user_id}", put(set_role))
        .route("/events/{id}/stage/leave", post(leave))
        .route("/events/{id}/stage/log", get(log))
        .route("/events/{id}/stage/on-air/{user_id}", post(bring_on_air))
        .route("/events/{id}/stage/backstage/{user_id}", post(send_backstage))
        .route("/events/{id}/kick", post(kick))
        .route("/events/{id}/bans", post(ban))
        .route("/events/{id}/bans/{user_id}", delete(unban))
        .route("/events/{id}/stage/links", post(create_link).get(list_links))
        .route("/events/{id}/stage/links/{link_id}", delete(revoke_link))
        .route("/events/{id}/stage/links/{link_id}/regenerate", post(regenerate_link))
        .route("/guest-links/{token}", get(peek_link))
        .route("/guest-links/{token}/join", post(join_link))
}

#[derive(Debug, Clone, Serialize)]
pub struct Invitation {
    id: String,
    user_id: String,
    invited_by: String,
    created_at: Option<String>,
    expires_at: Option<String>,
}

fn invitation(i: pb::Invitation) -> Invitation {
    Invitation {
        created_at: rfc3339(i.created_at.as_ref()),
        expires_at: rfc3339(i.expires_at.as_ref()),
        id: i.id,
        user_id: i.user_id,
        invited_by: i.invited_by,
    }
}

/// One stage change, as the REST API and the `stage` WebSocket frame carry it.
#[derive(Debug, Clone, Serialize)]
pub struct StageChange {
    kind: String,
    actor_id: String,
    target_user_id: String,
    role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invitation: Option<Invitation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
}

pub fn change(c: pb::StageChanged) -> StageChange {
    let some = |s: String| Some(s).filter(|s| !s.is_empty());
    StageChange {
        at: rfc3339(c.at.as_ref()),
        invitation: c.invitation.map(invitation),
        previous_role: some(c.previous_role),
        reason: some(c.reason),
        source: some(c.source),
        kind: c.kind,
        actor_id: c.actor_id,
        target_user_id: c.target_user_id,
        role: c.role,
    }
}

#[derive(Debug, Serialize)]
pub struct Changed {
    change: StageChange,
    /// What the target may now do in the media room (absent once banned or the event is over).
    #[serde(skip_serializing_if = "Option::is_none")]
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

#[derive(Debug, Serialize)]
pub struct Person {
    user_id: String,
    display_name: String,
    avatar_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Member {
    #[serde(flatten)]
    person: Person,
    role: String,
    since: Option<String>,
    /// In the green room (listed only to the host, co-hosts, moderators and the backstage).
    backstage: bool,
}

#[derive(Debug, Serialize)]
pub struct Hand {
    #[serde(flatten)]
    person: Person,
    raised_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Ban {
    #[serde(flatten)]
    person: Person,
    banned_by: String,
    reason: String,
    banned_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StageView {
    event_id: String,
    max_speakers: u32,
    your_role: String,
    members: Vec<Member>,
    hands: Vec<Hand>,
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

async fn raise_hand(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Changed>), Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().raise_hand(request(&room, &who, "")).await?.into_inner();
    Ok((StatusCode::CREATED, changed(&st, &room, r).await))
}

async fn lower_own_hand(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().lower_hand(request(&room, &who, "")).await?.into_inner();
    Ok(changed(&st, &room, r).await)
}

async fn lower_hand(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().lower_hand(request(&room, &who, &user_id)).await?.into_inner();
    Ok(changed(&st, &room, r).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    user_id: String,
    #[serde(default)]
    reason: String,
}

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

/// Staff withdraw an open invitation.
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

async fn accept(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, invitation_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    answer(st, who, id, invitation_id, true).await
}

async fn decline(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, invitation_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    answer(st, who, id, invitation_id, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
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

async fn set_role(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
    ApiJson(b): ApiJson<RoleBody>,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    put_role(&st, &who, &room, user_id, b.role).await
}

/// From the green room on air (takes a seat; the audience receives them from now on).
async fn bring_on_air(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().bring_on_air(request(&room, &who, &user_id)).await?.into_inner();
    Ok(changed(&st, &room, r).await)
}

/// To the green room (the audience stops receiving them at once).
async fn send_backstage(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    let room = room_of(&id)?;
    let r = st.stage.clone().send_backstage(request(&room, &who, &user_id)).await?.into_inner();
    Ok(changed(&st, &room, r).await)
}

/// Back to the audience, by oneself.
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

async fn ban(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TargetBody>,
) -> Result<(StatusCode, Json<Changed>), Problem> {
    Ok((StatusCode::CREATED, ban_user(&st, &who, &id, b.user_id, b.reason).await?))
}

async fn unban(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<Changed>, Problem> {
    unban_user(&st, &who, &id, user_id).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct StageLog {
    entries: Vec<StageChange>,
}

async fn log(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
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

#[derive(Debug, Serialize)]
pub struct GuestLink {
    id: String,
    role: String,
    needs_approval: bool,
    max_uses: u32,
    uses: u32,
    created_by: String,
    created_at: Option<String>,
    expires_at: Option<String>,
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

/// A link as made: its secret is in `token` and `join_url`, shown this once.
#[derive(Debug, Serialize)]
pub struct NewLink {
    link: GuestLink,
    token: String,
    /// The web client's join page for this link.
    join_url: String,
}

fn new_link(st: &AppState, c: pb::LinkCreated) -> NewLink {
    let base = st.config.public_url.clone().unwrap_or_default();
    NewLink { join_url: format!("{base}/join/{}", c.token), token: c.token, link: guest_link(c.link.unwrap_or_default()) }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    role: String,
    #[serde(default)]
    expires_in_secs: u32,
    #[serde(default)]
    max_uses: u32,
    #[serde(default)]
    needs_approval: bool,
}

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

#[derive(Debug, Serialize)]
pub struct Links {
    links: Vec<GuestLink>,
}

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

async fn revoke_link(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, link_id)): Path<(String, String)>,
) -> Result<Json<GuestLink>, Problem> {
    let r = revoke(&st, who, &id, link_id, false).await?;
    Ok(Json(guest_link(r.revoked.unwrap_or_default())))
}

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

#[derive(Debug, Serialize)]
pub struct LinkOffer {
    event: crate::routes::events::Event,
    role: String,
    needs_approval: bool,
    expires_at: Option<String>,
}

/// What a link offers, for the join page (no account needed).
async fn peek_link(State(st): State<AppState>, Path(token): Path<String>) -> Result<Json<LinkOffer>, Problem> {
    let r = st.stage.clone().peek_link(pb::PeekLinkRequest { token }).await?.into_inner();
    let event = st.events.clone().get_event(pb::GetEventRequest { id: r.event_id }).await?.into_inner();
    let link = r.link.unwrap_or_default();
    Ok(Json(LinkOffer {
        event: crate::routes::events::event(event),
        role: link.role,
        needs_approval: link.needs_approval,
        expires_at: rfc3339(link.expires_at.as_ref()),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinBody {
    display_name: String,
    #[serde(default)]
    avatar_url: String,
}

#[derive(Serialize)]
pub struct Joined {
    #[serde(flatten)]
    tokens: crate::routes::auth::Tokens,
    event_id: String,
    role: String,
    change: Option<StageChange>,
}

/// A person without an account joins through a link: the link is checked, a guest identity of
/// their own is made (a session good for this event only), and the link's role is theirs.
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
    let r = st.stage.clone().redeem_link(pb::RedeemLinkRequest { token, guest_user_id: guest_id }).await?.into_inner();
    let result = r.result.unwrap_or_default();
    let role = result.change.as_ref().map(|c| c.role.clone()).unwrap_or_default();
    let applied = changed(&st, &r.event_id, result).await;
    let Json(Changed { change, .. }) = applied;
    Ok((
        StatusCode::CREATED,
        Json(Joined { tokens: crate::routes::auth::tokens(session), event_id: r.event_id, role, change: Some(change) }),
    ))
}
