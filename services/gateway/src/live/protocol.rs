//! WebSocket protocol v1: JSON text frames, each an object with a `type`.
use serde::{Deserialize, Serialize};

use crate::wire::{
    broadcasts::EventDestination,
    chat::{Author, ChatMessage, ModerationAction, Presence, Settings},
    events::Event,
    recordings::Recording,
    stage::StageChange,
};

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
    Event { change: &'a str, event: Event },
    #[serde(rename = "pong")]
    Pong { nonce: Option<String> },
    /// Something changed on the event's stage (a hand, an invitation, a role, a kick or ban).
    #[serde(rename = "stage")]
    Stage { change: StageChange },
    /// A recording of the event changed state or layout (the REST recording object).
    #[serde(rename = "recording")]
    Recording { recording: Recording },
    /// A restreaming destination of the event changed state (the REST event destination).
    #[serde(rename = "destination")]
    Destination { destination: EventDestination },
}

impl ServerMessage<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"type":"error","code":"internal","message":"cannot encode"}"#.to_owned())
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
