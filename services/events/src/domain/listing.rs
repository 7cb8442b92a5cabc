use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use stagecast_kit::ApiError;
use uuid::Uuid;

use super::{Event, EventId, EventStatus};

/// Which events a listing shows, and in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListFilter {
    /// Live now, most recently started first.
    Live,
    /// Scheduled, soonest first.
    Upcoming,
    /// Ended, most recently ended first.
    Past,
}

impl ListFilter {
    pub fn status(self) -> EventStatus {
        match self {
            ListFilter::Live => EventStatus::Live,
            ListFilter::Upcoming => EventStatus::Scheduled,
            ListFilter::Past => EventStatus::Ended,
        }
    }

    /// The timestamp this listing sorts on, for an event it contains.
    pub fn sort_key(self, event: &Event) -> Option<DateTime<Utc>> {
        match self {
            ListFilter::Live => event.went_live_at,
            ListFilter::Upcoming => Some(event.starts_at),
            ListFilter::Past => event.ended_at,
        }
    }

    fn tag(self) -> u8 {
        match self {
            ListFilter::Live => 1,
            ListFilter::Upcoming => 2,
            ListFilter::Past => 3,
        }
    }
}

/// How many events one page holds: 1..=100, 20 when the caller does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    pub const DEFAULT: u32 = 20;
    pub const MAX: u32 = 100;

    /// `0` is what proto3 sends for "not set", so it means the default.
    pub fn parse(raw: u32) -> Result<Self, ApiError> {
        match raw {
            0 => Ok(Self(Self::DEFAULT)),
            1..=Self::MAX => Ok(Self(raw)),
            _ => Err(ApiError::invalid("invalid_limit", format!("limit must be between 1 and {}", Self::MAX))),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Where the next page starts: the sort key and id of the last event already returned.
///
/// Keyset pagination: the next page is "everything after this key", so events inserted or
/// removed meanwhile neither shift pages nor cause repeats, and deep pages cost the same as the
/// first. The id breaks ties between events with equal timestamps.
///
/// Opaque to callers: base64url of `[filter tag: u8][sort key: i64 µs since epoch, BE][id: 16 B]`.
/// The filter is inside so a cursor from one listing cannot be replayed on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub filter: ListFilter,
    pub after: DateTime<Utc>,
    pub id: EventId,
}

impl Cursor {
    const LEN: usize = 1 + 8 + 16;

    /// The cursor that continues after `event` in `filter`'s order; `None` for an event the
    /// listing cannot contain.
    pub fn after_event(filter: ListFilter, event: &Event) -> Option<Self> {
        Some(Self { filter, after: filter.sort_key(event)?, id: event.id })
    }

    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(Self::LEN);
        bytes.push(self.filter.tag());
        bytes.extend_from_slice(&self.after.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(self.id.as_uuid().as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes a cursor a caller sent back for a listing with `filter`.
    pub fn decode(raw: &str, filter: ListFilter) -> Result<Self, ApiError> {
        let bad = || ApiError::invalid("invalid_cursor", "cursor is not one this listing returned; start again without a cursor");
        // A real cursor is 34 characters; refuse anything far longer before decoding it.
        if raw.len() > 64 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        if bytes.len() != Self::LEN || bytes[0] != filter.tag() {
            return Err(bad());
        }
        let micros = i64::from_be_bytes(bytes[1..9].try_into().map_err(|_| bad())?);
        let after = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        let id = Uuid::from_slice(&bytes[9..]).map_err(|_| bad())?;
        Ok(Self { filter, after, id: EventId::from_uuid(id) })
    }
}

/// One listing request, parsed.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery {
    pub filter: ListFilter,
    pub limit: PageSize,
    pub cursor: Option<Cursor>,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page {
    pub events: Vec<Event>,
    /// `None` on the last page.
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(filter: ListFilter) -> Cursor {
        let after = DateTime::from_timestamp_micros(1_750_000_000_123_456).expect("in range");
        Cursor { filter, after, id: EventId::generate() }
    }

    #[test]
    fn cursor_round_trips_and_is_url_safe() {
        for filter in [ListFilter::Live, ListFilter::Upcoming, ListFilter::Past] {
            let c = cursor(filter);
            let s = c.encode();
            assert!(s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'), "{s}");
            assert_eq!(Cursor::decode(&s, filter).expect("round trip"), c);
        }
    }

    #[test]
    fn garbled_or_foreign_cursors_are_refused() {
        let live = cursor(ListFilter::Live).encode();
        assert_eq!(Cursor::decode(&live, ListFilter::Past).expect_err("other listing").code, "invalid_cursor");
        let mut truncated = live.clone();
        truncated.pop();
        for bad in ["", "!!!", "abc", truncated.as_str(), &"A".repeat(500)] {
            assert_eq!(Cursor::decode(bad, ListFilter::Live).expect_err(bad).code, "invalid_cursor", "{bad}");
        }
        // The right length and tag, but a timestamp chrono cannot represent.
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&i64::MAX.to_be_bytes());
        bytes.extend_from_slice(&[0u8; 16]);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(bytes), ListFilter::Live).expect_err("range").code, "invalid_cursor");
    }

    #[test]
    fn limit_defaults_to_twenty_and_is_capped_at_one_hundred() {
        assert_eq!(PageSize::parse(0).expect("default").get(), 20);
        assert_eq!(PageSize::parse(1).expect("min").get(), 1);
        assert_eq!(PageSize::parse(100).expect("max").get(), 100);
        assert_eq!(PageSize::parse(101).expect_err("over").code, "invalid_limit");
    }
}
