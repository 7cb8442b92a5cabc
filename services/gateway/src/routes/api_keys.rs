//! API keys for developers' backends (docs/api.md, "API keys"): created and revoked by a
//! signed-in person, never by another key. The secret is in the creation answer only.
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::auth::v1 as pb;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    api_doc::Problem as ProblemDoc,
    extract::{ApiJson, AuthUser},
    input_schemas::ApiKeyName,
    problem::Problem,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(revoke))
}

/// What an API key may do (docs/api.md, "API keys"); a write scope includes its read scope.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names `stagecast_authn::Scope` parses
#[schema(as = ApiKeyScope)]
pub enum Scope {
    #[serde(rename = "profile:read")]
    ProfileRead,
    #[serde(rename = "profile:write")]
    ProfileWrite,
    #[serde(rename = "events:read")]
    EventsRead,
    #[serde(rename = "events:write")]
    EventsWrite,
    #[serde(rename = "chat:read")]
    ChatRead,
    #[serde(rename = "chat:write")]
    ChatWrite,
    #[serde(rename = "chat:moderate")]
    ChatModerate,
    #[serde(rename = "tokens:mint")]
    TokensMint,
    #[serde(rename = "recordings:read")]
    RecordingsRead,
    #[serde(rename = "recordings:write")]
    RecordingsWrite,
    #[serde(rename = "broadcasts:manage")]
    BroadcastsManage,
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
}

/// An API key as its owner sees it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    id: String,
    name: String,
    /// Sorted, without duplicates.
    #[schema(value_type = Vec<Scope>)]
    scopes: Vec<String>,
    /// The secret's first 12 characters (`sck_` and 8 more), to tell keys apart.
    prefix: String,
    #[schema(format = DateTime)]
    created_at: Option<String>,
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    /// Updated at most once a minute.
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
    #[schema(format = DateTime)]
    revoked_at: Option<String>,
}

/// A new key and its secret, which is shown this once (only a hash is stored).
#[derive(Serialize, ToSchema)]
struct CreatedApiKey {
    #[serde(flatten)]
    key: ApiKey,
    /// `sck_` and 43 characters: send it as `Authorization: Bearer <secret>`.
    #[schema(pattern = "^sck_[A-Za-z0-9_-]{43}$")]
    secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct ApiKeyList {
    /// Newest first, revoked and expired ones included.
    api_keys: Vec<ApiKey>,
}

fn time(unix: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(unix, 0).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn api_key(k: pb::ApiKey) -> ApiKey {
    ApiKey {
        created_at: time(k.created_at_unix),
        expires_at: k.expires_at_unix.and_then(time),
        last_used_at: k.last_used_at_unix.and_then(time),
        revoked_at: k.revoked_at_unix.and_then(time),
        id: k.id,
        name: k.name,
        scopes: k.scopes,
        prefix: k.prefix,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateApiKey)]
struct CreateBody {
    #[schema(value_type = ApiKeyName)]
    name: String,
    /// At least one.
    #[schema(value_type = Vec<Scope>, min_items = 1)]
    scopes: Vec<String>,
    /// When the key stops working: RFC 3339, after the time the request arrives (see the
    /// operation); none: until revoked.
    #[serde(default)]
    #[schema(format = DateTime)]
    expires_at: Option<String>,
}

/// Create an API key
///
/// For a developer's backend: the key acts as you, within its scopes. Its secret is in this
/// answer only. At most 25 usable keys per person. An `expires_at` must be after the time the
/// request arrives (422 `invalid_expires_at`): a rule relative to the time of the request, which
/// the schema cannot state.
#[utoipa::path(
    post,
    path = "/api-keys",
    tag = "API keys",
    operation_id = "createApiKey",
    request_body = CreateBody,
    responses(
        (status = 201, description = "The key and its secret (shown this once)", body = CreatedApiKey),
        (status = 409, description = "`api_key_limit`: 25 usable keys already; revoke one", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`unknown_scope`, `scopes_required`, `api_key_name_required`, `api_key_name_too_long`, `invalid_api_key_name`, `invalid_expires_at`, `invalid_body`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn create(
    State(st): State<AppState>,
    who: AuthUser,
    ApiJson(b): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<CreatedApiKey>), Problem> {
    let expires_at_unix = b
        .expires_at
        .as_deref()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.timestamp())
                .map_err(|_| Problem::new(ErrorKind::InvalidInput, "invalid_expires_at", "expires_at must be an RFC 3339 time"))
        })
        .transpose()?;
    let created = st
        .auth
        .clone()
        .create_api_key(pb::CreateApiKeyRequest { user_id: who.user_id, name: b.name, scopes: b.scopes, expires_at_unix })
        .await?
        .into_inner();
    let key = created.key.ok_or_else(|| Problem(stagecast_kit::ApiError::internal("auth answered without the key")))?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key: api_key(key), secret: created.secret })))
}

/// List your API keys
#[utoipa::path(
    get,
    path = "/api-keys",
    tag = "API keys",
    operation_id = "listApiKeys",
    responses((status = 200, description = "Your keys, newest first (never their secrets)", body = ApiKeyList)),
    security(("bearer" = []))
)]
async fn list(State(st): State<AppState>, who: AuthUser) -> Result<Json<ApiKeyList>, Problem> {
    let keys = st.auth.clone().list_api_keys(pb::ListApiKeysRequest { user_id: who.user_id }).await?.into_inner().keys;
    Ok(Json(ApiKeyList { api_keys: keys.into_iter().map(api_key).collect() }))
}

/// Revoke an API key
///
/// It stops working at once. Revoking it again changes nothing.
#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    tag = "API keys",
    operation_id = "revokeApiKey",
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 200, description = "The key, with `revoked_at`", body = ApiKey),
        (status = 404, description = "`api_key_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn revoke(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<ApiKey>, Problem> {
    let key = st.auth.clone().revoke_api_key(pb::RevokeApiKeyRequest { user_id: who.user_id, key_id: id }).await?.into_inner();
    Ok(Json(api_key(key)))
}
