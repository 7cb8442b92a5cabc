//! The tonic edge of `stagecast.chat.v1.ChatService`.
//!
//! The only place request messages meet domain types: each request is parsed with `TryFrom`
//! into a call holding valid domain values, and results are turned back into proto (see
//! [`crate::proto`]). Errors leave as `ApiError`s, which carry their code in metadata.
use stagecast_kit::ApiError;
use stagecast_proto::chat::v1::{self as pb, chat_service_server::ChatService, moderate_request::Action};
use tonic::{Request, Response, Status};

use crate::{
    domain::{
        ActionId, Author, BlockedTermMode, BlockedTerms, ClientMsgId, Command, EventId, MessageId, MessageText, PageSize, Reason,
        ReplayOffset, SlowMode, TimeoutDuration, UserId,
    },
    proto::timestamp,
    service::{Chat, ModerateCall, Outgoing},
};

/// Serves the gRPC API on top of the use cases.
#[derive(Clone)]
pub struct ChatApi {
    chat: Chat,
}

impl ChatApi {
    pub fn new(chat: Chat) -> Self {
        Self { chat }
    }
}

#[tonic::async_trait]
impl ChatService for ChatApi {
    async fn join(&self, request: Request<pb::JoinRequest>) -> Result<Response<pb::JoinResponse>, Status> {
        let JoinCall { event_id, author, history_limit } = request.into_inner().try_into()?;
        let joined = self.chat.join(event_id, author.user_id, history_limit).await?;
        Ok(Response::new(pb::JoinResponse {
            role: pb::ChatRole::from(joined.role).into(),
            history: joined.history.iter().map(pb::ChatMessage::from).collect(),
            pinned: joined.pinned.as_ref().map(pb::ChatMessage::from),
            settings: Some(pb::RoomSettings::from(&joined.settings)),
            timed_out_until: joined.timed_out_until.map(timestamp),
            backstage: joined.backstage,
        }))
    }

    async fn send(&self, request: Request<pb::SendRequest>) -> Result<Response<pb::SendResponse>, Status> {
        let outgoing: Outgoing = request.into_inner().try_into()?;
        let sent = self.chat.send(outgoing).await?;
        Ok(Response::new(pb::SendResponse::from(&sent)))
    }

    async fn history(&self, request: Request<pb::HistoryRequest>) -> Result<Response<pb::HistoryResponse>, Status> {
        let r = request.into_inner();
        let event_id = EventId::parse(&r.event_id)?;
        let before = optional_id(&r.before_id, |s| MessageId::parse(s, "invalid_before_id"))?;
        let limit = PageSize::history(r.limit)?;
        let reader = optional_id(&r.reader_id, UserId::parse_user)?;
        let page = self.chat.history(event_id, reader, before, limit).await?;
        Ok(Response::new(pb::HistoryResponse {
            messages: page.messages.iter().map(pb::ChatMessage::from).collect(),
            next_before_id: page.next_before.map(|id| id.to_string()).unwrap_or_default(),
        }))
    }

    async fn replay(&self, request: Request<pb::ReplayRequest>) -> Result<Response<pb::ReplayResponse>, Status> {
        let r = request.into_inner();
        let event_id = EventId::parse(&r.event_id)?;
        let from = ReplayOffset::parse(r.from_offset_ms)?;
        let limit = PageSize::replay(r.limit)?;
        let reader = optional_id(&r.reader_id, UserId::parse_user)?;
        let page = self.chat.replay(event_id, reader, from, limit).await?;
        Ok(Response::new(pb::ReplayResponse {
            items: page
                .items
                .iter()
                .map(|(offset_ms, m)| pb::ReplayItem { offset_ms: *offset_ms, message: Some(pb::ChatMessage::from(m)) })
                .collect(),
            next_offset_ms: page.next_offset_ms.unwrap_or(-1),
        }))
    }

    async fn moderate(&self, request: Request<pb::ModerateRequest>) -> Result<Response<pb::ModerateResponse>, Status> {
        let call: ModerateCall = request.into_inner().try_into()?;
        let action = self.chat.moderate(call).await?;
        Ok(Response::new(pb::ModerateResponse { action: Some(pb::ModerationAction::from(&action)) }))
    }

