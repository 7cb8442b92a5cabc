//! The `chat` Postgres schema (migrations/0001_init.sql).
//!
//! Plain runtime queries with bind parameters; every SQL string is a `&'static str`, so no value
//! from a request can ever become SQL text. Functions that take a `PgConnection` are meant to run
//! inside the caller's transaction. Deleted messages are filtered out here, in every read, by the
//! `message_deletions` tombstones.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{
    ActionId, ActionKind, Author, AvatarUrl, BlockedTermMode, BlockedTerms, ChatMessage, ChatRole, ClientMsgId, DisplayName,
    EventId, MessageId, MessageText, ModerationAction, Reason, Room, RoomSettings, RoomStatus, SlowMode, UserId,
};

/// Everything Join and Send need to know about a room and one user in it, read in one query.
#[derive(Debug, Clone)]
pub struct RoomView {
    pub room: Room,
    pub settings: RoomSettings,
    /// On the room's moderator list.
    pub appointed: bool,
    /// On the stage as a speaker.
    pub speaking: bool,
    /// In the green room.
    pub backstage: bool,
    pub banned: bool,
    /// The end of a timeout still running.
    pub timed_out_until: Option<DateTime<Utc>>,
}

impl RoomView {
    pub fn role(&self, user: UserId) -> ChatRole {
        self.room.role_of(user, self.appointed, self.speaking)
    }
}

fn decode_error(what: String) -> sqlx::Error {
    sqlx::Error::Decode(what.into())
}

#[derive(sqlx::FromRow)]
struct RoomRow {
    event_id: Uuid,
    host_id: Uuid,
    cohost_ids: Vec<Uuid>,
    status: String,
    went_live_at: Option<DateTime<Utc>>,
    event_updated_at: DateTime<Utc>,
}

impl TryFrom<RoomRow> for Room {
    type Error = sqlx::Error;

