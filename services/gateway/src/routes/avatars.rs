//! Profile pictures: upload to S3, serve to everyone, remove.
//!
//! The upload is the raw image as the body (no multipart): its `Content-Type` names the type and
//! its first bytes must agree. The object is stored under a fresh uuid, so a URL never changes
//! content and is cached forever; replacing or removing an avatar deletes the old object.
use std::time::Duration;

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{DefaultBodyLimit, Path, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use stagecast_kit::ErrorKind;
use stagecast_proto::auth::v1 as pb;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::auth::{User, user};
use crate::{
    api_doc::Problem as ProblemDoc,
    avatar_store::{self, AvatarFile, AvatarStore, ImageKind, MAX_AVATAR_BYTES},
    extract::AuthUser,
    problem::Problem,
    ratelimit,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload, remove))
        // The one route whose body may exceed the API-wide 64 KiB. A router's layer wraps the
        // routes added before it only: the download route below keeps the API-wide limit.
        .layer(DefaultBodyLimit::max(MAX_AVATAR_BYTES))
        .routes(routes!(download))
}

// `format: binary` on these says the body is a file of the type, not text: generators (the
// contract test's schemathesis) then send a real image, whose first bytes the upload checks.

/// A PNG image.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary, content_media_type = "image/png")]
#[allow(dead_code)] // documents a raw (non-JSON) body
struct PngImage(Vec<u8>);

/// A JPEG image.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary, content_media_type = "image/jpeg")]
#[allow(dead_code)] // documents a raw (non-JSON) body
struct JpegImage(Vec<u8>);

/// A WebP image.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary, content_media_type = "image/webp")]
#[allow(dead_code)] // documents a raw (non-JSON) body
struct WebpImage(Vec<u8>);

fn storage_unavailable(e: impl std::fmt::Display) -> Problem {
    tracing::warn!(error = %e, "avatar storage unavailable");
    Problem::new(ErrorKind::Unavailable, "storage_unavailable", "image storage is unavailable; please retry shortly")
}

fn store(st: &AppState) -> Result<&AvatarStore, Problem> {
    st.avatars.as_deref().ok_or_else(|| storage_unavailable("S3_ACCESS_KEY / S3_SECRET_KEY not configured"))
}

fn caller_id(who: &AuthUser) -> Result<Uuid, Problem> {
    avatar_store::user_id(&who.user_id)
        .ok_or_else(|| Problem(stagecast_kit::ApiError::internal("access token subject is not a uuid")))
}

/// The image from the request, or why it is refused.
fn image(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<(ImageKind, Bytes), Problem> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // 415 and 413: the kit's problem table gives these codes their precise statuses.
    let kind = ImageKind::from_content_type(declared).ok_or_else(|| {
        Problem::new(
            ErrorKind::InvalidInput,
            "unsupported_image_type",
            "send the image as the body with Content-Type image/png, image/jpeg or image/webp",
        )
    })?;
    let bytes = body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(ErrorKind::InvalidInput, "image_too_large", "the image is larger than 2 MiB; send a smaller one")
        }
        other => Problem::new(ErrorKind::InvalidInput, "invalid_body", other.body_text()),
    })?;
    if bytes.is_empty() {
        return Err(Problem::new(ErrorKind::InvalidInput, "image_required", "the request body must be the image"));
    }
    if !kind.matches(&bytes) {
        return Err(Problem::new(
            ErrorKind::InvalidInput,
            "image_type_mismatch",
            format!("the body is not a {} image: its first bytes say otherwise", kind.extension().to_uppercase()),
        ));
    }
    Ok((kind, bytes))
}

