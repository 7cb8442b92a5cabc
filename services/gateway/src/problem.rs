//! RFC 9457 problem details: the one shape of every error the gateway returns. The type lives in
//! the service kit, shared with the SFU's signalling endpoints.
use stagecast_kit::ErrorKind;
pub use stagecast_kit::problem::Problem;

/// Fallback for paths no route matches.
pub async fn route_not_found(uri: http::Uri) -> Problem {
    Problem::new(ErrorKind::NotFound, "route_not_found", format!("no API route at {}; see /api/v1/openapi.json", uri.path()))
}
