//! Attempts deliveries: for each endpoint only its oldest pending delivery (so a receiver gets
//! them in order), when due. A lease (pushing `next_attempt_at` past the request timeout) lets
//! any number of replicas share the work without sending one delivery twice at once.
//!
//! An answer in 2xx succeeds. Anything else (a status, a timeout, a refused connection) is
//! logged as an attempt and retried on the schedule; after the last wait the delivery has
//! failed and the next one goes. An endpoint that has not succeeded for `disable_after` is
//! disabled (its owner enables it again).
use std::{sync::Arc, time::Duration};

use chrono::Utc;
use sqlx::PgPool;
use stagecast_kit::ApiError;
use tokio::sync::{Notify, Semaphore, watch};
use uuid::Uuid;

use crate::{config::RetrySchedule, service::Webhooks, sign, target};

/// How often due deliveries are looked for when nothing wakes the deliverer.
const POLL: Duration = Duration::from_millis(500);
/// Requests in flight at once (across endpoints).
const PARALLEL: usize = 16;
/// How much of a receiver's answer is kept in the log.
const KEEP_ERROR_CHARS: usize = 300;
/// How long the address check before an attempt may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Finished deliveries (and messages no delivery needs) are kept this long for the log.
const KEEP_FINISHED: Duration = Duration::from_secs(30 * 86_400);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

#[derive(Clone)]
pub struct Deliverer {
    pub pool: PgPool,
    pub webhooks: Webhooks,
    pub http: reqwest::Client,
    pub schedule: RetrySchedule,
    pub timeout: Duration,
    pub disable_after: Duration,
}

struct Due {
    delivery: Uuid,
    endpoint: Uuid,
    message: Uuid,
    attempts: i32,
}

impl Deliverer {
    pub fn new(pool: PgPool, webhooks: Webhooks, schedule: RetrySchedule, timeout: Duration, disable_after: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            // A receiver redirecting elsewhere could point us at an internal address.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("stagecast-webhooks/1")
            .build()
            .expect("an HTTP client with these settings builds");
        Self { pool, webhooks, http, schedule, timeout, disable_after }
    }

    /// Leases the due heads of every endpoint's queue.
    async fn lease(&self) -> Result<Vec<Due>, sqlx::Error> {
        let lease = self.timeout + Duration::from_secs(10);
        sqlx::query_as::<_, (Uuid, Uuid, Uuid, i32)>(
            "WITH heads AS ( \
               SELECT DISTINCT ON (d.endpoint_id) d.id, d.next_attempt_at \
               FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id \
               WHERE d.state = 'pending' AND e.enabled \
               ORDER BY d.endpoint_id, d.seq \
             ) \
             UPDATE deliveries d SET next_attempt_at = now() + $1 \
             FROM heads WHERE d.id = heads.id AND heads.next_attempt_at <= now() \
               AND d.next_attempt_at <= now() AND d.state = 'pending' \
             RETURNING d.id, d.endpoint_id, d.message_id, d.attempts",
        )
        .bind(lease)
        .fetch_all(&self.pool)
        .await
        .map(|rows| {
            rows.into_iter()
                .map(|(delivery, endpoint, message, attempts)| Due { delivery, endpoint, message, attempts })
                .collect()
        })
    }

