//! Chat as the REST chat routes and the live socket carry it: authors and their roles,
//! messages, moderation actions, room settings and presence.
use serde::Serialize;
use stagecast_proto::chat::v1 as pb;
use utoipa::ToSchema;

/// A role in an event's chat, as messages and presence name their authors.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names `live::protocol::role_name` gives
pub enum ChatRole {
    #[serde(rename = "host")]
    Host,
    #[serde(rename = "cohost")]
    Cohost,
    #[serde(rename = "moderator")]
    Moderator,
    /// On the stage as a speaker (moderates nothing).
    #[serde(rename = "speaker")]
    Speaker,
    /// Everyone else: the audience.
    #[serde(rename = "viewer")]
    Viewer,
}

/// What happens to a message holding a blocked term.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names `live::protocol::settings` gives and `settings` parses
pub enum BlockedTermMode {
    /// Refused with `blocked_term`; the sender may rephrase.
    #[serde(rename = "reject")]
    Reject,
    /// Accepted but held for a moderator's review (202 `held: true`); nobody else sees it until
    /// approved.
    #[serde(rename = "hold")]
    Hold,
}

/// What a moderation action did (the chat service's `ActionKind`). `ban`, `unban`,
/// `add_moderator` and `remove_moderator` are recorded when the chat applies the event's stage
/// bans and roles.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names the chat service's `ActionKind` spells
pub enum ModerationActionKind {
    #[serde(rename = "delete_message")]
    DeleteMessage,
    #[serde(rename = "timeout")]
    Timeout,
    #[serde(rename = "ban")]
    Ban,
    #[serde(rename = "unban")]
    Unban,
    #[serde(rename = "add_moderator")]
    AddModerator,
    #[serde(rename = "remove_moderator")]
    RemoveModerator,
    #[serde(rename = "slow_mode")]
    SlowMode,
    #[serde(rename = "blocked_terms")]
    BlockedTerms,
    #[serde(rename = "pin")]
    Pin,
    #[serde(rename = "unpin")]
    Unpin,
    #[serde(rename = "approve")]
    Approve,
    #[serde(rename = "deny")]
    Deny,
}

/// Who wrote a message, or is here.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Author {
    #[schema(format = Uuid)]
    pub user_id: String,
    /// Empty for a guest without a name.
    pub display_name: String,
    #[schema(required = true)]
    pub avatar_url: Option<String>,
    /// Their role in the event's chat.
    #[schema(value_type = ChatRole)]
    pub role: &'static str,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatMessage {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub event_id: String,
    pub author: Author,
    pub text: String,
    #[schema(format = DateTime, required = true)]
    pub sent_at: Option<String>,
    /// The sender's id for the message (see `chat.send`).
    pub client_msg_id: String,
}

/// A chat room's settings, as moderation actions and the live socket's `hello` carry them
/// (ChatSettings is the request that changes them).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ChatRoomSettings)]
pub struct Settings {
    /// 0: no slow mode.
    pub slow_mode_secs: u32,
    pub blocked_terms: Vec<String>,
    #[schema(value_type = BlockedTermMode)]
    pub blocked_term_mode: &'static str,
}

/// One moderation action: the answer of every moderation endpoint, an audit-log entry and the
/// live socket's `moderation` frame.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModerationAction {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(value_type = ModerationActionKind)]
    pub kind: String,
    #[schema(format = Uuid)]
    pub actor_id: String,
    #[schema(format = Uuid, required = true)]
    pub target_user_id: Option<String>,
    #[schema(format = Uuid, required = true)]
    pub target_message_id: Option<String>,
    /// Null when none was given.
    #[schema(required = true)]
    pub reason: Option<String>,
    #[schema(format = DateTime, required = true)]
    pub at: Option<String>,
    /// The timeout's length, or the new slow mode (null when slow mode was turned off).
    #[schema(required = true)]
    pub duration_secs: Option<u32>,
    /// The message acted on (pinned, approved).
    #[schema(required = true)]
    pub message: Option<ChatMessage>,
    /// The room's settings after a `slow_mode` or `blocked_terms` action.
    #[schema(required = true)]
    pub settings: Option<Settings>,
}

/// Who is in the event's room.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Presence {
    /// People here now (their sockets vouched for them in the last 45 s).
    pub viewer_count: u32,
    /// Up to 100, most recently seen first.
    pub users: Vec<Author>,
}

pub fn role_name(role: i32) -> &'static str {
    match pb::ChatRole::try_from(role) {
        Ok(pb::ChatRole::Host) => "host",
        Ok(pb::ChatRole::Cohost) => "cohost",
        Ok(pb::ChatRole::Moderator) => "moderator",
        Ok(pb::ChatRole::Speaker) => "speaker",
        _ => "viewer",
    }
}

/// The inverse of [`role_name`].
pub fn role_value(role: &str) -> i32 {
    (match role {
        "host" => pb::ChatRole::Host,
        "cohost" => pb::ChatRole::Cohost,
        "moderator" => pb::ChatRole::Moderator,
        "speaker" => pb::ChatRole::Speaker,
        _ => pb::ChatRole::Viewer,
    }) as i32
}

fn non_empty(s: String) -> Option<String> {
    Some(s).filter(|s| !s.is_empty())
}

pub fn author(a: Option<pb::Author>) -> Author {
    let a = a.unwrap_or_default();
    Author { role: role_name(a.role), user_id: a.user_id, display_name: a.display_name, avatar_url: non_empty(a.avatar_url) }
}

pub fn message(m: pb::ChatMessage) -> ChatMessage {
    ChatMessage {
        sent_at: super::rfc3339(m.sent_at.as_ref()),
        author: author(m.author),
        id: m.id,
        event_id: m.event_id,
        text: m.text,
        client_msg_id: m.client_msg_id,
    }
}

pub fn settings(s: pb::RoomSettings) -> Settings {
    let mode = match pb::BlockedTermMode::try_from(s.blocked_term_mode) {
        Ok(pb::BlockedTermMode::Hold) => "hold",
        _ => "reject",
    };
    Settings { slow_mode_secs: s.slow_mode_secs, blocked_terms: s.blocked_terms, blocked_term_mode: mode }
}

pub fn action(a: pb::ModerationAction) -> ModerationAction {
    ModerationAction {
        at: super::rfc3339(a.at.as_ref()),
        duration_secs: Some(a.duration_secs).filter(|d| *d > 0),
        message: a.message.map(message),
        settings: a.settings.map(settings),
        id: a.id,
        kind: a.kind,
        actor_id: a.actor_id,
        target_user_id: non_empty(a.target_user_id),
        target_message_id: non_empty(a.target_message_id),
        reason: non_empty(a.reason),
    }
}