    async fn list_held(&self, request: Request<pb::ListHeldRequest>) -> Result<Response<pb::ListHeldResponse>, Status> {
        let r = request.into_inner();
        let event_id = EventId::parse(&r.event_id)?;
        let actor = UserId::parse_actor(&r.actor_id)?;
        let held = self.chat.list_held(event_id, actor).await?;
        Ok(Response::new(pb::ListHeldResponse { messages: held.iter().map(pb::ChatMessage::from).collect() }))
    }

    async fn audit_log(&self, request: Request<pb::AuditLogRequest>) -> Result<Response<pb::AuditLogResponse>, Status> {
        let r = request.into_inner();
        let event_id = EventId::parse(&r.event_id)?;
        let actor = UserId::parse_actor(&r.actor_id)?;
        let before = optional_id(&r.before_id, |s| ActionId::parse(s, "invalid_before_id"))?;
        let limit = PageSize::history(r.limit)?;
        let page = self.chat.audit_log(event_id, actor, before, limit).await?;
        Ok(Response::new(pb::AuditLogResponse {
            actions: page.actions.iter().map(pb::ModerationAction::from).collect(),
            next_before_id: page.next_before.map(|id| id.to_string()).unwrap_or_default(),
        }))
    }

    async fn list_standing(
        &self,
        request: Request<pb::ListStandingRequest>,
    ) -> Result<Response<pb::ListStandingResponse>, Status> {
        let r = request.into_inner();
        let event_id = EventId::parse(&r.event_id)?;
        let actor = UserId::parse_actor(&r.actor_id)?;
        let standing = self.chat.standing(event_id, actor).await?;
        let entries = |rows: Vec<crate::store::StandingRow>| rows.iter().map(pb::StandingEntry::from).collect();
        Ok(Response::new(pb::ListStandingResponse {
            moderators: entries(standing.moderators),
            banned: entries(standing.banned),
            timed_out: entries(standing.timed_out),
        }))
    }
}

/// An id field where empty means "none".
fn optional_id<T>(raw: &str, parse: impl Fn(&str) -> Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    if raw.trim().is_empty() { Ok(None) } else { parse(raw).map(Some) }
}

fn author(user: Option<pb::Author>) -> Result<Author, ApiError> {
    let user = user.ok_or_else(|| ApiError::invalid("user_required", "user is required"))?;
    // The role a caller sends is ignored: the service decides it.
    Author::parse(&user.user_id, &user.display_name, &user.avatar_url)
}

/// A parsed Join call.
struct JoinCall {
    event_id: EventId,
    author: Author,
    history_limit: PageSize,
}

impl TryFrom<pb::JoinRequest> for JoinCall {
    type Error = ApiError;

    fn try_from(r: pb::JoinRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            event_id: EventId::parse(&r.event_id)?,
            author: author(r.user)?,
            history_limit: PageSize::history(r.history_limit)?,
        })
    }
}

impl TryFrom<pb::SendRequest> for Outgoing {
    type Error = ApiError;

    fn try_from(r: pb::SendRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            event_id: EventId::parse(&r.event_id)?,
            author: author(r.user)?,
            client_msg_id: ClientMsgId::parse(&r.client_msg_id)?,
            text: MessageText::parse(&r.text)?,
        })
    }
}

impl TryFrom<pb::ModerateRequest> for ModerateCall {
    type Error = ApiError;

