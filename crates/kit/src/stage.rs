//! Who is on air at an event, as an egress job needs it: the recording service (a recording) and
//! the broadcast service (a restream without a recording) both keep a composite job up to date
//! with it.
use chrono::{DateTime, Utc};
use stagecast_proto::{
    auth::v1::{GetProfileRequest, auth_service_client::AuthServiceClient},
    egress::v1::OnAir,
    events::v1::{
        GetEventRequest, GetStageRequest, events_service_client::EventsServiceClient, stage_service_client::StageServiceClient,
    },
};
use stagecast_telemetry::grpc::PropagateTrace;
use tonic::{service::interceptor::InterceptedService, transport::Channel};
use uuid::Uuid;

use crate::ApiError;

pub type Grpc = InterceptedService<Channel, PropagateTrace>;

/// An event as the services that record and restream it need it.
#[derive(Debug, Clone)]
pub struct EventInfo {
    pub title: String,
    pub status: i32,
    pub host_id: Uuid,
    pub cohost_ids: Vec<Uuid>,
    pub went_live_at: Option<DateTime<Utc>>,
}

impl EventInfo {
    pub async fn fetch(events: &EventsServiceClient<Grpc>, event_id: Uuid) -> Result<Self, ApiError> {
        let e = events
            .clone()
            .get_event(GetEventRequest { id: event_id.to_string() })
            .await
            .map_err(|s| ApiError::from_status(&s))?
            .into_inner();
        Ok(Self {
            title: e.title,
            status: e.status,
            host_id: Uuid::parse_str(&e.host_id).map_err(ApiError::internal)?,
            cohost_ids: e.cohost_ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect(),
            went_live_at: e.went_live_at.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)),
        })
    }

    /// Host or co-host; `doing` finishes the refusal ("record this event").
    pub fn staff(&self, actor: Uuid, doing: &str) -> Result<(), ApiError> {
        if actor == self.host_id || self.cohost_ids.contains(&actor) {
            Ok(())
        } else {
            Err(ApiError::forbidden("not_event_staff", format!("only the host and co-hosts can {doing}")))
        }
    }
}

/// The people on air, in stage order (host, co-hosts, speakers), with their display names.
/// The backstage is left out: it is never recorded nor restreamed.
pub async fn on_air(
    stage: &StageServiceClient<Grpc>,
    auth: &AuthServiceClient<Grpc>,
    event_id: &str,
    host_id: &str,
) -> Result<Vec<OnAir>, ApiError> {
    let stage = stage
        .clone()
        .get_stage(GetStageRequest { event_id: event_id.to_owned(), actor_id: host_id.to_owned() })
        .await
        .map_err(|s| ApiError::from_status(&s))?
        .into_inner();
    let rank = |r: &str| match r {
        "host" => 0,
        "cohost" => 1,
        "speaker" => 2,
        _ => 9,
    };
    let mut members: Vec<_> = stage.members.into_iter().filter(|m| rank(&m.role) < 9 && !m.backstage).collect();
    members.sort_by_key(|m| rank(&m.role));
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        let name = match auth.clone().get_profile(GetProfileRequest { user_id: m.user_id.clone() }).await {
            Ok(p) => p.into_inner().display_name,
            Err(_) => String::new(),
        };
        out.push(OnAir { user_id: m.user_id, name: if name.is_empty() { "Guest".into() } else { name } });
    }
    Ok(out)
}
