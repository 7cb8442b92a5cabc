//! A small S3 client for stagecast: create a bucket, put, get (streamed) and delete objects.
//!
//! Layers:
//! - [`sigv4`]: AWS Signature Version 4, sans-IO, tested against the documented AWS examples.
//! - [`Bucket`]: one bucket on one S3-compatible endpoint (AWS, MinIO, s3s-fs), reached with
//!   path-style URLs (`{endpoint}/{bucket}/{key}`), so any host name works without wildcard DNS.
//!
//! Why not the AWS SDK: four calls do not justify its compile time; every request here is one
//! signed HTTP exchange. Bodies are signed with their SHA-256 (not `UNSIGNED-PAYLOAD`), so a
//! proxy cannot alter an upload unnoticed.
#![forbid(unsafe_code)]

use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use reqwest::{Method, StatusCode};

pub mod sigv4;

/// Where the bucket is and how to sign for it.
#[derive(Clone)]
pub struct Config {
    /// Base URL of the S3 API, e.g. `http://127.0.0.1:59000` or `https://s3.eu-west-1.amazonaws.com`.
    pub endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    pub bucket: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &"[redacted]")
            .field("bucket", &self.bucket)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid object store configuration: {0}")]
    Config(String),
    /// No answer: connection refused, timeout, reset.
    #[error("object store unreachable: {0}")]
    Unreachable(#[source] reqwest::Error),
    /// An S3 error response; `code` is S3's (`NoSuchKey`, `SignatureDoesNotMatch`, ...).
    #[error("object store refused the request: {status} {code}")]
    Refused { status: u16, code: String },
}

/// An object being read: its metadata and a stream of its bytes.
pub struct Object {
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub body: BoxStream<'static, Result<Bytes, Error>>,
}

/// One bucket on one endpoint. Cheap to clone (the HTTP client is shared).
#[derive(Clone)]
pub struct Bucket {
    http: reqwest::Client,
    base: url::Url,
    /// `host[:port]` exactly as the HTTP client sends it, since it is signed.
    host: String,
    config: std::sync::Arc<Config>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").field("config", &self.config).finish()
    }
}

