//! What the recording service follows on the bus (core NATS; the periodic reconcile covers a
//! message missed while disconnected):
//! - `stagecast.egress.v1.job.*`: the egress jobs' status → the catalogue;
//! - `stagecast.events.v1.event.*.stage`, `.ended`, `.live`: who is on air, the end of the event,
//!   and automatic recording at go-live.
use futures::StreamExt;
use stagecast_bus::envelope::Envelope;
use stagecast_proto::egress::v1 as egress_pb;
use uuid::Uuid;

use crate::service::{RECONCILE_EVERY, Recordings};

pub async fn jobs(nats: async_nats::Client, recordings: Recordings) {
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
            && let Err(e) = recordings.on_job(job).await
        {
            tracing::warn!(error = %e.message, "cannot apply an egress job status");
        }
    }
}

pub async fn events(nats: async_nats::Client, recordings: Recordings) {
    let mut stage = match nats.subscribe("stagecast.events.v1.event.*.*").await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot follow events");
            return;
        }
    };
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    loop {
        tokio::select! {
            msg = stage.next() => {
                let Some(msg) = msg else { return };
                // stagecast.events.v1.event.{id}.{what}
                let mut parts = msg.subject.split('.').skip(4);
                let (Some(id), Some(what)) = (parts.next(), parts.next()) else { continue };
                let Ok(id) = Uuid::parse_str(id) else { continue };
                match what {
                    "stage" | "ended" | "updated" => recordings.reconcile(Some(id)).await,
                    "live" => recordings.on_live(id).await,
                    _ => {}
                }
            }
            _ = tick.tick() => {
                recordings.reconcile(None).await;
                recordings.follow_jobs().await;
            }
        }
    }
}
