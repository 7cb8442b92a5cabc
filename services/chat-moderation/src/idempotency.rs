//! Exactly one result per (event, user, client_msg_id): a retried Send gets the first answer.
//!
//! Key `stagecast:chat:send:{event_id}:{user_id}:{client_msg_id}` in Redis:
//! 1. the first attempt claims it with `SET NX` of a pending marker (expiring after
//!    [`PENDING_TTL`], so a crash mid-send does not block retries for long);
//! 2. once the message is published (or held) the marker is replaced by the encoded
//!    `SendResponse`, kept for [`RESULT_TTL`]; a retry returns it and publishes nothing;
//! 3. a refused attempt deletes its own marker, so the client may retry the same id later
//!    (after a slow-mode wait, say).
//!
//! A duplicate arriving while the first attempt is still in flight waits up to
//! [`IN_FLIGHT_WAIT`] for its result, then gives up with `duplicate_in_flight`.
//!
//! A message that passes the room's checks is claimed and throttled in one round trip
//! ([`claim_and_check`]): the throttle's Lua function runs in the same script as the claim,
//! and a refusal gives the claim back there and then.
//!
//! Unlike the throttle, this fails closed: without Redis the service cannot promise that a
//! retry is not a second message, so Send answers `chat_unavailable` (retryable).
use std::{sync::LazyLock, time::Duration};

use prost::Message;
use redis::{Script, aio::ConnectionManager};
use stagecast_kit::{ApiError, ErrorKind};
use stagecast_proto::chat::v1 as pb;
use uuid::Uuid;

use crate::{
    domain::{ClientMsgId, EventId, Sent, UserId},
    throttle::{self, Check},
};

pub const PENDING_TTL: Duration = Duration::from_secs(30);
pub const RESULT_TTL: Duration = Duration::from_secs(600);
pub const IN_FLIGHT_WAIT: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(25);

const PENDING: &[u8] = b"pending:";
const DONE: &[u8] = b"done:";

/// The Redis key of one Send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendKey(String);

impl SendKey {
    pub fn new(event: EventId, user: UserId, client_msg_id: &ClientMsgId) -> Self {
        // The client id comes last, so whatever it contains cannot be mistaken for another part.
        Self(format!("stagecast:chat:send:{event}:{user}:{}", client_msg_id.as_str()))
    }
}

/// This attempt's claim on a key; only its holder can release it.
#[derive(Debug)]
pub struct Claim {
    key: SendKey,
    marker: Vec<u8>,
}

pub enum Claimed {
    /// First attempt: go ahead, then [`complete`] or [`release`].
    Fresh(Claim),
    /// A retry: this is what the first attempt answered.
    Done(Sent),
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "redis unavailable for send idempotency");
    ApiError::new(ErrorKind::Unavailable, "chat_unavailable", "chat is briefly unavailable; retry the same message")
}

