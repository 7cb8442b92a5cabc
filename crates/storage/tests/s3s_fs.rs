//! Against a real S3-compatible server (s3s-fs, started by scripts/test), which verifies SigV4.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use stagecast_storage::{Bucket, Config, Error, Object, ObjectMeta};

fn config(name: &str) -> Config {
    let s3 = stagecast_testkit::s3();
    Config {
        endpoint: Some(s3.endpoint),
        region: "us-east-1".into(),
        access_key: s3.access_key,
        secret_key: s3.secret_key,
        bucket: name.into(),
    }
}

/// A bucket of this test's own, created.
async fn fresh_bucket() -> Bucket {
    let b = Bucket::new(config(&format!("t-{}", uuid::Uuid::new_v4().simple()))).unwrap();
    b.ensure_exists().await.unwrap();
    b
}

/// Deterministic bytes that are not a repeating short pattern.
fn pattern(len: usize) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

async fn read_all(obj: Object) -> Vec<u8> {
    let chunks: Vec<Bytes> = obj.body.try_collect().await.unwrap();
    chunks.concat()
}

#[tokio::test]
async fn an_object_put_is_read_back_byte_identical_with_its_type_and_size_then_deleted() {
    let b = fresh_bucket().await;
    b.ensure_exists().await.expect("creating an existing bucket of ours is fine");
    let body = pattern(200_000);
    let key = "avatars/u1/a b+c.png";
    b.put(key, Bytes::from(body.clone()), "image/png").await.unwrap();

    assert_eq!(b.head(key).await.unwrap(), Some(ObjectMeta { key: key.into(), size: body.len() as u64 }));
    let obj = b.get(key).await.unwrap().expect("object exists");
    assert_eq!(obj.content_type.as_deref(), Some("image/png"));
    assert_eq!(obj.content_length, Some(body.len() as u64));
    assert_eq!(obj.total_length, Some(body.len() as u64));
    assert_eq!(obj.content_range, None);
    assert_eq!(read_all(obj).await, body);

    b.delete(key).await.unwrap();
    assert!(b.get(key).await.unwrap().is_none());
    assert_eq!(b.head(key).await.unwrap(), None);
    b.delete(key).await.expect("deleting a missing object succeeds");
}

#[tokio::test]
async fn a_range_read_returns_just_those_bytes_with_the_content_range_and_total_size() {
    let b = fresh_bucket().await;
    let body = pattern(10_000);
    b.put("rec/seg.ts", Bytes::from(body.clone()), "video/mp2t").await.unwrap();

    let part = b.get_range("rec/seg.ts", Some("bytes=100-199")).await.unwrap().unwrap();
    assert_eq!(part.content_length, Some(100));
    assert_eq!(part.content_range.as_deref(), Some("bytes 100-199/10000"));
    assert_eq!(part.total_length, Some(10_000));
    assert_eq!(read_all(part).await, &body[100..200]);

    let tail = b.get_range("rec/seg.ts", Some("bytes=9990-")).await.unwrap().unwrap();
    assert_eq!(tail.total_length, Some(10_000));
    assert_eq!(read_all(tail).await, &body[9990..]);

    let whole = b.get_range("rec/seg.ts", None).await.unwrap().unwrap();
    assert_eq!(whole.content_range, None);
    assert_eq!(read_all(whole).await, body);

    let err = b.get_range("rec/seg.ts", Some("bytes=20000-20100")).await.unwrap_err();
    assert!(matches!(err, Error::Refused { status: 416, .. }), "{err:?}");
    assert!(b.get_range("rec/missing.ts", Some("bytes=0-1")).await.unwrap().is_none());
}

#[tokio::test]
async fn a_twenty_mebibyte_file_is_uploaded_in_parts_and_reads_back_byte_identical() {
    let b = fresh_bucket().await;
    let body = pattern(20 * 1024 * 1024 + 123);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recording.mp4");
    tokio::fs::write(&path, &body).await.unwrap();

    let written = b.put_file("rec/r1/recording.mp4", &path, "video/mp4").await.unwrap();
    assert_eq!(written, body.len() as u64);
    assert_eq!(b.head("rec/r1/recording.mp4").await.unwrap().unwrap().size, body.len() as u64);
    let obj = b.get("rec/r1/recording.mp4").await.unwrap().unwrap();
    assert_eq!(obj.content_type.as_deref(), Some("video/mp4"));
    assert!(read_all(obj).await == body, "the object differs from the file");

    // And a small file in one request.
    let small = dir.path().join("small.bin");
    tokio::fs::write(&small, b"hello").await.unwrap();
    assert_eq!(b.put_file("rec/r1/small.bin", &small, "application/octet-stream").await.unwrap(), 5);
    assert_eq!(read_all(b.get("rec/r1/small.bin").await.unwrap().unwrap()).await, b"hello");
}

