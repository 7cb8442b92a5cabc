//! The signalling messages carried on a participant's `signal` data channel, version 1
//! (documented message by message in docs/media.md). JSON text frames.
//!
//! Either side may send an offer. The server never accepts a client offer while its own is
//! pending (it is the "impolite" peer); the client rolls back its own offer when one from the
//! server arrives and offers again afterwards.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stagecast_authn::{MediaGrants, TrackSource};

/// Client → server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// A renegotiation started by the client (it publishes or unpublishes a track). `sources`
    /// names the source of every m-line the client sends on.
    Offer {
        sdp: String,
        #[serde(default)]
        sources: BTreeMap<String, TrackSource>,
    },
    /// The answer to a server offer.
    Answer { sdp: String },
    /// The participant mutes or unmutes one of its own tracks.
    Mute { source: TrackSource, muted: bool },
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    /// Who is in the room and which m-line of this connection carries whose track.
    State {
        participants: Vec<ParticipantView>,
        tracks: Vec<TrackView>,
    },
    /// The server (a moderator) muted one of this participant's tracks; only the participant can
    /// unmute it.
    Muted {
        source: TrackSource,
        by_server: bool,
    },
    /// The participant's grants changed (promotion to the stage, or demotion).
    Grants {
        grants: MediaGrants,
    },
    /// Who is speaking now; `None` when nobody is.
    ActiveSpeaker {
        participant_id: Option<String>,
    },
    /// A refused request (an offer with a track the grants do not allow, malformed JSON).
    Error {
        code: String,
        message: String,
    },
    /// The connection is about to close: removed by a moderator, or the server is shutting down
    /// (`reconnect` true: join again, another server will take it).
    Bye {
        reason: String,
        reconnect: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantView {
    pub participant_id: String,
    pub user_id: String,
    pub name: String,
    pub avatar: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackView {
    /// The m-line of the receiving connection that carries the track.
    pub mid: String,
    pub participant_id: String,
    pub source: TrackSource,
    pub muted: bool,
}

impl ServerMessage {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse_from_their_documented_json() {
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"offer","sdp":"v=0","sources":{"0":"camera","1":"microphone"}}"#).unwrap();
        let ClientMessage::Offer { sources, .. } = m else { panic!("not an offer") };
        assert_eq!(sources["0"], TrackSource::Camera);
        let m: ClientMessage = serde_json::from_str(r#"{"type":"mute","source":"screen_audio","muted":true}"#).unwrap();
        assert_eq!(m, ClientMessage::Mute { source: TrackSource::ScreenAudio, muted: true });
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"mute","source":"webcam","muted":true}"#).is_err());
    }

    #[test]
    fn server_messages_carry_their_type_tag() {
        let json = ServerMessage::Muted { source: TrackSource::Microphone, by_server: true }.to_json();
        assert_eq!(json, r#"{"type":"muted","source":"microphone","by_server":true}"#);
    }
}
