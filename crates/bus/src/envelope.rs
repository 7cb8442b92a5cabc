//! The envelope every bus message travels in.
use chrono::{DateTime, Utc};
use prost::{Message, Name};
use uuid::Uuid;

use stagecast_proto::bus::v1 as pb;

pub const HEADER_MSG_ID: &str = "Nats-Msg-Id";
pub const HEADER_TYPE: &str = "Stagecast-Type";
pub const HEADER_TRACEPARENT: &str = "traceparent";

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope does not decode: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("envelope field {0} is missing or invalid")]
    Field(&'static str),
    #[error("expected a {expected} message, got {got}")]
    WrongType { expected: String, got: String },
}

/// A decoded envelope with its required fields present (the proto's optionals are checked here,
/// at the edge).
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: Uuid,
    pub type_name: String,
    pub occurred_at: DateTime<Utc>,
    pub payload: Vec<u8>,
}

impl Envelope {
    /// Wraps `msg` in a new envelope with a fresh time-ordered id.
    pub fn wrap<M: Message + Name>(msg: &M) -> Self {
        Self { id: Uuid::now_v7(), type_name: M::full_name(), occurred_at: Utc::now(), payload: msg.encode_to_vec() }
    }

    pub fn encode(&self) -> Vec<u8> {
        pb::Envelope {
            id: self.id.to_string(),
            r#type: self.type_name.clone(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: self.occurred_at.timestamp(),
                nanos: self.occurred_at.timestamp_subsec_nanos() as i32,
            }),
            payload: self.payload.clone(),
        }
        .encode_to_vec()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let raw = pb::Envelope::decode(bytes)?;
        let id = Uuid::parse_str(&raw.id).map_err(|_| EnvelopeError::Field("id"))?;
        if raw.r#type.is_empty() {
            return Err(EnvelopeError::Field("type"));
        }
        let ts = raw.occurred_at.ok_or(EnvelopeError::Field("occurred_at"))?;
        let occurred_at =
            DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32).ok_or(EnvelopeError::Field("occurred_at"))?;
        Ok(Self { id, type_name: raw.r#type, occurred_at, payload: raw.payload })
    }

    /// Decodes the payload as `M`, refusing an envelope of another type.
    pub fn open<M: Message + Name + Default>(&self) -> Result<M, EnvelopeError> {
        if self.type_name != M::full_name() {
            return Err(EnvelopeError::WrongType { expected: M::full_name(), got: self.type_name.clone() });
        }
        Ok(M::decode(self.payload.as_slice())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagecast_proto::auth::v1::UserSignedUp;

    #[test]
    fn envelope_round_trips_and_refuses_the_wrong_type() {
        let msg = UserSignedUp { user_id: "u1".into(), display_name: "Ada".into() };
        let env = Envelope::wrap(&msg);
        assert_eq!(env.type_name, "stagecast.auth.v1.UserSignedUp");
        let back = Envelope::decode(&env.encode()).unwrap();
        assert_eq!(back.id, env.id);
        assert_eq!(back.open::<UserSignedUp>().unwrap(), msg);
        assert!(matches!(back.open::<stagecast_proto::auth::v1::ProfileUpdated>(), Err(EnvelopeError::WrongType { .. })));
    }

    #[test]
    fn envelope_without_id_is_refused() {
        let raw = pb::Envelope { id: String::new(), r#type: "x".into(), occurred_at: None, payload: vec![] };
        assert!(matches!(Envelope::decode(&raw.encode_to_vec()), Err(EnvelopeError::Field("id"))));
    }
}