/// Upload a profile photo (raw image body); the profile's avatar_url points at it
///
/// The body is the image itself, PNG, JPEG or WebP, at most 2 MiB; its first bytes must match
/// Content-Type (PNG signature, JPEG `FF D8 FF`, WebP `RIFF….WEBP`). Stored in S3 under a new
/// name, and `avatar_url` becomes `{GATEWAY_PUBLIC_URL}/api/v1/avatars/{user_id}/{uuid}.{png|jpg|webp}`;
/// the previous upload is deleted. At most AVATAR_UPLOAD_LIMIT_PER_HOUR uploads (default 10) an
/// hour per user. Refusals change nothing.
#[utoipa::path(
    put,
    path = "/me/avatar",
    tag = "Avatars",
    operation_id = "uploadAvatar",
    request_body(
        description = "The image itself (not multipart), at most 2 MiB",
        content(
            (inline(PngImage) = "image/png"),
            (inline(JpegImage) = "image/jpeg"),
            (inline(WebpImage) = "image/webp"),
        ),
    ),
    responses(
        (status = 200, description = "The updated profile, with the new `avatar_url`", body = User),
        (status = 413, description = "`image_too_large`: the image is over 2 MiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_image_type`: Content-Type is not image/png, image/jpeg or image/webp (or is missing)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`image_required` (an empty body), `image_type_mismatch` (the first bytes are not of the declared type), `invalid_body` (the body could not be read)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many uploads this hour (or an API key beyond its requests a minute); see Retry-After", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn upload(
    State(st): State<AppState>,
    who: AuthUser,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<User>, Problem> {
    let (kind, bytes) = image(&headers, body)?;
    upload_checked(st, who, kind, bytes).await
}

async fn upload_checked(st: AppState, who: AuthUser, kind: ImageKind, bytes: Bytes) -> Result<Json<User>, Problem> {
    let owner = caller_id(&who)?;
    let mut redis = st.redis.clone();
    let limit = st.config.avatar_upload_limit_per_hour;
    ratelimit::check(&mut redis, &format!("avatar:user:{owner}"), limit, Duration::from_secs(3600)).await?;
    let bucket = store(&st)?.ready().await.map_err(storage_unavailable)?;

    let previous = st.auth.clone().get_profile(pb::GetProfileRequest { user_id: who.user_id.clone() }).await?.into_inner();
    let file = AvatarFile::new(kind);
    let key = avatar_store::object_key(owner, &file);
    bucket.put(&key, bytes, kind.content_type()).await.map_err(storage_unavailable)?;

    let base = st.config.public_url.as_deref().unwrap_or("");
    let avatar_url = format!("{base}{}{owner}/{}", avatar_store::ROUTE_PREFIX, file.name());
    let updated = st
        .auth
        .clone()
        .update_profile(pb::UpdateProfileRequest { user_id: who.user_id, display_name: None, avatar_url: Some(avatar_url) })
        .await;
    let updated = match updated {
        Ok(p) => p.into_inner(),
        Err(status) => {
            // The profile did not change: the new object would be an orphan.
            if let Err(e) = bucket.delete(&key).await {
                tracing::warn!(error = %e, key, "cannot delete the unused avatar object");
            }
            return Err(status.into());
        }
    };
    delete_replaced(bucket, &previous.avatar_url, owner, Some(file)).await;
    Ok(Json(user(updated)))
}

/// Remove the profile photo (clears avatar_url and deletes an uploaded image)
///
/// Also clears an `avatar_url` set with `PATCH /me`. Removing when there is none changes nothing.
#[utoipa::path(
    delete,
    path = "/me/avatar",
    tag = "Avatars",
    operation_id = "removeAvatar",
    responses((status = 200, description = "The updated profile, with `avatar_url: null`", body = User)),
    security(("bearer" = []))
)]
async fn remove(State(st): State<AppState>, who: AuthUser) -> Result<Json<User>, Problem> {
    let owner = caller_id(&who)?;
    let previous = st.auth.clone().get_profile(pb::GetProfileRequest { user_id: who.user_id.clone() }).await?.into_inner();
    let updated = st
        .auth
        .clone()
        .update_profile(pb::UpdateProfileRequest { user_id: who.user_id, display_name: None, avatar_url: Some(String::new()) })
        .await?
        .into_inner();
    // The profile no longer points at the image; a store outage only leaves an unreachable object.
    if let Some(store) = st.avatars.as_deref() {
        delete_replaced(&store.bucket, &previous.avatar_url, owner, None).await;
    }
    Ok(Json(user(updated)))
}

/// Deletes the object a previous `avatar_url` pointed at, if it was an upload of this user's (and
/// not the one just stored). Best effort: failures are logged.
async fn delete_replaced(bucket: &stagecast_storage::Bucket, previous_url: &str, owner: Uuid, current: Option<AvatarFile>) {
    let Some(old) = avatar_store::owned_avatar(previous_url, owner).filter(|old| Some(*old) != current) else {
        return;
    };
    let key = avatar_store::object_key(owner, &old);
    if let Err(e) = bucket.delete(&key).await {
        tracing::warn!(error = %e, key, "cannot delete the replaced avatar object");
    }
}

/// A profile photo (public)
///
/// Served with its image type, `Cache-Control: public, max-age=31536000, immutable` (a name never
/// changes content) and `X-Content-Type-Options: nosniff`. Only `{uuid}.{png|jpg|webp}` names under
/// a user uuid (both lower-case, hyphenated) exist; anything else is 404 `avatar_not_found`.
#[utoipa::path(
    get,
    path = "/avatars/{user_id}/{file}",
    tag = "Avatars",
    operation_id = "getAvatar",
    params(
        ("user_id" = String, Path, format = "uuid", pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "The owner's id"),
        ("file" = String, Path, pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.(png|jpg|webp)$", description = "The image's name, as in `avatar_url`"),
    ),
    responses(
        (
            status = 200,
            description = "The image",
            headers(
                ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"),
                ("X-Content-Type-Options" = String, description = "`nosniff`"),
            ),
            content(
                (inline(PngImage) = "image/png"),
                (inline(JpegImage) = "image/jpeg"),
                (inline(WebpImage) = "image/webp"),
            ),
        ),
        (status = 404, description = "`avatar_not_found`", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
async fn download(State(st): State<AppState>, Path((user_id, file)): Path<(String, String)>) -> Result<Response, Problem> {
    let not_found = || Problem::new(ErrorKind::NotFound, "avatar_not_found", "there is no such avatar");
    let (Some(owner), Some(file)) = (avatar_store::user_id(&user_id), AvatarFile::parse(&file)) else {
        return Err(not_found());
    };
    let store = store(&st)?;
    let object = match store.bucket.get(&avatar_store::object_key(owner, &file)).await {
        Ok(Some(object)) => object,
        // Before the first upload there is no bucket, and so no avatar either.
        Ok(None) | Err(stagecast_storage::Error::Refused { status: 404, .. }) => return Err(not_found()),
        Err(e) => return Err(storage_unavailable(e)),
    };
    let mut resp = Response::new(Body::from_stream(object.body));
    let headers = resp.headers_mut();
    // The type we validated at upload, from the name: not whatever the store says.
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.kind.content_type()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(len) = object.content_length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    Ok(resp)
}
