//! Slow mode and the per-user rate limit, kept in Redis so every replica counts together.
//!
//! Keys:
//! - `stagecast:chat:slow:{event_id}:{user_id}`: exists while the user must wait (SET NX EX
//!   slow-mode seconds), so its remaining TTL is the retry-after.
//! - `stagecast:chat:rate:{event_id}:{user_id}:{window}`: a fixed-window counter (INCR), where
//!   `window` is the Unix time divided by the window length.
//!
//! Both are checked in one Lua script, so a message refused by the rate limit does not also
//! use up the user's slow-mode slot. If Redis is unreachable the message is let through (and
//! logged): a cache outage must not silence every chat.
use std::{
    sync::LazyLock,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::{Script, aio::ConnectionManager};
use stagecast_kit::{ApiError, ErrorKind};

use crate::domain::{EventId, SlowMode, UserId};

/// The rate limit: at most `messages` per `window` per user per room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub messages: u32,
    pub window: Duration,
}

/// The check itself, as a Lua function: returns {0} when allowed, {1, pttl_ms} for slow mode,
/// {2} for the rate limit. Shared by [`SCRIPT`] and the claim-and-check script of
/// [`crate::idempotency`], which runs it in the same round trip as the idempotency claim.
pub const CHECK_FUNCTION: &str = r"
local function throttle(slow_key, rate_key, slow, limit, window)
  if slow > 0 then
    if not redis.call('SET', slow_key, '1', 'NX', 'EX', slow) then
      return {1, redis.call('PTTL', slow_key)}
    end
  end
  local n = redis.call('INCR', rate_key)
  if n == 1 then
    redis.call('EXPIRE', rate_key, window + 1)
  end
  if n > limit then
    if slow > 0 then
      redis.call('DEL', slow_key)
    end
    return {2, 0}
  end
  return {0, 0}
end
";

/// Hashed once; `invoke_async` sends EVALSHA and loads the script only when Redis does not
/// have it yet.
static SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{CHECK_FUNCTION}return throttle(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))"
    ))
});

fn slow_key(event: EventId, user: UserId) -> String {
    format!("stagecast:chat:slow:{event}:{user}")
}

/// Whole seconds, rounded up and at least one: a client told "0" would retry at once and be
/// refused again.
fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_millis().div_ceil(1000).max(1) as u64)
}

/// One message's throttle check: its keys, arguments and how to read the answer.
pub struct Check {
    pub slow_key: String,
    pub rate_key: String,
    slow: SlowMode,
    limit: RateLimit,
    now: Duration,
    slot: u64,
    window: u64,
}

impl Check {
    pub fn new(event: EventId, user: UserId, slow: SlowMode, limit: RateLimit) -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let window = limit.window.as_secs().max(1);
        let slot = now.as_secs() / window;
        Check {
            slow_key: slow_key(event, user),
            rate_key: format!("stagecast:chat:rate:{event}:{user}:{slot}"),
            slow,
            limit,
            now,
            slot,
            window,
        }
    }

    /// Adds the Lua function's arguments after its two keys: slow-mode seconds, limit, window.
    pub fn add_args(&self, invocation: &mut redis::ScriptInvocation<'_>) {
        invocation.arg(self.slow.secs()).arg(self.limit.messages).arg(self.window);
    }

    /// The refusal the Lua function's answer means, if any.
    pub fn verdict(&self, answer: &[i64]) -> Result<(), ApiError> {
        match answer {
            [1, pttl, ..] => {
                // A key without expiry (-1) or gone (-2) cannot happen with SET EX; wait a full period.
                let wait =
                    if *pttl > 0 { Duration::from_millis(*pttl as u64) } else { Duration::from_secs(self.slow.secs().into()) };
                let wait = whole_seconds(wait);
                Err(ApiError::new(
                    ErrorKind::RateLimited,
                    "slow_mode",
                    format!("slow mode is on: you can send again in {} s", wait.as_secs()),
                )
                .with_retry_after(wait))
            }
            [2, ..] => {
                let window_end = Duration::from_secs((self.slot + 1) * self.window);
                let wait = whole_seconds(window_end.saturating_sub(self.now));
                Err(ApiError::new(
                    ErrorKind::RateLimited,
                    "rate_limited",
                    format!("at most {} messages per {} s; try again in {} s", self.limit.messages, self.window, wait.as_secs()),
                )
                .with_retry_after(wait))
            }
            _ => Ok(()),
        }
    }
}

/// Counts one message and refuses it under slow mode or beyond the rate limit.
pub async fn check(redis: &mut ConnectionManager, check: &Check) -> Result<(), ApiError> {
    let mut invocation = SCRIPT.key(&check.slow_key);
    invocation.key(&check.rate_key);
    check.add_args(&mut invocation);
    let result: redis::RedisResult<Vec<i64>> = invocation.invoke_async(redis).await;
    match result {
        Ok(answer) => check.verdict(&answer),
        Err(e) => {
            tracing::warn!(error = %e, "chat throttle unavailable; allowing the message");
            Ok(())
        }
    }
}

/// Gives back the slow-mode slot of a message that was refused after the throttle let it
/// through (blocked term, publish failure): slow mode paces messages that are shown.
pub async fn release_slow_mode(redis: &mut ConnectionManager, event: EventId, user: UserId) {
    let result: redis::RedisResult<()> = redis::cmd("DEL").arg(slow_key(event, user)).query_async(redis).await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot release a slow-mode slot");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::from_millis(9_001)), Duration::from_secs(10));
        assert_eq!(whole_seconds(Duration::from_millis(10_000)), Duration::from_secs(10));
        assert_eq!(whole_seconds(Duration::ZERO), Duration::from_secs(1));
    }
}
