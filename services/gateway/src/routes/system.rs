//! Operational endpoints: liveness, readiness, metrics, the public keys and the API description.
use std::time::Duration;

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use serde_json::json;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{problem::Problem, state::AppState};

/// The generated document, serialised once.
static OPENAPI: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::api_doc::document().to_json().expect("the generated document serialises"));

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/.well-known/jwks.json", get(jwks))
}

/// What `/api/v1` serves of this module: the API description. The routes above stay outside
/// `/api/v1` and outside the document.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi))
}

/// Liveness: the process answers. Says nothing about dependencies, so Kubernetes does not
/// restart a healthy gateway because a backend is down.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn grpc_serving(channel: tonic::transport::Channel, service: &str) -> Result<(), String> {
    let mut client = HealthClient::new(channel);
    let check = client.check(HealthCheckRequest { service: service.into() });
    match tokio::time::timeout(Duration::from_secs(1), check).await {
        Ok(Ok(r)) if r.get_ref().status == ServingStatus::Serving as i32 => Ok(()),
        Ok(Ok(r)) => Err(format!("status {}", r.get_ref().status)),
        Ok(Err(s)) => Err(format!("{:?}", s.code())),
        Err(_) => Err("timeout".into()),
    }
}

/// Readiness: every backend this gateway needs answers its health check.
async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    let mut redis = st.redis.clone();
    let (auth, events, chat, redis) = tokio::join!(
        grpc_serving(st.auth_channel.clone(), "stagecast.auth.v1.AuthService"),
        grpc_serving(st.events_channel.clone(), "stagecast.events.v1.EventsService"),
        grpc_serving(st.chat_channel.clone(), "stagecast.chat.v1.ChatService"),
        async {
            match tokio::time::timeout(Duration::from_secs(1), redis::cmd("PING").query_async::<String>(&mut redis)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("timeout".to_owned()),
            }
        }
    );
    let show = |r: &Result<(), String>| match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.clone(),
    };
    let ready = auth.is_ok() && events.is_ok() && chat.is_ok() && redis.is_ok();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": { "auth": show(&auth), "events": show(&events), "chat": show(&chat), "redis": show(&redis) },
    });
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}

async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.metrics.render())
}

async fn jwks(State(st): State<AppState>) -> Result<impl IntoResponse, Problem> {
    let jwks = st.keys.jwks().await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=300")], Json(jwks)))
}

/// This document
///
/// The OpenAPI 3.1 description of `/api/v1`, generated from the gateway's code (public).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "System",
    operation_id = "getOpenApi",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object))
)]
async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI.as_str())
}
