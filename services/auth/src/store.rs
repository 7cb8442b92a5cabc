//! The `auth` schema. Functions take a connection so the caller decides the transaction; every
//! change that others must hear about is followed by an outbox write in that same transaction.
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    /// `None` for a guest.
    pub email: Option<String>,
    /// `None` for a guest, who cannot sign in.
    pub password_hash: Option<String>,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The event a guest joined; `None` for an account.
    pub guest_event_id: Option<Uuid>,
}

/// The columns of a [`UserRow`], in every query that reads one.
macro_rules! user_columns {
    () => {
        "id, email, password_hash, display_name, avatar_url, created_at, guest_event_id"
    };
}

pub const USERS_EMAIL_KEY: &str = "users_email_key";

pub async fn insert_user(
    conn: &mut PgConnection,
    id: Uuid,
    email: &str,
    password_hash: &str,
    display_name: &str,
) -> Result<UserRow, sqlx::Error> {
    sqlx::query_as(concat!(
        "INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, $3, $4)
         RETURNING ",
        user_columns!()
    ))
    .bind(id)
    .bind(email)
    .bind(password_hash)
    .bind(display_name)
    .fetch_one(conn)
    .await
}

pub async fn user_by_email(conn: &mut PgConnection, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1")).bind(email).fetch_optional(conn).await
}

pub async fn user_by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1")).bind(id).fetch_optional(conn).await
}

pub async fn update_profile(
    conn: &mut PgConnection,
    id: Uuid,
    display_name: Option<&str>,
    avatar_url: Option<Option<&str>>,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE users SET
            display_name = COALESCE($2, display_name),
            avatar_url = CASE WHEN $3 THEN $4 ELSE avatar_url END,
            updated_at = now()
         WHERE id = $1
         RETURNING ",
        user_columns!()
    ))
    .bind(id)
    .bind(display_name)
    .bind(avatar_url.is_some())
    .bind(avatar_url.flatten())
    .fetch_optional(conn)
    .await
}

/// A guest: a user of their own, with no email or password, tied to one event.
pub async fn insert_guest(
    conn: &mut PgConnection,
    id: Uuid,
    display_name: &str,
    avatar_url: Option<&str>,
    event_id: Uuid,
) -> Result<UserRow, sqlx::Error> {
    sqlx::query_as(concat!(
        "INSERT INTO users (id, display_name, avatar_url, guest_event_id) VALUES ($1, $2, $3, $4) RETURNING ",
        user_columns!()
    ))
    .bind(id)
    .bind(display_name)
    .bind(avatar_url)
    .bind(event_id)
    .fetch_one(conn)
    .await
}

/// Deletes a guest of `event_id`, and with them their sessions and refresh tokens (the foreign
/// keys cascade); false when there is no such guest. Never an account.
pub async fn delete_guest(conn: &mut PgConnection, id: Uuid, event_id: Uuid) -> Result<bool, sqlx::Error> {
    let deleted =
        sqlx::query("DELETE FROM users WHERE id = $1 AND guest_event_id = $2").bind(id).bind(event_id).execute(conn).await?;
    Ok(deleted.rows_affected() == 1)
}

