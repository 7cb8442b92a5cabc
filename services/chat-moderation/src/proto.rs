//! Domain values in their protobuf form, and back.
//!
//! Used at every edge that speaks protobuf: the gRPC API, the bus (chat messages, moderation
//! actions, events from the events service) and the idempotency records kept in Redis. Decoding
//! is checked (`TryFrom`): a bus message or a Redis value is input from the network, and a bad
//! one must be refused, not trusted.
use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use stagecast_proto::{chat::v1 as pb, events::v1 as events_pb};
use uuid::Uuid;

use crate::domain::{
    Author, AvatarUrl, BlockedTermMode, ChatMessage, ChatRole, ClientMsgId, DisplayName, EventId, MessageId, MessageText,
    ModerationAction, Room, RoomSettings, RoomStatus, Sent, UserId, at_stored_precision,
};

/// A protobuf message that does not describe a valid domain value; names the first bad field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {0} is missing or invalid")]
pub struct InvalidField(pub &'static str);

pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    // Sub-second nanos are below 2e9 (leap seconds included), so they always fit an i32.
    Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

pub fn from_timestamp(ts: &Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(ts.nanos).ok().filter(|n| *n < 1_000_000_000)?;
    DateTime::from_timestamp(ts.seconds, nanos)
}

fn uuid(raw: &str, field: &'static str) -> Result<Uuid, InvalidField> {
    crate::domain::parse_uuid_field(raw).ok_or(InvalidField(field))
}

/// Postgres text cannot hold NUL: a value with one would fail a whole persistence batch.
fn storable(s: String, field: &'static str) -> Result<String, InvalidField> {
    if s.contains('\0') { Err(InvalidField(field)) } else { Ok(s) }
}

impl From<ChatRole> for pb::ChatRole {
    fn from(r: ChatRole) -> Self {
        match r {
            ChatRole::Viewer => pb::ChatRole::Viewer,
            ChatRole::Speaker => pb::ChatRole::Speaker,
            ChatRole::Moderator => pb::ChatRole::Moderator,
            ChatRole::Cohost => pb::ChatRole::Cohost,
            ChatRole::Host => pb::ChatRole::Host,
        }
    }
}

fn role_from_proto(raw: i32) -> Result<ChatRole, InvalidField> {
    match pb::ChatRole::try_from(raw) {
        Ok(pb::ChatRole::Viewer) => Ok(ChatRole::Viewer),
        Ok(pb::ChatRole::Speaker) => Ok(ChatRole::Speaker),
        Ok(pb::ChatRole::Moderator) => Ok(ChatRole::Moderator),
        Ok(pb::ChatRole::Cohost) => Ok(ChatRole::Cohost),
        Ok(pb::ChatRole::Host) => Ok(ChatRole::Host),
        Ok(pb::ChatRole::Unspecified) | Err(_) => Err(InvalidField("author.role")),
    }
}

impl From<&ChatMessage> for pb::ChatMessage {
    fn from(m: &ChatMessage) -> Self {
        pb::ChatMessage {
            id: m.id.to_string(),
            event_id: m.event_id.to_string(),
            author: Some(pb::Author {
                user_id: m.author.user_id.to_string(),
                display_name: m.author.display_name.as_str().to_owned(),
                avatar_url: m.author.avatar_url.as_str().to_owned(),
                role: pb::ChatRole::from(m.role).into(),
            }),
            text: m.text.as_str().to_owned(),
            sent_at: Some(timestamp(m.sent_at)),
            client_msg_id: m.client_msg_id.as_str().to_owned(),
        }
    }
}

/// A chat message as published by this service. Text and names were parsed when the message
/// was accepted; only what storage needs is checked again (see [`storable`]).
impl TryFrom<pb::ChatMessage> for ChatMessage {
    type Error = InvalidField;

    fn try_from(m: pb::ChatMessage) -> Result<Self, Self::Error> {
        let author = m.author.ok_or(InvalidField("author"))?;
        let sent_at = m.sent_at.as_ref().and_then(from_timestamp).ok_or(InvalidField("sent_at"))?;
        Ok(ChatMessage {
            id: MessageId::from_uuid(uuid(&m.id, "id")?),
            event_id: EventId::from_uuid(uuid(&m.event_id, "event_id")?),
            role: role_from_proto(author.role)?,
            author: Author {
                user_id: UserId::from_uuid(uuid(&author.user_id, "author.user_id")?),
                display_name: DisplayName::from_stored(storable(author.display_name, "author.display_name")?),
                avatar_url: AvatarUrl::from_stored(storable(author.avatar_url, "author.avatar_url")?),
            },
            text: MessageText::from_stored(storable(m.text, "text")?),
            sent_at: at_stored_precision(sent_at),
            client_msg_id: ClientMsgId::from_stored(storable(m.client_msg_id, "client_msg_id")?),
        })
    }
}

impl From<BlockedTermMode> for pb::BlockedTermMode {
    fn from(m: BlockedTermMode) -> Self {
        match m {
            BlockedTermMode::Reject => pb::BlockedTermMode::Reject,
            BlockedTermMode::Hold => pb::BlockedTermMode::Hold,
        }
    }
}

impl From<&RoomSettings> for pb::RoomSettings {
    fn from(s: &RoomSettings) -> Self {
        pb::RoomSettings {
            slow_mode_secs: s.slow_mode.secs(),
            blocked_terms: s.blocked_terms.texts(),
            blocked_term_mode: pb::BlockedTermMode::from(s.blocked_term_mode).into(),
        }
    }
}

impl From<&ModerationAction> for pb::ModerationAction {
    fn from(a: &ModerationAction) -> Self {
        pb::ModerationAction {
            id: a.id.to_string(),
            event_id: a.event_id.to_string(),
            actor_id: a.actor_id.to_string(),
            kind: a.kind.as_str().to_owned(),
            target_user_id: a.target_user_id.map(|u| u.to_string()).unwrap_or_default(),
            target_message_id: a.target_message_id.map(|m| m.to_string()).unwrap_or_default(),
            reason: a.reason.as_str().to_owned(),
            at: Some(timestamp(a.at)),
            duration_secs: a.duration_secs.unwrap_or(0),
            message: a.message.as_ref().map(pb::ChatMessage::from),
            settings: a.settings.as_ref().map(pb::RoomSettings::from),
        }
    }
}

impl From<&Sent> for pb::SendResponse {
    fn from(s: &Sent) -> Self {
        pb::SendResponse { message: Some(pb::ChatMessage::from(&s.message)), held: s.held }
    }
}

impl TryFrom<pb::SendResponse> for Sent {
    type Error = InvalidField;

    fn try_from(r: pb::SendResponse) -> Result<Self, Self::Error> {
        let message = r.message.ok_or(InvalidField("message"))?.try_into()?;
        Ok(Sent { message, held: r.held })
    }
}

/// The chat side of an event, from a bus message or a GetEvent reply of the events service.
impl TryFrom<events_pb::Event> for Room {
    type Error = InvalidField;

    fn try_from(e: events_pb::Event) -> Result<Self, Self::Error> {
        let status = match events_pb::EventStatus::try_from(e.status) {
            Ok(events_pb::EventStatus::Scheduled) => RoomStatus::Scheduled,
            Ok(events_pb::EventStatus::Live) => RoomStatus::Live,
            Ok(events_pb::EventStatus::Ended) => RoomStatus::Ended,
            Ok(events_pb::EventStatus::Cancelled) => RoomStatus::Cancelled,
            Ok(events_pb::EventStatus::Unspecified) | Err(_) => return Err(InvalidField("event.status")),
        };
        let cohost_ids =
            e.cohost_ids.iter().map(|c| uuid(c, "event.cohost_ids").map(UserId::from_uuid)).collect::<Result<Vec<_>, _>>()?;
        let went_live_at = match &e.went_live_at {
            Some(ts) => Some(from_timestamp(ts).ok_or(InvalidField("event.went_live_at"))?),
            None => None,
        };
        Ok(Room {
            event_id: EventId::from_uuid(uuid(&e.id, "event.id")?),
            host_id: UserId::from_uuid(uuid(&e.host_id, "event.host_id")?),
            cohost_ids,
            status,
            went_live_at,
            event_updated_at: e.updated_at.as_ref().and_then(from_timestamp).ok_or(InvalidField("event.updated_at"))?,
        })
    }
}

impl From<&crate::store::StandingRow> for pb::StandingEntry {
    fn from(row: &crate::store::StandingRow) -> Self {
        Self {
            user_id: row.user_id.to_string(),
            by_user_id: row.by_user_id.to_string(),
            since: Some(timestamp(row.since)),
            until: row.until.map(timestamp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChatRole, MessageText};

    fn message() -> ChatMessage {
        ChatMessage {
            id: MessageId::generate(),
            event_id: EventId::from_uuid(Uuid::now_v7()),
            author: Author {
                user_id: UserId::from_uuid(Uuid::new_v4()),
                display_name: DisplayName::from_stored("Ada".into()),
                avatar_url: AvatarUrl::from_stored(String::new()),
            },
            role: ChatRole::Cohost,
            text: MessageText::parse("hello").expect("valid"),
            sent_at: at_stored_precision(Utc::now()),
            client_msg_id: ClientMsgId::parse("c1").expect("valid"),
        }
    }

    #[test]
    fn chat_messages_round_trip_through_proto() {
        let m = message();
        assert_eq!(ChatMessage::try_from(pb::ChatMessage::from(&m)), Ok(m));
    }

    #[test]
    fn bus_messages_that_storage_cannot_hold_are_refused() {
        let mut p = pb::ChatMessage::from(&message());
        p.text = "a\0b".into();
        assert_eq!(ChatMessage::try_from(p), Err(InvalidField("text")));
        let mut p = pb::ChatMessage::from(&message());
        p.author.as_mut().expect("author").role = 0;
        assert_eq!(ChatMessage::try_from(p), Err(InvalidField("author.role")));
        let mut p = pb::ChatMessage::from(&message());
        p.sent_at = None;
        assert_eq!(ChatMessage::try_from(p), Err(InvalidField("sent_at")));
    }

    #[test]
    fn events_become_rooms_only_when_complete() {
        let event = events_pb::Event {
            id: Uuid::now_v7().to_string(),
            host_id: Uuid::new_v4().to_string(),
            cohost_ids: vec![Uuid::new_v4().to_string()],
            status: events_pb::EventStatus::Live.into(),
            went_live_at: Some(timestamp(Utc::now())),
            updated_at: Some(timestamp(Utc::now())),
            ..Default::default()
        };
        let room = Room::try_from(event.clone()).expect("valid");
        assert_eq!(room.status, RoomStatus::Live);
        assert_eq!(room.cohost_ids.len(), 1);
        let bad = events_pb::Event { cohost_ids: vec!["x".into()], ..event.clone() };
        assert_eq!(Room::try_from(bad), Err(InvalidField("event.cohost_ids")));
        let bad = events_pb::Event { status: 0, ..event };
        assert_eq!(Room::try_from(bad), Err(InvalidField("event.status")));
    }
}
