//! Webhook endpoints (docs/webhooks.md): each user's, for the events they host. The signing
//! secret is in the answers to creating and rotating only.
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::webhooks::v1 as pb;

use crate::{
    extract::{ApiJson, AuthUser},
    problem::Problem,
    routes::rfc3339,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", post(create).get(list))
        .route("/webhooks/{id}", get(one).patch(update).delete(remove))
        .route("/webhooks/{id}/rotate-secret", post(rotate))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route("/webhooks/{id}/deliveries/{did}/redeliver", post(redeliver))
}

#[derive(Debug, Serialize)]
pub struct Endpoint {
    id: String,
    url: String,
    description: String,
    event_types: Vec<String>,
    enabled: bool,
    /// "" while enabled; "by_owner" or "failing".
    disabled_reason: String,
    created_at: Option<String>,
    failing_since: Option<String>,
}

fn endpoint(e: pb::Endpoint) -> Endpoint {
    Endpoint {
        created_at: rfc3339(e.created_at.as_ref()),
        failing_since: rfc3339(e.failing_since.as_ref()),
        id: e.id,
        url: e.url,
        description: e.description,
        event_types: e.event_types,
        enabled: e.enabled,
        disabled_reason: e.disabled_reason,
    }
}

#[derive(Serialize)]
struct WithSecret {
    #[serde(flatten)]
    endpoint: Endpoint,
    /// `whsec_…`: shown this once.
    secret: String,
}

fn with_secret(c: pb::CreatedEndpoint) -> Result<WithSecret, Problem> {
    let e = c.endpoint.ok_or_else(|| Problem(stagecast_kit::ApiError::internal("webhooks answered without the endpoint")))?;
    Ok(WithSecret { endpoint: endpoint(e), secret: c.secret })
}

#[derive(Debug, Serialize)]
struct EndpointList {
    webhooks: Vec<Endpoint>,
}

#[derive(Debug, Serialize)]
struct Attempt {
    at: Option<String>,
    /// 0 when no HTTP answer came.
    status_code: u32,
    error: String,
    duration_ms: u32,
}

#[derive(Debug, Serialize)]
struct Delivery {
    id: String,
    message_id: String,
    event_type: String,
    state: String,
    attempts: u32,
    created_at: Option<String>,
    next_attempt_at: Option<String>,
    log: Vec<Attempt>,
    payload: serde_json::Value,
}

fn delivery(d: pb::Delivery) -> Delivery {
    Delivery {
        created_at: rfc3339(d.created_at.as_ref()),
        next_attempt_at: rfc3339(d.next_attempt_at.as_ref()),
        log: d
            .log
            .into_iter()
            .map(|a| Attempt { at: rfc3339(a.at.as_ref()), status_code: a.status_code, error: a.error, duration_ms: a.duration_ms })
            .collect(),
        payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
        id: d.id,
        message_id: d.message_id,
        event_type: d.event_type,
        state: d.state,
        attempts: d.attempts,
    }
}

#[derive(Debug, Serialize)]
struct DeliveryList {
    deliveries: Vec<Delivery>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    event_types: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    url: Option<String>,
    description: Option<String>,
    event_types: Option<Vec<String>>,
    enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveriesQuery {
    #[serde(default)]
    limit: Option<u32>,
}

async fn create(
    State(st): State<AppState>,
    who: AuthUser,
    ApiJson(b): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<WithSecret>), Problem> {
    let c = st
        .webhooks
        .clone()
        .create_endpoint(pb::CreateEndpointRequest {
            actor_id: who.user_id,
            url: b.url,
            description: b.description,
            event_types: b.event_types,
        })
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(with_secret(c)?)))
}

async fn list(State(st): State<AppState>, who: AuthUser) -> Result<Json<EndpointList>, Problem> {
    let r = st.webhooks.clone().list_endpoints(pb::ListEndpointsRequest { actor_id: who.user_id }).await?.into_inner();
    Ok(Json(EndpointList { webhooks: r.endpoints.into_iter().map(endpoint).collect() }))
}

fn endpoint_ref(who: AuthUser, id: String) -> pb::EndpointRef {
    pb::EndpointRef { actor_id: who.user_id, endpoint_id: id }
}

async fn one(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Endpoint>, Problem> {
    Ok(Json(endpoint(st.webhooks.clone().get_endpoint(endpoint_ref(who, id)).await?.into_inner())))
}

async fn update(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UpdateBody>,
) -> Result<Json<Endpoint>, Problem> {
    let set_event_types = b.event_types.is_some();
    let e = st
        .webhooks
        .clone()
        .update_endpoint(pb::UpdateEndpointRequest {
            actor_id: who.user_id,
            endpoint_id: id,
            url: b.url,
            description: b.description,
            event_types: b.event_types.unwrap_or_default(),
            set_event_types,
            enabled: b.enabled,
        })
        .await?
        .into_inner();
    Ok(Json(endpoint(e)))
}

async fn remove(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    st.webhooks.clone().delete_endpoint(endpoint_ref(who, id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<WithSecret>, Problem> {
    Ok(Json(with_secret(st.webhooks.clone().rotate_secret(endpoint_ref(who, id)).await?.into_inner())?))
}

async fn deliveries(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    q: Result<Query<DeliveriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeliveryList>, Problem> {
    let Query(q) = q.map_err(|e| Problem::new(ErrorKind::InvalidInput, "invalid_query", e.body_text()))?;
    if q.limit.is_some_and(|l| !(1..=200).contains(&l)) {
        return Err(Problem::new(ErrorKind::InvalidInput, "invalid_limit", "limit must be between 1 and 200"));
    }
    let r = st
        .webhooks
        .clone()
        .list_deliveries(pb::ListDeliveriesRequest { actor_id: who.user_id, endpoint_id: id, limit: q.limit.unwrap_or(0) })
        .await?
        .into_inner();
    Ok(Json(DeliveryList { deliveries: r.deliveries.into_iter().map(delivery).collect() }))
}

async fn redeliver(
    State(st): State<AppState>,
    who: AuthUser,
    Path((id, did)): Path<(String, String)>,
) -> Result<Json<Delivery>, Problem> {
    let d = st
        .webhooks
        .clone()
        .redeliver(pb::DeliveryRef { actor_id: who.user_id, endpoint_id: id, delivery_id: did })
        .await?
        .into_inner();
    Ok(Json(delivery(d)))
}
