//! Ended sessions. Access tokens are verified locally and live at most a few minutes; to make
//! sign-out (and a session revoked for refresh-token reuse) take effect at once, the gateway keeps
//! a deny-list of session ids in Redis until the longest-lived access token of that session has
//! expired. Every replica shares it.
//!
//! It is filled from two places: the gateway's own sign-out handler (synchronously, so the very
//! next request is refused) and the auth service's `session.*.revoked` bus messages (sessions
//! revoked inside the auth service, e.g. on refresh-token reuse). Writing the same key twice is
//! harmless, which makes the consumer idempotent.
use futures::StreamExt;
use redis::{AsyncCommands, aio::ConnectionManager};
use stagecast_bus::Envelope;
use stagecast_proto::auth::v1::SessionRevoked;

/// Longer than any access token lives (the auth service caps their TTL at one hour).
const REMEMBER_SECS: u64 = 3600;

fn key(session_id: &str) -> String {
    format!("stagecast:revoked_session:{session_id}")
}

pub async fn revoke(redis: &mut ConnectionManager, session_id: &str) -> redis::RedisResult<()> {
    redis.set_ex::<_, _, ()>(key(session_id), 1, REMEMBER_SECS).await
}

pub async fn is_revoked(redis: &mut ConnectionManager, session_id: &str) -> redis::RedisResult<bool> {
    redis.exists(key(session_id)).await
}

pub const SUBJECT: &str = "stagecast.auth.v1.session.*.revoked";

/// Follows the auth service's revocations until the subscription ends.
pub async fn follow(nats: async_nats::Client, mut redis: ConnectionManager) {
    let mut sub = match nats.subscribe(SUBJECT).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot subscribe to session revocations");
            return;
        }
    };
    while let Some(msg) = sub.next().await {
        let session_id =
            Envelope::decode(&msg.payload).ok().and_then(|env| env.open::<SessionRevoked>().ok()).map(|m| m.session_id);
        match session_id {
            Some(sid) => {
                if let Err(e) = revoke(&mut redis, &sid).await {
                    tracing::warn!(error = %e, session_id = %sid, "cannot record revoked session");
                }
            }
            None => tracing::warn!(subject = %msg.subject, len = msg.payload.len(), "undecodable session revocation"),
        }
    }
}
