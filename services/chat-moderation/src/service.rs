//! The use cases, in domain terms.
//!
//! Send is the hot path and touches Postgres only to read the room (one query, cached for up
//! to a second: see [`crate::rooms`]): limits live in Redis and the message goes to JetStream,
//! which is the durable log; the persister writes it to Postgres shortly after. Every moderation action is one transaction that changes the
//! tables, writes the audit entry and puts the announcement in the outbox, so all three happen
//! or none does.
use std::time::Duration;

use async_nats::jetstream;
use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use stagecast_kit::{ApiError, ErrorKind};

use crate::{
    bus,
    domain::{
        ActionId, Author, BlockedTermMode, ChatMessage, ChatRole, ClientMsgId, Command, EventId, MessageId, MessageText,
        ModerationAction, PageSize, Reason, ReplayOffset, RoomSettings, Sent, UserId, at_stored_precision,
        ensure_can_be_moderated,
    },
    idempotency::{self, Claimed, SendKey},
    rooms::Rooms,
    store::{self, RoomView},
    throttle::{self, RateLimit},
};

/// How long a moderation call waits for a message it names to reach Postgres: the persister
/// writes within ~50 ms, so this only covers a persister that is briefly behind.
const PERSIST_GRACE: Duration = Duration::from_secs(2);
/// Held messages listed at once (oldest first).
const HELD_LIMIT: i64 = 500;
/// Most entries per standing list: beyond a few hundred a list is for search, not for a panel.
const STANDING_LIMIT: i64 = 500;

/// A message to send, parsed.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub event_id: EventId,
    pub author: Author,
    pub client_msg_id: ClientMsgId,
    pub text: MessageText,
}

/// A moderation call, parsed.
#[derive(Debug, Clone)]
pub struct ModerateCall {
    pub event_id: EventId,
    pub actor: UserId,
    pub reason: Reason,
    pub command: Command,
}

/// What a user sees on entering a room.
#[derive(Debug, Clone)]
pub struct Joined {
    pub role: ChatRole,
    /// Oldest first.
    pub history: Vec<ChatMessage>,
    pub pinned: Option<ChatMessage>,
    pub settings: RoomSettings,
    pub timed_out_until: Option<DateTime<Utc>>,
    /// In the green room.
    pub backstage: bool,
}

#[derive(Debug, Clone)]
pub struct HistoryPage {
    /// Newest first.
    pub messages: Vec<ChatMessage>,
    pub next_before: Option<MessageId>,
}

#[derive(Debug, Clone)]
pub struct ReplayPage {
    /// Messages with their offset (ms) from go-live, in send order.
    pub items: Vec<(i64, ChatMessage)>,
    /// Where the next page starts; `None` when there is nothing more yet.
    pub next_offset_ms: Option<i64>,
}

/// Who moderates, who is banned and who is timed out in a room; each newest first.
#[derive(Debug, Clone)]
pub struct Standing {
    pub moderators: Vec<store::StandingRow>,
    pub banned: Vec<store::StandingRow>,
    pub timed_out: Vec<store::StandingRow>,
}

#[derive(Debug, Clone)]
pub struct AuditPage {
    /// Newest first.
    pub actions: Vec<ModerationAction>,
    pub next_before: Option<ActionId>,
}

#[derive(Clone)]
pub struct Chat {
    pool: PgPool,
    redis: ConnectionManager,
    js: jetstream::Context,
    rooms: Rooms,
    rate_limit: RateLimit,
}

/// The refusals a room's view alone decides: closed room, ban, timeout.
fn admissible(view: &RoomView, role: ChatRole) -> Result<(), ApiError> {
    view.room.ensure_open()?;
    if role.runs_the_event() {
        return Ok(());
    }
    if view.banned {
        return Err(banned());
    }
    if let Some(left) = view.timed_out_until.and_then(|until| remaining(until, Utc::now())) {
        return Err(ApiError::forbidden(
            "timed_out",
            format!("you are timed out of this chat for {} more seconds", left.as_secs()),
        )
        .with_retry_after(left));
    }
    Ok(())
}

