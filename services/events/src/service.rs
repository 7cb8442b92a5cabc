//! The use cases, in domain terms: each one is a single transaction that reads (and locks) what
//! it changes, lets the domain decide, writes the result and its one bus message, and commits.
//! An error anywhere drops the transaction, so a refused request leaves no trace.
use chrono::Utc;
use sqlx::PgPool;
use stagecast_kit::ApiError;

use crate::{
    announce::{self, Change},
    domain::{Cursor, Event, EventId, EventPatch, ListQuery, NewEvent, Page, Transition, UserId},
    store,
};

#[derive(Clone)]
pub struct Events {
    pool: PgPool,
}

fn not_found(id: EventId) -> ApiError {
    ApiError::not_found("event_not_found", format!("there is no event {id}"))
}

impl Events {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Schedules an event hosted by `actor`.
    pub async fn create(&self, actor: UserId, new: NewEvent) -> Result<Event, ApiError> {
        let event = Event::schedule(EventId::generate(), actor, new, Utc::now())?;
        let mut tx = self.pool.begin().await?;
        store::insert(&mut tx, &event).await?;
        announce::enqueue(&mut tx, &event, Change::Scheduled).await?;
        tx.commit().await?;
        tracing::info!(event_id = %event.id, host_id = %event.host_id, "event scheduled");
        Ok(event)
    }

    pub async fn get(&self, id: EventId) -> Result<Event, ApiError> {
        store::find(&self.pool, id).await?.ok_or_else(|| not_found(id))
    }

    /// Applies `patch` for `actor`. A patch that changes nothing writes and announces nothing.
    pub async fn update(&self, actor: UserId, id: EventId, patch: EventPatch) -> Result<Event, ApiError> {
        let mut tx = self.pool.begin().await?;
        let mut event = store::find_for_update(&mut tx, id).await?.ok_or_else(|| not_found(id))?;
        // The clock is read under the lock, so timestamps follow the order changes commit in.
        let changes = event.update(actor, patch, Utc::now())?;
        if !changes.any() {
            return Ok(event);
        }
        store::save(&mut tx, &event, changes.cohosts).await?;
        announce::enqueue(&mut tx, &event, Change::Updated).await?;
        tx.commit().await?;
        tracing::info!(event_id = %id, actor_id = %actor, "event updated");
        Ok(event)
    }

    /// Moves the event through its lifecycle for `actor`.
    ///
    /// Race-safe: the row lock makes concurrent transitions of one event queue up, so of two
    /// "go live" calls exactly one succeeds and the other sees a live event.
    pub async fn transition(&self, actor: UserId, id: EventId, transition: Transition) -> Result<Event, ApiError> {
        let mut tx = self.pool.begin().await?;
        let mut event = store::find_for_update(&mut tx, id).await?.ok_or_else(|| not_found(id))?;
        let from = event.status;
        event.transition(actor, transition, Utc::now())?;
        store::save(&mut tx, &event, false).await?;
        announce::enqueue(&mut tx, &event, transition.into()).await?;
        tx.commit().await?;
        tracing::info!(event_id = %id, actor_id = %actor, %from, to = %event.status, "event status changed");
        Ok(event)
    }

    /// One page of a listing. One more row than asked for is read to learn whether another page
    /// follows, so the last page never hands out a cursor that leads to an empty page.
    pub async fn list(&self, query: ListQuery) -> Result<Page, ApiError> {
        let limit = query.limit.get() as usize;
        let mut events = store::list(&self.pool, query.filter, query.cursor.as_ref(), limit as i64 + 1).await?;
        let next = if events.len() > limit {
            events.truncate(limit);
            let last = events.last().ok_or_else(|| ApiError::internal("page with more rows than its limit has no last row"))?;
            Some(
                Cursor::after_event(query.filter, last).ok_or_else(|| {
                    ApiError::internal(format!("event {} in listing {:?} has no sort key", last.id, query.filter))
                })?,
            )
        } else {
            None
        };
        Ok(Page { events, next })
    }
}
