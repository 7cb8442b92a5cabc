use std::fmt;

use stagecast_kit::{ApiError, ErrorKind};

/// Where an event is in its lifecycle.
///
/// ```text
/// scheduled ──go live──▶ live ──end──▶ ended
///     │
///     └──cancel──▶ cancelled
/// ```
/// `ended` and `cancelled` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    Scheduled,
    Live,
    Ended,
    Cancelled,
}

/// A lifecycle step a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    GoLive,
    End,
    Cancel,
}

impl Transition {
    /// The status this step leads to (when it is legal at all).
    pub fn target(self) -> EventStatus {
        match self {
            Transition::GoLive => EventStatus::Live,
            Transition::End => EventStatus::Ended,
            Transition::Cancel => EventStatus::Cancelled,
        }
    }
}

impl EventStatus {
    pub const ALL: [EventStatus; 4] = [EventStatus::Scheduled, EventStatus::Live, EventStatus::Ended, EventStatus::Cancelled];

    /// The spelling stored in the `events.status` column (see its CHECK constraint).
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Scheduled => "scheduled",
            EventStatus::Live => "live",
            EventStatus::Ended => "ended",
            EventStatus::Cancelled => "cancelled",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Ended and cancelled events are history: nothing about them changes any more.
    pub fn is_closed(self) -> bool {
        matches!(self, EventStatus::Ended | EventStatus::Cancelled)
    }

    /// The status after `transition`, or an `illegal_transition` error that says what is possible
    /// from here. This table is the whole state machine.
    pub fn next(self, transition: Transition) -> Result<EventStatus, ApiError> {
        use EventStatus::*;
        match (self, transition) {
            (Scheduled, Transition::GoLive) => Ok(Live),
            (Scheduled, Transition::Cancel) => Ok(Cancelled),
            (Live, Transition::End) => Ok(Ended),
            (from, transition) => Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "illegal_transition",
                format!(
                    "an event cannot go from {from} to {to}: {possible}",
                    to = transition.target(),
                    possible = from.possible_transitions()
                ),
            )),
        }
    }

    fn possible_transitions(self) -> &'static str {
        match self {
            EventStatus::Scheduled => "a scheduled event can only go live or be cancelled",
            EventStatus::Live => "a live event can only be ended",
            EventStatus::Ended => "an ended event is final",
            EventStatus::Cancelled => "a cancelled event is final",
        }
    }
}

impl fmt::Display for EventStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventStatus::*;

    const ALL_TRANSITIONS: [Transition; 3] = [Transition::GoLive, Transition::End, Transition::Cancel];

    #[test]
    fn only_the_three_lifecycle_steps_are_legal() {
        let legal =
            [(Scheduled, Transition::GoLive, Live), (Scheduled, Transition::Cancel, Cancelled), (Live, Transition::End, Ended)];
        for from in EventStatus::ALL {
            for t in ALL_TRANSITIONS {
                let expected = legal.iter().find(|(f, tr, _)| *f == from && *tr == t).map(|(_, _, to)| *to);
                match (from.next(t), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{from} {t:?}"),
                    (Err(e), None) => {
                        assert_eq!(e.kind, ErrorKind::FailedPrecondition, "{from} {t:?}");
                        assert_eq!(e.code, "illegal_transition", "{from} {t:?}");
                    }
                    (got, want) => panic!("{from} {t:?}: got {got:?}, expected {want:?}"),
                }
            }
        }
    }

    #[test]
    fn illegal_transition_names_both_ends_and_what_is_possible() {
        let e = Ended.next(Transition::GoLive).expect_err("ended is final");
        assert_eq!(e.message, "an event cannot go from ended to live: an ended event is final");
        let e = Live.next(Transition::Cancel).expect_err("live cannot be cancelled");
        assert_eq!(e.message, "an event cannot go from live to cancelled: a live event can only be ended");
        let e = Scheduled.next(Transition::End).expect_err("scheduled cannot end");
        assert_eq!(e.message, "an event cannot go from scheduled to ended: a scheduled event can only go live or be cancelled");
    }

    #[test]
    fn only_ended_and_cancelled_are_closed() {
        assert!(!Scheduled.is_closed());
        assert!(!Live.is_closed());
        assert!(Ended.is_closed());
        assert!(Cancelled.is_closed());
    }

    #[test]
    fn stored_spelling_round_trips() {
        for s in EventStatus::ALL {
            assert_eq!(EventStatus::from_stored(s.as_str()), Some(s));
        }
        assert_eq!(EventStatus::from_stored("LIVE"), None);
    }
}
