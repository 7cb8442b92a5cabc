//! What an API key may do. A developer's backend acts for the key's owner, but only within the
//! scopes the owner granted the key; a signed-in person (an access token) is not limited by
//! scopes. The auth service checks the names when a key is created, the gateway enforces them
//! on every request.
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// The owner's profile.
    ProfileRead,
    ProfileWrite,
    /// Events, their stage and who is on it.
    EventsRead,
    /// Create, edit, go live, end; stage roles, invitations, kicks and bans; guest links.
    EventsWrite,
    /// Chat history, replay, the live socket.
    ChatRead,
    ChatWrite,
    /// Deleting messages, timeouts, chat bans, moderators, settings, held messages, the audit log.
    ChatModerate,
    /// Media tokens for the SFU (publishing and watching).
    TokensMint,
    RecordingsRead,
    /// Start, stop, change layout, delete, settings.
    RecordingsWrite,
    /// Restream destinations and their pushes.
    BroadcastsManage,
    /// Webhook endpoints, their deliveries and secrets.
    WebhooksManage,
}

impl Scope {
    pub const ALL: [Scope; 12] = [
        Scope::ProfileRead,
        Scope::ProfileWrite,
        Scope::EventsRead,
        Scope::EventsWrite,
        Scope::ChatRead,
        Scope::ChatWrite,
        Scope::ChatModerate,
        Scope::TokensMint,
        Scope::RecordingsRead,
        Scope::RecordingsWrite,
        Scope::BroadcastsManage,
        Scope::WebhooksManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ProfileRead => "profile:read",
            Scope::ProfileWrite => "profile:write",
            Scope::EventsRead => "events:read",
            Scope::EventsWrite => "events:write",
            Scope::ChatRead => "chat:read",
            Scope::ChatWrite => "chat:write",
            Scope::ChatModerate => "chat:moderate",
            Scope::TokensMint => "tokens:mint",
            Scope::RecordingsRead => "recordings:read",
            Scope::RecordingsWrite => "recordings:write",
            Scope::BroadcastsManage => "broadcasts:manage",
            Scope::WebhooksManage => "webhooks:manage",
        }
    }

    pub fn parse(raw: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Scopes that include this one: writing an event's data implies reading it.
    fn implied_by(self) -> &'static [Scope] {
        match self {
            Scope::ProfileRead => &[Scope::ProfileWrite],
            Scope::EventsRead => &[Scope::EventsWrite],
            Scope::ChatRead => &[Scope::ChatWrite, Scope::ChatModerate],
            Scope::RecordingsRead => &[Scope::RecordingsWrite],
            _ => &[],
        }
    }

    /// Whether a key holding `granted` may do what needs `self`.
    pub fn satisfied_by(self, granted: &[Scope]) -> bool {
        granted.iter().any(|g| *g == self || self.implied_by().contains(g))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_name_parses_back_to_itself_and_unknown_names_do_not() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        for bad in ["", "events", "events:*", "EVENTS:READ", "admin"] {
            assert_eq!(Scope::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn writing_implies_reading_and_nothing_else_is_implied() {
        assert!(Scope::EventsRead.satisfied_by(&[Scope::EventsWrite]));
        assert!(!Scope::EventsWrite.satisfied_by(&[Scope::EventsRead]));
        assert!(Scope::ChatRead.satisfied_by(&[Scope::ChatModerate]));
        assert!(!Scope::ChatModerate.satisfied_by(&[Scope::ChatWrite]));
        assert!(!Scope::TokensMint.satisfied_by(&[Scope::EventsWrite]));
        assert!(!Scope::EventsRead.satisfied_by(&[]));
    }
}
