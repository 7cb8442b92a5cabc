//! A restreaming destination as the REST API and the live socket's `destination` frame carry it.
use serde::Serialize;
use stagecast_proto::broadcast::v1 as pb;
use utoipa::ToSchema;

use super::rfc3339;

/// A restreaming platform.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names the broadcast service's `Platform` parses
pub enum DestinationPlatform {
    #[serde(rename = "youtube")]
    Youtube,
    #[serde(rename = "twitch")]
    Twitch,
    #[serde(rename = "facebook")]
    Facebook,
    /// Any RTMP(S) server (server_url required).
    #[serde(rename = "custom")]
    Custom,
}

/// Where a push to a destination is (docs/broadcast.md).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the event_destinations table's state CHECK
pub enum DestinationState {
    /// Attached, not started.
    #[serde(rename = "idle")]
    Idle,
    #[serde(rename = "connecting")]
    Connecting,
    #[serde(rename = "live")]
    Live,
    /// Reconnecting after a break.
    #[serde(rename = "retrying")]
    Retrying,
    /// With error and error_code, until started again.
    #[serde(rename = "failed")]
    Failed,
    /// By a host or co-host, or by the end of the event.
    #[serde(rename = "stopped")]
    Stopped,
}

/// Why a push is retrying or failed, as the egress worker reports it; empty when fine:
/// `key_refused` (the platform refused the stream key), `unreachable` (the server refused the
/// connection, its name is unknown or it did not answer), `stalled` (it stopped taking the
/// stream), `disconnected` (the connection broke), `tls` (the rtmps connection failed),
/// `invalid_url`.
///
/// Written by hand: the derive cannot spell the empty string as an enum value.
pub struct DestinationErrorCode;

impl utoipa::PartialSchema for DestinationErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "Why a push is retrying or failed, as the egress worker reports it; empty when fine: `key_refused` (the \
                 platform refused the stream key), `unreachable` (the server refused the connection, its name is unknown \
                 or it did not answer), `stalled` (it stopped taking the stream), `disconnected` (the connection broke), \
                 `tls` (the rtmps connection failed), `invalid_url`.",
            ))
            .enum_values(Some(["key_refused", "unreachable", "stalled", "disconnected", "tls", "invalid_url", ""]))
            .into()
    }
}

impl ToSchema for DestinationErrorCode {}

/// A saved RTMP(S) destination of the signed-in user, reusable across events. The stream key is
/// never returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct Destination {
    #[schema(format = Uuid)]
    id: String,
    #[schema(value_type = DestinationPlatform)]
    platform: String,
    name: String,
    /// rtmp:// or rtmps://, the host and the application path, without the stream key.
    server_url: String,
    /// The stream key's last four characters, e.g. …abcd.
    key_hint: String,
    #[schema(format = DateTime, required = true)]
    created_at: Option<String>,
}

/// A destination attached to an event, with its push's state (docs/broadcast.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDestination {
    #[schema(format = Uuid)]
    event_id: String,
    /// Always present (the broadcast service always sends it).
    #[schema(value_type = Destination)]
    destination: Option<Destination>,
    /// Start it when the event goes live.
    auto_start: bool,
    /// idle (attached, not started) → connecting → live; retrying while reconnecting after a
    /// break; failed (with error and error_code) until started again; stopped by a host or
    /// co-host or by the end of the event.
    #[schema(value_type = DestinationState)]
    state: String,
    /// Bits per second the server accepted, as the egress worker last reported (every 5 s while
    /// pushing).
    bitrate_bps: u64,
    bytes_sent: u64,
    /// When the current live stretch began; null when not live.
    #[schema(format = DateTime, required = true)]
    live_since: Option<String>,
    /// Reconnection attempts.
    retries: u32,
    /// Why it is retrying or failed, in words for a host; empty when fine.
    error: String,
    #[schema(value_type = DestinationErrorCode)]
    error_code: String,
    #[schema(format = DateTime, required = true)]
    updated_at: Option<String>,
}

pub fn destination(d: pb::Destination) -> Destination {
    Destination {
        created_at: rfc3339(d.created_at.as_ref()),
        id: d.id,
        platform: d.platform,
        name: d.name,
        server_url: d.server_url,
        key_hint: d.key_hint,
    }
}

pub fn event_destination(d: pb::EventDestination) -> EventDestination {
    EventDestination {
        live_since: rfc3339(d.live_since.as_ref()),
        updated_at: rfc3339(d.updated_at.as_ref()),
        event_id: d.event_id,
        destination: d.destination.map(destination),
        auto_start: d.auto_start,
        state: d.state,
        bitrate_bps: d.bitrate_bps,
        bytes_sent: d.bytes_sent,
        retries: d.retries,
        error: d.error,
        error_code: d.error_code,
    }
}
