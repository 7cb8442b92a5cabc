//! What the chat service says on the bus, and the durable consumers it reads with.
//!
//! Subjects (all in the `STAGECAST` stream):
//! - `stagecast.chat.v1.room.{event_id}.message`: `ChatMessage`, published straight to
//!   JetStream by Send (and by approving a held message). JetStream is the durable log: Send
//!   answers only after JetStream acknowledged, and the persister writes Postgres from there.
//!   `Nats-Msg-Id` and the envelope id are the message id, so a re-publish of the same message
//!   is dropped within the stream's duplicate window.
//! - `stagecast.chat.v1.room.{event_id}.moderation`: `ModerationAction`, through the outbox in
//!   the same transaction as the action.
//!
//! Consumed: `stagecast.events.v1.event.>` (rooms) and `stagecast.chat.v1.room.*.message`
//! (the persister).
use async_nats::{HeaderMap, jetstream};
use prost::{Message, Name};
use sqlx::PgConnection;
use stagecast_bus::{
    Envelope,
    envelope::{HEADER_MSG_ID, HEADER_TRACEPARENT, HEADER_TYPE},
};
use stagecast_proto::chat::v1 as pb;

use crate::domain::{ChatMessage, EventId, ModerationAction};

/// Filter of the persister's consumer.
pub const MESSAGE_SUBJECTS: &str = "stagecast.chat.v1.room.*.message";
/// Filter of the rooms consumer.
pub const EVENT_SUBJECTS: &str = "stagecast.events.v1.event.>";

pub fn message_subject(event: EventId) -> String {
    format!("stagecast.chat.v1.room.{event}.message")
}

pub fn moderation_subject(event: EventId) -> String {
    format!("stagecast.chat.v1.room.{event}.moderation")
}

#[derive(Debug, thiserror::Error)]
#[error("cannot publish to JetStream: {0}")]
pub struct PublishError(String);

/// Publishes an accepted message and waits for JetStream's acknowledgement: once this returns
/// Ok the message is stored and will be persisted and delivered even if this process dies.
pub async fn publish_message(js: &jetstream::Context, message: &ChatMessage) -> Result<(), PublishError> {
    let envelope = Envelope {
        id: message.id.as_uuid(),
        type_name: pb::ChatMessage::full_name(),
        occurred_at: message.sent_at,
        payload: pb::ChatMessage::from(message).encode_to_vec(),
    };
    let mut headers = HeaderMap::new();
    headers.insert(HEADER_MSG_ID, message.id.to_string().as_str());
    headers.insert(HEADER_TYPE, envelope.type_name.as_str());
    if let Some(tp) = stagecast_telemetry::current_traceparent() {
        headers.insert(HEADER_TRACEPARENT, tp.as_str());
    }
    let ack = js
        .publish_with_headers(message_subject(message.event_id), headers, envelope.encode().into())
        .await
        .map_err(|e| PublishError(e.to_string()))?;
    ack.await.map_err(|e| PublishError(e.to_string()))?;
    Ok(())
}

/// Writes the announcement of `action` into the outbox of the transaction `tx` belongs to.
pub async fn enqueue_moderation(tx: &mut PgConnection, action: &ModerationAction) -> Result<(), sqlx::Error> {
    stagecast_bus::outbox::enqueue(tx, &moderation_subject(action.event_id), &pb::ModerationAction::from(action))
        .await
        .map(|_| ())
}

pub use stagecast_bus::durable::{DurableConsumer, ensure_with_retry, needs_new_consumer, pause, stopped};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_subjects_are_under_the_persister_filter() {
        let id = EventId::from_uuid(uuid::Uuid::nil());
        assert_eq!(message_subject(id), "stagecast.chat.v1.room.00000000-0000-0000-0000-000000000000.message");
        assert!(moderation_subject(id).ends_with(".moderation"));
    }
}