/// A new session; `event_id` scopes a guest's session to their event.
pub async fn insert_session(conn: &mut PgConnection, id: Uuid, user_id: Uuid, event_id: Option<Uuid>) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sessions (id, user_id, event_id) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(user_id)
        .bind(event_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_refresh_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
    session_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(session_id)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// A refresh token with the state of its session, locked for the rest of the transaction so two
/// concurrent refreshes with the same token cannot both succeed.
#[derive(Debug, sqlx::FromRow)]
pub struct TokenState {
    pub session_id: Uuid,
    pub user_id: Uuid,
    /// A guest session's event.
    pub event_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub session_revoked_at: Option<DateTime<Utc>>,
}

pub async fn lock_refresh_token(conn: &mut PgConnection, token_hash: &[u8]) -> Result<Option<TokenState>, sqlx::Error> {
    sqlx::query_as(
        "SELECT rt.session_id, s.user_id, s.event_id, rt.expires_at, rt.used_at, s.revoked_at AS session_revoked_at
         FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
         WHERE rt.token_hash = $1
         FOR UPDATE OF rt, s",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await
}

pub async fn mark_token_used(conn: &mut PgConnection, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1").bind(token_hash).execute(conn).await?;
    Ok(())
}

/// Revokes a session (the whole refresh-token family). Returns false if it was already revoked.
pub async fn revoke_session(conn: &mut PgConnection, session_id: Uuid, reason: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("UPDATE sessions SET revoked_at = now(), revoke_reason = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(session_id)
        .bind(reason)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn session_active(conn: &mut PgConnection, session_id: Uuid) -> Result<bool, sqlx::Error> {
    let active: Option<bool> =
        sqlx::query_scalar("SELECT revoked_at IS NULL FROM sessions WHERE id = $1").bind(session_id).fetch_optional(conn).await?;
    Ok(active.unwrap_or(false))
}

/// Sessions revoked at or after `since`.
pub async fn revoked_sessions_since(conn: &mut PgConnection, since: DateTime<Utc>) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM sessions WHERE revoked_at >= $1").bind(since).fetch_all(conn).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The columns of an [`ApiKeyRow`], in every query that reads one.
macro_rules! api_key_columns {
    () => {
        "id, user_id, name, scopes, prefix, created_at, expires_at, last_used_at, revoked_at"
    };
}

pub struct NewApiKey<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: &'a str,
    pub scopes: Vec<String>,
    pub prefix: String,
    pub secret_hash: Vec<u8>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert_api_key(conn: &mut PgConnection, k: NewApiKey<'_>) -> Result<ApiKeyRow, sqlx::Error> {
    sqlx::query_as(concat!(
        "INSERT INTO api_keys (id, user_id, name, scopes, prefix, secret_hash, expires_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
        api_key_columns!()
    ))
    .bind(k.id)
    .bind(k.user_id)
    .bind(k.name)
    .bind(k.scopes)
    .bind(k.prefix)
    .bind(k.secret_hash)
    .bind(k.expires_at)
    .fetch_one(conn)
    .await
}

/// Keys not revoked and not expired, for the per-user cap. The user's row is locked first, so
/// two creations at once cannot both pass the cap.
pub async fn count_usable_api_keys(conn: &mut PgConnection, user_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE").bind(user_id).execute(&mut *conn).await?;
    sqlx::query_scalar(
        "SELECT count(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await
}

pub async fn api_keys_of(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", api_key_columns!(), " FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id"))
        .bind(user_id)
        .fetch_all(conn)
        .await
}

/// Revokes a key of `user_id`; `None` if they have no such key. Revoking twice keeps the first time.
pub async fn revoke_api_key(conn: &mut PgConnection, user_id: Uuid, key_id: Uuid) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND user_id = $2 RETURNING ",
        api_key_columns!()
    ))
    .bind(key_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// The key with this secret hash and its owner's display name; marks it used (at most once a
/// minute, so a busy key does not write on every request).
pub async fn use_api_key(conn: &mut PgConnection, secret_hash: &[u8]) -> Result<Option<(ApiKeyRow, String)>, sqlx::Error> {
    let row: Option<ApiKeyRow> = sqlx::query_as(concat!("SELECT ", api_key_columns!(), " FROM api_keys WHERE secret_hash = $1"))
        .bind(secret_hash)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let usable = row.revoked_at.is_none() && row.expires_at.is_none_or(|t| t > Utc::now());
    if usable && row.last_used_at.is_none_or(|t| Utc::now() - t > chrono::Duration::seconds(60)) {
        sqlx::query("UPDATE api_keys SET last_used_at = now() WHERE id = $1").bind(row.id).execute(&mut *conn).await?;
    }
    let name: String =
        sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1").bind(row.user_id).fetch_one(conn).await?;
    Ok(Some((row, name)))
}
