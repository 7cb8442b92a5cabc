use chrono::{DateTime, Utc};
use stagecast_kit::ApiError;

use super::{
    ActionId, BlockedTermMode, BlockedTerms, ChatMessage, ChatRole, EventId, MessageId, Reason, RoomSettings, SlowMode,
    TimeoutDuration, UserId,
};

/// One moderation request, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    DeleteMessage(MessageId),
    Timeout { user: UserId, duration: TimeoutDuration },
    Ban(UserId),
    Unban(UserId),
    AddModerator(UserId),
    RemoveModerator(UserId),
    SetSlowMode(SlowMode),
    SetBlockedTerms { terms: BlockedTerms, mode: BlockedTermMode },
    Pin(MessageId),
    Unpin,
    Approve(MessageId),
    Deny(MessageId),
}

impl Command {
    pub fn kind(&self) -> ActionKind {
        match self {
            Command::DeleteMessage(_) => ActionKind::DeleteMessage,
            Command::Timeout { .. } => ActionKind::Timeout,
            Command::Ban(_) => ActionKind::Ban,
            Command::Unban(_) => ActionKind::Unban,
            Command::AddModerator(_) => ActionKind::AddModerator,
            Command::RemoveModerator(_) => ActionKind::RemoveModerator,
            Command::SetSlowMode(_) => ActionKind::SlowMode,
            Command::SetBlockedTerms { .. } => ActionKind::BlockedTerms,
            Command::Pin(_) => ActionKind::Pin,
            Command::Unpin => ActionKind::Unpin,
            Command::Approve(_) => ActionKind::Approve,
            Command::Deny(_) => ActionKind::Deny,
        }
    }

    /// Whether someone with role `actor` may issue this command at all. Appointing and removing
    /// moderators is for the event's own people; everything else for any moderator.
    pub fn authorize(&self, actor: ChatRole) -> Result<(), ApiError> {
        if !actor.can_moderate() {
            return Err(ApiError::forbidden("not_a_moderator", "only the host, co-hosts and moderators can moderate this chat"));
        }
        if matches!(self, Command::AddModerator(_) | Command::RemoveModerator(_)) && !actor.runs_the_event() {
            return Err(ApiError::forbidden("not_a_host", "only the host and co-hosts can appoint or remove moderators"));
        }
        Ok(())
    }
}

/// Refuses to ban, time out or delete the messages of someone who runs the event.
pub fn ensure_can_be_moderated(target: ChatRole) -> Result<(), ApiError> {
    if target.runs_the_event() {
        return Err(ApiError::forbidden("cannot_moderate_host", "the host and co-hosts cannot be moderated"));
    }
    Ok(())
}

/// What kind of action an audit entry records; the spelling is part of the API (`kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    DeleteMessage,
    Timeout,
    Ban,
    Unban,
    AddModerator,
    RemoveModerator,
    SlowMode,
    BlockedTerms,
    Pin,
    Unpin,
    Approve,
    Deny,
}

impl ActionKind {
    pub const ALL: [ActionKind; 12] = [
        ActionKind::DeleteMessage,
        ActionKind::Timeout,
        ActionKind::Ban,
        ActionKind::Unban,
        ActionKind::AddModerator,
        ActionKind::RemoveModerator,
        ActionKind::SlowMode,
        ActionKind::BlockedTerms,
        ActionKind::Pin,
        ActionKind::Unpin,
        ActionKind::Approve,
        ActionKind::Deny,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::DeleteMessage => "delete_message",
            ActionKind::Timeout => "timeout",
            ActionKind::Ban => "ban",
            ActionKind::Unban => "unban",
            ActionKind::AddModerator => "add_moderator",
            ActionKind::RemoveModerator => "remove_moderator",
            ActionKind::SlowMode => "slow_mode",
            ActionKind::BlockedTerms => "blocked_terms",
            ActionKind::Pin => "pin",
            ActionKind::Unpin => "unpin",
            ActionKind::Approve => "approve",
            ActionKind::Deny => "deny",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A moderation action that happened: the audit-log entry and the bus announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModerationAction {
    pub id: ActionId,
    pub event_id: EventId,
    pub actor_id: UserId,
    pub kind: ActionKind,
    pub target_user_id: Option<UserId>,
    pub target_message_id: Option<MessageId>,
    pub reason: Reason,
    pub at: DateTime<Utc>,
    /// Timeout length or slow-mode seconds.
    pub duration_secs: Option<u32>,
    /// Pin and approve: the message concerned (only in the live announcement and reply; the
    /// audit log refers to it by id).
    pub message: Option<ChatMessage>,
    /// Slow mode and blocked terms: the settings after the change.
    pub settings: Option<RoomSettings>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn someone() -> UserId {
        UserId::from_uuid(Uuid::new_v4())
    }

    #[test]
    fn viewers_cannot_moderate_and_moderators_cannot_appoint() {
        let ban = Command::Ban(someone());
        assert_eq!(ban.authorize(ChatRole::Viewer).expect_err("viewer").code, "not_a_moderator");
        assert!(ban.authorize(ChatRole::Moderator).is_ok());
        let appoint = Command::AddModerator(someone());
        assert_eq!(appoint.authorize(ChatRole::Moderator).expect_err("moderator").code, "not_a_host");
        assert!(appoint.authorize(ChatRole::Cohost).is_ok());
        assert!(Command::RemoveModerator(someone()).authorize(ChatRole::Host).is_ok());
    }

    #[test]
    fn the_event_s_own_people_are_protected() {
        assert_eq!(ensure_can_be_moderated(ChatRole::Host).expect_err("host").code, "cannot_moderate_host");
        assert_eq!(ensure_can_be_moderated(ChatRole::Cohost).expect_err("cohost").code, "cannot_moderate_host");
        assert!(ensure_can_be_moderated(ChatRole::Moderator).is_ok());
        assert!(ensure_can_be_moderated(ChatRole::Viewer).is_ok());
    }

    #[test]
    fn action_kinds_round_trip_through_storage() {
        for kind in ActionKind::ALL {
            assert_eq!(ActionKind::from_stored(kind.as_str()), Some(kind));
        }
        assert_eq!(Command::Unpin.kind().as_str(), "unpin");
    }
}
