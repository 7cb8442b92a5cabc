//! API keys for developers' backends (docs/api.md, "API keys"): created and revoked by a
//! signed-in person, never by another key. The secret is in the creation answer only.
use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, post},
};
use serde::{Deserialize, Serialize};
use stagecast_kit::ErrorKind;
use stagecast_proto::auth::v1 as pb;

use crate::{
    extract::{ApiJson, AuthUser},
    problem::Problem,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/api-keys", post(create).get(list)).route("/api-keys/{id}", delete(revoke))
}

#[derive(Debug, Serialize)]
pub struct ApiKey {
    id: String,
    name: String,
    scopes: Vec<String>,
    /// The secret's first characters, to tell keys apart.
    prefix: String,
    created_at: Option<String>,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

#[derive(Serialize)]
struct CreatedApiKey {
    #[serde(flatten)]
    key: ApiKey,
    /// Shown this once.
    secret: String,
}

#[derive(Debug, Serialize)]
struct ApiKeyList {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

async fn create(
    State(st): State<AppState>,
    who: AuthUser,
    ApiJson(b): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<CreatedApiKey>), Problem> {
    let expires_at_unix = b
        .expires_at
        .as_deref()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t).map(|t| t.timestamp()).map_err(|_| {
                Problem::new(ErrorKind::InvalidInput, "invalid_expires_at", "expires_at must be an RFC 3339 time")
            })
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

async fn list(State(st): State<AppState>, who: AuthUser) -> Result<Json<ApiKeyList>, Problem> {
    let keys = st.auth.clone().list_api_keys(pb::ListApiKeysRequest { user_id: who.user_id }).await?.into_inner().keys;
    Ok(Json(ApiKeyList { api_keys: keys.into_iter().map(api_key).collect() }))
}

async fn revoke(State(st): State<AppState>, who: AuthUser, Path(id): Path<String>) -> Result<Json<ApiKey>, Problem> {
    let key = st.auth.clone().revoke_api_key(pb::RevokeApiKeyRequest { user_id: who.user_id, key_id: id }).await?.into_inner();
    Ok(Json(api_key(key)))
}
