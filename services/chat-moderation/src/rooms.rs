//! Which rooms exist and who runs them, kept in step with the events service.
//!
//! The "chat-rooms" durable consumer applies every `stagecast.events.v1.event.>` message to the
//! `rooms` table. It is idempotent: the envelope id is recorded in `processed_messages` in the
//! same transaction as the change, so a redelivery changes nothing, and a room row only ever
//! moves to a newer version of its event (`event_updated_at`).
//!
//! When a request names a room the bus has not brought yet (the event was created a moment
//! ago), [`Rooms::view`] asks the events service once with GetEvent and stores the answer.
//!
//! Send and Join read a user's view of a room through a short-lived in-process cache
//! ([`ViewCache`]): a chatty user would otherwise cost one Postgres round trip per message,
//! the largest single cost of Send. A change made through this replica (a moderation action,
//! an event update it applied) drops the room's entries at once; a change made through another
//! replica drops them when its bus message arrives ([`follow_invalidations`]), and in any case
//! after [`VIEW_TTL`]. Moderation calls always read Postgres.
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use chrono::Utc;
use futures::StreamExt;
use prost::Name;
use sqlx::PgPool;
use stagecast_bus::Envelope;
use stagecast_kit::{ApiError, ErrorKind};
use stagecast_proto::events::v1::{self as events_pb, events_service_client::EventsServiceClient};
use stagecast_telemetry::grpc::PropagateTrace;
use tokio::sync::watch;
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};

use crate::{
    bus::{self, DurableConsumer},
    domain::{ActionId, ActionKind, EventId, ModerationAction, Reason, Room, RoomSettings, UserId, at_stored_precision},
    store::{self, RoomView},
};

pub type EventsClient = EventsServiceClient<InterceptedService<Channel, PropagateTrace>>;

/// Processed ids older than this are forgotten: the stream keeps messages 7 days, so none
/// older can be redelivered.
const REMEMBER_PROCESSED: chrono::Duration = chrono::Duration::days(8);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The longest a cached view is used. A ban or an ended event reaches every replica's cache
/// by bus message well before this; the bound covers a bus that is briefly away.
pub const VIEW_TTL: Duration = Duration::from_secs(1);
/// Cached views (users' standings) at most; past it the cache starts over. A standing is a few
/// dozen bytes; a room and its settings are kept once per room.
const VIEW_CACHE_MAX: usize = 20_000;

/// One user's standing in a room, as a view carries it.
#[derive(Debug, Clone, Copy)]
struct Standing {
    appointed: bool,
    speaking: bool,
    backstage: bool,
    banned: bool,
    timed_out_until: Option<chrono::DateTime<Utc>>,
    read_at: Instant,
}

/// A room's cached views: the room and its settings once (a long blocked-terms list is not
/// copied per user), and each user's standing.
struct RoomViews {
    room: Room,
    settings: RoomSettings,
    users: HashMap<UserId, Standing>,
}

/// Recently read views, by room and user.
#[derive(Default)]
pub struct ViewCache {
    rooms: Mutex<HashMap<EventId, RoomViews>>,
    entries: AtomicU64,
    /// Bumped by every invalidation: a view read from Postgres is only cached if no
    /// invalidation happened while it was being read (it might be older than the change).
    generation: AtomicU64,
}

