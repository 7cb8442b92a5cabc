//! Avatar upload to S3 (the test s3s-fs, which verifies signatures), serving and removal.
use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Account, Storage, TestApp, assert_problem, spawn, spawn_with_storage};

/// A real 1×1 PNG.
fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
        .unwrap()
}

/// The start of a JPEG (SOI + APP0); the gateway checks signatures, it does not decode.
fn jpeg() -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xD9");
    b
}

fn webp() -> Vec<u8> {
    let mut b = b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0".to_vec();
    b.truncate(38);
    b
}

async fn upload(app: &TestApp, who: &Account, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.put_bytes("/api/v1/me/avatar", Some(&who.access), Some(content_type), body).await
}

async fn avatar_url(app: &TestApp, who: &Account) -> Value {
    let me: Value = app.get("/api/v1/me", Some(&who.access)).await.json().await.unwrap();
    me["avatar_url"].clone()
}

/// The API path of an avatar URL (the URL is absolute, on the gateway's public base).
fn path_of(url: &str) -> String {
    let i = url.find("/api/v1/avatars/").unwrap_or_else(|| panic!("not an avatar URL: {url}"));
    url[i..].to_owned()
}

#[tokio::test]
async fn an_uploaded_png_becomes_the_avatar_and_is_served_back_byte_identical_to_anyone() {
    let app = spawn().await;
    let ada = app.sign_up().await;
    let r = upload(&app, &ada, "image/png", png()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let url = body["avatar_url"].as_str().unwrap().to_owned();
    let prefix = format!("{}/api/v1/avatars/{}/", app.base, ada.user_id);
    assert!(url.starts_with(&prefix) && url.ends_with(".png"), "{url}");
    let file = &url[prefix.len()..url.len() - 4];
    assert_eq!(uuid::Uuid::parse_str(file).unwrap().hyphenated().to_string(), file);
    assert_eq!(body["id"], ada.user_id.as_str());
    assert_eq!(avatar_url(&app, &ada).await, url.as_str(), "GET /me shows it");

    // Public: no token, and another signed-in user.
    let bob = app.sign_up().await;
    for token in [None, Some(bob.access.as_str())] {
        let r = app.get(&path_of(&url), token).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.bytes().await.unwrap().to_vec(), png());
    }
}

#[tokio::test]
async fn jpeg_and_webp_uploads_keep_their_type_and_an_image_of_exactly_two_mebibytes_is_accepted() {
    let app = spawn().await;
    let ada = app.sign_up().await;
    let mut big = png();
    big.resize(2 * 1024 * 1024, 0);
    for (content_type, ext, body) in [("image/jpeg", ".jpg", jpeg()), ("image/webp", ".webp", webp()), ("image/png", ".png", big)]
    {
        let r = upload(&app, &ada, content_type, body.clone()).await;
        assert_eq!(r.status(), StatusCode::OK, "{content_type}");
        let url = r.json::<Value>().await.unwrap()["avatar_url"].as_str().unwrap().to_owned();
        assert!(url.ends_with(ext), "{url}");
        let r = app.get(&path_of(&url), None).await;
        assert_eq!(r.headers()["content-type"], content_type);
        assert_eq!(r.bytes().await.unwrap().len(), body.len());
    }
}

