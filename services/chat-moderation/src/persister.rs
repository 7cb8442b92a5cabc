//! Writes accepted messages from JetStream into Postgres, in batches, without delaying delivery.
//!
//! Send publishes to JetStream and answers; viewers get the message from NATS at once. This
//! task, on the "chat-persister" durable consumer, pulls up to [`BATCH_MAX`] messages or
//! whatever arrived within [`BATCH_WAIT`], inserts them with one multi-row
//! `INSERT … ON CONFLICT (id) DO NOTHING`, and only then acknowledges them (double ack, so it
//! knows JetStream recorded the ack). If the process dies in between, the unacknowledged
//! messages are delivered again and the insert skips the rows it already has: nothing accepted
//! is lost and nothing is stored twice.
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use futures::StreamExt;
use sqlx::PgPool;
use stagecast_bus::Envelope;
use stagecast_proto::chat::v1 as pb;
use tokio::sync::watch;

use crate::{
    bus::{self, DurableConsumer},
    domain::ChatMessage,
    rooms::pause,
    store,
};

pub const BATCH_MAX: usize = 500;
pub const BATCH_WAIT: Duration = Duration::from_millis(50);

/// A delivered message: decoded, or why it never will be.
fn decode(payload: &[u8]) -> Result<ChatMessage, String> {
    let env = Envelope::decode(payload).map_err(|e| e.to_string())?;
    let message = env.open::<pb::ChatMessage>().map_err(|e| e.to_string())?;
    ChatMessage::try_from(message).map_err(|e| e.to_string())
}

/// Persists one batch and settles every message in it with JetStream.
async fn persist(pool: &PgPool, delivered: Vec<jetstream::Message>) -> Result<(), sqlx::Error> {
    let mut rows = Vec::with_capacity(delivered.len());
    let mut good = Vec::with_capacity(delivered.len());
    for message in delivered {
        match decode(&message.payload) {
            Ok(row) => {
                rows.push(row);
                good.push(message);
            }
            Err(e) => {
                // Someone else published on our subject, or a bug: keeping it would block nothing
                // but would be redelivered forever.
                tracing::warn!(subject = %message.subject, error = %e, "dropping a chat message that cannot be stored");
                if let Err(e) = message.ack_with(AckKind::Term).await {
                    tracing::warn!(error = %e, "cannot terminate an unusable chat message");
                }
            }
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    match store::insert_messages(pool, &rows).await {
        Ok(inserted) => {
            tracing::debug!(batch = rows.len(), inserted, "chat messages persisted");
            let acks = futures::future::join_all(good.iter().map(|m| m.double_ack())).await;
            let failed = acks.iter().filter(|r| r.is_err()).count();
            if failed > 0 {
                // They come back and are skipped by ON CONFLICT.
                tracing::warn!(failed, "cannot acknowledge persisted chat messages; they will be redelivered");
            }
            Ok(())
        }
        Err(e) => {
            let naks = good.iter().map(|m| m.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))));
            let _ = futures::future::join_all(naks).await;
            Err(e)
        }
    }
}

/// Runs the persister until `stop` turns true. The batch in hand is finished first; anything
/// not yet pulled stays in JetStream for the next start (or another replica).
pub async fn run(
    pool: PgPool,
    js: jetstream::Context,
    spec: DurableConsumer,
    mut consumer: Option<PullConsumer>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if *stop.borrow() {
            return;
        }
        let current = match consumer.take() {
            Some(c) => c,
            None => match bus::ensure_with_retry(&js, &spec, &mut stop).await {
                Some(c) => c,
                None => return,
            },
        };
        // What arrived before a pull error is still persisted; the error is reported after.
        let pulled = async {
            let mut delivered = Vec::new();
            let mut batch = match current.batch().max_messages(BATCH_MAX).expires(BATCH_WAIT).messages().await {
                Ok(batch) => batch,
                Err(e) => return (delivered, Some(e.to_string())),
            };
            while let Some(message) = batch.next().await {
                match message {
                    Ok(m) => delivered.push(m),
                    Err(e) => return (delivered, Some(e.to_string())),
                }
            }
            (delivered, None)
        };
        // Not raced against `stop`: a pull lasts at most BATCH_WAIT, and finishing it means the
        // messages already handed to this replica are stored now rather than redelivered after
        // the ack wait.
        let (delivered, pull_error) = pulled.await;
        let stored = persist(&pool, delivered).await.map_err(|e| format!("database: {e}"));
        let outcome = match (stored, pull_error) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(e)) => Err(format!("pull: {e}")),
            (Ok(()), None) => Ok(()),
        };
        match outcome {
            Ok(()) => {
                backoff = Duration::from_millis(100);
                consumer = Some(current);
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "chat persister failed; will retry");
                pause(&mut backoff, &mut stop).await;
            }
        }
    }
}