impl ViewCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EventId, RoomViews>> {
        // Nothing awaits while it is held, and a poisoned map only holds views.
        stagecast_kit::sync::lock(&self.rooms)
    }

    fn get(&self, event: EventId, user: UserId, now: Instant) -> Option<RoomView> {
        let rooms = self.lock();
        let views = rooms.get(&event)?;
        let standing = views.users.get(&user)?;
        (now.duration_since(standing.read_at) < VIEW_TTL).then(|| RoomView {
            room: views.room.clone(),
            settings: views.settings.clone(),
            appointed: standing.appointed,
            speaking: standing.speaking,
            backstage: standing.backstage,
            banned: standing.banned,
            timed_out_until: standing.timed_out_until,
        })
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn put(&self, event: EventId, user: UserId, view: RoomView, read_at: Instant, generation: u64) {
        let mut rooms = self.lock();
        if self.generation() != generation {
            return;
        }
        if self.entries.load(Ordering::Relaxed) as usize >= VIEW_CACHE_MAX {
            rooms.clear();
            self.entries.store(0, Ordering::Relaxed);
        }
        let RoomView { room, settings, appointed, speaking, backstage, banned, timed_out_until } = view;
        let standing = Standing { appointed, speaking, backstage, banned, timed_out_until, read_at };
        // The room part is the newest read; no change came in between (same generation).
        let views = match rooms.entry(event) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let views = e.into_mut();
                views.room = room;
                views.settings = settings;
                views
            }
            std::collections::hash_map::Entry::Vacant(e) => e.insert(RoomViews { room, settings, users: HashMap::new() }),
        };
        if views.users.insert(user, standing).is_none() {
            self.entries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Forgets every view of `event`: something about the room or someone in it changed.
    pub fn invalidate(&self, event: EventId) {
        let mut rooms = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(views) = rooms.remove(&event) {
            self.entries.fetch_sub(views.users.len() as u64, Ordering::Relaxed);
        }
    }
}

/// Rooms as the request path sees them.
#[derive(Clone)]
pub struct Rooms {
    pool: PgPool,
    events: EventsClient,
    cache: Arc<ViewCache>,
}

fn event_not_found(event: EventId) -> ApiError {
    ApiError::not_found("event_not_found", format!("there is no event {event}"))
}

impl Rooms {
    pub fn new(pool: PgPool, events: EventsClient) -> Self {
        Self { pool, events, cache: Arc::default() }
    }

    pub fn cache(&self) -> &Arc<ViewCache> {
        &self.cache
    }

    /// Like [`Rooms::view`], but possibly up to [`VIEW_TTL`] old (see the module docs): for
    /// Send and Join, which run for every message and every arrival.
    pub async fn cached_view(&self, event: EventId, user: UserId) -> Result<RoomView, ApiError> {
        let now = Instant::now();
        if let Some(view) = self.cache.get(event, user, now) {
            return Ok(view);
        }
        let generation = self.cache.generation();
        let view = self.view(event, user).await?;
        self.cache.put(event, user, view.clone(), now, generation);
        Ok(view)
    }

    /// The room of `event` and `user`'s standing in it, asking the events service when the
    /// room is not known here yet.
    pub async fn view(&self, event: EventId, user: UserId) -> Result<RoomView, ApiError> {
        if let Some(view) = store::room_view(&self.pool, event, user).await? {
            return Ok(view);
        }
        self.fetch(event).await?;
        store::room_view(&self.pool, event, user)
            .await?
            .ok_or_else(|| ApiError::internal(format!("room {event} is missing right after it was stored")))
    }

    /// The room of `event`, asking the events service when it is not known here yet.
    pub async fn room(&self, event: EventId) -> Result<Room, ApiError> {
        if let Some(room) = store::find_room(&self.pool, event).await? {
            return Ok(room);
        }
        self.fetch(event).await?;
        store::find_room(&self.pool, event)
            .await?
            .ok_or_else(|| ApiError::internal(format!("room {event} is missing right after it was stored")))
    }

