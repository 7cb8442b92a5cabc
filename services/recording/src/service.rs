//! The recording use cases: start, stop, layout, the library, delete; following the egress job
//! and the stage; and what happens to recordings on their own: the stop of a recording nobody is
//! on air in ([`Lifecycle::idle_grace`]), the end of a stop its egress worker never finished
//! ([`Recordings::sweep_stopping`]) and the deletion of recordings past their retention
//! ([`Recordings::sweep_retention`]). Every change to a recording row is written with its bus
//! message through the outbox in one transaction.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row, postgres::PgRow};
use stagecast_kit::{
    error::{ApiError, ErrorKind},
    stage::EventInfo,
};
use stagecast_proto::{
    egress::v1 as egress_pb,
    events::v1::{self as events_pb, EventStatus},
    recording::v1 as pb,
};
use uuid::Uuid;

use crate::{clients::Clients, config::Lifecycle};

pub const LAYOUTS: [&str; 3] = ["speaker", "grid", "screen"];
pub const QUALITIES: [&str; 2] = ["720p", "1080p"];
/// Active states: a second recording of the event is refused while one is in them.
const ACTIVE: [&str; 3] = ["starting", "recording", "stopping"];
/// At most this many stuck stops ended per sweep and replica. They are rare (a worker that died
/// mid-stop takes its few recordings with it); the bound keeps one sweep short all the same.
const STOPPING_BATCH: u32 = 100;

/// Why a recording stopped or was deleted, as the catalogue (`stop_reason`) and the bus message
/// (`reason`) say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A host or co-host (stop), the event's host (delete).
    Host,
    /// The event is no longer live.
    EventEnded,
    /// Nobody on air published in the SFU room for the grace period.
    Idle,
    /// Older than the operator's retention period.
    Retention,
    /// Still `stopping` [`Lifecycle::stopping_timeout`] after its stop: ended as `failed`.
    StopTimedOut,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::EventEnded => "event_ended",
            Self::Idle => "idle",
            Self::Retention => "retention",
            Self::StopTimedOut => "stop_timed_out",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Gap {
    pub at_ms: u64,
    pub duration_ms: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayoutChange {
    pub at_ms: u64,
    pub layout: String,
}

/// An event's recording settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub event_id: Uuid,
    pub auto_record: bool,
    pub layout: String,
    pub quality: String,
}

impl Settings {
    pub fn to_proto(&self) -> pb::Settings {
        pb::Settings {
            event_id: self.event_id.to_string(),
            auto_record: self.auto_record,
            layout: self.layout.clone(),
            quality: self.quality.clone(),
        }
    }
}

/// A host's own recording settings: how long the recordings of events they host are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSettings {
    /// Their choice (1..=[`MAX_RETENTION_DAYS`]); `None`: the operator's default.
    pub retention_days: Option<u32>,
    /// `RECORDING_RETENTION_DAYS`: the default, and the most a host's choice counts for.
    pub operator_retention_days: Option<u32>,
}

impl HostSettings {
    /// What the retention sweep applies: the smaller of the two; `None`: kept until deleted.
    pub fn effective_retention_days(&self) -> Option<u32> {
        match (self.retention_days, self.operator_retention_days) {
            (Some(h), Some(o)) => Some(h.min(o)),
            (h, o) => h.or(o),
        }
    }

    pub fn to_proto(&self) -> pb::HostSettings {
        pb::HostSettings {
            retention_days: self.retention_days,
            operator_retention_days: self.operator_retention_days,
            effective_retention_days: self.effective_retention_days(),
        }
    }
}

/// The longest retention a host may choose: ten years.
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// One row of the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_title: String,
    pub host_id: Uuid,
    pub state: String,
    pub layout: String,
    pub quality: String,
    pub key_prefix: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub first_frame_at: Option<DateTime<Utc>>,
    pub event_went_live_at: Option<DateTime<Utc>>,
    pub duration_ms: i64,
    pub size_bytes: i64,
    pub segments: i32,
    pub mp4_bytes: i64,
    pub gaps: Vec<Gap>,
    pub layout_changes: Vec<LayoutChange>,
    pub error: String,
    pub staff_ids: Vec<Uuid>,
    pub updated_at: DateTime<Utc>,
    /// `host`, `event_ended`, `idle` once stopped by this service; empty otherwise.
    pub stop_reason: String,
}

const COLUMNS: &str = "id, event_id, event_title, host_id, state, layout, quality, key_prefix, started_at, ended_at, \
    first_frame_at, event_went_live_at, duration_ms, size_bytes, segments, mp4_bytes, gaps, layout_changes, error, staff_ids, updated_at, \
    stop_reason";