fn banned() -> ApiError {
    ApiError::forbidden("banned", "you are banned from this event's chat")
}

fn message_not_found(id: MessageId) -> ApiError {
    ApiError::not_found("message_not_found", format!("there is no message {id} in this room"))
}

fn publish_failed(e: bus::PublishError) -> ApiError {
    tracing::warn!(error = %e, "cannot publish a chat message");
    ApiError::new(ErrorKind::Unavailable, "chat_unavailable", "chat is briefly unavailable; retry the same message")
        .with_retry_after(Duration::from_secs(1))
}

/// Whole seconds left until `until`, rounded up; `None` once it has passed.
fn remaining(until: DateTime<Utc>, now: DateTime<Utc>) -> Option<Duration> {
    let left = (until - now).to_std().ok().filter(|d| !d.is_zero())?;
    Some(Duration::from_secs(left.as_millis().div_ceil(1000) as u64))
}

/// Splits one more row than asked for into a page and whether another page follows.
fn page<T>(mut rows: Vec<T>, limit: PageSize) -> (Vec<T>, bool) {
    let more = rows.len() > limit.as_usize();
    rows.truncate(limit.as_usize());
    (rows, more)
}

impl Chat {
    pub fn new(pool: PgPool, redis: ConnectionManager, js: jetstream::Context, rooms: Rooms, rate_limit: RateLimit) -> Self {
        Self { pool, redis, js, rooms, rate_limit }
    }

    /// Enters a room: refuses banned users (the event's own people cannot be banned).
    pub async fn join(&self, event: EventId, user: UserId, history_limit: PageSize) -> Result<Joined, ApiError> {
        let view = self.rooms.cached_view(event, user).await?;
        let role = view.role(user);
        if view.banned && !role.runs_the_event() {
            return Err(banned());
        }
        let (mut history, pinned) = tokio::try_join!(
            store::history(&self.pool, event, None, i64::from(history_limit.get())),
            store::pinned(&self.pool, event),
        )?;
        history.reverse();
        let timed_out_until = if role.runs_the_event() { None } else { view.timed_out_until };
        Ok(Joined { role, history, pinned, settings: view.settings, timed_out_until, backstage: view.backstage })
    }

    /// Accepts a message, or returns the result of the first attempt with the same
    /// client_msg_id. Refusals take precedence in this order: closed room, ban, timeout, slow
    /// mode, rate limit, blocked terms; a retry of an accepted message gets its first answer
    /// whatever happened since.
    pub async fn send(&self, outgoing: Outgoing) -> Result<Sent, ApiError> {
        let event = outgoing.event_id;
        let user = outgoing.author.user_id;
        let view = self.rooms.cached_view(event, user).await?;
        let mut redis = self.redis.clone();
        let key = SendKey::new(event, user, &outgoing.client_msg_id);
        let role = view.role(user);
        let throttle =
            (!role.can_moderate()).then(|| throttle::Check::new(event, user, view.settings.slow_mode, self.rate_limit));
        let claimed = match admissible(&view, role) {
            // The common case: claim and throttle in one round trip.
            Ok(()) => idempotency::claim_and_check(&mut redis, key, throttle.as_ref()).await?,
            Err(refusal) => match idempotency::claim(&mut redis, key).await? {
                Claimed::Fresh(claim) => {
                    idempotency::release(&mut redis, claim).await;
                    return Err(refusal);
                }
                done => done,
            },
        };
        let claim = match claimed {
            Claimed::Done(sent) => {
                tracing::debug!(message_id = %sent.message.id, "send retried; returning the first result");
                return Ok(sent);
            }
            Claimed::Fresh(claim) => claim,
        };
        let Outgoing { event_id, author, client_msg_id, text } = outgoing;
        let message = ChatMessage {
            id: MessageId::generate(),
            event_id,
            author,
            role,
            text,
            sent_at: at_stored_precision(Utc::now()),
            client_msg_id,
        };
        match self.deliver(&view, message).await {
            Ok(sent) => {
                idempotency::complete(&mut redis, claim, &sent).await;
                Ok(sent)
            }
            Err(e) => {
                if throttle.is_some() {
                    // Slow mode paces messages that are shown.
                    throttle::release_slow_mode(&mut redis, event, user).await;
                }
                idempotency::release(&mut redis, claim).await;
                Err(e)
            }
        }
    }

