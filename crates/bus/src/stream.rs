//! The JetStream stream that keeps every `stagecast.>` message.
use std::time::Duration;

use async_nats::jetstream::{self, stream};

pub const STREAM_NAME: &str = "STAGECAST";
pub const SUBJECTS: &str = "stagecast.>";

/// Creates the stream if it does not exist yet. Every publisher calls this at startup; the
/// config is the same everywhere so the first one wins and the rest find it.
pub async fn ensure_stream(js: &jetstream::Context) -> Result<stream::Stream, async_nats::Error> {
    let stream = js
        .get_or_create_stream(stream::Config {
            name: STREAM_NAME.into(),
            subjects: vec![SUBJECTS.into()],
            storage: stream::StorageType::File,
            // Long enough to cover a relay that crashed between publish and mark and came back.
            duplicate_window: Duration::from_secs(120),
            max_age: Duration::from_secs(7 * 24 * 3600),
            ..Default::default()
        })
        .await?;
    Ok(stream)
}

/// Connects to NATS, retrying in the background when the server is not up yet, so a service can
/// start (and keep its outbox filling) while NATS is away.
pub async fn connect(url: &str, name: &str) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::new().name(name).retry_on_initial_connect().connect(url).await
}
