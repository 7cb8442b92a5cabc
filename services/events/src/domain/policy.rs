//! The one role model of an event: who someone is on its stage, what that lets them publish and
//! say, and which stage actions they may take on whom.
//!
//! Pure code, no I/O: the service reads the roles, asks here, and writes what was allowed. The
//! auth service signs the media grants decided here and the SFU enforces them; the chat service
//! receives the chat capabilities through the same roles. Nothing else decides rights.
//!
//! Rank rules as on X Spaces: nobody acts on someone of an equal or higher rank, except the host,
//! who acts on everyone; only the host ends the event, appoints or removes co-hosts, or hands the
//! host role over.
use stagecast_authn::{MediaGrants, TrackSource};
use stagecast_kit::{ApiError, ErrorKind};

use super::EventStatus;

/// What a user is in one event. Everyone without a role of their own is `Audience`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Host,
    CoHost,
    Moderator,
    Speaker,
    Audience,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Host, Role::CoHost, Role::Moderator, Role::Speaker, Role::Audience];

    /// Higher outranks lower.
    pub fn rank(self) -> u8 {
        match self {
            Role::Host => 4,
            Role::CoHost => 3,
            Role::Moderator => 2,
            Role::Speaker => 1,
            Role::Audience => 0,
        }
    }

    /// The role's name in the API and on the bus.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::CoHost => "cohost",
            Role::Moderator => "moderator",
            Role::Speaker => "speaker",
            Role::Audience => "audience",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw.trim()).ok_or_else(|| {
            ApiError::invalid("invalid_role", format!("role {raw:?} is not one of host, cohost, moderator, speaker, audience"))
        })
    }

    /// Takes a seat on the stage (publishes a microphone and camera). Counted against the
    /// event's maximum of speakers.
    pub fn on_stage(self) -> bool {
        matches!(self, Role::Host | Role::CoHost | Role::Speaker)
    }

    /// Runs the stage with the host: sees the hand queue, invites, mutes, kicks, bans and
    /// moderates chat.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Host | Role::CoHost | Role::Moderator)
    }
}

/// What a user may do in the event's chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatRights {
    pub send: bool,
    pub moderate: bool,
}

/// Chat rights from the role. Banned users never get here: a ban refuses them first.
pub fn chat_rights(role: Role) -> ChatRights {
    ChatRights { send: true, moderate: role.is_staff() }
}

/// The grants for a user with `role` in an event that is `status`.
///
/// The host and co-hosts publish every source, also while the event is still scheduled (a
/// preview before going live); speakers publish their microphone and camera; moderators and the
/// audience only watch. Once the event has ended or was cancelled nobody joins its room any more.
/// Nobody is hidden: hidden grants are for recorders, which do not come through here.
pub fn media_grants(role: Role, status: EventStatus) -> Result<MediaGrants, ApiError> {
    media_grants_in(role, status, false)
}

/// The grants of someone who is `backstage` (in the green room) or on air. The backstage
/// publishes as its role allows, but only to those who see the green room: the host, co-hosts,
/// moderators and the backstage itself.
pub fn media_grants_in(role: Role, status: EventStatus, backstage: bool) -> Result<MediaGrants, ApiError> {
    let backstage = backstage && matches!(role, Role::CoHost | Role::Speaker);
    if status.is_closed() {
        return Err(ApiError::new(
            ErrorKind::FailedPrecondition,
            "event_over",
            format!("the event is {status}; its stage is closed"),
        ));
    }
    let publish = match role {
        Role::Host | Role::CoHost => TrackSource::ALL.to_vec(),
        Role::Speaker => vec![TrackSource::Camera, TrackSource::Microphone],
        Role::Moderator | Role::Audience => Vec::new(),
    };
    Ok(MediaGrants { subscribe: true, publish, hidden: false, backstage, see_backstage: backstage || role.is_staff() })
}