    /// Applies the room's blocked terms, then publishes or holds the message.
    async fn deliver(&self, view: &RoomView, message: ChatMessage) -> Result<Sent, ApiError> {
        if view.settings.blocked_terms.find_in(message.text.as_str()).is_some() {
            match view.settings.blocked_term_mode {
                BlockedTermMode::Reject => {
                    return Err(ApiError::invalid("blocked_term", "your message contains a term blocked in this chat"));
                }
                BlockedTermMode::Hold => {
                    store::insert_held(&self.pool, &message).await?;
                    tracing::info!(event_id = %message.event_id, message_id = %message.id, "message held for review");
                    return Ok(Sent { message, held: true });
                }
            }
        }
        bus::publish_message(&self.js, &message).await.map_err(publish_failed)?;
        Ok(Sent { message, held: false })
    }

    /// Refuses a reader banned from the event (one ban for the socket, sending and reading).
    async fn check_reader(&self, event: EventId, reader: Option<UserId>) -> Result<(), ApiError> {
        let Some(user) = reader else { return Ok(()) };
        let view = self.rooms.cached_view(event, user).await?;
        if view.banned && !view.role(user).runs_the_event() {
            return Err(banned());
        }
        Ok(())
    }

    /// Older messages, newest first, for `reader` (refused while banned; `None`: a service).
    pub async fn history(
        &self,
        event: EventId,
        reader: Option<UserId>,
        before: Option<MessageId>,
        limit: PageSize,
    ) -> Result<HistoryPage, ApiError> {
        self.rooms.room(event).await?;
        self.check_reader(event, reader).await?;
        let rows = store::history(&self.pool, event, before, i64::from(limit.get()) + 1).await?;
        let (messages, more) = page(rows, limit);
        let next_before = if more { messages.last().map(|m| m.id) } else { None };
        Ok(HistoryPage { messages, next_before })
    }

    /// Messages with their offset from go-live, from `from` on, for `reader` (as in history).
    pub async fn replay(
        &self,
        event: EventId,
        reader: Option<UserId>,
        from: ReplayOffset,
        limit: PageSize,
    ) -> Result<ReplayPage, ApiError> {
        let room = self.rooms.room(event).await?;
        self.check_reader(event, reader).await?;
        let went_live = room.went_live_at.ok_or_else(|| {
            ApiError::new(ErrorKind::FailedPrecondition, "not_live_yet", "replay starts when the event goes live")
        })?;
        let start = went_live
            .checked_add_signed(chrono::Duration::milliseconds(from.ms()))
            .ok_or_else(|| ApiError::invalid("invalid_from_offset", "from_offset_ms is too large"))?;
        let rows = store::replay(&self.pool, event, start, i64::from(limit.get()) + 1).await?;
        let offset = |m: &ChatMessage| (m.sent_at - went_live).num_milliseconds();
        let next_first = rows.get(limit.as_usize()).map(offset);
        let (mut messages, _) = page(rows, limit);
        let next_offset_ms = match next_first {
            None => None,
            Some(next) => {
                // The next page starts at a millisecond, so messages of that millisecond move to
                // it: otherwise they would be returned twice.
                let full = messages.clone();
                while messages.last().is_some_and(|m| offset(m) == next) {
                    messages.pop();
                }
                if messages.is_empty() {
                    // More than `limit` messages in one millisecond: return them and move past
                    // that millisecond (the rest of it is skipped; a client asks for a larger page
                    // to see everything).
                    messages = full;
                    Some(next + 1)
                } else {
                    Some(next)
                }
            }
        };
        let items = messages.into_iter().map(|m| (offset(&m), m)).collect();
        Ok(ReplayPage { items, next_offset_ms })
    }

