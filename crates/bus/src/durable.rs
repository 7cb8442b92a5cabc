//! Durable pull consumers of the `STAGECAST` stream, shared by every replica of a service, and
//! the loop helpers their readers use (set up with retry, pause with backoff, stop on signal).
use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{
        AckPolicy, DeliverPolicy, PullConsumer,
        pull::{self, MessagesError, MessagesErrorKind},
    },
};
use tokio::sync::watch;

use crate::stream::STREAM_NAME;

/// A durable pull consumer of the `STAGECAST` stream, shared by every replica of the service:
/// each message goes to one of them, and what is not acknowledged is redelivered.
#[derive(Debug, Clone)]
pub struct DurableConsumer {
    pub name: String,
    /// The subjects it reads (one or more).
    pub filters: Vec<String>,
    /// Where a consumer that does not exist yet starts: the beginning of the stream, or only
    /// messages published after it was created.
    pub from_start: bool,
    /// How long a delivered message may stay unacknowledged before it is delivered again.
    pub ack_wait: Duration,
}

impl DurableConsumer {
    /// Finds the consumer, creating it if needed.
    pub async fn ensure(&self, js: &jetstream::Context) -> Result<PullConsumer, async_nats::Error> {
        let stream = js.get_stream(STREAM_NAME).await?;
        let config = pull::Config {
            durable_name: Some(self.name.clone()),
            filter_subject: if self.filters.len() == 1 { self.filters[0].clone() } else { String::new() },
            filter_subjects: if self.filters.len() > 1 { self.filters.clone() } else { Vec::new() },
            deliver_policy: if self.from_start { DeliverPolicy::All } else { DeliverPolicy::New },
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            // Enough for several full persister batches in flight.
            max_ack_pending: 5_000,
            ..Default::default()
        };
        Ok(stream.get_or_create_consumer(&self.name, config).await?)
    }
}

/// Whether an error from a consumer's message stream means the consumer must be set up
/// again (it is gone or unusable); other errors (a missed heartbeat, a failed pull) are
/// recovered by the stream itself.
pub fn needs_new_consumer(e: &MessagesError) -> bool {
    !matches!(e.kind(), MessagesErrorKind::MissingHeartbeat | MessagesErrorKind::Pull | MessagesErrorKind::Other)
}

/// Resolves once `stop` turns true, or its sender is gone (which also means "stop").
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// [`DurableConsumer::ensure`], retried with backoff while NATS or the stream are not there
/// yet; `None` once told to stop.
pub async fn ensure_with_retry(
    js: &jetstream::Context,
    spec: &DurableConsumer,
    stop: &mut watch::Receiver<bool>,
) -> Option<PullConsumer> {
    const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
    let mut backoff = Duration::from_millis(250);
    loop {
        let attempt = async {
            // The stream may be missing on a fresh NATS server: whoever comes first creates it.
            crate::stream::ensure_stream(js).await?;
            spec.ensure(js).await
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, attempt).await {
            Ok(Ok(consumer)) => return Some(consumer),
            Ok(Err(e)) => tracing::warn!(consumer = %spec.name, error = %e, "cannot set up the bus consumer; will retry"),
            Err(_) => tracing::warn!(consumer = %spec.name, "NATS did not answer; will retry setting up the bus consumer"),
        }
        tokio::select! {
            _ = stopped(stop) => return None,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Sleeps for `backoff` (doubling it, up to 5 s) unless told to stop first.
pub async fn pause(backoff: &mut Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = stopped(stop) => {}
        _ = tokio::time::sleep(*backoff) => {}
    }
    *backoff = (*backoff * 2).min(Duration::from_secs(5));
}
