//! Object storage for stagecast: one bucket on AWS S3 or any S3-compatible store (s3s-fs,
//! MinIO), through the AWS SDK.
//!
//! Layers:
//! - [`Config`]: where the bucket is and the keys to sign with (the secret never printed).
//! - [`Bucket`]: the calls stagecast makes: create the bucket, put (bytes or a file, multipart
//!   above [`MULTIPART_THRESHOLD`]), get (streamed, optionally a byte range), head, list, delete
//!   (one key or a prefix) and presigned GET URLs.
//! - [`Error`]: three kinds a caller acts on differently: bad configuration, no answer
//!   ([`Error::Unreachable`], worth a retry later), and the store's refusal with its S3 code.
//!
//! Invariants:
//! - A custom endpoint is reached with path-style URLs (`{endpoint}/{bucket}/{key}`), so any
//!   host name works without wildcard DNS; AWS itself (no endpoint) gets virtual-hosted URLs.
//! - The SDK tries a request at most twice: the callers (avatar uploads, egress, recording)
//!   have their own retry or spool, and a long SDK backoff would only hide an outage from them.
//! - Nothing touches the network before the first call: a service starts while its store is down.
#![forbid(unsafe_code)]

use std::{path::Path, sync::Arc, time::Duration};

use aws_sdk_s3::{
    Client,
    config::{BehaviorVersion, Credentials, Region, retry::RetryConfig, timeout::TimeoutConfig},
    presigning::PresigningConfig,
    primitives::{ByteStream, Length},
    types::{
        BucketLocationConstraint, CompletedMultipartUpload, CompletedPart, CreateBucketConfiguration, Delete, ObjectIdentifier,
    },
};
use bytes::Bytes;
use futures::{StreamExt, stream::BoxStream};

mod error;
pub use error::Error;
use error::from_sdk;

/// Files larger than this are uploaded in parts by [`Bucket::put_file`].
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// The size of each part of a multipart upload (the last one may be smaller). S3's minimum is 5 MiB.
pub const PART_SIZE: u64 = 8 * 1024 * 1024;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);
/// S3's own maximum for one list page and one multi-object delete.
const MAX_PAGE: i32 = 1000;

/// Where the bucket is and how to sign for it.
#[derive(Clone)]
pub struct Config {
    /// Base URL of an S3-compatible API, e.g. `http://127.0.0.1:59000`; `None` is AWS S3 itself
    /// (in `region`).
    pub endpoint: Option<String>,
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

/// What [`Bucket::list`] and [`Bucket::head`] tell about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
}

/// An object being read: its metadata and a stream of its bytes.
pub struct Object {
    pub content_type: Option<String>,
    /// The length of this body (of the range, for a ranged read).
    pub content_length: Option<u64>,
    /// For a ranged read, the `Content-Range` the store answered (`bytes 0-99/1234`).
    pub content_range: Option<String>,
    /// The whole object's size: from `Content-Range` for a ranged read, else `content_length`.
    pub total_length: Option<u64>,
    pub body: BoxStream<'static, Result<Bytes, Error>>,
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("content_type", &self.content_type)
            .field("content_length", &self.content_length)
            .field("content_range", &self.content_range)
            .field("total_length", &self.total_length)
            .finish_non_exhaustive()
    }
}

/// One bucket on one endpoint. Cheap to clone: the SDK client is shared.
#[derive(Clone)]
pub struct Bucket {
    client: Client,
    name: Arc<str>,
    region: Arc<str>,
    endpoint: Option<Arc<str>>,
    list_page_size: i32,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("name", &self.name)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Bucket {
    /// Checks the configuration and builds the client; no network.
    pub fn new(config: Config) -> Result<Self, Error> {
        let endpoint = config.endpoint.as_deref().map(check_endpoint).transpose()?;
        check_bucket_name(&config.bucket)?;
        if config.region.trim().is_empty() {
            return Err(Error::Config("region must not be empty".into()));
        }
        let credentials = Credentials::new(config.access_key, config.secret_key, None, None, "stagecast-storage");
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .timeout_config(
                TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).operation_timeout(OPERATION_TIMEOUT).build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(2));
        if let Some(endpoint) = &endpoint {
            builder = builder.endpoint_url(endpoint.as_str()).force_path_style(true);
        }
        Ok(Self {
            client: Client::from_conf(builder.build()),
            name: config.bucket.into(),
            region: config.region.into(),
            endpoint: endpoint.map(Into::into),
            list_page_size: MAX_PAGE,
        })
    }