fn from_row(r: &PgRow) -> Result<Recording, sqlx::Error> {
    let gaps: serde_json::Value = r.try_get("gaps")?;
    let changes: serde_json::Value = r.try_get("layout_changes")?;
    Ok(Recording {
        id: r.try_get("id")?,
        event_id: r.try_get("event_id")?,
        event_title: r.try_get("event_title")?,
        host_id: r.try_get("host_id")?,
        state: r.try_get("state")?,
        layout: r.try_get("layout")?,
        quality: r.try_get("quality")?,
        key_prefix: r.try_get("key_prefix")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
        first_frame_at: r.try_get("first_frame_at")?,
        event_went_live_at: r.try_get("event_went_live_at")?,
        duration_ms: r.try_get("duration_ms")?,
        size_bytes: r.try_get("size_bytes")?,
        segments: r.try_get("segments")?,
        mp4_bytes: r.try_get("mp4_bytes")?,
        gaps: serde_json::from_value(gaps).unwrap_or_default(),
        layout_changes: serde_json::from_value(changes).unwrap_or_default(),
        error: r.try_get("error")?,
        staff_ids: r.try_get("staff_ids")?,
        updated_at: r.try_get("updated_at")?,
        stop_reason: r.try_get("stop_reason")?,
    })
}

fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

impl Recording {
    pub fn to_proto(&self) -> pb::Recording {
        pb::Recording {
            id: self.id.to_string(),
            event_id: self.event_id.to_string(),
            event_title: self.event_title.clone(),
            host_id: self.host_id.to_string(),
            state: self.state.clone(),
            layout: self.layout.clone(),
            quality: self.quality.clone(),
            started_at: self.started_at.map(ts),
            ended_at: self.ended_at.map(ts),
            duration_ms: self.duration_ms.max(0) as u64,
            size_bytes: (self.size_bytes + self.mp4_bytes).max(0) as u64,
            gaps: self
                .gaps
                .iter()
                .map(|g| pb::Gap { at_ms: g.at_ms, duration_ms: g.duration_ms, reason: g.reason.clone() })
                .collect(),
            layout_changes: self
                .layout_changes
                .iter()
                .map(|c| pb::LayoutChange { at_ms: c.at_ms, layout: c.layout.clone() })
                .collect(),
            error: self.error.clone(),
            key_prefix: self.key_prefix.clone(),
            first_frame_at: self.first_frame_at.map(ts),
            event_went_live_at: self.event_went_live_at.map(ts),
            has_playlist: self.segments > 0,
            // A failed recording keeps what it stored: its MP4 and thumbnail are written at the end too.
            has_mp4: self.mp4_bytes > 0,
            has_thumbnail: self.ended_at.is_some() && self.segments > 0,
            updated_at: Some(ts(self.updated_at)),
            stop_reason: self.stop_reason.clone(),
        }
    }
}

/// The layout changes an egress job reports, as the catalogue keeps them.
fn layout_changes_of(job: &egress_pb::Job) -> Vec<LayoutChange> {
    job.layout_changes.iter().map(|c| LayoutChange { at_ms: c.at_ms, layout: c.layout.clone() }).collect()
}

pub fn subject(event_id: Uuid) -> String {
    format!("stagecast.recording.v1.event.{event_id}.recording")
}

