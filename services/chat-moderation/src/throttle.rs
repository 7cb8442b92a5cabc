//! Slow mode and the per-user rate limit, kept in Redis so every replica counts together.
//!
//! Keys:
//! - `stagecast:chat:slow:{event_id}:{user_id}`: exists while the user must wait (SET NX EX
//!   slow-mode seconds), so its remaining TTL is the retry-after.
//! - `stagecast:chat:rate:{event_id}:{user_id}`: the shared GCRA limiter's state
//!   ([`stagecast_kit::ratelimit`]): at most `messages` in any `window`, never twice that
//!   around a window's edge.
//!
//! Both are checked in one Lua script, so a message refused by the rate limit does not also
//! use up the user's slow-mode slot. If Redis is unreachable the message is let through (and
//! logged): a cache outage must not silence every chat.
use std::{sync::LazyLock, time::Duration};

use redis::{Script, aio::ConnectionManager};
use stagecast_kit::{
    ApiError, ErrorKind,
    ratelimit::{GCRA_FUNCTION, whole_seconds},
};

use crate::domain::{EventId, SlowMode, UserId};

/// The rate limit: at most `messages` per `window` per user per room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub messages: u32,
    pub window: Duration,
}

/// The check itself, as Lua functions: returns {0} when allowed, {1, pttl_ms} for slow mode,
/// {2, retry_after_ms} for the rate limit. Shared by [`SCRIPT`] and the claim-and-check script
/// of [`crate::idempotency`], which runs it in the same round trip as the idempotency claim.
pub static CHECK_FUNCTION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{GCRA_FUNCTION}{}",
        r"
local function throttle(slow_key, rate_key, slow, limit, window_ms)
  if slow > 0 then
    if not redis.call('SET', slow_key, '1', 'NX', 'EX', slow) then
      return {1, redis.call('PTTL', slow_key)}
    end
  end
  local d = gcra(rate_key, limit, window_ms)
  if d[1] == 0 then
    if slow > 0 then
      redis.call('DEL', slow_key)
    end
    return {2, d[3]}
  end
  return {0, 0}
end
"
    )
});

/// Hashed once; `invoke_async` sends EVALSHA and loads the script only when Redis does not
/// have it yet.
static SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{}return throttle(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))",
        *CHECK_FUNCTION
    ))
});

fn slow_key(event: EventId, user: UserId) -> String {
    format!("stagecast:chat:slow:{event}:{user}")
}

/// One message's throttle check: its keys, arguments and how to read the answer.
pub struct Check {
    pub slow_key: String,
    pub rate_key: String,
    slow: SlowMode,
    limit: RateLimit,
}

impl Check {
    pub fn new(event: EventId, user: UserId, slow: SlowMode, limit: RateLimit) -> Self {
        Check { slow_key: slow_key(event, user), rate_key: format!("stagecast:chat:rate:{event}:{user}"), slow, limit }
    }

    /// Adds the Lua function's arguments after its two keys: slow-mode seconds, limit, window (ms).
    pub fn add_args(&self, invocation: &mut redis::ScriptInvocation<'_>) {
        invocation.arg(self.slow.secs()).arg(self.limit.messages.max(1)).arg(self.limit.window.as_millis().max(1) as u64);
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
            [2, retry_ms, ..] => {
                let wait = whole_seconds(Duration::from_millis((*retry_ms).max(0) as u64));
                Err(ApiError::new(
                    ErrorKind::RateLimited,
                    "rate_limited",
                    format!(
                        "at most {} messages per {} s; try again in {} s",
                        self.limit.messages,
                        self.limit.window.as_secs().max(1),
                        wait.as_secs()
                    ),
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
