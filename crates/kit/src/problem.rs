//! RFC 9457 problem details: the one shape of every error an HTTP API of ours returns (the
//! gateway's and the SFU's signalling endpoints).
use axum::{
    Json,
    response::{IntoResponse, Response},
};
use http::{HeaderValue, header};
use serde::Serialize;

use crate::{ApiError, ErrorKind};

// The OpenAPI schema of the body `Problem` writes, named `Problem` in every document: one
// definition for the gateway's document and the SFU's.
/// An RFC 9457 problem document: the body of every error.
#[derive(utoipa::ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)] // documents the shape `Body` serialises
pub struct ProblemSchema {
    /// `urn:stagecast:problem:{code}`.
    #[schema(rename = "type")]
    type_: String,
    /// The HTTP reason phrase.
    title: String,
    status: u16,
    /// What went wrong and what to do, for people.
    detail: String,
    /// Stable and machine-readable: branch on this (docs/api.md lists them).
    code: String,
    /// Seconds to wait, when retrying later can succeed (also the `Retry-After` header).
    retry_after: Option<u64>,
}

/// An error response. Handlers return `Result<_, Problem>`; `?` converts service errors.
#[derive(Debug)]
pub struct Problem(pub ApiError);

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

impl Problem {
    pub fn new(kind: ErrorKind, code: &'static str, detail: impl Into<String>) -> Self {
        Self(ApiError::new(kind, code, detail))
    }

    /// The HTTP status: the kind's, except where HTTP has a more precise one for the code.
    fn status(&self) -> http::StatusCode {
        match self.0.code.as_ref() {
            "malformed_json" => http::StatusCode::BAD_REQUEST,
            "unsupported_media_type" | "unsupported_image_type" => http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "body_too_large" | "image_too_large" => http::StatusCode::PAYLOAD_TOO_LARGE,
            "route_not_found" => http::StatusCode::NOT_FOUND,
            "websocket_required" => http::StatusCode::UPGRADE_REQUIRED,
            "method_not_allowed" => http::StatusCode::METHOD_NOT_ALLOWED,
            _ => self.0.kind.http_status(),
        }
    }
}

fn title(status: http::StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = Body {
            type_: format!("urn:stagecast:problem:{}", self.0.code),
            title: title(status),
            status: status.as_u16(),
            detail: &self.0.message,
            code: &self.0.code,
            retry_after: self.0.retry_after.map(|d| d.as_secs().max(1)),
        };
        let mut resp = (status, Json(body)).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(after) = self.0.retry_after
            && let Ok(v) = HeaderValue::from_str(&after.as_secs().max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
            // The IETF RateLimit header (draft-ietf-httpapi-ratelimit-headers): nothing left in
            // this policy, and when the next request passes.
            if self.0.kind == ErrorKind::RateLimited
                && let Ok(v) = HeaderValue::from_str(&format!("\"default\";r=0;t={}", after.as_secs().max(1)))
            {
                resp.headers_mut().insert("ratelimit", v);
            }
        }
        resp
    }
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<tonic::Status> for Problem {
    fn from(s: tonic::Status) -> Self {
        Self(ApiError::from_status(&s))
    }
}

/// Fallback for paths no route matches.
pub async fn route_not_found(uri: http::Uri) -> Problem {
    Problem::new(ErrorKind::NotFound, "route_not_found", format!("no API route at {}", uri.path()))
}