/// [`COLUMNS`] of the table aliased `alias`, for a query that joins another table.
fn qualified_columns(alias: &str) -> String {
    COLUMNS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// Queries put together from this file's constants only (never from input).
fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

fn parse_id(s: &str, code: &'static str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::invalid(code, format!("{what} is not a valid id")))
}

fn not_found() -> ApiError {
    ApiError::not_found("recording_not_found", "no such recording (it may have been deleted)")
}

fn not_running() -> ApiError {
    ApiError::new(ErrorKind::FailedPrecondition, "recording_not_running", "this recording is not running")
}

#[derive(Clone)]
pub struct Recordings {
    pool: PgPool,
    clients: Clients,
    lifecycle: Lifecycle,
}

impl Recordings {
    pub fn new(pool: PgPool, clients: Clients, lifecycle: Lifecycle) -> Self {
        Self { pool, clients, lifecycle }
    }

    async fn event(&self, event_id: Uuid) -> Result<EventInfo, ApiError> {
        EventInfo::fetch(&self.clients.events, event_id).await
    }

    fn staff(e: &EventInfo, actor: Uuid) -> Result<(), ApiError> {
        e.staff(actor, "record this event")
    }

    /// The people on air (never the backstage), with their display names.
    async fn on_air(&self, event_id: Uuid, host_id: Uuid) -> Result<Vec<egress_pb::OnAir>, ApiError> {
        stagecast_kit::stage::on_air(&self.clients.stage, &self.clients.auth, &event_id.to_string(), &host_id.to_string()).await
    }

    async fn load(&self, id: Uuid) -> Result<Recording, ApiError> {
        let row = sqlx::query(sql(format!("SELECT {COLUMNS} FROM recordings WHERE id = $1 AND deleted_at IS NULL")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(not_found)?;
        from_row(&row).map_err(ApiError::internal)
    }

    pub async fn start(&self, event_id: &str, actor: &str, layout: &str, quality: &str) -> Result<Recording, ApiError> {
        let event_id = parse_id(event_id, "invalid_event_id", "the event id")?;
        let actor = parse_id(actor, "invalid_user_id", "the user id")?;
        let layout = if layout.is_empty() { "grid" } else { layout };
        let quality = if quality.is_empty() { "720p" } else { quality };
        if !LAYOUTS.contains(&layout) {
            return Err(ApiError::invalid("unknown_layout", format!("no layout {layout:?}: use speaker, grid or screen")));
        }
        if !QUALITIES.contains(&quality) {
            return Err(ApiError::invalid("unknown_quality", format!("no quality {quality:?}: use 720p or 1080p")));
        }
        let e = self.event(event_id).await?;
        Self::staff(&e, actor)?;
        if e.status != EventStatus::Live as i32 {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "event_not_live",
                "go live first: only a live event can be recorded",
            ));
        }
        let id = Uuid::now_v7();
        let key_prefix = format!("recordings/{id}/");
        let mut staff = vec![e.host_id];
        staff.extend(e.cohost_ids.iter().copied());
        let inserted = sqlx::query(
            "INSERT INTO recordings (id, event_id, event_title, host_id, state, layout, quality, key_prefix, event_went_live_at, staff_ids, layout_changes)
             VALUES ($1, $2, $3, $4, 'starting', $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(event_id)
        .bind(&e.title)
        .bind(e.host_id)
        .bind(layout)
        .bind(quality)
        .bind(&key_prefix)
        .bind(e.went_live_at)
        .bind(&staff)
        .bind(serde_json::json!([{"at_ms": 0, "layout": layout}]))
        .execute(&self.pool)
        .await;
        if let Err(err) = inserted {
            if stagecast_kit::db::is_unique_violation(&err, Some("recordings_one_active_per_event")) {
                return Err(ApiError::new(
                    ErrorKind::Conflict,
                    "recording_already_running",
                    "this event is being recorded already; stop that recording first",
                ));
            }
            return Err(ApiError::internal(err));
        }
        let on_air = self.on_air(event_id, e.host_id).await;
        let started = match on_air {
            Ok(on_air) => self
                .clients
                .egress
                .clone()
                .start_job(egress_pb::StartJobRequest {
                    job_id: id.to_string(),
                    room: event_id.to_string(),
                    layout: layout.into(),
                    quality: quality.into(),
                    key_prefix,
                    on_air,
                    broadcast_only: false,
                })
                .await
                .map_err(|s| ApiError::from_status(&s)),
            Err(e) => Err(e),
        };
        match started {
            Ok(_) => self.transition(id, "recording", "started", |q| q.push_str(", started_at = now()")).await,
            Err(err) => {
                // The row goes: nothing was recorded, and the event may be recorded again at once.
                let _ = sqlx::query("DELETE FROM recordings WHERE id = $1").bind(id).execute(&self.pool).await;
                Err(err)
            }
        }
    }

    /// Sets the state (and whatever `extra` adds to the UPDATE) and writes the bus message.
    async fn transition(
        &self,
        id: Uuid,
        state: &str,
        kind: &str,
        extra: impl FnOnce(&mut String),
    ) -> Result<Recording, ApiError> {
        let mut sql_text = String::from("UPDATE recordings SET state = $2, updated_at = now()");
        extra(&mut sql_text);
        sql_text.push_str(&format!(" WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"));
        let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
        let row = sqlx::query(sql(sql_text))
            .bind(id)
            .bind(state)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(not_found)?;
        let rec = from_row(&row).map_err(ApiError::internal)?;
        publish(&mut tx, kind, "", &rec).await?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(rec)
    }

    pub async fn stop(&self, id: &str, actor: &str) -> Result<Recording, ApiError> {
        let id = parse_id(id, "invalid_recording_id", "the recording id")?;
        let actor = parse_id(actor, "invalid_user_id", "the user id")?;
        let rec = self.load(id).await?;
        let e = self.event(rec.event_id).await?;
        Self::staff(&e, actor)?;
        self.stop_job(rec, Reason::Host).await
    }

    /// Stops the job and marks the recording `stopping`, saying why. Every stop goes this way:
    /// a host's, the end of the event, and nobody on air for the grace period.
    async fn stop_job(&self, rec: Recording, reason: Reason) -> Result<Recording, ApiError> {
        if rec.state != "recording" && rec.state != "starting" {
            return Err(not_running());
        }
        match self.clients.egress.clone().stop_job(egress_pb::StopJobRequest { job_id: rec.id.to_string() }).await {
            Ok(_) => {}
            // Already stopping or gone on the worker: its status messages finish the row.
            Err(s) if matches!(s.code(), tonic::Code::FailedPrecondition | tonic::Code::NotFound) => {}
            Err(s) => return Err(ApiError::from_status(&s)),
        }
        // The job's own `stopping` status may have reached the row first (and a quick job even
        // its end): the row moves to `stopping` only from an active state, never back from
        // `ready` or `failed`.
        let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
        let row = sqlx::query(sql(format!(
            "UPDATE recordings SET state = 'stopping', stop_reason = $2, stopping_since = COALESCE(stopping_since, now()),
                updated_at = now()
             WHERE id = $1 AND deleted_at IS NULL AND state IN ('starting', 'recording', 'stopping') RETURNING {COLUMNS}"
        )))
        .bind(rec.id)
        .bind(reason.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::internal)?;
        let Some(row) = row else {
            drop(tx);
            return self.load(rec.id).await;
        };
        let rec = from_row(&row).map_err(ApiError::internal)?;
        publish(&mut tx, "stopping", reason.as_str(), &rec).await?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(rec)
    }

    pub async fn set_layout(&self, id: &str, actor: &str, layout: &str) -> Result<Recording, ApiError> {
        let id = parse_id(id, "invalid_recording_id", "the recording id")?;
        let actor = parse_id(actor, "invalid_user_id", "the user id")?;
        if !LAYOUTS.contains(&layout) {
            return Err(ApiError::invalid("unknown_layout", format!("no layout {layout:?}: use speaker, grid or screen")));
        }
        let rec = self.load(id).await?;
        let e = self.event(rec.event_id).await?;
        Self::staff(&e, actor)?;
        if rec.state != "recording" {
            return Err(not_running());
        }
        let job = self
            .clients
            .egress
            .clone()
            .update_job(egress_pb::UpdateJobRequest {
                job_id: id.to_string(),
                layout: layout.into(),
                set_on_air: false,
                on_air: vec![],
            })
            .await
            .map_err(|s| ApiError::from_status(&s))?
            .into_inner();
        let changes: Vec<LayoutChange> = layout_changes_of(&job);
        let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
        let row = sqlx::query(sql(format!(
            "UPDATE recordings SET layout = $2, layout_changes = $3, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
        )))
        .bind(id)
        .bind(layout)
        .bind(serde_json::to_value(&changes).map_err(ApiError::internal)?)
        .fetch_one(&mut *tx)
        .await
        .map_err(ApiError::internal)?;
        let rec = from_row(&row).map_err(ApiError::internal)?;
        publish(&mut tx, "layout", "", &rec).await?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(rec)
    }

    /// Whether `viewer` may watch the event's recordings: anyone signed in who is not banned
    /// from the event.
    async fn may_watch(&self, rec: &Recording, viewer: Uuid) -> Result<(), ApiError> {
        if rec.staff_ids.contains(&viewer) {
            return Ok(());
        }
        let stage = self
            .clients
            .stage
            .clone()
            .get_stage(events_pb::GetStageRequest { event_id: rec.event_id.to_string(), actor_id: rec.host_id.to_string() })
            .await
            .map_err(|s| ApiError::from_status(&s))?
            .into_inner();
        if stage.bans.iter().any(|b| b.user_id == viewer.to_string()) {
            return Err(ApiError::forbidden("banned", "you are banned from this event and its recordings"));
        }
        Ok(())
    }

    pub async fn get(&self, id: &str, actor: &str) -> Result<Recording, ApiError> {
        let id = parse_id(id, "invalid_recording_id", "the recording id")?;
        let actor = parse_id(actor, "invalid_user_id", "the user id")?;
        let rec = self.load(id).await?;
        self.may_watch(&rec, actor).await?;
        Ok(rec)
    }

    pub async fn list(&self, event_id: &str, actor: &str) -> Result<Vec<Recording>, ApiError> {
        let actor = parse_id(actor, "invalid_user_id", "the user id")?;
        let rows = if event_id.is_empty() {
            sqlx::query(sql(format!(
                "SELECT {COLUMNS} FROM recordings WHERE $1 = ANY(staff_ids) AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 200"
            )))
            .bind(actor)
            .fetch_all(&self.pool)
            .await
        } else {
            let event_id = parse_id(event_id, "invalid_event_id", "the event id")?;
            sqlx::query(sql(format!("SELECT {COLUMNS} FROM recordings WHERE event_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 200")))
                .bind(event_id)
                .fetch_all(&self.pool)
                .await
        }
        .map_err(ApiError::internal)?;
        let recs: Vec<Recording> = rows.iter().map(from_row).collect::<Result<_, _>>().map_err(ApiError::internal)?;
        if let Some(first) = recs.first()
            && !event_id.is_empty()
        {
            self.may_watch(first, actor).await?;
        }
        Ok(recs)
    }

    pub async fn delete(&self, id: &str, actor: &str) -> Result<(), ApiError> {
        let id = parse_id(id, "invalid_recording_id", "the recording id")?;
        let actor = parse_id(actor, "invalid_user_id", "the user id")?;
        let rec = self.load(id).await?;
        let e = self.event(rec.event_id).await?;
        if actor != e.host_id {
            return Err(ApiError::forbidden("host_only", "only the event's host can delete its recordings"));
        }
        if ACTIVE.contains(&rec.state.as_str()) {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "recording_running",
                "stop the recording before deleting it",
            ));
        }
        // Objects first: a failure leaves the row, so the delete can be retried.
        self.delete_objects(&rec).await?;
        let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
        // None: the retention sweep deleted it meanwhile, which is what was asked.
        mark_deleted(&mut tx, id, Reason::Host).await?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(())
    }

    /// Every object under the recording's prefix: what a delete removes first.
    async fn delete_objects(&self, rec: &Recording) -> Result<(), ApiError> {
        self.clients.bucket.delete_prefix(&rec.key_prefix).await.map(|_| ()).map_err(|e| {
            tracing::error!(error = %e, recording = %rec.id, "cannot delete a recording's objects");
            ApiError::new(ErrorKind::Unavailable, "storage_unavailable", "the object store did not answer; try again")
        })
    }

    /// Deletes up to `RECORDING_RETENTION_BATCH` recordings that ended (`ready` or `failed`)
    /// longer than their retention ago, oldest first, each as its host would: its objects first,
    /// then the row with its `deleted` message (reason `retention`). Each one is claimed in a
    /// transaction of its own with `FOR UPDATE SKIP LOCKED` and its lock held while its objects
    /// go, so replicas sweeping at once never take the same recording nor wait on each other.
    /// An object store that fails ends the sweep, leaving that recording as it was for the next
    /// one. A recording's retention is its host's ([`HostSettings`], the host when it started)
    /// capped by the operator's, or the operator's when the host chose none; without either it
    /// is kept. Answers how many were deleted.
    pub async fn sweep_retention(&self) -> Result<u32, ApiError> {
        let operator = self.lifecycle.retention.map(|r| r.as_secs_f64());
        let mut deleted = 0;
        while deleted < self.lifecycle.retention_batch {
            let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
            // The database's clock, the same for every replica.
            // LEAST and COALESCE skip NULLs: the smaller of the two, or whichever is set; with
            // neither the comparison is NULL and the recording stays.
            let row = sqlx::query(sql(format!(
                "SELECT {} FROM recordings r LEFT JOIN host_settings h ON h.host_id = r.host_id
                 WHERE r.deleted_at IS NULL AND r.state IN ('ready', 'failed')
                   AND r.ended_at < now() - make_interval(secs => LEAST(COALESCE((h.retention_days * 86400)::float8, $1), $1))
                 ORDER BY r.ended_at LIMIT 1 FOR UPDATE OF r SKIP LOCKED",
                qualified_columns("r")
            )))
            .bind(operator)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
            let Some(row) = row else { break };
            let rec = from_row(&row).map_err(ApiError::internal)?;
            // On failure the transaction rolls back as it is dropped: the row stays as it was.
            self.delete_objects(&rec).await?;
            mark_deleted(&mut tx, rec.id, Reason::Retention).await?;
            tx.commit().await.map_err(ApiError::internal)?;
            tracing::info!(recording = %rec.id, event = %rec.event_id, ended_at = ?rec.ended_at, "recording deleted: past its retention");
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Ends up to [`STOPPING_BATCH`] recordings still `stopping` longer than
    /// [`Lifecycle::stopping_timeout`] after their stop, oldest first: their egress worker died
    /// (a worker that answers without the job is handled by [`Self::follow_jobs`]) or never
    /// reported the end. Each becomes `failed` with `ended_at`, an `error` that says what
    /// happened, and its `failed` message (reason `stop_timed_out`); `stop_reason` keeps who
    /// stopped it. Claimed one at a time with `FOR UPDATE SKIP LOCKED`, as the retention sweep
    /// does, so replicas sweeping at once end (and announce) each recording once.
    ///
    /// `failed`, not `ready` with what it has: ending a recording — the playlist's
    /// `EXT-X-ENDLIST`, the MP4 remuxed from the segment files in the worker's spool, the
    /// thumbnail — is the worker's work, from files only it holds. What was stored before plays
    /// as HLS all the same (`has_playlist`). A worker that finishes after all is ignored: a
    /// failed row is never changed by a job's status.
    pub async fn sweep_stopping(&self) -> Result<u32, ApiError> {
        let timeout = self.lifecycle.stopping_timeout;
        let mut ended = 0;
        while ended < STOPPING_BATCH {
            let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
            // The database's clock, the same for every replica.
            let row = sqlx::query(sql(format!(
                "SELECT {COLUMNS} FROM recordings
                 WHERE deleted_at IS NULL AND state = 'stopping' AND stopping_since < now() - make_interval(secs => $1)
                 ORDER BY stopping_since LIMIT 1 FOR UPDATE SKIP LOCKED"
            )))
            .bind(timeout.as_secs_f64())
            .fetch_optional(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
            let Some(row) = row else { break };
            let rec = from_row(&row).map_err(ApiError::internal)?;
            let stored =
                if rec.segments > 0 { "what was stored before plays as HLS, without an MP4" } else { "nothing was stored" };
            let error = format!(
                "the egress worker did not finish the recording within {} s of its stop (it stopped answering, or never \
                 reported the end); {stored}",
                timeout.as_secs()
            );
            let row = sqlx::query(sql(format!(
                "UPDATE recordings SET state = 'failed', error = $2, ended_at = COALESCE(ended_at, now()), updated_at = now()
                 WHERE id = $1 RETURNING {COLUMNS}"
            )))
            .bind(rec.id)
            .bind(&error)
            .fetch_one(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
            let rec = from_row(&row).map_err(ApiError::internal)?;
            publish(&mut tx, "failed", Reason::StopTimedOut.as_str(), &rec).await?;
            tx.commit().await.map_err(ApiError::internal)?;
            tracing::warn!(recording = %rec.id, event = %rec.event_id, segments = rec.segments, "recording failed: its stop never finished");
            ended += 1;
        }
        Ok(ended)
    }

    /// The actor's own settings as a host; the defaults when never set.
    pub async fn host_settings(&self, actor: &str) -> Result<HostSettings, ApiError> {
        let actor = parse_id(actor, "invalid_user_id", "the user id")?;
        let days: Option<i32> = sqlx::query_scalar("SELECT retention_days FROM host_settings WHERE host_id = $1")
            .bind(actor)
            .fetch_optional(&self.pool)
            .await
            .map_err(ApiError::internal)?
            .flatten();
        Ok(self.host_settings_of(days.and_then(|d| u32::try_from(d).ok())))
    }

    fn host_settings_of(&self, retention_days: Option<u32>) -> HostSettings {
        // Days as the operator configured them (the tests' shorter retentions round up).
        let operator_retention_days = self.lifecycle.retention.map(|r| r.as_secs().div_ceil(86_400) as u32);
        HostSettings { retention_days, operator_retention_days }
    }

    /// Sets how long the recordings of events the actor hosts are kept (`None`: the operator's
    /// default). Anyone signed in may: the setting means something only for the events they host.
    /// It applies to the recordings they hosted before too, at the next sweep.
    pub async fn set_host_settings(&self, actor: &str, retention_days: Option<u32>) -> Result<HostSettings, ApiError> {
        let actor = parse_id(actor, "invalid_user_id", "the user id")?;
        if let Some(days) = retention_days
            && !(1..=MAX_RETENTION_DAYS).contains(&days)
        {
            return Err(ApiError::invalid(
                "invalid_retention_days",
                format!("keep recordings 1 to {MAX_RETENTION_DAYS} days, or leave it out for the platform's default"),
            ));
        }
        sqlx::query(
            "INSERT INTO host_settings (host_id, retention_days) VALUES ($1, $2)
             ON CONFLICT (host_id) DO UPDATE SET retention_days = $2, updated_at = now()",
        )
        .bind(actor)
        .bind(retention_days.map(|d| d as i32))
        .execute(&self.pool)
        .await
        .map_err(ApiError::internal)?;
        Ok(self.host_settings_of(retention_days))
    }

    /// The event's settings (staff only); the defaults when never set.
    pub async fn settings(&self, event_id: &str, actor: &str) -> Result<Settings, ApiError> {
        let event_id = parse_id(event_id, "invalid_event_id", "the event id")?;
        let actor = parse_id(actor, "invalid_user_id", "the user id")?;
        let e = self.event(event_id).await?;
        Self::staff(&e, actor)?;
        self.stored_settings(event_id).await
    }

    async fn stored_settings(&self, event_id: Uuid) -> Result<Settings, ApiError> {
        let row = sqlx::query("SELECT auto_record, layout, quality FROM recording_settings WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(ApiError::internal)?;
        Ok(match row {
            Some(r) => Settings {
                event_id,
                auto_record: r.try_get("auto_record").map_err(ApiError::internal)?,
                layout: r.try_get("layout").map_err(ApiError::internal)?,
                quality: r.try_get("quality").map_err(ApiError::internal)?,
            },
            None => Settings { event_id, auto_record: false, layout: "grid".into(), quality: "720p".into() },
        })
    }

    pub async fn set_settings(
        &self,
        event_id: &str,
        actor: &str,
        auto_record: bool,
        layout: &str,
        quality: &str,
    ) -> Result<Settings, ApiError> {
        let event_id = parse_id(event_id, "invalid_event_id", "the event id")?;
        let actor = parse_id(actor, "invalid_user_id", "the user id")?;
        if !layout.is_empty() && !LAYOUTS.contains(&layout) {
            return Err(ApiError::invalid("unknown_layout", format!("no layout {layout:?}: use speaker, grid or screen")));
        }
        if !quality.is_empty() && !QUALITIES.contains(&quality) {
            return Err(ApiError::invalid("unknown_quality", format!("no quality {quality:?}: use 720p or 1080p")));
        }
        let e = self.event(event_id).await?;
        Self::staff(&e, actor)?;
        let current = self.stored_settings(event_id).await?;
        let layout = if layout.is_empty() { current.layout } else { layout.to_owned() };
        let quality = if quality.is_empty() { current.quality } else { quality.to_owned() };
        sqlx::query(
            "INSERT INTO recording_settings (event_id, auto_record, layout, quality, updated_by) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (event_id) DO UPDATE SET auto_record = $2, layout = $3, quality = $4, updated_by = $5, updated_at = now()",
        )
        .bind(event_id)
        .bind(auto_record)
        .bind(&layout)
        .bind(&quality)
        .bind(actor)
        .execute(&self.pool)
        .await
        .map_err(ApiError::internal)?;
        Ok(Settings { event_id, auto_record, layout, quality })
    }

    /// The event went live: record it if its settings say so (as its host). Replicas race on
    /// the same message; the one-active-recording index lets exactly one win.
    pub async fn on_live(&self, event_id: Uuid) {
        let Ok(settings) = self.stored_settings(event_id).await else { return };
        if !settings.auto_record {
            return;
        }
        let Ok(e) = self.event(event_id).await else { return };
        // A repeated go-live message (a relay retry) must not start a second recording after
        // the first was stopped.
        let since_live: Option<i64> =
            sqlx::query_scalar("SELECT count(*) FROM recordings WHERE event_id = $1 AND created_at >= $2")
                .bind(event_id)
                .bind(e.went_live_at.unwrap_or_else(Utc::now))
                .fetch_one(&self.pool)
                .await
                .ok();
        if since_live.unwrap_or(0) > 0 {
            return;
        }
        match self.start(&event_id.to_string(), &e.host_id.to_string(), &settings.layout, &settings.quality).await {
            Ok(r) => tracing::info!(recording = %r.id, event = %event_id, "recording started automatically at go-live"),
            Err(err) if err.code == "recording_already_running" => {}
            Err(err) => tracing::warn!(event = %event_id, error = %err.message, "the automatic recording could not start"),
        }
    }

    /// Applies an egress job status to its recording.
    pub async fn on_job(&self, job: egress_pb::Job) -> Result<(), ApiError> {
        let Ok(id) = Uuid::parse_str(&job.job_id) else { return Ok(()) };
        let Ok(rec) = self.load(id).await else { return Ok(()) };
        if rec.state == "ready" || rec.state == "failed" {
            return Ok(());
        }
        let state = match job.state.as_str() {
            "running" if rec.state == "stopping" => "stopping",
            "running" => "recording",
            "stopping" => "stopping",
            "finished" => "ready",
            "failed" => "failed",
            _ => return Ok(()),
        };
        let gaps: Vec<Gap> =
            job.gaps.iter().map(|g| Gap { at_ms: g.at_ms, duration_ms: g.duration_ms, reason: g.reason.clone() }).collect();
        let changes: Vec<LayoutChange> = layout_changes_of(&job);
        let first_frame = (job.first_frame_at_ms > 0).then(|| DateTime::from_timestamp_millis(job.first_frame_at_ms)).flatten();
        let kind = if state != rec.state {
            match state {
                "ready" => "ready",
                "failed" => "failed",
                "stopping" => "stopping",
                _ => "started",
            }
        } else if gaps.len() != rec.gaps.len() {
            "gap"
        } else if job.segments as i32 != rec.segments && Utc::now() - rec.updated_at >= chrono::Duration::seconds(10) {
            "segments"
        } else {
            ""
        };
        let ended = matches!(state, "ready" | "failed");
        let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
        let row = sqlx::query(sql(format!(
            "UPDATE recordings SET state = $2, duration_ms = $3, size_bytes = $4, segments = $5, mp4_bytes = $6, gaps = $7,
                layout_changes = $8, first_frame_at = COALESCE(first_frame_at, $9), error = $10,
                ended_at = CASE WHEN $11 THEN COALESCE(ended_at, now()) ELSE ended_at END,
                stopping_since = CASE WHEN $2 = 'stopping' THEN COALESCE(stopping_since, now()) ELSE stopping_since END,
                updated_at = CASE WHEN $12 THEN now() ELSE updated_at END
             WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
        )))
        .bind(id)
        .bind(state)
        .bind(job.duration_ms as i64)
        .bind(job.bytes as i64)
        .bind(job.segments as i32)
        .bind(job.mp4_bytes as i64)
        .bind(serde_json::to_value(&gaps).map_err(ApiError::internal)?)
        .bind(serde_json::to_value(&changes).map_err(ApiError::internal)?)
        .bind(first_frame)
        .bind(&job.error)
        .bind(ended)
        .bind(!kind.is_empty())
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::internal)?;
        if let Some(row) = row
            && !kind.is_empty()
        {
            let rec = from_row(&row).map_err(ApiError::internal)?;
            // A stop this service asked for may have recorded why already.
            let reason = if kind == "stopping" { rec.stop_reason.clone() } else { String::new() };
            publish(&mut tx, kind, &reason, &rec).await?;
        }
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(())
    }

    /// Brings every active recording in line with its event: the people on air follow the
    /// stage, and a recording of an event that ended stops. Run on every stage or lifecycle
    /// message and every few seconds (so a missed message only delays the change).
    /// Catches up with the egress job of every recording or stopping row: a status message
    /// missed (this service was down) is applied from `GetJob`, and a job the worker no longer
    /// has is a failed recording, not one that records for ever.
    pub async fn follow_jobs(&self) {
        let rows = sqlx::query(sql(format!(
            "SELECT {COLUMNS} FROM recordings WHERE state IN ('recording', 'stopping') AND deleted_at IS NULL"
        )))
        .fetch_all(&self.pool)
        .await;
        let Ok(rows) = rows else { return };
        for row in rows {
            let Ok(rec) = from_row(&row) else { continue };
            match self.clients.egress.clone().get_job(egress_pb::GetJobRequest { job_id: rec.id.to_string() }).await {
                Ok(job) => {
                    if let Err(e) = self.on_job(job.into_inner()).await {
                        tracing::warn!(recording = %rec.id, error = %e.message, "cannot apply a job's status");
                    }
                }
                Err(s) if s.code() == tonic::Code::NotFound => {
                    tracing::error!(recording = %rec.id, "the egress worker has no job for this recording: marking it failed");
                    let _ = self
                        .transition(rec.id, "failed", "failed", |q| {
                            q.push_str(", error = 'the egress worker lost the recording', ended_at = COALESCE(ended_at, now())")
                        })
                        .await;
                }
                Err(_) => {}
            }
        }
    }

    pub async fn reconcile(&self, only_event: Option<Uuid>) {
        let rows = sqlx::query(sql(format!(
            "SELECT {COLUMNS} FROM recordings WHERE state = 'recording' AND deleted_at IS NULL AND ($1::uuid IS NULL OR event_id = $1)"
        )))
        .bind(only_event)
        .fetch_all(&self.pool)
        .await;
        let Ok(rows) = rows else { return };
        for row in rows {
            let Ok(rec) = from_row(&row) else { continue };
            let Ok(e) = self.event(rec.event_id).await else { continue };
            if e.status != EventStatus::Live as i32 {
                tracing::info!(recording = %rec.id, "the event is over: stopping its recording");
                if let Err(err) = self.stop_job(rec, Reason::EventEnded).await {
                    tracing::warn!(error = %err.message, "cannot stop a recording of an ended event");
                }
                continue;
            }
            let Ok(on_air) = self.on_air(rec.event_id, e.host_id).await else { continue };
            let current = self.clients.egress.clone().get_job(egress_pb::GetJobRequest { job_id: rec.id.to_string() }).await;
            let differs = match &current {
                Ok(job) => {
                    let mut have: Vec<&str> = job.get_ref().inputs.iter().map(|i| i.user_id.as_str()).collect();
                    let mut want: Vec<&str> = on_air.iter().map(|p| p.user_id.as_str()).collect();
                    have.sort_unstable();
                    want.sort_unstable();
                    have != want
                }
                Err(_) => false,
            };
            // Nobody on air for the grace period: stopped as a host would stop it. Not while the
            // people on air are being changed (the job's idle clock is about the old ones).
            if !differs
                && let (Some(grace), Ok(job)) = (self.lifecycle.idle_grace, &current)
                && let Some(idle_for) = idle_for(job.get_ref(), Utc::now())
                && idle_for >= grace
            {
                tracing::info!(recording = %rec.id, idle_for = ?idle_for, "nobody has been on air for the grace period: stopping the recording");
                if let Err(err) = self.stop_job(rec, Reason::Idle).await {
                    tracing::warn!(error = %err.message, "cannot stop an idle recording");
                }
                continue;
            }
            if differs {
                let update =
                    egress_pb::UpdateJobRequest { job_id: rec.id.to_string(), layout: String::new(), set_on_air: true, on_air };
                if let Err(s) = self.clients.egress.clone().update_job(update).await {
                    tracing::warn!(recording = %rec.id, error = %s, "cannot update who is on air in the recording");
                }
            }
        }
    }
}

/// How long the job has reported nobody on air publishing, if it is running and says so.
fn idle_for(job: &egress_pb::Job, now: DateTime<Utc>) -> Option<Duration> {
    if job.state != "running" || job.idle_since_ms <= 0 {
        return None;
    }
    u64::try_from(now.timestamp_millis() - job.idle_since_ms).ok().map(Duration::from_millis)
}

/// Marks a recording deleted (its objects are gone already) with its `deleted` message, unless
/// it is deleted already: then `None`, and nothing is published twice.
async fn mark_deleted(tx: &mut sqlx::PgConnection, id: Uuid, reason: Reason) -> Result<Option<Recording>, ApiError> {
    let row = sqlx::query(sql(format!(
        "UPDATE recordings SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(ApiError::internal)?;
    let Some(row) = row else { return Ok(None) };
    let rec = from_row(&row).map_err(ApiError::internal)?;
    publish(tx, "deleted", reason.as_str(), &rec).await?;
    Ok(Some(rec))
}

async fn publish(tx: &mut sqlx::PgConnection, kind: &str, reason: &str, rec: &Recording) -> Result<(), ApiError> {
    let msg = pb::RecordingChanged { kind: kind.to_owned(), recording: Some(rec.to_proto()), reason: reason.to_owned() };
    stagecast_bus::outbox::enqueue(tx, &subject(rec.event_id), &msg).await.map_err(ApiError::internal)?;
    Ok(())
}

/// How often active recordings are reconciled with their events without a message.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(5);
