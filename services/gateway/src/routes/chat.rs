//! Chat over REST: the live socket's route, history, replay, presence, sending (for bots and
//! clients without a socket) and every moderation action.
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{delete, get, post, put},
};
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::chat::v1::{self as pb, moderate_request::Action};

use crate::{
    extract::{ApiJson, AuthUser},
    live::{
        presence,
        protocol::{self, ChatMessage, ModerationAction, Presence},
    },
    problem::Problem,
    routes::stage,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events/{id}/live", get(crate::live::socket::live))
        .route("/events/{id}/presence", get(presence_of))
        .route("/events/{id}/chat/messages", get(history).post(send))
        .route("/events/{id}/chat/messages/{message_id}", delete(delete_message))
        .route("/events/{id}/chat/replay", get(replay))
        .route("/events/{id}/chat/timeouts", post(timeout))
        .route("/events/{id}/chat/bans", post(ban))
        .route("/events/{id}/chat/bans/{user_id}", delete(unban))
        .route("/events/{id}/chat/moderators", post(add_moderator))
        .route("/events/{id}/chat/moderators/{user_id}", delete(remove_moderator))
        .route("/events/{id}/chat/settings", put(settings))
        .route("/events/{id}/chat/pin", put(pin).delete(unpin))
        .route("/events/{id}/chat/held", get(held))
        .route("/events/{id}/chat/held/{message_id}/approve", post(approve))
        .route("/events/{id}/chat/held/{message_id}/deny", post(deny))
        .route("/events/{id}/chat/audit", get(audit))
        .route("/events/{id}/chat/standing", get(standing))
}

pub(crate) fn query_problem(e: axum::extract::rejection::QueryRejection) -> Problem {
    Problem::new(ErrorKind::InvalidInput, "invalid_query", e.body_text())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    before: Option<String>,
    limit: Option<u32>,
}

#[derive(Serialize)]
pub struct MessagePage {
    messages: Vec<ChatMessage>,
    next_before: Option<String>,
}

