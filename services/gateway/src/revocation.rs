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
use std::sync::atomic::{AtomicBool, Ordering};

use stagecast_proto::auth::v1::{ListRevokedSessionsRequest, SessionRevoked, auth_service_client::AuthServiceClient};

use crate::state::{AppState, Grpc};

/// Longer than any access token lives (the auth service caps their TTL at one hour).
const REMEMBER_SECS: u64 = 3600;

fn key(session_id: &str) -> String {
    format!("stagecast:revoked_session:{session_id}")
}

pub async fn revoke(redis: &mut ConnectionManager, session_id: &str) -> redis::RedisResult<()> {
    redis.set_ex::<_, _, ()>(key(session_id), 1, REMEMBER_SECS).await
}

/// Set once the list has been filled from the auth service. Redis restarted empty loses it with
/// the list, which is how a lost list is told from one that holds no entry for a session.
const COMPLETE: &str = "stagecast:revoked_sessions:complete";

/// Whether the session is on the list; `None` when the list itself is missing (Redis lost it):
/// then only the auth service knows.
pub async fn is_revoked(redis: &mut ConnectionManager, session_id: &str) -> redis::RedisResult<Option<bool>> {
    let (revoked, complete): (bool, bool) = redis::pipe().exists(key(session_id)).exists(COMPLETE).query_async(redis).await?;
    Ok(if revoked {
        Some(true)
    } else if complete {
        Some(false)
    } else {
        None
    })
}

/// Records a revocation; when Redis cannot take it, marks the list lost in `lost`, so the next
/// check drops the completeness mark and the list is rebuilt (else the session would be
/// accepted again once Redis answers, the mark still there and the entry missing).
pub async fn record(redis: &mut ConnectionManager, lost: &AtomicBool, session_id: &str) {
    if let Err(e) = revoke(redis, session_id).await {
        tracing::warn!(error = %e, session_id = %session_id, "cannot record a revoked session; the list will be rebuilt");
        lost.store(true, Ordering::SeqCst);
    }
}

/// [`is_revoked`], after dropping the completeness mark if a revocation could not be recorded.
pub async fn check(state: &AppState, session_id: &str) -> redis::RedisResult<Option<bool>> {
    let mut redis = state.redis.clone();
    if state.revocation_lost.load(Ordering::SeqCst) {
        redis.del::<_, ()>(COMPLETE).await?;
        state.revocation_lost.store(false, Ordering::SeqCst);
    }
    is_revoked(&mut redis, session_id).await
}

/// Rebuilds the list from the auth service's durable record: every session ended within the
/// last [`REMEMBER_SECS`], then the mark that the list is complete. Entries written meanwhile
/// (a sign-out, a bus message) only add to it.
pub async fn refill(auth: &mut AuthServiceClient<Grpc>, redis: &mut ConnectionManager) -> anyhow::Result<usize> {
    let since = chrono::Utc::now().timestamp() - REMEMBER_SECS as i64;
    let ids =
        auth.list_revoked_sessions(ListRevokedSessionsRequest { revoked_since_unix: since }).await?.into_inner().session_ids;
    for chunk in ids.chunks(500) {
        let mut pipe = redis::pipe();
        for id in chunk {
            pipe.set_ex(key(id), 1, REMEMBER_SECS).ignore();
        }
        pipe.query_async::<()>(redis).await?;
    }
    redis.set::<_, _, ()>(COMPLETE, 1).await?;
    Ok(ids.len())
}

/// Starts a refill unless one is already running in this gateway.
pub fn refill_soon(state: &AppState) {
    if state.revocation_refill.swap(true, Ordering::SeqCst) {
        return;
    }
    let (mut auth, mut redis, running) = (state.auth.clone(), state.redis.clone(), state.revocation_refill.clone());
    tokio::spawn(async move {
        match refill(&mut auth, &mut redis).await {
            Ok(n) => tracing::info!(sessions = n, "revoked sessions reloaded from the auth service"),
            Err(e) => tracing::warn!(error = %e, "cannot reload revoked sessions; will try again on the next request"),
        }
        running.store(false, Ordering::SeqCst);
    });
}

pub const SUBJECT: &str = "stagecast.auth.v1.session.*.revoked";

/// Follows the auth service's revocations until the subscription ends.
pub async fn follow(nats: async_nats::Client, mut redis: ConnectionManager, lost: std::sync::Arc<AtomicBool>) {
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
            Some(sid) => record(&mut redis, &lost, &sid).await,
            None => tracing::warn!(subject = %msg.subject, len = msg.payload.len(), "undecodable session revocation"),
        }
    }
}
