//! The stage tables of the `events` schema (migrations/0002_stage.sql): members, hands,
//! invitations, bans and the stage log. Functions taking a `PgConnection` run inside the
//! caller's transaction, which holds the event row's lock (see [`crate::store::find_for_update`]).
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{ChangeKind, EventId, GuestLink, Invitation, InvitationState, Members, Role, StageChange, UserId};

/// Runs `sql` (a statement on one event's row of one user: `$1` event, `$2` user, and `$3` a time
/// when `at` is given); says whether a row was affected.
async fn on_user_row_at(
    conn: &mut PgConnection,
    sql: &'static str,
    event: EventId,
    user: UserId,
    at: Option<DateTime<Utc>>,
) -> Result<bool, sqlx::Error> {
    let mut q = sqlx::query(sql).bind(event.as_uuid()).bind(user.as_uuid());
    if let Some(at) = at {
        q = q.bind(at);
    }
    Ok(q.execute(&mut *conn).await?.rows_affected() == 1)
}

async fn on_user_row(conn: &mut PgConnection, sql: &'static str, event: EventId, user: UserId) -> Result<bool, sqlx::Error> {
    on_user_row_at(conn, sql, event, user, None).await
}

/// The moderators and speakers of an event.
pub async fn members(db: impl PgExecutor<'_>, event: EventId) -> Result<Members, sqlx::Error> {
    let rows: Vec<(Uuid, String, DateTime<Utc>)> =
        sqlx::query_as("SELECT user_id, role, granted_at FROM stage_members WHERE event_id = $1")
            .bind(event.as_uuid())
            .fetch_all(db)
            .await?;
    let mut members = Members::default();
    for (user, role, at) in rows {
        let role = Role::parse(&role)
            .map_err(|_| sqlx::Error::Decode(format!("stage member {user} has unknown role {role:?}").into()))?;
        members.0.insert(UserId::from_uuid(user), (role, at));
    }
    Ok(members)
}

pub async fn max_speakers(db: impl PgExecutor<'_>, event: EventId) -> Result<u32, sqlx::Error> {
    let (max,): (i32,) =
        sqlx::query_as("SELECT max_speakers FROM events WHERE id = $1").bind(event.as_uuid()).fetch_one(db).await?;
    Ok(max.max(1) as u32)
}

/// Gives `user` a member role (moderator or speaker), replacing any they had.
pub async fn set_member(
    conn: &mut PgConnection,
    event: EventId,
    user: UserId,
    role: Role,
    by: UserId,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stage_members (event_id, user_id, role, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (event_id, user_id) DO UPDATE SET role = EXCLUDED.role, granted_by = EXCLUDED.granted_by, \
         granted_at = EXCLUDED.granted_at",
    )
    .bind(event.as_uuid())
    .bind(user.as_uuid())
    .bind(role.as_str())
    .bind(by.as_uuid())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn remove_member(conn: &mut PgConnection, event: EventId, user: UserId) -> Result<(), sqlx::Error> {
    on_user_row(conn, "DELETE FROM stage_members WHERE event_id = $1 AND user_id = $2", event, user).await.map(|_| ())
}

/// Raised hands, oldest first.
pub async fn hands(db: impl PgExecutor<'_>, event: EventId) -> Result<Vec<(UserId, DateTime<Utc>)>, sqlx::Error> {
    let rows: Vec<(Uuid, DateTime<Utc>)> =
        sqlx::query_as("SELECT user_id, raised_at FROM stage_hands WHERE event_id = $1 ORDER BY raised_at, user_id")
            .bind(event.as_uuid())
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|(u, at)| (UserId::from_uuid(u), at)).collect())
}

/// False when the hand was raised already.
pub async fn raise_hand(conn: &mut PgConnection, event: EventId, user: UserId, at: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "INSERT INTO stage_hands (event_id, user_id, raised_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    on_user_row_at(conn, sql, event, user, Some(at)).await
}

/// False when no hand was raised.
pub async fn lower_hand(conn: &mut PgConnection, event: EventId, user: UserId) -> Result<bool, sqlx::Error> {
    on_user_row(conn, "DELETE FROM stage_hands WHERE event_id = $1 AND user_id = $2", event, user).await
}

type InvitationRow = (Uuid, Uuid, Uuid, DateTime<Utc>, DateTime<Utc>, String);

fn invitation(row: InvitationRow) -> Result<Invitation, sqlx::Error> {
    let (id, user, by, created_at, expires_at, state) = row;
    let state = InvitationState::from_stored(&state)
        .ok_or_else(|| sqlx::Error::Decode(format!("invitation {id} has unknown state {state:?}").into()))?;
    Ok(Invitation { id, user_id: UserId::from_uuid(user), invited_by: UserId::from_uuid(by), created_at, expires_at, state })
}

