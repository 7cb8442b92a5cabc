//! Which rooms exist and who runs them, kept in step with the events service.
//!
//! The "chat-rooms" durable consumer applies every `stagecast.events.v1.event.>` message to the
//! `rooms` table. It is idempotent: the envelope id is recorded in `processed_messages` in the
//! same transaction as the change, so a redelivery changes nothing, and a room row only ever
//! moves to a newer version of its event (`event_updated_at`).
//!
//! When a request names a room the bus has not brought yet (the event was created a moment
//! ago), [`Rooms::view`] asks the events service once with GetEvent and stores the answer.
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use chrono::Utc;
use futures::StreamExt;
use prost::Name;
use sqlx::PgPool;
use stagecast_bus::Envelope;
use stagecast_kit::{ApiError, ErrorKind};
use stagecast_proto::events::v1::{self as events_pb, events_service_client::EventsServiceClient};
use stagecast_telemetry::grpc::PropagateTrace;
use tokio::sync::watch;
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};

use crate::{
    bus::{self, DurableConsumer},
    domain::{EventId, Room, UserId},
    store::{self, RoomView},
};

pub type EventsClient = EventsServiceClient<InterceptedService<Channel, PropagateTrace>>;

/// Processed ids older than this are forgotten: the stream keeps messages 7 days, so none
/// older can be redelivered.
const REMEMBER_PROCESSED: chrono::Duration = chrono::Duration::days(8);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Rooms as the request path sees them.
#[derive(Clone)]
pub struct Rooms {
    pool: PgPool,
    events: EventsClient,
}

fn event_not_found(event: EventId) -> ApiError {
    ApiError::not_found("event_not_found", format!("there is no event {event}"))
}

impl Rooms {
    pub fn new(pool: PgPool, events: EventsClient) -> Self {
        Self { pool, events }
    }

    /// The room of `event` and `user`'s standing in it, asking the events service when the
    /// room is not known here yet.
    pub async fn view(&self, event: EventId, user: UserId) -> Result<RoomView, ApiError> {
        if let Some(view) = store::room_view(&self.pool, event, user).await? {
            return Ok(view);
        }
        self.fetch(event).await?;
        store::room_view(&self.pool, event, user)
            .await?
            .ok_or_else(|| ApiError::internal(format!("room {event} is missing right after it was stored")))
    }

    /// The room of `event`, asking the events service when it is not known here yet.
    pub async fn room(&self, event: EventId) -> Result<Room, ApiError> {
        if let Some(room) = store::find_room(&self.pool, event).await? {
            return Ok(room);
        }
        self.fetch(event).await?;
        store::find_room(&self.pool, event)
            .await?
            .ok_or_else(|| ApiError::internal(format!("room {event} is missing right after it was stored")))
    }

    async fn fetch(&self, event: EventId) -> Result<(), ApiError> {
        let request = events_pb::GetEventRequest { id: event.to_string() };
        match self.events.clone().get_event(request).await {
            Ok(reply) => {
                let room = Room::try_from(reply.into_inner())
                    .map_err(|e| ApiError::internal(format!("events service returned an invalid event: {e}")))?;
                if room.event_id != event {
                    return Err(ApiError::internal(format!("asked the events service for {event}, got {}", room.event_id)));
                }
                store::upsert_room(&self.pool, &room).await?;
                tracing::debug!(event_id = %event, "room fetched from the events service");
                Ok(())
            }
            Err(status) if status.code() == Code::NotFound => Err(event_not_found(event)),
            // An invalid id is refused before this call, so anything else means the events
            // service could not answer: say so rather than claim the event does not exist.
            Err(status) => {
                tracing::warn!(event_id = %event, code = ?status.code(), message = status.message(), "cannot fetch an unknown room's event");
                Err(ApiError::new(
                    ErrorKind::Unavailable,
                    "events_unavailable",
                    "cannot look this event up right now; retry shortly",
                )
                .with_retry_after(Duration::from_secs(1)))
            }
        }
    }
}

/// What applying one bus message did.
#[derive(Debug, PartialEq, Eq)]
enum Applied {
    Changed,
    /// Seen before, or an older version of the event than the stored one.
    NoChange,
    /// Not an event lifecycle message (nothing under the filter today, but the subject space
    /// may grow).
    Ignored,
}

/// A message that can never be applied; retrying it would not help.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Poison(String);

