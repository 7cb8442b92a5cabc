//! Stage changes from the bus (`stagecast.events.v1.event.*.stage`, written by the events service
//! through its outbox), applied to this SFU's rooms.
//!
//! Why, when the gateway already applies each change over gRPC right after the events service
//! commits it: that call is not durable. If it fails (the SFU restarting, a network blip) a
//! demoted speaker keeps publishing until they reconnect; and the SFU's record of who was kicked
//! or banned (`overrides.rs`) lives in memory, so after a restart a banned user's media token from
//! before the ban (good for up to five minutes) would be admitted again. Reading the stream fixes
//! both: every replica reads it with its own ordered consumer (a room may live on any replica),
//! starting [`REPLAY`] back, so a starting SFU first rebuilds the recent removals and role
//! changes, then follows new ones.
//!
//! Applying twice is harmless: a change acts only on connections whose token was minted before
//! it, and an older change never replaces a newer one (`Sfu::update_grants_at`, `remove_at`).
use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{
    self,
    consumer::{DeliverPolicy, pull::OrderedConfig},
};
use futures::StreamExt;
use prost::Name;
use stagecast_authn::{MediaGrants, TrackSource};
use stagecast_bus::Envelope;
use stagecast_proto::events::v1 as ev;
use tokio::sync::{oneshot, watch};

use crate::{rooms::Rooms, sfu::unix_now};

/// Every event's stage changes.
pub const SUBJECT: &str = "stagecast.events.v1.event.*.stage";

/// How far back a starting SFU reads: longer than a media token lives (5 minutes), so every
/// removal a held token could still get around is known again.
pub const REPLAY: Duration = Duration::from_secs(15 * 60);

/// Follows `subject` until `stop`; `caught_up` fires once the replay is done (or could not start:
/// the caller must not wait for ever on a bus that is away).
pub async fn follow(
    nats: async_nats::Client,
    rooms: Arc<Rooms>,
    subject: String,
    caught_up: oneshot::Sender<()>,
    mut stop: watch::Receiver<bool>,
) {
    let js = jetstream::new(nats);
    let mut caught_up = Some(caught_up);
    let mut backoff = Duration::from_millis(250);
    let started = unix_now();
    loop {
        let since = time::OffsetDateTime::from_unix_timestamp(started - REPLAY.as_secs() as i64)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let messages = async {
            let stream = js.get_stream(stagecast_bus::stream::STREAM_NAME).await?;
            let consumer = stream
                .create_consumer(OrderedConfig {
                    filter_subject: subject.clone(),
                    deliver_policy: DeliverPolicy::ByStartTime { start_time: since },
                    ..Default::default()
                })
                .await?;
            let mut consumer = consumer;
            let pending = consumer.info().await?.num_pending;
            Ok::<_, async_nats::Error>((pending, consumer.messages().await?))
        };
        let (pending, mut messages) = tokio::select! {
            r = messages => match r {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read stage changes from the bus yet; retrying");
                    // Nothing to replay from a bus that is away: let joins in rather than wait.
                    if let Some(tx) = caught_up.take() {
                        let _ = tx.send(());
                    }
                    stagecast_bus::durable::pause(&mut backoff, &mut stop).await;
                    if *stop.borrow() {
                        return;
                    }
                    continue;
                }
            },
            _ = stagecast_bus::durable::stopped(&mut stop) => return,
        };
        backoff = Duration::from_millis(250);
        if pending == 0
            && let Some(tx) = caught_up.take()
        {
            let _ = tx.send(());
        }
        loop {
            let msg = tokio::select! {
                m = messages.next() => m,
                _ = stagecast_bus::durable::stopped(&mut stop) => return,
            };
            let Some(msg) = msg else { break };
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "stage changes interrupted; reading again");
                    break;
                }
            };
            let rest = msg.info().map(|i| i.pending).unwrap_or(0);
            if let Ok(env) = Envelope::decode(&msg.payload)
                && env.type_name == ev::StageChanged::full_name()
                && let Ok(change) = env.open::<ev::StageChanged>()
            {
                apply(&rooms, change).await;
            }
            if rest == 0
                && let Some(tx) = caught_up.take()
            {
                let _ = tx.send(());
            }
        }
    }
}

/// How long a fresh removal waits for the gateway's own call before the bus's copy disconnects
/// anyone: the gateway answers the host with how many connections it closed, and a copy that
/// got there first would leave it nothing to count. The record of the removal (joins with an
/// older token are refused) is written at once.
const GATEWAY_FIRST: i64 = 2;

/// Applies one change to the room it names (on whichever worker holds it).
async fn apply(rooms: &Arc<Rooms>, c: ev::StageChanged) {
    let at = c.at.as_ref().map_or_else(unix_now, |t| t.seconds);
    let (room, user) = (c.event_id.as_str(), c.target_user_id.as_str());
    if room.is_empty() || user.is_empty() {
        return;
    }
    let result = match c.kind.as_str() {
        "role_changed" | "invitation_accepted" | "brought_on_air" | "sent_backstage" => match c.target_grants {
            Some(g) => rooms.update_grants_at(room, user, grants(g), at).await.map(drop),
            None => Ok(()),
        },
        "kicked" | "banned" => {
            let wait = at + GATEWAY_FIRST - unix_now();
            if wait > 0 {
                // Older tokens stop admitting them now; the disconnect waits for the gateway.
                if let Err(e) = rooms.forbid_at(room, user, at).await {
                    tracing::warn!(room, error = %e.message, "cannot record a removal from the bus");
                }
                let (rooms, room, user, kind) = (rooms.clone(), room.to_owned(), user.to_owned(), c.kind.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(wait as u64)).await;
                    if let Err(e) = rooms.remove_at(&room, &user, &kind, at).await {
                        tracing::warn!(room, error = %e.message, "cannot apply a removal from the bus");
                    }
                });
                Ok(())
            } else {
                rooms.remove_at(room, user, &c.kind, at).await.map(drop)
            }
        }
        // Not `muted`: a server mute is an act on a live microphone, which the gateway applies
        // and reports (`tracks_muted`); from the bus it would race that call (and make it count
        // nothing), and replayed it would mute someone who has unmuted since.
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!(room, kind = %c.kind, error = %e.message, "cannot apply a stage change from the bus");
    }
}

fn grants(g: ev::MediaGrants) -> MediaGrants {
    MediaGrants {
        subscribe: g.subscribe,
        // A source this SFU does not know is left out: never more than the events service meant.
        publish: g.publish.iter().filter_map(|s| TrackSource::parse(s)).collect(),
        hidden: g.hidden,
        backstage: g.backstage,
        see_backstage: g.see_backstage,
    }
}
