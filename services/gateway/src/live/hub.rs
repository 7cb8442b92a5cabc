//! Fan-out of room traffic to the sockets of this gateway replica.
//!
//! Every replica subscribes (core NATS) to `stagecast.chat.v1.room.{event}.>` for each room it
//! has sockets in, so a message accepted through replica A reaches viewers on replica B. Each NATS
//! message is decoded and serialised to JSON once, then passed to the room's shards through a
//! bounded broadcast channel. A shard is a task holding up to [`SHARD_SIZE`] sockets' outlets: it
//! encodes the WebSocket frame once and writes it into each outlet without waiting (see
//! [`super::outlet`]), so a message costs one task wake-up per shard, not one per socket. A
//! socket whose client stops reading falls behind in its own outlet and is dropped (it gets a
//! "too slow" close and reconnects) instead of slowing the room down; a shard that falls
//! [`ROOM_BUFFER`] messages behind drops its sockets the same way.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

#[cfg(test)]
use bytes::Bytes;
use bytes::BytesMut;
use futures::StreamExt;
use redis::aio::ConnectionManager;
use stagecast_bus::Envelope;
use stagecast_kit::sync::lock;
use stagecast_proto::chat::v1 as pb;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    sync::broadcast::{self, error::RecvError},
};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::wire::{self, chat::Author};

use super::{
    outlet::{self, Outlet},
    presence,
    protocol::{self, ServerMessage},
    upgrade::RawSocket,
};

/// How far a room's shard may fall behind its room before its sockets are dropped.
pub const ROOM_BUFFER: usize = 1024;
/// Sockets per shard: few enough that one message's writes to a shard take about a millisecond,
/// so a large room's writes spread over the runtime's threads.
pub const SHARD_SIZE: usize = 256;
/// Room events a shard takes per wake-up when they queue up, written to each socket together.
const SHARD_BATCH: usize = 32;

/// A socket's connection, as rooms see it.
pub type SocketOutlet = Outlet<RawSocket>;

pub fn room_subject(event: &str) -> String {
    format!("stagecast.chat.v1.room.{event}.>")
}

/// The event's own lifecycle and edits, so open pages follow go-live / end without polling.
pub fn event_subject(event: &str) -> String {
    format!("stagecast.events.v1.event.{event}.>")
}

/// The event's recordings: state and layout changes become `recording` frames.
pub fn recording_subject(event: &str) -> String {
    format!("stagecast.recording.v1.event.{event}.>")
}

/// The event's restreaming destinations: state changes become `destination` frames.
pub fn broadcast_subject(event: &str) -> String {
    format!("stagecast.broadcast.v1.event.{event}.>")
}

pub fn presence_subject(event: &str) -> String {
    format!("stagecast.chat.v1.room.{event}.presence")
}