    async fn fetch(&self, event: EventId) -> Result<(), ApiError> {
        let request = events_pb::GetEventRequest { id: event.to_string() };
        match self.events.clone().get_event(request).await {
            Ok(reply) => {
                let room = Room::try_from(reply.into_inner())
                    .map_err(|e| ApiError::internal(format!("events service returned an invalid event: {e}")))?;
                if room.event_id != event {
                    return Err(ApiError::internal(format!("asked the events service for {event}, got {}", room.event_id)));
                }
                store::upsert_room(&self.pool, &room).await?;
                tracing::debug!(event_id = %event, "room fetched from the events service");
                Ok(())
            }
            Err(status) if status.code() == Code::NotFound => Err(event_not_found(event)),
            // An invalid id is refused before this call, so anything else means the events
            // service could not answer: say so rather than claim the event does not exist.
            Err(status) => {
                tracing::warn!(event_id = %event, code = ?status.code(), message = status.message(), "cannot fetch an unknown room's event");
                Err(ApiError::new(
                    ErrorKind::Unavailable,
                    "events_unavailable",
                    "cannot look this event up right now; retry shortly",
                )
                .with_retry_after(Duration::from_secs(1)))
            }
        }
    }
}

/// What applying one bus message did.
#[derive(Debug, PartialEq, Eq)]
enum Applied {
    Changed,
    /// Seen before, or an older version of the event than the stored one.
    NoChange,
    /// Not an event lifecycle message (nothing under the filter today, but the subject space
    /// may grow).
    Ignored,
}

/// A message that can never be applied; retrying it would not help.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Poison(String);

