//! The use cases: saved destinations, attaching them to events, starting and stopping pushes on
//! the event's one composite job, following the pushes' health, and a reconcile that holds every
//! started destination to its event (it ends with the event; it moves to a job of its own when
//! the recording it rode on stops). Every state change goes out through the outbox.
use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row, postgres::PgRow};
use stagecast_kit::{
    error::{ApiError, ErrorKind},
    stage::EventInfo,
};
use stagecast_proto::{broadcast::v1 as pb, egress::v1 as egress_pb, events::v1::EventStatus};
use uuid::Uuid;

use crate::{
    clients::Clients,
    crypto::{KeyRing, Sealed},
};

/// How often started destinations are reconciled with their events and jobs without a message.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(5);
pub const MAX_KEY_LEN: usize = 512;
pub const MAX_NAME_LEN: usize = 80;

/// Where a platform takes streams, when the user does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Youtube,
    Twitch,
    Facebook,
    Custom,
}

impl Platform {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "youtube" => Self::Youtube,
            "twitch" => Self::Twitch,
            "facebook" => Self::Facebook,
            "custom" => Self::Custom,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Youtube => "youtube",
            Self::Twitch => "twitch",
            Self::Facebook => "facebook",
            Self::Custom => "custom",
        }
    }

    /// YouTube and Facebook over RTMPS by default; Twitch's global ingest (another may be chosen).
    pub fn default_server(self) -> Option<&'static str> {
        match self {
            Self::Youtube => Some("rtmps://a.rtmps.youtube.com:443/live2"),
            Self::Twitch => Some("rtmp://live.twitch.tv/app"),
            Self::Facebook => Some("rtmps://live-api-s.facebook.com:443/rtmp"),
            Self::Custom => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Youtube => "YouTube",
            Self::Twitch => "Twitch",
            Self::Facebook => "Facebook",
            Self::Custom => "Custom RTMP",
        }
    }
}

/// A server URL without its key: `rtmp(s)://host[:port]/app[/more]`.
pub fn check_server_url(url: &str) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::invalid("invalid_server_url", format!("the server URL {why}"));
    let url = url.trim().trim_end_matches('/');
    if url.len() > 512 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("is too long or holds spaces"));
    }
    let rest = url
        .strip_prefix("rtmp://")
        .or_else(|| url.strip_prefix("rtmps://"))
        .ok_or_else(|| bad("must start with rtmp:// or rtmps://"))?;
    let (host, app) = rest.split_once('/').ok_or_else(|| bad("needs an application path, e.g. rtmp://host/live"))?;
    let hostname = host.rsplit_once(':').map(|(h, port)| (h, port.parse::<u16>().is_ok())).unwrap_or((host, true));
    if hostname.0.is_empty() || !hostname.1 || host.contains('@') {
        return Err(bad("needs a host (and a valid port, if any)"));
    }
    if app.is_empty() || app.contains("//") {
        return Err(bad("needs an application path, e.g. rtmp://host/live"));
    }
    Ok(url.to_owned())
}

