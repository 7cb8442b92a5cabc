//! What the broadcast service follows on the bus (core NATS; the periodic reconcile covers a
//! message missed while disconnected):
//! - `stagecast.egress.v1.job.*`: the jobs' outputs → each destination's health;
//! - `stagecast.events.v1.event.*.*`: go-live (auto-start), the end, stage changes (who is on
//!   air in a restream-only job).
use futures::StreamExt;
use stagecast_bus::envelope::Envelope;
use stagecast_proto::egress::v1 as egress_pb;
use uuid::Uuid;

use crate::service::{Broadcasts, RECONCILE_EVERY};

pub async fn jobs(nats: async_nats::Client, broadcasts: Broadcasts) {
    let mut sub = match nats.subscribe("stagecast.egress.v1.job.*").await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot follow egress jobs");
            return;
        }
    };
    while let Some(msg) = sub.next().await {
        let job = Envelope::decode(&msg.payload).ok().and_then(|env| env.open::<egress_pb::Job>().ok());
        if let Some(job) = job
            && !job.outputs.is_empty()
            && let Err(e) = broadcasts.on_job(job).await
        {
            tracing::warn!(error = %e.message, "cannot apply an egress job status");
        }
    }
}

pub async fn events(nats: async_nats::Client, broadcasts: Broadcasts) {
    let mut sub = match nats.subscribe("stagecast.events.v1.event.*.*").await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot follow events");
            return;
        }
    };
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    loop {
        tokio::select! {
            msg = sub.next() => {
                let Some(msg) = msg else { return };
                // stagecast.events.v1.event.{id}.{what}
                let mut parts = msg.subject.split('.').skip(4);
                let (Some(id), Some(what)) = (parts.next(), parts.next()) else { continue };
                let Ok(id) = Uuid::parse_str(id) else { continue };
                match what {
                    "live" => broadcasts.on_live(id).await,
                    "stage" | "ended" | "updated" => broadcasts.reconcile(Some(id)).await,
                    _ => {}
                }
            }
            _ = tick.tick() => broadcasts.reconcile(None).await,
        }
    }
}
