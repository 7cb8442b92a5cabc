//! Against a real S3-compatible server (s3s-fs, started by scripts/test), which verifies SigV4.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
use bytes::Bytes;
use futures::TryStreamExt;
use stagecast_objstore::{Bucket, Config, Error};

fn bucket(name: &str, secret: Option<&str>) -> Bucket {
    let s3 = stagecast_testkit::s3();
    Bucket::new(Config {
        endpoint: s3.endpoint,
        region: "us-east-1".into(),
        access_key: s3.access_key,
        secret_key: secret.map(str::to_owned).unwrap_or(s3.secret_key),
        bucket: name.into(),
    })
    .unwrap()
}

fn unique_bucket() -> String {
    format!("t-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn an_object_put_is_read_back_byte_identical_with_its_content_type_and_deleted() {
    let b = bucket(&unique_bucket(), None);
    b.ensure_exists().await.unwrap();
    b.ensure_exists().await.expect("creating an existing bucket of ours is fine");
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let key = "avatars/u1/a b+c.png";
    b.put(key, Bytes::from(body.clone()), "image/png").await.unwrap();

    let obj = b.get(key).await.unwrap().expect("object exists");
    assert_eq!(obj.content_type.as_deref(), Some("image/png"));
    assert_eq!(obj.content_length, Some(body.len() as u64));
    let read: Vec<Bytes> = obj.body.try_collect().await.unwrap();
    assert_eq!(read.concat(), body);

    b.delete(key).await.unwrap();
    assert!(b.get(key).await.unwrap().is_none());
    b.delete(key).await.expect("deleting a missing object succeeds");
}

#[tokio::test]
async fn a_wrong_secret_key_is_refused_by_the_server() {
    let name = unique_bucket();
    bucket(&name, None).ensure_exists().await.unwrap();
    let err = bucket(&name, Some("not-the-secret")).put("x.png", Bytes::from_static(b"x"), "image/png").await.unwrap_err();
    assert!(matches!(err, Error::Refused { status: 403, .. }), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_reported_as_unreachable() {
    let b = Bucket::new(Config {
        endpoint: "http://127.0.0.1:9".into(),
        region: "us-east-1".into(),
        access_key: "k".into(),
        secret_key: "s".into(),
        bucket: "b".into(),
    })
    .unwrap();
    assert!(matches!(b.ensure_exists().await, Err(Error::Unreachable(_))));
}
