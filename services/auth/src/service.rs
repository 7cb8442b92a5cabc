//! The auth use cases, in domain terms.
use std::time::Duration;

use chrono::Utc;
use sqlx::{PgConnection, PgPool};
use stagecast_authn::{ACCESS_AUDIENCE, AccessClaims, ISSUER, Jwks, MEDIA_AUDIENCE, MediaClaims, MediaGrants, Scope, Signer};
use stagecast_ids::EventId;
use stagecast_kit::{ApiError, ErrorKind};
use stagecast_proto::auth::v1 as pb;
use uuid::Uuid;

use crate::{
    domain::{ApiKeyName, ApiKeySecret, AvatarUrl, DisplayName, Email, Password, PasswordHash, RefreshToken},
    store::{self, ApiKeyRow, UserRow},
};

/// Usable (not revoked, not expired) API keys one person may hold.
pub const MAX_API_KEYS_PER_USER: i64 = 25;

/// Bus subjects of the auth service (documented in docs/nats.md).
pub mod subjects {
    use uuid::Uuid;
    pub fn user_signed_up(user: Uuid) -> String {
        format!("stagecast.auth.v1.user.{user}.signed_up")
    }
    pub fn profile_updated(user: Uuid) -> String {
        format!("stagecast.auth.v1.user.{user}.profile_updated")
    }
    pub fn session_revoked(session: Uuid) -> String {
        format!("stagecast.auth.v1.session.{session}.revoked")
    }
}

/// What a successful sign-up, sign-in or refresh hands back.
pub struct Session {
    pub access_token: String,
    pub refresh_token: RefreshToken,
    pub expires_in: Duration,
    pub session_id: Uuid,
    pub user: UserRow,
}

/// A signed media token and how long it lasts.
pub struct MediaToken {
    pub token: String,
    pub expires_in: Duration,
}

/// How long each kind of token lives.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access: Duration,
    pub refresh: Duration,
    pub media: Duration,
}

pub struct Auth {
    pool: PgPool,
    signer: Signer,
    ttl: Lifetimes,
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthenticated("invalid_credentials", "email or password is wrong")
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)
}

impl Auth {
    pub fn new(pool: PgPool, signer: Signer, ttl: Lifetimes) -> Self {
        Self { pool, signer, ttl }
    }

    pub fn jwks(&self) -> Jwks {
        Jwks { keys: vec![self.signer.jwk()] }
    }