    /// Sets how many keys one list request asks for (S3's maximum, 1000, by default), so tests
    /// can see [`Bucket::list`] follow pages without creating thousands of objects.
    #[doc(hidden)]
    pub fn with_list_page_size(mut self, keys: i32) -> Self {
        self.list_page_size = keys.clamp(1, MAX_PAGE);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Creates the bucket if it is missing; one that exists and is ours is fine.
    pub async fn ensure_exists(&self) -> Result<(), Error> {
        match self.head_bucket().await {
            Ok(()) => return Ok(()),
            Err(Error::Refused { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
        let mut create = self.client.create_bucket().bucket(self.name.as_ref());
        // AWS (and MinIO with a region set) wants the region named for any bucket outside us-east-1.
        if self.region.as_ref() != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_ref()))
                    .build(),
            );
        }
        match create.send().await.map_err(|e| from_sdk("create bucket", e)) {
            Ok(_) => Ok(()),
            Err(Error::Refused { code, .. }) if code == "BucketAlreadyOwnedByYou" => Ok(()),
            // Someone created it between our HEAD and PUT: fine if we can reach it (on AWS it
            // may be another account's, and then HEAD refuses).
            Err(Error::Refused { code, .. }) if code == "BucketAlreadyExists" => self.head_bucket().await,
            Err(e) => Err(e),
        }
    }

    async fn head_bucket(&self) -> Result<(), Error> {
        self.client.head_bucket().bucket(self.name.as_ref()).send().await.map(drop).map_err(|e| from_sdk("head bucket", e))
    }

