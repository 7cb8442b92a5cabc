//! Chat over REST: the live socket's route, history, replay, presence, sending (for bots and
//! clients without a socket) and every moderation action.
use axum::{
    Json,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::chat::v1::{self as pb, moderate_request::Action};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    api_doc::Problem as ProblemDoc,
    extract::{ApiJson, AuthUser},
    input_schemas::{BlockedTerm, ChatMessageText, ClientMsgId, ModerationReason, StageReason},
    live::{
        presence,
        socket::LiveQuery,
        upgrade::{NotUpgradable, Upgrade},
    },
    problem::Problem,
    routes::stage,
    state::AppState,
    wire::{
        self,
        chat::{BlockedTermMode, ChatMessage, ModerationAction, Presence},
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(presence_of))
        .routes(routes!(history, send))
        .routes(routes!(delete_message))
        .routes(routes!(replay))
        .routes(routes!(timeout))
        .routes(routes!(ban))
        .routes(routes!(unban))
        .routes(routes!(add_moderator))
        .routes(routes!(remove_moderator))
        .routes(routes!(settings))
        .routes(routes!(pin, unpin))
        .routes(routes!(held))
        .routes(routes!(approve))
        .routes(routes!(deny))
        .routes(routes!(audit))
        .routes(routes!(standing))
}

/// Open the live WebSocket (chat, presence, stage, recording and destination frames)
///
/// The protocol (frames, heartbeats, close codes) is in docs/websocket.md. The access token goes
/// in `Authorization: Bearer` or, for browsers, `?access_token=`; an API key (header only) needs
/// `chat:read`. A browser cannot read a refused handshake's status, so a WebSocket handshake is
/// always upgraded (101) and a refusal is then told in one `error` frame and a close code
/// (4001 token, 4003 banned or a 403, 4004 no such event, 1011 a backend down). Only a plain
/// HTTP request (no handshake) gets the refusal as a problem document; one that would be
/// admitted gets 426 `websocket_required`.
#[utoipa::path(
    get,
    path = "/events/{id}/live",
    tag = "Chat",
    operation_id = "openLiveSocket",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("access_token" = Option<String>, Query, description = "The access token, for browsers (which cannot set headers on a WebSocket); the Authorization header wins when both are sent. Never an API key (401 `api_key_in_url`)"),
    ),
    responses(
        (status = 101, description = "Switching Protocols: the socket is open (or opened only to tell a refusal, see above); the first frame is `hello` (docs/websocket.md)"),
        (status = 403, description = "Not a WebSocket handshake, and refused: `banned` (from the event's chat).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "Not a WebSocket handshake, and refused: `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a WebSocket handshake, and refused: `invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 426, description = "`websocket_required`: a request that would be admitted but is not a WebSocket handshake (HTTP/1.1 GET with `Connection: Upgrade`, `Upgrade: websocket`, `Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key`); the detail says what is missing", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn live(
    st: State<AppState>,
    id: Path<String>,
    q: Query<LiveQuery>,
    headers: HeaderMap,
    ws: Result<Upgrade, NotUpgradable>,
) -> Result<Response, Problem> {
    // The socket itself lives in `crate::live::socket`; this is its documented route.
    crate::live::socket::live(st, id, q, headers, ws).await
}

/// A page of history or of the audit log. Other query parameters are refused (`invalid_query`).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The previous page's `next_before`: entries older than this id.
    #[param(format = Uuid)]
    before: Option<String>,
    /// How many, newest first: at most 200; left out or 0: 50.
    #[param(maximum = 200)]
    limit: Option<u32>,
}

/// A page of the chat's history, newest first.
#[derive(Serialize, ToSchema)]
pub struct MessagePage {
    messages: Vec<ChatMessage>,
    /// Pass as `before` for the next (older) page; null on the last.
    #[schema(format = Uuid, required = true)]
    next_before: Option<String>,
}

/// Chat history, newest first
///
/// Deleted messages and held ones are left out.
#[utoipa::path(
    get,
    path = "/events/{id}/chat/messages",
    tag = "Chat",
    operation_id = "listChatMessages",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), PageQuery),
    responses(
        (status = 200, description = "A page of messages", body = MessagePage),
        (status = 403, description = "`banned`: you are banned from this event (one ban for its media, socket and chat).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`, `invalid_before_id`, `invalid_limit` (over 200), `invalid_query` (an unknown parameter or a value of the wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn history(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<PageQuery>,
) -> Result<Json<MessagePage>, Problem> {
    let r = st
        .chat
        .clone()
        .history(pb::HistoryRequest {
            event_id: id,
            before_id: before_id(q.before)?,
            limit: q.limit.unwrap_or(50),
            reader_id: who.user_id,
        })
        .await?
        .into_inner();
    Ok(Json(MessagePage {
        messages: r.messages.into_iter().map(wire::chat::message).collect(),
        next_before: Some(r.next_before_id).filter(|s| !s.is_empty()),
    }))
}

/// A chat message to send.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ChatSend)]
pub struct SendBody {
    #[schema(value_type = ClientMsgId)]
    client_msg_id: String,
    #[schema(value_type = ChatMessageText)]
    text: String,
}

/// A message accepted: published, or held for a moderator's review.
#[derive(Serialize, ToSchema)]
pub struct Sent {
    message: ChatMessage,
    /// True when held for review (blocked_term_mode `hold`): only moderators see it until
    /// approved.
    held: bool,
}

/// Send a chat message without a socket
///
/// For bots and clients without a socket; the message reaches the sockets like any other.
/// Refusals come in this order: closed chat, ban, timeout, slow mode, rate limit, blocked terms.
/// The host, co-hosts and moderators are never slowed or rate limited.
#[utoipa::path(
    post,
    path = "/events/{id}/chat/messages",
    tag = "Chat",
    operation_id = "sendChatMessage",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = SendBody,
    responses(
        (status = 201, description = "Published", body = Sent),
        (status = 202, description = "Accepted but held for a moderator's review (`held: true`); only moderators see it until approved", body = Sent),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`banned`; `timed_out` (with `retry_after`: seconds left).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`chat_closed` (the event ended or was cancelled: its chat is read-only); `duplicate_in_flight` (a message with this client_msg_id is still being sent; retry shortly)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_client_msg_id`, `message_empty`, `message_too_long`, `control_characters`, `blocked_term` (blocked_term_mode `reject`), `invalid_event_id`, `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "`slow_mode` (slow mode is on), `rate_limited` (too many messages, or an API key beyond its requests a minute); see Retry-After", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
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
    Ok((status, Json(Sent { message: wire::chat::message(r.message.unwrap_or_default()), held: r.held })))
}

/// A page of the replay. Other query parameters are refused (`invalid_query`).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReplayQuery {
    /// Where the page starts, in milliseconds after go-live (the previous page's
    /// `next_offset_ms`); left out: 0. At most about 292 years (the chat service's
    /// `ReplayOffset`: beyond it the offset cannot be added to a time).
    #[param(minimum = 0, maximum = 9223372036854.0)]
    from_offset_ms: Option<i64>,
    /// How many: at most 500; left out: 200 (0: 100).
    #[param(maximum = 500)]
    limit: Option<u32>,
}

