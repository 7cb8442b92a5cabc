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
