//! Signalling over HTTP: joining as a participant (JSON offer/answer, then the `signal` data
//! channel), WHIP (RFC 9725) for publishers such as OBS and WHEP for simple viewers.
//! Every endpoint takes a media token as bearer; errors are problem JSON.
use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use serde::{Deserialize, Serialize};
use stagecast_authn::TrackSource;
use stagecast_kit::{ApiError, ErrorKind, keys::KeyStore, problem::Problem};
use tower_http::cors::{Any, CorsLayer};

use crate::{
    rooms::Rooms,
    sdp::MAX_OFFER_BYTES,
    sfu::{ConnectionKind, JoinRequest, PeerId},
    tokens::verify_bearer,
};

#[derive(Clone)]
pub struct HttpState {
    pub rooms: Arc<Rooms>,
    pub keys: Arc<KeyStore>,
    pub metrics: Arc<crate::observe::Metrics>,
    /// `/metrics` is on the public signalling port: it asks for the control secret too.
    pub control: crate::grpc::ControlAuth,
}

pub fn router(state: HttpState) -> Router {
    // Browsers call us from the web client's origin; credentials are bearer tokens, never
    // cookies, so any origin may call.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::LOCATION]);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/rtc/v1/join", post(join))
        .route("/rtc/v1/whip", post(whip))
        .route("/rtc/v1/whip/{id}", delete(whip_delete))
        .route("/rtc/v1/whep", post(whep))
        .route("/rtc/v1/whep/{id}", delete(whep_delete))
        .fallback(stagecast_kit::problem::route_not_found)
        .layer(DefaultBodyLimit::max(MAX_OFFER_BYTES))
        .layer(cors)
        .with_state(state)
}

async fn metrics(State(s): State<HttpState>, headers: HeaderMap) -> Result<Response, Problem> {
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    s.control.check(given).map_err(|why| ApiError::unauthenticated("control_secret_required", why))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinBody {
    sdp: String,
    #[serde(default)]
    sources: BTreeMap<String, TrackSource>,
}

#[derive(Serialize)]
struct JoinResponse {
    participant_id: String,
    sdp: String,
}

async fn join(State(s): State<HttpState>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let claims = verify_bearer(&s.keys, &headers).await?;
    let body: JoinBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorKind::InvalidInput,
            "malformed_json",
            format!("expected {{\"sdp\": \"...\", \"sources\": {{mid: source}}}}: {e}"),
        )
    })?;
    let joined =
        s.rooms.join(JoinRequest { claims, offer: body.sdp, sources: body.sources, kind: ConnectionKind::Participant }).await?;
    let resp = JoinResponse { participant_id: joined.peer.to_string(), sdp: joined.answer };
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

fn sdp_body(headers: &HeaderMap, body: &Bytes) -> Result<String, ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/sdp") {
        return Err(ApiError::new(
            ErrorKind::InvalidInput,
            "unsupported_media_type",
            "send the offer as Content-Type: application/sdp",
        ));
    }
    String::from_utf8(body.to_vec()).map_err(|_| ApiError::invalid("bad_sdp", "the offer is not UTF-8 text"))
}

async fn whip(State(s): State<HttpState>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let claims = verify_bearer(&s.keys, &headers).await?;
    let offer = sdp_body(&headers, &body)?;
    let joined = s.rooms.join(JoinRequest { claims, offer, sources: BTreeMap::new(), kind: ConnectionKind::Whip }).await?;
    Ok(sdp_created("/rtc/v1/whip", joined.peer, joined.answer))
}

async fn whep(State(s): State<HttpState>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let claims = verify_bearer(&s.keys, &headers).await?;
    let offer = sdp_body(&headers, &body)?;
    let joined = s.rooms.join(JoinRequest { claims, offer, sources: BTreeMap::new(), kind: ConnectionKind::Whep }).await?;
    Ok(sdp_created("/rtc/v1/whep", joined.peer, joined.answer))
}

fn sdp_created(base: &str, peer: PeerId, answer: String) -> Response {
    let mut resp = (StatusCode::CREATED, answer).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/sdp"));
    if let Ok(loc) = HeaderValue::from_str(&format!("{base}/{peer}")) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

async fn delete_resource(s: HttpState, headers: HeaderMap, id: String, kind: ConnectionKind) -> Result<StatusCode, Problem> {
    let claims = verify_bearer(&s.keys, &headers).await?;
    let peer = PeerId::parse(&id).ok_or_else(|| ApiError::not_found("session_not_found", "no such session"))?;
    s.rooms.delete_resource(peer, kind, &claims.sub).await?;
    Ok(StatusCode::OK)
}

async fn whip_delete(State(s): State<HttpState>, headers: HeaderMap, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    delete_resource(s, headers, id, ConnectionKind::Whip).await
}

async fn whep_delete(State(s): State<HttpState>, headers: HeaderMap, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    delete_resource(s, headers, id, ConnectionKind::Whep).await
}
