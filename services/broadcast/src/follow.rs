//! What the broadcast service follows on the bus (core NATS; the periodic reconcile covers a
//! message missed while disconnected):
//! - `stagecast.egress.v1.job.*`: the jobs' outputs → each destination's health;
//! - `stagecast.events.v1.event.*.*`: go-live (auto-start), the end, stage changes (who is on
//!   air in a restream-only job).
use futures::StreamExt;
use stagecast_bus::follow;
use stagecast_proto::egress::v1 as egress_pb;

use crate::service::{Broadcasts, RECONCILE_EVERY};

pub async fn jobs(nats: async_nats::Client, broadcasts: Broadcasts) {
    follow::messages(nats, "stagecast.egress.v1.job.*", |job: egress_pb::Job| {
        let broadcasts = broadcasts.clone();
        async move {
            if !job.outputs.is_empty()
                && let Err(e) = broadcasts.on_job(job).await
            {
                tracing::warn!(error = %e.message, "cannot apply an egress job status");
            }
        }
    })
    .await;
}

pub async fn events(nats: async_nats::Client, broadcasts: Broadcasts) {
    let Some(mut sub) = follow::subscribe(&nats, "stagecast.events.v1.event.*.*").await else { return };
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    loop {
        tokio::select! {
            msg = sub.next() => {
                let Some(msg) = msg else { return };
                match follow::event_change(&msg.subject) {
                    Some((id, "live")) => broadcasts.on_live(id).await,
                    Some((id, "stage" | "ended" | "updated")) => broadcasts.reconcile(Some(id)).await,
                    _ => {}
                }
            }
            _ = tick.tick() => broadcasts.reconcile(None).await,
        }
    }
}
