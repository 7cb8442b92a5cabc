//! A recording as the REST API and the live socket's `recording` frame carry it.
use serde::Serialize;
use stagecast_proto::recording::v1 as pb;
use utoipa::ToSchema;

use super::rfc3339;

/// A composite layout (docs/recording.md).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names the recording service's LAYOUTS accepts
pub enum RecordingLayout {
    /// The active speaker large, the others in a strip.
    #[serde(rename = "speaker")]
    Speaker,
    /// Everyone on air in equal tiles.
    #[serde(rename = "grid")]
    Grid,
    /// The shared screen large, the speakers beside it.
    #[serde(rename = "screen")]
    Screen,
}

/// A recording's resolution.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names the recording service's QUALITIES accepts
pub enum RecordingQuality {
    #[serde(rename = "720p")]
    P720,
    #[serde(rename = "1080p")]
    P1080,
}

/// Why a recording stopped.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documents the names the recording service stores
pub enum StopReason {
    /// A host or co-host stopped it.
    Host,
    EventEnded,
    /// Nobody was on air for the grace period.
    Idle,
}

/// Where a recording is in its life.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the recordings table's state CHECK
pub enum RecordingState {
    /// Only while the start request runs.
    #[serde(rename = "starting")]
    Starting,
    #[serde(rename = "recording")]
    Recording,
    /// Stopped; the last segments and the MP4 are being stored.
    #[serde(rename = "stopping")]
    Stopping,
    /// Everything is stored.
    #[serde(rename = "ready")]
    Ready,
    /// With `error`.
    #[serde(rename = "failed")]
    Failed,
}

/// A stretch the recording is missing (the egress worker lost the room for a while).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RecordingGap)]
pub struct Gap {
    /// Position on the recording's timeline.
    at_ms: u64,
    /// Wall-clock time missing.
    duration_ms: u64,
    reason: String,
}

/// A layout from a point of the recording on.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RecordingLayoutChange)]
pub struct LayoutChange {
    /// Position on the recording's timeline.
    at_ms: u64,
    #[schema(value_type = RecordingLayout)]
    layout: String,
}

/// Where to play a recording (each URL takes the access token as a header or `?access_token=`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RecordingPlayback)]
pub struct Playback {
    /// The HLS playlist (`/api/v1/recordings/{id}/hls/index.m3u8`).
    hls_url: String,
    /// The MP4 download, once ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    mp4_url: Option<String>,
}

/// A cloud recording of an event (docs/recording.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct Recording {
    #[schema(format = Uuid)]
    id: String,
    #[schema(format = Uuid)]
    event_id: String,
    /// The event's title when the recording started.
    event_title: String,
    /// The event's host when the recording started.
    #[schema(format = Uuid)]
    host_id: String,
    /// starting (only while the start request runs) → recording → stopping → ready; or failed,
    /// with error.
    #[schema(value_type = RecordingState)]
    state: String,
    #[schema(value_type = RecordingLayout)]
    layout: String,
    #[schema(value_type = RecordingQuality)]
    quality: String,
    /// When the egress job started.
    #[schema(format = DateTime, required = true)]
    started_at: Option<String>,
    /// When it became ready or failed.
    #[schema(format = DateTime, required = true)]
    ended_at: Option<String>,
    /// Moves with each change announced on the live socket.
    #[schema(format = DateTime, required = true)]
    updated_at: Option<String>,
    /// Recorded time, gaps excluded.
    duration_ms: u64,
    /// Stored segments plus the MP4.
    size_bytes: u64,
    /// Once ready (`/api/v1/recordings/{id}/thumbnail.jpg`).
    #[schema(required = true)]
    thumbnail_url: Option<String>,
    /// The first is the starting layout at 0.
    layout_changes: Vec<LayoutChange>,
    gaps: Vec<Gap>,
    /// Why it failed, or an alarm while recording; absent when empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(required = false)]
    error: String,
    /// Why it stopped, once it has: the host or a co-host stopped it, the event ended, or
    /// nobody was on air for the grace period (RECORDING_IDLE_GRACE_S).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = StopReason)]
    stop_reason: Option<String>,
    /// Absent until the first segment is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    playback: Option<Playback>,
}

pub fn recording(r: pb::Recording) -> Recording {
    let base = format!("/api/v1/recordings/{}", r.id);
    Recording {
        playback: r.has_playlist.then(|| Playback {
            hls_url: format!("{base}/hls/index.m3u8"),
            mp4_url: r.has_mp4.then(|| format!("{base}/download.mp4")),
        }),
        thumbnail_url: r.has_thumbnail.then(|| format!("{base}/thumbnail.jpg")),
        started_at: rfc3339(r.started_at.as_ref()),
        ended_at: rfc3339(r.ended_at.as_ref()),
        updated_at: rfc3339(r.updated_at.as_ref()),
        id: r.id,
        event_id: r.event_id,
        event_title: r.event_title,
        host_id: r.host_id,
        state: r.state,
        layout: r.layout,
        quality: r.quality,
        duration_ms: r.duration_ms,
        size_bytes: r.size_bytes,
        layout_changes: r.layout_changes.into_iter().map(|c| LayoutChange { at_ms: c.at_ms, layout: c.layout }).collect(),
        gaps: r.gaps.into_iter().map(|g| Gap { at_ms: g.at_ms, duration_ms: g.duration_ms, reason: g.reason }).collect(),
        error: r.error,
        stop_reason: Some(r.stop_reason).filter(|s| !s.is_empty()),
    }
}