/// A stage action, with the target's role where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Raise one's own hand to ask to speak.
    RaiseHand,
    /// Lower someone else's raised hand (one's own is always allowed).
    LowerHand {
        target: Role,
    },
    /// Invite someone to speak; they accept or decline.
    Invite {
        target: Role,
    },
    /// Put someone on a role (`to`), without asking them; `to == Audience` moves them off the
    /// stage. Giving oneself the audience role (leaving the stage) is always allowed.
    SetRole {
        target: Role,
        to: Role,
    },
    /// Mute someone's track on the server; only they can unmute.
    Mute {
        target: Role,
    },
    /// Disconnect someone from the event (they may come back).
    Kick {
        target: Role,
    },
    /// Keep someone out of the event (media, WebSocket, chat) until lifted.
    Ban {
        target: Role,
    },
    Unban,
    /// See the hand queue, pending invitations and the stage log.
    SeeQueue,
    /// End the event for everyone.
    EndEvent,
    /// Bring someone from the backstage on air, or send them backstage.
    MoveStage {
        target: Role,
    },
    /// Make, list, withdraw or regenerate guest invite links granting `role`.
    ManageLinks {
        role: Role,
    },
}

impl Action {
    /// The action's name in refusals.
    fn verb(self) -> &'static str {
        match self {
            Action::RaiseHand => "raise a hand",
            Action::LowerHand { .. } => "lower someone's hand",
            Action::Invite { .. } => "invite someone to speak",
            Action::SetRole { .. } => "change someone's role",
            Action::Mute { .. } => "mute someone",
            Action::Kick { .. } => "kick someone",
            Action::Ban { .. } => "ban someone",
            Action::Unban => "lift a ban",
            Action::SeeQueue => "see the stage queue",
            Action::EndEvent => "end the event",
            Action::MoveStage { .. } => "move someone between the backstage and the air",
            Action::ManageLinks { .. } => "manage invite links for this role",
        }
    }

    fn target(self) -> Option<Role> {
        match self {
            Action::LowerHand { target }
            | Action::Invite { target }
            | Action::SetRole { target, .. }
            | Action::Mute { target }
            | Action::Kick { target }
            | Action::Ban { target }
            | Action::MoveStage { target } => Some(target),
            _ => None,
        }
    }
}

fn not_allowed(actor: Role, action: Action) -> ApiError {
    ApiError::forbidden("not_allowed", format!("a {} cannot {}", actor.as_str(), action.verb()))
}

