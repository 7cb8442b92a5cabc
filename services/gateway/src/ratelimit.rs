//! The gateway's limits (sign-up, sign-in, avatar uploads, guest joins, media tokens, API
//! keys), counted by the shared GCRA limiter in Redis so every gateway replica counts together.
use std::time::Duration;

use redis::aio::ConnectionManager;
use stagecast_kit::{
    ApiError,
    ratelimit::{self, Rate},
};

/// Counts one hit for `bucket` and refuses it once more than `limit` came within `window`
/// (spaced out evenly after a burst of `limit`).
///
/// If Redis is unreachable the request is let through (and logged): a cache outage must not lock
/// every user out of signing in. Brute force is still slowed by argon2 in the auth service.
pub async fn check(redis: &mut ConnectionManager, bucket: &str, limit: u32, window: Duration) -> Result<(), ApiError> {
    match ratelimit::take(redis, bucket, Rate { limit, period: window }).await {
        Ok(d) if d.allowed => Ok(()),
        Ok(d) => Err(ratelimit::refusal("rate_limited", "too many requests", &d)),
        Err(e) => {
            tracing::warn!(error = %e, "rate limiter unavailable; allowing request");
            Ok(())
        }
    }
}
