use chrono::{DateTime, Utc};
use stagecast_kit::ApiError;

use super::{AvatarUrl, ChatRole, ClientMsgId, DisplayName, EventId, MessageId, MessageText, UserId};

/// Who wrote a message, as the gateway knows them from their token and profile. The role is
/// not part of it: the service decides that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub user_id: UserId,
    pub display_name: DisplayName,
    pub avatar_url: AvatarUrl,
}

impl Author {
    pub fn parse(user_id: &str, display_name: &str, avatar_url: &str) -> Result<Self, ApiError> {
        Ok(Self {
            user_id: UserId::parse_user(user_id)?,
            display_name: DisplayName::parse(display_name)?,
            avatar_url: AvatarUrl::parse(avatar_url)?,
        })
    }
}

/// An accepted (or held) chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub id: MessageId,
    pub event_id: EventId,
    pub author: Author,
    /// The author's role when the message was accepted.
    pub role: ChatRole,
    pub text: MessageText,
    pub sent_at: DateTime<Utc>,
    pub client_msg_id: ClientMsgId,
}

/// The outcome of an accepted Send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub message: ChatMessage,
    /// Held for review by a blocked term: stored, not published.
    pub held: bool,
}

/// `t` at the precision Postgres keeps (microseconds), so a message read back from history is
/// equal to the one published live.
pub fn at_stored_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_precision_drops_nanoseconds_only() {
        let t = DateTime::from_timestamp(1_750_000_000, 123_456_789).expect("in range");
        let stored = at_stored_precision(t);
        assert_eq!(stored.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(stored.timestamp(), t.timestamp());
    }
}
