//! Extractors that parse requests before handlers see them.
use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequest, FromRequestParts, Request, rejection::JsonRejection},
    http::Method,
    http::request::Parts,
};
use serde::de::DeserializeOwned;
use stagecast_authn::{AccessClaims, Scope, TokenError};
use stagecast_kit::{ApiError, ErrorKind};

use crate::{
    access::{self, Need},
    problem::Problem,
    revocation,
    state::AppState,
};

/// A JSON body, or a problem response that says exactly what is wrong with it.
///
/// A number with a zero fraction (`9401.0`, `1e3`) is taken as the integer it equals: JSON Schema
/// calls it an integer, so a field the document types `integer` accepts it, though serde's
/// integer types would refuse it.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(mut value) = axum::Json::<serde_json::Value>::from_request(req, state).await.map_err(json_problem)?;
        integral_numbers_as_integers(&mut value);
        serde_path_to_error::deserialize(value).map(Self).map_err(|e| {
            // serde's message names the field: "missing field `email`", "unknown field `admin`";
            // the path says where: "duration_secs: invalid type: ...".
            let detail =
                if e.path().iter().next().is_some() { format!("{}: {}", e.path(), e.inner()) } else { e.inner().to_string() };
            Problem::new(ErrorKind::InvalidInput, "invalid_body", format!("the request body does not match the schema: {detail}"))
        })
    }
}

/// Rewrites every float with a zero fraction that an `i64` or `u64` holds as that integer. Every
/// float of 2^53 or more is a whole number, so the conversion is exact wherever it applies; a
/// float field still takes the integer.
fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                // `as` saturates; the range checks keep it to values it converts exactly.
                if f >= 0.0 && f < u64::MAX as f64 {
                    *n = (f as u64).into();
                } else if f < 0.0 && f >= i64::MIN as f64 {
                    *n = (f as i64).into();
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

fn json_problem(rejection: JsonRejection) -> Problem {
    match rejection {
        // Any JSON is a `serde_json::Value`, so this is only a body some other type refused.
        JsonRejection::JsonDataError(e) => {
            let detail = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_else(|| e.body_text());
            Problem::new(ErrorKind::InvalidInput, "invalid_body", format!("the request body does not match the schema: {detail}"))
        }
        JsonRejection::JsonSyntaxError(e) => {
            let detail = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_else(|| e.body_text());
            Problem::new(ErrorKind::InvalidInput, "malformed_json", format!("the request body is not valid JSON: {detail}"))
        }
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            ErrorKind::InvalidInput,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(_) => {
            Problem::new(ErrorKind::InvalidInput, "body_too_large", "the request body is too large (limit 64 KiB)")
        }
        other => Problem::new(ErrorKind::InvalidInput, "invalid_body", other.body_text()),
    }
}

/// A query string, or a problem response (422 `invalid_query`) that says what is wrong with it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(Problem::new(ErrorKind::InvalidInput, "invalid_query", e.body_text())),
        }
    }
}

/// The caller, authenticated by a bearer access token or an API key.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: String,
    /// The session of an access token; for an API key, `key:` and the key's id.
    pub session_id: String,
    pub display_name: String,
    /// A guest session's event: the only event this caller may act on.
    pub event_scope: Option<String>,
    /// The scopes of an API key; `None` for a signed-in person, who is not limited by scopes.
    pub key_scopes: Option<Vec<Scope>>,
}

impl AuthUser {
    /// Refuses what this caller may not call at all, whatever their role: a guest outside their
    /// event, an API key without the route's scope. `path` is the full request path.
    pub fn check_access(&self, method: &Method, path: &str) -> Result<(), Problem> {
        if let Some(event) = &self.event_scope {
            let own = format!("/api/v1/events/{event}");
            let inside = path == own || path.starts_with(&format!("{own}/")) || path == "/api/v1/me";
            if !inside {
                return Err(Problem::new(
                    ErrorKind::PermissionDenied,
                    "guest_session_scope",
                    "a guest session can only take part in the event it was invited to",
                ));
            }
        }
        if let Some(scopes) = &self.key_scopes {
            match access::need(method, path) {
                Need::Scope(needed) if needed.satisfied_by(scopes) => {}
                Need::Scope(needed) => {
                    return Err(Problem::new(
                        ErrorKind::PermissionDenied,
                        "insufficient_scope",
                        format!("this API key lacks the scope {needed}; create a key that has it"),
                    ));
                }
                Need::Session => {
                    return Err(Problem::new(
                        ErrorKind::PermissionDenied,
                        "session_required",
                        "this route cannot be called with an API key; sign in and use an access token",
                    ));
                }
            }
        }
        Ok(())
    }
}

fn token_problem(e: TokenError) -> Problem {
    let code = match e {
        TokenError::Expired => "token_expired",
        _ => "token_invalid",
    };
    let hint = match e {
        TokenError::Expired => "; refresh it with POST /api/v1/auth/refresh",
        _ => "; sign in again",
    };
    Problem::new(ErrorKind::Unauthenticated, code, format!("{e}{hint}"))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(http::header::AUTHORIZATION).ok_or_else(|| {
            Problem::new(ErrorKind::Unauthenticated, "missing_token", "send an access token as Authorization: Bearer <token>")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Problem::new(ErrorKind::Unauthenticated, "missing_token", "the Authorization header must be: Bearer <token>")
            })?;
        let user = authenticate(state, token).await?;
        // The API is nested under /api/v1, which nesting strips from `parts.uri`.
        let path = parts.extensions.get::<axum::extract::OriginalUri>().map_or(parts.uri.path(), |u| u.0.path());
        user.check_access(&parts.method, path)?;
        Ok(user)
    }
}

