//! Media tokens, checked here with the auth service's public key: the SFU never calls auth per
//! join, and a token for another audience (an API access token) is refused.
use http::HeaderMap;
use stagecast_authn::{MediaClaims, TokenError};
use stagecast_kit::{ApiError, keys::KeyStore};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The verified claims of the bearer token in `headers`.
pub async fn verify_bearer(keys: &KeyStore, headers: &HeaderMap) -> Result<MediaClaims, ApiError> {
    let token = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthenticated(
                "missing_token",
                "send a media token as Authorization: Bearer <token> (POST /api/v1/events/{id}/media-token)",
            )
        })?;
    let verifier = keys.verifier_for(token).await?;
    verifier.verify::<MediaClaims>(token, now()).map_err(|e| {
        let code = match e {
            TokenError::Expired => "token_expired",
            _ => "invalid_token",
        };
        ApiError::unauthenticated(code, format!("{e}; get a new media token for this event"))
    })
}
