//! Accounts and sessions: sign up, log in, refresh, log out, and the caller's profile.
use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use stagecast_proto::auth::v1 as pb;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    api_doc::Problem as ProblemDoc,
    extract::{ApiJson, AuthUser, ClientIp},
    input_schemas::{DisplayName, Email, ImageUrl},
    problem::Problem,
    ratelimit, revocation,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me, update_me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    #[schema(value_type = Email)]
    email: String,
    /// 8–128 characters, no other rules.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    #[schema(value_type = DisplayName)]
    display_name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    #[schema(example = "ada@example.com")]
    email: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RefreshToken)]
pub struct RefreshBody {
    /// The `refresh_token` of the last sign-up, log-in or refresh (each works once): 32 random
    /// bytes in base64url.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    /// Absent or null: unchanged. At least one of the two is given (not null).
    #[schema(value_type = Option<DisplayName>)]
    display_name: Option<String>,
    /// Blank removes it. Absent or null: unchanged.
    #[schema(value_type = Option<ImageUrl>)]
    avatar_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct User {
    #[schema(format = "uuid")]
    id: String,
    /// Lowercased. Empty for a guest (who joined through a guest link and has no account).
    email: String,
    display_name: String,
    /// An absolute http(s) URL (an upload is served under `/api/v1/avatars/`); null when none.
    #[schema(format = "uri", required = true)]
    avatar_url: Option<String>,
    // The auth service always sends it.
    #[schema(value_type = String, format = DateTime)]
    created_at: Option<String>,
    /// Only for a guest (joined through a guest link): the one event their session may act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = "uuid")]
    guest_event_id: Option<String>,
}

/// Always `Bearer`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the one value `Tokens::token_type` takes
pub enum TokenType {
    Bearer,
}

#[derive(Serialize, ToSchema)]
pub struct Tokens {
    /// A JWT (EdDSA) for `Authorization: Bearer`, valid for `expires_in` seconds.
    access_token: String,
    /// Opaque; works once, with `POST /auth/refresh` (or `POST /auth/logout`).
    refresh_token: String,
    #[schema(inline, value_type = TokenType)]
    token_type: &'static str,
    /// Seconds until the access token expires (AUTH_ACCESS_TOKEN_TTL_SECS, default 900).
    #[schema(example = 900)]
    expires_in: i64,
    #[schema(format = "uuid")]
    session_id: String,
    // The auth service always sends it.
    #[schema(value_type = User)]
    user: Option<User>,
}

pub(crate) fn user(p: pb::Profile) -> User {
    User {
        created_at: crate::wire::rfc3339(p.created_at.as_ref()),
        id: p.id,
        email: p.email,
        display_name: p.display_name,
        avatar_url: Some(p.avatar_url).filter(|s| !s.is_empty()),
        guest_event_id: Some(p.guest_event_id).filter(|s| !s.is_empty()),
    }
}

pub(crate) fn tokens(s: pb::SessionResponse) -> Tokens {
    Tokens {
        access_token: s.access_token,
        refresh_token: s.refresh_token,
        token_type: "Bearer",
        expires_in: s.expires_in,
        session_id: s.session_id,
        user: s.user.map(user),
    }
}

/// Create an account and sign in
///
/// At most SIGNUP_LIMIT_PER_HOUR sign-ups (default 20) an hour per client address.
#[utoipa::path(
    post,
    path = "/auth/signup",
    tag = "Accounts",
    operation_id = "signUp",
    request_body = SignUp,
    responses(
        (status = 201, description = "The new account, signed in", body = Tokens),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`: an account with this email exists; log in instead", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`email_required`, `invalid_email`, `display_name_required`, `display_name_too_long`, `invalid_display_name`, `password_too_short`, `password_too_long`, `invalid_body` (a missing or unknown field, a wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many sign-ups from this address; see Retry-After", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
async fn signup(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<SignUp>,
) -> Result<(StatusCode, Json<Tokens>), Problem> {
    let mut redis = st.redis.clone();
    ratelimit::check(&mut redis, &format!("signup:ip:{ip}"), st.config.signup_limit_per_hour, Duration::from_secs(3600)).await?;
    let resp =
        st.auth.clone().sign_up(pb::SignUpRequest { email: b.email, password: b.password, display_name: b.display_name }).await?;
    Ok((StatusCode::CREATED, Json(tokens(resp.into_inner()))))
}

/// Sign in with email and password
///
/// At most LOGIN_LIMIT_PER_MINUTE attempts (default 10) a minute per client address and per
/// email. A guest (who has no password) cannot log in.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "Accounts",
    operation_id = "logIn",
    request_body = Login,
    responses(
        (status = 200, description = "A new session", body = Tokens),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_credentials`: the email or the password is wrong (also a malformed email, an empty or over-long password)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body` (a missing or unknown field, a wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many attempts from this address or for this email; see Retry-After", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
async fn login(State(st): State<AppState>, ClientIp(ip): ClientIp, ApiJson(b): ApiJson<Login>) -> Result<Json<Tokens>, Problem> {
    let mut redis = st.redis.clone();
    let minute = Duration::from_secs(60);
    let limit = st.config.login_limit_per_minute;
    ratelimit::check(&mut redis, &format!("login:ip:{ip}"), limit, minute).await?;
    // Per account too, so a botnet spread over many addresses cannot guess one user's password.
    ratelimit::check(&mut redis, &format!("login:email:{}", b.email.trim().to_lowercase()), limit, minute).await?;
    let resp = st.auth.clone().sign_in(pb::SignInRequest { email: b.email, password: b.password }).await?;
    Ok(Json(tokens(resp.into_inner())))
}

/// Exchange a refresh token for a new pair (rotation; a reused token ends the session)
///
/// A refresh token works once: presenting a spent one again ends its whole session (it leaked,
/// or a client raced itself), and every token of that session stops working.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "Accounts",
    operation_id = "refreshSession",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new access token and refresh token for the same session", body = Tokens),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "Sign in again: `refresh_token_invalid`, `refresh_token_expired`, `refresh_token_revoked` (the session has ended), `refresh_token_reused` (the token was spent already, so the session was ended)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`refresh_token_required`, `invalid_body` (a missing or unknown field, a wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
async fn refresh(State(st): State<AppState>, ApiJson(b): ApiJson<RefreshBody>) -> Result<Json<Tokens>, Problem> {
    let resp = st.auth.clone().refresh(pb::RefreshRequest { refresh_token: b.refresh_token }).await?;
    Ok(Json(tokens(resp.into_inner())))
}

/// End the session of a refresh token; its access tokens stop working at once
///
/// Ending a session that has ended already changes nothing.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "Accounts",
    operation_id = "logOut",
    request_body = RefreshBody,
    responses(
        (status = 204, description = "The session has ended"),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "`refresh_token_invalid`: no session has this refresh token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`refresh_token_required`, `invalid_body` (a missing or unknown field, a wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
    )
)]
async fn logout(State(st): State<AppState>, ApiJson(b): ApiJson<RefreshBody>) -> Result<StatusCode, Problem> {
    let resp = st.auth.clone().sign_out(pb::SignOutRequest { refresh_token: b.refresh_token }).await?.into_inner();
    // The session's access tokens stop working with the next request, not when they expire.
    let mut redis = st.redis.clone();
    revocation::record(&mut redis, &st.revocation_lost, &resp.session_id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's profile
#[utoipa::path(
    get,
    path = "/me",
    tag = "Accounts",
    operation_id = "getMe",
    responses((status = 200, description = "The caller", body = User)),
    security(("bearer" = []))
)]
async fn me(State(st): State<AppState>, who: AuthUser) -> Result<Json<User>, Problem> {
    let p = st.auth.clone().get_profile(pb::GetProfileRequest { user_id: who.user_id }).await?;
    Ok(Json(user(p.into_inner())))
}

/// Change display name and/or avatar URL
///
/// At least one of the two; a field left out (or null) stays as it is.
#[utoipa::path(
    patch,
    path = "/me",
    tag = "Accounts",
    operation_id = "updateMe",
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The updated profile", body = User),
        (status = 400, description = "`malformed_json`: the body is not JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`: the body is over 64 KiB", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send the body with `Content-Type: application/json`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`nothing_to_update` (neither field given), `display_name_required`, `display_name_too_long`, `invalid_display_name`, `invalid_avatar_url`, `invalid_body` (an unknown field, a wrong type)", body = ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn update_me(State(st): State<AppState>, who: AuthUser, ApiJson(b): ApiJson<ProfilePatch>) -> Result<Json<User>, Problem> {
    let p = st
        .auth
        .clone()
        .update_profile(pb::UpdateProfileRequest { user_id: who.user_id, display_name: b.display_name, avatar_url: b.avatar_url })
        .await?;
    Ok(Json(user(p.into_inner())))
}
