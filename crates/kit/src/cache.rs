//! Redis, connected the same way by every service that uses it.
//!
//! Redis holds what can be rebuilt (rate-limit counters, the session deny-list, presence), so
//! when it is down callers fall back or fail at once: a request must never wait seconds for a
//! cache. The client library's defaults (six reconnect attempts with exponential backoff, no
//! response timeout) made a sign-in wait 9.5 s while Redis was stopped.
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long a command, or a connection attempt, may take before it counts as failed.
pub const TIMEOUT: Duration = Duration::from_millis(400);

fn config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
        // One retry 50 ms after a refused connect: a restart in progress gets a second chance,
        // an outage is reported within a fraction of a second.
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(200))
}

/// Connects to Redis at `url` (the service starts only if Redis answers).
pub async fn connect(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("invalid Redis URL: {e}"))?;
    ConnectionManager::new_with_config(client, config()).await.map_err(|e| anyhow::anyhow!("cannot connect to Redis: {e}"))
}
