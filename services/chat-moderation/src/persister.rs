//! Writes accepted messages from JetStream into Postgres, in batches, without delaying delivery.
//!
//! Send publishes to JetStream and answers; viewers get the message from NATS at once. This
//! task, on the "chat-persister" durable consumer, takes the next message and whatever else
//! arrives within [`BATCH_WAIT`] (up to [`BATCH_MAX`]), inserts them with one multi-row
//! `INSERT … ON CONFLICT (id) DO NOTHING`, and only then acknowledges them. The acks are plain
//! (no reply awaited: a double ack would cost a request and its reply per message, in this
//! process and in NATS). If the process dies in between, or an ack is lost, the messages are
//! delivered again and the insert skips the rows it already has: nothing accepted is lost and
//! nothing is stored twice.
//!
//! Messages come from the consumer's continuous pull stream (which keeps up to a batch
//! requested ahead, with heartbeats), not from one-off fetches: a fetch whose end-of-batch
//! notice from the server goes missing stalls for seconds, the stream does not.
use std::time::Duration;

use async_nats::jetstream::{
    self, AckKind,
    consumer::{PullConsumer, pull::Stream as MessageStream},
};
use futures::StreamExt;
use sqlx::PgPool;
use stagecast_bus::Envelope;
use stagecast_proto::chat::v1 as pb;
use tokio::sync::watch;

use crate::{
    bus::{self, DurableConsumer},
    domain::ChatMessage,
    store,
};

pub const BATCH_MAX: usize = 500;
pub const BATCH_WAIT: Duration = Duration::from_millis(50);
/// At shutdown, messages already handed to this replica are stored if they arrive this soon.
const FINAL_DRAIN: Duration = Duration::from_millis(20);

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
                // Someone else published on our subject, or a bug: it would be redelivered
                // forever, and could never be stored.
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
            let acks = futures::future::join_all(good.iter().map(|m| m.ack())).await;
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

/// What reading the stream for one batch ended with.
enum Next {
    Batch(Vec<jetstream::Message>),
    /// The stream ended or the consumer is gone: set it up again.
    Renew,
    Stop,
}

/// Waits for a message, then takes whatever else arrives within [`BATCH_WAIT`], up to
/// [`BATCH_MAX`].
async fn next_batch(messages: &mut MessageStream, stop: &mut watch::Receiver<bool>) -> Next {
    let first = loop {
        let next = tokio::select! {
            _ = bus::stopped(stop) => return Next::Stop,
            next = messages.next() => next,
        };
        match next {
            None => return Next::Renew,
            Some(Ok(message)) => break message,
            Some(Err(e)) if bus::needs_new_consumer(&e) => {
                tracing::warn!(error = %e, "chat persister lost its consumer; setting it up again");
                return Next::Renew;
            }
            Some(Err(e)) => tracing::debug!(error = %e, "chat persister stream hiccup"),
        }
    };
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + BATCH_WAIT;
    while batch.len() < BATCH_MAX {
        match tokio::time::timeout_at(deadline, messages.next()).await {
            Ok(Some(Ok(message))) => batch.push(message),
            // Errors and the end of the stream show up again on the next call.
            Ok(Some(Err(_)) | None) | Err(_) => break,
        }
    }
    Next::Batch(batch)
}

/// Takes what the stream has already received, for a last batch before stopping.
async fn drain(messages: &mut MessageStream) -> Vec<jetstream::Message> {
    let mut batch = Vec::new();
    while batch.len() < BATCH_MAX {
        match tokio::time::timeout(FINAL_DRAIN, messages.next()).await {
            Ok(Some(Ok(message))) => batch.push(message),
            _ => break,
        }
    }
    batch
}

/// Runs the persister until `stop` turns true. Messages already received are stored before
/// it returns; anything else stays in JetStream for the next start (or another replica).
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
        let mut messages = match current.stream().max_messages_per_batch(BATCH_MAX).messages().await {
            Ok(messages) => messages,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read chat messages; will retry");
                bus::pause(&mut backoff, &mut stop).await;
                continue;
            }
        };
        loop {
            match next_batch(&mut messages, &mut stop).await {
                Next::Batch(batch) => match persist(&pool, batch).await {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot persist chat messages; will retry");
                        bus::pause(&mut backoff, &mut stop).await;
                    }
                },
                Next::Renew => {
                    bus::pause(&mut backoff, &mut stop).await;
                    break;
                }
                Next::Stop => {
                    let last = drain(&mut messages).await;
                    if let Err(e) = persist(&pool, last).await {
                        tracing::warn!(error = %e, "cannot persist the last chat messages; they will be redelivered");
                    }
                    return;
                }
            }
        }
    }
}
