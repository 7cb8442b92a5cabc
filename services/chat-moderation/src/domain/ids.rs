use std::fmt;

use chrono::{DateTime, Utc};
use stagecast_kit::ApiError;
use uuid::Uuid;

pub use stagecast_ids::{EventId, UserId, parse_uuid};

/// The id of a chat message (or of a held one). New ids are UUIDv7: time-ordered, so the
/// primary-key order is the order messages were accepted in and history pages by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(Uuid);

impl MessageId {
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// Parses a message id from a request field; `code` names the field (`invalid_message_id`,
    /// `invalid_before_id`).
    pub fn parse(raw: &str, code: &'static str) -> Result<Self, ApiError> {
        parse_uuid(raw).map(Self).ok_or_else(|| ApiError::invalid(code, "message ids are UUIDs"))
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// When the id was generated, if it is a UUIDv7 (ours are; a caller may send anything).
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        let (secs, nanos) = self.0.get_timestamp()?.to_unix();
        DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The id of an audit-log entry (and of the moderation action it records): UUIDv7, so the
/// audit log pages newest-first by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionId(Uuid);

impl ActionId {
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn parse(raw: &str, code: &'static str) -> Result<Self, ApiError> {
        parse_uuid(raw).map(Self).ok_or_else(|| ApiError::invalid(code, "audit-log ids are UUIDs"))
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_non_nil_uuids_and_name_their_field() {
        let id = "0190f1f4-4a6e-7b1c-8d2e-3f4a5b6c7d8e";
        assert_eq!(EventId::parse(id).expect("valid").to_string(), id);
        assert_eq!(EventId::parse("42").expect_err("not a uuid").code, "invalid_event_id");
        assert_eq!(UserId::parse_actor("").expect_err("empty").code, "invalid_actor");
        assert_eq!(UserId::parse_user(&Uuid::nil().to_string()).expect_err("nil").code, "invalid_user_id");
        assert_eq!(MessageId::parse("x", "invalid_before_id").expect_err("bad").code, "invalid_before_id");
    }

    #[test]
    fn generated_message_ids_sort_in_creation_order() {
        let ids: Vec<MessageId> = (0..100).map(|_| MessageId::generate()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let age = Utc::now() - ids[0].created_at().expect("v7 ids carry their time");
        assert!(age >= chrono::Duration::zero() && age < chrono::Duration::seconds(5));
        assert_eq!(MessageId::from_uuid(Uuid::new_v4()).created_at(), None);
    }
}
