use std::fmt;

use stagecast_kit::ApiError;
use uuid::Uuid;

/// The id of an event. New ids are UUIDv7, so they are time-ordered and keep the primary-key
/// index append-mostly.
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

    /// Wraps an id read back from our own storage.
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hyphenated lowercase: the form used in bus subjects and returned to callers.
        self.0.hyphenated().fmt(f)
    }
}

/// The id of a user (host, co-host or the caller), as issued by the auth service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Uuid);

impl UserId {
    /// Parses the caller's id. It comes from the gateway's verified token, so a bad one means the
    /// gateway (not the end user) sent something wrong; the code says which field it was.
    pub fn parse_actor(raw: &str) -> Result<Self, ApiError> {
        parse_uuid(raw).map(Self).ok_or_else(|| ApiError::invalid("invalid_actor", "actor_id must be a user id (UUID)"))
    }

    /// Parses one entry of a co-host list.
    pub fn parse_cohost(raw: &str) -> Result<Self, ApiError> {
        parse_uuid(raw).map(Self).ok_or_else(|| {
            ApiError::invalid("invalid_cohost_id", format!("co-host id {:?} is not a user id (UUID)", truncate(raw)))
        })
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The nil UUID is refused: no issuer hands it out, so seeing it means a default value slipped
/// through somewhere upstream.
fn parse_uuid(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw.trim()).ok().filter(|id| !id.is_nil())
}

/// Keeps an echoed bad value short, so an error message cannot be used to reflect a huge input.
fn truncate(raw: &str) -> String {
    raw.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_non_nil_uuids() {
        let id = "0190f1f4-4a6e-7b1c-8d2e-3f4a5b6c7d8e";
        assert_eq!(EventId::parse(id).expect("valid").to_string(), id);
        assert_eq!(UserId::parse_actor(&format!(" {id} ")).expect("valid").to_string(), id);
        assert_eq!(EventId::parse("42").expect_err("not a uuid").code, "invalid_event_id");
        assert_eq!(UserId::parse_actor("").expect_err("empty").code, "invalid_actor");
        assert_eq!(UserId::parse_actor(&Uuid::nil().to_string()).expect_err("nil").code, "invalid_actor");
        assert_eq!(UserId::parse_cohost("bob").expect_err("not a uuid").code, "invalid_cohost_id");
    }

    #[test]
    fn generated_event_ids_sort_by_creation_time() {
        let a = EventId::generate();
        let b = EventId::generate();
        assert!(a < b);
    }
}
