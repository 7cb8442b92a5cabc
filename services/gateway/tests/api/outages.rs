//! When a dependency is down the API answers at once with 503, a specific code and
//! `Retry-After`; readiness says which dependency; nothing signed out comes back. Each test
//! stops a real server of its own.
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use stagecast_testkit::servers::{PrivatePostgres, PrivateRedis};

use crate::helpers::{Setup, TestApp, assert_problem, at, spawn_setup};

/// What an outage may take to answer: the database's acquire timeout (800 ms) or Redis's
/// timeouts (400 ms, one retry), plus the calls around it on a loaded test machine.
const PROMPT: Duration = Duration::from_millis(1500);

/// The session id (`sid`) an access token carries.
fn session_of(access: &str) -> String {
    use base64::Engine;
    let payload = access.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

async fn readiness(app: &TestApp) -> (StatusCode, Value) {
    let r = app.get("/readyz", None).await;
    (r.status(), r.json().await.unwrap())
}

/// Polls readiness until `check` holds (bounded: the services probe their database every second).
async fn wait_for_readiness(app: &TestApp, what: &str, check: impl Fn(StatusCode, &Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = readiness(app).await;
        if check(status, &body) {
            return body;
        }
        assert!(Instant::now() < deadline, "readiness never showed {what}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn with_postgres_stopped_writes_answer_503_database_unavailable_at_once_and_work_again_after() {
    let pg = PrivatePostgres::start();
    let app = spawn_setup(Setup { database_url: Some(pg.url()), ..Setup::default() }).await;
    let host = app.sign_up().await;
    let r = app.post("/api/v1/events", Some(&host.access), json!({"title": "Before", "starts_at": at(600)})).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    pg.stop();
    let started = Instant::now();
    let r = app.post("/api/v1/events", Some(&host.access), json!({"title": "During", "starts_at": at(600)})).await;
    let took = started.elapsed();
    assert!(r.headers().contains_key("retry-after"), "{:?}", r.headers());
    let body = assert_problem(r, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable").await;
    assert!(took < PROMPT, "answered after {took:?}: {body}");
    // Signing in needs the auth service's database: the same answer, as promptly.
    let started = Instant::now();
    let r = app.post("/api/v1/auth/login", None, json!({"email": host.email, "password": "correct horse battery"})).await;
    assert_problem(r, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable").await;
    assert!(started.elapsed() < PROMPT, "sign-in answered after {:?}", started.elapsed());
    let body = wait_for_readiness(&app, "the events service not serving", |s, b| {
        s == StatusCode::SERVICE_UNAVAILABLE && b["checks"]["events"] != "ok" && b["checks"]["auth"] != "ok"
    })
    .await;
    assert_eq!(body["status"], "not_ready");

    pg.resume();
    wait_for_readiness(&app, "ready again", |s, _| s == StatusCode::OK).await;
    let r = app.post("/api/v1/events", Some(&host.access), json!({"title": "After", "starts_at": at(600)})).await;
    assert_eq!(r.status(), StatusCode::CREATED, "the pool reconnects by itself");
    let list: Value = app.get("/api/v1/events?limit=100", Some(&host.access)).await.json().await.unwrap();
    let titles: Vec<&str> = list["events"].as_array().unwrap().iter().filter_map(|e| e["title"].as_str()).collect();
    assert!(titles.contains(&"Before") && titles.contains(&"After") && !titles.contains(&"During"), "{titles:?}");
}

#[tokio::test]
async fn with_redis_stopped_sign_in_and_signed_in_calls_answer_at_once_and_readiness_names_redis() {
    let mut redis = PrivateRedis::start();
    let app = spawn_setup(Setup { redis_url: Some(redis.url()), ..Setup::default() }).await;
    let user = app.sign_up().await;

    redis.stop();
    let started = Instant::now();
    let r = app.post("/api/v1/auth/login", None, json!({"email": user.email, "password": "correct horse battery"})).await;
    // Rate-limit counters are lost, not the sign-in: argon2 still slows guessing.
    assert_eq!(r.status(), StatusCode::OK);
    assert!(started.elapsed() < PROMPT, "sign-in took {:?} with Redis down", started.elapsed());
    let started = Instant::now();
    let r = app.get("/api/v1/me", Some(&user.access)).await;
    assert_eq!(r.status(), StatusCode::OK, "the session is checked with the auth service instead");
    assert!(started.elapsed() < PROMPT, "an authenticated call took {:?} with Redis down", started.elapsed());
    let (status, body) = readiness(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_ne!(body["checks"]["redis"], "ok", "{body}");
    assert_eq!(body["checks"]["events"], "ok", "{body}");

    redis.resume();
    wait_for_readiness(&app, "ready again", |s, _| s == StatusCode::OK).await;
}

#[tokio::test]
async fn a_signed_out_token_stays_refused_after_redis_restarts_empty() {
    let mut redis = PrivateRedis::start();
    let app = spawn_setup(Setup { redis_url: Some(redis.url()), ..Setup::default() }).await;
    let gone = app.sign_up().await;
    let kept = app.sign_up().await;
    let r = app.post("/api/v1/auth/logout", None, json!({"refresh_token": gone.refresh})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get("/api/v1/me", Some(&gone.access)).await, StatusCode::UNAUTHORIZED, "token_revoked").await;

    // Redis comes back empty, as scripts/up runs it: the deny-list is gone from it.
    redis.stop();
    redis.resume();
    for base in [&app.base, &app.base2] {
        let r = app.http.get(format!("{base}/api/v1/me")).bearer_auth(&gone.access).send().await.unwrap();
        assert_problem(r, StatusCode::UNAUTHORIZED, "token_revoked").await;
        let r = app.http.get(format!("{base}/api/v1/me")).bearer_auth(&kept.access).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // The list is rebuilt from the auth service, so Redis answers for it again.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let complete: bool =
            redis::cmd("EXISTS").arg("stagecast:revoked_sessions:complete").query_async(&mut conn).await.unwrap();
        if complete {
            break;
        }
        assert!(Instant::now() < deadline, "the revoked-session list was not rebuilt");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The signed-out session is on the rebuilt list (other tests' sign-outs may be too: the bus
    // is shared, and every gateway records every revocation it hears of).
    let sid = session_of(&gone.access);
    let listed: bool = redis::cmd("EXISTS").arg(format!("stagecast:revoked_session:{sid}")).query_async(&mut conn).await.unwrap();
    assert!(listed, "session {sid} is not on the rebuilt list");
    assert_problem(app.get("/api/v1/me", Some(&gone.access)).await, StatusCode::UNAUTHORIZED, "token_revoked").await;
}

#[tokio::test]
async fn a_sign_out_while_redis_does_not_answer_is_still_refused_once_redis_answers_again() {
    let redis = PrivateRedis::start();
    let app = spawn_setup(Setup { redis_url: Some(redis.url()), ..Setup::default() }).await;
    let gone = app.sign_up().await;
    // The list is complete before the outage (the gateways fill it at start).
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !redis::cmd("EXISTS").arg("stagecast:revoked_sessions:complete").query_async::<bool>(&mut conn).await.unwrap() {
        assert!(Instant::now() < deadline, "the revoked-session list was never marked complete");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Redis freezes (keeping its data): the sign-out cannot be written to the list.
    redis.pause();
    let r = app.post("/api/v1/auth/logout", None, json!({"refresh_token": gone.refresh})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get("/api/v1/me", Some(&gone.access)).await, StatusCode::UNAUTHORIZED, "token_revoked").await;
    redis.unpause();
    for base in [&app.base, &app.base2] {
        let r = app.http.get(format!("{base}/api/v1/me")).bearer_auth(&gone.access).send().await.unwrap();
        assert_problem(r, StatusCode::UNAUTHORIZED, "token_revoked").await;
    }
}
