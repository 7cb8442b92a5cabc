use chrono::{DateTime, Utc};
use stagecast_kit::{ApiError, ErrorKind};

use super::{EventId, UserId};

/// Where the room's event is in its lifecycle, as last heard from the events service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoomStatus {
    Scheduled,
    Live,
    Ended,
    Cancelled,
}

impl RoomStatus {
    pub const ALL: [RoomStatus; 4] = [RoomStatus::Scheduled, RoomStatus::Live, RoomStatus::Ended, RoomStatus::Cancelled];

    /// The spelling stored in `rooms.status` (see its CHECK constraint).
    pub fn as_str(self) -> &'static str {
        match self {
            RoomStatus::Scheduled => "scheduled",
            RoomStatus::Live => "live",
            RoomStatus::Ended => "ended",
            RoomStatus::Cancelled => "cancelled",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Chat is open before and during the show; afterwards the room is read-only.
    pub fn is_open(self) -> bool {
        matches!(self, RoomStatus::Scheduled | RoomStatus::Live)
    }
}

/// A user's standing in one room, from least to most privileged (the derived order is used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChatRole {
    Viewer,
    /// On the stage: shown as a speaker, with a viewer's rights in chat.
    Speaker,
    Moderator,
    Cohost,
    Host,
}

impl ChatRole {
    pub const ALL: [ChatRole; 5] = [ChatRole::Viewer, ChatRole::Speaker, ChatRole::Moderator, ChatRole::Cohost, ChatRole::Host];

    /// The spelling stored with each message (`messages.role`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChatRole::Viewer => "viewer",
            ChatRole::Speaker => "speaker",
            ChatRole::Moderator => "moderator",
            ChatRole::Cohost => "cohost",
            ChatRole::Host => "host",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == s)
    }

    /// Host, co-host or moderator: may moderate, and is exempt from slow mode and rate limits.
    pub fn can_moderate(self) -> bool {
        self >= ChatRole::Moderator
    }

    /// Host or co-host: the event's own people. Nobody can ban, time out or delete the messages
    /// of these, and only these appoint moderators.
    pub fn runs_the_event(self) -> bool {
        self >= ChatRole::Cohost
    }
}

/// A chat room: the chat side of one event, kept in step with the events service via the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub event_id: EventId,
    pub host_id: UserId,
    pub cohost_ids: Vec<UserId>,
    pub status: RoomStatus,
    pub went_live_at: Option<DateTime<Utc>>,
    /// The event's `updated_at` this copy reflects: a copy never replaces a newer one.
    pub event_updated_at: DateTime<Utc>,
}

impl Room {
    /// The role of `user`; `appointed` says whether they are on the room's moderator list,
    /// `speaking` whether they are on the stage as a speaker.
    pub fn role_of(&self, user: UserId, appointed: bool, speaking: bool) -> ChatRole {
        if user == self.host_id {
            ChatRole::Host
        } else if self.cohost_ids.contains(&user) {
            ChatRole::Cohost
        } else if appointed {
            ChatRole::Moderator
        } else if speaking {
            ChatRole::Speaker
        } else {
            ChatRole::Viewer
        }
    }

    /// Refuses new messages once the event ended or was cancelled.
    pub fn ensure_open(&self) -> Result<(), ApiError> {
        if self.status.is_open() {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "chat_closed",
                format!("the event is {}; its chat is read-only", self.status.as_str()),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user() -> UserId {
        UserId::from_uuid(Uuid::new_v4())
    }

    fn room(status: RoomStatus) -> Room {
        Room {
            event_id: EventId::from_uuid(Uuid::new_v4()),
            host_id: user(),
            cohost_ids: vec![user()],
            status,
            went_live_at: None,
            event_updated_at: Utc::now(),
        }
    }

    #[test]
    fn roles_come_from_the_event_first_then_the_moderator_list() {
        let r = room(RoomStatus::Live);
        assert_eq!(r.role_of(r.host_id, true, false), ChatRole::Host);
        assert_eq!(r.role_of(r.cohost_ids[0], false, true), ChatRole::Cohost);
        assert_eq!(r.role_of(user(), true, true), ChatRole::Moderator);
        assert_eq!(r.role_of(user(), false, true), ChatRole::Speaker);
        assert_eq!(r.role_of(user(), false, false), ChatRole::Viewer);
        assert!(!ChatRole::Speaker.can_moderate() && !ChatRole::Speaker.runs_the_event());
        assert!(ChatRole::Moderator.can_moderate() && !ChatRole::Viewer.can_moderate());
        assert!(ChatRole::Cohost.runs_the_event() && !ChatRole::Moderator.runs_the_event());
    }

    #[test]
    fn chat_closes_when_the_event_ends_or_is_cancelled() {
        assert!(room(RoomStatus::Scheduled).ensure_open().is_ok());
        assert!(room(RoomStatus::Live).ensure_open().is_ok());
        assert_eq!(room(RoomStatus::Ended).ensure_open().expect_err("ended").code, "chat_closed");
        assert_eq!(room(RoomStatus::Cancelled).ensure_open().expect_err("cancelled").code, "chat_closed");
    }
}