#[derive(Debug, thiserror::Error)]
enum ApplyError {
    #[error(transparent)]
    Poison(#[from] Poison),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// The event a lifecycle message carries, or `None` for other message types.
fn event_of(env: &Envelope) -> Result<Option<events_pb::Event>, Poison> {
    let poison = |e: stagecast_bus::EnvelopeError| Poison(e.to_string());
    let t = env.type_name.as_str();
    let event = if t == events_pb::EventScheduled::full_name() {
        env.open::<events_pb::EventScheduled>().map_err(poison)?.event
    } else if t == events_pb::EventUpdated::full_name() {
        env.open::<events_pb::EventUpdated>().map_err(poison)?.event
    } else if t == events_pb::EventWentLive::full_name() {
        env.open::<events_pb::EventWentLive>().map_err(poison)?.event
    } else if t == events_pb::EventEnded::full_name() {
        env.open::<events_pb::EventEnded>().map_err(poison)?.event
    } else if t == events_pb::EventCancelled::full_name() {
        env.open::<events_pb::EventCancelled>().map_err(poison)?.event
    } else {
        return Ok(None);
    };
    event.map(Some).ok_or_else(|| Poison(format!("{t} without an event")))
}

/// A stage change that the chat must follow: the events service owns roles and bans, and the
/// chat's moderator, speaker and ban rows are its copy, written only from these messages. A ban
/// or a moderator change is also a chat moderation action (audit log and `moderation` message),
/// as chat moderators and the banned user's sockets expect; the speaker list only labels
/// messages, so it changes silently.
async fn apply_stage(pool: &PgPool, env: &Envelope) -> Result<Applied, ApplyError> {
    let c = env.open::<events_pb::StageChanged>().map_err(|e| Poison(e.to_string()))?;
    let parse = |raw: &str| uuid::Uuid::parse_str(raw).map_err(|e| Poison(format!("{raw:?}: {e}")));
    let (event, target, actor) = (
        EventId::from_uuid(parse(&c.event_id)?),
        UserId::from_uuid(parse(&c.target_user_id)?),
        UserId::from_uuid(parse(&c.actor_id)?),
    );
    let kind = match (c.kind.as_str(), c.role.as_str(), c.previous_role.as_str()) {
        ("banned", ..) => Some(ActionKind::Ban),
        ("unbanned", ..) => Some(ActionKind::Unban),
        ("role_changed", "moderator", _) => Some(ActionKind::AddModerator),
        ("role_changed", _, "moderator") => Some(ActionKind::RemoveModerator),
        _ => None,
    };
    // `role` is the target's role after any change (hands and invitations included), so each
    // message says whether they speak now; messages without a role say nothing.
    let speaking = match c.role.as_str() {
        "" => None,
        role => Some(role == "speaker" && c.kind != "banned"),
    };
    // The grants after the change say whether the target is in the green room; a ban ends it.
    let backstage = if c.kind == "banned" { Some(false) } else { c.target_grants.as_ref().map(|g| g.backstage) };
    if kind.is_none() && speaking.is_none() && backstage.is_none() {
        return Ok(Applied::Ignored);
    }
    let mut tx = pool.begin().await?;
    if !store::mark_processed(&mut tx, env.id).await? {
        return Ok(Applied::NoChange);
    }
    let mut speakers_changed = match speaking {
        Some(s) => store::set_speaker(&mut tx, event, target, s).await?,
        None => false,
    };
    if let Some(b) = backstage {
        speakers_changed |= store::set_backstage(&mut tx, event, target, b).await?;
    }
    let Some(kind) = kind else {
        tx.commit().await?;
        return Ok(if speakers_changed { Applied::Changed } else { Applied::NoChange });
    };
    let changed = match kind {
        ActionKind::Ban => {
            let banned = store::add_ban(&mut tx, event, target, actor).await?;
            store::remove_moderator(&mut tx, event, target).await? || banned
        }
        ActionKind::Unban => store::remove_ban(&mut tx, event, target).await?,
        ActionKind::AddModerator => store::add_moderator(&mut tx, event, target, actor).await?,
        _ => store::remove_moderator(&mut tx, event, target).await?,
    };
    if changed {
        let action = ModerationAction {
            id: ActionId::generate(),
            event_id: event,
            actor_id: actor,
            kind,
            target_user_id: Some(target),
            target_message_id: None,
            // The stage checked it (at most 200 characters); an unreadable one is not worth a
            // lost ban.
            reason: Reason::parse(&c.reason).unwrap_or_default(),
            at: at_stored_precision(chrono::Utc::now()),
            duration_secs: None,
            message: None,
            settings: None,
        };
        store::insert_audit(&mut tx, &action).await?;
        bus::enqueue_moderation(&mut tx, &action).await?;
    }
    tx.commit().await?;
    tracing::debug!(event_id = %event, kind = %c.kind, "room moderation followed the stage");
    Ok(if changed { Applied::Changed } else { Applied::NoChange })
}

async fn apply(pool: &PgPool, payload: &[u8]) -> Result<Applied, ApplyError> {
    let env = Envelope::decode(payload).map_err(|e| Poison(e.to_string()))?;
    if env.type_name == events_pb::StageChanged::full_name() {
        return apply_stage(pool, &env).await;
    }
    let Some(event) = event_of(&env)? else {
        return Ok(Applied::Ignored);
    };
    let room = Room::try_from(event).map_err(|e| Poison(e.to_string()))?;
    let mut tx = pool.begin().await?;
    if !store::mark_processed(&mut tx, env.id).await? {
        return Ok(Applied::NoChange);
    }
    let changed = store::upsert_room(&mut *tx, &room).await?;
    tx.commit().await?;
    if changed {
        tracing::debug!(event_id = %room.event_id, status = room.status.as_str(), "room updated from the bus");
    }
    Ok(if changed { Applied::Changed } else { Applied::NoChange })
}

/// Applies one delivered message and settles it with JetStream.
async fn handle(pool: &PgPool, cache: &ViewCache, message: &jetstream::Message) -> Result<(), sqlx::Error> {
    match apply(pool, &message.payload).await {
        Ok(applied) => {
            if applied == Applied::Changed
                && let Some(event) = event_of_subject(&message.subject)
            {
                cache.invalidate(event);
            }
            if let Err(e) = message.ack().await {
                // It will be redelivered and found in processed_messages.
                tracing::warn!(error = %e, "cannot acknowledge an applied event message");
            }
            Ok(())
        }
        Err(ApplyError::Poison(e)) => {
            tracing::warn!(subject = %message.subject, error = %e, "dropping an event message that cannot be applied");
            if let Err(e) = message.ack_with(AckKind::Term).await {
                tracing::warn!(error = %e, "cannot terminate an unusable event message");
            }
            Ok(())
        }
        Err(ApplyError::Db(e)) => {
            // Back on the stream shortly; later messages of other events go on meanwhile.
            if let Err(e) = message.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await {
                tracing::warn!(error = %e, "cannot return an event message for redelivery");
            }
            Err(e)
        }
    }
}

/// The event an event-lifecycle or room subject is about: the fifth token of
/// `stagecast.events.v1.event.{id}.…` and `stagecast.chat.v1.room.{id}.…`.
fn event_of_subject(subject: &str) -> Option<EventId> {
    let mut tokens = subject.split('.');
    let (Some("stagecast"), Some(_), Some("v1"), Some("event" | "room"), Some(id)) =
        (tokens.next(), tokens.next(), tokens.next(), tokens.next(), tokens.next())
    else {
        return None;
    };
    EventId::parse(id).ok()
}

/// Subjects whose messages change someone's view of a room: moderation announcements (from
/// any replica's outbox) and event lifecycle messages.
pub const INVALIDATING_SUBJECTS: [&str; 2] = ["stagecast.chat.v1.room.*.moderation", bus::EVENT_SUBJECTS];

/// Drops cached views when another replica changes a room, until `stop` turns true. Core NATS
/// (every replica hears every message); a message missed while NATS is away only leaves a view
/// stale for [`VIEW_TTL`].
pub async fn follow_invalidations(nats: async_nats::Client, cache: Arc<ViewCache>, mut stop: watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let subscribed = futures::future::try_join_all(INVALIDATING_SUBJECTS.map(|s| nats.subscribe(s))).await;
        let mut messages = match subscribed {
            Ok(subs) => {
                backoff = Duration::from_millis(100);
                futures::stream::select_all(subs)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot subscribe to room changes; cached views expire on their own");
                bus::pause(&mut backoff, &mut stop).await;
                if *stop.borrow() {
                    return;
                }
                continue;
            }
        };
        loop {
            let next = tokio::select! {
                _ = bus::stopped(&mut stop) => return,
                next = messages.next() => next,
            };
            let Some(message) = next else { break };
            if let Some(event) = event_of_subject(&message.subject) {
                cache.invalidate(event);
            }
        }
        bus::pause(&mut backoff, &mut stop).await;
    }
}

/// Runs the rooms consumer until `stop` turns true. `consumer` is the one set up at startup,
/// if that worked.
pub async fn follow_events(
    pool: PgPool,
    cache: Arc<ViewCache>,
    js: jetstream::Context,
    spec: DurableConsumer,
    mut consumer: Option<PullConsumer>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut next_prune = tokio::time::Instant::now();
    loop {
        if *stop.borrow() {
            return;
        }
        let current = match consumer.take() {
            Some(c) => c,
            None => match bus::ensure_with_retry(&js, &spec, &mut stop).await {
                Some(c) => c,
                None => return,
            },
        };
        let mut messages = match current.messages().await {
            Ok(messages) => messages,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read event messages; will retry");
                bus::pause(&mut backoff, &mut stop).await;
                continue;
            }
        };
        loop {
            if tokio::time::Instant::now() >= next_prune {
                next_prune += PRUNE_EVERY;
                if let Err(e) = store::prune_processed(&pool, Utc::now() - REMEMBER_PROCESSED).await {
                    tracing::warn!(error = %e, "cannot prune processed bus message ids");
                }
            }
            let next = tokio::select! {
                _ = bus::stopped(&mut stop) => return,
                // Wakes at least hourly for pruning, even when no event changes.
                next = tokio::time::timeout_at(next_prune, messages.next()) => next,
            };
            match next {
                Err(_) => {}
                Ok(None) => break,
                Ok(Some(Ok(message))) => match handle(&pool, &cache, &message).await {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot apply an event message; it will be redelivered");
                        bus::pause(&mut backoff, &mut stop).await;
                    }
                },
                Ok(Some(Err(e))) if bus::needs_new_consumer(&e) => {
                    tracing::warn!(error = %e, "rooms consumer lost its consumer; setting it up again");
                    break;
                }
                Ok(Some(Err(e))) => tracing::debug!(error = %e, "rooms consumer stream hiccup"),
            }
        }
        // The stream ended or the consumer is gone: set it up again after a pause.
        bus::pause(&mut backoff, &mut stop).await;
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::RoomStatus;

