//! What the events service tells the bus, and on which subject.
//!
//! Subjects: `stagecast.events.v1.event.{id}.{scheduled|updated|live|ended|cancelled}`, so a
//! subscriber can follow one event (`stagecast.events.v1.event.{id}.>`) or one kind of change
//! (`stagecast.events.v1.event.*.live`). Each message carries the event as it is after the change.
//! Stage changes go to `stagecast.events.v1.event.{id}.stage` (`StageChanged`), under the same
//! per-event prefix, so a follower of one event sees its stage too.
use sqlx::PgConnection;
use stagecast_proto::events::v1 as pb;

use crate::domain::{Event, EventId, StageChange, Transition};

/// One announced change; exactly one message is written per change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Scheduled,
    Updated,
    WentLive,
    Ended,
    Cancelled,
}

impl From<Transition> for Change {
    fn from(t: Transition) -> Self {
        match t {
            Transition::GoLive => Change::WentLive,
            Transition::End => Change::Ended,
            Transition::Cancel => Change::Cancelled,
        }
    }
}

/// The subject a change of event `id` is published on.
pub fn subject(id: EventId, change: Change) -> String {
    let suffix = match change {
        Change::Scheduled => "scheduled",
        Change::Updated => "updated",
        Change::WentLive => "live",
        Change::Ended => "ended",
        Change::Cancelled => "cancelled",
    };
    format!("stagecast.events.v1.event.{id}.{suffix}")
}

/// Writes the message for `change` into the outbox of the transaction `tx` belongs to; it is
/// published if and only if that transaction commits.
pub async fn enqueue(tx: &mut PgConnection, event: &Event, change: Change) -> Result<(), sqlx::Error> {
    let subject = subject(event.id, change);
    let event_pb = Some(pb::Event::from(event));
    match change {
        Change::Scheduled => stagecast_bus::outbox::enqueue(tx, &subject, &pb::EventScheduled { event: event_pb }).await?,
        Change::Updated => stagecast_bus::outbox::enqueue(tx, &subject, &pb::EventUpdated { event: event_pb }).await?,
        Change::WentLive => stagecast_bus::outbox::enqueue(tx, &subject, &pb::EventWentLive { event: event_pb }).await?,
        Change::Ended => stagecast_bus::outbox::enqueue(tx, &subject, &pb::EventEnded { event: event_pb }).await?,
        Change::Cancelled => stagecast_bus::outbox::enqueue(tx, &subject, &pb::EventCancelled { event: event_pb }).await?,
    };
    Ok(())
}

/// The subject stage changes of event `id` are published on.
pub fn stage_subject(id: EventId) -> String {
    format!("stagecast.events.v1.event.{id}.stage")
}

/// Writes a stage change into the outbox of `tx`'s transaction, with the target's grants after
/// it: the SFU applies them from the bus (a change the gateway could not apply at once still
/// reaches it, and a restarted SFU rebuilds who was removed).
pub async fn enqueue_stage(
    tx: &mut PgConnection,
    id: EventId,
    change: &StageChange,
    grants: Option<&stagecast_authn::MediaGrants>,
) -> Result<(), sqlx::Error> {
    let mut message = crate::grpc::stage_changed(id, change);
    message.target_grants = grants.map(crate::grpc::media_grants);
    stagecast_bus::outbox::enqueue(tx, &stage_subject(id), &message).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_the_event_and_the_change() {
        let id = EventId::parse("0190f1f4-4a6e-7b1c-8d2e-3f4a5b6c7d8e").expect("valid");
        assert_eq!(subject(id, Change::Scheduled), "stagecast.events.v1.event.0190f1f4-4a6e-7b1c-8d2e-3f4a5b6c7d8e.scheduled");
        assert_eq!(
            subject(id, Change::from(Transition::GoLive)),
            "stagecast.events.v1.event.0190f1f4-4a6e-7b1c-8d2e-3f4a5b6c7d8e.live"
        );
        assert!(subject(id, Change::Ended).ends_with(".ended"));
        assert!(subject(id, Change::Cancelled).ends_with(".cancelled"));
        assert!(subject(id, Change::Updated).ends_with(".updated"));
    }
}