    /// One attempt: (status code or 0, error text, success).
    async fn attempt(&self, due: &Due) -> Result<(u16, String, bool), ApiError> {
        let endpoint = self
            .webhooks
            .endpoint(due.endpoint)
            .await?
            .ok_or_else(|| ApiError::internal("a leased delivery's endpoint is gone"))?;
        let body: String =
            sqlx::query_scalar("SELECT payload FROM messages WHERE id = $1").bind(due.message).fetch_one(&self.pool).await?;
        let url = url::Url::parse(&endpoint.url).map_err(ApiError::internal)?;
        match tokio::time::timeout(RESOLVE_TIMEOUT, target::resolves_allowed(&url, self.webhooks.allow_private())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Ok((0, e, false)),
            Err(_) => return Ok((0, "the endpoint's name did not resolve in time".to_owned(), false)),
        }
        let secrets = self.webhooks.secrets(&endpoint)?;
        let msg_id = format!("msg_{}", due.message.simple());
        let timestamp = Utc::now().timestamp();
        let signature = sign::header(&secrets, &msg_id, timestamp, &body);
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        Ok(match sent {
            Ok(resp) if resp.status().is_success() => (resp.status().as_u16(), String::new(), true),
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                (status, text.chars().take(KEEP_ERROR_CHARS).collect(), false)
            }
            Err(e) if e.is_timeout() => (0, format!("no answer within {} ms", self.timeout.as_millis()), false),
            Err(e) if e.is_connect() => (0, "cannot connect to the endpoint".to_owned(), false),
            Err(e) => (0, format!("request failed: {e}"), false),
        })
    }

    async fn record(&self, due: &Due, status: u16, error: &str, ok: bool, took: Duration) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO attempts (delivery_id, status_code, error, duration_ms) VALUES ($1, $2, $3, $4)")
            .bind(due.delivery)
            .bind(i32::from(status))
            .bind(error)
            .bind(took.as_millis().min(i32::MAX as u128) as i32)
            .execute(&mut *tx)
            .await?;
        let attempts = due.attempts + 1;
        if ok {
            sqlx::query("UPDATE deliveries SET state = 'succeeded', attempts = $2 WHERE id = $1")
                .bind(due.delivery)
                .bind(attempts)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE endpoints SET failing_since = NULL WHERE id = $1").bind(due.endpoint).execute(&mut *tx).await?;
        } else {
            let wait = self.schedule.0.get(due.attempts.max(0) as usize).copied();
            match wait {
                Some(wait) => {
                    sqlx::query("UPDATE deliveries SET attempts = $2, next_attempt_at = now() + $3 WHERE id = $1")
                        .bind(due.delivery)
                        .bind(attempts)
                        .bind(wait)
                        .execute(&mut *tx)
                        .await?
                }
                None => {
                    sqlx::query("UPDATE deliveries SET state = 'failed', attempts = $2 WHERE id = $1")
                        .bind(due.delivery)
                        .bind(attempts)
                        .execute(&mut *tx)
                        .await?
                }
            };
            let disabled: Option<Uuid> = sqlx::query_scalar(
                "UPDATE endpoints SET failing_since = coalesce(failing_since, now()), \
                   enabled = NOT (coalesce(failing_since, now()) <= now() - $2), \
                   disabled_reason = CASE WHEN coalesce(failing_since, now()) <= now() - $2 THEN 'failing' ELSE disabled_reason END \
                 WHERE id = $1 AND enabled RETURNING CASE WHEN NOT enabled THEN id END",
            )
            .bind(due.endpoint)
            .bind(self.disable_after)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
            if let Some(id) = disabled {
                tracing::warn!(endpoint_id = %id, "webhook endpoint disabled after failing for too long");
            }
        }
        tx.commit().await
    }

    async fn run_one(&self, due: Due) {
        let started = std::time::Instant::now();
        let (status, error, ok) = match self.attempt(&due).await {
            Ok(r) => r,
            // Our side failed (database, a secret that will not open): logged as an attempt, so
            // the owner sees it and it follows the retry schedule instead of spinning.
            Err(e) => {
                tracing::warn!(delivery_id = %due.delivery, error = %e, "cannot attempt a webhook delivery");
                (0, format!("not sent: {} ({})", e.message, e.code), false)
            }
        };
        if let Err(e) = self.record(&due, status, &error, ok, started.elapsed()).await {
            tracing::warn!(delivery_id = %due.delivery, error = %e, "cannot record a webhook attempt; the lease will expire and it is tried again");
        }
    }

    /// Drops finished deliveries older than [`KEEP_FINISHED`] and messages nothing needs.
    async fn prune(&self) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM deliveries WHERE state <> 'pending' AND created_at < now() - $1")
            .bind(KEEP_FINISHED)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM messages m WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Delivers until told to stop; in-flight attempts finish first.
    pub async fn run(self, due: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(PARALLEL));
        let mut next_prune = tokio::time::Instant::now();
        loop {
            if *stop.borrow() {
                break;
            }
            if tokio::time::Instant::now() >= next_prune {
                next_prune += PRUNE_EVERY;
                if let Err(e) = self.prune().await {
                    tracing::warn!(error = %e, "cannot prune old webhook deliveries");
                }
            }
            match self.lease().await {
                Ok(batch) => {
                    for d in batch {
                        let Ok(permit) = slots.clone().acquire_owned().await else { break };
                        let me = self.clone();
                        let wake = due.clone();
                        tokio::spawn(async move {
                            me.run_one(d).await;
                            drop(permit);
                            // The endpoint's next delivery may be due at once.
                            wake.notify_one();
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot look for due webhook deliveries"),
            }
            tokio::select! {
                _ = due.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        // Let in-flight attempts finish (bounded by the request timeout).
        let _ = tokio::time::timeout(self.timeout + Duration::from_secs(1), slots.acquire_many(PARALLEL as u32)).await;
    }
}