/// Decides whether `actor` may take `action` on someone else (self-service actions such as
/// lowering one's own hand or leaving the stage are the service's, not ranks').
///
/// Checks run from "may your role do this at all" (`not_allowed`) to "may you do it to this
/// person" (`cannot_act_on_higher_role`), then to "does it make sense" (`already_on_stage`).
pub fn authorize(actor: Role, action: Action) -> Result<(), ApiError> {
    let allowed = match action {
        Action::RaiseHand => actor == Role::Audience,
        Action::EndEvent => actor == Role::Host,
        // The show's producers: the host and co-hosts.
        Action::MoveStage { .. } => matches!(actor, Role::Host | Role::CoHost),
        // A link is an appointment made in advance: co-host links are the host's alone.
        Action::ManageLinks { role: Role::CoHost | Role::Host } => actor == Role::Host,
        Action::ManageLinks { .. } => matches!(actor, Role::Host | Role::CoHost),
        // Only the host appoints co-hosts, removes them or hands over the host role.
        Action::SetRole { target, to } if matches!(to, Role::Host | Role::CoHost) || target == Role::CoHost => {
            actor == Role::Host
        }
        // Co-hosts appoint moderators; moderators bring people up and down but make no staff.
        Action::SetRole { to: Role::Moderator, .. } => matches!(actor, Role::Host | Role::CoHost),
        Action::LowerHand { .. }
        | Action::Invite { .. }
        | Action::SetRole { .. }
        | Action::Mute { .. }
        | Action::Kick { .. }
        | Action::Ban { .. }
        | Action::Unban
        | Action::SeeQueue => actor.is_staff(),
    };
    if !allowed {
        if action == Action::RaiseHand && actor.on_stage() {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "already_on_stage", "you are on the stage already"));
        }
        return Err(not_allowed(actor, action));
    }
    if let Some(target) = action.target()
        && actor != Role::Host
        && target.rank() >= actor.rank()
    {
        return Err(ApiError::forbidden(
            "cannot_act_on_higher_role",
            format!("a {} cannot act on a {}", actor.as_str(), target.as_str()),
        ));
    }
    if let Action::Invite { target } = action
        && target.on_stage()
    {
        return Err(ApiError::new(ErrorKind::FailedPrecondition, "already_on_stage", "they are on the stage already"));
    }
    if let Action::SetRole { target, to } = action
        && target == to
    {
        return Err(ApiError::new(
            ErrorKind::FailedPrecondition,
            "role_unchanged",
            format!("they are a {} already", to.as_str()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    fn code(actor: Role, action: Action) -> &'static str {
        match authorize(actor, action) {
            Ok(()) => "ok",
            Err(e) => match e.code.as_ref() {
                "not_allowed" => "not_allowed",
                "cannot_act_on_higher_role" => "cannot_act_on_higher_role",
                "already_on_stage" => "already_on_stage",
                "role_unchanged" => "role_unchanged",
                other => panic!("unexpected code {other}"),
            },
        }
    }

    const NA: &str = "not_allowed";
    const HI: &str = "cannot_act_on_higher_role";
    const ON: &str = "already_on_stage";

    /// Rows: the actor, in `Role::ALL` order (host, cohost, moderator, speaker, audience).
    fn check(name: &str, action: impl Fn(Role) -> Action, expected: [&str; 5]) {
        for (actor, want) in Role::ALL.into_iter().zip(expected) {
            assert_eq!(code(actor, action(actor)), want, "{name}: actor {actor:?}");
        }
    }

    #[test]
    fn only_the_audience_raises_hands_and_the_stage_is_told_it_is_on_stage_already() {
        check("raise hand", |_| Action::RaiseHand, [ON, ON, NA, ON, "ok"]);
    }

    #[test]
    fn only_the_host_ends_the_event() {
        check("end", |_| Action::EndEvent, ["ok", NA, NA, NA, NA]);
    }

    #[test]
    fn staff_act_on_lower_ranks_and_the_host_on_everyone() {
        type MakeAction = fn(Role) -> Action;
        let actions: [(&str, MakeAction); 4] = [
            ("mute", |t| Action::Mute { target: t }),
            ("kick", |t| Action::Kick { target: t }),
            ("ban", |t| Action::Ban { target: t }),
            ("lower hand", |t| Action::LowerHand { target: t }),
        ];
        // (target, expected per actor host, cohost, moderator, speaker, audience)
        let table: [(Role, [&str; 5]); 5] = [
            (Host, ["ok", HI, HI, NA, NA]),
            (CoHost, ["ok", HI, HI, NA, NA]),
            (Moderator, ["ok", "ok", HI, NA, NA]),
            (Speaker, ["ok", "ok", "ok", NA, NA]),
            (Audience, ["ok", "ok", "ok", NA, NA]),
        ];
        for (name, make) in actions {
            for (target, expected) in table {
                check(&format!("{name} a {target:?}"), |_| make(target), expected);
            }
        }
    }

    #[test]
    fn only_the_audience_can_be_invited_to_speak() {
        check("invite audience", |_| Action::Invite { target: Audience }, ["ok", "ok", "ok", NA, NA]);
        check("invite speaker", |_| Action::Invite { target: Speaker }, [ON, ON, ON, NA, NA]);
        check("invite moderator", |_| Action::Invite { target: Moderator }, ["ok", "ok", HI, NA, NA]);
        check("invite cohost", |_| Action::Invite { target: CoHost }, [ON, HI, HI, NA, NA]);
    }

    #[test]
    fn role_changes_follow_the_rank_rules() {
        let set = |target, to| move |_| Action::SetRole { target, to };
        // Bringing someone up to speak and sending them back: staff, on lower ranks.
        check("audience to speaker", set(Audience, Speaker), ["ok", "ok", "ok", NA, NA]);
        check("speaker to audience", set(Speaker, Audience), ["ok", "ok", "ok", NA, NA]);
        // Moderators are appointed and removed by the host and co-hosts.
        check("audience to moderator", set(Audience, Moderator), ["ok", "ok", NA, NA, NA]);
        check("speaker to moderator", set(Speaker, Moderator), ["ok", "ok", NA, NA, NA]);
        check("moderator to audience", set(Moderator, Audience), ["ok", "ok", HI, NA, NA]);
        // Co-hosts and the host role are the host's alone.
        check("audience to cohost", set(Audience, CoHost), ["ok", NA, NA, NA, NA]);
        check("cohost to audience", set(CoHost, Audience), ["ok", NA, NA, NA, NA]);
        check("cohost to speaker", set(CoHost, Speaker), ["ok", NA, NA, NA, NA]);
        check("cohost to host", set(CoHost, Host), ["ok", NA, NA, NA, NA]);
        check("speaker to host", set(Speaker, Host), ["ok", NA, NA, NA, NA]);
        // Nothing to change.
        check("speaker to speaker", set(Speaker, Speaker), ["role_unchanged", "role_unchanged", "role_unchanged", NA, NA]);
    }

    #[test]
    fn hosts_and_cohosts_make_speaker_links_and_only_the_host_cohost_links() {
        check("speaker links", |_| Action::ManageLinks { role: Speaker }, ["ok", "ok", NA, NA, NA]);
        check("cohost links", |_| Action::ManageLinks { role: CoHost }, ["ok", NA, NA, NA, NA]);
    }

    #[test]
    fn the_host_and_cohosts_move_people_between_backstage_and_air_by_rank() {
        check("move a speaker", |_| Action::MoveStage { target: Speaker }, ["ok", "ok", NA, NA, NA]);
        check("move a cohost", |_| Action::MoveStage { target: CoHost }, ["ok", HI, NA, NA, NA]);
    }

    #[test]
    fn the_backstage_publishes_to_those_who_see_it_and_staff_see_it() {
        let g = |role, backstage| media_grants_in(role, EventStatus::Live, backstage).expect("open");
        assert!(g(Speaker, true).backstage && g(Speaker, true).see_backstage);
        assert_eq!(g(Speaker, true).publish, vec![TrackSource::Camera, TrackSource::Microphone]);
        assert!(g(CoHost, true).backstage);
        // Only co-hosts and speakers can be backstage; the flag means nothing for others.
        for role in [Host, Moderator, Audience] {
            assert!(!g(role, true).backstage, "{role:?}");
        }
        for role in [Host, CoHost, Moderator] {
            assert!(g(role, false).see_backstage, "{role:?} sees the green room");
        }
        for role in [Speaker, Audience] {
            assert!(!g(role, false).see_backstage, "{role:?} on air or watching does not");
        }
    }

    #[test]
    fn staff_see_the_queue_and_lift_bans() {
        check("see queue", |_| Action::SeeQueue, ["ok", "ok", "ok", NA, NA]);
        check("unban", |_| Action::Unban, ["ok", "ok", "ok", NA, NA]);
    }

    #[test]
    fn grants_follow_the_role() {
        let publish = |role| media_grants(role, EventStatus::Live).expect("open").publish;
        assert_eq!(publish(Host), TrackSource::ALL.to_vec());
        assert_eq!(publish(CoHost), TrackSource::ALL.to_vec());
        assert_eq!(publish(Speaker), vec![TrackSource::Camera, TrackSource::Microphone]);
        assert!(publish(Moderator).is_empty());
        assert!(publish(Audience).is_empty());
        for role in Role::ALL {
            for status in [EventStatus::Scheduled, EventStatus::Live] {
                let g = media_grants(role, status).expect("open");
                assert!(g.subscribe && !g.hidden, "{role:?} {status}");
            }
        }
    }

    #[test]
    fn nobody_joins_an_ended_or_cancelled_event() {
        for status in [EventStatus::Ended, EventStatus::Cancelled] {
            for role in Role::ALL {
                let e = media_grants(role, status).expect_err("closed event");
                assert_eq!((e.kind, e.code.as_ref()), (ErrorKind::FailedPrecondition, "event_over"), "{role:?} {status}");
            }
        }
    }

    #[test]
    fn staff_moderate_chat_and_everyone_may_send() {
        for role in Role::ALL {
            let rights = chat_rights(role);
            assert!(rights.send);
            assert_eq!(rights.moderate, matches!(role, Host | CoHost | Moderator), "{role:?}");
        }
    }

    #[test]
    fn roles_have_their_api_names_and_parse_back() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).expect("parses"), role);
        }
        assert_eq!(Role::parse("admin").expect_err("unknown").code, "invalid_role");
        let seats: Vec<Role> = Role::ALL.into_iter().filter(|r| r.on_stage()).collect();
        assert_eq!(seats, [Host, CoHost, Speaker]);
    }
}
