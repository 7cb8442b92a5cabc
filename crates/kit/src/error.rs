//! The one error mapping shared by every service and the gateway.
//!
//! A service returns `ApiError`; it becomes a `tonic::Status` whose gRPC code comes from the
//! [`ErrorKind`] and whose `stagecast-code` metadata carries the stable machine-readable code.
//! The gateway turns the status back into an `ApiError` and renders RFC 9457 problem JSON with the
//! HTTP status of the same kind. Internal details are logged where they are handled and never sent.
use std::{borrow::Cow, time::Duration};

use tonic::{Code, Status, metadata::MetadataValue};

pub const CODE_METADATA_KEY: &str = "stagecast-code";
pub const RETRY_AFTER_METADATA_KEY: &str = "stagecast-retry-after";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is wrong (malformed, missing or out-of-range fields).
    InvalidInput,
    /// No valid credentials.
    Unauthenticated,
    /// Authenticated, but not allowed to do this.
    PermissionDenied,
    NotFound,
    /// Conflicts with existing data (duplicate email).
    Conflict,
    /// Not allowed in the current state (illegal lifecycle transition).
    FailedPrecondition,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub fn grpc_code(self) -> Code {
        match self {
            ErrorKind::InvalidInput => Code::InvalidArgument,
            ErrorKind::Unauthenticated => Code::Unauthenticated,
            ErrorKind::PermissionDenied => Code::PermissionDenied,
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::Conflict => Code::AlreadyExists,
            ErrorKind::FailedPrecondition => Code::FailedPrecondition,
            ErrorKind::RateLimited => Code::ResourceExhausted,
            ErrorKind::Unavailable => Code::Unavailable,
            ErrorKind::Internal => Code::Internal,
        }
    }

    pub fn from_grpc_code(code: Code) -> Self {
        match code {
            Code::InvalidArgument | Code::OutOfRange => ErrorKind::InvalidInput,
            Code::Unauthenticated => ErrorKind::Unauthenticated,
            Code::PermissionDenied => ErrorKind::PermissionDenied,
            Code::NotFound => ErrorKind::NotFound,
            Code::AlreadyExists | Code::Aborted => ErrorKind::Conflict,
            Code::FailedPrecondition => ErrorKind::FailedPrecondition,
            Code::ResourceExhausted => ErrorKind::RateLimited,
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }

    pub fn http_status(self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            ErrorKind::InvalidInput => S::UNPROCESSABLE_ENTITY,
            ErrorKind::Unauthenticated => S::UNAUTHORIZED,
            ErrorKind::PermissionDenied => S::FORBIDDEN,
            ErrorKind::NotFound => S::NOT_FOUND,
            ErrorKind::Conflict => S::CONFLICT,
            ErrorKind::FailedPrecondition => S::CONFLICT,
            ErrorKind::RateLimited => S::TOO_MANY_REQUESTS,
            ErrorKind::Unavailable => S::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code used when a status carries no `stagecast-code` of its own.
    pub fn default_code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::FailedPrecondition => "failed_precondition",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

/// An error fit to show the caller: a kind, a stable code and a sentence that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    pub code: Cow<'static, str>,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self { kind, code: code.into(), message: message.into(), retry_after: None }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, code, message)
    }

    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, code, message)
    }

    /// An unexpected failure: the cause is logged here, once, and the caller sees only a generic
    /// message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorKind::Internal, "internal", "something went wrong on our side; please retry")
    }

    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Reads back an error a stagecast service sent. Statuses from elsewhere (transport errors,
    /// a service that is down) map by their gRPC code.
    pub fn from_status(status: &Status) -> Self {
        let kind = ErrorKind::from_grpc_code(status.code());
        let code = status.metadata().get(CODE_METADATA_KEY).and_then(|v| v.to_str().ok()).map(|s| Cow::Owned(s.to_owned()));
        let retry_after = status
            .metadata()
            .get(RETRY_AFTER_METADATA_KEY)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_secs);
        match code {
            Some(code) => Self { kind, code, message: status.message().to_owned(), retry_after },
            // A status without our code did not come from our error mapping: do not echo its message.
            None => {
                tracing::warn!(grpc_code = ?status.code(), message = status.message(), "downstream call failed");
                let message = match kind {
                    ErrorKind::Unavailable => "a backend service is unavailable; please retry shortly",
                    _ => "something went wrong on our side; please retry",
                };
                Self { kind, code: Cow::Borrowed(kind.default_code()), message: message.into(), retry_after: None }
            }
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Self {
        let mut status = Status::new(e.kind.grpc_code(), e.message);
        if let Ok(v) = MetadataValue::try_from(e.code.as_ref()) {
            status.metadata_mut().insert(CODE_METADATA_KEY, v);
        }
        if let Some(after) = e.retry_after
            && let Ok(v) = MetadataValue::try_from(after.as_secs().to_string())
        {
            status.metadata_mut().insert(RETRY_AFTER_METADATA_KEY, v);
        }
        status
    }
}

/// How long a caller is told to wait when a dependency is down.
pub const OUTAGE_RETRY_AFTER: Duration = Duration::from_secs(5);

impl ApiError {
    /// The service's database cannot be reached: the caller may retry; nothing was changed.
    pub fn database_unavailable() -> Self {
        Self::new(
            ErrorKind::Unavailable,
            "database_unavailable",
            "the database is unavailable at the moment; nothing was changed, please retry shortly",
        )
        .with_retry_after(OUTAGE_RETRY_AFTER)
    }
}

/// True when `e` says the database could not be reached (as opposed to a query it refused): no
/// connection within the pool's acquire timeout, a broken socket, or a server shutting down or
/// starting up (SQLSTATE class 08, 57P01-57P03).
pub fn is_database_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if is_database_outage(&e) {
            // Logged as a warning: an outage is an operational state, not a bug in this request.
            tracing::warn!(error = %e, "database unavailable");
            return ApiError::database_unavailable();
        }
        ApiError::internal(format!("database: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_survives_a_trip_through_grpc_status() {
        let e = ApiError::new(ErrorKind::FailedPrecondition, "illegal_transition", "an ended event cannot go live")
            .with_retry_after(Duration::from_secs(7));
        let status: Status = e.clone().into();
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(ApiError::from_status(&status), e);
    }

    #[test]
    fn foreign_status_message_is_not_echoed_to_the_caller() {
        let status = Status::internal("connection refused to 10.0.0.7:5432");
        let e = ApiError::from_status(&status);
        assert_eq!(e.code, "internal");
        assert!(!e.message.contains("10.0.0.7"));
    }

    #[test]
    fn a_database_that_cannot_be_reached_is_unavailable_with_a_retry_hint_not_internal() {
        for e in [sqlx::Error::PoolTimedOut, sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))] {
            let api = ApiError::from(e);
            assert_eq!(api.kind, ErrorKind::Unavailable);
            assert_eq!(api.code, "database_unavailable");
            assert_eq!(api.retry_after, Some(OUTAGE_RETRY_AFTER));
            assert_eq!(api.kind.http_status(), http::StatusCode::SERVICE_UNAVAILABLE);
        }
        let refused = ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(refused.code, "internal");
    }

    #[test]
    fn every_kind_maps_to_a_client_or_server_http_status() {
        for k in [
            ErrorKind::InvalidInput,
            ErrorKind::Unauthenticated,
            ErrorKind::PermissionDenied,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::FailedPrecondition,
            ErrorKind::RateLimited,
        ] {
            assert!(k.http_status().is_client_error(), "{k:?}");
            assert_eq!(ErrorKind::from_grpc_code(k.grpc_code()), k);
        }
        assert!(ErrorKind::Internal.http_status().is_server_error());
    }
}