/// One thing to tell a room's sockets.
#[derive(Debug, Clone)]
pub struct RoomEvent {
    pub json: Utf8Bytes,
    /// Sockets of this user must close with this code and reason (a ban).
    pub close_user: Option<(String, u16, &'static str)>,
    /// Every socket must close with this code and reason, without `json` (the gateway is
    /// shutting down). One watcher per room tells them, so an idle socket waits on its room only.
    pub close_all: Option<(u16, &'static str)>,
    /// Only for those who see the backstage (the host, co-hosts, moderators and the green room)
    /// and for this user: a change to someone in the green room, whom the audience must not
    /// learn about.
    pub backstage_of: Option<String>,
    /// A stage change's target, as they stand after it: applied to their sockets in the room's
    /// order, so backstage frames before it follow the old grants and those after it the new.
    pub standing: Option<Standing>,
}

/// Where a stage change leaves its target, for their sockets that are open already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub user_id: String,
    /// Receives changes to the backstage (the grants' `see_backstage`).
    pub sees_backstage: bool,
    /// Listed in presence: not in the green room (the grants' `backstage`).
    pub listed: bool,
    /// Their chat role now, as presence shows it; `None` when the change did not say.
    pub role: Option<&'static str>,
}

impl RoomEvent {
    fn going_away() -> Self {
        RoomEvent {
            json: Utf8Bytes::default(),
            close_user: None,
            close_all: Some((protocol::close::GOING_AWAY, "server restarting; reconnect")),
            backstage_of: None,
            standing: None,
        }
    }
}

/// A group of a room's sockets served by one task.
struct Shard<T> {
    outlets: Arc<Mutex<Vec<Member<T>>>>,
    task: tokio::task::JoinHandle<()>,
}

/// A socket in a shard, and whose it is (a ban closes the banned user's sockets).
struct Member<T> {
    user_id: String,
    /// Receives changes to the backstage: staff or in the green room when the socket joined,
    /// then as the stage changes of this user say.
    sees_backstage: bool,
    outlet: Arc<Outlet<T>>,
}

/// A room's sockets on this replica, in shards of up to [`SHARD_SIZE`], each served by a task
/// that takes the room's events from `tx`. Dropping it stops the tasks.
struct Shards<T> {
    tx: broadcast::Sender<RoomEvent>,
    shards: Vec<Shard<T>>,
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Shards<T> {
    fn new(tx: broadcast::Sender<RoomEvent>) -> Self {
        Self { tx, shards: Vec::new() }
    }

    /// Puts the outlet in the emptiest shard, or a new one when all are full.
    fn add(&mut self, user_id: &str, sees_backstage: bool, outlet: Arc<Outlet<T>>) {
        let member = Member { user_id: user_id.to_owned(), sees_backstage, outlet };
        let emptiest = self.shards.iter().map(|s| lock(&s.outlets)).min_by_key(|members| members.len());
        if let Some(mut members) = emptiest.filter(|m| m.len() < SHARD_SIZE) {
            members.push(member);
            return;
        }
        let outlets = Arc::new(Mutex::new(vec![member]));
        let task = tokio::spawn(run_shard(self.tx.subscribe(), outlets.clone()));
        self.shards.push(Shard { outlets, task });
    }

    fn remove(&mut self, outlet: &Arc<Outlet<T>>) {
        for shard in &self.shards {
            let mut members = lock(&shard.outlets);
            if let Some(k) = members.iter().position(|m| Arc::ptr_eq(&m.outlet, outlet)) {
                members.swap_remove(k);
                return;
            }
        }
    }
}

impl<T> Drop for Shards<T> {
    fn drop(&mut self) {
        for s in &self.shards {
            s.task.abort();
        }
    }
}

struct Room {
    shards: Shards<RawSocket>,
    /// Local connections per user, who they are, and whether presence lists them (not while
    /// they are in the green room).
    users: HashMap<String, (usize, Author, bool)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The rooms with sockets on this replica.
pub struct Hub {
    nats: async_nats::Client,
    redis: ConnectionManager,
    rooms: Mutex<HashMap<String, Room>>,
}

/// A socket's membership in a room; leaving happens on drop.
pub struct Membership {
    hub: Arc<Hub>,
    event: String,
    user_id: String,
    outlet: Arc<SocketOutlet>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let hub = self.hub.clone();
        let (event, user_id) = (self.event.clone(), self.user_id.clone());
        let last_of_user = hub.leave_local(&event, &user_id, &self.outlet);
        if let Some(author) = last_of_user {
            tokio::spawn(async move {
                let mut redis = hub.redis.clone();
                match presence::leave(&mut redis, &event, &user_id).await {
                    Ok(count) => hub.announce_presence(&event, author, false, count).await,
                    Err(e) => tracing::warn!(error = %e, "cannot record presence leave"),
                }
            });
        }
    }
}

impl Hub {
    pub fn new(nats: async_nats::Client, redis: ConnectionManager) -> Arc<Self> {
        Arc::new(Self { nats, redis, rooms: Mutex::new(HashMap::new()) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        lock(&self.rooms)
    }

    /// Joins `event`'s room with the socket's outlet, subscribing this replica to the room if it
    /// is the first socket here. Returns once the subscription is live, so nothing published
    /// afterwards is missed (the outlet holds it until the socket's first frame is in). When
    /// `shutdown` turns true, the room's sockets are closed with "going away"; one that joins
    /// later should look at `shutdown` itself after joining. `listed`: whether presence shows
    /// them (not while they are in the green room). Stage changes of this user that arrive while
    /// the socket is open move them in and out of presence and of the backstage's audience.
    pub async fn join(
        self: &Arc<Self>,
        event: &str,
        who: Author,
        listed: bool,
        outlet: Arc<SocketOutlet>,
        shutdown: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<Membership, async_nats::Error> {
        // As the stage's media grants have it: the staff, and whoever is in the green room.
        let sees_backstage = matches!(who.role, "host" | "cohost" | "moderator") || !listed;
        let existing = {
            let mut rooms = self.lock();
            rooms.get_mut(event).map(|room| {
                room.shards.add(&who.user_id, sees_backstage, outlet.clone());
                Self::add_user(room, &who, listed)
            })
        };
        let first_of_user = match existing {
            Some(found) => found,
            None => {
                let room = self.nats.subscribe(room_subject(event)).await?;
                let lifecycle = self.nats.subscribe(event_subject(event)).await?;
                let recordings = self.nats.subscribe(recording_subject(event)).await?;
                let broadcasts = self.nats.subscribe(broadcast_subject(event)).await?;
                self.nats.flush().await?;
                let sub = futures::stream::select(
                    futures::stream::select(room, lifecycle),
                    futures::stream::select(recordings, broadcasts),
                );
                let mut rooms = self.lock();
                match rooms.get_mut(event) {
                    // Another socket created the room while we subscribed: use theirs.
                    Some(room) => {
                        room.shards.add(&who.user_id, sees_backstage, outlet.clone());
                        Self::add_user(room, &who, listed)
                    }
                    None => {
                        let (tx, _) = broadcast::channel(ROOM_BUFFER);
                        let relay = tokio::spawn(relay_room(sub, tx.clone(), shutdown.clone(), self.clone(), event.to_owned()));
                        let refresh = tokio::spawn(refresh_presence(self.clone(), event.to_owned()));
                        let mut room = Room { shards: Shards::new(tx), users: HashMap::new(), tasks: vec![relay, refresh] };
                        room.shards.add(&who.user_id, sees_backstage, outlet.clone());
                        Self::add_user(&mut room, &who, listed);
                        rooms.insert(event.to_owned(), room);
                        true
                    }
                }
            }
        };
        // Someone in the green room is not listed: the audience must not learn they are there.
        if first_of_user && listed {
            let mut redis = self.redis.clone();
            match presence::vouch(&mut redis, event, std::slice::from_ref(&who)).await {
                Ok(count) => self.announce_presence(event, who.clone(), true, count).await,
                Err(e) => tracing::warn!(error = %e, "cannot record presence join"),
            }
        }
        Ok(Membership { hub: self.clone(), event: event.to_owned(), user_id: who.user_id, outlet })
    }

    fn add_user(room: &mut Room, who: &Author, listed: bool) -> bool {
        let entry = room.users.entry(who.user_id.clone()).or_insert((0, who.clone(), listed));
        entry.0 += 1;
        entry.0 == 1
    }

    /// Returns the user if this was their last local socket in the room.
    fn leave_local(&self, event: &str, user_id: &str, outlet: &Arc<SocketOutlet>) -> Option<Author> {
        let mut rooms = self.lock();
        let room = rooms.get_mut(event)?;
        room.shards.remove(outlet);
        let mut last = None;
        if let Some(entry) = room.users.get_mut(user_id) {
            entry.0 -= 1;
            if entry.0 == 0 {
                last = room.users.remove(user_id).filter(|(_, _, listed)| *listed).map(|(_, a, _)| a);
            }
        }
        if room.users.is_empty()
            && let Some(room) = rooms.remove(event)
        {
            // The shards' tasks stop as `room.shards` drops.
            for t in room.tasks {
                t.abort();
            }
        }
        last
    }

    /// Local sockets per room (for metrics and tests).
    pub fn local_connections(&self) -> usize {
        self.lock().values().map(|r| r.users.values().map(|(n, _, _)| n).sum::<usize>()).sum()
    }

    /// Follows a stage change of someone with sockets in `event`'s room here: sent to the green
    /// room, presence stops listing them; brought on air, it lists them again.
    fn follow_standing(self: &Arc<Self>, event: &str, standing: &Standing) {
        let moved = self.lock().get_mut(event).and_then(|room| apply_standing(&mut room.users, standing));
        let Some((author, listed)) = moved else { return };
        let (hub, event) = (self.clone(), event.to_owned());
        // Not awaited here: the room's frames must not wait on Redis. Two quick moves of one
        // person may land in either order; presence then settles on `listed` within
        // STALE_AFTER (the listed are vouched for again, the unlisted go stale).
        tokio::spawn(async move {
            let mut redis = hub.redis.clone();
            let count = if listed {
                presence::vouch(&mut redis, &event, std::slice::from_ref(&author)).await
            } else {
                presence::leave(&mut redis, &event, &author.user_id).await
            };
            match count {
                Ok(count) => hub.announce_presence(&event, author, listed, count).await,
                Err(e) => tracing::warn!(error = %e, "cannot record a presence change of the stage"),
            }
        });
    }

    async fn announce_presence(&self, event: &str, user: Author, joined: bool, count: u32) {
        let msg = pb::PresenceChanged {
            event_id: event.to_owned(),
            user: Some(pb::Author {
                user_id: user.user_id,
                display_name: user.display_name,
                avatar_url: user.avatar_url.unwrap_or_default(),
                role: wire::chat::role_value(user.role),
            }),
            joined,
            viewer_count: count,
        };
        let body = Envelope::wrap(&msg).encode();
        if let Err(e) = self.nats.publish(presence_subject(event), body.into()).await {
            tracing::warn!(error = %e, "cannot announce presence");
        }
    }
}

/// Applies a stage change to a room's record of who is here (`users`, as a [`Room`] keeps them).
/// Returns its target and whether presence lists them now, when that changed: once per person,
/// however many sockets they have here.
fn apply_standing(users: &mut HashMap<String, (usize, Author, bool)>, standing: &Standing) -> Option<(Author, bool)> {
    let (_, author, listed) = users.get_mut(&standing.user_id)?;
    if let Some(role) = standing.role {
        author.role = role;
    }
    if *listed == standing.listed {
        return None;
    }
    *listed = standing.listed;
    Some((author.clone(), standing.listed))
}

/// Turns a room's NATS traffic into socket frames, once for all local sockets; at shutdown,
/// tells them all to go. Stage changes also update the room's presence (see [`Hub::follow_standing`]).
async fn relay_room(
    mut sub: impl futures::Stream<Item = async_nats::Message> + Unpin,
    tx: broadcast::Sender<RoomEvent>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    hub: Arc<Hub>,
    event: String,
) {
    let mut told = false;
    loop {
        let msg = tokio::select! {
            msg = sub.next() => msg,
            // An error means the sender is gone, which happens only once the server is.
            _ = shutdown.wait_for(|down| *down), if !told => {
                told = true;
                let _ = tx.send(RoomEvent::going_away());
                continue;
            }
        };
        let Some(msg) = msg else { return };
        let env = match Envelope::decode(&msg.payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, subject = %msg.subject, "undecodable room message");
                continue;
            }
        };
        for ev in room_events(&env) {
            if let Some(standing) = &ev.standing {
                hub.follow_standing(&event, standing);
            }
            // No receivers is fine: the last socket may have just left.
            let _ = tx.send(ev);
        }
    }
}

/// Serves one shard of a room: writes each room event into every outlet of the shard. Events
/// that queued up while it wrote go out together, one write per socket for all of them.
async fn run_shard<T: AsyncRead + AsyncWrite + Unpin>(
    mut rx: broadcast::Receiver<RoomEvent>,
    outlets: Arc<Mutex<Vec<Member<T>>>>,
) {
    let mut batch = BytesMut::new();
    loop {
        let first = rx.recv().await;
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(ev) = next.take() {
            match ev {
                Ok(ev) => {
                    // Frames already in `batch` go to everyone, so only later backstage frames
                    // (each delivered as it comes, below) see the change.
                    if let Some(s) = &ev.standing {
                        for m in lock(&outlets).iter_mut().filter(|m| m.user_id == s.user_id) {
                            m.sees_backstage = s.sees_backstage;
                        }
                    }
                    if let Some(user) = &ev.backstage_of {
                        // Everyone's frames so far go out first, then this one to its few.
                        deliver(&outlets, &mut batch).await;
                        outlet::put_text_frame(&mut batch, ev.json.as_str());
                        deliver_to(&outlets, &mut batch, |m| m.sees_backstage || m.user_id == *user).await;
                    } else {
                        let control = ev.close_user.is_some() || ev.close_all.is_some();
                        if !ev.json.is_empty() {
                            outlet::put_text_frame(&mut batch, ev.json.as_str());
                        }
                        if control {
                            // Whatever came before a ban or shutdown goes out before it acts.
                            deliver(&outlets, &mut batch).await;
                            let members = lock(&outlets);
                            for m in members.iter() {
                                match (&ev.close_user, ev.close_all) {
                                    (_, Some((code, why))) => m.outlet.close(code, why),
                                    (Some((user, code, why)), None) if *user == m.user_id => m.outlet.close(*code, why),
                                    _ => {}
                                }
                            }
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, "a room shard fell behind; dropping its sockets");
                    batch.clear();
                    for m in lock(&outlets).iter() {
                        m.outlet.fall_behind();
                    }
                }
                Err(RecvError::Closed) => return,
            }
            taken += 1;
            if taken < SHARD_BATCH {
                next = match rx.try_recv() {
                    Ok(ev) => Some(Ok(ev)),
                    Err(broadcast::error::TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                    Err(_) => None,
                };
            }
        }
        deliver(&outlets, &mut batch).await;
    }
}

/// Writes the encoded frames in `batch` to every outlet, and empties it.
///
/// Outside Tokio's cooperative budget: each socket write counts against a task's budget of 128
/// operations per poll, and past it a ready socket reports "not ready". The shard would then
/// queue the frames of every socket after the 128th in their backlogs and wake their tasks —
/// the very wake-ups writing directly avoids. The work here is bounded by the shard's size, and
/// the shard yields at its next receive.
async fn deliver<T: AsyncRead + AsyncWrite + Unpin>(outlets: &Mutex<Vec<Member<T>>>, batch: &mut BytesMut) {
    deliver_to(outlets, batch, |_| true).await
}

/// [`deliver`] to the members `to` picks.
async fn deliver_to<T: AsyncRead + AsyncWrite + Unpin>(
    outlets: &Mutex<Vec<Member<T>>>,
    batch: &mut BytesMut,
    to: impl Fn(&Member<T>) -> bool,
) {
    if batch.is_empty() {
        return;
    }
    // Frozen, not copied: every outlet shares these bytes.
    let frames = batch.split().freeze();
    tokio::task::unconstrained(async {
        for m in lock(outlets).iter().filter(|m| to(m)) {
            m.outlet.offer(&frames);
        }
    })
    .await;
}

fn frame(m: &ServerMessage<'_>) -> Utf8Bytes {
    Utf8Bytes::from(m.to_json())
}

/// What one bus message means for the sockets of its room.
pub fn room_events(env: &Envelope) -> Vec<RoomEvent> {
    use prost::Name;
    let plain = |json| RoomEvent { json, close_user: None, close_all: None, backstage_of: None, standing: None };
    if env.type_name == pb::ChatMessage::full_name() {
        if let Ok(m) = env.open::<pb::ChatMessage>() {
            return vec![plain(frame(&ServerMessage::ChatMessage { message: wire::chat::message(m) }))];
        }
    } else if env.type_name == pb::ModerationAction::full_name() {
        if let Ok(a) = env.open::<pb::ModerationAction>() {
            let mut out = Vec::new();
            if a.kind == "delete_message" && !a.target_message_id.is_empty() {
                out.push(plain(frame(&ServerMessage::ChatDeleted { message_id: a.target_message_id.clone() })));
            }
            let close_user = (a.kind == "ban" && !a.target_user_id.is_empty())
                .then(|| (a.target_user_id.clone(), protocol::close::BANNED, "you were banned from this event's chat"));
            out.push(RoomEvent {
                json: frame(&ServerMessage::Moderation { action: wire::chat::action(a) }),
                close_user,
                close_all: None,
                backstage_of: None,
                standing: None,
            });
            return out;
        }
    } else if env.type_name == stagecast_proto::events::v1::StageChanged::full_name() {
        if let Ok(c) = env.open::<stagecast_proto::events::v1::StageChanged>() {
            // Every socket of a kicked or banned user closes, after the frame saying why.
            let close_user = match c.kind.as_str() {
                "kicked" => Some((c.target_user_id.clone(), protocol::close::KICKED, "you were removed from this event")),
                "banned" => Some((c.target_user_id.clone(), protocol::close::BANNED, "you were banned from this event")),
                _ => None,
            };
            // Someone in the green room after the change: the audience learns nothing of them.
            let backstage_of = c.target_grants.as_ref().is_some_and(|g| g.backstage).then(|| c.target_user_id.clone());
            // The grants after the change say what the target's open sockets now see and whether
            // presence lists them, as the chat's `backstage` rows follow the same messages. Not
            // for a kick or ban: their sockets close anyway.
            let standing = match (&close_user, &c.target_grants) {
                (None, Some(g)) => Some(Standing {
                    user_id: c.target_user_id.clone(),
                    sees_backstage: g.see_backstage,
                    listed: !g.backstage,
                    role: (!c.role.is_empty()).then(|| wire::chat::role_name(wire::chat::role_value(&c.role))),
                }),
                _ => None,
            };
            let change = wire::stage::change(c);
            return vec![RoomEvent {
                json: frame(&ServerMessage::Stage { change }),
                close_user,
                close_all: None,
                backstage_of,
                standing,
            }];
        }
    } else if env.type_name == stagecast_proto::recording::v1::RecordingChanged::full_name() {
        if let Ok(c) = env.open::<stagecast_proto::recording::v1::RecordingChanged>()
            && let Some(r) = c.recording
        {
            let recording = wire::recordings::recording(r);
            return vec![plain(frame(&ServerMessage::Recording { recording }))];
        }
    } else if env.type_name == stagecast_proto::broadcast::v1::DestinationChanged::full_name() {
        if let Ok(c) = env.open::<stagecast_proto::broadcast::v1::DestinationChanged>()
            && let Some(d) = c.destination
        {
            let destination = wire::broadcasts::event_destination(d);
            return vec![plain(frame(&ServerMessage::Destination { destination }))];
        }
    } else if let Some((change, event)) = lifecycle(env) {
        let event = wire::events::event(event);
        return vec![plain(frame(&ServerMessage::Event { change, event }))];
    } else if env.type_name == pb::PresenceChanged::full_name()
        && let Ok(p) = env.open::<pb::PresenceChanged>()
    {
        let user = wire::chat::author(p.user);
        return vec![plain(frame(&ServerMessage::Presence { viewer_count: p.viewer_count, user, joined: p.joined }))];
    }
    tracing::debug!(type_name = %env.type_name, "room message of no interest to sockets");
    Vec::new()
}

/// The event carried by an events-service bus message, and what happened to it.
fn lifecycle(env: &Envelope) -> Option<(&'static str, stagecast_proto::events::v1::Event)> {
    use prost::Name;
    use stagecast_proto::events::v1 as ev;
    let t = env.type_name.as_str();
    let (change, event) = if t == ev::EventScheduled::full_name() {
        ("scheduled", env.open::<ev::EventScheduled>().ok()?.event)
    } else if t == ev::EventUpdated::full_name() {
        ("updated", env.open::<ev::EventUpdated>().ok()?.event)
    } else if t == ev::EventWentLive::full_name() {
        ("live", env.open::<ev::EventWentLive>().ok()?.event)
    } else if t == ev::EventEnded::full_name() {
        ("ended", env.open::<ev::EventEnded>().ok()?.event)
    } else if t == ev::EventCancelled::full_name() {
        ("cancelled", env.open::<ev::EventCancelled>().ok()?.event)
    } else {
        return None;
    };
    Some((change, event?))
}

/// Re-vouches for this replica's users in a room, so presence survives while they stay.
async fn refresh_presence(hub: Arc<Hub>, event: String) {
    let mut tick = tokio::time::interval(presence::REFRESH);
    tick.tick().await;
    loop {
        tick.tick().await;
        let users: Vec<Author> = {
            let rooms = hub.lock();
            match rooms.get(&event) {
                Some(r) => r.users.values().filter(|(_, _, listed)| *listed).map(|(_, a, _)| a.clone()).collect(),
                None => return,
            }
        };
        let mut redis = hub.redis.clone();
        if let Err(e) = presence::vouch(&mut redis, &event, &users).await {
            tracing::warn!(error = %e, "cannot refresh presence");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, DuplexStream, duplex};

    use super::*;
    use crate::live::outlet::{Alert, text_frame};

    fn plain(json: &str) -> RoomEvent {
        RoomEvent {
            json: Utf8Bytes::from(json.to_owned()),
            close_user: None,
            close_all: None,
            backstage_of: None,
            standing: None,
        }
    }

    fn who(user: &str, role: &'static str) -> Author {
        Author { user_id: user.into(), display_name: user.into(), avatar_url: None, role }
    }

    /// Whether a socket of `role` that joined on air sees the backstage.
    fn staff(role: &str) -> bool {
        matches!(role, "host" | "cohost" | "moderator")
    }

    /// A socket of each (user, role) in `shards`, open, with the client's end.
    fn sockets(
        shards: &mut Shards<DuplexStream>,
        people: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, Arc<Outlet<DuplexStream>>, DuplexStream)> {
        let mut clients = Vec::new();
        for &(user, role) in people {
            let (server, client) = duplex(1 << 16);
            let outlet = Outlet::new(server);
            outlet.open(Bytes::new());
            shards.add(user, staff(role), outlet.clone());
            clients.push((user, outlet, client));
        }
        clients
    }

    /// A stage change of `user` that leaves them with these grants, as the bus brings it.
    fn stage_change(user: &str, sees_backstage: bool, listed: bool, json: &str) -> RoomEvent {
        let standing = Standing { user_id: user.into(), sees_backstage, listed, role: None };
        let backstage_of = (!listed).then(|| user.to_owned());
        RoomEvent { standing: Some(standing), backstage_of, ..plain(json) }
    }

    async fn nothing_more(user: &str, client: &mut DuplexStream) {
        let mut more = [0u8; 1];
        let extra = tokio::time::timeout(Duration::from_millis(50), client.read(&mut more)).await;
        assert!(extra.is_err(), "{user} got more than expected");
    }

    /// A change to someone in the green room goes to the staff and to them, never to the
    /// audience, and frames around it still reach everyone in order.
    #[tokio::test]
    async fn a_backstage_change_reaches_the_staff_and_its_target_and_nobody_else() {
        let (tx, _) = broadcast::channel(ROOM_BUFFER);
        let mut shards = Shards::new(tx.clone());
        let mut clients = sockets(
            &mut shards,
            &[("host", "host"), ("mod", "moderator"), ("guest", "viewer"), ("fan", "viewer"), ("speaker", "speaker")],
        );
        tx.send(plain(r#"{"n":1}"#)).unwrap();
        tx.send(RoomEvent { backstage_of: Some("guest".into()), ..plain(r#"{"type":"stage"}"#) }).unwrap();
        tx.send(plain(r#"{"n":2}"#)).unwrap();
        for (user, _outlet, client) in &mut clients {
            let expected = if matches!(*user, "host" | "mod" | "guest") {
                [text_frame(r#"{"n":1}"#), text_frame(r#"{"type":"stage"}"#), text_frame(r#"{"n":2}"#)].concat()
            } else {
                [text_frame(r#"{"n":1}"#), text_frame(r#"{"n":2}"#)].concat()
            };
            read_frame(client, &expected).await;
            nothing_more(user, client).await;
        }
    }

    /// Someone made a co-host while their socket is open gets the backstage changes after
    /// their promotion, not those before it; someone demoted gets those before, not after. The
    /// whole burst is queued before the shard runs (one-thread runtime), so this holds within
    /// one batch too.
    #[tokio::test]
    async fn backstage_changes_follow_a_promotion_or_demotion_from_the_next_frame_without_reconnecting() {
        let (tx, _) = broadcast::channel(ROOM_BUFFER);
        let mut shards = Shards::new(tx.clone());
        let mut clients =
            sockets(&mut shards, &[("host", "host"), ("fan", "viewer"), ("cohost", "cohost"), ("guest", "speaker")]);
        let backstage = |n: u32| stage_change("guest", true, false, &format!(r#"{{"backstage":{n}}}"#));
        tx.send(backstage(1)).unwrap();
        tx.send(stage_change("fan", true, true, r#"{"promoted":"fan"}"#)).unwrap();
        tx.send(stage_change("cohost", false, true, r#"{"demoted":"cohost"}"#)).unwrap();
        tx.send(backstage(2)).unwrap();
        tx.send(plain(r#"{"n":3}"#)).unwrap();
        let f = |json: &str| text_frame(json);
        let (b1, b2) = (f(r#"{"backstage":1}"#), f(r#"{"backstage":2}"#));
        let (promoted, demoted, after) = (f(r#"{"promoted":"fan"}"#), f(r#"{"demoted":"cohost"}"#), f(r#"{"n":3}"#));
        for (user, _outlet, client) in &mut clients {
            let expected = match *user {
                "fan" => [promoted.clone(), demoted.clone(), b2.clone(), after.clone()].concat(),
                "cohost" => [b1.clone(), promoted.clone(), demoted.clone(), after.clone()].concat(),
                _ => [b1.clone(), promoted.clone(), demoted.clone(), b2.clone(), after.clone()].concat(),
            };
            read_frame(client, &expected).await;
            nothing_more(user, client).await;
        }
    }

    /// Sent backstage mid-socket, a speaker stops being listed and joins the green room's
    /// audience; brought on air, they are listed again. Each person moves once, however many
    /// sockets they have, and only when their listing changes.
    #[test]
    fn a_stage_change_moves_its_target_in_or_out_of_presence_once_per_person() {
        let mut users = HashMap::new();
        users.insert("speaker".to_owned(), (2, who("speaker", "viewer"), true));
        users.insert("fan".to_owned(), (1, who("fan", "viewer"), true));
        let standing = |listed: bool, role| Standing { user_id: "speaker".into(), sees_backstage: !listed, listed, role };

        let moved = apply_standing(&mut users, &standing(false, Some("speaker")));
        assert_eq!(moved.map(|(a, listed)| (a.user_id, a.role, listed)), Some(("speaker".into(), "speaker", false)));
        assert!(!users["speaker"].2, "no longer re-vouched for by refresh_presence nor left on close");
        assert!(apply_standing(&mut users, &standing(false, None)).is_none(), "still backstage: nothing to say");
        let moved = apply_standing(&mut users, &standing(true, None));
        assert_eq!(moved.map(|(a, listed)| (a.role, listed)), Some(("speaker", true)));
        assert!(users["speaker"].2);
        assert_eq!(users["speaker"].0, 2, "their sockets stay");
        let elsewhere = Standing { user_id: "not-here".into(), sees_backstage: false, listed: false, role: None };
        assert!(apply_standing(&mut users, &elsewhere).is_none(), "nobody here to move");
        assert!(users["fan"].2);
    }

    async fn read_frame(client: &mut DuplexStream, expected: &[u8]) {
        let mut got = vec![0u8; expected.len()];
        tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut got)).await.unwrap().unwrap();
        assert_eq!(got, expected);
    }

    /// More sockets than a shard holds: a second shard starts, every socket gets each message
    /// once, and a ban closes only the banned user's sockets after its notice is written.
    #[tokio::test]
    async fn every_socket_of_a_room_larger_than_a_shard_gets_each_message_and_a_ban_closes_only_its_target() {
        let (tx, _) = broadcast::channel(ROOM_BUFFER);
        let mut shards = Shards::new(tx.clone());
        let mut clients = Vec::new();
        for i in 0..SHARD_SIZE + 3 {
            let (server, client) = duplex(1 << 16);
            let outlet = Outlet::new(server);
            outlet.open(Bytes::new());
            let user = if i == SHARD_SIZE + 1 { "troll".to_owned() } else { format!("u{i}") };
            shards.add(&user, false, outlet.clone());
            clients.push((user, outlet, client));
        }
        assert_eq!(shards.shards.len(), 2);
        tx.send(plain(r#"{"type":"chat.message"}"#)).unwrap();
        tx.send(RoomEvent {
            json: Utf8Bytes::from_static(r#"{"type":"moderation"}"#),
            close_user: Some(("troll".into(), protocol::close::BANNED, "banned")),
            close_all: None,
            backstage_of: None,
            standing: None,
        })
        .unwrap();
        let expected = [text_frame(r#"{"type":"chat.message"}"#), text_frame(r#"{"type":"moderation"}"#)].concat();
        for (user, outlet, client) in &mut clients {
            read_frame(client, &expected).await;
            // The shard closes right after writing, before the client could read.
            let alert = futures::FutureExt::now_or_never(outlet.alert());
            if user == "troll" {
                assert_eq!(alert, Some(Alert::Close(protocol::close::BANNED, "banned")));
            } else {
                assert_eq!(alert, None, "{user} must stay");
            }
        }
        // A socket that leaves gets nothing more; the rest still do.
        let (_, gone, mut gone_client) = clients.remove(0);
        shards.remove(&gone);
        tx.send(plain("{}")).unwrap();
        read_frame(&mut clients[0].2, &text_frame("{}")).await;
        let mut buf = [0u8; 1];
        assert!(tokio::time::timeout(Duration::from_millis(100), gone_client.read(&mut buf)).await.is_err());
    }

    /// A shard that falls more than the room's buffer behind cannot know what it missed: its
    /// sockets are dropped as too slow (the client reconnects and reloads history) rather than
    /// kept with a gap in the conversation.
    #[tokio::test]
    async fn a_shard_that_falls_behind_the_room_buffer_drops_its_sockets_as_too_slow() {
        let (tx, _) = broadcast::channel(ROOM_BUFFER);
        let mut shards = Shards::new(tx.clone());
        let (server, mut client) = duplex(1 << 16);
        let outlet = Outlet::new(server);
        outlet.open(Bytes::new());
        shards.add("u1", false, outlet.clone());
        // The test's runtime has one thread: the shard task runs only once this test yields, so
        // the whole burst is in the channel before it reads, and the oldest are overwritten.
        for i in 0..ROOM_BUFFER + 10 {
            tx.send(plain(&format!("{{\"n\":{i}}}"))).unwrap();
        }
        let alert = tokio::time::timeout(Duration::from_secs(5), outlet.alert()).await.unwrap();
        assert_eq!(alert, Alert::TooSlow);
        assert_eq!(outlet.backlog_len(), 0, "what waited for the dropped socket is freed");
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_millis(100), client.read(&mut buf)).await;
        assert!(read.is_err(), "nothing after the gap is written to a dropped socket");
    }

    #[test]
    fn a_stage_change_that_leaves_its_target_backstage_is_for_the_backstage_only() {
        use stagecast_proto::events::v1 as ev;
        let change = |grants: Option<ev::MediaGrants>| {
            let c = ev::StageChanged {
                event_id: "e".into(),
                kind: "sent_backstage".into(),
                target_user_id: "guest".into(),
                role: "speaker".into(),
                target_grants: grants,
                ..Default::default()
            };
            room_events(&Envelope::wrap(&c)).pop().unwrap().backstage_of
        };
        let backstage = ev::MediaGrants { subscribe: true, backstage: true, see_backstage: true, ..Default::default() };
        assert_eq!(change(Some(backstage)), Some("guest".to_owned()));
        assert_eq!(change(Some(ev::MediaGrants { subscribe: true, ..Default::default() })), None, "on air: everyone");
        assert_eq!(change(None), None);
    }

    /// The grants a stage change leaves its target with decide what their open sockets see
    /// and whether presence lists them; a kick or ban closes them instead.
    #[test]
    fn a_stage_change_says_where_its_target_now_stands_unless_it_removes_them() {
        use stagecast_proto::events::v1 as ev;
        let standing = |kind: &str, role: &str, grants: Option<ev::MediaGrants>| {
            let c = ev::StageChanged {
                event_id: "e".into(),
                kind: kind.into(),
                target_user_id: "u".into(),
                role: role.into(),
                target_grants: grants,
                ..Default::default()
            };
            room_events(&Envelope::wrap(&c)).pop().unwrap().standing
        };
        let staff = ev::MediaGrants { subscribe: true, see_backstage: true, ..Default::default() };
        let green = ev::MediaGrants { subscribe: true, backstage: true, see_backstage: true, ..Default::default() };
        let audience = ev::MediaGrants { subscribe: true, ..Default::default() };
        let at = |sees_backstage, listed, role| Some(Standing { user_id: "u".into(), sees_backstage, listed, role });
        assert_eq!(standing("role_changed", "cohost", Some(staff.clone())), at(true, true, Some("cohost")));
        assert_eq!(standing("role_changed", "audience", Some(audience.clone())), at(false, true, Some("viewer")));
        assert_eq!(standing("sent_backstage", "speaker", Some(green)), at(true, false, Some("speaker")));
        assert_eq!(standing("kicked", "audience", Some(audience)), None);
        assert_eq!(standing("banned", "audience", None), None);
        assert_eq!(standing("role_changed", "moderator", None), None, "the event is over: nothing to follow");
    }

    #[test]
    fn a_presence_change_keeps_the_role_of_who_arrived() {
        let msg = pb::PresenceChanged {
            event_id: "e".into(),
            user: Some(pb::Author {
                user_id: "u".into(),
                display_name: "Ada".into(),
                avatar_url: String::new(),
                role: wire::chat::role_value("host"),
            }),
            joined: true,
            viewer_count: 3,
        };
        let events = room_events(&Envelope::wrap(&msg));
        assert_eq!(events.len(), 1);
        let v: serde_json::Value = serde_json::from_str(events[0].json.as_str()).unwrap();
        assert_eq!(v["type"], "presence");
        assert_eq!(v["user"]["role"], "host");
        assert_eq!(v["viewer_count"], 3);
    }

    #[test]
    fn a_ban_closes_the_banned_users_sockets_and_a_deletion_is_announced() {
        let ban = pb::ModerationAction { kind: "ban".into(), target_user_id: "troll".into(), ..Default::default() };
        let events = room_events(&Envelope::wrap(&ban));
        assert_eq!(
            events.last().unwrap().close_user.as_ref().map(|c| (c.0.as_str(), c.1)),
            Some(("troll", protocol::close::BANNED))
        );
        let del = pb::ModerationAction { kind: "delete_message".into(), target_message_id: "m1".into(), ..Default::default() };
        let events = room_events(&Envelope::wrap(&del));
        assert!(events[0].json.as_str().contains("\"chat.deleted\""));
        assert!(events.iter().all(|e| e.close_user.is_none()));
    }
}
