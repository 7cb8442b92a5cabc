//! The durable JetStream consumer that feeds webhooks: each bus message of an owner's events
//! becomes a stored message and one pending delivery per endpoint that wants it, committed
//! before the bus message is acknowledged. A restart, or a crash between commit and ack, loses
//! nothing: the message comes again and the inserts are idempotent (its envelope id).
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use futures::StreamExt;
use sqlx::PgPool;
use stagecast_bus::{
    Envelope,
    durable::{self, DurableConsumer},
};
use stagecast_kit::{
    ApiError, ErrorKind,
    stage::{EventInfo, Grpc},
};
use stagecast_proto::events::v1::events_service_client::EventsServiceClient;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::payload::{self, Decoder, Outgoing};

/// How long who hosts an event is remembered (a host handover shows within this).
const HOST_TTL: Duration = Duration::from_secs(60);

pub fn consumer(name: &str) -> DurableConsumer {
    DurableConsumer {
        name: name.to_owned(),
        filters: payload::SUBJECTS.iter().map(|s| (*s).to_owned()).collect(),
        // A consumer created now reads what is published from now on; once it exists it resumes
        // where it stopped, however long the service was away (within the stream's retention).
        from_start: false,
        ack_wait: Duration::from_secs(30),
    }
}

#[derive(Clone)]
pub struct Feed {
    pool: PgPool,
    events: EventsServiceClient<Grpc>,
    decoder: Arc<Decoder>,
    hosts: Arc<Mutex<HashMap<Uuid, (Uuid, Instant)>>>,
    /// Woken when new deliveries are due, so the deliverer does not wait for its next poll.
    pub due: Arc<Notify>,
}

enum Outcome {
    Stored,
    Skipped,
}

impl Feed {
    pub fn new(pool: PgPool, events: EventsServiceClient<Grpc>, due: Arc<Notify>) -> Self {
        Self { pool, events, decoder: Arc::new(Decoder::new()), hosts: Arc::default(), due }
    }

    async fn host(&self, event_id: Uuid) -> Result<Option<Uuid>, ApiError> {
        if let Some((host, at)) = stagecast_kit::sync::lock(&self.hosts).get(&event_id).copied()
            && at.elapsed() < HOST_TTL
        {
            return Ok(Some(host));
        }
        match EventInfo::fetch(&self.events, event_id).await {
            Ok(info) => {
                let mut hosts = stagecast_kit::sync::lock(&self.hosts);
                if hosts.len() > 10_000 {
                    hosts.retain(|_, (_, at)| at.elapsed() < HOST_TTL);
                }
                hosts.insert(event_id, (info.host_id, Instant::now()));
                Ok(Some(info.host_id))
            }
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores one bus message for the endpoints that want it.
    async fn store(&self, env: &Envelope, out: &Outgoing) -> Result<Outcome, ApiError> {
        let Some(owner) = self.host(out.event_id).await? else { return Ok(Outcome::Skipped) };
        let endpoints: Vec<(Uuid, Vec<String>)> =
            sqlx::query_as("SELECT id, event_types FROM endpoints WHERE owner_id = $1 AND enabled AND created_at <= $2")
                .bind(owner)
                .bind(env.occurred_at)
                .fetch_all(&self.pool)
                .await?;
        let targets: Vec<Uuid> =
            endpoints.into_iter().filter(|(_, filters)| payload::wanted(filters, &out.event_type)).map(|(id, _)| id).collect();
        if targets.is_empty() {
            return Ok(Outcome::Skipped);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO messages (id, owner_id, event_type, payload, occurred_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(env.id)
        .bind(owner)
        .bind(&out.event_type)
        .bind(&out.body)
        .bind(env.occurred_at)
        .execute(&mut *tx)
        .await?;
        for endpoint in targets {
            sqlx::query(
                "INSERT INTO deliveries (id, endpoint_id, message_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (endpoint_id, message_id) DO NOTHING",
            )
            .bind(Uuid::now_v7())
            .bind(endpoint)
            .bind(env.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Outcome::Stored)
    }

    async fn handle(&self, message: &jetstream::Message) -> Result<(), ApiError> {
        let env = match Envelope::decode(&message.payload) {
            Ok(env) => env,
            Err(e) => {
                tracing::warn!(subject = %message.subject, error = %e, "undecodable bus message; skipped");
                let _ = message.ack_with(AckKind::Term).await;
                return Ok(());
            }
        };
        if let Some(out) = self.decoder.decode(&message.subject, &env) {
            match self.store(&env, &out).await {
                Ok(Outcome::Stored) => self.due.notify_one(),
                Ok(Outcome::Skipped) => {}
                Err(e) => {
                    // The events service or the database is away: back on the stream shortly.
                    let _ = message.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await;
                    return Err(e);
                }
            }
        }
        if let Err(e) = message.ack().await {
            tracing::warn!(error = %e, "cannot acknowledge a stored webhook message; it will come again (idempotent)");
        }
        Ok(())
    }

    /// Reads the bus until told to stop.
    pub async fn run(self, js: jetstream::Context, spec: DurableConsumer, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(100);
        let mut consumer: Option<PullConsumer> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            let current = match consumer.take() {
                Some(c) => c,
                None => match durable::ensure_with_retry(&js, &spec, &mut stop).await {
                    Some(c) => c,
                    None => return,
                },
            };
            let mut messages = match current.messages().await {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read bus messages for webhooks; will retry");
                    durable::pause(&mut backoff, &mut stop).await;
                    continue;
                }
            };
            loop {
                let next = tokio::select! {
                    _ = durable::stopped(&mut stop) => return,
                    next = messages.next() => next,
                };
                match next {
                    None => break,
                    Some(Ok(message)) => match self.handle(&message).await {
                        Ok(()) => backoff = Duration::from_millis(100),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot store a webhook message; it will be redelivered");
                            durable::pause(&mut backoff, &mut stop).await;
                        }
                    },
                    Some(Err(e)) if durable::needs_new_consumer(&e) => {
                        tracing::warn!(error = %e, "webhooks consumer lost; setting it up again");
                        break;
                    }
                    Some(Err(e)) => tracing::debug!(error = %e, "webhooks consumer stream hiccup"),
                }
            }
            durable::pause(&mut backoff, &mut stop).await;
        }
    }
}
