use chrono::{DateTime, Duration, DurationRound, TimeDelta, Utc};
use stagecast_kit::{ApiError, ErrorKind};

use super::{CoHosts, CoverUrl, Description, EventId, EventStatus, EventTitle, Role, Transition, UserId};

/// How far in the past a new start time may be: a client whose clock runs a little behind (or a
/// form submitted a few seconds after "now" was picked) should not be refused.
pub const CLOCK_SKEW: Duration = Duration::seconds(60);

/// Timestamps are kept at microsecond precision, Postgres's own, so that the event returned by a
/// write is identical to the one a later read returns (and list cursors compare exactly).
pub fn at_stored_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// What a caller supplies to schedule an event; every field already parsed.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub title: EventTitle,
    pub description: Description,
    pub starts_at: DateTime<Utc>,
    pub cover_url: CoverUrl,
    pub cohosts: CoHosts,
}

/// A partial update: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EventPatch {
    pub title: Option<EventTitle>,
    pub description: Option<Description>,
    pub starts_at: Option<DateTime<Utc>>,
    pub cover_url: Option<CoverUrl>,
    /// Replaces the whole co-host list (host only).
    pub cohosts: Option<CoHosts>,
}

/// What an update actually changed; nothing changed means nothing is written or announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changes {
    pub details: bool,
    pub cohosts: bool,
}

impl Changes {
    pub fn any(self) -> bool {
        self.details || self.cohosts
    }
}

/// A scheduled event and its lifecycle.
///
/// Invariants upheld by the methods (and by CHECK constraints in the database): `went_live_at` is
/// set once the event has been live, `ended_at` once it ended, `cancelled_at` once cancelled;
/// the host is never among the co-hosts. Fields are public so the store can rebuild an event from
/// a row; everything else changes an event only through [`Event::update`] and
/// [`Event::transition`].
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub host_id: UserId,
    pub title: EventTitle,
    pub description: Description,
    pub starts_at: DateTime<Utc>,
    pub cover_url: CoverUrl,
    pub status: EventStatus,
    pub cohosts: CoHosts,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub went_live_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl Event {
    /// Schedules a new event hosted by `host`.
    pub fn schedule(id: EventId, host: UserId, new: NewEvent, now: DateTime<Utc>) -> Result<Self, ApiError> {
        let now = at_stored_precision(now);
        let starts_at = at_stored_precision(new.starts_at);
        check_not_in_past(starts_at, now)?;
        new.cohosts.exclude_host(host)?;
        Ok(Self {
            id,
            host_id: host,
            title: new.title,
            description: new.description,
            starts_at,
            cover_url: new.cover_url,
            status: EventStatus::Scheduled,
            cohosts: new.cohosts,
            created_at: now,
            updated_at: now,
            went_live_at: None,
            ended_at: None,
            cancelled_at: None,
        })
    }

    /// The user's role as far as the event row knows: host, co-host, or else audience. Moderators
    /// and speakers are stage members, which [`crate::domain::Stage`] adds on top.
    pub fn role_of(&self, user: UserId) -> Role {
        if user == self.host_id {
            Role::Host
        } else if self.cohosts.contains(user) {
            Role::CoHost
        } else {
            Role::Audience
        }
    }

    /// Applies `patch` on behalf of `actor`. Either every field is applied or, on error, none is.
    ///
    /// Checks run from "who are you" to "what is wrong with the input", so a stranger learns
    /// nothing from validation messages and a host is told about the state before the details.
    pub fn update(&mut self, actor: UserId, patch: EventPatch, now: DateTime<Utc>) -> Result<Changes, ApiError> {
        let now = at_stored_precision(now);
        let role = self.require_host_or_cohost(actor, "edit")?;
        if self.status.is_closed() {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "event_closed",
                format!("the event is {}; it can no longer be edited", self.status),
            ));
        }
        if patch.cohosts.is_some() && role != Role::Host {
            return Err(ApiError::forbidden("host_only", "only the host can change the co-hosts"));
        }
        let starts_at = patch.starts_at.map(at_stored_precision).filter(|t| *t != self.starts_at);
        if let Some(starts_at) = starts_at {
            if self.status != EventStatus::Scheduled {
                return Err(ApiError::new(
                    ErrorKind::FailedPrecondition,
                    "starts_at_locked",
                    format!("the start time can only change while the event is scheduled; it is {}", self.status),
                ));
            }
            check_not_in_past(starts_at, now)?;
        }
        if let Some(cohosts) = &patch.cohosts {
            cohosts.exclude_host(self.host_id)?;
        }

        // Everything is valid: apply what differs.
        let mut changes = Changes::default();
        if let Some(title) = patch.title.filter(|t| *t != self.title) {
            self.title = title;
            changes.details = true;
        }
        if let Some(description) = patch.description.filter(|d| *d != self.description) {
            self.description = description;
            changes.details = true;
        }
        if let Some(cover_url) = patch.cover_url.filter(|c| *c != self.cover_url) {
            self.cover_url = cover_url;
            changes.details = true;
        }
        if let Some(starts_at) = starts_at {
            self.starts_at = starts_at;
            changes.details = true;
        }
        if let Some(cohosts) = patch.cohosts.filter(|c| *c != self.cohosts) {
            self.cohosts = cohosts;
            changes.cohosts = true;
        }
        if changes.any() {
            self.updated_at = now;
        }
        Ok(changes)
    }

    /// Moves the event through its lifecycle on behalf of `actor`. Going live is for the host and
    /// co-hosts; ending and cancelling are for the host alone (the stage policy's rule: a co-host
    /// must not end the show for everyone).
    pub fn transition(&mut self, actor: UserId, transition: Transition, now: DateTime<Utc>) -> Result<(), ApiError> {
        let now = at_stored_precision(now);
        let verb = match transition {
            Transition::GoLive => "take it live",
            Transition::End => "end it",
            Transition::Cancel => "cancel it",
        };
        let role = self.require_host_or_cohost(actor, verb)?;
        if transition != Transition::GoLive && role != Role::Host {
            return Err(ApiError::forbidden("host_only", format!("only the host can {verb}")));
        }
        let next = self.status.next(transition)?;
        match next {
            EventStatus::Live => self.went_live_at = Some(now),
            EventStatus::Ended => self.ended_at = Some(now),
            EventStatus::Cancelled => self.cancelled_at = Some(now),
            // `next` never leads back to scheduled; nothing to stamp.
            EventStatus::Scheduled => {}
        }
        self.status = next;
        self.updated_at = now;
        Ok(())
    }

    fn require_host_or_cohost(&self, actor: UserId, action: &str) -> Result<Role, ApiError> {
        match self.role_of(actor) {
            role @ (Role::Host | Role::CoHost) => Ok(role),
            _ => Err(ApiError::forbidden("not_a_host", format!("only the host or a co-host of this event can {action}"))),
        }
    }
}

