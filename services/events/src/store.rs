//! The `events` Postgres schema (migrations/0001_init.sql).
//!
//! Plain runtime queries with bind parameters; every SQL string is a `&'static str`, so no value
//! from a request can ever become SQL text. Functions that take a `PgConnection` are meant to run
//! inside the caller's transaction.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{CoHosts, CoverUrl, Cursor, Description, Event, EventId, EventStatus, EventTitle, ListFilter, UserId};

/// Every query that returns events selects the same columns, co-hosts included, so no caller can
/// forget them. The co-host subquery reads only the event's own rows, which the FOR UPDATE lock
/// on the event row also protects (co-hosts change only under that lock).
macro_rules! select_events {
    ($($tail:literal),*) => {
        concat!(
            "SELECT e.id, e.host_id, e.title, e.description, e.starts_at, e.cover_url, e.status, \
                    e.created_at, e.updated_at, e.went_live_at, e.ended_at, e.cancelled_at, \
                    ARRAY(SELECT c.user_id FROM event_cohosts c WHERE c.event_id = e.id ORDER BY c.user_id) AS cohost_ids \
             FROM events e ",
            $($tail),*
        )
    };
}

/// A row is data from disk: converting it checks what the types cannot.
#[derive(sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    host_id: Uuid,
    title: String,
    description: String,
    starts_at: DateTime<Utc>,
    cover_url: Option<String>,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    went_live_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    cohost_ids: Vec<Uuid>,
}

impl TryFrom<EventRow> for Event {
    type Error = sqlx::Error;

    fn try_from(row: EventRow) -> Result<Self, Self::Error> {
        let status = EventStatus::from_stored(&row.status)
            .ok_or_else(|| sqlx::Error::Decode(format!("event {} has unknown status {:?}", row.id, row.status).into()))?;
        Ok(Event {
            id: EventId::from_uuid(row.id),
            host_id: UserId::from_uuid(row.host_id),
            title: EventTitle::from_stored(row.title),
            description: Description::from_stored(row.description),
            starts_at: row.starts_at,
            cover_url: CoverUrl::from_stored(row.cover_url),
            status,
            cohosts: CoHosts::from_stored(row.cohost_ids.into_iter().map(UserId::from_uuid).collect()),
            created_at: row.created_at,
            updated_at: row.updated_at,
            went_live_at: row.went_live_at,
            ended_at: row.ended_at,
            cancelled_at: row.cancelled_at,
        })
    }
}

fn cohost_uuids(event: &Event) -> Vec<Uuid> {
    event.cohosts.ids().iter().map(UserId::as_uuid).collect()
}

/// Inserts a new event with its co-hosts.
pub async fn insert(conn: &mut PgConnection, event: &Event) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO events (id, host_id, title, description, starts_at, cover_url, status, \
                             created_at, updated_at, went_live_at, ended_at, cancelled_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(event.id.as_uuid())
    .bind(event.host_id.as_uuid())
    .bind(event.title.as_str())
    .bind(event.description.as_str())
    .bind(event.starts_at)
    .bind(event.cover_url.as_deref())
    .bind(event.status.as_str())
    .bind(event.created_at)
    .bind(event.updated_at)
    .bind(event.went_live_at)
    .bind(event.ended_at)
    .bind(event.cancelled_at)
    .execute(&mut *conn)
    .await?;
    insert_cohosts(conn, event).await
}

