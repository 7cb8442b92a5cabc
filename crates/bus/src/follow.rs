//! Following other services' messages on core NATS. No durable consumer: a follower also
//! reconciles on a timer, so a message missed while disconnected is caught up by it.
use std::future::Future;

use futures::StreamExt;
use prost::{Message, Name};
use uuid::Uuid;

use crate::envelope::Envelope;

/// Subscribes to `subject`; a failure is logged (the follower's reconcile still runs).
pub async fn subscribe(nats: &async_nats::Client, subject: &str) -> Option<async_nats::Subscriber> {
    match nats.subscribe(subject.to_owned()).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(subject, error = %e, "cannot follow a subject");
            None
        }
    }
}

/// Hands every message of type `M` on `subject` to `apply`, one at a time; others are skipped.
pub async fn messages<M, F, Fut>(nats: async_nats::Client, subject: &str, mut apply: F)
where
    M: Message + Name + Default,
    F: FnMut(M) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(mut sub) = subscribe(&nats, subject).await else { return };
    while let Some(msg) = sub.next().await {
        if let Some(m) = Envelope::decode(&msg.payload).ok().and_then(|env| env.open::<M>().ok()) {
            apply(m).await;
        }
    }
}

/// What an events-service subject says happened: `stagecast.events.v1.event.{id}.{what}`.
pub fn event_change(subject: &str) -> Option<(Uuid, &str)> {
    let rest = subject.strip_prefix("stagecast.events.v1.event.")?;
    let (id, what) = rest.split_once('.')?;
    Some((Uuid::parse_str(id).ok()?, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_subject_names_the_event_and_what_happened() {
        let id = Uuid::now_v7();
        assert_eq!(event_change(&format!("stagecast.events.v1.event.{id}.live")), Some((id, "live")));
        assert_eq!(event_change("stagecast.events.v1.event.not-a-uuid.live"), None);
        assert_eq!(event_change("stagecast.chat.v1.room.x.y"), None);
    }
}