    fn try_from(r: pb::ModerateRequest) -> Result<Self, Self::Error> {
        let event_id = EventId::parse(&r.event_id)?;
        let actor = UserId::parse_actor(&r.actor_id)?;
        let reason = Reason::parse(&r.reason)?;
        let message = |raw: &str| MessageId::parse(raw, "invalid_message_id");
        let command = match r.action {
            None | Some(Action::Unpin(false)) => {
                return Err(ApiError::invalid("action_required", "exactly one moderation action is required"));
            }
            Some(Action::DeleteMessageId(id)) => Command::DeleteMessage(message(&id)?),
            Some(Action::Timeout(t)) => {
                Command::Timeout { user: UserId::parse_user(&t.user_id)?, duration: TimeoutDuration::parse(t.duration_secs)? }
            }
            Some(Action::BanUserId(id)) => Command::Ban(UserId::parse_user(&id)?),
            Some(Action::UnbanUserId(id)) => Command::Unban(UserId::parse_user(&id)?),
            Some(Action::AddModeratorUserId(id)) => Command::AddModerator(UserId::parse_user(&id)?),
            Some(Action::RemoveModeratorUserId(id)) => Command::RemoveModerator(UserId::parse_user(&id)?),
            Some(Action::SetSlowModeSecs(secs)) => Command::SetSlowMode(SlowMode::parse(secs)?),
            Some(Action::SetBlockedTerms(b)) => {
                let mode = match pb::BlockedTermMode::try_from(b.mode) {
                    Ok(pb::BlockedTermMode::Reject) => BlockedTermMode::Reject,
                    Ok(pb::BlockedTermMode::Hold) => BlockedTermMode::Hold,
                    Ok(pb::BlockedTermMode::Unspecified) | Err(_) => {
                        return Err(ApiError::invalid("invalid_blocked_term_mode", "mode must be REJECT or HOLD"));
                    }
                };
                Command::SetBlockedTerms { terms: BlockedTerms::parse(&b.terms)?, mode }
            }
            Some(Action::PinMessageId(id)) => Command::Pin(message(&id)?),
            Some(Action::Unpin(true)) => Command::Unpin,
            Some(Action::ApproveMessageId(id)) => Command::Approve(message(&id)?),
            Some(Action::DenyMessageId(id)) => Command::Deny(message(&id)?),
        };
        Ok(Self { event_id, actor, reason, command })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn moderate(action: Option<Action>) -> pb::ModerateRequest {
        pb::ModerateRequest {
            event_id: Uuid::now_v7().to_string(),
            actor_id: Uuid::new_v4().to_string(),
            reason: String::new(),
            action,
        }
    }

    fn moderate_error(r: pb::ModerateRequest) -> String {
        ModerateCall::try_from(r).err().map(|e| e.code.into_owned()).unwrap_or_default()
    }

    #[test]
    fn moderation_requests_are_checked_at_the_edge() {
        assert_eq!(moderate_error(moderate(None)), "action_required");
        assert_eq!(moderate_error(moderate(Some(Action::Unpin(false)))), "action_required");
        assert_eq!(moderate_error(moderate(Some(Action::BanUserId("bob".into())))), "invalid_user_id");
        assert_eq!(moderate_error(moderate(Some(Action::DeleteMessageId("m".into())))), "invalid_message_id");
        assert_eq!(moderate_error(moderate(Some(Action::SetSlowModeSecs(3601)))), "invalid_slow_mode");
        let timeout = pb::Timeout { user_id: Uuid::new_v4().to_string(), duration_secs: 0 };
        assert_eq!(moderate_error(moderate(Some(Action::Timeout(timeout)))), "invalid_timeout_duration");
        let terms = pb::BlockedTerms { terms: vec!["spam".into()], mode: 0 };
        assert_eq!(moderate_error(moderate(Some(Action::SetBlockedTerms(terms)))), "invalid_blocked_term_mode");
        let mut r = moderate(Some(Action::Unpin(true)));
        r.actor_id = "root".into();
        assert_eq!(moderate_error(r), "invalid_actor");
        let mut r = moderate(Some(Action::Unpin(true)));
        r.reason = "x".repeat(501);
        assert_eq!(moderate_error(r), "reason_too_long");
        assert!(ModerateCall::try_from(moderate(Some(Action::Unpin(true)))).is_ok());
    }

    #[test]
    fn send_requests_need_a_user_and_a_client_msg_id() {
        let base = pb::SendRequest {
            event_id: Uuid::now_v7().to_string(),
            user: Some(pb::Author { user_id: Uuid::new_v4().to_string(), ..Default::default() }),
            client_msg_id: "c1".into(),
            text: "hi".into(),
        };
        assert!(Outgoing::try_from(base.clone()).is_ok());
        let code = |r: pb::SendRequest| Outgoing::try_from(r).err().map(|e| e.code.into_owned()).unwrap_or_default();
        assert_eq!(code(pb::SendRequest { user: None, ..base.clone() }), "user_required");
        assert_eq!(code(pb::SendRequest { client_msg_id: String::new(), ..base.clone() }), "invalid_client_msg_id");
        assert_eq!(code(pb::SendRequest { text: " ".into(), ..base.clone() }), "message_empty");
        assert_eq!(code(pb::SendRequest { event_id: "e".into(), ..base }), "invalid_event_id");
    }
}