#[tokio::test]
async fn wrong_magic_bytes_unsupported_types_and_oversized_images_are_refused_and_change_nothing() {
    let app = spawn().await;
    let ada = app.sign_up().await;
    assert_eq!(upload(&app, &ada, "image/png", png()).await.status(), StatusCode::OK);
    let before = avatar_url(&app, &ada).await;

    assert_problem(upload(&app, &ada, "image/png", jpeg()).await, StatusCode::UNPROCESSABLE_ENTITY, "image_type_mismatch").await;
    assert_problem(
        upload(&app, &ada, "image/jpeg", b"<svg onload=alert(1)>".to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "image_type_mismatch",
    )
    .await;
    assert_problem(
        upload(&app, &ada, "image/webp", b"RIFF\0\0\0\0WAVEfmt ".to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "image_type_mismatch",
    )
    .await;
    assert_problem(upload(&app, &ada, "image/png", Vec::new()).await, StatusCode::UNPROCESSABLE_ENTITY, "image_required").await;
    assert_problem(
        upload(&app, &ada, "image/gif", b"GIF89a\x01\0\x01\0".to_vec()).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_image_type",
    )
    .await;
    assert_problem(
        upload(&app, &ada, "image/svg+xml", b"<svg/>".to_vec()).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_image_type",
    )
    .await;
    let r = app.put_bytes("/api/v1/me/avatar", Some(&ada.access), None, png()).await;
    assert_problem(r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_image_type").await;
    let mut huge = png();
    huge.resize(2 * 1024 * 1024 + 1, 0);
    assert_problem(upload(&app, &ada, "image/png", huge).await, StatusCode::PAYLOAD_TOO_LARGE, "image_too_large").await;

    assert_eq!(avatar_url(&app, &ada).await, before);
    let r = app.get(&path_of(before.as_str().unwrap()), None).await;
    assert_eq!(r.bytes().await.unwrap().to_vec(), png(), "the stored image is untouched");
}

#[tokio::test]
async fn only_avatar_names_can_be_read_so_traversal_and_non_uuid_paths_are_not_found() {
    let app = spawn().await;
    let ada = app.sign_up().await;
    let url =
        upload(&app, &ada, "image/png", png()).await.json::<Value>().await.unwrap()["avatar_url"].as_str().unwrap().to_owned();
    let path = path_of(&url);
    let file = path.rsplit('/').next().unwrap().to_owned();
    let stem = file.trim_end_matches(".png");
    let user = &ada.user_id;
    let other = uuid::Uuid::new_v4();
    for bad in [
        format!("/api/v1/avatars/{other}/{file}"),
        format!("/api/v1/avatars/{user}/{stem}.jpg"),
        format!("/api/v1/avatars/{user}/{stem}.gif"),
        format!("/api/v1/avatars/{user}/{}", file.to_uppercase()),
        format!("/api/v1/avatars/{user}/{}.png", stem.replace('-', "")),
        format!("/api/v1/avatars/{user}/..%2F..%2F{user}%2F{file}"),
        format!("/api/v1/avatars/..%2Favatars%2F{user}/{file}"),
        format!("/api/v1/avatars/{}/{file}", user.to_uppercase()),
        format!("/api/v1/avatars/{user}/secret.png"),
    ] {
        let r = app.get(&bad, None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
        let code = r.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned();
        assert!(code == "avatar_not_found" || code == "route_not_found", "{bad}: {code}");
    }
    assert_eq!(app.get(&path, None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_upload_without_a_token_is_unauthenticated() {
    let app = spawn().await;
    let r = app.put_bytes("/api/v1/me/avatar", None, Some("image/png"), png()).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "missing_token").await;
    let r = app.http.delete(app.url("/api/v1/me/avatar")).send().await.unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn removing_the_avatar_clears_it_and_deletes_the_image() {
    let app = spawn().await;
    let ada = app.sign_up().await;
    let url =
        upload(&app, &ada, "image/png", png()).await.json::<Value>().await.unwrap()["avatar_url"].as_str().unwrap().to_owned();
    let r = app.delete("/api/v1/me/avatar", &ada.access).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["avatar_url"], Value::Null);
    assert_eq!(avatar_url(&app, &ada).await, Value::Null);
    assert_problem(app.get(&path_of(&url), None).await, StatusCode::NOT_FOUND, "avatar_not_found").await;
    // Removing again is harmless.
    assert_eq!(app.delete("/api/v1/me/avatar", &ada.access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_new_upload_replaces_the_avatar_and_deletes_the_previous_image() {
    let app = spawn().await;
    let ada = app.sign_up().await;
    let first =
        upload(&app, &ada, "image/png", png()).await.json::<Value>().await.unwrap()["avatar_url"].as_str().unwrap().to_owned();
    let second =
        upload(&app, &ada, "image/jpeg", jpeg()).await.json::<Value>().await.unwrap()["avatar_url"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(avatar_url(&app, &ada).await, second.as_str());
    assert_problem(app.get(&path_of(&first), None).await, StatusCode::NOT_FOUND, "avatar_not_found").await;
    assert_eq!(app.get(&path_of(&second), None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn uploads_are_rate_limited_per_user() {
    let app = spawn_with_storage(Storage::TestServer, 2).await;
    let ada = app.sign_up().await;
    for _ in 0..2 {
        assert_eq!(upload(&app, &ada, "image/png", png()).await.status(), StatusCode::OK);
    }
    let before = avatar_url(&app, &ada).await;
    let b = assert_problem(upload(&app, &ada, "image/png", png()).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(b["retry_after"].as_u64().is_some());
    assert_eq!(avatar_url(&app, &ada).await, before);
    // Someone else is not affected.
    let bob = app.sign_up().await;
    assert_eq!(upload(&app, &bob, "image/png", png()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn when_the_store_is_unreachable_uploads_answer_storage_unavailable_and_the_profile_is_unchanged() {
    let app = spawn_with_storage(Storage::Unreachable, 10).await;
    let ada = app.sign_up().await;
    let r = app.patch("/api/v1/me", &ada.access, serde_json::json!({"avatar_url": "https://cdn.example.com/a.png"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = upload(&app, &ada, "image/png", png()).await;
    assert_problem(r, StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable").await;
    assert_eq!(avatar_url(&app, &ada).await, "https://cdn.example.com/a.png");
    // Removing a link to an image elsewhere needs no store.
    assert_eq!(app.delete("/api/v1/me/avatar", &ada.access).await.status(), StatusCode::OK);
    assert_eq!(avatar_url(&app, &ada).await, Value::Null);
}
