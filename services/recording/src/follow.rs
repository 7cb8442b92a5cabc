//! What the recording service follows on the bus (core NATS; the periodic reconcile covers a
//! message missed while disconnected):
//! - `stagecast.egress.v1.job.*`: the egress jobs' status → the catalogue;
//! - `stagecast.events.v1.event.*.stage`, `.ended`, `.live`: who is on air, the end of the event,
//!   and automatic recording at go-live.
//!
//! And two clocks: the stopping sweep ([`stopping`]) and the retention sweep ([`retention`]).
use futures::StreamExt;
use stagecast_bus::follow;
use stagecast_proto::egress::v1 as egress_pb;

use crate::service::{RECONCILE_EVERY, Recordings};

pub async fn jobs(nats: async_nats::Client, recordings: Recordings) {
    follow::messages(nats, "stagecast.egress.v1.job.*", |job: egress_pb::Job| {
        let recordings = recordings.clone();
        async move {
            if let Err(e) = recordings.on_job(job).await {
                tracing::warn!(error = %e.message, "cannot apply an egress job status");
            }
        }
    })
    .await;
}

pub async fn events(nats: async_nats::Client, recordings: Recordings) {
    let Some(mut stage) = follow::subscribe(&nats, "stagecast.events.v1.event.*.*").await else { return };
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    loop {
        tokio::select! {
            msg = stage.next() => {
                let Some(msg) = msg else { return };
                match follow::event_change(&msg.subject) {
                    Some((id, "stage" | "ended" | "updated")) => recordings.reconcile(Some(id)).await,
                    Some((id, "live")) => recordings.on_live(id).await,
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

/// Deletes recordings past their retention every `every` (the first sweep at once). Every
/// replica sweeps; [`Recordings::sweep_retention`] keeps them from taking the same recording.
pub async fn retention(recordings: Recordings, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match recordings.sweep_retention().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "retention sweep"),
            Err(e) => tracing::warn!(error = %e.message, "the retention sweep stopped early; the next one goes on"),
        }
    }
}

/// Ends recordings whose stop never finished every `every` (the first sweep at once). Every
/// replica sweeps; [`Recordings::sweep_stopping`] keeps them from taking the same recording.
pub async fn stopping(recordings: Recordings, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match recordings.sweep_stopping().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(failed = n, "stopping sweep: stops that never finished"),
            Err(e) => tracing::warn!(error = %e.message, "the stopping sweep stopped early; the next one goes on"),
        }
    }
}
