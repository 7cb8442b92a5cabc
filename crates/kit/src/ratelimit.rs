//! The one rate limiter for everything that must hold across replicas: GCRA (the generic cell
//! rate algorithm) kept in Redis, one key per bucket holding the "theoretical arrival time".
//!
//! Why GCRA and not fixed windows: a fixed window lets twice the limit through around a window
//! edge (all of it at the end of one window, all again at the start of the next). GCRA spaces
//! requests evenly at `period / limit` and allows a burst of at most `limit`, with one key and
//! one round trip, and its answer says exactly when the next request will pass.
//!
//! Time is Redis's own (`TIME`), so replicas with skewed clocks still count together. The
//! function is Lua text so services can run it inside larger scripts (chat runs it with slow
//! mode and its idempotency claim in one round trip).
use std::{sync::LazyLock, time::Duration};

use redis::{Script, aio::ConnectionManager};

use crate::{ApiError, ErrorKind};

/// `gcra(key, limit, period_ms)` → `{allowed (1/0), remaining, retry_after_ms, reset_ms}`.
/// `reset_ms` is when the bucket is full again.
pub const GCRA_FUNCTION: &str = r"
local function gcra(key, limit, period_ms)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local interval = period_ms / limit
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - period_ms
  if now < allow_at then
    return {0, 0, math.ceil(allow_at - now), math.ceil(tat - now)}
  end
  redis.call('SET', key, tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1)
  local remaining = math.floor((period_ms - (new_tat - now)) / interval)
  return {1, remaining, 0, math.ceil(new_tat - now)}
end
";

static SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(&format!("{GCRA_FUNCTION}return gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))")));

/// At most `limit` in any `period`, spaced out evenly once the burst is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u32,
    pub period: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests that would pass right now after this one.
    pub remaining: u32,
    /// When a refused request would pass.
    pub retry_after: Duration,
    /// When the whole burst is available again.
    pub reset: Duration,
}

impl Decision {
    /// Reads the Lua function's answer.
    pub fn from_answer(answer: &[i64]) -> Option<Self> {
        let ms = |v: i64| Duration::from_millis(v.max(0) as u64);
        match answer {
            [allowed, remaining, retry, reset, ..] => Some(Self {
                allowed: *allowed == 1,
                remaining: (*remaining).clamp(0, i64::from(u32::MAX)) as u32,
                retry_after: ms(*retry),
                reset: ms(*reset),
            }),
            _ => None,
        }
    }
}

/// Whole seconds, rounded up and at least one: a client told "0" would retry at once and be
/// refused again.
pub fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_millis().div_ceil(1000).max(1) as u64)
}

/// Counts one request against `key` (namespaced here) at `rate`.
pub async fn take(redis: &mut ConnectionManager, key: &str, rate: Rate) -> redis::RedisResult<Decision> {
    let period_ms = rate.period.as_millis().max(1) as u64;
    let answer: Vec<i64> =
        SCRIPT.key(format!("stagecast:gcra:{key}")).arg(rate.limit.max(1)).arg(period_ms).invoke_async(redis).await?;
    Decision::from_answer(&answer).ok_or_else(|| redis::RedisError::from((redis::ErrorKind::Parse, "unexpected GCRA answer")))
}

/// The refusal of a request `decision` did not allow, with its `Retry-After`.
pub fn refusal(code: &'static str, what: &str, decision: &Decision) -> ApiError {
    let wait = whole_seconds(decision.retry_after);
    ApiError::new(ErrorKind::RateLimited, code, format!("{what}; try again in {} s", wait.as_secs())).with_retry_after(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_back_and_waits_round_up_to_whole_seconds() {
        let d = Decision::from_answer(&[0, 0, 1200, 59_000]).unwrap();
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Duration::from_millis(1200));
        assert_eq!(whole_seconds(d.retry_after), Duration::from_secs(2));
        assert_eq!(whole_seconds(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(Decision::from_answer(&[1, 4, 0, 100]).unwrap().remaining, 4);
        assert_eq!(Decision::from_answer(&[1]), None);
    }
}