pub async fn claim(redis: &mut ConnectionManager, key: SendKey) -> Result<Claimed, ApiError> {
    let marker = [PENDING, Uuid::new_v4().as_bytes()].concat();
    let deadline = tokio::time::Instant::now() + IN_FLIGHT_WAIT;
    loop {
        let set: Option<String> = redis::cmd("SET")
            .arg(&key.0)
            .arg(&marker)
            .arg("NX")
            .arg("EX")
            .arg(PENDING_TTL.as_secs())
            .query_async(redis)
            .await
            .map_err(unavailable)?;
        if set.is_some() {
            return Ok(Claimed::Fresh(Claim { key, marker }));
        }
        let current: Option<Vec<u8>> = redis::cmd("GET").arg(&key.0).query_async(redis).await.map_err(unavailable)?;
        match current {
            Some(value) if value.starts_with(DONE) => {
                let response = pb::SendResponse::decode(&value[DONE.len()..])
                    .map_err(|e| ApiError::internal(format!("stored send result does not decode: {e}")))?;
                let sent =
                    Sent::try_from(response).map_err(|e| ApiError::internal(format!("stored send result is invalid: {e}")))?;
                return Ok(Claimed::Done(sent));
            }
            // Released (or expired) in between: try to claim it again at once.
            None => continue,
            Some(_) => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::new(
                ErrorKind::Conflict,
                "duplicate_in_flight",
                "a message with this client_msg_id is still being sent; retry shortly",
            )
            .with_retry_after(Duration::from_secs(1)));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Claims the key and, for a throttled sender, counts the message against slow mode and the
/// rate limit, in one script. Returns {3} when the key is taken (a retry, or one in flight),
/// else the throttle's answer ({0} for no throttle); a refusal deletes the fresh claim.
static CLAIM_AND_CHECK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{}{}",
        *throttle::CHECK_FUNCTION,
        r"
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', tonumber(ARGV[2])) then
  return {3, 0}
end
if #KEYS < 3 then
  return {0, 0}
end
local verdict = throttle(KEYS[2], KEYS[3], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
if verdict[1] ~= 0 then
  redis.call('DEL', KEYS[1])
end
return verdict
"
    ))
});

/// [`claim`] followed by the throttle `check` (when given), in one round trip when the key is
/// free. A throttle refusal leaves no claim behind.
pub async fn claim_and_check(redis: &mut ConnectionManager, key: SendKey, check: Option<&Check>) -> Result<Claimed, ApiError> {
    let marker = [PENDING, Uuid::new_v4().as_bytes()].concat();
    let mut invocation = CLAIM_AND_CHECK.key(&key.0);
    if let Some(check) = check {
        invocation.key(&check.slow_key).key(&check.rate_key);
    }
    invocation.arg(&marker).arg(PENDING_TTL.as_secs());
    if let Some(check) = check {
        check.add_args(&mut invocation);
    }
    let answer: Vec<i64> = invocation.invoke_async(redis).await.map_err(unavailable)?;
    match (answer.first(), check) {
        (Some(3), _) => {}
        (_, Some(check)) => {
            check.verdict(&answer)?;
            return Ok(Claimed::Fresh(Claim { key, marker }));
        }
        (_, None) => return Ok(Claimed::Fresh(Claim { key, marker })),
    }
    // Taken: wait for the first attempt's answer as a plain claim does; should the key come
    // free meanwhile, this attempt is a first one after all and is throttled on its own.
    let claim = match claim(redis, key).await? {
        Claimed::Fresh(claim) => claim,
        done => return Ok(done),
    };
    if let Some(check) = check {
        let verdict = throttle::check(redis, check).await;
        if let Err(refusal) = verdict {
            release(redis, claim).await;
            return Err(refusal);
        }
    }
    Ok(Claimed::Fresh(claim))
}

/// Records the result for retries. A failure here is logged, not returned: the message is
/// already out, and telling the client it failed would make it send a second copy.
pub async fn complete(redis: &mut ConnectionManager, claim: Claim, sent: &Sent) {
    let value = [DONE, pb::SendResponse::from(sent).encode_to_vec().as_slice()].concat();
    let result: redis::RedisResult<()> =
        redis::cmd("SET").arg(&claim.key.0).arg(value).arg("EX").arg(RESULT_TTL.as_secs()).query_async(redis).await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot record a send result; a retry of it would be sent again");
    }
}

/// Deletes the marker if it is still this attempt's (it may have expired and been re-claimed).
static RELEASE: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE_SOURCE));

const RELEASE_SOURCE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

pub async fn release(redis: &mut ConnectionManager, claim: Claim) {
    let result: redis::RedisResult<i64> = RELEASE.key(&claim.key.0).arg(&claim.marker).invoke_async(redis).await;
    if let Err(e) = result {
        // The marker expires by itself after PENDING_TTL.
        tracing::warn!(error = %e, "cannot release a send claim");
    }
}
