//! Endpoints and their delivery log, for their owner. Secrets are sealed at rest and returned
//! only when created or rotated.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use stagecast_kit::{
    ApiError, ErrorKind,
    seal::{KeyRing, Sealed},
    text::{self, Field},
};
use uuid::Uuid;

use crate::{payload, sign::SigningSecret, target};

/// Endpoints one owner may have.
pub const MAX_ENDPOINTS: i64 = 20;
/// Filters one endpoint may list.
const MAX_FILTERS: usize = 50;
/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

const DESCRIPTION: Field =
    Field { name: "description", code: "description", max_chars: 200, required: false, line_breaks: false };

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub secret_key_id: String,
    pub secret_nonce: Vec<u8>,
    pub secret_sealed: Vec<u8>,
    pub previous_key_id: Option<String>,
    pub previous_nonce: Option<Vec<u8>>,
    pub previous_sealed: Option<Vec<u8>>,
    pub previous_until: Option<DateTime<Utc>>,
    pub enabled: bool,
    pub disabled_reason: String,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub message_id: Uuid,
    pub event_type: String,
    pub state: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub payload: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub delivery_id: Uuid,
    pub at: DateTime<Utc>,
    pub status_code: i32,
    pub error: String,
    pub duration_ms: i32,
}

pub struct DeliveryView {
    pub delivery: DeliveryRow,
    pub log: Vec<AttemptRow>,
}

#[derive(Clone)]
pub struct Webhooks {
    pool: PgPool,
    keys: Arc<KeyRing>,
    allow_private: bool,
}

fn actor(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::invalid("invalid_actor", "actor_id must be a UUID"))
}

fn not_found() -> ApiError {
    ApiError::not_found("webhook_not_found", "you have no webhook endpoint with this id")
}

fn endpoint_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| not_found())
}

