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
/// Opaque to callers: base64url of `[sort key: i64 µs since epoch, BE][id: 16 B]`, 32
/// characters. Every string of that shape is a position, so every one the API document's
/// pattern ([`Cursor::PATTERN`]) allows is accepted: a position from another listing (or made
/// up) continues this listing's order from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub after: DateTime<Utc>,
    pub id: EventId,
}

impl Cursor {
    const LEN: usize = 8 + 16;

    /// The form of every cursor, as a JSON Schema `pattern`: 24 bytes in unpadded base64url.
    pub const PATTERN: &str = "^[A-Za-z0-9_-]{32}$";

    /// The cursor that continues after `event` in `filter`'s order; `None` for an event the
    /// listing cannot contain.
    pub fn after_event(filter: ListFilter, event: &Event) -> Option<Self> {
        Some(Self { after: filter.sort_key(event)?, id: event.id })
    }

    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(Self::LEN);
        bytes.extend_from_slice(&self.after.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(self.id.as_uuid().as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes a cursor a caller sent back: any string of [`Cursor::PATTERN`]'s form.
    pub fn decode(raw: &str) -> Result<Self, ApiError> {
        let bad = || {
            ApiError::invalid(
                "invalid_cursor",
                "cursor is not one a listing returned (32 base64url characters); start again without one",
            )
        };
        // 32 characters are exactly 24 bytes, so no string of the pattern's form has trailing
        // bits to refuse, and no other length is a cursor.
        if raw.len() != 32 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let (key, id) = bytes.split_at_checked(8).ok_or_else(bad)?;
        let micros = i64::from_be_bytes(key.try_into().map_err(|_| bad())?);
        let id = Uuid::from_slice(id).map_err(|_| bad())?;
        // Every sort key is an RFC 3339 time (years 0000–9999, and never in the past when it
        // was set), so a position outside those years orders like the nearest of them; clamped
        // there, it stays within what chrono and Postgres (4713 BC to 294276 AD) represent.
        let after = DateTime::from_timestamp_micros(micros.clamp(Self::EARLIEST_MICROS, Self::LATEST_MICROS)).ok_or_else(bad)?;
        Ok(Self { after, id: EventId::from_uuid(id) })
    }

    /// 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z, in µs since the epoch.
    const EARLIEST_MICROS: i64 = -62_167_219_200_000_000;
    const LATEST_MICROS: i64 = 253_402_300_800_000_000;
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
    use chrono::Datelike;

    use super::*;

    fn cursor() -> Cursor {
        let after = DateTime::from_timestamp_micros(1_750_000_000_123_456).expect("in range");
        Cursor { after, id: EventId::generate() }
    }

    #[test]
    fn cursor_round_trips_and_has_the_documented_form() {
        let c = cursor();
        let s = c.encode();
        assert!(s.len() == 32 && s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'), "{s}");
        assert_eq!(Cursor::decode(&s).expect("round trip"), c);
    }

    #[test]
    fn every_string_of_the_documented_form_is_a_cursor() {
        // The smallest and largest keys (and so out of chrono's range), digits, the URL-safe
        // characters, and an ordinary mix: each is a position.
        for s in [
            "A".repeat(32),
            "_".repeat(32),
            "-".repeat(32),
            "0".repeat(32),
            "9zZ-_aA0".repeat(4),
            "gAAAAAAAAAAA".repeat(3)[..32].to_owned(),
        ] {
            let c = Cursor::decode(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert!((0..=10_000).contains(&c.after.year()), "{s}: {}", c.after);
        }
        // i64::MIN µs, far before any event, orders before all of them.
        assert_eq!(Cursor::decode(&format!("gAAAAAAAAAA{}", "A".repeat(21))).expect("minimum").after.year(), 0);
        assert_eq!(Cursor::decode(&format!("f{}", "_".repeat(31))).expect("maximum").after.year(), 10_000);
    }

    #[test]
    fn strings_of_another_form_are_refused() {
        let good = cursor().encode();
        for bad in
            ["", "!!!", "abc", &good[..31], &format!("{good}A"), &format!(" {}", &good[1..]), &"A".repeat(500), &"+".repeat(32)]
        {
            assert_eq!(Cursor::decode(bad).expect_err(bad).code, "invalid_cursor", "{bad}");
        }
    }

    #[test]
    fn limit_defaults_to_twenty_and_is_capped_at_one_hundred() {
        assert_eq!(PageSize::parse(0).expect("default").get(), 20);
        assert_eq!(PageSize::parse(1).expect("min").get(), 1);
        assert_eq!(PageSize::parse(100).expect("max").get(), 100);
        assert_eq!(PageSize::parse(101).expect_err("over").code, "invalid_limit");
    }
}
