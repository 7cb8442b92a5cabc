//! Signalling over HTTP: joining as a participant (JSON offer/answer, then the `signal` data
//! channel), WHIP (RFC 9725) for publishers such as OBS and WHEP for simple viewers.
//! Every endpoint takes a media token as bearer; errors are problem JSON.
//!
//! The OpenAPI document of these endpoints is generated from the handlers below (utoipa), served
//! at `/rtc/v1/openapi.json` and checked in as `services/media/openapi.json`
//! (`cargo run -p stagecast-media --bin sfu-openapi`; a test fails while the copy differs).
use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, Serialize};
use stagecast_authn::TrackSource;
use stagecast_kit::{ApiError, ErrorKind, keys::KeyStore, problem::Problem};
use tower_http::cors::{Any, CorsLayer};
use utoipa::{
    OpenApi, ToSchema,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

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
    let (api, doc) = api().split_for_parts();
    let doc = Arc::new(finish(doc));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/rtc/v1/openapi.json", get(move || async move { Json(doc.as_ref().clone()) }))
        .merge(api)
        .fallback(stagecast_kit::problem::route_not_found)
        .layer(DefaultBodyLimit::max(MAX_OFFER_BYTES))
        .layer(cors)
        .with_state(state)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "stagecast SFU signalling",
        description = "The SFU's HTTP signalling, generated from its code: join a room as a participant (JSON offer and \
answer, then the `signal` data channel, docs/media.md), publish with WHIP (RFC 9725, e.g. OBS) and watch with WHEP. \
Every operation takes a media token (`POST /api/v1/events/{id}/media-token` on the gateway) as `Authorization: Bearer`; \
the token's grants decide what may be published. Errors are RFC 9457 problem documents with a stable `code`."
    ),
    components(schemas(ProblemDoc))
)]
struct ApiDoc;

use stagecast_kit::problem::ProblemSchema as ProblemDoc;

fn api() -> OpenApiRouter<HttpState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(join))
        .routes(routes!(whip))
        .routes(routes!(whip_delete))
        .routes(routes!(whep))
        .routes(routes!(whep_delete))
}

/// The security scheme every operation uses, and `servers` left to whoever serves it.
fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "media_token",
        SecurityScheme::Http(
            utoipa::openapi::security::HttpBuilder::from(Http::new(HttpAuthScheme::Bearer))
                .bearer_format("JWT")
                .description(Some(
                    "A media token for one event's room, from the gateway's `POST /api/v1/events/{id}/media-token` \
(5 minutes). Refusals: 401 `missing_token`, `invalid_token` (signed by an unknown key, for another audience, or \
tampered with), `token_expired` (ask for a new one).",
                ))
                .build(),
        ),
    );
    for item in doc.paths.paths.values_mut() {
        for op in [&mut item.post, &mut item.delete].into_iter().flatten() {
            op.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new("media_token", Vec::<String>::new())]);
        }
    }
    doc
}

/// The SFU's OpenAPI document (`services/media/openapi.json`).
pub fn document() -> utoipa::openapi::OpenApi {
    finish(api().split_for_parts().1)
}

async fn metrics(State(s): State<HttpState>, headers: HeaderMap) -> Result<Response, Problem> {
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    s.control.check(given).map_err(|why| ApiError::unauthenticated("control_secret_required", why))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render()).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct JoinBody {
    /// The SDP offer (at most 64 KiB of offer in a 64 KiB body).
    sdp: String,
    /// What each offered `m=` section carries, by its mid: `camera`, `microphone`, `screen` or
    /// `screen_audio`. A mid the token may not publish is refused (`track_not_allowed`).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Source>, example = json!({"0": "microphone", "1": "camera"}))]
    sources: BTreeMap<String, TrackSource>,
}

/// A kind of track (`stagecast_authn::TrackSource` on the wire).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documents the names TrackSource parses
enum Source {
    Camera,
    Microphone,
    Screen,
    ScreenAudio,
}

#[derive(Serialize, ToSchema)]
struct JoinResponse {
    /// This connection's id in the room (also the `from` of its `signal` messages).
    participant_id: String,
    /// The SDP answer.
    sdp: String,
}

const BODY_TOO_LARGE: &str = "The body is over 64 KiB (the limit of an offer).";

