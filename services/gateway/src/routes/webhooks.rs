//! Webhook endpoints (docs/webhooks.md): each user's, for the events they host. The signing
//! secret is in the answers to creating and rotating only.
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::webhooks::v1 as pb;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    api_doc::Problem as ProblemDoc,
    extract::{ApiJson, AuthUser},
    input_schemas::WebhookDescription,
    problem::Problem,
    state::AppState,
    wire::rfc3339,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(one, update, remove))
        .routes(routes!(rotate))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

/// An event type filter: "*" (everything), a family as "family.*" (event.*, stage.*, chat.*,
/// recording.*, broadcast.*), or one type such as "event.live", "stage.banned", "chat.ban",
/// "recording.ready", "broadcast.failed". event.* types are scheduled, updated, live, ended,
/// cancelled; the others take the bus message's kind (docs/webhooks.md).
#[derive(ToSchema)]
#[schema(
    as = WebhookEventTypeFilter,
    value_type = String,
    pattern = r"^(\*|event\.(\*|scheduled|updated|live|ended|cancelled)|(stage|chat|recording|broadcast)\.(\*|[a-z_]{1,40}))$"
)]
#[allow(dead_code)]
struct EventTypeFilter(String);

/// Why an endpoint is disabled (written by hand: the derive cannot name the empty string).
struct DisabledReason;

impl utoipa::PartialSchema for DisabledReason {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "Empty while enabled; `by_owner` (PATCH enabled false) or `failing` (no successful delivery for \
                 WEBHOOK_DISABLE_AFTER_S, 5 days by default).",
            ))
            .enum_values(Some(["", "by_owner", "failing"]))
            .into()
    }
}

impl ToSchema for DisabledReason {
    fn name() -> std::borrow::Cow<'static, str> {
        "WebhookDisabledReason".into()
    }
}

/// A webhook endpoint of the signed-in user (docs/webhooks.md). The signing secret is only in
/// the answers to creating it and rotating it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookEndpoint)]
pub struct Endpoint {
    #[schema(format = Uuid)]
    id: String,
    #[schema(format = Uri)]
    url: String,
    description: String,
    /// The filters, sorted and without duplicates; empty: every type.
    #[schema(value_type = Vec<EventTypeFilter>)]
    event_types: Vec<String>,
    enabled: bool,
    #[schema(value_type = DisabledReason)]
    disabled_reason: String,
    #[schema(format = DateTime)]
    created_at: Option<String>,
    /// The first failed attempt since the last success.
    #[schema(format = DateTime)]
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

/// An endpoint with its signing secret, shown this once.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookEndpointWithSecret)]
struct WithSecret {
    #[serde(flatten)]
    endpoint: Endpoint,
    /// `whsec_` and base64: verify deliveries with it (docs/webhooks.md).
    #[schema(pattern = "^whsec_[A-Za-z0-9+/=]+$")]
    secret: String,
}

fn with_secret(c: pb::CreatedEndpoint) -> Result<WithSecret, Problem> {
    let e = c.endpoint.ok_or_else(|| Problem(stagecast_kit::ApiError::internal("webhooks answered without the endpoint")))?;
    Ok(WithSecret { endpoint: endpoint(e), secret: c.secret })
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookEndpointList)]
struct EndpointList {
    /// Newest first.
    webhooks: Vec<Endpoint>,
}

/// One attempt to deliver.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookAttempt)]
struct Attempt {
    #[schema(format = DateTime)]
    at: Option<String>,
    /// The receiver's HTTP status; 0 when no HTTP answer came (timeout, refused connection, an
    /// address not allowed).
    status_code: u32,
    /// Empty on success; otherwise what went wrong, or the first 300 characters of the answer.
    error: String,
    duration_ms: u32,
}

/// A delivery's state.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
#[schema(as = WebhookDeliveryState)]
enum DeliveryState {
    /// Waiting for its first attempt or a retry (or for older deliveries of the endpoint).
    #[serde(rename = "pending")]
    Pending,
    /// A 2xx answer.
    #[serde(rename = "succeeded")]
    Succeeded,
    /// The retries are exhausted.
    #[serde(rename = "failed")]
    Failed,
}

/// One event to one endpoint, with its attempts.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookDelivery)]
struct Delivery {
    #[schema(format = Uuid)]
    id: String,
    /// The webhook-id header: the same on every attempt and redelivery.
    #[schema(pattern = "^msg_[0-9a-f]{32}$")]
    message_id: String,
    event_type: String,
    #[schema(value_type = DeliveryState)]
    state: String,
    attempts: u32,
    #[schema(format = DateTime)]
    created_at: Option<String>,
    /// While pending, when it is tried next.
    #[schema(format = DateTime)]
    next_attempt_at: Option<String>,
    /// Each attempt, oldest first.
    log: Vec<Attempt>,
    /// The JSON body sent: `{type, timestamp, data}`.
    #[schema(value_type = Object)]
    payload: serde_json::Value,
}

fn delivery(d: pb::Delivery) -> Delivery {
    Delivery {
        created_at: rfc3339(d.created_at.as_ref()),
        next_attempt_at: rfc3339(d.next_attempt_at.as_ref()),
        log: d
            .log
            .into_iter()
            .map(|a| Attempt {
                at: rfc3339(a.at.as_ref()),
                status_code: a.status_code,
                error: a.error,
                duration_ms: a.duration_ms,
            })
            .collect(),
        payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
        id: d.id,
        message_id: d.message_id,
        event_type: d.event_type,
        state: d.state,
        attempts: d.attempts,
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookDeliveryList)]
struct DeliveryList {
    deliveries: Vec<Delivery>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateWebhook)]