/// Static SQL with the invitation columns, so no caller can forget one.
macro_rules! select_invitations {
    ($tail:literal) => {
        concat!("SELECT id, user_id, invited_by, created_at, expires_at, state FROM stage_invitations ", $tail)
    };
}

/// Pending invitations of an event (expired ones included until answered), oldest first.
pub async fn pending_invitations(db: impl PgExecutor<'_>, event: EventId) -> Result<Vec<Invitation>, sqlx::Error> {
    let sql = select_invitations!("WHERE event_id = $1 AND state = 'pending' ORDER BY created_at");
    let rows: Vec<InvitationRow> = sqlx::query_as(sql).bind(event.as_uuid()).fetch_all(db).await?;
    rows.into_iter().map(invitation).collect()
}

pub async fn find_invitation(conn: &mut PgConnection, event: EventId, id: Uuid) -> Result<Option<Invitation>, sqlx::Error> {
    let sql = select_invitations!("WHERE event_id = $1 AND id = $2");
    let row: Option<InvitationRow> = sqlx::query_as(sql).bind(event.as_uuid()).bind(id).fetch_optional(&mut *conn).await?;
    row.map(invitation).transpose()
}

pub async fn insert_invitation(conn: &mut PgConnection, event: EventId, inv: &Invitation) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stage_invitations (id, event_id, user_id, invited_by, created_at, expires_at, state) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
    )
    .bind(inv.id)
    .bind(event.as_uuid())
    .bind(inv.user_id.as_uuid())
    .bind(inv.invited_by.as_uuid())
    .bind(inv.created_at)
    .bind(inv.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn answer_invitation(
    conn: &mut PgConnection,
    id: Uuid,
    state: InvitationState,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stage_invitations SET state = $2, answered_at = $3 WHERE id = $1")
        .bind(id)
        .bind(state.as_str())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Cancels `user`'s pending invitation, if any (they came on stage another way, or were banned).
/// An expired one is cancelled too, so a new invitation can be made.
pub async fn cancel_invitations(
    conn: &mut PgConnection,
    event: EventId,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stage_invitations SET state = 'cancelled', answered_at = $3 \
         WHERE event_id = $1 AND user_id = $2 AND state = 'pending'",
    )
    .bind(event.as_uuid())
    .bind(user.as_uuid())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn is_banned(db: impl PgExecutor<'_>, event: EventId, user: UserId) -> Result<bool, sqlx::Error> {
    let (banned,): (bool,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM event_bans WHERE event_id = $1 AND user_id = $2)")
        .bind(event.as_uuid())
        .bind(user.as_uuid())
        .fetch_one(db)
        .await?;
    Ok(banned)
}

/// Bans, newest first: (user, by, reason, at).
pub async fn bans(db: impl PgExecutor<'_>, event: EventId) -> Result<Vec<(UserId, UserId, String, DateTime<Utc>)>, sqlx::Error> {
    let rows: Vec<(Uuid, Uuid, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT user_id, banned_by, reason, banned_at FROM event_bans WHERE event_id = $1 ORDER BY banned_at DESC LIMIT 500",
    )
    .bind(event.as_uuid())
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(u, b, r, at)| (UserId::from_uuid(u), UserId::from_uuid(b), r, at)).collect())
}

