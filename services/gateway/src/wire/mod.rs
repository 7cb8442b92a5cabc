//! The wire types: what the REST routes answer and the live socket sends, in one place, each
//! with its conversion from the services' protobuf types. `routes/` and `live/` both take them
//! from here (they used to take them from each other).
pub mod broadcasts;
pub mod chat;
pub mod events;
pub mod recordings;
pub mod stage;

/// Timestamps in the API are RFC 3339 strings in UTC.
pub fn rfc3339(ts: Option<&prost_types::Timestamp>) -> Option<String> {
    let ts = ts?;
    chrono::DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}