    /// Stores `body` under `key`, replacing any object there.
    pub async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), Error> {
        self.client
            .put_object()
            .bucket(self.name.as_ref())
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map(drop)
            .map_err(|e| from_sdk("put object", e))
    }

    /// Uploads the file at `path` under `key`, streaming it from disk (never all in memory):
    /// one request up to [`MULTIPART_THRESHOLD`], else a multipart upload of [`PART_SIZE`]
    /// parts, which is aborted if any part fails so no hidden parts are left to pay for.
    /// Returns the number of bytes stored.
    pub async fn put_file(&self, key: &str, path: &Path, content_type: &str) -> Result<u64, Error> {
        let size = tokio::fs::metadata(path).await.map_err(|e| Error::Config(format!("reading {}: {e}", path.display())))?.len();
        if size <= MULTIPART_THRESHOLD {
            let body = file_body(path, 0, size).await?;
            self.client
                .put_object()
                .bucket(self.name.as_ref())
                .key(key)
                .content_type(content_type)
                .body(body)
                .send()
                .await
                .map_err(|e| from_sdk("put object", e))?;
            return Ok(size);
        }
        let created = self
            .client
            .create_multipart_upload()
            .bucket(self.name.as_ref())
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| from_sdk("create multipart upload", e))?;
        let upload_id =
            created.upload_id().ok_or_else(|| Error::Refused { status: 200, code: "MissingUploadId".into() })?.to_owned();
        match self.upload_parts(key, path, size, &upload_id).await {
            Ok(()) => Ok(size),
            Err(e) => {
                let abort =
                    self.client.abort_multipart_upload().bucket(self.name.as_ref()).key(key).upload_id(&upload_id).send().await;
                if let Err(abort) = abort {
                    tracing::warn!(error = %from_sdk("abort multipart upload", abort), key, upload_id, "cannot abort a failed multipart upload");
                }
                Err(e)
            }
        }
    }

    async fn upload_parts(&self, key: &str, path: &Path, size: u64, upload_id: &str) -> Result<(), Error> {
        let mut completed = Vec::new();
        for (number, offset, length) in parts(size, PART_SIZE) {
            let part = self
                .client
                .upload_part()
                .bucket(self.name.as_ref())
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(file_body(path, offset, length).await?)
                .send()
                .await
                .map_err(|e| from_sdk("upload part", e))?;
            completed.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(part.e_tag)
                    .set_checksum_crc32(part.checksum_crc32)
                    .set_checksum_crc32_c(part.checksum_crc32_c)
                    .set_checksum_crc64_nvme(part.checksum_crc64_nvme)
                    .set_checksum_sha1(part.checksum_sha1)
                    .set_checksum_sha256(part.checksum_sha256)
                    .build(),
            );
        }
        self.client
            .complete_multipart_upload()
            .bucket(self.name.as_ref())
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
            .send()
            .await
            .map(drop)
            .map_err(|e| from_sdk("complete multipart upload", e))
    }

    /// The object under `key`, or `None` if there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Object>, Error> {
        self.get_range(key, None).await
    }

    /// The object under `key`, or the part of it `range` names: an HTTP `Range` value such as
    /// `bytes=0-99`, `bytes=100-` or `bytes=-500`. A range past the end is
    /// `Refused { status: 416, .. }`.
    pub async fn get_range(&self, key: &str, range: Option<&str>) -> Result<Option<Object>, Error> {
        let out =
            match self.client.get_object().bucket(self.name.as_ref()).key(key).set_range(range.map(str::to_owned)).send().await {
                Ok(out) => out,
                Err(e) => {
                    let e = from_sdk("get object", e);
                    return if e.is_missing_key() { Ok(None) } else { Err(e) };
                }
            };
        let content_length = out.content_length.and_then(|n| u64::try_from(n).ok());
        let total_length = match out.content_range.as_deref() {
            Some(range) => total_of_content_range(range),
            None => content_length,
        };
        let what = format!("reading {key}");
        let body = futures::stream::unfold((out.body, what), |(mut body, what)| async move {
            let next = body.next().await?;
            Some((
                next.map_err(|e| Error::Unreachable(format!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(&e)))),
                (body, what),
            ))
        })
        .boxed();
        Ok(Some(Object { content_type: out.content_type, content_length, content_range: out.content_range, total_length, body }))
    }

    /// The size of the object under `key`, or `None` if there is none.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, Error> {
        match self.client.head_object().bucket(self.name.as_ref()).key(key).send().await {
            Ok(out) => Ok(Some(ObjectMeta { key: key.to_owned(), size: size_of(out.content_length) })),
            Err(e) => {
                let e = from_sdk("head object", e);
                if e.is_missing_key() { Ok(None) } else { Err(e) }
            }
        }
    }

    /// Deletes the object under `key`; deleting a missing object succeeds (as in S3).
    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        match self
            .client
            .delete_object()
            .bucket(self.name.as_ref())
            .key(key)
            .send()
            .await
            .map_err(|e| from_sdk("delete object", e))
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_missing_key() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every object whose key starts with `prefix`, in key order, following all pages.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, Error> {
        let mut objects = Vec::new();
        let mut continuation = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(self.name.as_ref())
                .prefix(prefix)
                .max_keys(self.list_page_size)
                .set_continuation_token(continuation.take())
                .send()
                .await
                .map_err(|e| from_sdk("list objects", e))?;
            objects.extend(
                page.contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| Some(ObjectMeta { size: size_of(o.size), key: o.key? })),
            );
            match page.next_continuation_token {
                Some(token) if page.is_truncated == Some(true) => continuation = Some(token),
                _ => return Ok(objects),
            }
        }
    }

    /// Deletes every object whose key starts with `prefix`; returns how many there were.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<u64, Error> {
        let keys = self.list(prefix).await?;
        let mut deleted = 0;
        for batch in keys.chunks(MAX_PAGE as usize) {
            let objects = batch
                .iter()
                .map(|o| ObjectIdentifier::builder().key(&o.key).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::Config(format!("delete objects: {e}")))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| Error::Config(format!("delete objects: {e}")))?;
            let out = self
                .client
                .delete_objects()
                .bucket(self.name.as_ref())
                .delete(delete)
                .send()
                .await
                .map_err(|e| from_sdk("delete objects", e))?;
            // A multi-object delete answers 200 and lists the keys it could not delete.
            if let Some(failed) = out.errors.as_deref().and_then(|errors| errors.iter().find(|e| e.code() != Some("NoSuchKey"))) {
                return Err(Error::Refused { status: 200, code: failed.code().unwrap_or("DeleteFailed").to_owned() });
            }
            deleted += batch.len() as u64;
        }
        Ok(deleted)
    }

    /// A URL anyone can GET the object under `key` with, for `expires_in` (at most 7 days), with
    /// no credentials of their own. Signing is local: no network.
    pub async fn presign_get(&self, key: &str, expires_in: Duration) -> Result<String, Error> {
        let presigning = PresigningConfig::expires_in(expires_in).map_err(|e| Error::Config(format!("presign expiry: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(self.name.as_ref())
            .key(key)
            .presigned(presigning)
            .await
            .map_err(|e| from_sdk("presign get object", e))?;
        Ok(request.uri().to_owned())
    }
}

/// A region of a file as an upload body, read from disk as it is sent (and again on a retry).
async fn file_body(path: &Path, offset: u64, length: u64) -> Result<ByteStream, Error> {
    ByteStream::read_from()
        .path(path)
        .offset(offset)
        .length(Length::Exact(length))
        .build()
        .await
        .map_err(|e| Error::Config(format!("reading {}: {e}", path.display())))
}

/// The parts of a multipart upload of `size` bytes: `(part number from 1, offset, length)`.
fn parts(size: u64, part_size: u64) -> impl Iterator<Item = (i32, u64, u64)> {
    (0..size.div_ceil(part_size)).map(move |i| (i as i32 + 1, i * part_size, part_size.min(size - i * part_size)))
}

fn size_of(len: Option<i64>) -> u64 {
    len.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

/// The total of a `Content-Range: bytes 0-99/1234` value (`None` for `*`).
fn total_of_content_range(value: &str) -> Option<u64> {
    value.rsplit_once('/')?.1.trim().parse().ok()
}

fn check_endpoint(endpoint: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::Config(format!("endpoint {endpoint:?} {why}"));
    let url = url::Url::parse(endpoint.trim_end_matches('/')).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || url.path() != "/" || url.query().is_some() {
        return Err(bad("must be http(s)://host[:port]"));
    }
    Ok(endpoint.trim_end_matches('/').to_owned())
}

/// S3's rules in short: 3 to 63 lower-case letters, digits, `-` and `.`.
fn check_bucket_name(name: &str) -> Result<(), Error> {
    let ok = (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!("bucket name {name:?} must be 3 to 63 lower-case letters, digits, '-' and '.'")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(endpoint: Option<&str>, bucket: &str) -> Config {
        Config {
            endpoint: endpoint.map(str::to_owned),
            region: "us-east-1".into(),
            access_key: "k".into(),
            secret_key: "hunter2".into(),
            bucket: bucket.into(),
        }
    }

    #[test]
    fn debug_output_of_the_config_and_the_bucket_hides_the_secret_key() {
        let c = config(Some("http://127.0.0.1:9000"), "stagecast");
        assert!(!format!("{c:?}").contains("hunter2"));
        let b = Bucket::new(c).unwrap();
        assert!(!format!("{b:?}").contains("hunter2"));
    }

    #[test]
    fn endpoints_with_paths_or_other_schemes_and_bad_bucket_names_are_refused() {
        assert!(Bucket::new(config(Some("http://127.0.0.1:9000/"), "b-1")).is_ok());
        assert!(Bucket::new(config(None, "b-1")).is_ok());
        for endpoint in ["http://h/prefix", "ftp://h", "not a url", "http://h?x=1"] {
            assert!(matches!(Bucket::new(config(Some(endpoint), "b-1")), Err(Error::Config(_))), "{endpoint}");
        }
        for name in ["Bad_Name", "", "ab", "-ab", "ab-", &"a".repeat(64)] {
            assert!(matches!(Bucket::new(config(None, name)), Err(Error::Config(_))), "{name}");
        }
    }

    #[test]
    fn a_file_is_cut_into_eight_mebibyte_parts_with_a_shorter_last_one() {
        const MIB: u64 = 1024 * 1024;
        let p: Vec<_> = parts(20 * MIB, PART_SIZE).collect();
        assert_eq!(p, vec![(1, 0, 8 * MIB), (2, 8 * MIB, 8 * MIB), (3, 16 * MIB, 4 * MIB)]);
        assert_eq!(parts(16 * MIB, PART_SIZE).count(), 2);
        assert_eq!(parts(16 * MIB + 1, PART_SIZE).last(), Some((3, 16 * MIB, 1)));
    }

    #[test]
    fn the_total_size_is_read_from_a_content_range() {
        assert_eq!(total_of_content_range("bytes 0-99/1234"), Some(1234));
        assert_eq!(total_of_content_range("bytes 0-99/*"), None);
        assert_eq!(total_of_content_range("nonsense"), None);
    }
}