pub fn check_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() {
        return Err(ApiError::invalid("invalid_stream_key", "the stream key is empty: copy it from the platform"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(ApiError::invalid("invalid_stream_key", format!("the stream key is longer than {MAX_KEY_LEN} characters")));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/') {
        return Err(ApiError::invalid("invalid_stream_key", "the stream key holds spaces or slashes: copy it again"));
    }
    Ok(())
}

/// The last four characters, the only part of a key ever shown.
pub fn hint(key: &str) -> String {
    let tail: String = key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("…{tail}")
}

#[derive(Debug, Clone)]
pub struct Destination {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub platform: String,
    pub name: String,
    pub server_url: String,
    pub key_hint: String,
    pub created_at: DateTime<Utc>,
    sealed: Sealed,
}

#[derive(Debug, Clone)]
pub struct EventDestination {
    pub event_id: Uuid,
    pub destination: Destination,
    pub auto_start: bool,
    pub wanted: bool,
    pub state: String,
    pub job_id: Option<String>,
    pub bitrate_bps: i64,
    pub bytes_sent: i64,
    pub live_since: Option<DateTime<Utc>>,
    pub retries: i32,
    pub error: String,
    pub error_code: String,
    pub updated_at: DateTime<Utc>,
}

fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

impl Destination {
    pub fn to_proto(&self) -> pb::Destination {
        pb::Destination {
            id: self.id.to_string(),
            owner_id: self.owner_id.to_string(),
            platform: self.platform.clone(),
            name: self.name.clone(),
            server_url: self.server_url.clone(),
            key_hint: self.key_hint.clone(),
            created_at: Some(ts(self.created_at)),
        }
    }
}

impl EventDestination {
    pub fn to_proto(&self) -> pb::EventDestination {
        pb::EventDestination {
            event_id: self.event_id.to_string(),
            destination: Some(self.destination.to_proto()),
            auto_start: self.auto_start,
            state: self.state.clone(),
            bitrate_bps: self.bitrate_bps.max(0) as u64,
            bytes_sent: self.bytes_sent.max(0) as u64,
            live_since: self.live_since.map(ts),
            retries: self.retries.max(0) as u32,
            error: self.error.clone(),
            error_code: self.error_code.clone(),
            updated_at: Some(ts(self.updated_at)),
        }
    }

    fn pushing(&self) -> bool {
        self.wanted && matches!(self.state.as_str(), "connecting" | "live" | "retrying")
    }
}

macro_rules! dest_cols {
    () => {
        "d.id, d.owner_id, d.platform, d.name, d.server_url, d.key_hint, d.created_at, d.key_ciphertext, d.key_nonce, d.key_id"
    };
}
macro_rules! ed_cols {
    () => {
        concat!(
            dest_cols!(),
            ", e.event_id, e.auto_start, e.wanted, e.state, e.job_id, e.bitrate_bps, e.bytes_sent, e.live_since, e.retries, ",
            "e.error, e.error_code, e.updated_at"
        )
    };
}

fn dest_from(r: &PgRow) -> Result<Destination, sqlx::Error> {
    Ok(Destination {
        id: r.try_get("id")?,
        owner_id: r.try_get("owner_id")?,
        platform: r.try_get("platform")?,
        name: r.try_get("name")?,
        server_url: r.try_get("server_url")?,
        key_hint: r.try_get("key_hint")?,
        created_at: r.try_get("created_at")?,
        sealed: Sealed { key_id: r.try_get("key_id")?, nonce: r.try_get("key_nonce")?, ciphertext: r.try_get("key_ciphertext")? },
    })
}

fn ed_from(r: &PgRow) -> Result<EventDestination, sqlx::Error> {
    Ok(EventDestination {
        event_id: r.try_get("event_id")?,
        destination: dest_from(r)?,
        auto_start: r.try_get("auto_start")?,
        wanted: r.try_get("wanted")?,
        state: r.try_get("state")?,
        job_id: r.try_get("job_id")?,
        bitrate_bps: r.try_get("bitrate_bps")?,
        bytes_sent: r.try_get("bytes_sent")?,
        live_since: r.try_get("live_since")?,
        retries: r.try_get("retries")?,
        error: r.try_get("error")?,
        error_code: r.try_get("error_code")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub fn subject(event_id: Uuid) -> String {
    format!("stagecast.broadcast.v1.event.{event_id}.destination")
}

fn parse_id(s: &str, code: &'static str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::invalid(code, format!("{what} is not a valid id")))
}

fn no_destination() -> ApiError {
    ApiError::not_found("destination_not_found", "no such destination among yours")
}

fn not_attached() -> ApiError {
    ApiError::not_found("not_attached", "this destination is not attached to the event")
}

#[derive(Clone)]
pub struct Broadcasts {
    pool: PgPool,
    clients: Clients,
    keys: Arc<KeyRing>,
}

impl Broadcasts {
    pub fn new(pool: PgPool, clients: Clients, keys: KeyRing) -> Self {
        Self { pool, clients, keys: Arc::new(keys) }
    }

    async fn event(&self, event_id: Uuid) -> Result<EventInfo, ApiError> {
        EventInfo::fetch(&self.clients.events, event_id).await
    }

    fn staff(e: &EventInfo, actor: Uuid) -> Result<(), ApiError> {
        e.staff(actor, "restream this event")
    }

    // ---- saved destinations ----

    pub async fn create(
        &self,
        actor: &str,
        platform: &str,
        name: &str,
        server_url: &str,
        key: &str,
    ) -> Result<Destination, ApiError> {
        let actor = parse_id(actor, "invalid_actor", "the caller")?;
        let platform = Platform::parse(platform).ok_or_else(|| {
            ApiError::invalid("invalid_platform", format!("no platform {platform:?}: use youtube, twitch, facebook or custom"))
        })?;
        let server = match (server_url.trim().is_empty(), platform.default_server()) {
            (true, Some(default)) => default.to_owned(),
            (true, None) => return Err(ApiError::invalid("invalid_server_url", "a custom destination needs its server URL")),
            (false, _) => check_server_url(server_url)?,
        };
        check_key(key)?;
        // Shown in lists, logs and the studio on one line; checked before trimming, as the
        // document's pattern (the gateway's `DestinationName`) states it.
        if stagecast_kit::text::has_control(name) {
            return Err(ApiError::invalid("invalid_name", "the name must not contain control characters (line breaks, tabs)"));
        }
        let name = name.trim();
        if name.chars().count() > MAX_NAME_LEN {
            return Err(ApiError::invalid("invalid_name", format!("the name is longer than {MAX_NAME_LEN} characters")));
        }
        let name = if name.is_empty() { platform.label().to_owned() } else { name.to_owned() };
        let id = Uuid::now_v7();
        let sealed = self.keys.seal(key, id.as_bytes()).map_err(ApiError::internal)?;
        let row = sqlx::query(concat!(
            "INSERT INTO destinations AS d (id, owner_id, platform, name, server_url, key_ciphertext, key_nonce, key_id, key_hint) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
            dest_cols!()
        ))
        .bind(id)
        .bind(actor)
        .bind(platform.as_str())
        .bind(&name)
        .bind(&server)
        .bind(&sealed.ciphertext)
        .bind(&sealed.nonce)
        .bind(&sealed.key_id)
        .bind(hint(key))
        .fetch_one(&self.pool)
        .await
        .map_err(ApiError::internal)?;
        tracing::info!(destination = %id, owner = %actor, platform = platform.as_str(), "destination saved");
        dest_from(&row).map_err(ApiError::internal)
    }

    pub async fn list(&self, actor: &str) -> Result<Vec<Destination>, ApiError> {
        let actor = parse_id(actor, "invalid_actor", "the caller")?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            dest_cols!(),
            " FROM destinations d WHERE d.owner_id = $1 AND d.deleted_at IS NULL ORDER BY d.created_at"
        ))
        .bind(actor)
        .fetch_all(&self.pool)
        .await
        .map_err(ApiError::internal)?;
        rows.iter().map(dest_from).collect::<Result<_, _>>().map_err(ApiError::internal)
    }

    async fn owned(&self, actor: Uuid, id: Uuid) -> Result<Destination, ApiError> {
        let row = sqlx::query(concat!("SELECT ", dest_cols!(), " FROM destinations d WHERE d.id = $1 AND d.deleted_at IS NULL"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(no_destination)?;
        let d = dest_from(&row).map_err(ApiError::internal)?;
        // Someone else's destination is not there, as far as the caller can tell.
        if d.owner_id != actor {
            return Err(no_destination());
        }
        Ok(d)
    }

    pub async fn delete(&self, actor: &str, id: &str) -> Result<(), ApiError> {
        let actor = parse_id(actor, "invalid_actor", "the caller")?;
        let id = parse_id(id, "invalid_destination_id", "the destination")?;
        self.owned(actor, id).await?;
        let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
        let pushing: i64 = sqlx::query_scalar("SELECT count(*) FROM event_destinations WHERE destination_id = $1 AND wanted")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
        if pushing > 0 {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "destination_in_use",
                "this destination is pushing to a live event: stop it there first",
            ));
        }
        // Each event it was attached to is told it is gone.
        let rows = sqlx::query(concat!(
            "SELECT ",
            ed_cols!(),
            " FROM event_destinations e JOIN destinations d ON d.id = e.destination_id WHERE e.destination_id = $1"
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(ApiError::internal)?;
        for row in &rows {
            publish(&mut tx, "detached", &ed_from(row).map_err(ApiError::internal)?).await?;
        }
        sqlx::query("DELETE FROM event_destinations WHERE destination_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
        // The sealed key goes with it; the row stays only as a tombstone.
        sqlx::query("UPDATE destinations SET deleted_at = now(), key_ciphertext = '', key_nonce = '' WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(())
    }

    // ---- per event ----

    async fn load(&self, event_id: Uuid, destination_id: Uuid) -> Result<Option<EventDestination>, ApiError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            ed_cols!(),
            " FROM event_destinations e JOIN destinations d ON d.id = e.destination_id ",
            "WHERE e.event_id = $1 AND e.destination_id = $2"
        ))
        .bind(event_id)
        .bind(destination_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(ApiError::internal)?;
        row.as_ref().map(ed_from).transpose().map_err(ApiError::internal)
    }

    async fn of_event(&self, event_id: Uuid) -> Result<Vec<EventDestination>, ApiError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            ed_cols!(),
            " FROM event_destinations e JOIN destinations d ON d.id = e.destination_id ",
            "WHERE e.event_id = $1 ORDER BY e.created_at"
        ))
        .bind(event_id)
        .fetch_all(&self.pool)
        .await
        .map_err(ApiError::internal)?;
        rows.iter().map(ed_from).collect::<Result<_, _>>().map_err(ApiError::internal)
    }

    fn ids(actor: &str, event_id: &str, destination_id: &str) -> Result<(Uuid, Uuid, Uuid), ApiError> {
        Ok((
            parse_id(actor, "invalid_actor", "the caller")?,
            parse_id(event_id, "invalid_event_id", "the event")?,
            parse_id(destination_id, "invalid_destination_id", "the destination")?,
        ))
    }

    pub async fn list_event(&self, actor: &str, event_id: &str) -> Result<Vec<EventDestination>, ApiError> {
        let actor = parse_id(actor, "invalid_actor", "the caller")?;
        let event_id = parse_id(event_id, "invalid_event_id", "the event")?;
        Self::staff(&self.event(event_id).await?, actor)?;
        self.of_event(event_id).await
    }

    pub async fn attach(
        &self,
        actor: &str,
        event_id: &str,
        destination_id: &str,
        auto_start: bool,
    ) -> Result<EventDestination, ApiError> {
        let (actor, event_id, destination_id) = Self::ids(actor, event_id, destination_id)?;
        let e = self.event(event_id).await?;
        Self::staff(&e, actor)?;
        // A co-host may attach their own destinations or the host's.
        if self.owned(actor, destination_id).await.is_err() {
            self.owned(e.host_id, destination_id).await?;
        }
        let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
        let inserted = sqlx::query(
            "INSERT INTO event_destinations (event_id, destination_id, auto_start, attached_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(event_id)
        .bind(destination_id)
        .bind(auto_start)
        .bind(actor)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::internal)?;
        if inserted.rows_affected() == 0 {
            return Err(ApiError::new(
                ErrorKind::Conflict,
                "already_attached",
                "this destination is already attached to the event",
            ));
        }
        tx.commit().await.map_err(ApiError::internal)?;
        let ed = self.load(event_id, destination_id).await?.ok_or_else(not_attached)?;
        self.announce("attached", &ed).await?;
        Ok(ed)
    }

    pub async fn set_auto_start(
        &self,
        actor: &str,
        event_id: &str,
        destination_id: &str,
        auto_start: bool,
    ) -> Result<EventDestination, ApiError> {
        let (actor, event_id, destination_id) = Self::ids(actor, event_id, destination_id)?;
        Self::staff(&self.event(event_id).await?, actor)?;
        let done = sqlx::query(
            "UPDATE event_destinations SET auto_start = $3, updated_at = now() WHERE event_id = $1 AND destination_id = $2",
        )
        .bind(event_id)
        .bind(destination_id)
        .bind(auto_start)
        .execute(&self.pool)
        .await
        .map_err(ApiError::internal)?;
        if done.rows_affected() == 0 {
            return Err(not_attached());
        }
        self.load(event_id, destination_id).await?.ok_or_else(not_attached)
    }

    pub async fn detach(&self, actor: &str, event_id: &str, destination_id: &str) -> Result<(), ApiError> {
        let (actor, event_id, destination_id) = Self::ids(actor, event_id, destination_id)?;
        Self::staff(&self.event(event_id).await?, actor)?;
        let ed = self.load(event_id, destination_id).await?.ok_or_else(not_attached)?;
        if ed.wanted {
            self.halt(&ed, "stopped", "").await?;
        }
        let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
        sqlx::query("DELETE FROM event_destinations WHERE event_id = $1 AND destination_id = $2")
            .bind(event_id)
            .bind(destination_id)
            .execute(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
        let mut gone = ed.clone();
        gone.wanted = false;
        gone.state = "stopped".into();
        publish(&mut tx, "detached", &gone).await?;
        tx.commit().await.map_err(ApiError::internal)?;
        self.release_program(event_id).await;
        Ok(())
    }

    pub async fn start(&self, actor: &str, event_id: &str, destination_id: &str) -> Result<EventDestination, ApiError> {
        let (actor, event_id, destination_id) = Self::ids(actor, event_id, destination_id)?;
        let e = self.event(event_id).await?;
        Self::staff(&e, actor)?;
        let ed = self.load(event_id, destination_id).await?.ok_or_else(not_attached)?;
        if ed.pushing() {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "already_started", "this destination is already pushing"));
        }
        if e.status != EventStatus::Live as i32 {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "event_not_live",
                "the event is not live: go live first, or tick \"start when I go live\"",
            ));
        }
        self.push(&ed, &e).await
    }

    /// Adds the destination to the event's composite job (starting one that records nothing
    /// if none runs) and marks it wanted.
    async fn push(&self, ed: &EventDestination, e: &EventInfo) -> Result<EventDestination, ApiError> {
        let key = self.keys.open(&ed.destination.sealed, ed.destination.id.as_bytes()).map_err(ApiError::internal)?;
        let job_id = self.acquire_job(ed.event_id, e.host_id).await?;
        let url = format!("{}/{key}", ed.destination.server_url);
        let job = self
            .clients
            .egress
            .clone()
            .add_output(egress_pb::AddOutputRequest { job_id: job_id.clone(), output_id: ed.destination.id.to_string(), url })
            .await
            .map_err(|s| ApiError::from_status(&s))?
            .into_inner();
        let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
        let row = sqlx::query(concat!(
            "WITH e AS (UPDATE event_destinations SET wanted = true, state = 'connecting', job_id = $3, bitrate_bps = 0, ",
            "live_since = NULL, retries = 0, error = '', error_code = '', updated_at = now() ",
            "WHERE event_id = $1 AND destination_id = $2 RETURNING *) SELECT ",
            ed_cols!(),
            " FROM e JOIN destinations d ON d.id = e.destination_id"
        ))
        .bind(ed.event_id)
        .bind(ed.destination.id)
        .bind(&job.job_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(not_attached)?;
        let ed = ed_from(&row).map_err(ApiError::internal)?;
        publish(&mut tx, "started", &ed).await?;
        tx.commit().await.map_err(ApiError::internal)?;
        tracing::info!(event = %ed.event_id, destination = %ed.destination.id, job = %job.job_id, "destination started");
        Ok(ed)
    }

    /// The event's running composite job, or a new one that only restreams.
    async fn acquire_job(&self, event_id: Uuid, host_id: Uuid) -> Result<String, ApiError> {
        let found = self.clients.egress.clone().find_job(egress_pb::FindJobRequest { room: event_id.to_string() }).await;
        match found {
            Ok(job) if job.get_ref().state == "running" => return Ok(job.into_inner().job_id),
            Ok(_) => {}
            Err(s) if s.code() == tonic::Code::NotFound => {}
            Err(s) => return Err(ApiError::from_status(&s)),
        }
        let on_air =
            stagecast_kit::stage::on_air(&self.clients.stage, &self.clients.auth, &event_id.to_string(), &host_id.to_string())
                .await?;
        let job_id = Uuid::now_v7().to_string();
        self.clients
            .egress
            .clone()
            .start_job(egress_pb::StartJobRequest {
                job_id: job_id.clone(),
                room: event_id.to_string(),
                layout: "grid".into(),
                quality: "720p".into(),
                key_prefix: format!("broadcasts/{job_id}/"),
                on_air,
                broadcast_only: true,
            })
            .await
            .map_err(|s| ApiError::from_status(&s))?;
        sqlx::query("INSERT INTO programs (event_id, job_id) VALUES ($1, $2) ON CONFLICT (event_id) DO UPDATE SET job_id = $2")
            .bind(event_id)
            .bind(&job_id)
            .execute(&self.pool)
            .await
            .map_err(ApiError::internal)?;
        tracing::info!(event = %event_id, job = %job_id, "started a restream-only composite");
        Ok(job_id)
    }

    /// Stops the restream-only job of an event once nothing pushes from it.
    async fn release_program(&self, event_id: Uuid) {
        let wanted: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM event_destinations e JOIN programs p ON p.event_id = e.event_id \
             WHERE e.event_id = $1 AND e.wanted AND e.job_id = p.job_id",
        )
        .bind(event_id)
        .fetch_one(&self.pool)
        .await
        .unwrap_or(1);
        if wanted > 0 {
            return;
        }
        let job: Option<String> = sqlx::query_scalar("DELETE FROM programs WHERE event_id = $1 RETURNING job_id")
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await
            .ok()
            .flatten();
        if let Some(job_id) = job {
            let _ = self.clients.egress.clone().stop_job(egress_pb::StopJobRequest { job_id }).await;
        }
    }

    pub async fn stop(&self, actor: &str, event_id: &str, destination_id: &str) -> Result<EventDestination, ApiError> {
        let (actor, event_id, destination_id) = Self::ids(actor, event_id, destination_id)?;
        Self::staff(&self.event(event_id).await?, actor)?;
        let ed = self.load(event_id, destination_id).await?.ok_or_else(not_attached)?;
        if !ed.wanted {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "not_started", "this destination is not pushing"));
        }
        let ed = self.halt(&ed, "stopped", "").await?;
        self.release_program(event_id).await;
        Ok(ed)
    }

    /// Takes the destination off its job and records why.
    async fn halt(&self, ed: &EventDestination, state: &str, error: &str) -> Result<EventDestination, ApiError> {
        if let Some(job_id) = &ed.job_id {
            let removed = self
                .clients
                .egress
                .clone()
                .remove_output(egress_pb::RemoveOutputRequest {
                    job_id: job_id.clone(),
                    output_id: ed.destination.id.to_string(),
                })
                .await;
            // Gone already (the job ended, or the push failed) is what was asked.
            if let Err(s) = removed
                && s.code() != tonic::Code::NotFound
                && s.code() != tonic::Code::FailedPrecondition
            {
                return Err(ApiError::from_status(&s));
            }
        }
        let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
        let row = sqlx::query(concat!(
            "WITH e AS (UPDATE event_destinations SET wanted = false, state = $3, bitrate_bps = 0, live_since = NULL, ",
            "error = $4, error_code = CASE WHEN $4 = '' THEN '' ELSE error_code END, updated_at = now() ",
            "WHERE event_id = $1 AND destination_id = $2 RETURNING *) SELECT ",
            ed_cols!(),
            " FROM e JOIN destinations d ON d.id = e.destination_id"
        ))
        .bind(ed.event_id)
        .bind(ed.destination.id)
        .bind(state)
        .bind(error)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(not_attached)?;
        let ed = ed_from(&row).map_err(ApiError::internal)?;
        publish(&mut tx, "stopped", &ed).await?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(ed)
    }

    async fn announce(&self, kind: &str, ed: &EventDestination) -> Result<(), ApiError> {
        let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
        publish(&mut tx, kind, ed).await?;
        tx.commit().await.map_err(ApiError::internal)
    }

    // ---- following the jobs and the events ----

    /// A job's status: each output is one of our destinations (its id is the destination id).
    pub async fn on_job(&self, job: egress_pb::Job) -> Result<(), ApiError> {
        for o in &job.outputs {
            let Ok(destination_id) = Uuid::parse_str(&o.output_id) else { continue };
            let mut tx = self.pool.begin().await.map_err(ApiError::internal)?;
            let before: Option<(Uuid, String)> = sqlx::query_as(
                "SELECT event_id, state FROM event_destinations WHERE destination_id = $1 AND job_id = $2 AND wanted FOR UPDATE",
            )
            .bind(destination_id)
            .bind(&job.job_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
            let Some((event_id, old)) = before else { continue };
            // A stopped output is ours to account for (stop, detach, the job's end): the
            // reconcile decides; a failed one has given up and stays failed until started again.
            if o.state == "stopped" {
                continue;
            }
            let live_since = (o.live_since_ms > 0).then(|| DateTime::<Utc>::from_timestamp_millis(o.live_since_ms)).flatten();
            let row = sqlx::query(concat!(
                "WITH e AS (UPDATE event_destinations SET state = $3, bitrate_bps = $4, bytes_sent = $5, live_since = $6, ",
                "retries = $7, error = $8, error_code = $9, wanted = $10, updated_at = now() ",
                "WHERE event_id = $1 AND destination_id = $2 RETURNING *) SELECT ",
                ed_cols!(),
                " FROM e JOIN destinations d ON d.id = e.destination_id"
            ))
            .bind(event_id)
            .bind(destination_id)
            .bind(&o.state)
            .bind(o.bitrate_bps.min(i64::MAX as u64) as i64)
            .bind(o.bytes_sent.min(i64::MAX as u64) as i64)
            .bind(live_since)
            .bind(o.retries.min(i32::MAX as u32) as i32)
            .bind(&o.error)
            .bind(&o.error_code)
            .bind(o.state != "failed")
            .fetch_one(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
            let ed = ed_from(&row).map_err(ApiError::internal)?;
            if old != o.state {
                publish(&mut tx, &o.state, &ed).await?;
                tracing::info!(event = %event_id, destination = %destination_id, from = %old, to = %o.state, "destination state");
            }
            tx.commit().await.map_err(ApiError::internal)?;
            if o.state == "failed" {
                self.release_program(event_id).await;
            }
        }
        Ok(())
    }

    /// Auto-start at go-live.
    pub async fn on_live(&self, event_id: Uuid) {
        let Ok(e) = self.event(event_id).await else { return };
        let Ok(all) = self.of_event(event_id).await else { return };
        for ed in all.into_iter().filter(|d| d.auto_start && !d.pushing()) {
            if let Err(err) = self.push(&ed, &e).await {
                tracing::warn!(event = %event_id, destination = %ed.destination.id, error = %err.message, "auto-start failed");
            }
        }
    }

    /// Holds every started destination to its event: stopped when the event is over, pushed
    /// again when its job went away, and the restream-only jobs' people kept on air.
    pub async fn reconcile(&self, only_event: Option<Uuid>) {
        let events: Vec<Uuid> = match only_event {
            Some(id) => vec![id],
            None => sqlx::query_scalar(
                "SELECT DISTINCT event_id FROM event_destinations WHERE wanted UNION SELECT event_id FROM programs",
            )
            .fetch_all(&self.pool)
            .await
            .unwrap_or_default(),
        };
        for event_id in events {
            if let Err(e) = self.reconcile_event(event_id).await {
                tracing::warn!(event = %event_id, error = %e.message, "reconcile failed");
            }
        }
    }

    async fn reconcile_event(&self, event_id: Uuid) -> Result<(), ApiError> {
        let e = self.event(event_id).await?;
        let wanted: Vec<EventDestination> = self.of_event(event_id).await?.into_iter().filter(|d| d.wanted).collect();
        if e.status != EventStatus::Live as i32 {
            if e.status == EventStatus::Ended as i32 || e.status == EventStatus::Cancelled as i32 {
                for ed in &wanted {
                    self.halt(ed, "stopped", "").await?;
                }
                self.release_program(event_id).await;
            }
            return Ok(());
        }
        for ed in wanted {
            let job = match &ed.job_id {
                Some(id) => self
                    .clients
                    .egress
                    .clone()
                    .get_job(egress_pb::GetJobRequest { job_id: id.clone() })
                    .await
                    .ok()
                    .map(|j| j.into_inner()),
                None => None,
            };
            let on_job = job.as_ref().is_some_and(|j| {
                j.state == "running"
                    && j.outputs.iter().any(|o| o.output_id == ed.destination.id.to_string() && o.state != "stopped")
            });
            // A recording started while it rode a restream-only job: one encode is enough, so it
            // moves onto the recording's job (a reconnect of a second or so) and the other goes.
            let recording = match job.as_ref() {
                Some(j) if j.broadcast_only => self
                    .clients
                    .egress
                    .clone()
                    .find_job(egress_pb::FindJobRequest { room: event_id.to_string() })
                    .await
                    .ok()
                    .map(|f| f.into_inner())
                    .filter(|f| f.state == "running" && !f.broadcast_only),
                _ => None,
            };
            if let Some(rec) = recording {
                tracing::info!(event = %event_id, destination = %ed.destination.id, job = %rec.job_id, "moving onto the recording's encode");
                // Off the old job first: a platform refuses a second publisher of the same key.
                let old = ed.job_id.clone().unwrap_or_default();
                let _ = self
                    .clients
                    .egress
                    .clone()
                    .remove_output(egress_pb::RemoveOutputRequest { job_id: old, output_id: ed.destination.id.to_string() })
                    .await;
                self.push(&ed, &e).await?;
            } else if !on_job {
                // Its job ended (the recording it rode on stopped, or the worker restarted):
                // push again, on the running job or a new one.
                tracing::info!(event = %event_id, destination = %ed.destination.id, "destination lost its job; pushing again");
                self.push(&ed, &e).await?;
            }
        }
        let program: Option<String> = sqlx::query_scalar("SELECT job_id FROM programs WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(ApiError::internal)?;
        if let Some(job_id) = program {
            let on_air = stagecast_kit::stage::on_air(
                &self.clients.stage,
                &self.clients.auth,
                &event_id.to_string(),
                &e.host_id.to_string(),
            )
            .await?;
            let _ = self
                .clients
                .egress
                .clone()
                .update_job(egress_pb::UpdateJobRequest { job_id, layout: String::new(), set_on_air: true, on_air })
                .await;
            self.release_program(event_id).await;
        }
        Ok(())
    }
}

async fn publish(tx: &mut sqlx::PgConnection, kind: &str, ed: &EventDestination) -> Result<(), ApiError> {
    let msg = pb::DestinationChanged { kind: kind.to_owned(), destination: Some(ed.to_proto()) };
    stagecast_bus::outbox::enqueue(tx, &subject(ed.event_id), &msg).await.map_err(ApiError::internal)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_need_an_rtmp_scheme_a_host_and_an_application() {
        assert_eq!(check_server_url("rtmp://live.twitch.tv/app/").unwrap(), "rtmp://live.twitch.tv/app");
        assert!(check_server_url("rtmps://a.rtmps.youtube.com:443/live2").is_ok());
        for bad in [
            "http://x/app",
            "rtmp://",
            "rtmp://host",
            "rtmp://host/",
            "rtmp://:1935/app",
            "rtmp://host:99999/app",
            "rtmp://u@host/app",
            "rtmp://h/a b",
        ] {
            let e = check_server_url(bad).expect_err(bad);
            assert_eq!(e.code, "invalid_server_url", "{bad}");
        }
    }

    #[test]
    fn stream_keys_must_be_one_word_of_at_most_512_characters_and_show_only_their_last_four() {
        assert!(check_key("live_1234-abcd").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key(&"k".repeat(513)).is_err());
        assert!(check_key("two words").is_err());
        assert_eq!(hint("live_1234-abcd"), "…abcd");
        assert_eq!(hint("ab"), "…ab");
    }

    #[test]
    fn each_platform_has_its_ingest_and_custom_has_none() {
        assert!(Platform::parse("youtube").unwrap().default_server().unwrap().starts_with("rtmps://"));
        assert!(Platform::parse("facebook").unwrap().default_server().unwrap().starts_with("rtmps://"));
        assert_eq!(Platform::parse("twitch").unwrap().default_server(), Some("rtmp://live.twitch.tv/app"));
        assert_eq!(Platform::parse("custom").unwrap().default_server(), None);
        assert!(Platform::parse("myspace").is_none());
    }
}