fn filters(raw: &[String]) -> Result<Vec<String>, ApiError> {
    if raw.len() > MAX_FILTERS {
        return Err(ApiError::invalid("too_many_event_types", format!("list at most {MAX_FILTERS} event types")));
    }
    let mut out: Vec<String> = raw.iter().map(|f| f.trim().to_owned()).collect();
    if let Some(bad) = out.iter().find(|f| !payload::valid_filter(f)) {
        return Err(ApiError::invalid(
            "unknown_event_type",
            format!(
                "unknown event type {bad:?}: use \"*\", a family ({}) as \"family.*\", or one type such as \"event.live\"",
                payload::FAMILIES.join(", ")
            ),
        ));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

const ENDPOINT_COLUMNS: &str = "id, owner_id, url, description, event_types, secret_key_id, secret_nonce, secret_sealed, \
     previous_key_id, previous_nonce, previous_sealed, previous_until, enabled, disabled_reason, failing_since, created_at";

impl Webhooks {
    pub fn new(pool: PgPool, keys: KeyRing, allow_private: bool) -> Self {
        Self { pool, keys: Arc::new(keys), allow_private }
    }

    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    fn seal(&self, secret: &SigningSecret, endpoint: Uuid) -> Result<Sealed, ApiError> {
        self.keys.seal(secret.expose(), endpoint.as_bytes()).map_err(ApiError::internal)
    }

    /// The secrets that sign now: the current one, and the previous one during a rotation.
    pub fn secrets(&self, e: &EndpointRow) -> Result<Vec<SigningSecret>, ApiError> {
        let open = |key_id: &str, nonce: &[u8], sealed: &[u8]| -> Result<SigningSecret, ApiError> {
            let s = Sealed { key_id: key_id.to_owned(), nonce: nonce.to_vec(), ciphertext: sealed.to_vec() };
            let plain = self.keys.open(&s, e.id.as_bytes()).map_err(ApiError::internal)?;
            SigningSecret::parse(&plain).ok_or_else(|| ApiError::internal("a stored webhook secret is malformed"))
        };
        let mut out = vec![open(&e.secret_key_id, &e.secret_nonce, &e.secret_sealed)?];
        if let (Some(k), Some(n), Some(s), Some(until)) =
            (&e.previous_key_id, &e.previous_nonce, &e.previous_sealed, e.previous_until)
            && until > Utc::now()
        {
            // The previous secret only adds a second signature: if its key is gone, sign with
            // the current one alone rather than not at all.
            match open(k, n, s) {
                Ok(previous) => out.push(previous),
                Err(_) => {
                    tracing::warn!(endpoint_id = %e.id, "the previous webhook secret cannot be opened; signing with the current one only")
                }
            }
        }
        Ok(out)
    }

    /// An endpoint by id, whoever owns it (for the deliverer).
    pub async fn endpoint(&self, id: Uuid) -> Result<Option<EndpointRow>, ApiError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn owned(&self, owner: Uuid, id: Uuid) -> Result<EndpointRow, ApiError> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE id = $1 AND owner_id = $2")))
            .bind(id)
            .bind(owner)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(not_found)
    }

    pub async fn create(
        &self,
        actor_id: &str,
        url: &str,
        description: &str,
        event_types: &[String],
    ) -> Result<(EndpointRow, SigningSecret), ApiError> {
        let owner = actor(actor_id)?;
        let url = target::check_url(url, self.allow_private)?;
        let description = text::clean(description, &DESCRIPTION)?;
        let event_types = filters(event_types)?;
        let id = Uuid::now_v7();
        let secret = SigningSecret::generate();
        let sealed = self.seal(&secret, id)?;
        let mut tx = self.pool.begin().await?;
        // Serialises an owner's creations, so two at once cannot both pass the cap.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))").bind(owner).execute(&mut *tx).await?;
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM endpoints WHERE owner_id = $1").bind(owner).fetch_one(&mut *tx).await?;
        if count >= MAX_ENDPOINTS {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "webhook_limit",
                format!("you already have {MAX_ENDPOINTS} webhook endpoints; delete one first"),
            ));
        }
        let row: EndpointRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO endpoints (id, owner_id, url, description, event_types, secret_key_id, secret_nonce, secret_sealed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {ENDPOINT_COLUMNS}"
        )))
        .bind(id)
        .bind(owner)
        .bind(url.as_str())
        .bind(description)
        .bind(event_types)
        .bind(sealed.key_id)
        .bind(sealed.nonce)
        .bind(sealed.ciphertext)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(owner_id = %owner, endpoint_id = %id, "webhook endpoint created");
        Ok((row, secret))
    }

    pub async fn list(&self, actor_id: &str) -> Result<Vec<EndpointRow>, ApiError> {
        let owner = actor(actor_id)?;
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE owner_id = $1 ORDER BY created_at DESC, id"
        )))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn get(&self, actor_id: &str, endpoint: &str) -> Result<EndpointRow, ApiError> {
        self.owned(actor(actor_id)?, endpoint_id(endpoint)?).await
    }

    pub async fn update(
        &self,
        actor_id: &str,
        endpoint: &str,
        url: Option<&str>,
        description: Option<&str>,
        event_types: Option<&[String]>,
        enabled: Option<bool>,
    ) -> Result<EndpointRow, ApiError> {
        let current = self.owned(actor(actor_id)?, endpoint_id(endpoint)?).await?;
        let url =
            url.map(|u| target::check_url(u, self.allow_private)).transpose()?.map(|u| u.to_string()).unwrap_or(current.url);
        let description = description.map(|d| text::clean(d, &DESCRIPTION)).transpose()?.unwrap_or(current.description);
        let event_types = event_types.map(filters).transpose()?.unwrap_or(current.event_types);
        let (enabled, reason, failing_since) = match enabled {
            // Enabling a disabled endpoint starts afresh: the failure clock restarts with the
            // next failure. Enabling an enabled one changes nothing.
            Some(true) if !current.enabled => (true, String::new(), None),
            Some(true) => (true, String::new(), current.failing_since),
            Some(false) => (false, "by_owner".to_owned(), current.failing_since),
            None => (current.enabled, current.disabled_reason, current.failing_since),
        };
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE endpoints SET url = $2, description = $3, event_types = $4, enabled = $5, disabled_reason = $6, \
             failing_since = $7 WHERE id = $1 RETURNING {ENDPOINT_COLUMNS}"
        )))
        .bind(current.id)
        .bind(url)
        .bind(description)
        .bind(event_types)
        .bind(enabled)
        .bind(reason)
        .bind(failing_since)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn delete(&self, actor_id: &str, endpoint: &str) -> Result<(), ApiError> {
        let e = self.owned(actor(actor_id)?, endpoint_id(endpoint)?).await?;
        sqlx::query("DELETE FROM endpoints WHERE id = $1").bind(e.id).execute(&self.pool).await?;
        tracing::info!(endpoint_id = %e.id, "webhook endpoint deleted");
        Ok(())
    }

    /// A new secret; the current one becomes the previous one and keeps signing for a day, so
    /// receivers can switch without missing a delivery.
    pub async fn rotate(&self, actor_id: &str, endpoint: &str) -> Result<(EndpointRow, SigningSecret), ApiError> {
        let e = self.owned(actor(actor_id)?, endpoint_id(endpoint)?).await?;
        let secret = SigningSecret::generate();
        let sealed = self.seal(&secret, e.id)?;
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE endpoints SET previous_key_id = secret_key_id, previous_nonce = secret_nonce, \
             previous_sealed = secret_sealed, previous_until = $2, secret_key_id = $3, secret_nonce = $4, secret_sealed = $5 \
             WHERE id = $1 RETURNING {ENDPOINT_COLUMNS}"
        )))
        .bind(e.id)
        .bind(Utc::now() + ROTATION_OVERLAP)
        .bind(sealed.key_id)
        .bind(sealed.nonce)
        .bind(sealed.ciphertext)
        .fetch_one(&self.pool)
        .await?;
        tracing::info!(endpoint_id = %e.id, "webhook secret rotated");
        Ok((row, secret))
    }

    async fn views(&self, rows: Vec<DeliveryRow>) -> Result<Vec<DeliveryView>, ApiError> {
        let ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
        let attempts: Vec<AttemptRow> = sqlx::query_as(
            "SELECT delivery_id, at, status_code, error, duration_ms FROM attempts WHERE delivery_id = ANY($1) ORDER BY at",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|d| {
                let log = attempts.iter().filter(|a| a.delivery_id == d.id).cloned().collect();
                DeliveryView { delivery: d, log }
            })
            .collect())
    }

    /// The newest deliveries of an endpoint first, each with its attempts.
    pub async fn deliveries(&self, actor_id: &str, endpoint: &str, limit: u32) -> Result<Vec<DeliveryView>, ApiError> {
        let e = self.owned(actor(actor_id)?, endpoint_id(endpoint)?).await?;
        let limit = if limit == 0 { 50 } else { limit.min(200) };
        let rows: Vec<DeliveryRow> = sqlx::query_as(
            "SELECT d.id, d.message_id, m.event_type, d.state, d.attempts, d.created_at, d.next_attempt_at, m.payload \
             FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.endpoint_id = $1 ORDER BY d.seq DESC LIMIT $2",
        )
        .bind(e.id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        self.views(rows).await
    }

    /// Makes a delivery pending again, due now.
    pub async fn redeliver(&self, actor_id: &str, endpoint: &str, delivery: &str) -> Result<DeliveryView, ApiError> {
        let e = self.owned(actor(actor_id)?, endpoint_id(endpoint)?).await?;
        let missing = || ApiError::not_found("delivery_not_found", "this endpoint has no delivery with this id");
        let delivery = Uuid::parse_str(delivery).map_err(|_| missing())?;
        let updated = sqlx::query(
            // A fresh run of the retry schedule (the log keeps the earlier attempts).
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = now() WHERE id = $1 AND endpoint_id = $2",
        )
        .bind(delivery)
        .bind(e.id)
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(missing());
        }
        let rows: Vec<DeliveryRow> = sqlx::query_as(
            "SELECT d.id, d.message_id, m.event_type, d.state, d.attempts, d.created_at, d.next_attempt_at, m.payload \
             FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.id = $1",
        )
        .bind(delivery)
        .fetch_all(&self.pool)
        .await?;
        self.views(rows).await?.pop().ok_or_else(missing)
    }
}