impl Bucket {
    pub fn new(config: Config) -> Result<Self, Error> {
        let base = url::Url::parse(config.endpoint.trim_end_matches('/'))
            .map_err(|e| Error::Config(format!("endpoint {:?}: {e}", config.endpoint)))?;
        if !matches!(base.scheme(), "http" | "https") || base.path() != "/" || base.query().is_some() {
            return Err(Error::Config(format!("endpoint {:?} must be http(s)://host[:port]", config.endpoint)));
        }
        let host = match (base.host_str(), base.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(Error::Config(format!("endpoint {:?} has no host", config.endpoint))),
        };
        if config.bucket.is_empty()
            || !config.bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        {
            return Err(Error::Config(format!(
                "bucket name {:?} must be lower-case letters, digits, '-' and '.'",
                config.bucket
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self { http, base, host, config: std::sync::Arc::new(config) })
    }

    pub fn name(&self) -> &str {
        &self.config.bucket
    }

    /// Creates the bucket; one that already exists (and is ours) is fine.
    pub async fn ensure_exists(&self) -> Result<(), Error> {
        let path = format!("/{}", self.config.bucket);
        match self.send(Method::PUT, &path, None).await {
            Ok(_) => Ok(()),
            Err(Error::Refused { status: 409, code }) if code.starts_with("BucketAlready") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Stores `body` under `key` (replacing any object there).
    pub async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), Error> {
        self.send(Method::PUT, &self.object_path(key), Some((body, content_type))).await.map(drop)
    }

    /// The object under `key`, or `None` if there is none (or no bucket).
    pub async fn get(&self, key: &str) -> Result<Option<Object>, Error> {
        let resp = match self.send(Method::GET, &self.object_path(key), None).await {
            Ok(r) => r,
            Err(Error::Refused { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let content_type = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_length = resp.content_length();
        let body = resp.bytes_stream().map_err(Error::Unreachable).boxed();
        Ok(Some(Object { content_type, content_length, body }))
    }

    /// Deletes the object under `key`; deleting a missing object succeeds (as in S3).
    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        match self.send(Method::DELETE, &self.object_path(key), None).await {
            Ok(_) | Err(Error::Refused { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn object_path(&self, key: &str) -> String {
        format!("/{}/{}", self.config.bucket, key.trim_start_matches('/'))
    }

    async fn send(&self, method: Method, path: &str, body: Option<(Bytes, &str)>) -> Result<reqwest::Response, Error> {
        let payload_sha256 = match &body {
            // Hashing 2 MiB takes milliseconds: off the async threads.
            Some((bytes, _)) if bytes.len() > 64 * 1024 => {
                let bytes = bytes.clone();
                tokio::task::spawn_blocking(move || sigv4::sha256_hex(&bytes))
                    .await
                    .map_err(|e| Error::Config(format!("hashing task: {e}")))?
            }
            Some((bytes, _)) => sigv4::sha256_hex(bytes),
            None => sigv4::EMPTY_SHA256.to_owned(),
        };
        let amz_date = sigv4::amz_date(chrono::Utc::now());
        let authorization = sigv4::sign(
            &sigv4::Scope {
                access_key: &self.config.access_key,
                secret_key: &self.config.secret_key,
                region: &self.config.region,
                service: "s3",
            },
            &sigv4::Request {
                method: method.as_str(),
                path,
                query: &[],
                headers: &[("host", &self.host), ("x-amz-content-sha256", &payload_sha256), ("x-amz-date", &amz_date)],
                payload_sha256: &payload_sha256,
            },
            &amz_date,
        );
        let mut url = self.base.clone();
        url.set_path(&sigv4::uri_encode(path, false));
        let mut req = self
            .http
            .request(method, url)
            .header("x-amz-content-sha256", &payload_sha256)
            .header("x-amz-date", &amz_date)
            .header(reqwest::header::AUTHORIZATION, authorization);
        req = match body {
            Some((bytes, content_type)) => req.header(reqwest::header::CONTENT_TYPE, content_type).body(bytes),
            None => req.header(reqwest::header::CONTENT_LENGTH, 0),
        };
        let resp = req.send().await.map_err(Error::Unreachable)?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let text = if status == StatusCode::NOT_FOUND && resp.content_length() == Some(0) {
            String::new()
        } else {
            resp.text().await.unwrap_or_default()
        };
        let code = xml_code(&text).unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").replace(' ', ""));
        Err(Error::Refused { status: status.as_u16(), code })
    }
}

/// `<Code>NoSuchKey</Code>` from an S3 error body.
fn xml_code(body: &str) -> Option<String> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body[start..].find("</Code>")? + start;
    Some(body[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoint: &str, bucket: &str) -> Config {
        Config {
            endpoint: endpoint.into(),
            region: "us-east-1".into(),
            access_key: "k".into(),
            secret_key: "hunter2".into(),
            bucket: bucket.into(),
        }
    }

    #[test]
    fn debug_output_hides_the_secret_key() {
        let b = Bucket::new(config("http://127.0.0.1:9000", "stagecast")).unwrap();
        assert!(!format!("{b:?}").contains("hunter2"));
    }

    #[test]
    fn host_keeps_a_non_default_port_and_drops_a_default_one() {
        assert_eq!(Bucket::new(config("http://127.0.0.1:9000/", "b")).unwrap().host, "127.0.0.1:9000");
        assert_eq!(Bucket::new(config("https://s3.example.com:443", "b")).unwrap().host, "s3.example.com");
    }

    #[test]
    fn endpoints_with_paths_and_bad_bucket_names_are_refused() {
        assert!(Bucket::new(config("http://h/prefix", "b")).is_err());
        assert!(Bucket::new(config("ftp://h", "b")).is_err());
        assert!(Bucket::new(config("http://h", "Bad_Name")).is_err());
    }

    #[test]
    fn error_code_is_read_from_the_xml_body() {
        assert_eq!(xml_code("<Error><Code>NoSuchKey</Code><Message>x</Message></Error>").as_deref(), Some("NoSuchKey"));
        assert_eq!(xml_code("nope"), None);
    }
}
