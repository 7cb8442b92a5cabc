//! An event's stage as read under the event's lock: who holds which role, who raised a hand,
//! who is banned, and the seats left. The service asks [`super::authorize`] what may happen and
//! this type what it would mean (a full stage, a missing hand, a banned user).
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use stagecast_kit::{ApiError, ErrorKind, text};
use uuid::Uuid;

use super::{Event, Role, UserId};

/// How long an invitation to speak stays open.
pub const INVITATION_TTL: Duration = Duration::seconds(120);

/// At most this many characters of a reason (kick, ban, mute) are kept.
pub const REASON_MAX_CHARS: usize = text::fields::STAGE_REASON.max_chars;

/// Parses a reason by the kit's text rule (NFC-normalised, trimmed, at most
/// [`REASON_MAX_CHARS`], no control characters), which the API document states as a pattern.
pub fn parse_reason(raw: &str) -> Result<String, ApiError> {
    text::check(raw, &text::fields::STAGE_REASON).map_err(|broken| match broken {
        text::Broken::TooLong => {
            ApiError::invalid("reason_too_long", format!("the reason is at most {REASON_MAX_CHARS} characters"))
        }
        text::Broken::ControlCharacters | text::Broken::Required => {
            ApiError::invalid("invalid_reason", "the reason must not contain control characters")
        }
    })
}

/// The roles kept beside the event row (moderators and speakers), each with when it was granted.
#[derive(Debug, Clone, Default)]
pub struct Members(pub HashMap<UserId, (Role, DateTime<Utc>)>);

/// An open or answered invitation to speak.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: Uuid,
    pub user_id: UserId,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: InvitationState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Accepted,
    Declined,
    Cancelled,
}

impl InvitationState {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationState::Pending => "pending",
            InvitationState::Accepted => "accepted",
            InvitationState::Declined => "declined",
            InvitationState::Cancelled => "cancelled",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Pending, Self::Accepted, Self::Declined, Self::Cancelled].into_iter().find(|v| v.as_str() == s)
    }
}

impl Invitation {
    /// Whether the invitee may still accept it at `now`; the refusal says why not.
    pub fn check_open(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        match self.state {
            InvitationState::Pending if now >= self.expires_at => Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "invitation_expired",
                "this invitation to speak has expired; raise your hand to be invited again",
            )),
            InvitationState::Pending => Ok(()),
            answered => Err(ApiError::not_found(
                "invitation_not_found",
                format!("there is no open invitation with this id (it was {})", answered.as_str()),
            )),
        }
    }
}

/// The stage of one event, read inside the transaction that changes it.
#[derive(Debug, Clone)]
pub struct Stage {
    pub event: Event,
    pub max_speakers: u32,
    pub members: Members,
    pub banned: bool,
    /// Co-hosts and speakers in the green room.
    pub backstage: HashSet<UserId>,
}

impl Stage {
    /// The role of `user`: host and co-hosts from the event row, then stage members, else audience.
    pub fn role_of(&self, user: UserId) -> Role {
        match self.event.role_of(user) {
            Role::Audience => self.members.0.get(&user).map(|(r, _)| *r).unwrap_or(Role::Audience),
            role => role,
        }
    }

    /// People holding a seat: the host, the co-hosts and the speakers on air (the backstage
    /// takes a seat when it is brought on air).
    pub fn seats_taken(&self) -> u32 {
        let speakers = self.members.0.iter().filter(|(u, (r, _))| r.on_stage() && !self.backstage.contains(u)).count();
        let cohosts = self.event.cohosts.ids().iter().filter(|u| !self.backstage.contains(u)).count();
        (1 + cohosts + speakers) as u32
    }

    pub fn is_backstage(&self, user: UserId) -> bool {
        self.backstage.contains(&user) && matches!(self.role_of(user), Role::CoHost | Role::Speaker)
    }

    /// Refuses to seat one more person when every seat is taken.
    pub fn check_seat_free(&self) -> Result<(), ApiError> {
        if self.seats_taken() >= self.max_speakers {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "stage_full",
                format!("the stage is full ({} speakers); move someone back to the audience first", self.max_speakers),
            ));
        }
        Ok(())
    }
}

/// Refuses a banned user.
pub fn banned() -> ApiError {
    ApiError::forbidden("banned", "you are banned from this event")
}

