//! WebSocket protocol v1: JSON text frames, each an object with a `type`.
use serde::{Deserialize, Serialize};
use stagecast_proto::chat::v1 as pb;
use utoipa::ToSchema;

pub const PROTOCOL_VERSION: u32 = 1;

/// Close codes (4000–4999 are for applications, RFC 6455 §7.4.2).
pub mod close {
    /// The access token is missing, invalid, expired or revoked.
    pub const UNAUTHENTICATED: u16 = 4001;
    /// Banned from this event's chat (also refused at connect).
    pub const BANNED: u16 = 4003;
    /// Kicked from the event by its staff: reconnecting is allowed.
    pub const KICKED: u16 = 4010;
    pub const NOT_FOUND: u16 = 4004;
    /// A backend is unavailable: reconnect with backoff.
    pub const UNAVAILABLE: u16 = 1011;
    pub const TOO_SLOW: u16 = 4008;
    pub const HEARTBEAT_TIMEOUT: u16 = 4009;
    pub const PROTOCOL_ERROR: u16 = 4400;
    /// The server is shutting down: reconnect (to another replica).
    pub const GOING_AWAY: u16 = 1001;
}

/// What a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum ClientMessage {
    #[serde(rename = "chat.send")]
    ChatSend { client_msg_id: String, text: String },
    #[serde(rename = "ping")]
    Ping {
        #[serde(default)]
        nonce: Option<String>,
    },
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
    #[schema(value_type = crate::routes::chat::ChatRole)]
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
    #[schema(value_type = crate::routes::chat::BlockedTermMode)]
    pub blocked_term_mode: &'static str,
}

/// One moderation action: the answer of every moderation endpoint, an audit-log entry and the
/// live socket's `moderation` frame.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModerationAction {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(value_type = crate::routes::chat::ModerationActionKind)]
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

/// What the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type")]
pub enum ServerMessage<'a> {
    #[serde(rename = "hello")]
    Hello {
        protocol: u32,
        event_id: &'a str,
        you: Author,
        history: Vec<ChatMessage>,
        pinned: Option<ChatMessage>,
        settings: Option<Settings>,
        timed_out_until: Option<String>,
        presence: Presence,
        heartbeat_secs: u64,
    },
    #[serde(rename = "chat.message")]
    ChatMessage { message: ChatMessage },
    #[serde(rename = "chat.ack")]
    ChatAck { client_msg_id: &'a str, message: ChatMessage, held: bool },
    #[serde(rename = "chat.deleted")]
    ChatDeleted { message_id: String },
    #[serde(rename = "moderation")]
    Moderation { action: ModerationAction },
    #[serde(rename = "presence")]
    Presence { viewer_count: u32, user: Author, joined: bool },
    #[serde(rename = "error")]
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<&'a str>,
        code: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// The event itself changed: `change` is scheduled, updated, live, ended or cancelled.
    #[serde(rename = "event")]
    Event { change: &'a str, event: crate::routes::events::Event },
    #[serde(rename = "pong")]
    Pong { nonce: Option<String> },
    /// Something changed on the event's stage (a hand, an invitation, a role, a kick or ban).
    #[serde(rename = "stage")]
    Stage { change: crate::routes::stage::StageChange },
    /// A recording of the event changed state or layout (the REST recording object).
    #[serde(rename = "recording")]
    Recording { recording: crate::routes::recordings::Recording },
    /// A restreaming destination of the event changed state (the REST event destination).
    #[serde(rename = "destination")]
    Destination { destination: crate::routes::broadcasts::EventDestination },
}

impl ServerMessage<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"type":"error","code":"internal","message":"cannot encode"}"#.to_owned())
    }
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
        sent_at: crate::routes::rfc3339(m.sent_at.as_ref()),
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
        at: crate::routes::rfc3339(a.at.as_ref()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse_and_unknown_fields_are_refused() {
        let m: ClientMessage = serde_json::from_str(r#"{"type":"chat.send","client_msg_id":"a1","text":"hi"}"#).unwrap();
        assert!(matches!(m, ClientMessage::ChatSend { ref text, .. } if text == "hi"));
        assert!(
            serde_json::from_str::<ClientMessage>(r#"{"type":"chat.send","client_msg_id":"a1","text":"hi","admin":true}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"nope"}"#).is_err());
    }

    #[test]
    fn server_messages_carry_their_type_tag() {
        let json = ServerMessage::ChatDeleted { message_id: "m1".into() }.to_json();
        assert_eq!(json, r#"{"type":"chat.deleted","message_id":"m1"}"#);
        let json =
            ServerMessage::Error { client_msg_id: None, code: "slow_mode", message: "wait", retry_after: Some(3) }.to_json();
        assert_eq!(json, r#"{"type":"error","code":"slow_mode","message":"wait","retry_after":3}"#);
    }
}
