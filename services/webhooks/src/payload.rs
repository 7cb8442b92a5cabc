//! Bus message → webhook event: its type (`event.live`, `stage.banned`, `recording.ready`, …)
//! and its JSON body, `{"type", "timestamp", "data"}` as Standard Webhooks suggests, where
//! `data` is the bus message itself in the protobuf JSON mapping (field names as in the
//! .proto files, documented in docs/nats.md). Converting through the descriptors keeps one
//! definition of every message: a new field reaches webhooks without code here.
use chrono::SecondsFormat;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::{Value, json};
use stagecast_bus::Envelope;
use uuid::Uuid;

/// The families of event types, and the subjects they come from.
pub const FAMILIES: [&str; 5] = ["event", "stage", "chat", "recording", "broadcast"];

/// The bus subjects the feed reads.
pub const SUBJECTS: [&str; 4] = [
    "stagecast.events.v1.event.*.*",
    "stagecast.chat.v1.room.*.moderation",
    "stagecast.recording.v1.event.*.recording",
    "stagecast.broadcast.v1.event.*.destination",
];

/// Event lifecycle types (the rest are `{family}.{kind}` with the bus message's own kind).
pub const EVENT_KINDS: [&str; 5] = ["scheduled", "updated", "live", "ended", "cancelled"];

/// A filter an owner may give: `*`, a family (`recording.*`) or one type (`event.live`,
/// `stage.banned`).
pub fn valid_filter(f: &str) -> bool {
    if f == "*" {
        return true;
    }
    let Some((family, kind)) = f.split_once('.') else { return false };
    let kind_ok =
        kind == "*" || (!kind.is_empty() && kind.len() <= 40 && kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    FAMILIES.contains(&family) && kind_ok && (family != "event" || kind == "*" || EVENT_KINDS.contains(&kind))
}

/// Whether an endpoint with `filters` wants `event_type` (no filters: everything).
pub fn wanted(filters: &[String], event_type: &str) -> bool {
    filters.is_empty()
        || filters.iter().any(|f| {
            f == "*" || f == event_type || f.strip_suffix(".*").is_some_and(|family| event_type.split('.').next() == Some(family))
        })
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub event_id: Uuid,
    pub event_type: String,
    /// The JSON body, fixed once: every attempt signs and sends the same bytes.
    pub body: String,
}

pub struct Decoder {
    pool: DescriptorPool,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    pub fn new() -> Self {
        let pool = DescriptorPool::decode(stagecast_proto::FILE_DESCRIPTOR_SET).expect("the compiled-in descriptors decode");
        Self { pool }
    }

    /// The webhook event a bus message makes, if it is one owners can subscribe to.
    pub fn decode(&self, subject: &str, env: &Envelope) -> Option<Outgoing> {
        let parts: Vec<&str> = subject.split('.').collect();
        let ["stagecast", service, "v1", _, id, what] = parts.as_slice() else { return None };
        let event_id = Uuid::parse_str(id).ok()?;
        let data = self.data(env)?;
        let kind = data.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned();
        let event_type = match (*service, *what) {
            ("events", "stage") if !kind.is_empty() => format!("stage.{kind}"),
            ("events", k) if EVENT_KINDS.contains(&k) => format!("event.{k}"),
            ("chat", "moderation") if !kind.is_empty() => format!("chat.{kind}"),
            // Segments stored every few seconds are progress, not an event a backend acts on.
            ("recording", "recording") if !kind.is_empty() && kind != "segments" => format!("recording.{kind}"),
            ("broadcast", "destination") if !kind.is_empty() => format!("broadcast.{kind}"),
            _ => return None,
        };
        let mut data = data;
        if let Some(obj) = data.as_object_mut() {
            obj.entry("event_id").or_insert_with(|| Value::String(event_id.to_string()));
        }
        let body = json!({
            "type": event_type,
            "timestamp": env.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": data,
        });
        Some(Outgoing { event_id, event_type, body: body.to_string() })
    }

    fn data(&self, env: &Envelope) -> Option<Value> {
        let desc = self.pool.get_message_by_name(&env.type_name)?;
        let msg = DynamicMessage::decode(desc, env.payload.as_slice()).ok()?;
        let options = SerializeOptions::new().use_proto_field_name(true).skip_default_fields(false);
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::new(&mut out);
        msg.serialize_with_options(&mut ser, &options).ok()?;
        serde_json::from_slice(&out).ok()
    }
}

#[cfg(test)]
mod tests {
    use stagecast_proto::events::v1 as events;

    use super::*;

    #[test]
    fn filters_take_a_type_a_family_or_everything() {
        for ok in ["*", "event.live", "event.*", "stage.banned", "recording.*", "broadcast.live"] {
            assert!(valid_filter(ok), "{ok}");
        }
        for bad in ["", "event", "event.started", "stage.", "media.joined", "stage.Banned", "stage.a b"] {
            assert!(!valid_filter(bad), "{bad}");
        }
        let f = vec!["recording.*".to_owned(), "event.live".to_owned()];
        assert!(wanted(&f, "recording.ready") && wanted(&f, "event.live"));
        assert!(!wanted(&f, "event.ended") && !wanted(&f, "stage.banned"));
        assert!(wanted(&[], "stage.banned"));
    }

    #[test]
    fn a_stage_change_becomes_a_typed_event_with_the_message_as_data() {
        let event_id = Uuid::now_v7();
        let msg = events::StageChanged {
            event_id: event_id.to_string(),
            kind: "banned".into(),
            actor_id: "host".into(),
            target_user_id: "u2".into(),
            ..Default::default()
        };
        let env = Envelope::wrap(&msg);
        let out = Decoder::new().decode(&format!("stagecast.events.v1.event.{event_id}.stage"), &env).unwrap();
        assert_eq!(out.event_type, "stage.banned");
        let body: Value = serde_json::from_str(&out.body).unwrap();
        assert_eq!(body["type"], "stage.banned");
        assert_eq!(body["data"]["target_user_id"], "u2");
        assert_eq!(body["data"]["event_id"], event_id.to_string());
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn lifecycle_subjects_map_to_event_types_and_others_are_skipped() {
        let id = Uuid::now_v7();
        let d = Decoder::new();
        let live = Envelope::wrap(&events::EventWentLive::default());
        assert_eq!(d.decode(&format!("stagecast.events.v1.event.{id}.live"), &live).unwrap().event_type, "event.live");
        assert!(d.decode(&format!("stagecast.events.v1.event.{id}.something"), &live).is_none());
        assert!(d.decode("stagecast.events.v1.event.not-a-uuid.live", &live).is_none());
        assert!(d.decode(&format!("stagecast.media.v1.room.{id}.joined"), &live).is_none());
    }
}
