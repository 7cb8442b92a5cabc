//! Ids shared by several services. Each is a UUID that has been parsed (and is not nil), so a
//! value of these types is always valid; refusals carry a code naming the field.
#![forbid(unsafe_code)]

use std::fmt;

use stagecast_kit::ApiError;
use uuid::Uuid;

/// The id of an event (and of its chat room). New ids are UUIDv7: time-ordered, which keeps
/// primary-key indexes append-mostly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(Uuid);

impl EventId {
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// Parses an id sent by a caller.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        parse_uuid(raw).map(Self).ok_or_else(|| ApiError::invalid("invalid_event_id", "event id must be a UUID"))
    }

    /// Wraps an id read back from our own storage or a bus message already checked.
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

/// The id of a user, as issued by the auth service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Uuid);

impl UserId {
    /// Parses a user id from the request field that `code` names (e.g. `invalid_cohost_id`).
    pub fn parse_as(raw: &str, code: &'static str, message: impl FnOnce(&str) -> String) -> Result<Self, ApiError> {
        parse_uuid(raw).map(Self).ok_or_else(|| ApiError::invalid(code, message(&truncate(raw))))
    }

    /// The caller. It comes from the gateway's verified token, so a bad one means the gateway
    /// (not the end user) sent something wrong; the code says which field it was.
    pub fn parse_actor(raw: &str) -> Result<Self, ApiError> {
        Self::parse_as(raw, "invalid_actor", |_| "actor_id must be a user id (UUID)".into())
    }

    /// A user named in a request (an author, the target of an action).
    pub fn parse_user(raw: &str) -> Result<Self, ApiError> {
        Self::parse_as(raw, "invalid_user_id", |_| "user_id must be a user id (UUID)".into())
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

// Hyphenated lowercase: the form used in bus subjects, Redis keys and replies.
impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The nil UUID is refused: no issuer hands it out, so seeing it means a default value slipped
/// through somewhere upstream.
pub fn parse_uuid(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw.trim()).ok().filter(|id| !id.is_nil())
}

/// Keeps an echoed bad value short, so an error message cannot reflect a huge input.
pub fn truncate(raw: &str) -> String {
    raw.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_non_nil_uuids_and_refusals_name_the_field() {
        let id = "0190f1f4-4a6e-7b1c-8d2e-3f4a5b6c7d8e";
        assert_eq!(EventId::parse(id).expect("valid").to_string(), id);
        assert_eq!(UserId::parse_actor(&format!(" {id} ")).expect("valid").to_string(), id);
        assert_eq!(EventId::parse("42").expect_err("not a uuid").code, "invalid_event_id");
        assert_eq!(UserId::parse_actor("").expect_err("empty").code, "invalid_actor");
        assert_eq!(UserId::parse_user(&Uuid::nil().to_string()).expect_err("nil").code, "invalid_user_id");
        let e = UserId::parse_as(&"x".repeat(100), "invalid_cohost_id", |v| format!("{v:?} is not a user id")).expect_err("bad");
        assert_eq!(e.code, "invalid_cohost_id");
        assert!(e.message.len() < 60, "echo is truncated: {}", e.message);
    }

    #[test]
    fn generated_event_ids_sort_by_creation_time() {
        let a = EventId::generate();
        let b = EventId::generate();
        assert!(a < b);
    }
}
