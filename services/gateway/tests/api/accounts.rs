use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use stagecast_authn::{ACCESS_AUDIENCE, AccessClaims, ISSUER, Signer};

use crate::helpers::{Limits, assert_problem, spawn, spawn_with, unique_email};

#[tokio::test]
async fn sign_up_log_in_and_read_the_profile_with_the_access_token() {
    let app = spawn().await;
    let acct = app.sign_up().await;
    let r = app.post("/api/v1/auth/login", None, json!({"email": acct.email, "password": "correct horse battery"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["token_type"], "Bearer");
    let me: Value = app.get("/api/v1/me", Some(b["access_token"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(me["id"], acct.user_id.as_str());
    assert_eq!(me["email"], acct.email.as_str());
    assert_eq!(me["display_name"], "Ada");
    assert!(me.get("password_hash").is_none());
}

#[tokio::test]
async fn profile_changes_are_validated_and_saved() {
    let app = spawn().await;
    let acct = app.sign_up().await;
    let r = app
        .patch("/api/v1/me", &acct.access, json!({"display_name": "Grace", "avatar_url": "https://cdn.example.com/g.png"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.patch("/api/v1/me", &acct.access, json!({"display_name": "x".repeat(51)})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "display_name_too_long").await;
    let me: Value = app.get("/api/v1/me", Some(&acct.access)).await.json().await.unwrap();
    assert_eq!(me["display_name"], "Grace");
    assert_eq!(me["avatar_url"], "https://cdn.example.com/g.png");
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_ends_the_session_for_every_token() {
    let app = spawn().await;
    let acct = app.sign_up().await;
    let r = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": acct.refresh})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let next: Value = r.json().await.unwrap();
    let newest_access = next["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/me", Some(&newest_access)).await.status(), StatusCode::OK);

    let r = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": acct.refresh})).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    let r = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": next["refresh_token"]})).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;
    // The auth service's session.revoked message reaches the gateway over NATS; the access
    // tokens of the family stop working without waiting for them to expire.
    let mut status = StatusCode::OK;
    for _ in 0..50 {
        status = app.get("/api/v1/me", Some(&newest_access)).await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_problem(app.get("/api/v1/me", Some(&newest_access)).await, StatusCode::UNAUTHORIZED, "token_revoked").await;
}

#[tokio::test]
async fn logout_revokes_the_access_token_at_once() {
    let app = spawn().await;
    let acct = app.sign_up().await;
    let r = app.post("/api/v1/auth/logout", None, json!({"refresh_token": acct.refresh})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get("/api/v1/me", Some(&acct.access)).await, StatusCode::UNAUTHORIZED, "token_revoked").await;
    let r = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": acct.refresh})).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;
}

#[tokio::test]
async fn malformed_unknown_and_missing_fields_get_specific_problems() {
    let app = spawn().await;
    let r = app
        .http
        .post(app.url("/api/v1/auth/signup"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::BAD_REQUEST, "malformed_json").await;
    let r = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": unique_email(), "password": "correct horse battery", "display_name": "A", "admin": true}),
        )
        .await;
    let b = assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(b["detail"].as_str().unwrap().contains("admin"), "{b}");
    let r = app.post("/api/v1/auth/signup", None, json!({"email": unique_email(), "display_name": "A"})).await;
    let b = assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(b["detail"].as_str().unwrap().contains("password"), "{b}");
    let r = app.http.post(app.url("/api/v1/auth/login")).body("{}").send().await.unwrap();
    assert_problem(r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
}

#[tokio::test]
async fn wrong_password_duplicate_email_and_weak_password_are_refused() {
    let app = spawn().await;
    let acct = app.sign_up().await;
    let r = app.post("/api/v1/auth/login", None, json!({"email": acct.email, "password": "not the password"})).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let r = app
        .post("/api/v1/auth/signup", None, json!({"email": acct.email, "password": "correct horse battery", "display_name": "B"}))
        .await;
    assert_problem(r, StatusCode::CONFLICT, "email_taken").await;
    let r =
        app.post("/api/v1/auth/signup", None, json!({"email": unique_email(), "password": "short", "display_name": "B"})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "password_too_short").await;
}

#[tokio::test]
async fn missing_forged_foreign_and_expired_tokens_are_refused() {
    let app = spawn().await;
    let acct = app.sign_up().await;
    assert_problem(app.get("/api/v1/me", None).await, StatusCode::UNAUTHORIZED, "missing_token").await;
    assert_problem(app.get("/api/v1/me", Some("not.a.jwt")).await, StatusCode::UNAUTHORIZED, "token_invalid").await;
    // Change one character of the signature.
    let mut forged = acct.access.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_problem(app.get("/api/v1/me", Some(&forged)).await, StatusCode::UNAUTHORIZED, "token_invalid").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| AccessClaims {
        sub: acct.user_id.clone(),
        sid: uuid::Uuid::new_v4().to_string(),
        name: "Ada".into(),
        iss: ISSUER.into(),
        aud: ACCESS_AUDIENCE.into(),
        iat: now - 3600,
        exp,
        jti: "t".into(),
        evt: None,
    };
    let foreign = Signer::generate().sign(&claims(now + 600));
    assert_problem(app.get("/api/v1/me", Some(&foreign)).await, StatusCode::UNAUTHORIZED, "token_invalid").await;
    let expired = Signer::from_seed(app.seed).sign(&claims(now - 60));
    let b = assert_problem(app.get("/api/v1/me", Some(&expired)).await, StatusCode::UNAUTHORIZED, "token_expired").await;
    assert!(b["detail"].as_str().unwrap().contains("refresh"));
}

#[tokio::test]
async fn too_many_logins_are_rate_limited_with_retry_after() {
    let app = spawn_with(Limits { login_per_minute: 3 }).await;
    // A private client address, so parallel tests never share the bucket.
    let ip = format!("10.{}.{}.{}", rand_octet(), rand_octet(), rand_octet());
    let mut last = None;
    for _ in 0..4 {
        let r = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", &ip)
            .json(&json!({"email": unique_email(), "password": "whatever1"}))
            .send()
            .await
            .unwrap();
        last = Some(r);
    }
    let r = last.unwrap();
    let retry_after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    let b = assert_problem(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(b["retry_after"].as_u64().is_some());
}

fn rand_octet() -> u8 {
    uuid::Uuid::new_v4().as_bytes()[0]
}
