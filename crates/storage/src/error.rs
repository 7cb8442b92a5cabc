//! The crate's one error type, and how the SDK's errors map onto it.
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Why a storage call failed. A missing object is not an error where the call returns an
/// `Option`: it is `None`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot work (bad endpoint, bucket name, expiry, ...).
    #[error("invalid object store configuration: {0}")]
    Config(String),
    /// No answer: connection refused, DNS failure, timeout, reset, a body cut off mid-stream.
    #[error("object store unreachable: {0}")]
    Unreachable(String),
    /// The store answered with an error; `code` is S3's (`NoSuchBucket`, `AccessDenied`,
    /// `SignatureDoesNotMatch`, `InvalidRange`, ...), or the status's reason phrase when the
    /// answer had no S3 error body.
    #[error("object store refused the request: {status} {code}")]
    Refused { status: u16, code: String },
}

impl Error {
    /// Whether this is the store saying the object (not the bucket) does not exist.
    pub(crate) fn is_missing_key(&self) -> bool {
        // A HEAD answer has no body, so its "not found" carries no S3 code.
        matches!(self, Self::Refused { status: 404, code } if code != "NoSuchBucket")
    }
}

/// Maps an SDK failure to [`Error`]. `what` names the call, for the words of `Unreachable`.
pub(crate) fn from_sdk<E>(what: &str, err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            Error::Refused { status, code: code_or_reason(service.err().code(), status) }
        }
        // An answer that is not a well-formed S3 response (a proxy's HTML page, say).
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            Error::Refused { status, code: code_or_reason(None, status) }
        }
        SdkError::TimeoutError(_) => Error::Unreachable(format!("{what}: timed out")),
        SdkError::DispatchFailure(_) => Error::Unreachable(format!("{what}: {}", DisplayErrorContext(&err))),
        SdkError::ConstructionFailure(_) => Error::Config(format!("{what}: {}", DisplayErrorContext(&err))),
        _ => Error::Unreachable(format!("{what}: {}", DisplayErrorContext(&err))),
    }
}

fn code_or_reason(code: Option<&str>, status: u16) -> String {
    match code {
        Some(code) if !code.is_empty() => code.to_owned(),
        _ => http_reason(status).to_owned(),
    }
}

/// The reason phrase without spaces, the form S3 codes take (`NotFound`, `Forbidden`).
fn http_reason(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        412 => "PreconditionFailed",
        416 => "InvalidRange",
        429 => "TooManyRequests",
        500 => "InternalError",
        501 => "NotImplemented",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_bucket_is_not_a_missing_key_but_a_bodiless_not_found_is() {
        assert!(Error::Refused { status: 404, code: "NoSuchKey".into() }.is_missing_key());
        assert!(Error::Refused { status: 404, code: "NotFound".into() }.is_missing_key());
        assert!(!Error::Refused { status: 404, code: "NoSuchBucket".into() }.is_missing_key());
        assert!(!Error::Refused { status: 403, code: "AccessDenied".into() }.is_missing_key());
    }

    #[test]
    fn an_answer_without_an_s3_code_is_named_by_its_status() {
        assert_eq!(code_or_reason(Some("SlowDown"), 503), "SlowDown");
        assert_eq!(code_or_reason(None, 403), "Forbidden");
        assert_eq!(code_or_reason(Some(""), 416), "InvalidRange");
    }
}