async fn history(
    State(st): State<AppState>,
    _who: AuthUser,
    Path(id): Path<String>,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MessagePage>, Problem> {
    let Query(q) = q.map_err(query_problem)?;
    let r = st
        .chat
        .clone()
        .history(pb::HistoryRequest { event_id: id, before_id: q.before.unwrap_or_default(), limit: q.limit.unwrap_or(50) })
        .await?
        .into_inner();
    Ok(Json(MessagePage {
        messages: r.messages.into_iter().map(protocol::message).collect(),
        next_before: Some(r.next_before_id).filter(|s| !s.is_empty()),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    client_msg_id: String,
    text: String,
}

#[derive(Serialize)]
pub struct Sent {
    message: ChatMessage,
    held: bool,
}

async fn send(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SendBody>,
) -> Result<(StatusCode, Json<Sent>), Problem> {
    let profile = st
        .auth
        .clone()
        .get_profile(stagecast_proto::auth::v1::GetProfileRequest { user_id: who.user_id.clone() })
        .await?
        .into_inner();
    let r = st
        .chat
        .clone()
        .send(pb::SendRequest {
            event_id: id,
            user: Some(pb::Author {
                user_id: who.user_id,
                display_name: profile.display_name,
                avatar_url: profile.avatar_url,
                role: 0,
            }),
            client_msg_id: b.client_msg_id,
            text: b.text,
        })
        .await?
        .into_inner();
    let status = if r.held { StatusCode::ACCEPTED } else { StatusCode::CREATED };
    Ok((status, Json(Sent { message: protocol::message(r.message.unwrap_or_default()), held: r.held })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayQuery {
    from_offset_ms: Option<i64>,
    limit: Option<u32>,
}

#[derive(Serialize)]
pub struct ReplayItem {
    offset_ms: i64,
    message: ChatMessage,
}

#[derive(Serialize)]
pub struct ReplayPage {
    items: Vec<ReplayItem>,
    next_offset_ms: Option<i64>,
}

async fn replay(
    State(st): State<AppState>,
    _who: AuthUser,
    Path(id): Path<String>,
    q: Result<Query<ReplayQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ReplayPage>, Problem> {
    let Query(q) = q.map_err(query_problem)?;
    let r = st
        .chat
        .clone()
        .replay(pb::ReplayRequest { event_id: id, from_offset_ms: q.from_offset_ms.unwrap_or(0), limit: q.limit.unwrap_or(200) })
        .await?
        .into_inner();
    Ok(Json(ReplayPage {
        items: r
            .items
            .into_iter()
            .map(|i| ReplayItem { offset_ms: i.offset_ms, message: protocol::message(i.message.unwrap_or_default()) })
            .collect(),
        next_offset_ms: Some(r.next_offset_ms).filter(|o| *o >= 0),
    }))
}

async fn presence_of(State(st): State<AppState>, _who: AuthUser, Path(id): Path<String>) -> Result<Json<Presence>, Problem> {
    let mut redis = st.redis.clone();
    let p = presence::snapshot(&mut redis, &id, 100).await.map_err(|e| Problem(stagecast_kit::ApiError::internal(e)))?;
    Ok(Json(p))
}

/// Runs one moderation action for the caller.
async fn moderate(
    st: &AppState,
    who: AuthUser,
    event_id: String,
    reason: Option<String>,
    action: Action,
) -> Result<Json<ModerationAction>, Problem> {
    let r = st
        .chat
        .clone()
        .moderate(pb::ModerateRequest {
            event_id,
            actor_id: who.user_id,
            reason: reason.unwrap_or_default(),
            action: Some(action),
        })
        .await?
        .into_inner();
    let action = r.action.ok_or_else(|| Problem(stagecast_kit::ApiError::internal("moderation answered without an action")))?;
    Ok(Json(protocol::action(action)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonQuery {
    reason: Option<String>,
}

async fn delete_message(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, message_id)): Path<(String, String)>,
    q: Result<Query<ReasonQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ModerationAction>, Problem> {
    let Query(q) = q.map_err(query_problem)?;
    moderate(&st, who, id, q.reason, Action::DeleteMessageId(message_id)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutBody {
    user_id: String,
    duration_secs: u32,
    reason: Option<String>,
}

async fn timeout(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TimeoutBody>,
) -> Result<Json<ModerationAction>, Problem> {
    moderate(&st, who, id, b.reason, Action::Timeout(pb::Timeout { user_id: b.user_id, duration_secs: b.duration_secs })).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    user_id: String,
    reason: Option<String>,
}

// Bans and moderators belong to the event's one role model (the stage, in the events service);
// the chat follows it from the bus. These chat-flavoured paths are kept for clients of the chat
// API and answer with the stage change (see routes/stage.rs).

async fn ban(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UserBody>,
) -> Result<Json<stage::Changed>, Problem> {
    stage::ban_user(&st, &who, &id, b.user_id, b.reason.unwrap_or_default()).await
}

async fn unban(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
    q: Result<Query<ReasonQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<stage::Changed>, Problem> {
    let Query(_) = q.map_err(query_problem)?;
    stage::unban_user(&st, &who, &id, user_id).await
}

async fn add_moderator(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UserBody>,
) -> Result<Json<stage::Changed>, Problem> {
    stage::set_user_role(&st, &who, &id, b.user_id, "moderator").await
}

async fn remove_moderator(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<stage::Changed>, Problem> {
    stage::remove_moderator(&st, &who, &id, user_id).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    slow_mode_secs: Option<u32>,
    blocked_terms: Option<Vec<String>>,
    blocked_term_mode: Option<String>,
    reason: Option<String>,
}

#[derive(Serialize)]
pub struct SettingsChanged {
    actions: Vec<ModerationAction>,
}

async fn settings(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SettingsBody>,
) -> Result<Json<SettingsChanged>, Problem> {
    let mode = match b.blocked_term_mode.as_deref() {
        None | Some("reject") => pb::BlockedTermMode::Reject,
        Some("hold") => pb::BlockedTermMode::Hold,
        Some(other) => {
            return Err(Problem::new(
                ErrorKind::InvalidInput,
                "invalid_blocked_term_mode",
                format!("blocked_term_mode must be reject or hold, not {other:?}"),
            ));
        }
    };
    if b.slow_mode_secs.is_none() && b.blocked_terms.is_none() {
        return Err(Problem::new(ErrorKind::InvalidInput, "nothing_to_update", "give slow_mode_secs and/or blocked_terms"));
    }
    let mut actions = Vec::new();
    if let Some(secs) = b.slow_mode_secs {
        actions.push(moderate(&st, who.clone(), id.clone(), b.reason.clone(), Action::SetSlowModeSecs(secs)).await?.0);
    }
    if let Some(terms) = b.blocked_terms {
        actions.push(
            moderate(&st, who, id, b.reason, Action::SetBlockedTerms(pb::BlockedTerms { terms, mode: mode as i32 })).await?.0,
        );
    }
    Ok(Json(SettingsChanged { actions }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinBody {
    message_id: String,
}

async fn pin(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PinBody>,
) -> Result<Json<ModerationAction>, Problem> {
    moderate(&st, who, id, None, Action::PinMessageId(b.message_id)).await
}

async fn unpin(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<ModerationAction>, Problem> {
    moderate(&st, who, id, None, Action::Unpin(true)).await
}

#[derive(Serialize)]
pub struct Held {
    messages: Vec<ChatMessage>,
}

async fn held(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Held>, Problem> {
    let r = st.chat.clone().list_held(pb::ListHeldRequest { event_id: id, actor_id: who.user_id }).await?.into_inner();
    Ok(Json(Held { messages: r.messages.into_iter().map(protocol::message).collect() }))
}

async fn approve(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<Json<ModerationAction>, Problem> {
    moderate(&st, who, id, None, Action::ApproveMessageId(message_id)).await
}

async fn deny(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<Json<ModerationAction>, Problem> {
    moderate(&st, who, id, None, Action::DenyMessageId(message_id)).await
}

#[derive(Serialize)]
pub struct AuditPage {
    actions: Vec<ModerationAction>,
    next_before: Option<String>,
}

async fn audit(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, Problem> {
    let Query(q) = q.map_err(query_problem)?;
    let r = st
        .chat
        .clone()
        .audit_log(pb::AuditLogRequest {
            event_id: id,
            actor_id: who.user_id,
            limit: q.limit.unwrap_or(50),
            before_id: q.before.unwrap_or_default(),
        })
        .await?
        .into_inner();
    Ok(Json(AuditPage {
        actions: r.actions.into_iter().map(protocol::action).collect(),
        next_before: Some(r.next_before_id).filter(|s| !s.is_empty()),
    }))
}

/// Someone named in a standing list, with the name and photo they have now.
#[derive(Serialize)]
pub struct Person {
    user_id: String,
    /// None when the account is gone.
    display_name: Option<String>,
    avatar_url: Option<String>,
}

#[derive(Serialize)]
pub struct StandingEntry {
    user: Person,
    by: Person,
    since: Option<String>,
    /// When a timeout ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<String>,
}

#[derive(Serialize)]
pub struct Standing {
    moderators: Vec<StandingEntry>,
    banned: Vec<StandingEntry>,
    timed_out: Vec<StandingEntry>,
}

/// Profile lookups in flight at once while naming a standing list.
const NAME_LOOKUPS: usize = 16;

/// Who moderates, who is banned and who is timed out (moderators only), with names.
async fn standing(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Standing>, Problem> {
    use futures::StreamExt;
    let r = st.chat.clone().list_standing(pb::ListStandingRequest { event_id: id, actor_id: who.user_id }).await?.into_inner();
    // The chat service knows ids only; names come from the accounts, each distinct id once.
    let ids: std::collections::BTreeSet<String> = [&r.moderators, &r.banned, &r.timed_out]
        .into_iter()
        .flatten()
        .flat_map(|e| [e.user_id.clone(), e.by_user_id.clone()])
        .collect();
    let names: std::collections::HashMap<String, (String, String)> = futures::stream::iter(ids)
        .map(|user_id| {
            let mut auth = st.auth.clone();
            async move {
                let profile = auth.get_profile(stagecast_proto::auth::v1::GetProfileRequest { user_id: user_id.clone() }).await;
                profile.ok().map(|p| {
                    let p = p.into_inner();
                    (user_id, (p.display_name, p.avatar_url))
                })
            }
        })
        .buffer_unordered(NAME_LOOKUPS)
        .filter_map(|named| async move { named })
        .collect()
        .await;
    let person = |user_id: &str| {
        let named = names.get(user_id);
        Person {
            user_id: user_id.to_owned(),
            display_name: named.map(|(n, _)| n.clone()),
            avatar_url: named.map(|(_, a)| a.clone()).filter(|a| !a.is_empty()),
        }
    };
    let entries = |list: &[pb::StandingEntry]| {
        list.iter()
            .map(|e| StandingEntry {
                user: person(&e.user_id),
                by: person(&e.by_user_id),
                since: crate::routes::rfc3339(e.since.as_ref()),
                until: crate::routes::rfc3339(e.until.as_ref()),
            })
            .collect()
    };
    Ok(Json(Standing { moderators: entries(&r.moderators), banned: entries(&r.banned), timed_out: entries(&r.timed_out) }))
}