fn check_not_in_past(starts_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ApiError> {
    if starts_at < now - CLOCK_SKEW {
        return Err(ApiError::invalid("starts_at_in_past", "starts_at must not be in the past"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user() -> UserId {
        UserId::from_uuid(Uuid::new_v4())
    }

    fn now() -> DateTime<Utc> {
        at_stored_precision(Utc::now())
    }

    fn new_event(starts_at: DateTime<Utc>, cohosts: &[UserId]) -> NewEvent {
        let raw: Vec<String> = cohosts.iter().map(UserId::to_string).collect();
        NewEvent {
            title: EventTitle::parse("Launch").expect("valid"),
            description: Description::default(),
            starts_at,
            cover_url: CoverUrl::default(),
            cohosts: CoHosts::parse(&raw).expect("valid"),
        }
    }

    /// A scheduled event with a host and one co-host.
    fn scheduled() -> (Event, UserId, UserId) {
        let (host, cohost) = (user(), user());
        let event =
            Event::schedule(EventId::generate(), host, new_event(now() + Duration::hours(1), &[cohost]), now()).expect("valid");
        (event, host, cohost)
    }

    #[test]
    fn a_new_event_is_scheduled_and_stamped() {
        let (event, host, cohost) = scheduled();
        assert_eq!(event.status, EventStatus::Scheduled);
        assert_eq!(event.role_of(host), Role::Host);
        assert_eq!(event.role_of(cohost), Role::CoHost);
        assert_eq!(event.role_of(user()), Role::Audience);
        assert_eq!(event.created_at, event.updated_at);
        assert_eq!((event.went_live_at, event.ended_at, event.cancelled_at), (None, None, None));
    }

    #[test]
    fn start_time_may_lag_by_the_clock_skew_allowance_but_no_more() {
        let t = now();
        assert!(Event::schedule(EventId::generate(), user(), new_event(t - Duration::seconds(59), &[]), t).is_ok());
        let e =
            Event::schedule(EventId::generate(), user(), new_event(t - Duration::seconds(61), &[]), t).expect_err("too far back");
        assert_eq!(e.code, "starts_at_in_past");
    }

    #[test]
    fn the_host_cannot_schedule_themself_as_cohost() {
        let host = user();
        let e = Event::schedule(EventId::generate(), host, new_event(now() + Duration::hours(1), &[host]), now())
            .expect_err("host as cohost");
        assert_eq!(e.code, "host_cannot_be_cohost");
    }

    #[test]
    fn cohost_can_go_live_but_neither_end_nor_cancel() {
        let (mut event, host, cohost) = scheduled();
        let e = event.clone().transition(cohost, Transition::Cancel, now()).expect_err("cohost cancel");
        assert_eq!((e.kind, e.code.as_ref()), (ErrorKind::PermissionDenied, "host_only"));
        event.transition(cohost, Transition::GoLive, now()).expect("cohost can go live");
        assert_eq!(event.status, EventStatus::Live);
        assert!(event.went_live_at.is_some());
        let before = event.clone();
        let e = event.transition(cohost, Transition::End, now()).expect_err("cohost end");
        assert_eq!((e.kind, e.code.as_ref()), (ErrorKind::PermissionDenied, "host_only"));
        assert_eq!(event, before);
        event.transition(host, Transition::End, now()).expect("host ends");
        assert_eq!(event.status, EventStatus::Ended);
        assert!(event.ended_at.is_some());
    }

    #[test]
    fn outsiders_cannot_move_an_event() {
        let (mut event, ..) = scheduled();
        let before = event.clone();
        for t in [Transition::GoLive, Transition::End, Transition::Cancel] {
            let e = event.transition(user(), t, now()).expect_err("outsider");
            assert_eq!((e.kind, e.code.as_ref()), (ErrorKind::PermissionDenied, "not_a_host"));
        }
        assert_eq!(event, before);
    }

    #[test]
    fn host_can_cancel_a_scheduled_event_only() {
        let (mut event, host, _) = scheduled();
        event.transition(host, Transition::Cancel, now()).expect("host cancels");
        assert_eq!(event.status, EventStatus::Cancelled);
        assert!(event.cancelled_at.is_some());

        let (mut live, host, _) = scheduled();
        live.transition(host, Transition::GoLive, now()).expect("go live");
        let before = live.clone();
        let e = live.transition(host, Transition::Cancel, now()).expect_err("cancel live");
        assert_eq!(e.code, "illegal_transition");
        assert_eq!(live, before, "a refused transition changes nothing");
    }

    #[test]
    fn only_the_host_changes_cohosts() {
        let (mut event, host, cohost) = scheduled();
        let replacement = CoHosts::parse(&[user().to_string()]).expect("valid");
        let patch = EventPatch { cohosts: Some(replacement.clone()), ..Default::default() };
        let e = event.update(cohost, patch.clone(), now()).expect_err("cohost edits cohosts");
        assert_eq!(e.code, "host_only");
        let changes = event.update(host, patch, now()).expect("host edits cohosts");
        assert!(changes.cohosts && !changes.details);
        assert_eq!(event.cohosts, replacement);
        assert_eq!(event.role_of(cohost), Role::Audience);
    }

    #[test]
    fn cohost_can_edit_details_and_unchanged_values_are_no_change() {
        let (mut event, _, cohost) = scheduled();
        let same = EventPatch { title: Some(event.title.clone()), starts_at: Some(event.starts_at), ..Default::default() };
        assert!(!event.update(cohost, same, now()).expect("no-op").any());
        let patch = EventPatch { title: Some(EventTitle::parse("Renamed").expect("valid")), ..Default::default() };
        assert!(event.update(cohost, patch, now()).expect("cohost edits").details);
        assert_eq!(event.title.as_str(), "Renamed");
    }

    #[test]
    fn start_time_is_fixed_once_live_and_nothing_changes_once_closed() {
        let (mut event, host, _) = scheduled();
        event.transition(host, Transition::GoLive, now()).expect("go live");
        let later = EventPatch { starts_at: Some(now() + Duration::hours(2)), ..Default::default() };
        let e = event.update(host, later.clone(), now()).expect_err("live start time");
        assert_eq!((e.kind, e.code.as_ref()), (ErrorKind::FailedPrecondition, "starts_at_locked"));
        let retitle = EventPatch { title: Some(EventTitle::parse("Still on").expect("valid")), ..Default::default() };
        assert!(event.update(host, retitle.clone(), now()).is_ok(), "details stay editable while live");

        event.transition(host, Transition::End, now()).expect("end");
        let e = event.update(host, retitle, now()).expect_err("ended");
        assert_eq!((e.kind, e.code.as_ref()), (ErrorKind::FailedPrecondition, "event_closed"));
    }

    #[test]
    fn a_refused_update_changes_nothing() {
        let (mut event, host, _) = scheduled();
        let before = event.clone();
        let patch = EventPatch {
            title: Some(EventTitle::parse("New title").expect("valid")),
            starts_at: Some(now() - Duration::hours(1)),
            ..Default::default()
        };
        assert_eq!(event.update(host, patch, now()).expect_err("past").code, "starts_at_in_past");
        assert_eq!(event, before);
    }
}
