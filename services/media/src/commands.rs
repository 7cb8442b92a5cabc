//! Control over NATS: the same requests as the gRPC API (`MuteTrackRequest`,
//! `UpdateGrantsRequest`, `RemoveParticipantRequest`, `StartTapRequest`, `StopTapRequest`), each in
//! the standard envelope on `stagecast.media.v1.command.{what}`, for services that react to bus
//! events (a stage change in the events service, a recording starting) without a gRPC client.
//!
//! Every media replica subscribes without a queue group: a room lives on one replica, and the
//! others find no one to act on. A request with a reply subject gets the response envelope
//! back, or an error with the `Stagecast-Code` header.
use async_nats::HeaderMap;
use futures::StreamExt;
use prost::Name;
use stagecast_bus::Envelope;
use stagecast_kit::ApiError;
use stagecast_proto::media::v1::{self as pb, media_service_server::MediaService};
use tonic::{Request, Status};

use crate::grpc::MediaApi;

pub const SUBJECT: &str = "stagecast.media.v1.command.>";
pub const HEADER_CODE: &str = "Stagecast-Code";

/// Runs one command; the response, enveloped.
pub async fn handle(api: &MediaApi, payload: &[u8]) -> Result<Envelope, Status> {
    let bad = |m: String| Status::from(ApiError::invalid("bad_command", m));
    let env = Envelope::decode(payload).map_err(|e| bad(format!("not a stagecast envelope: {e}")))?;
    let open = |e: stagecast_bus::envelope::EnvelopeError| bad(e.to_string());
    let t = env.type_name.as_str();
    if t == pb::MuteTrackRequest::full_name() {
        let r = api.mute_track(Request::new(env.open().map_err(open)?)).await?;
        Ok(Envelope::wrap(&r.into_inner()))
    } else if t == pb::UpdateGrantsRequest::full_name() {
        let r = api.update_grants(Request::new(env.open().map_err(open)?)).await?;
        Ok(Envelope::wrap(&r.into_inner()))
    } else if t == pb::RemoveParticipantRequest::full_name() {
        let r = api.remove_participant(Request::new(env.open().map_err(open)?)).await?;
        Ok(Envelope::wrap(&r.into_inner()))
    } else if t == pb::StartTapRequest::full_name() {
        let r = api.start_tap(Request::new(env.open().map_err(open)?)).await?;
        Ok(Envelope::wrap(&r.into_inner()))
    } else if t == pb::StopTapRequest::full_name() {
        let r = api.stop_tap(Request::new(env.open().map_err(open)?)).await?;
        Ok(Envelope::wrap(&r.into_inner()))
    } else {
        Err(bad(format!("{t} is not a media command")))
    }
}

/// Serves commands until the subscription ends.
pub async fn follow(nats: async_nats::Client, api: MediaApi) {
    follow_subject(nats, api, SUBJECT.to_owned()).await
}

/// [`follow`] on another subject (tests sharing one NATS server keep apart this way).
pub async fn follow_subject(nats: async_nats::Client, api: MediaApi, subject: String) {
    let mut sub = match nats.subscribe(subject).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot subscribe to media commands");
            return;
        }
    };
    while let Some(msg) = sub.next().await {
        let result = handle(&api, &msg.payload).await;
        if let Err(s) = &result {
            tracing::warn!(subject = %msg.subject, error = %s.message(), "media command refused");
        }
        let Some(reply) = msg.reply else { continue };
        let sent = match result {
            Ok(env) => nats.publish(reply, env.encode().into()).await,
            Err(s) => {
                let e = ApiError::from_status(&s);
                let mut headers = HeaderMap::new();
                headers.insert(HEADER_CODE, e.code.as_ref());
                nats.publish_with_headers(reply, headers, e.message.into_bytes().into()).await
            }
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cannot answer a media command");
        }
    }
}