#[derive(Debug, thiserror::Error)]
enum ApplyError {
    #[error(transparent)]
    Poison(#[from] Poison),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// The event a lifecycle message carries, or `None` for other message types.
fn event_of(env: &Envelope) -> Result<Option<events_pb::Event>, Poison> {
    let poison = |e: stagecast_bus::EnvelopeError| Poison(e.to_string());
    let t = env.type_name.as_str();
    let event = if t == events_pb::EventScheduled::full_name() {
        env.open::<events_pb::EventScheduled>().map_err(poison)?.event
    } else if t == events_pb::EventUpdated::full_name() {
        env.open::<events_pb::EventUpdated>().map_err(poison)?.event
    } else if t == events_pb::EventWentLive::full_name() {
        env.open::<events_pb::EventWentLive>().map_err(poison)?.event
    } else if t == events_pb::EventEnded::full_name() {
        env.open::<events_pb::EventEnded>().map_err(poison)?.event
    } else if t == events_pb::EventCancelled::full_name() {
        env.open::<events_pb::EventCancelled>().map_err(poison)?.event
    } else {
        return Ok(None);
    };
    event.map(Some).ok_or_else(|| Poison(format!("{t} without an event")))
}

async fn apply(pool: &PgPool, payload: &[u8]) -> Result<Applied, ApplyError> {
    let env = Envelope::decode(payload).map_err(|e| Poison(e.to_string()))?;
    let Some(event) = event_of(&env)? else {
        return Ok(Applied::Ignored);
    };
    let room = Room::try_from(event).map_err(|e| Poison(e.to_string()))?;
    let mut tx = pool.begin().await?;
    if !store::mark_processed(&mut tx, env.id).await? {
        return Ok(Applied::NoChange);
    }
    let changed = store::upsert_room(&mut *tx, &room).await?;
    tx.commit().await?;
    if changed {
        tracing::debug!(event_id = %room.event_id, status = room.status.as_str(), "room updated from the bus");
    }
    Ok(if changed { Applied::Changed } else { Applied::NoChange })
}

/// Applies one delivered message and settles it with JetStream.
async fn handle(pool: &PgPool, message: &jetstream::Message) -> Result<(), sqlx::Error> {
    match apply(pool, &message.payload).await {
        Ok(_) => {
            if let Err(e) = message.ack().await {
                // It will be redelivered and found in processed_messages.
                tracing::warn!(error = %e, "cannot acknowledge an applied event message");
            }
            Ok(())
        }
        Err(ApplyError::Poison(e)) => {
            tracing::warn!(subject = %message.subject, error = %e, "dropping an event message that cannot be applied");
            if let Err(e) = message.ack_with(AckKind::Term).await {
                tracing::warn!(error = %e, "cannot terminate an unusable event message");
            }
            Ok(())
        }
        Err(ApplyError::Db(e)) => {
            // Back on the stream shortly; later messages of other events go on meanwhile.
            if let Err(e) = message.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await {
                tracing::warn!(error = %e, "cannot return an event message for redelivery");
            }
            Err(e)
        }
    }
}

/// Runs the rooms consumer until `stop` turns true. `consumer` is the one set up at startup,
/// if that worked.
pub async fn follow_events(
    pool: PgPool,
    js: jetstream::Context,
    spec: DurableConsumer,
    mut consumer: Option<PullConsumer>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut next_prune = tokio::time::Instant::now();
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
        let mut messages = match current.messages().await {
            Ok(messages) => messages,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read event messages; will retry");
                bus::pause(&mut backoff, &mut stop).await;
                continue;
            }
        };
        loop {
            if tokio::time::Instant::now() >= next_prune {
                next_prune += PRUNE_EVERY;
                if let Err(e) = store::prune_processed(&pool, Utc::now() - REMEMBER_PROCESSED).await {
                    tracing::warn!(error = %e, "cannot prune processed bus message ids");
                }
            }
            let next = tokio::select! {
                _ = bus::stopped(&mut stop) => return,
                // Wakes at least hourly for pruning, even when no event changes.
                next = tokio::time::timeout_at(next_prune, messages.next()) => next,
            };
            match next {
                Err(_) => {}
                Ok(None) => break,
                Ok(Some(Ok(message))) => match handle(&pool, &message).await {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot apply an event message; it will be redelivered");
                        bus::pause(&mut backoff, &mut stop).await;
                    }
                },
                Ok(Some(Err(e))) if bus::needs_new_consumer(&e) => {
                    tracing::warn!(error = %e, "rooms consumer lost its consumer; setting it up again");
                    break;
                }
                Ok(Some(Err(e))) => tracing::debug!(error = %e, "rooms consumer stream hiccup"),
            }
        }
        // The stream ended or the consumer is gone: set it up again after a pause.
        bus::pause(&mut backoff, &mut stop).await;
    }
}