/// A message on the replay's timeline.
#[derive(Serialize, ToSchema)]
pub struct ReplayItem {
    /// Milliseconds after the event went live.
    offset_ms: i64,
    message: ChatMessage,
}

/// A page of the chat replay, oldest first.
#[derive(Serialize, ToSchema)]
pub struct ReplayPage {
    items: Vec<ReplayItem>,
    /// Pass as `from_offset_ms` for the next page; null on the last.
    #[schema(required = true)]
    next_offset_ms: Option<i64>,
}

/// Chat replay: messages with their offset from go-live
///
/// Deleted messages are left out. Messages of the millisecond where a page ends move to the next
/// page.
#[utoipa::path(
    get,
    path = "/events/{id}/chat/replay",
    tag = "Chat",
    operation_id = "listChatReplay",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), ReplayQuery),
    responses(
        (status = 200, description = "A page of the replay", body = ReplayPage),
        (status = 403, description = "`banned`: you are banned from this event (one ban for its media, socket and chat).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`not_live_yet`: the replay starts when the event goes live", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`, `invalid_from_offset` (negative or too large), `invalid_limit` (over 500), `invalid_query` (an unknown parameter or a value of the wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn replay(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<ReplayQuery>,
) -> Result<Json<ReplayPage>, Problem> {
    let r = st
        .chat
        .clone()
        .replay(pb::ReplayRequest {
            event_id: id,
            from_offset_ms: q.from_offset_ms.unwrap_or(0),
            limit: q.limit.unwrap_or(200),
            reader_id: who.user_id,
        })
        .await?
        .into_inner();
    Ok(Json(ReplayPage {
        items: r
            .items
            .into_iter()
            .map(|i| ReplayItem { offset_ms: i.offset_ms, message: wire::chat::message(i.message.unwrap_or_default()) })
            .collect(),
        next_offset_ms: Some(r.next_offset_ms).filter(|o| *o >= 0),
    }))
}

/// Viewer count and who is here
///
/// Read from the live sockets' shared presence: people whose socket vouched for them in the last
/// 45 seconds. The event id is not checked: an unknown event has nobody here.
#[utoipa::path(
    get,
    path = "/events/{id}/presence",
    tag = "Chat",
    operation_id = "getPresence",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "The viewer count and up to 100 of the people here, most recently seen first", body = Presence),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn presence_of(State(st): State<AppState>, _who: AuthUser, Path(id): Path<String>) -> Result<Json<Presence>, Problem> {
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(Problem::new(ErrorKind::InvalidInput, "invalid_event_id", "the event id must be a UUID"));
    }
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
    Ok(Json(wire::chat::action(action)))
}

/// Why, for the audit log. Other query parameters are refused (`invalid_query`).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReasonQuery {
    /// Shown in the audit log.
    #[param(value_type = Option<ModerationReason>)]
    reason: Option<String>,
}

/// A reason that is accepted and not recorded. Other query parameters are refused
/// (`invalid_query`).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IgnoredReasonQuery {
    /// Accepted, not recorded (nor checked).
    #[allow(dead_code)] // accepted so that clients of the chat API may send it
    reason: Option<String>,
}

/// Delete a message (moderators)
///
/// It disappears from every socket (`chat.deleted`), the history and the replay; a pinned
/// message is unpinned. A message sent a moment ago is waited for (up to 2 s) while it is stored.
#[utoipa::path(
    delete,
    path = "/events/{id}/chat/messages/{message_id}",
    tag = "Chat",
    operation_id = "deleteChatMessage",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("message_id" = String, Path, format = Uuid, description = "The message's id"),
        ReasonQuery,
    ),
    responses(
        (status = 200, description = "The moderation action (`delete_message`)", body = ModerationAction),
        (status = 403, description = "`not_a_moderator`; `cannot_moderate_host` (a message of the host or a co-host).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`message_not_found` (also one deleted already), `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_message_id`, `invalid_event_id`, `reason_too_long`, `invalid_reason`, `invalid_query`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn delete_message(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, message_id)): Path<(String, String)>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<ReasonQuery>,
) -> Result<Json<ModerationAction>, Problem> {
    moderate(&st, who, id, q.reason, Action::DeleteMessageId(message_id)).await
}

/// A timeout: the user may read but not send until it ends.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Timeout)]
pub struct TimeoutBody {
    #[schema(format = Uuid)]
    user_id: String,
    /// 1 second to 24 hours.
    #[schema(minimum = 1, maximum = 86400)]
    duration_secs: u32,
    /// Shown in the audit log.
    #[schema(value_type = Option<ModerationReason>)]
    reason: Option<String>,
}

/// Time a user out (moderators)
///
/// A new timeout replaces a running one. Their sockets get a `moderation` frame; their messages
/// are refused with `timed_out` until it ends.
#[utoipa::path(
    post,
    path = "/events/{id}/chat/timeouts",
    tag = "Chat",
    operation_id = "timeoutChatUser",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = TimeoutBody,
    responses(
        (status = 200, description = "The moderation action (`timeout`, with `duration_secs`)", body = ModerationAction),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_a_moderator`; `cannot_moderate_host` (the host or a co-host).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_user_id`, `invalid_timeout_duration`, `reason_too_long`, `invalid_reason`, `invalid_event_id`, `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn timeout(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TimeoutBody>,
) -> Result<Json<ModerationAction>, Problem> {
    moderate(&st, who, id, b.reason, Action::Timeout(pb::Timeout { user_id: b.user_id, duration_secs: b.duration_secs })).await
}

/// Someone to ban or to appoint as a moderator.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UserAction)]
pub struct UserBody {
    #[schema(format = Uuid)]
    user_id: String,
    /// For a ban: kept with it. Ignored when appointing a moderator.
    #[schema(value_type = Option<StageReason>)]
    reason: Option<String>,
}

// Bans and moderators belong to the event's one role model (the stage, in the events service);
// the chat follows it from the bus. These chat-flavoured paths are kept for clients of the chat
// API and answer with the stage change (see routes/stage.rs).

/// Ban a user from the event (staff, on a lower rank)
///
/// The event's one ban (the stage's `POST /events/{id}/bans`): they lose any role, their open
/// sockets close with 4003, and the chat refuses them once it has applied the ban from the bus
/// (a moment later; a `moderation` frame of kind `ban` says so).
#[utoipa::path(
    post,
    path = "/events/{id}/chat/bans",
    tag = "Chat",
    operation_id = "banChatUser",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = UserBody,
    responses(
        (status = 200, description = "The stage change (`banned`): the chat's bans and moderators are the event's stage bans and roles", body = stage::Changed),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`cannot_act_on_yourself`: not on yourself; `not_allowed` (not the host, a co-host or a moderator); `cannot_act_on_higher_role` (someone of your rank or above).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`already_banned`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_target_user_id`, `reason_too_long`, `invalid_reason`, `invalid_event_id`, `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn ban(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UserBody>,
) -> Result<Json<stage::Changed>, Problem> {
    stage::ban_user(&st, &who, &id, b.user_id, b.reason.unwrap_or_default()).await
}

/// Lift a ban (staff)
///
/// The stage's `DELETE /events/{id}/bans/{user_id}`. Lifting a ban gives no role back.
#[utoipa::path(
    delete,
    path = "/events/{id}/chat/bans/{user_id}",
    tag = "Chat",
    operation_id = "unbanChatUser",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("user_id" = String, Path, format = Uuid, description = "The banned user's id"),
        IgnoredReasonQuery,
    ),
    responses(
        (status = 200, description = "The stage change (`unbanned`). `reason` is accepted but not recorded", body = stage::Changed),
        (status = 403, description = "`not_allowed` (not the host, a co-host or a moderator).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`not_banned`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_target_user_id`, `invalid_event_id`, `invalid_query`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn unban(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
    crate::extract::ApiQuery(_q): crate::extract::ApiQuery<IgnoredReasonQuery>,
) -> Result<Json<stage::Changed>, Problem> {
    stage::unban_user(&st, &who, &id, user_id).await
}

/// Appoint a moderator (host, co-hosts)
///
/// The stage's moderator role (`PUT /events/{id}/stage/roles/{user_id}` with `moderator`); the
/// chat follows from the bus.
#[utoipa::path(
    post,
    path = "/events/{id}/chat/moderators",
    tag = "Chat",
    operation_id = "addChatModerator",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = UserBody,
    responses(
        (status = 200, description = "The stage change (`role_changed` to `moderator`)", body = stage::Changed),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_allowed` (not the host or a co-host, or yourself); `cannot_act_on_higher_role`; `banned` (they are banned from the event).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`role_unchanged` (a moderator already); `event_over`; `host_must_hand_over` (the host naming themself)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_target_user_id`, `invalid_event_id`, `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn add_moderator(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UserBody>,
) -> Result<Json<stage::Changed>, Problem> {
    stage::set_user_role(&st, &who, &id, b.user_id, "moderator").await
}

/// Remove a moderator (host, co-hosts)
///
/// Moves them back to the audience (the stage's role change); the chat follows from the bus.
#[utoipa::path(
    delete,
    path = "/events/{id}/chat/moderators/{user_id}",
    tag = "Chat",
    operation_id = "removeChatModerator",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("user_id" = String, Path, format = Uuid, description = "The moderator's id"),
    ),
    responses(
        (status = 200, description = "The stage change (`role_changed` to `audience`)", body = stage::Changed),
        (status = 403, description = "`not_allowed`, `cannot_act_on_higher_role` (not the host or a co-host); `banned` (they are banned from the event, so not a moderator).", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`moderator_not_found` (they are not a moderator), `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`event_over`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_user_id`, `invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn remove_moderator(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<stage::Changed>, Problem> {
    stage::remove_moderator(&st, &who, &id, user_id).await
}

/// Changes to the chat's settings: give slow_mode_secs, blocked_terms or both (not null).
// The document states "at least one" as an `anyOf` (api_doc::cross_field_rules).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ChatSettings)]
pub struct SettingsBody {
    /// Seconds each viewer waits between messages; 0 turns slow mode off.
    #[schema(maximum = 3600)]
    slow_mode_secs: Option<u32>,
    /// Replaces the list; [] clears it. A term matches whole words, case-insensitively.
    #[schema(value_type = Option<Vec<BlockedTerm>>, max_items = 100)]
    blocked_terms: Option<Vec<String>>,
    /// Applies with blocked_terms (ignored without them); left out: `reject`.
    #[schema(value_type = Option<BlockedTermMode>)]
    blocked_term_mode: Option<String>,
    /// Shown in the audit log.
    #[schema(value_type = Option<ModerationReason>)]
    reason: Option<String>,
}

/// What changing the chat's settings did.
#[derive(Serialize, ToSchema)]
#[schema(as = ChatSettingsChanged)]
pub struct SettingsChanged {
    /// One moderation action per setting changed: `slow_mode` first, then `blocked_terms`.
    actions: Vec<ModerationAction>,
}

/// Slow mode and blocked terms (moderators)
///
/// Each setting given is its own moderation action, applied in turn: if blocked_terms is refused,
/// a slow mode given with it has been applied already.
#[utoipa::path(
    put,
    path = "/events/{id}/chat/settings",
    tag = "Chat",
    operation_id = "updateChatSettings",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = SettingsBody,
    responses(
        (status = 200, description = "The actions taken, with the room's settings after each", body = SettingsChanged),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_a_moderator`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`nothing_to_update` (neither slow_mode_secs nor blocked_terms), `invalid_blocked_term_mode`, `invalid_slow_mode`, `invalid_blocked_term`, `too_many_blocked_terms`, `reason_too_long`, `invalid_reason`, `invalid_event_id`, `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
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

/// The message to pin.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Pin)]
pub struct PinBody {
    #[schema(format = Uuid)]
    message_id: String,
}

/// Pin a message (moderators)
///
/// One message is pinned at a time: pinning replaces the pin. Sockets get the `moderation` frame
/// with the message, and `hello` carries the pin. A message sent a moment ago is waited for (up
/// to 2 s) while it is stored.
#[utoipa::path(
    put,
    path = "/events/{id}/chat/pin",
    tag = "Chat",
    operation_id = "pinChatMessage",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    request_body = PinBody,
    responses(
        (status = 200, description = "The moderation action (`pin`, with the message)", body = ModerationAction),
        (status = 400, description = "`malformed_json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_a_moderator`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`message_not_found` (also a deleted one), `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large` (over 64 KiB)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type` (send Content-Type: application/json)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_message_id`, `invalid_event_id`, `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn pin(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PinBody>,
) -> Result<Json<ModerationAction>, Problem> {
    moderate(&st, who, id, None, Action::PinMessageId(b.message_id)).await
}

/// Unpin (moderators)
#[utoipa::path(
    delete,
    path = "/events/{id}/chat/pin",
    tag = "Chat",
    operation_id = "unpinChatMessage",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "The moderation action (`unpin`)", body = ModerationAction),
        (status = 403, description = "`not_a_moderator`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`nothing_pinned`, `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn unpin(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<ModerationAction>, Problem> {
    moderate(&st, who, id, None, Action::Unpin(true)).await
}

/// Messages held for a moderator's review (blocked_term_mode `hold`).
#[derive(Serialize, ToSchema)]
#[schema(as = HeldMessages)]
pub struct Held {
    /// Oldest first, at most 500.
    messages: Vec<ChatMessage>,
}

/// Messages held for review (moderators)
#[utoipa::path(
    get,
    path = "/events/{id}/chat/held",
    tag = "Chat",
    operation_id = "listHeldChatMessages",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "The held messages", body = Held),
        (status = 403, description = "`not_a_moderator`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn held(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Held>, Problem> {
    let r = st.chat.clone().list_held(pb::ListHeldRequest { event_id: id, actor_id: who.user_id }).await?.into_inner();
    Ok(Json(Held { messages: r.messages.into_iter().map(wire::chat::message).collect() }))
}

/// Publish a held message (moderators)
///
/// It reaches every socket as sent by its author, with its original id.
#[utoipa::path(
    post,
    path = "/events/{id}/chat/held/{message_id}/approve",
    tag = "Chat",
    operation_id = "approveHeldChatMessage",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("message_id" = String, Path, format = Uuid, description = "The held message's id"),
    ),
    responses(
        (status = 200, description = "The moderation action (`approve`, with the message)", body = ModerationAction),
        (status = 403, description = "`not_a_moderator`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`message_not_found` (not held, or approved or denied already), `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`chat_closed` (the event is over)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_message_id`, `invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn approve(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<Json<ModerationAction>, Problem> {
    moderate(&st, who, id, None, Action::ApproveMessageId(message_id)).await
}

/// Drop a held message (moderators)
#[utoipa::path(
    post,
    path = "/events/{id}/chat/held/{message_id}/deny",
    tag = "Chat",
    operation_id = "denyHeldChatMessage",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id"),
        ("message_id" = String, Path, format = Uuid, description = "The held message's id"),
    ),
    responses(
        (status = 200, description = "The moderation action (`deny`)", body = ModerationAction),
        (status = 403, description = "`not_a_moderator`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`message_not_found` (not held, or approved or denied already), `event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_message_id`, `invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn deny(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<Json<ModerationAction>, Problem> {
    moderate(&st, who, id, None, Action::DenyMessageId(message_id)).await
}

/// A page of the event's moderation log, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    actions: Vec<ModerationAction>,
    /// Pass as `before` for the next (older) page; null on the last.
    #[schema(format = Uuid, required = true)]
    next_before: Option<String>,
}

/// Audit log of moderation, newest first (moderators)
#[utoipa::path(
    get,
    path = "/events/{id}/chat/audit",
    tag = "Chat",
    operation_id = "listChatAudit",
    params(("id" = String, Path, format = Uuid, description = "The event's id"), PageQuery),
    responses(
        (status = 200, description = "A page of the log", body = AuditPage),
        (status = 403, description = "`not_a_moderator`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`, `invalid_before_id`, `invalid_limit` (over 200), `invalid_query`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn audit(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<PageQuery>,
) -> Result<Json<AuditPage>, Problem> {
    let r = st
        .chat
        .clone()
        .audit_log(pb::AuditLogRequest {
            event_id: id,
            actor_id: who.user_id,
            limit: q.limit.unwrap_or(50),
            before_id: before_id(q.before)?,
        })
        .await?
        .into_inner();
    Ok(Json(AuditPage {
        actions: r.actions.into_iter().map(wire::chat::action).collect(),
        next_before: Some(r.next_before_id).filter(|s| !s.is_empty()),
    }))
}

/// Someone named in a standing list, with the name and photo they have now.
#[derive(Serialize, ToSchema)]
#[schema(as = StandingPerson)]
pub struct Person {
    #[schema(format = Uuid)]
    user_id: String,
    /// Null when the account is gone.
    #[schema(required = true)]
    display_name: Option<String>,
    #[schema(required = true)]
    avatar_url: Option<String>,
}

/// One person on a standing list.
#[derive(Serialize, ToSchema)]
pub struct StandingEntry {
    user: Person,
    /// Who appointed, banned or timed them out.
    by: Person,
    /// When the audit log recorded it.
    #[schema(format = DateTime, required = true)]
    since: Option<String>,
    /// When a timeout ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, nullable = false)]
    until: Option<String>,
}

/// Who moderates the chat, who is banned and whose timeout is running.
#[derive(Serialize, ToSchema)]
pub struct Standing {
    /// Each list newest first, at most 500.
    moderators: Vec<StandingEntry>,
    banned: Vec<StandingEntry>,
    /// Running timeouts only, with `until`.
    timed_out: Vec<StandingEntry>,
}

/// Profile lookups in flight at once while naming a standing list.
const NAME_LOOKUPS: usize = 16;

/// Who moderates the chat, who is banned and whose timeout is running, with names (moderators)
///
/// Names and photos are the accounts' current ones (`display_name` null for a deleted account).
#[utoipa::path(
    get,
    path = "/events/{id}/chat/standing",
    tag = "Chat",
    operation_id = "getChatStanding",
    params(("id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "The standing lists", body = Standing),
        (status = 403, description = "`not_a_moderator`.", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`event_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_event_id`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
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
                since: wire::rfc3339(e.since.as_ref()),
                until: wire::rfc3339(e.until.as_ref()),
            })
            .collect()
    };
    Ok(Json(Standing { moderators: entries(&r.moderators), banned: entries(&r.banned), timed_out: entries(&r.timed_out) }))
}

/// A `before` cursor as the services take it: absent is "from the newest"; present, it must be
/// an id (an empty one is a mistake, not "from the newest").
fn before_id(before: Option<String>) -> Result<String, Problem> {
    match before {
        Some(b) if b.is_empty() => Err(Problem::new(
            ErrorKind::InvalidInput,
            "invalid_before_id",
            "before must be the id of an entry (the previous page's next_before)",
        )),
        b => Ok(b.unwrap_or_default()),
    }
}