#[tokio::test]
async fn a_missing_file_is_a_config_error_and_nothing_is_stored() {
    let b = fresh_bucket().await;
    let err = b.put_file("x", std::path::Path::new("/nonexistent/stagecast/file"), "text/plain").await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(b.list("").await.unwrap().is_empty());
}

#[tokio::test]
async fn list_follows_every_page_and_delete_prefix_removes_only_that_prefix() {
    let b = fresh_bucket().await.with_list_page_size(7);
    for i in 0..30 {
        b.put(&format!("rec/a/{i:02}.ts"), Bytes::from(vec![b'x'; i]), "video/mp2t").await.unwrap();
    }
    b.put("rec/b/keep.ts", Bytes::from_static(b"keep"), "video/mp2t").await.unwrap();

    let listed = b.list("rec/a/").await.unwrap();
    assert_eq!(listed.len(), 30, "all 5 pages of 7");
    for (i, meta) in listed.iter().enumerate() {
        assert_eq!(meta, &ObjectMeta { key: format!("rec/a/{i:02}.ts"), size: i as u64 });
    }
    assert_eq!(b.list("rec/").await.unwrap().len(), 31);

    assert_eq!(b.delete_prefix("rec/a/").await.unwrap(), 30);
    assert!(b.list("rec/a/").await.unwrap().is_empty());
    assert_eq!(b.list("").await.unwrap(), vec![ObjectMeta { key: "rec/b/keep.ts".into(), size: 4 }]);
    assert_eq!(b.delete_prefix("rec/a/").await.unwrap(), 0);
}

#[tokio::test]
async fn a_presigned_url_serves_the_object_without_credentials_and_a_tampered_one_is_refused() {
    let b = fresh_bucket().await;
    b.put("rec/r1/index.m3u8", Bytes::from_static(b"#EXTM3U\n"), "application/vnd.apple.mpegurl").await.unwrap();
    let url = b.presign_get("rec/r1/index.m3u8", Duration::from_secs(300)).await.unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");

    let http = reqwest::Client::new();
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"#EXTM3U\n");

    // Another key under the same signature.
    let tampered = url.replace("index.m3u8", "secret.m3u8");
    assert_eq!(http.get(&tampered).send().await.unwrap().status(), 403);
    // A longer validity than was signed.
    let tampered = url.replace("X-Amz-Expires=300", "X-Amz-Expires=600");
    assert_ne!(tampered, url);
    assert_eq!(http.get(&tampered).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn a_wrong_secret_key_is_refused_with_signature_does_not_match() {
    let b = fresh_bucket().await;
    let wrong = Bucket::new(Config { secret_key: "not-the-secret".into(), ..config(b.name()) }).unwrap();
    let err = wrong.put("x.png", Bytes::from_static(b"x"), "image/png").await.unwrap_err();
    assert!(matches!(&err, Error::Refused { status: 403, code } if code == "SignatureDoesNotMatch"), "{err:?}");
    assert!(!format!("{err:?} {err}").contains("not-the-secret"));
}

#[tokio::test]
async fn listing_a_missing_bucket_is_refused_with_no_such_bucket_rather_than_found_empty() {
    // (s3s-fs answers a GET in a missing bucket with NoSuchKey, so only the listing tells.)
    let b = Bucket::new(config(&format!("t-{}", uuid::Uuid::new_v4().simple()))).unwrap();
    let err = b.list("").await.unwrap_err();
    assert!(matches!(&err, Error::Refused { status: 404, code } if code == "NoSuchBucket"), "{err:?}");
}

#[tokio::test]
async fn an_endpoint_with_nothing_listening_is_unreachable_and_says_so_quickly() {
    // A port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let b = Bucket::new(Config { endpoint: Some(format!("http://127.0.0.1:{port}")), ..config("stagecast") }).unwrap();
    let started = Instant::now();
    let err = b.ensure_exists().await.unwrap_err();
    let Error::Unreachable(words) = &err else { panic!("{err:?}") };
    assert!(words.to_lowercase().contains("connect"), "{words}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(matches!(b.get("x").await, Err(Error::Unreachable(_))));
}

#[tokio::test]
async fn a_bucket_outside_us_east_1_is_created_with_its_region_and_used() {
    let name = format!("t-{}", uuid::Uuid::new_v4().simple());
    let b = Bucket::new(Config { region: "eu-west-1".into(), ..config(&name) }).unwrap();
    b.ensure_exists().await.unwrap();
    b.ensure_exists().await.unwrap();
    b.put("k", Bytes::from_static(b"v"), "text/plain").await.unwrap();
    assert_eq!(b.head("k").await.unwrap().map(|m| m.size), Some(1));
}