struct CreateBody {
    /// An absolute http:// or https:// URL, without credentials; not a loopback, private or
    /// link-local address (unless the service allows them: WEBHOOK_ALLOW_PRIVATE). Deliveries are
    /// POSTed here; redirects are not followed.
    #[schema(format = Uri, max_length = 2048)]
    url: String,
    #[serde(default)]
    #[schema(value_type = WebhookDescription)]
    description: String,
    /// Which event types to send; left out or empty: all.
    #[serde(default)]
    #[schema(value_type = Vec<EventTypeFilter>, max_items = 50)]
    event_types: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateWebhook)]
struct UpdateBody {
    #[schema(format = Uri, max_length = 2048)]
    url: Option<String>,
    #[schema(value_type = Option<WebhookDescription>)]
    description: Option<String>,
    /// Replaces the list; [] means all.
    #[schema(value_type = Option<Vec<EventTypeFilter>>, max_items = 50)]
    event_types: Option<Vec<String>>,
    /// false: disabled by you (by_owner); true: enabled again, its failure clock restarted.
    enabled: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeliveriesQuery {
    /// How many, newest first: 1–200, default 50.
    #[serde(default)]
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// Register a webhook endpoint
///
/// The events you host, signed (Standard Webhooks), POSTed to your URL. The secret is in this
/// answer only. At most 20 endpoints per person.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "Webhooks",
    operation_id = "createWebhook",
    request_body = CreateBody,
    responses(
        (status = 201, description = "The endpoint and its signing secret (shown this once)", body = WithSecret),
        (status = 409, description = "`webhook_limit`: 20 endpoints already", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`url_required`, `url_too_long`, `invalid_url`, `url_not_allowed`, `unknown_event_type`, `too_many_event_types`, `description_too_long`, `invalid_description`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
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

/// Your webhook endpoints
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "Webhooks",
    operation_id = "listWebhooks",
    responses((status = 200, description = "Newest first", body = EndpointList)),
    security(("bearer" = []))
)]
async fn list(State(st): State<AppState>, who: AuthUser) -> Result<Json<EndpointList>, Problem> {
    let r = st.webhooks.clone().list_endpoints(pb::ListEndpointsRequest { actor_id: who.user_id }).await?.into_inner();
    Ok(Json(EndpointList { webhooks: r.endpoints.into_iter().map(endpoint).collect() }))
}

fn endpoint_ref(who: AuthUser, id: String) -> pb::EndpointRef {
    pb::EndpointRef { actor_id: who.user_id, endpoint_id: id }
}

/// One of your webhook endpoints
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    tag = "Webhooks",
    operation_id = "getWebhook",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint", body = Endpoint), (status = 404, description = "`webhook_not_found`", body = ProblemDoc, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn one(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<Endpoint>, Problem> {
    Ok(Json(endpoint(st.webhooks.clone().get_endpoint(endpoint_ref(who, id)).await?.into_inner())))
}

/// Change a webhook endpoint
///
/// Its URL, description, event types, or whether it is enabled.
#[utoipa::path(
    patch,
    path = "/webhooks/{id}",
    tag = "Webhooks",
    operation_id = "updateWebhook",
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body = UpdateBody,
    responses(
        (status = 200, description = "The endpoint as changed", body = Endpoint),
        (status = 404, description = "`webhook_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`url_required`, `url_too_long`, `invalid_url`, `url_not_allowed`, `unknown_event_type`, `too_many_event_types`, `description_too_long`, `invalid_description`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
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

/// Delete a webhook endpoint
///
/// With its deliveries and their log.
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "Webhooks",
    operation_id = "deleteWebhook",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "`webhook_not_found`", body = ProblemDoc, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn remove(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    st.webhooks.clone().delete_endpoint(endpoint_ref(who, id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate an endpoint's signing secret
///
/// A new secret, shown this once; the previous one keeps signing beside it (a second
/// signature) for 24 hours, so receivers can switch without missing a delivery.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/rotate-secret",
    tag = "Webhooks",
    operation_id = "rotateWebhookSecret",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint and its new secret", body = WithSecret), (status = 404, description = "`webhook_not_found`", body = ProblemDoc, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn rotate(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<WithSecret>, Problem> {
    Ok(Json(with_secret(st.webhooks.clone().rotate_secret(endpoint_ref(who, id)).await?.into_inner())?))
}

/// An endpoint's delivery log
///
/// Its newest deliveries first, each with its attempts and the body sent.
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "Webhooks",
    operation_id = "listWebhookDeliveries",
    params(("id" = String, Path, description = "The endpoint's id"), DeliveriesQuery),
    responses(
        (status = 200, description = "The deliveries", body = DeliveryList),
        (status = 404, description = "`webhook_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_limit`, `invalid_query`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn deliveries(
    State(st): State<AppState>,
    who: AuthUser,
    Path(id): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<DeliveriesQuery>,
) -> Result<Json<DeliveryList>, Problem> {
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

/// Send a delivery again
///
/// It becomes pending and due now, whatever its state, with a fresh run of the retry schedule;
/// the same body and webhook-id.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/deliveries/{did}/redeliver",
    tag = "Webhooks",
    operation_id = "redeliverWebhook",
    params(("id" = String, Path, description = "The endpoint's id"), ("did" = String, Path, description = "The delivery's id")),
    responses(
        (status = 200, description = "The delivery, pending", body = Delivery),
        (status = 404, description = "`webhook_not_found`, `delivery_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
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