async fn insert_cohosts(conn: &mut PgConnection, event: &Event) -> Result<(), sqlx::Error> {
    if event.cohosts.ids().is_empty() {
        return Ok(());
    }
    sqlx::query("INSERT INTO event_cohosts (event_id, user_id) SELECT $1, unnest($2::uuid[])")
        .bind(event.id.as_uuid())
        .bind(cohost_uuids(event))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Reads one event.
pub async fn find(db: impl PgExecutor<'_>, id: EventId) -> Result<Option<Event>, sqlx::Error> {
    sqlx::query_as::<_, EventRow>(select_events!("WHERE e.id = $1"))
        .bind(id.as_uuid())
        .fetch_optional(db)
        .await?
        .map(Event::try_from)
        .transpose()
}

/// Reads one event and locks its row until the transaction ends, so concurrent changes to the
/// same event run one after another and each sees the state the previous one left.
pub async fn find_for_update(conn: &mut PgConnection, id: EventId) -> Result<Option<Event>, sqlx::Error> {
    sqlx::query_as::<_, EventRow>(select_events!("WHERE e.id = $1 FOR UPDATE OF e"))
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?
        .map(Event::try_from)
        .transpose()
}

/// Writes back an event read with [`find_for_update`]; `cohosts_changed` replaces its co-host rows.
pub async fn save(conn: &mut PgConnection, event: &Event, cohosts_changed: bool) -> Result<(), sqlx::Error> {
    let result = sqlx::query(
        "UPDATE events SET title = $2, description = $3, starts_at = $4, cover_url = $5, status = $6, \
                           updated_at = $7, went_live_at = $8, ended_at = $9, cancelled_at = $10 \
         WHERE id = $1",
    )
    .bind(event.id.as_uuid())
    .bind(event.title.as_str())
    .bind(event.description.as_str())
    .bind(event.starts_at)
    .bind(event.cover_url.as_deref())
    .bind(event.status.as_str())
    .bind(event.updated_at)
    .bind(event.went_live_at)
    .bind(event.ended_at)
    .bind(event.cancelled_at)
    .execute(&mut *conn)
    .await?;
    // The row is locked by this transaction, so it cannot have vanished; if it did, the
    // transaction must not commit (its outbox message would announce a change that is not there).
    if result.rows_affected() != 1 {
        return Err(sqlx::Error::RowNotFound);
    }
    if cohosts_changed {
        sqlx::query("DELETE FROM event_cohosts WHERE event_id = $1").bind(event.id.as_uuid()).execute(&mut *conn).await?;
        insert_cohosts(conn, event).await?;
        // One role per user: a new co-host is no longer a moderator or speaker as well.
        sqlx::query("DELETE FROM stage_members WHERE event_id = $1 AND user_id = ANY($2)")
            .bind(event.id.as_uuid())
            .bind(cohost_uuids(event))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// One page of a listing: up to `limit` events after `cursor` in `filter`'s order.
///
/// The status literal and sort order of each query match one partial index in the migration.
/// Row comparison `(key, id) < ($1, $2)` is exactly "after the cursor" for a descending
/// order on both columns (and `>` for ascending).
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: ListFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    let sql = match (filter, cursor.is_some()) {
        (ListFilter::Live, false) => {
            select_events!("WHERE e.status = 'live' ORDER BY e.went_live_at DESC, e.id DESC LIMIT $1")
        }
        (ListFilter::Live, true) => select_events!(
            "WHERE e.status = 'live' AND (e.went_live_at, e.id) < ($2, $3) ",
            "ORDER BY e.went_live_at DESC, e.id DESC LIMIT $1"
        ),
        (ListFilter::Upcoming, false) => {
            select_events!("WHERE e.status = 'scheduled' ORDER BY e.starts_at ASC, e.id ASC LIMIT $1")
        }
        (ListFilter::Upcoming, true) => select_events!(
            "WHERE e.status = 'scheduled' AND (e.starts_at, e.id) > ($2, $3) ",
            "ORDER BY e.starts_at ASC, e.id ASC LIMIT $1"
        ),
        (ListFilter::Past, false) => {
            select_events!("WHERE e.status = 'ended' ORDER BY e.ended_at DESC, e.id DESC LIMIT $1")
        }
        (ListFilter::Past, true) => select_events!(
            "WHERE e.status = 'ended' AND (e.ended_at, e.id) < ($2, $3) ",
            "ORDER BY e.ended_at DESC, e.id DESC LIMIT $1"
        ),
    };
    let mut query = sqlx::query_as::<_, EventRow>(sql).bind(limit);
    if let Some(cursor) = cursor {
        query = query.bind(cursor.after).bind(cursor.id.as_uuid());
    }
    query.fetch_all(db).await?.into_iter().map(Event::try_from).collect()
}