/// The client's address, for rate limits.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.config.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok());
            if let Some(ip) = forwarded {
                return Ok(Self(ip));
            }
        }
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| Self(ci.0.ip()))
            .ok_or_else(|| Problem(ApiError::internal("no connect info on request")))
    }
}

/// Verifies an access token (signature, expiry, audience) and that its session is still active,
/// or an API key (known, not revoked, not expired, within its request rate).
pub async fn authenticate(state: &AppState, token: &str) -> Result<AuthUser, Problem> {
    if token.starts_with(API_KEY_PREFIX) {
        return authenticate_key(state, token).await;
    }
    let verifier = state.keys.verifier_for(token).await?;
    let now = chrono::Utc::now().timestamp();
    let claims: AccessClaims = verifier.verify(token, now).map_err(token_problem)?;
    match revocation::check(state, &claims.sid).await {
        Ok(Some(true)) => {
            return Err(Problem::new(ErrorKind::Unauthenticated, "token_revoked", "this session has ended; sign in again"));
        }
        Ok(Some(false)) => {}
        // Redis lost the list (restarted empty): ask the auth service, and rebuild the list.
        Ok(None) => {
            revocation::refill_soon(state);
            check_with_auth(state, &claims.sid).await?;
        }
        // Without Redis, fall back to asking the auth service: slower, still correct.
        Err(e) => {
            tracing::warn!(error = %e, "revocation list unavailable; checking session with auth");
            check_with_auth(state, &claims.sid).await?;
        }
    }
    Ok(AuthUser {
        user_id: claims.sub,
        session_id: claims.sid,
        display_name: claims.name,
        event_scope: claims.evt,
        key_scopes: None,
    })
}

/// Every API key starts with this (the auth service issues them so).
pub const API_KEY_PREFIX: &str = "sck_";

/// Refuses an API key passed in a URL (`?access_token=`): URLs end up in logs, proxies and, for
/// playback, in every segment link of a playlist, and a key lives until revoked. Short-lived
/// access tokens may go there; keys go in the Authorization header.
pub fn no_key_in_url(token: &str) -> Result<(), Problem> {
    if token.starts_with(API_KEY_PREFIX) {
        return Err(Problem::new(
            ErrorKind::Unauthenticated,
            "api_key_in_url",
            "send API keys in the Authorization header (Bearer), never in a URL",
        ));
    }
    Ok(())
}

async fn authenticate_key(state: &AppState, secret: &str) -> Result<AuthUser, Problem> {
    let key = state
        .auth
        .clone()
        .verify_api_key(stagecast_proto::auth::v1::VerifyApiKeyRequest { secret: secret.to_owned() })
        .await?
        .into_inner();
    let mut redis = state.redis.clone();
    crate::ratelimit::check(
        &mut redis,
        &format!("apikey:{}", key.key_id),
        state.config.api_key_requests_per_minute,
        std::time::Duration::from_secs(60),
    )
    .await?;
    // Unknown names cannot come back from the auth service, which parsed them at creation;
    // if one did, dropping it only narrows what the key may do.
    let scopes = key.scopes.iter().filter_map(|s| Scope::parse(s)).collect();
    Ok(AuthUser {
        user_id: key.user_id,
        session_id: format!("key:{}", key.key_id),
        display_name: key.display_name,
        event_scope: None,
        key_scopes: Some(scopes),
    })
}

async fn check_with_auth(state: &AppState, session_id: &str) -> Result<(), Problem> {
    let active = state
        .auth
        .clone()
        .check_session(stagecast_proto::auth::v1::CheckSessionRequest { session_id: session_id.to_owned() })
        .await?
        .into_inner()
        .active;
    if active {
        Ok(())
    } else {
        Err(Problem::new(ErrorKind::Unauthenticated, "token_revoked", "this session has ended; sign in again"))
    }
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, extract::FromRequest, http::Request};
    use serde::Deserialize;

    use super::ApiJson;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        secs: u32,
        offset: i64,
        ratio: Option<f64>,
        ids: Vec<u64>,
    }

    async fn read(json: &str) -> Result<Sample, String> {
        let req = Request::post("/").header("content-type", "application/json").body(Body::from(json.to_owned())).unwrap();
        ApiJson::<Sample>::from_request(req, &()).await.map(|ApiJson(b)| b).map_err(|p| format!("{}: {}", p.0.code, p.0.message))
    }

    #[tokio::test]
    async fn a_number_with_a_zero_fraction_is_the_integer_json_schema_says_it_is() {
        let b = read(r#"{"secs": 148.0, "offset": -2e3, "ratio": 2.0, "ids": [1.0, 18446744073709549568.0]}"#).await.unwrap();
        assert_eq!(b, Sample { secs: 148, offset: -2000, ratio: Some(2.0), ids: vec![1, 18_446_744_073_709_549_568] });
    }

    #[tokio::test]
    async fn a_fraction_or_a_value_out_of_range_is_still_refused_and_the_refusal_names_the_field() {
        let e = read(r#"{"secs": 1.5, "offset": 0, "ids": []}"#).await.unwrap_err();
        assert!(e.starts_with("invalid_body: ") && e.contains("secs: invalid type: floating point `1.5`"), "{e}");
        let e = read(r#"{"secs": 4294967296.0, "offset": 0, "ids": []}"#).await.unwrap_err();
        assert!(e.contains("secs: invalid value"), "{e}");
        let e = read(r#"{"secs": 1, "offset": 0, "ids": [], "admin": true}"#).await.unwrap_err();
        assert!(e.contains("unknown field `admin`"), "{e}");
        assert!(read(r#"{"secs": 1"#).await.unwrap_err().starts_with("malformed_json: "));
    }
}