/// What changed on a stage; recorded in the stage log and announced on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    HandRaised,
    HandLowered,
    Invited,
    InvitationAccepted,
    InvitationDeclined,
    RoleChanged,
    Muted,
    Kicked,
    Banned,
    Unbanned,
    BroughtOnAir,
    SentBackstage,
    InvitationWithdrawn,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 13] = [
        Self::HandRaised,
        Self::HandLowered,
        Self::Invited,
        Self::InvitationAccepted,
        Self::InvitationDeclined,
        Self::RoleChanged,
        Self::Muted,
        Self::Kicked,
        Self::Banned,
        Self::Unbanned,
        Self::BroughtOnAir,
        Self::SentBackstage,
        Self::InvitationWithdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HandRaised => "hand_raised",
            Self::HandLowered => "hand_lowered",
            Self::Invited => "invited",
            Self::InvitationAccepted => "invitation_accepted",
            Self::InvitationDeclined => "invitation_declined",
            Self::RoleChanged => "role_changed",
            Self::Muted => "muted",
            Self::Kicked => "kicked",
            Self::Banned => "banned",
            Self::Unbanned => "unbanned",
            Self::BroughtOnAir => "brought_on_air",
            Self::SentBackstage => "sent_backstage",
            Self::InvitationWithdrawn => "invitation_withdrawn",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One stage change.
#[derive(Debug, Clone)]
pub struct StageChange {
    pub kind: ChangeKind,
    pub actor: UserId,
    pub target: UserId,
    /// The target's role after the change.
    pub role: Role,
    pub previous_role: Option<Role>,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub invitation: Option<Invitation>,
    pub source: Option<String>,
}

impl StageChange {
    pub fn new(kind: ChangeKind, actor: UserId, target: UserId, role: Role, at: DateTime<Utc>) -> Self {
        Self { kind, actor, target, role, previous_role: None, reason: String::new(), at, invitation: None, source: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CoHosts, CoverUrl, Description, EventId, EventTitle, NewEvent};

    fn user() -> UserId {
        UserId::from_uuid(Uuid::new_v4())
    }

    fn stage(cohosts: usize, speakers: usize, max: u32) -> Stage {
        let ids: Vec<String> = (0..cohosts).map(|_| Uuid::new_v4().to_string()).collect();
        let new = NewEvent {
            title: EventTitle::parse("Stage").expect("valid"),
            description: Description::default(),
            starts_at: Utc::now() + Duration::hours(1),
            cover_url: CoverUrl::default(),
            cohosts: CoHosts::parse(&ids).expect("valid"),
        };
        let event = Event::schedule(EventId::generate(), user(), new, Utc::now()).expect("valid");
        let mut members = Members::default();
        for _ in 0..speakers {
            members.0.insert(user(), (Role::Speaker, Utc::now()));
        }
        members.0.insert(user(), (Role::Moderator, Utc::now()));
        Stage { event, max_speakers: max, members, banned: false, backstage: HashSet::new() }
    }

    #[test]
    fn seats_count_the_host_cohosts_and_speakers_but_not_moderators() {
        let s = stage(2, 3, 13);
        assert_eq!(s.seats_taken(), 6);
        assert!(s.check_seat_free().is_ok());
        let full = stage(2, 3, 6);
        assert_eq!(full.check_seat_free().expect_err("full").code, "stage_full");
    }

    #[test]
    fn roles_come_from_the_event_row_then_the_members() {
        let s = stage(1, 1, 13);
        assert_eq!(s.role_of(s.event.host_id), Role::Host);
        assert_eq!(s.role_of(s.event.cohosts.ids()[0]), Role::CoHost);
        let roles: Vec<Role> = s.members.0.keys().map(|u| s.role_of(*u)).collect();
        assert!(roles.contains(&Role::Speaker) && roles.contains(&Role::Moderator));
        assert_eq!(s.role_of(user()), Role::Audience);
    }

    #[test]
    fn an_invitation_is_open_until_it_expires_or_is_answered() {
        let now = Utc::now();
        let mut inv = Invitation {
            id: Uuid::new_v4(),
            user_id: user(),
            invited_by: user(),
            created_at: now,
            expires_at: now + INVITATION_TTL,
            state: InvitationState::Pending,
        };
        assert!(inv.check_open(now).is_ok());
        assert_eq!(inv.check_open(now + INVITATION_TTL).expect_err("expired").code, "invitation_expired");
        for answered in [InvitationState::Accepted, InvitationState::Declined, InvitationState::Cancelled] {
            inv.state = answered;
            assert_eq!(inv.check_open(now).expect_err("answered").code, "invitation_not_found");
        }
    }

    #[test]
    fn reasons_are_bounded_and_printable() {
        assert_eq!(parse_reason("  spam ").expect("valid"), "spam");
        assert_eq!(parse_reason(&"x".repeat(201)).expect_err("long").code, "reason_too_long");
        assert_eq!(parse_reason("a\u{7}b").expect_err("bell").code, "invalid_reason");
    }

    #[test]
    fn change_kinds_round_trip_through_storage() {
        for k in ChangeKind::ALL {
            assert_eq!(ChangeKind::from_stored(k.as_str()), Some(k));
        }
    }
}