    fn try_from(row: RoomRow) -> Result<Self, Self::Error> {
        let status = RoomStatus::from_stored(&row.status)
            .ok_or_else(|| decode_error(format!("room {} has unknown status {:?}", row.event_id, row.status)))?;
        Ok(Room {
            event_id: EventId::from_uuid(row.event_id),
            host_id: UserId::from_uuid(row.host_id),
            cohost_ids: row.cohost_ids.into_iter().map(UserId::from_uuid).collect(),
            status,
            went_live_at: row.went_live_at,
            event_updated_at: row.event_updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    slow_mode_secs: i32,
    blocked_terms: Vec<String>,
    blocked_term_mode: String,
}

impl TryFrom<SettingsRow> for RoomSettings {
    type Error = sqlx::Error;

    fn try_from(row: SettingsRow) -> Result<Self, Self::Error> {
        let blocked_term_mode = BlockedTermMode::from_stored(&row.blocked_term_mode)
            .ok_or_else(|| decode_error(format!("unknown blocked_term_mode {:?}", row.blocked_term_mode)))?;
        Ok(RoomSettings {
            slow_mode: SlowMode::from_stored(row.slow_mode_secs),
            blocked_terms: BlockedTerms::from_stored(row.blocked_terms),
            blocked_term_mode,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RoomViewRow {
    #[sqlx(flatten)]
    room: RoomRow,
    #[sqlx(flatten)]
    settings: SettingsRow,
    appointed: bool,
    speaking: bool,
    backstage: bool,
    banned: bool,
    timed_out_until: Option<DateTime<Utc>>,
}

/// Inserts or refreshes a room, unless the stored copy is newer. Returns whether it changed.
pub async fn upsert_room(db: impl PgExecutor<'_>, room: &Room) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO rooms (event_id, host_id, cohost_ids, status, went_live_at, event_updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (event_id) DO UPDATE SET host_id = EXCLUDED.host_id, cohost_ids = EXCLUDED.cohost_ids, \
             status = EXCLUDED.status, went_live_at = EXCLUDED.went_live_at, \
             event_updated_at = EXCLUDED.event_updated_at, synced_at = now() \
         WHERE rooms.event_updated_at < EXCLUDED.event_updated_at",
    )
    .bind(room.event_id.as_uuid())
    .bind(room.host_id.as_uuid())
    .bind(room.cohost_ids.iter().map(UserId::as_uuid).collect::<Vec<_>>())
    .bind(room.status.as_str())
    .bind(room.went_live_at)
    .bind(room.event_updated_at)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records that bus message `id` was applied; false when it had been already.
pub async fn mark_processed(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("INSERT INTO processed_messages (message_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Forgets processed ids older than `before`. Safe once the stream no longer holds those
/// messages (it keeps 7 days), since nothing can redeliver them any more.
pub async fn prune_processed(db: impl PgExecutor<'_>, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM processed_messages WHERE processed_at < $1").bind(before).execute(db).await?;
    Ok(result.rows_affected())
}

/// The room and `user`'s standing in it; `None` when the room is unknown.
pub async fn room_view(db: impl PgExecutor<'_>, event: EventId, user: UserId) -> Result<Option<RoomView>, sqlx::Error> {
    let row = sqlx::query_as::<_, RoomViewRow>(
        "SELECT r.event_id, r.host_id, r.cohost_ids, r.status, r.went_live_at, r.event_updated_at, \
                COALESCE(s.slow_mode_secs, 0) AS slow_mode_secs, \
                COALESCE(s.blocked_terms, '{}') AS blocked_terms, \
                COALESCE(s.blocked_term_mode, 'reject') AS blocked_term_mode, \
                EXISTS (SELECT 1 FROM moderators m WHERE m.event_id = r.event_id AND m.user_id = $2) AS appointed, \
                EXISTS (SELECT 1 FROM speakers sp WHERE sp.event_id = r.event_id AND sp.user_id = $2) AS speaking, \
                EXISTS (SELECT 1 FROM backstage bs WHERE bs.event_id = r.event_id AND bs.user_id = $2) AS backstage, \
                EXISTS (SELECT 1 FROM bans b WHERE b.event_id = r.event_id AND b.user_id = $2) AS banned, \
                (SELECT t.until FROM timeouts t WHERE t.event_id = r.event_id AND t.user_id = $2 AND t.until > now()) \
                    AS timed_out_until \
         FROM rooms r LEFT JOIN room_settings s ON s.event_id = r.event_id \
         WHERE r.event_id = $1",
    )
    .bind(event.as_uuid())
    .bind(user.as_uuid())
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(RoomView {
            room: row.room.try_into()?,
            settings: row.settings.try_into()?,
            appointed: row.appointed,
            speaking: row.speaking,
            backstage: row.backstage,
            banned: row.banned,
            timed_out_until: row.timed_out_until,
        })
    })
    .transpose()
}

/// The room of `event`, if known.
pub async fn find_room(db: impl PgExecutor<'_>, event: EventId) -> Result<Option<Room>, sqlx::Error> {
    sqlx::query_as::<_, RoomRow>(
        "SELECT event_id, host_id, cohost_ids, status, went_live_at, event_updated_at FROM rooms WHERE event_id = $1",
    )
    .bind(event.as_uuid())
    .fetch_optional(db)
    .await?
    .map(Room::try_from)
    .transpose()
}

// ---- messages ----------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    display_name: String,
    avatar_url: String,
    role: String,
    text: String,
    client_msg_id: String,
    sent_at: DateTime<Utc>,
}

impl TryFrom<MessageRow> for ChatMessage {
    type Error = sqlx::Error;

    fn try_from(row: MessageRow) -> Result<Self, Self::Error> {
        let role = ChatRole::from_stored(&row.role)
            .ok_or_else(|| decode_error(format!("message {} has unknown role {:?}", row.id, row.role)))?;
        Ok(ChatMessage {
            id: MessageId::from_uuid(row.id),
            event_id: EventId::from_uuid(row.event_id),
            author: Author {
                user_id: UserId::from_uuid(row.user_id),
                display_name: DisplayName::from_stored(row.display_name),
                avatar_url: AvatarUrl::from_stored(row.avatar_url),
            },
            role,
            text: MessageText::from_stored(row.text),
            sent_at: row.sent_at,
            client_msg_id: ClientMsgId::from_stored(row.client_msg_id),
        })
    }
}

fn messages(rows: Vec<MessageRow>) -> Result<Vec<ChatMessage>, sqlx::Error> {
    rows.into_iter().map(ChatMessage::try_from).collect()
}

/// The columns of `messages` and `held_messages`, in `MessageRow` order.
macro_rules! message_columns {
    ($alias:literal) => {
        concat!(
            $alias,
            ".id, ",
            $alias,
            ".event_id, ",
            $alias,
            ".user_id, ",
            $alias,
            ".display_name, ",
            $alias,
            ".avatar_url, ",
            $alias,
            ".role, ",
            $alias,
            ".text, ",
            $alias,
            ".client_msg_id, ",
            $alias,
            ".sent_at"
        )
    };
}

/// Not deleted: used by every read of `messages m`.
macro_rules! visible {
    () => {
        "NOT EXISTS (SELECT 1 FROM message_deletions d WHERE d.message_id = m.id)"
    };
}

/// The insert behind [`insert_messages`] and [`insert_held`]: UNNEST of one array per column,
/// so any batch is one statement and one round trip with a fixed number of bind parameters.
macro_rules! insert_message_rows {
    ($table:literal) => {
        concat!(
            "INSERT INTO ",
            $table,
            " (id, event_id, user_id, display_name, avatar_url, role, text, client_msg_id, sent_at) ",
            "SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], ",
            "$8::text[], $9::timestamptz[]) ON CONFLICT (id) DO NOTHING"
        )
    };
}

/// Inserts a batch of messages in one statement; rows already there (a redelivery) are skipped.
/// Returns how many were new.
pub async fn insert_messages(db: impl PgExecutor<'_>, batch: &[ChatMessage]) -> Result<u64, sqlx::Error> {
    insert_message_rows(db, insert_message_rows!("messages"), batch).await
}

/// Stores one message held for review.
pub async fn insert_held(db: impl PgExecutor<'_>, message: &ChatMessage) -> Result<(), sqlx::Error> {
    insert_message_rows(db, insert_message_rows!("held_messages"), std::slice::from_ref(message)).await.map(|_| ())
}

async fn insert_message_rows(db: impl PgExecutor<'_>, sql: &'static str, batch: &[ChatMessage]) -> Result<u64, sqlx::Error> {
    if batch.is_empty() {
        return Ok(0);
    }
    let result = sqlx::query(sql)
        .bind(batch.iter().map(|m| m.id.as_uuid()).collect::<Vec<_>>())
        .bind(batch.iter().map(|m| m.event_id.as_uuid()).collect::<Vec<_>>())
        .bind(batch.iter().map(|m| m.author.user_id.as_uuid()).collect::<Vec<_>>())
        .bind(batch.iter().map(|m| m.author.display_name.as_str()).collect::<Vec<_>>())
        .bind(batch.iter().map(|m| m.author.avatar_url.as_str()).collect::<Vec<_>>())
        .bind(batch.iter().map(|m| m.role.as_str()).collect::<Vec<_>>())
        .bind(batch.iter().map(|m| m.text.as_str()).collect::<Vec<_>>())
        .bind(batch.iter().map(|m| m.client_msg_id.as_str()).collect::<Vec<_>>())
        .bind(batch.iter().map(|m| m.sent_at).collect::<Vec<_>>())
        .execute(db)
        .await?;
    Ok(result.rows_affected())
}

/// A message of `event` that is stored and not deleted.
pub async fn find_message(db: impl PgExecutor<'_>, event: EventId, id: MessageId) -> Result<Option<ChatMessage>, sqlx::Error> {
    sqlx::query_as::<_, MessageRow>(concat!(
        "SELECT ",
        message_columns!("m"),
        " FROM messages m WHERE m.id = $1 AND m.event_id = $2 AND ",
        visible!()
    ))
    .bind(id.as_uuid())
    .bind(event.as_uuid())
    .fetch_optional(db)
    .await?
    .map(ChatMessage::try_from)
    .transpose()
}

/// Up to `limit` messages, newest first, older than `before` when given.
pub async fn history(
    db: impl PgExecutor<'_>,
    event: EventId,
    before: Option<MessageId>,
    limit: i64,
) -> Result<Vec<ChatMessage>, sqlx::Error> {
    let rows = match before {
        None => {
            sqlx::query_as::<_, MessageRow>(concat!(
                "SELECT ",
                message_columns!("m"),
                " FROM messages m WHERE m.event_id = $1 AND ",
                visible!(),
                " ORDER BY m.id DESC LIMIT $2"
            ))
            .bind(event.as_uuid())
            .bind(limit)
            .fetch_all(db)
            .await?
        }
        Some(before) => {
            sqlx::query_as::<_, MessageRow>(concat!(
                "SELECT ",
                message_columns!("m"),
                " FROM messages m WHERE m.event_id = $1 AND m.id < $3 AND ",
                visible!(),
                " ORDER BY m.id DESC LIMIT $2"
            ))
            .bind(event.as_uuid())
            .bind(limit)
            .bind(before.as_uuid())
            .fetch_all(db)
            .await?
        }
    };
    messages(rows)
}

/// Up to `limit` messages sent at or after `from`, in send order.
pub async fn replay(
    db: impl PgExecutor<'_>,
    event: EventId,
    from: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ChatMessage>, sqlx::Error> {
    let rows = sqlx::query_as::<_, MessageRow>(concat!(
        "SELECT ",
        message_columns!("m"),
        " FROM messages m WHERE m.event_id = $1 AND m.sent_at >= $2 AND ",
        visible!(),
        " ORDER BY m.sent_at, m.id LIMIT $3"
    ))
    .bind(event.as_uuid())
    .bind(from)
    .bind(limit)
    .fetch_all(db)
    .await?;
    messages(rows)
}

/// The pinned message, unless it was deleted.
pub async fn pinned(db: impl PgExecutor<'_>, event: EventId) -> Result<Option<ChatMessage>, sqlx::Error> {
    sqlx::query_as::<_, MessageRow>(concat!(
        "SELECT ",
        message_columns!("m"),
        " FROM room_settings s JOIN messages m ON m.id = s.pinned_message_id ",
        "WHERE s.event_id = $1 AND ",
        visible!()
    ))
    .bind(event.as_uuid())
    .fetch_optional(db)
    .await?
    .map(ChatMessage::try_from)
    .transpose()
}

/// Whether a deletion of message `id` was recorded (whether or not its row is stored yet).
pub async fn is_deleted(db: impl PgExecutor<'_>, id: MessageId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM message_deletions WHERE message_id = $1)")
        .bind(id.as_uuid())
        .fetch_one(db)
        .await
}

/// Hides a message for good. False when it was deleted already.
pub async fn insert_deletion(conn: &mut PgConnection, event: EventId, id: MessageId, by: UserId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO message_deletions (message_id, event_id, deleted_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(id.as_uuid())
    .bind(event.as_uuid())
    .bind(by.as_uuid())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

// ---- held messages -----------------------------------------------------------------------

/// Messages held for review, oldest first, at most `limit`.
pub async fn list_held(db: impl PgExecutor<'_>, event: EventId, limit: i64) -> Result<Vec<ChatMessage>, sqlx::Error> {
    let rows = sqlx::query_as::<_, MessageRow>(concat!(
        "SELECT ",
        message_columns!("h"),
        " FROM held_messages h WHERE h.event_id = $1 ORDER BY h.id LIMIT $2"
    ))
    .bind(event.as_uuid())
    .bind(limit)
    .fetch_all(db)
    .await?;
    messages(rows)
}

/// Reads a held message and locks it until the transaction ends, so two moderators cannot
/// both approve it.
pub async fn lock_held(conn: &mut PgConnection, event: EventId, id: MessageId) -> Result<Option<ChatMessage>, sqlx::Error> {
    sqlx::query_as::<_, MessageRow>(concat!(
        "SELECT ",
        message_columns!("h"),
        " FROM held_messages h WHERE h.id = $1 AND h.event_id = $2 FOR UPDATE"
    ))
    .bind(id.as_uuid())
    .bind(event.as_uuid())
    .fetch_optional(&mut *conn)
    .await?
    .map(ChatMessage::try_from)
    .transpose()
}

/// Removes a held message; returns it, or `None` if there was none.
pub async fn remove_held(conn: &mut PgConnection, event: EventId, id: MessageId) -> Result<Option<ChatMessage>, sqlx::Error> {
    sqlx::query_as::<_, MessageRow>(concat!(
        "DELETE FROM held_messages h WHERE h.id = $1 AND h.event_id = $2 RETURNING ",
        message_columns!("h")
    ))
    .bind(id.as_uuid())
    .bind(event.as_uuid())
    .fetch_optional(&mut *conn)
    .await?
    .map(ChatMessage::try_from)
    .transpose()
}

// ---- moderation state --------------------------------------------------------------------

/// False when the user was banned already.
pub async fn add_ban(conn: &mut PgConnection, event: EventId, user: UserId, by: UserId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("INSERT INTO bans (event_id, user_id, banned_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(event.as_uuid())
        .bind(user.as_uuid())
        .bind(by.as_uuid())
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// False when the user was not banned.
pub async fn remove_ban(conn: &mut PgConnection, event: EventId, user: UserId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM bans WHERE event_id = $1 AND user_id = $2")
        .bind(event.as_uuid())
        .bind(user.as_uuid())
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// False when the user was a moderator already.
pub async fn add_moderator(conn: &mut PgConnection, event: EventId, user: UserId, by: UserId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("INSERT INTO moderators (event_id, user_id, added_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(event.as_uuid())
        .bind(user.as_uuid())
        .bind(by.as_uuid())
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// False when the user was not a moderator.
pub async fn remove_moderator(conn: &mut PgConnection, event: EventId, user: UserId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM moderators WHERE event_id = $1 AND user_id = $2")
        .bind(event.as_uuid())
        .bind(user.as_uuid())
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Puts `user` on `event`'s speaker list or takes them off it. Returns whether it changed.
pub async fn set_speaker(tx: &mut PgConnection, event: EventId, user: UserId, speaking: bool) -> Result<bool, sqlx::Error> {
    let result = if speaking {
        sqlx::query("INSERT INTO speakers (event_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
    } else {
        sqlx::query("DELETE FROM speakers WHERE event_id = $1 AND user_id = $2")
    }
    .bind(event.as_uuid())
    .bind(user.as_uuid())
    .execute(&mut *tx)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Puts `user` in `event`'s green room or takes them out of it. Returns whether it changed.
pub async fn set_backstage(tx: &mut PgConnection, event: EventId, user: UserId, backstage: bool) -> Result<bool, sqlx::Error> {
    let result = if backstage {
        sqlx::query("INSERT INTO backstage (event_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
    } else {
        sqlx::query("DELETE FROM backstage WHERE event_id = $1 AND user_id = $2")
    }
    .bind(event.as_uuid())
    .bind(user.as_uuid())
    .execute(&mut *tx)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Times `user` out until `until`, replacing any earlier timeout.
pub async fn set_timeout(
    conn: &mut PgConnection,
    event: EventId,
    user: UserId,
    until: DateTime<Utc>,
    by: UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO timeouts (event_id, user_id, until, timed_out_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (event_id, user_id) DO UPDATE SET until = EXCLUDED.until, timed_out_by = EXCLUDED.timed_out_by",
    )
    .bind(event.as_uuid())
    .bind(user.as_uuid())
    .bind(until)
    .bind(by.as_uuid())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_slow_mode(conn: &mut PgConnection, event: EventId, slow: SlowMode) -> Result<RoomSettings, sqlx::Error> {
    sqlx::query_as::<_, SettingsRow>(
        "INSERT INTO room_settings (event_id, slow_mode_secs) VALUES ($1, $2) \
         ON CONFLICT (event_id) DO UPDATE SET slow_mode_secs = EXCLUDED.slow_mode_secs \
         RETURNING slow_mode_secs, blocked_terms, blocked_term_mode",
    )
    .bind(event.as_uuid())
    .bind(i32::try_from(slow.secs()).unwrap_or(i32::MAX))
    .fetch_one(&mut *conn)
    .await?
    .try_into()
}

pub async fn set_blocked_terms(
    conn: &mut PgConnection,
    event: EventId,
    terms: &BlockedTerms,
    mode: BlockedTermMode,
) -> Result<RoomSettings, sqlx::Error> {
    sqlx::query_as::<_, SettingsRow>(
        "INSERT INTO room_settings (event_id, blocked_terms, blocked_term_mode) VALUES ($1, $2, $3) \
         ON CONFLICT (event_id) DO UPDATE SET blocked_terms = EXCLUDED.blocked_terms, \
                                              blocked_term_mode = EXCLUDED.blocked_term_mode \
         RETURNING slow_mode_secs, blocked_terms, blocked_term_mode",
    )
    .bind(event.as_uuid())
    .bind(terms.texts())
    .bind(mode.as_str())
    .fetch_one(&mut *conn)
    .await?
    .try_into()
}

pub async fn set_pin(conn: &mut PgConnection, event: EventId, id: MessageId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO room_settings (event_id, pinned_message_id) VALUES ($1, $2) \
         ON CONFLICT (event_id) DO UPDATE SET pinned_message_id = EXCLUDED.pinned_message_id",
    )
    .bind(event.as_uuid())
    .bind(id.as_uuid())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes the pin; false when nothing was pinned. With `only` set, unpins only that message
/// (a deletion unpins the message it deletes, and nothing else).
pub async fn unpin(conn: &mut PgConnection, event: EventId, only: Option<MessageId>) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE room_settings SET pinned_message_id = NULL \
         WHERE event_id = $1 AND pinned_message_id IS NOT NULL AND ($2::uuid IS NULL OR pinned_message_id = $2)",
    )
    .bind(event.as_uuid())
    .bind(only.map(|m| m.as_uuid()))
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

// ---- audit log ---------------------------------------------------------------------------

pub async fn insert_audit(conn: &mut PgConnection, action: &ModerationAction) -> Result<(), sqlx::Error> {
    let settings = action.settings.as_ref();
    sqlx::query(
        "INSERT INTO audit_log (id, event_id, actor_id, kind, target_user_id, target_message_id, reason, at, \
                                duration_secs, slow_mode_secs, blocked_terms, blocked_term_mode) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(action.id.as_uuid())
    .bind(action.event_id.as_uuid())
    .bind(action.actor_id.as_uuid())
    .bind(action.kind.as_str())
    .bind(action.target_user_id.map(|u| u.as_uuid()))
    .bind(action.target_message_id.map(|m| m.as_uuid()))
    .bind(action.reason.as_str())
    .bind(action.at)
    .bind(action.duration_secs.map(|d| i32::try_from(d).unwrap_or(i32::MAX)))
    .bind(settings.map(|s| i32::try_from(s.slow_mode.secs()).unwrap_or(i32::MAX)))
    .bind(settings.map(|s| s.blocked_terms.texts()))
    .bind(settings.map(|s| s.blocked_term_mode.as_str()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: Uuid,
    event_id: Uuid,
    actor_id: Uuid,
    kind: String,
    target_user_id: Option<Uuid>,
    target_message_id: Option<Uuid>,
    reason: String,
    at: DateTime<Utc>,
    duration_secs: Option<i32>,
    slow_mode_secs: Option<i32>,
    blocked_terms: Option<Vec<String>>,
    blocked_term_mode: Option<String>,
}

impl TryFrom<AuditRow> for ModerationAction {
    type Error = sqlx::Error;

    fn try_from(row: AuditRow) -> Result<Self, Self::Error> {
        let kind = ActionKind::from_stored(&row.kind)
            .ok_or_else(|| decode_error(format!("audit entry {} has unknown kind {:?}", row.id, row.kind)))?;
        let settings = match (row.slow_mode_secs, row.blocked_terms, row.blocked_term_mode) {
            (Some(slow), Some(terms), Some(mode)) => {
                Some(SettingsRow { slow_mode_secs: slow, blocked_terms: terms, blocked_term_mode: mode }.try_into()?)
            }
            _ => None,
        };
        Ok(ModerationAction {
            id: ActionId::from_uuid(row.id),
            event_id: EventId::from_uuid(row.event_id),
            actor_id: UserId::from_uuid(row.actor_id),
            kind,
            target_user_id: row.target_user_id.map(UserId::from_uuid),
            target_message_id: row.target_message_id.map(MessageId::from_uuid),
            reason: Reason::from_stored(row.reason),
            at: row.at,
            duration_secs: row.duration_secs.and_then(|d| u32::try_from(d).ok()),
            message: None,
            settings,
        })
    }
}

/// Up to `limit` audit entries, newest first, older than `before` when given.
pub async fn audit_page(
    db: impl PgExecutor<'_>,
    event: EventId,
    before: Option<ActionId>,
    limit: i64,
) -> Result<Vec<ModerationAction>, sqlx::Error> {
    let rows = match before {
        None => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT id, event_id, actor_id, kind, target_user_id, target_message_id, reason, at, duration_secs, \
                        slow_mode_secs, blocked_terms, blocked_term_mode \
                 FROM audit_log WHERE event_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(event.as_uuid())
            .bind(limit)
            .fetch_all(db)
            .await?
        }
        Some(before) => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT id, event_id, actor_id, kind, target_user_id, target_message_id, reason, at, duration_secs, \
                        slow_mode_secs, blocked_terms, blocked_term_mode \
                 FROM audit_log WHERE event_id = $1 AND id < $3 ORDER BY id DESC LIMIT $2",
            )
            .bind(event.as_uuid())
            .bind(limit)
            .bind(before.as_uuid())
            .fetch_all(db)
            .await?
        }
    };
    rows.into_iter().map(ModerationAction::try_from).collect()
}

// ---- standing -----------------------------------------------------------------------------

/// One row of a standing list: who, put there by whom, since when, until when (timeouts).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StandingRow {
    pub user_id: Uuid,
    pub by_user_id: Uuid,
    pub since: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

/// A standing row with the list it belongs to, as the one query below returns it.
#[derive(sqlx::FromRow)]
struct ListedStandingRow {
    list: String,
    #[sqlx(flatten)]
    row: StandingRow,
}

/// The room's moderators, bans and running timeouts, newest first, `limit` of each, in one
/// query. `since` is the time of the audit-log entry that put each user there, so the lists and
/// the log agree (the tables' own column is the transaction's clock, a moment earlier; a timeout
/// row keeps only its end).
pub async fn standing(
    db: impl PgExecutor<'_>,
    event: EventId,
    limit: i64,
) -> Result<(Vec<StandingRow>, Vec<StandingRow>, Vec<StandingRow>), sqlx::Error> {
    let rows = sqlx::query_as::<_, ListedStandingRow>(
        "WITH latest AS ( \
             SELECT kind, target_user_id, max(at) AS at FROM audit_log \
             WHERE event_id = $1 AND kind IN ('add_moderator', 'ban', 'timeout') GROUP BY kind, target_user_id), \
         listed AS ( \
             (SELECT 'moderators' AS list, 'add_moderator' AS kind, user_id, added_by AS by_user_id, added_at AS at, \
                     NULL::timestamptz AS until \
              FROM moderators WHERE event_id = $1 ORDER BY added_at DESC LIMIT $2) \
             UNION ALL \
             (SELECT 'banned', 'ban', user_id, banned_by, banned_at, NULL \
              FROM bans WHERE event_id = $1 ORDER BY banned_at DESC LIMIT $2) \
             UNION ALL \
             (SELECT 'timed_out', 'timeout', user_id, timed_out_by, until, until \
              FROM timeouts WHERE event_id = $1 AND until > now() ORDER BY until DESC LIMIT $2)) \
         SELECT s.list, s.user_id, s.by_user_id, COALESCE(l.at, s.at) AS since, s.until \
         FROM listed s LEFT JOIN latest l ON l.kind = s.kind AND l.target_user_id = s.user_id \
         ORDER BY s.list, s.at DESC",
    )
    .bind(event.as_uuid())
    .bind(limit)
    .fetch_all(db)
    .await?;
    let (mut moderators, mut banned, mut timed_out) = (Vec::new(), Vec::new(), Vec::new());
    for ListedStandingRow { list, row } in rows {
        match list.as_str() {
            "moderators" => moderators.push(row),
            "banned" => banned.push(row),
            _ => timed_out.push(row),
        }
    }
    Ok((moderators, banned, timed_out))
}
