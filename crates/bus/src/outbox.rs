//! The transactional outbox and its relay.
//!
//! Each publishing service owns an `outbox` table in its own schema (created by its migrations):
//!
//! ```sql
//! CREATE TABLE outbox (
//!     seq          BIGSERIAL PRIMARY KEY,      -- commit order, the order of publication
//!     id           UUID NOT NULL UNIQUE,       -- envelope id = Nats-Msg-Id
//!     subject      TEXT NOT NULL,
//!     body         BYTEA NOT NULL,             -- encoded Envelope
//!     traceparent  TEXT,
//!     created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
//!     published_at TIMESTAMPTZ,
//!     attempts     INT NOT NULL DEFAULT 0,
//!     last_error   TEXT
//! );
//! CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
//! ```
use std::{future::Future, time::Duration};

use async_nats::{HeaderMap, jetstream};
use prost::{Message, Name};
use sqlx::{PgConnection, PgPool, postgres::PgListener};
use tracing::Instrument;
use uuid::Uuid;

use crate::envelope::{Envelope, HEADER_MSG_ID, HEADER_TRACEPARENT, HEADER_TYPE};

/// Postgres NOTIFY channel that wakes relays as soon as a transaction with messages commits.
pub const NOTIFY_CHANNEL: &str = "stagecast_outbox";

/// Writes `msg` for `subject` into the outbox of the transaction `tx` belongs to. The message is
/// published if and only if that transaction commits.
pub async fn enqueue<M: Message + Name>(tx: &mut PgConnection, subject: &str, msg: &M) -> Result<Uuid, sqlx::Error> {
    let env = Envelope::wrap(msg);
    sqlx::query("INSERT INTO outbox (id, subject, body, traceparent) VALUES ($1, $2, $3, $4)")
        .bind(env.id)
        .bind(subject)
        .bind(env.encode())
        .bind(stagecast_telemetry::current_traceparent())
        .execute(&mut *tx)
        .await?;
    // NOTIFY is delivered at commit, never for a rolled-back transaction.
    sqlx::query("SELECT pg_notify($1, '')").bind(NOTIFY_CHANNEL).execute(&mut *tx).await?;
    Ok(env.id)
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("nats: {0}")]
    Nats(String),
}

/// Publishes committed outbox rows to JetStream, in order, until acknowledged.
#[derive(Clone)]
pub struct Relay {
    pool: PgPool,
    js: jetstream::Context,
    /// Advisory-lock key: one relay of a service publishes at a time, so order is kept even with
    /// several replicas (the others wait as hot standbys).
    lock_key: i64,
    batch: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    id: Uuid,
    subject: String,
    body: Vec<u8>,
    traceparent: Option<String>,
}

impl Relay {
    /// `service` names the outbox owner; it keys the advisory lock.
    pub fn new(pool: PgPool, js: jetstream::Context, service: &str) -> Self {
        let lock_key = service.bytes().fold(0x5354_4147_i64, |h, b| h.wrapping_mul(31).wrapping_add(b as i64));
        Self { pool, js, lock_key, batch: 100 }
    }

    /// Publishes one batch; returns how many rows were published.
    pub async fn relay_once(&self) -> Result<usize, RelayError> {
        let mut tx = self.pool.begin().await?;
        let locked: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(self.lock_key).fetch_one(&mut *tx).await?;
        if !locked {
            return Ok(0);
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT seq, id, subject, body, traceparent FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1",
        )
        .bind(self.batch)
        .fetch_all(&mut *tx)
        .await?;
        let mut done = 0;
        let mut failure = None;
        for row in &rows {
            match self.publish(row).await {
                Ok(()) => {
                    sqlx::query("UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE seq = $1")
                        .bind(row.seq)
                        .execute(&mut *tx)
                        .await?;
                    done += 1;
                }
                Err(e) => {
                    sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = $1")
                        .bind(row.seq)
                        .bind(e.to_string())
                        .execute(&mut *tx)
                        .await?;
                    // Stop at the first failure: later rows must not overtake this one.
                    failure = Some(e);
                    break;
                }
            }
        }
        tx.commit().await?;
        match failure {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }

    async fn publish(&self, row: &Row) -> Result<(), RelayError> {
        let span = tracing::info_span!("outbox.publish", subject = %row.subject, message_id = %row.id, otel.kind = "producer");
        if let Some(tp) = &row.traceparent {
            stagecast_telemetry::set_remote_parent(&span, tp);
        }
        async {
            let mut headers = HeaderMap::new();
            headers.insert(HEADER_MSG_ID, row.id.to_string().as_str());
            if let Ok(env) = Envelope::decode(&row.body) {
                headers.insert(HEADER_TYPE, env.type_name.as_str());
            }
            // The stored traceparent names the request that made the change; keep it so consumers
            // join that trace.
            if let Some(tp) = &row.traceparent {
                headers.insert(HEADER_TRACEPARENT, tp.as_str());
            }
            let ack = self
                .js
                .publish_with_headers(row.subject.clone(), headers, row.body.clone().into())
                .await
                .map_err(|e| RelayError::Nats(e.to_string()))?;
            ack.await.map_err(|e| RelayError::Nats(e.to_string()))?;
            tracing::debug!("published");
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// Number of committed rows not yet acknowledged by JetStream.
    pub async fn backlog(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetch_one(&self.pool).await
    }

    /// Relays until `shutdown` resolves, waking on NOTIFY and polling once a second as a safety
    /// net; backs off up to 5 s while NATS or Postgres fail. Then drains what is left, for up to
    /// `drain_for`.
    pub async fn run(self, shutdown: impl Future<Output = ()>, drain_for: Duration) {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(mut l) => match l.listen(NOTIFY_CHANNEL).await {
                Ok(()) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay cannot LISTEN; polling only");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay cannot LISTEN; polling only");
                None
            }
        };
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_millis(100);
        loop {
            let wait = match self.relay_once().await {
                // A full batch means there may be more: go again at once.
                Ok(n) if n as i64 == self.batch => Duration::ZERO,
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    Duration::from_secs(1)
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay failed; will retry");
                    let w = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    w
                }
            };
            if wait.is_zero() {
                continue;
            }
            let woken = async {
                match listener.as_mut() {
                    Some(l) => {
                        if l.recv().await.is_err() {
                            tokio::time::sleep(wait).await
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(wait) => {}
                // After a failure, wait out the backoff even if notified.
                _ = woken, if backoff <= Duration::from_millis(100) => {}
            }
        }
        self.drain(drain_for).await;
    }

    /// Publishes everything committed so far, giving up after `limit`.
    pub async fn drain(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match self.backlog().await {
                Ok(0) => {
                    tracing::info!("outbox drained");
                    return;
                }
                Ok(n) if tokio::time::Instant::now() >= deadline => {
                    tracing::warn!(backlog = n, "outbox not drained before shutdown; the next start publishes it");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read outbox backlog during drain");
                    return;
                }
                Ok(_) => {}
            }
            if let Err(e) = self.relay_once().await {
                tracing::warn!(error = %e, "outbox drain attempt failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