    /// Carries out one moderation action: the change, its audit entry and its announcement
    /// commit together.
    pub async fn moderate(&self, call: ModerateCall) -> Result<ModerationAction, ApiError> {
        let ModerateCall { event_id: event, actor, reason, command } = call;
        let view = self.rooms.view(event, actor).await?;
        command.authorize(view.role(actor))?;
        let named_message = match &command {
            Command::DeleteMessage(id) | Command::Pin(id) => Some(self.wait_for_message(event, *id).await?),
            _ => None,
        };
        // Protection depends only on the event's host and co-hosts, never on the moderator list.
        let protected = |user: UserId| ensure_can_be_moderated(view.room.role_of(user, false, false));
        let kind = command.kind();
        let mut action = ModerationAction {
            id: ActionId::generate(),
            event_id: event,
            actor_id: actor,
            kind,
            target_user_id: None,
            target_message_id: None,
            reason,
            at: at_stored_precision(Utc::now()),
            duration_secs: None,
            message: None,
            settings: None,
        };
        let mut tx = self.pool.begin().await?;
        match command {
            Command::DeleteMessage(id) => {
                let message = named_message.ok_or_else(|| message_not_found(id))?;
                protected(message.author.user_id)?;
                // A concurrent deletion got there first.
                if !store::insert_deletion(&mut tx, event, id, actor).await? {
                    return Err(message_not_found(id));
                }
                store::unpin(&mut tx, event, Some(id)).await?;
                action.target_user_id = Some(message.author.user_id);
                action.target_message_id = Some(id);
            }
            Command::Timeout { user, duration } => {
                protected(user)?;
                let until = action.at + chrono::Duration::seconds(i64::from(duration.secs()));
                store::set_timeout(&mut tx, event, user, until, actor).await?;
                action.target_user_id = Some(user);
                action.duration_secs = Some(duration.secs());
            }
            Command::Ban(user) => {
                protected(user)?;
                if !store::add_ban(&mut tx, event, user, actor).await? {
                    return Err(ApiError::new(ErrorKind::Conflict, "already_banned", "this user is banned already"));
                }
                // Someone banned from the chat cannot keep moderating it; unbanning does not
                // give the role back.
                store::remove_moderator(&mut tx, event, user).await?;
                action.target_user_id = Some(user);
            }
            Command::Unban(user) => {
                if !store::remove_ban(&mut tx, event, user).await? {
                    return Err(ApiError::not_found("not_banned", "this user is not banned"));
                }
                action.target_user_id = Some(user);
            }
            Command::AddModerator(user) => {
                if view.room.role_of(user, false, false).runs_the_event()
                    || !store::add_moderator(&mut tx, event, user, actor).await?
                {
                    return Err(ApiError::new(ErrorKind::Conflict, "already_moderator", "this user can moderate already"));
                }
                action.target_user_id = Some(user);
            }
            Command::RemoveModerator(user) => {
                if !store::remove_moderator(&mut tx, event, user).await? {
                    return Err(ApiError::not_found("moderator_not_found", "this user is not a moderator of this chat"));
                }
                action.target_user_id = Some(user);
            }
            Command::SetSlowMode(slow) => {
                action.settings = Some(store::set_slow_mode(&mut tx, event, slow).await?);
                action.duration_secs = Some(slow.secs());
            }
            Command::SetBlockedTerms { terms, mode } => {
                action.settings = Some(store::set_blocked_terms(&mut tx, event, &terms, mode).await?);
            }
            Command::Pin(id) => {
                let message = named_message.ok_or_else(|| message_not_found(id))?;
                store::set_pin(&mut tx, event, id).await?;
                action.target_user_id = Some(message.author.user_id);
                action.target_message_id = Some(id);
                action.message = Some(message);
            }
            Command::Unpin => {
                if !store::unpin(&mut tx, event, None).await? {
                    return Err(ApiError::not_found("nothing_pinned", "no message is pinned in this chat"));
                }
            }
            Command::Approve(id) => {
                // Locked until commit, so two moderators cannot both publish it.
                let message = store::lock_held(&mut tx, event, id).await?.ok_or_else(|| message_not_found(id))?;
                view.room.ensure_open()?;
                // Published before commit: if the commit then fails the message stays held and
                // a second approval publishes the same id again, which JetStream (Nats-Msg-Id),
                // the persister (ON CONFLICT) and clients (by id) all drop.
                bus::publish_message(&self.js, &message).await.map_err(publish_failed)?;
                store::remove_held(&mut tx, event, id).await?;
                action.target_user_id = Some(message.author.user_id);
                action.target_message_id = Some(id);
                action.message = Some(message);
            }
            Command::Deny(id) => {
                let message = store::remove_held(&mut tx, event, id).await?.ok_or_else(|| message_not_found(id))?;
                action.target_user_id = Some(message.author.user_id);
                action.target_message_id = Some(id);
            }
        }
        store::insert_audit(&mut tx, &action).await?;
        bus::enqueue_moderation(&mut tx, &action).await?;
        tx.commit().await?;
        // Before answering, so this replica refuses a banned user's next message at once.
        self.rooms.cache().invalidate(event);
        tracing::info!(
            event_id = %event,
            actor_id = %actor,
            kind = kind.as_str(),
            target_user_id = ?action.target_user_id.map(|u| u.to_string()),
            target_message_id = ?action.target_message_id.map(|m| m.to_string()),
            "moderation action"
        );
        Ok(action)
    }

