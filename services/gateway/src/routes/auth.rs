//! Accounts and sessions: sign up, log in, refresh, log out, and the caller's profile.
use std::time::Duration;

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use stagecast_proto::auth::v1 as pb;

use crate::{
    extract::{ApiJson, AuthUser, ClientIp},
    problem::Problem,
    ratelimit, revocation,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/me", get(me).patch(update_me))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    email: String,
    password: String,
    display_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    display_name: Option<String>,
    avatar_url: Option<String>,
}

#[derive(Serialize)]
pub struct User {
    id: String,
    email: String,
    display_name: String,
    avatar_url: Option<String>,
    created_at: Option<String>,
    /// Set for a guest: the one event their session may act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    guest_event_id: Option<String>,
}

#[derive(Serialize)]
pub struct Tokens {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
    session_id: String,
    user: Option<User>,
}

pub(crate) fn user(p: pb::Profile) -> User {
    User {
        created_at: super::rfc3339(p.created_at.as_ref()),
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

async fn refresh(State(st): State<AppState>, ApiJson(b): ApiJson<RefreshBody>) -> Result<Json<Tokens>, Problem> {
    let resp = st.auth.clone().refresh(pb::RefreshRequest { refresh_token: b.refresh_token }).await?;
    Ok(Json(tokens(resp.into_inner())))
}

async fn logout(State(st): State<AppState>, ApiJson(b): ApiJson<RefreshBody>) -> Result<StatusCode, Problem> {
    let resp = st.auth.clone().sign_out(pb::SignOutRequest { refresh_token: b.refresh_token }).await?.into_inner();
    // The session's access tokens stop working with the next request, not when they expire.
    let mut redis = st.redis.clone();
    revocation::record(&mut redis, &st.revocation_lost, &resp.session_id).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(st): State<AppState>, who: AuthUser) -> Result<Json<User>, Problem> {
    let p = st.auth.clone().get_profile(pb::GetProfileRequest { user_id: who.user_id }).await?;
    Ok(Json(user(p.into_inner())))
}

async fn update_me(State(st): State<AppState>, who: AuthUser, ApiJson(b): ApiJson<ProfilePatch>) -> Result<Json<User>, Problem> {
    let p = st
        .auth
        .clone()
        .update_profile(pb::UpdateProfileRequest { user_id: who.user_id, display_name: b.display_name, avatar_url: b.avatar_url })
        .await?;
    Ok(Json(user(p.into_inner())))
}