    pub async fn sign_up(&self, email: Email, password: Password, name: DisplayName) -> Result<Session, ApiError> {
        // Argon2 is deliberately slow: keep it off the async workers.
        let hash = blocking(move || password.hash()).await??;
        let mut tx = self.pool.begin().await?;
        let user = match store::insert_user(&mut tx, Uuid::now_v7(), email.as_str(), hash.as_str(), name.as_str()).await {
            Ok(u) => u,
            Err(e) if stagecast_kit::db::is_unique_violation(&e, Some(store::USERS_EMAIL_KEY)) => {
                return Err(ApiError::new(
                    ErrorKind::Conflict,
                    "email_taken",
                    "an account with this email already exists; sign in instead",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let msg = pb::UserSignedUp { user_id: user.id.to_string(), display_name: user.display_name.clone() };
        stagecast_bus::outbox::enqueue(&mut tx, &subjects::user_signed_up(user.id), &msg).await?;
        let session = self.start_session(&mut tx, user).await?;
        tx.commit().await?;
        tracing::info!(user_id = %session.user.id, "user signed up");
        Ok(session)
    }

    pub async fn sign_in(&self, email: Email, password: Password) -> Result<Session, ApiError> {
        let mut conn = self.pool.acquire().await?;
        let user = store::user_by_email(&mut conn, email.as_str()).await?;
        drop(conn);
        let stored = match &user {
            // A guest has no password: compared against the decoy, it never matches.
            Some(u) => u.password_hash.clone().map(PasswordHash::from_stored).unwrap_or_else(|| PasswordHash::decoy().clone()),
            None => PasswordHash::decoy().clone(),
        };
        let ok = blocking(move || password.matches(&stored)).await?;
        let user = match (user, ok) {
            (Some(u), true) if u.password_hash.is_some() => u,
            _ => return Err(invalid_credentials()),
        };
        let mut tx = self.pool.begin().await?;
        let session = self.start_session(&mut tx, user).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Rotates a refresh token. A token works once; presenting it again means it leaked (or a
    /// client raced itself), so the whole session is revoked and every token of it stops working.
    pub async fn refresh(&self, token: RefreshToken) -> Result<Session, ApiError> {
        let hash = token.hash();
        let mut tx = self.pool.begin().await?;
        let Some(state) = store::lock_refresh_token(&mut tx, &hash).await? else {
            return Err(ApiError::unauthenticated("refresh_token_invalid", "the refresh token is not valid; sign in again"));
        };
        if state.session_revoked_at.is_some() {
            return Err(ApiError::unauthenticated("refresh_token_revoked", "this session has ended; sign in again"));
        }
        if state.used_at.is_some() {
            self.revoke(&mut tx, state.user_id, state.session_id, pb::session_revoked::Reason::RefreshTokenReused).await?;
            tx.commit().await?;
            tracing::warn!(user_id = %state.user_id, session_id = %state.session_id, "refresh token reused; session revoked");
            return Err(ApiError::unauthenticated(
                "refresh_token_reused",
                "this refresh token was already used, so the session was ended for safety; sign in again",
            ));
        }
        if state.expires_at <= Utc::now() {
            return Err(ApiError::unauthenticated("refresh_token_expired", "the refresh token has expired; sign in again"));
        }
        store::mark_token_used(&mut tx, &hash).await?;
        let user = store::user_by_id(&mut tx, state.user_id)
            .await?
            .ok_or_else(|| ApiError::unauthenticated("refresh_token_invalid", "the account no longer exists"))?;
        let session = self.issue(&mut tx, user, state.session_id, state.event_id).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// A guest who joins `event` through an invite link: a user of their own (unique per
    /// guest) with a session that is good for that event only.
    pub async fn create_guest(&self, name: DisplayName, avatar: AvatarUrl, event: EventId) -> Result<Session, ApiError> {
        let mut tx = self.pool.begin().await?;
        let user = store::insert_guest(&mut tx, Uuid::now_v7(), name.as_str(), avatar.as_deref(), event.as_uuid()).await?;
        let msg = pb::UserSignedUp { user_id: user.id.to_string(), display_name: user.display_name.clone() };
        stagecast_bus::outbox::enqueue(&mut tx, &subjects::user_signed_up(user.id), &msg).await?;
        let session_id = Uuid::now_v7();
        store::insert_session(&mut tx, session_id, user.id, Some(event.as_uuid())).await?;
        let session = self.issue(&mut tx, user, session_id, Some(event.as_uuid())).await?;
        tx.commit().await?;
        tracing::info!(user_id = %session.user.id, event_id = %event, "guest joined");
        Ok(session)
    }

    /// Undoes [`Auth::create_guest`] for a guest who could not join `event` after all.
    pub async fn delete_guest(&self, user_id: Uuid, event: EventId) -> Result<(), ApiError> {
        let mut conn = self.pool.acquire().await?;
        if !store::delete_guest(&mut conn, user_id, event.as_uuid()).await? {
            return Err(ApiError::not_found("guest_not_found", "there is no such guest of this event"));
        }
        tracing::info!(user_id = %user_id, event_id = %event, "guest deleted: they could not join");
        Ok(())
    }

    /// Ends the session the token belongs to; returns its id.
    pub async fn sign_out(&self, token: RefreshToken) -> Result<Uuid, ApiError> {
        let mut tx = self.pool.begin().await?;
        let Some(state) = store::lock_refresh_token(&mut tx, &token.hash()).await? else {
            return Err(ApiError::unauthenticated("refresh_token_invalid", "the refresh token is not valid"));
        };
        if state.session_revoked_at.is_none() {
            self.revoke(&mut tx, state.user_id, state.session_id, pb::session_revoked::Reason::SignedOut).await?;
        }
        tx.commit().await?;
        Ok(state.session_id)
    }

    /// Sessions ended at or after `since`.
    pub async fn revoked_sessions_since(&self, since: chrono::DateTime<Utc>) -> Result<Vec<Uuid>, ApiError> {
        let mut conn = self.pool.acquire().await?;
        Ok(store::revoked_sessions_since(&mut conn, since).await?)
    }

    /// A new API key of `user_id`; the secret is in the answer and nowhere else.
    pub async fn create_api_key(
        &self,
        user_id: Uuid,
        name: ApiKeyName,
        scopes: Vec<Scope>,
        expires_at: Option<chrono::DateTime<Utc>>,
    ) -> Result<(ApiKeyRow, ApiKeySecret), ApiError> {
        if expires_at.is_some_and(|t| t <= Utc::now()) {
            return Err(ApiError::invalid("invalid_expires_at", "expires_at must be in the future (or left out: no expiry)"));
        }
        let mut tx = self.pool.begin().await?;
        let user =
            store::user_by_id(&mut tx, user_id).await?.ok_or_else(|| ApiError::not_found("user_not_found", "no such user"))?;
        if user.guest_event_id.is_some() {
            return Err(ApiError::forbidden("guest_session_scope", "a guest cannot create API keys"));
        }
        if store::count_usable_api_keys(&mut tx, user_id).await? >= MAX_API_KEYS_PER_USER {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "api_key_limit",
                format!("you already have {MAX_API_KEYS_PER_USER} API keys; revoke one you no longer use first"),
            ));
        }
        let secret = ApiKeySecret::generate();
        let row = store::insert_api_key(
            &mut tx,
            store::NewApiKey {
                id: Uuid::now_v7(),
                user_id,
                name: name.as_str(),
                scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
                prefix: secret.prefix(),
                secret_hash: secret.hash(),
                expires_at,
            },
        )
        .await?;
        tx.commit().await?;
        tracing::info!(user_id = %user_id, key_id = %row.id, "API key created");
        Ok((row, secret))
    }

    pub async fn api_keys(&self, user_id: Uuid) -> Result<Vec<ApiKeyRow>, ApiError> {
        let mut conn = self.pool.acquire().await?;
        Ok(store::api_keys_of(&mut conn, user_id).await?)
    }

    pub async fn revoke_api_key(&self, user_id: Uuid, key_id: Uuid) -> Result<ApiKeyRow, ApiError> {
        let mut conn = self.pool.acquire().await?;
        let row = store::revoke_api_key(&mut conn, user_id, key_id)
            .await?
            .ok_or_else(|| ApiError::not_found("api_key_not_found", "you have no API key with this id"))?;
        tracing::info!(user_id = %user_id, key_id = %key_id, "API key revoked");
        Ok(row)
    }

    /// The key a secret belongs to, if it may be used now; its owner's display name.
    pub async fn verify_api_key(&self, secret: ApiKeySecret) -> Result<(ApiKeyRow, String), ApiError> {
        let mut conn = self.pool.acquire().await?;
        let (row, name) = store::use_api_key(&mut conn, &secret.hash()).await?.ok_or_else(|| {
            ApiError::unauthenticated("api_key_invalid", "the API key is not valid; create a new one under /api/v1/api-keys")
        })?;
        if row.revoked_at.is_some() {
            return Err(ApiError::unauthenticated("api_key_revoked", "this API key was revoked; create a new one"));
        }
        if row.expires_at.is_some_and(|t| t <= Utc::now()) {
            return Err(ApiError::unauthenticated("api_key_expired", "this API key has expired; create a new one"));
        }
        Ok((row, name))
    }

    pub async fn check_session(&self, session_id: Uuid) -> Result<bool, ApiError> {
        let mut conn = self.pool.acquire().await?;
        Ok(store::session_active(&mut conn, session_id).await?)
    }

    pub async fn profile(&self, user_id: Uuid) -> Result<UserRow, ApiError> {
        let mut conn = self.pool.acquire().await?;
        store::user_by_id(&mut conn, user_id).await?.ok_or_else(|| ApiError::not_found("user_not_found", "no such user"))
    }

    pub async fn update_profile(
        &self,
        user_id: Uuid,
        name: Option<DisplayName>,
        avatar: Option<AvatarUrl>,
    ) -> Result<UserRow, ApiError> {
        let mut tx = self.pool.begin().await?;
        let user = store::update_profile(
            &mut tx,
            user_id,
            name.as_ref().map(DisplayName::as_str),
            avatar.as_ref().map(AvatarUrl::as_deref),
        )
        .await?
        .ok_or_else(|| ApiError::not_found("user_not_found", "no such user"))?;
        let msg = pb::ProfileUpdated {
            user_id: user.id.to_string(),
            display_name: user.display_name.clone(),
            avatar_url: user.avatar_url.clone().unwrap_or_default(),
        };
        stagecast_bus::outbox::enqueue(&mut tx, &subjects::profile_updated(user.id), &msg).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Signs a media token for `user` in the room of event `room` with `grants`, which the caller
    /// (the events service's decision, relayed by the gateway) is trusted for. The name and avatar
    /// come from the user's profile here, so what others see on stage is what the user set.
    pub async fn mint_media_token(&self, room: EventId, user_id: Uuid, grants: MediaGrants) -> Result<MediaToken, ApiError> {
        let user = self.profile(user_id).await?;
        let now = Utc::now().timestamp();
        let claims = MediaClaims {
            sub: user.id.to_string(),
            name: user.display_name,
            avatar: user.avatar_url.unwrap_or_default(),
            room: room.to_string(),
            grants,
            iss: ISSUER.into(),
            aud: MEDIA_AUDIENCE.into(),
            iat: now,
            exp: now + self.ttl.media.as_secs() as i64,
            jti: Uuid::new_v4().to_string(),
        };
        tracing::debug!(user_id = %user.id, room = %claims.room, publish = claims.grants.publish.len(), "media token minted");
        Ok(MediaToken { token: self.signer.sign(&claims), expires_in: self.ttl.media })
    }

    async fn revoke(
        &self,
        conn: &mut PgConnection,
        user_id: Uuid,
        session_id: Uuid,
        reason: pb::session_revoked::Reason,
    ) -> Result<(), ApiError> {
        let reason_text = match reason {
            pb::session_revoked::Reason::RefreshTokenReused => "refresh_token_reused",
            _ => "signed_out",
        };
        if store::revoke_session(conn, session_id, reason_text).await? {
            let msg =
                pb::SessionRevoked { user_id: user_id.to_string(), session_id: session_id.to_string(), reason: reason as i32 };
            stagecast_bus::outbox::enqueue(conn, &subjects::session_revoked(session_id), &msg).await?;
        }
        Ok(())
    }

    async fn start_session(&self, conn: &mut PgConnection, user: UserRow) -> Result<Session, ApiError> {
        let session_id = Uuid::now_v7();
        store::insert_session(conn, session_id, user.id, None).await?;
        self.issue(conn, user, session_id, None).await
    }

    /// A new refresh token in the session's family plus a fresh access token.
    async fn issue(
        &self,
        conn: &mut PgConnection,
        user: UserRow,
        session_id: Uuid,
        event: Option<Uuid>,
    ) -> Result<Session, ApiError> {
        let refresh = RefreshToken::generate();
        let now = Utc::now();
        let refresh_expires = now + chrono::Duration::from_std(self.ttl.refresh).map_err(ApiError::internal)?;
        store::insert_refresh_token(conn, &refresh.hash(), session_id, refresh_expires).await?;
        let claims = AccessClaims {
            sub: user.id.to_string(),
            sid: session_id.to_string(),
            name: user.display_name.clone(),
            iss: ISSUER.into(),
            aud: ACCESS_AUDIENCE.into(),
            iat: now.timestamp(),
            exp: now.timestamp() + self.ttl.access.as_secs() as i64,
            jti: Uuid::new_v4().to_string(),
            evt: event.map(|e| e.to_string()),
        };
        Ok(Session {
            access_token: self.signer.sign(&claims),
            refresh_token: refresh,
            expires_in: self.ttl.access,
            session_id,
            user,
        })
    }
}