    /// A stored, undeleted message of `event`. A message sent a moment ago may not be in
    /// Postgres yet (the persister batches), so a recent id is looked for again for a little
    /// while before it counts as unknown.
    async fn wait_for_message(&self, event: EventId, id: MessageId) -> Result<ChatMessage, ApiError> {
        let recent = id.created_at().is_some_and(|t| Utc::now() - t < chrono::Duration::seconds(10))
            && !store::is_deleted(&self.pool, id).await?;
        let deadline = tokio::time::Instant::now() + PERSIST_GRACE;
        loop {
            if let Some(message) = store::find_message(&self.pool, event, id).await? {
                return Ok(message);
            }
            if !recent || tokio::time::Instant::now() >= deadline {
                return Err(message_not_found(id));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn ensure_moderator(&self, event: EventId, actor: UserId) -> Result<(), ApiError> {
        let view = self.rooms.view(event, actor).await?;
        if view.role(actor).can_moderate() {
            Ok(())
        } else {
            Err(ApiError::forbidden("not_a_moderator", "only the host, co-hosts and moderators can see this"))
        }
    }

    /// Messages waiting for review, oldest first.
    pub async fn list_held(&self, event: EventId, actor: UserId) -> Result<Vec<ChatMessage>, ApiError> {
        self.ensure_moderator(event, actor).await?;
        Ok(store::list_held(&self.pool, event, HELD_LIMIT).await?)
    }

    /// The room's moderators, bans and running timeouts, for the people who manage them.
    pub async fn standing(&self, event: EventId, actor: UserId) -> Result<Standing, ApiError> {
        self.ensure_moderator(event, actor).await?;
        let (moderators, banned, timed_out) = store::standing(&self.pool, event, STANDING_LIMIT).await?;
        Ok(Standing { moderators, banned, timed_out })
    }

    /// The room's moderation actions, newest first.
    pub async fn audit_log(
        &self,
        event: EventId,
        actor: UserId,
        before: Option<ActionId>,
        limit: PageSize,
    ) -> Result<AuditPage, ApiError> {
        self.ensure_moderator(event, actor).await?;
        let rows = store::audit_page(&self.pool, event, before, i64::from(limit.get()) + 1).await?;
        let (actions, more) = page(rows, limit);
        let next_before = if more { actions.last().map(|a| a.id) } else { None };
        Ok(AuditPage { actions, next_before })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_time_rounds_up_and_ends() {
        let now = Utc::now();
        assert_eq!(remaining(now + chrono::Duration::milliseconds(1500), now), Some(Duration::from_secs(2)));
        assert_eq!(remaining(now, now), None);
        assert_eq!(remaining(now - chrono::Duration::seconds(1), now), None);
    }

    #[test]
    fn pages_report_whether_more_follow() {
        let limit = PageSize::history(2).expect("valid");
        assert_eq!(page(vec![1, 2, 3], limit), (vec![1, 2], true));
        assert_eq!(page(vec![1, 2], limit), (vec![1, 2], false));
    }
}