/// False when the user was banned already.
pub async fn ban(
    conn: &mut PgConnection,
    event: EventId,
    user: UserId,
    by: UserId,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO event_bans (event_id, user_id, banned_by, reason, banned_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING",
    )
    .bind(event.as_uuid())
    .bind(user.as_uuid())
    .bind(by.as_uuid())
    .bind(reason)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// False when the user was not banned.
pub async fn unban(conn: &mut PgConnection, event: EventId, user: UserId) -> Result<bool, sqlx::Error> {
    on_user_row(conn, "DELETE FROM event_bans WHERE event_id = $1 AND user_id = $2", event, user).await
}

/// Makes `user` the host; the host row and the co-host rows change under the same lock.
pub async fn set_host(conn: &mut PgConnection, event: EventId, user: UserId, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE events SET host_id = $2, updated_at = $3 WHERE id = $1")
        .bind(event.as_uuid())
        .bind(user.as_uuid())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn log(conn: &mut PgConnection, event: EventId, change: &StageChange) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stage_log (event_id, kind, actor_id, target_user_id, role, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.as_uuid())
    .bind(change.kind.as_str())
    .bind(change.actor.as_uuid())
    .bind(change.target.as_uuid())
    .bind(change.role.as_str())
    .bind(&change.reason)
    .bind(change.at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The stage log, newest first.
pub async fn read_log(db: impl PgExecutor<'_>, event: EventId, limit: i64) -> Result<Vec<StageChange>, sqlx::Error> {
    type LogRow = (String, Uuid, Option<Uuid>, Option<String>, String, DateTime<Utc>);
    let rows: Vec<LogRow> = sqlx::query_as(
        "SELECT kind, actor_id, target_user_id, role, reason, at FROM stage_log WHERE event_id = $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(event.as_uuid())
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(kind, actor, target, role, reason, at)| {
            let kind = ChangeKind::from_stored(&kind)
                .ok_or_else(|| sqlx::Error::Decode(format!("stage log entry has unknown kind {kind:?}").into()))?;
            let role = role.as_deref().and_then(|r| Role::parse(r).ok()).unwrap_or(Role::Audience);
            let target = UserId::from_uuid(target.unwrap_or(actor));
            let mut change = StageChange::new(kind, UserId::from_uuid(actor), target, role, at);
            change.reason = reason;
            Ok(change)
        })
        .collect()
}

// ---- guest invite links -------------------------------------------------------------------

type LinkRow = (Uuid, String, bool, i32, i32, Uuid, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>);

fn link(row: LinkRow) -> Result<GuestLink, sqlx::Error> {
    let (id, role, needs_approval, max_uses, uses, created_by, created_at, expires_at, revoked_at) = row;
    let role = Role::parse(&role).map_err(|_| sqlx::Error::Decode(format!("link {id} has unknown role {role:?}").into()))?;
    Ok(GuestLink {
        id,
        role,
        needs_approval,
        max_uses: max_uses.max(0) as u32,
        uses: uses.max(0) as u32,
        created_by: UserId::from_uuid(created_by),
        created_at,
        expires_at,
        revoked_at,
    })
}

macro_rules! select_links {
    ($tail:literal) => {
        concat!(
            "SELECT id, role, needs_approval, max_uses, uses, created_by, created_at, expires_at, revoked_at \
             FROM stage_links ",
            $tail
        )
    };
}

pub async fn insert_link(
    conn: &mut PgConnection,
    event: EventId,
    link: &GuestLink,
    token_hash: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stage_links (id, event_id, token_hash, role, needs_approval, max_uses, uses, created_by, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(link.id)
    .bind(event.as_uuid())
    .bind(token_hash)
    .bind(link.role.as_str())
    .bind(link.needs_approval)
    .bind(link.max_uses as i32)
    .bind(link.uses as i32)
    .bind(link.created_by.as_uuid())
    .bind(link.created_at)
    .bind(link.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The event's links, newest first (at most 200).
pub async fn links(db: impl PgExecutor<'_>, event: EventId) -> Result<Vec<GuestLink>, sqlx::Error> {
    let rows: Vec<LinkRow> = sqlx::query_as(select_links!("WHERE event_id = $1 ORDER BY created_at DESC LIMIT 200"))
        .bind(event.as_uuid())
        .fetch_all(db)
        .await?;
    rows.into_iter().map(link).collect()
}

pub async fn find_link(conn: &mut PgConnection, event: EventId, id: Uuid) -> Result<Option<GuestLink>, sqlx::Error> {
    let row: Option<LinkRow> = sqlx::query_as(select_links!("WHERE event_id = $1 AND id = $2"))
        .bind(event.as_uuid())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(link).transpose()
}

/// The link with this secret and its event, without a lock (to show a guest what it is).
pub async fn link_by_token(db: impl PgExecutor<'_>, token_hash: &[u8]) -> Result<Option<(EventId, GuestLink)>, sqlx::Error> {
    type EventLinkRow = (Uuid, Uuid, String, bool, i32, i32, Uuid, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>);
    let row: Option<EventLinkRow> = sqlx::query_as(
        "SELECT event_id, id, role, needs_approval, max_uses, uses, created_by, created_at, expires_at, revoked_at \
             FROM stage_links WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await?;
    row.map(|(event, id, role, na, max, uses, by, at, exp, rev)| {
        link((id, role, na, max, uses, by, at, exp, rev)).map(|l| (EventId::from_uuid(event), l))
    })
    .transpose()
}

pub async fn revoke_link(conn: &mut PgConnection, id: Uuid, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stage_links SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn use_link(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stage_links SET uses = uses + 1 WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

// ---- the backstage --------------------------------------------------------------------------

pub async fn backstage(db: impl PgExecutor<'_>, event: EventId) -> Result<std::collections::HashSet<UserId>, sqlx::Error> {
    let rows: Vec<(Uuid,)> =
        sqlx::query_as("SELECT user_id FROM stage_backstage WHERE event_id = $1").bind(event.as_uuid()).fetch_all(db).await?;
    Ok(rows.into_iter().map(|(u,)| UserId::from_uuid(u)).collect())
}

pub async fn send_backstage(conn: &mut PgConnection, event: EventId, user: UserId, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO stage_backstage (event_id, user_id, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    on_user_row_at(conn, sql, event, user, Some(at)).await.map(|_| ())
}

pub async fn bring_on_air(conn: &mut PgConnection, event: EventId, user: UserId) -> Result<(), sqlx::Error> {
    on_user_row(conn, "DELETE FROM stage_backstage WHERE event_id = $1 AND user_id = $2", event, user).await.map(|_| ())
}