    fn view(event: EventId, banned: bool) -> RoomView {
        RoomView {
            room: Room {
                event_id: event,
                host_id: UserId::from_uuid(uuid::Uuid::new_v4()),
                cohost_ids: Vec::new(),
                status: RoomStatus::Live,
                went_live_at: None,
                event_updated_at: Utc::now(),
            },
            settings: RoomSettings::default(),
            appointed: false,
            speaking: false,
            backstage: false,
            banned,
            timed_out_until: None,
        }
    }

    fn ids() -> (EventId, UserId) {
        (EventId::from_uuid(uuid::Uuid::new_v4()), UserId::from_uuid(uuid::Uuid::new_v4()))
    }

    #[test]
    fn a_cached_view_is_used_until_it_is_a_ttl_old() {
        let cache = ViewCache::default();
        let (event, user) = ids();
        let t0 = Instant::now();
        cache.put(event, user, view(event, false), t0, cache.generation());
        assert!(cache.get(event, user, t0 + VIEW_TTL / 2).is_some());
        assert!(cache.get(event, user, t0 + VIEW_TTL).is_none());
        assert!(cache.get(event, UserId::from_uuid(uuid::Uuid::new_v4()), t0).is_none());
    }

    #[test]
    fn invalidating_a_room_forgets_its_views_and_only_its_views() {
        let cache = ViewCache::default();
        let (event, user) = ids();
        let (other, other_user) = ids();
        let now = Instant::now();
        cache.put(event, user, view(event, false), now, cache.generation());
        cache.put(other, other_user, view(other, false), now, cache.generation());
        cache.invalidate(event);
        assert!(cache.get(event, user, now).is_none());
        assert!(cache.get(other, other_user, now).is_some());
        assert_eq!(cache.entries.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_view_read_before_an_invalidation_is_not_cached_after_it() {
        let cache = ViewCache::default();
        let (event, user) = ids();
        let read_started = cache.generation();
        // A ban commits while the (now stale) view is being read.
        cache.invalidate(event);
        cache.put(event, user, view(event, false), Instant::now(), read_started);
        assert!(cache.get(event, user, Instant::now()).is_none());
    }

    #[test]
    fn a_full_cache_starts_over_rather_than_grow() {
        let cache = ViewCache::default();
        let now = Instant::now();
        for _ in 0..VIEW_CACHE_MAX + 5 {
            let (event, user) = ids();
            cache.put(event, user, view(event, true), now, cache.generation());
        }
        assert!(cache.entries.load(Ordering::Relaxed) as usize <= VIEW_CACHE_MAX);
        assert_eq!(cache.entries.load(Ordering::Relaxed) as usize, cache.lock().values().map(|v| v.users.len()).sum::<usize>());
    }

    #[test]
    fn the_event_of_a_room_or_lifecycle_subject_is_its_fifth_token() {
        let (event, _) = ids();
        assert_eq!(event_of_subject(&format!("stagecast.chat.v1.room.{event}.moderation")), Some(event));
        assert_eq!(event_of_subject(&format!("stagecast.events.v1.event.{event}.went_live")), Some(event));
        assert_eq!(event_of_subject("stagecast.chat.v1.room.not-a-uuid.moderation"), None);
        assert_eq!(event_of_subject(&format!("other.chat.v1.room.{event}.moderation")), None);
        assert_eq!(event_of_subject("stagecast.chat.v1"), None);
    }
}