/// Join the event's room as a participant: the offer and its track sources in, the answer out;
/// renegotiation and room state then go over the `signal` data channel (docs/media.md).
#[utoipa::path(
    post,
    path = "/rtc/v1/join",
    tag = "signalling",
    operation_id = "join",
    request_body = JoinBody,
    responses(
        (status = 201, description = "Joined: the answer", body = JoinResponse),
        (status = 400, description = "`malformed_json`: the body is not `{sdp, sources}`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`track_not_allowed`: the offer publishes a source the token's grants do not allow; `not_allowed`: the token's grants do not admit this connection; `removed`: kicked or banned since the token was minted", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = BODY_TOO_LARGE),
        (status = 422, description = "`bad_sdp`: the offer cannot be read; `unsupported_codec`: no codec we forward (Opus, VP8, H.264)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "`media_unavailable`: the SFU is shutting down, join again; `unavailable`: the key set could not be fetched", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
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

/// Publish with WHIP (RFC 9725): an SDP offer in, the answer out, the session's URL in
/// `Location` (delete it to stop). The token must grant publishing.
#[utoipa::path(
    post,
    path = "/rtc/v1/whip",
    tag = "whip-whep",
    operation_id = "whipPublish",
    request_body(content = String, content_type = "application/sdp", description = "The SDP offer"),
    responses(
        (status = 201, description = "Publishing: the SDP answer", body = String, content_type = "application/sdp",
            headers(("Location" = String, description = "This session: `/rtc/v1/whip/{id}`"))),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`track_not_allowed`: the token may not publish what the offer sends; `not_allowed`, `removed`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = BODY_TOO_LARGE),
        (status = 415, description = "`unsupported_media_type`: send the offer as `Content-Type: application/sdp`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`bad_sdp` (also an offer that is not UTF-8), `unsupported_codec`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "`media_unavailable`, `unavailable`", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
async fn whip(State(s): State<HttpState>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let claims = verify_bearer(&s.keys, &headers).await?;
    let offer = sdp_body(&headers, &body)?;
    let joined = s.rooms.join(JoinRequest { claims, offer, sources: BTreeMap::new(), kind: ConnectionKind::Whip }).await?;
    Ok(sdp_created("/rtc/v1/whip", joined.peer, joined.answer))
}

/// Watch with WHEP: an SDP offer (receive-only) in, the answer out, the session's URL in
/// `Location` (delete it to stop). Any token of the room that may subscribe.
#[utoipa::path(
    post,
    path = "/rtc/v1/whep",
    tag = "whip-whep",
    operation_id = "whepWatch",
    request_body(content = String, content_type = "application/sdp", description = "The SDP offer"),
    responses(
        (status = 201, description = "Watching: the SDP answer", body = String, content_type = "application/sdp",
            headers(("Location" = String, description = "This session: `/rtc/v1/whep/{id}`"))),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_allowed`: the token may not subscribe; `removed`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = BODY_TOO_LARGE),
        (status = 415, description = "`unsupported_media_type`: send the offer as `Content-Type: application/sdp`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`bad_sdp`, `unsupported_codec`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "`media_unavailable`, `unavailable`", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
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

/// Stop publishing: ends the WHIP session (only its owner may).
#[utoipa::path(
    delete,
    path = "/rtc/v1/whip/{id}",
    tag = "whip-whep",
    operation_id = "whipStop",
    params(("id" = String, Path, description = "The session id from `Location`")),
    responses(
        (status = 200, description = "Ended"),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_your_resource`: the session is someone else's", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`session_not_found`: no such session (it may have ended)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "`media_unavailable`, `unavailable`", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
async fn whip_delete(State(s): State<HttpState>, headers: HeaderMap, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    delete_resource(s, headers, id, ConnectionKind::Whip).await
}

/// Stop watching: ends the WHEP session (only its owner may).
#[utoipa::path(
    delete,
    path = "/rtc/v1/whep/{id}",
    tag = "whip-whep",
    operation_id = "whepStop",
    params(("id" = String, Path, description = "The session id from `Location`")),
    responses(
        (status = 200, description = "Ended"),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "`not_your_resource`: the session is someone else's", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "`session_not_found`: no such session (it may have ended)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "`media_unavailable`, `unavailable`", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
async fn whep_delete(State(s): State<HttpState>, headers: HeaderMap, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    delete_resource(s, headers, id, ConnectionKind::Whep).await
}

#[cfg(test)]
mod tests {
    /// The checked-in document is what the code generates: regenerate it with
    /// `cargo run -q -p stagecast-media --bin sfu-openapi > services/media/openapi.json`.
    #[test]
    fn the_checked_in_openapi_document_is_the_generated_one() {
        let generated = super::document().to_pretty_json().unwrap();
        let checked_in = include_str!("../openapi.json");
        assert_eq!(checked_in.trim_end(), generated.trim_end(), "services/media/openapi.json is stale: regenerate it");
    }

    #[test]
    fn every_operation_takes_the_media_token_and_answers_problems_for_refusals() {
        let doc = serde_json::to_value(super::document()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), 5, "{:?}", paths.keys().collect::<Vec<_>>());
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                assert_eq!(op["security"][0]["media_token"], serde_json::json!([]), "{method} {path}");
                assert!(op["responses"]["401"]["content"]["application/problem+json"].is_object(), "{method} {path}");
            }
        }
    }
}
