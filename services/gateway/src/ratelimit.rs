//! Fixed-window rate limits kept in Redis, so every gateway replica counts together.
use std::time::Duration;

use redis::aio::ConnectionManager;
use stagecast_kit::{ApiError, ErrorKind};

/// Counts one hit for `bucket` and refuses it once `limit` hits happened in the current window.
///
/// If Redis is unreachable the request is let through (and logged): a cache outage must not lock
/// every user out of signing in. Brute force is still slowed by argon2 in the auth service.
pub async fn check(redis: &mut ConnectionManager, bucket: &str, limit: u32, window: Duration) -> Result<(), ApiError> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let window_secs = window.as_secs().max(1);
    let slot = now / window_secs;
    let key = format!("stagecast:rl:{bucket}:{slot}");
    let result: redis::RedisResult<(u64,)> =
        redis::pipe().atomic().incr(&key, 1u64).expire(&key, window_secs as i64 + 1).ignore().query_async(redis).await;
    match result {
        Ok((count,)) if count > limit as u64 => {
            let retry_after = Duration::from_secs((slot + 1) * window_secs - now);
            Err(ApiError::new(
                ErrorKind::RateLimited,
                "rate_limited",
                format!("too many attempts; try again in {} s", retry_after.as_secs().max(1)),
            )
            .with_retry_after(retry_after))
        }
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "rate limiter unavailable; allowing request");
            Ok(())
        }
    }
}
