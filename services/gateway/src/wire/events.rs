//! An event as the REST API and the live socket's `event` frame carry it.
use serde::Serialize;
use stagecast_proto::events::v1 as pb;
use utoipa::ToSchema;

use super::rfc3339;

/// Where an event is in its lifecycle: scheduled → live → ended, or scheduled → cancelled.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names `status_name` gives
pub enum EventStatus {
    #[serde(rename = "scheduled")]
    Scheduled,
    #[serde(rename = "live")]
    Live,
    #[serde(rename = "ended")]
    Ended,
    #[serde(rename = "cancelled")]
    Cancelled,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    #[schema(format = "uuid")]
    id: String,
    title: String,
    description: String,
    // The events service always sends it (as created_at and updated_at).
    #[schema(value_type = String, format = DateTime)]
    starts_at: Option<String>,
    /// The cover image's URL; null when none.
    #[schema(format = "uri", required = true)]
    cover_url: Option<String>,
    #[schema(inline, value_type = EventStatus)]
    status: &'static str,
    #[schema(format = "uuid")]
    host_id: String,
    /// The co-hosts' user ids, sorted.
    #[schema(value_type = Vec<String>, format = "uuid")]
    cohost_ids: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Option<String>,
    /// Set once the event has gone live.
    #[schema(format = DateTime, required = true)]
    went_live_at: Option<String>,
    /// Set once the event has ended.
    #[schema(format = DateTime, required = true)]
    ended_at: Option<String>,
    /// Set once the event was cancelled.
    #[schema(format = DateTime, required = true)]
    cancelled_at: Option<String>,
}

fn status_name(s: i32) -> &'static str {
    match pb::EventStatus::try_from(s) {
        Ok(pb::EventStatus::Scheduled) => "scheduled",
        Ok(pb::EventStatus::Live) => "live",
        Ok(pb::EventStatus::Ended) => "ended",
        Ok(pb::EventStatus::Cancelled) => "cancelled",
        _ => "unknown",
    }
}

pub fn event(e: pb::Event) -> Event {
    Event {
        starts_at: rfc3339(e.starts_at.as_ref()),
        created_at: rfc3339(e.created_at.as_ref()),
        updated_at: rfc3339(e.updated_at.as_ref()),
        went_live_at: rfc3339(e.went_live_at.as_ref()),
        ended_at: rfc3339(e.ended_at.as_ref()),
        cancelled_at: rfc3339(e.cancelled_at.as_ref()),
        status: status_name(e.status),
        cover_url: Some(e.cover_url).filter(|s| !s.is_empty()),
        id: e.id,
        title: e.title,
        description: e.description,
        host_id: e.host_id,
        cohost_ids: e.cohost_ids,
    }
}
