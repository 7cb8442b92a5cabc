//! API keys: created by a signed-in person, shown once, scoped, rate limited, revocable, and
//! accepted wherever an access token is.
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use stagecast_authn::Scope;

use crate::helpers::{Setup, TestApp, assert_problem, at, spawn, spawn_setup};

async fn create_key(app: &TestApp, access: &str, scopes: &[&str]) -> Value {
    let r = app.post("/api/v1/api-keys", Some(access), json!({"name": "backend", "scopes": scopes})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> reqwest::Response {
    let mut r = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn a_key_is_shown_once_acts_for_its_owner_and_stops_working_when_revoked() {
    let app = spawn().await;
    let owner = app.sign_up().await;
    let created = create_key(&app, &owner.access, &["events:write", "events:read"]).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sck_"), "{secret}");
    assert_eq!(created["scopes"], json!(["events:read", "events:write"]));
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));

    // The list never shows the secret again.
    let list = app.get("/api/v1/api-keys", Some(&owner.access)).await;
    assert_eq!(list.status(), StatusCode::OK);
    let text = list.text().await.unwrap();
    assert!(!text.contains(&secret), "{text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["api_keys"][0]["id"], id.as_str());
    assert!(list["api_keys"][0]["revoked_at"].is_null());

    // The key creates an event as its owner.
    let r = app.post("/api/v1/events", Some(&secret), json!({"title": "From CI", "starts_at": at(600)})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let ev: Value = r.json().await.unwrap();
    assert_eq!(ev["host_id"], owner.user_id.as_str());
    // It was used: the owner sees when.
    let list: Value = app.get("/api/v1/api-keys", Some(&owner.access)).await.json().await.unwrap();
    assert!(list["api_keys"][0]["last_used_at"].is_string(), "{list}");

    // Someone else cannot revoke it.
    let other = app.sign_up().await;
    assert_problem(
        app.delete(&format!("/api/v1/api-keys/{id}"), &other.access).await,
        StatusCode::NOT_FOUND,
        "api_key_not_found",
    )
    .await;
    let r = app.delete(&format!("/api/v1/api-keys/{id}"), &owner.access).await;
    assert_eq!(r.status(), StatusCode::OK);
    let revoked: Value = r.json().await.unwrap();
    assert!(revoked["revoked_at"].is_string());
    let r = app.get("/api/v1/events", Some(&secret)).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "api_key_revoked").await;
}

#[tokio::test]
async fn bad_keys_and_bad_requests_for_keys_get_specific_codes_and_change_nothing() {
    let app = spawn().await;
    let owner = app.sign_up().await;
    let r = app.get("/api/v1/events", Some("sck_not-a-key")).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "api_key_invalid").await;
    let unknown = format!("sck_{}", "A".repeat(43));
    assert_problem(app.get("/api/v1/events", Some(&unknown)).await, StatusCode::UNAUTHORIZED, "api_key_invalid").await;

    for (body, code) in [
        (json!({"name": "x", "scopes": ["events:write", "root"]}), "unknown_scope"),
        (json!({"name": "x", "scopes": []}), "scopes_required"),
        (json!({"name": "", "scopes": ["events:read"]}), "api_key_name_required"),
        (json!({"name": "a\u{0007}b", "scopes": ["events:read"]}), "invalid_api_key_name"),
        (json!({"name": "x", "scopes": ["events:read"], "expires_at": at(-60)}), "invalid_expires_at"),
        (json!({"name": "x", "scopes": ["events:read"], "expires_at": "tomorrow"}), "invalid_expires_at"),
    ] {
        let r = app.post("/api/v1/api-keys", Some(&owner.access), body.clone()).await;
        assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
    let list: Value = app.get("/api/v1/api-keys", Some(&owner.access)).await.json().await.unwrap();
    assert_eq!(list["api_keys"], json!([]), "refused requests created nothing");

    // A key cannot manage keys, even with every scope: a leaked key must not mint more.
    let all: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let key = create_key(&app, &owner.access, &all).await;
    let secret = key["secret"].as_str().unwrap();
    let r = app.post("/api/v1/api-keys", Some(secret), json!({"name": "more", "scopes": ["events:read"]})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "session_required").await;
    assert_problem(app.get("/api/v1/api-keys", Some(secret)).await, StatusCode::FORBIDDEN, "session_required").await;

    // An expired key says so.
    let key = create_key(&app, &owner.access, &["events:read"]).await;
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    sqlx::query("UPDATE auth.api_keys SET expires_at = now() - interval '1 minute' WHERE id = $1::uuid")
        .bind(key["id"].as_str().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    let r = app.get("/api/v1/events", Some(key["secret"].as_str().unwrap())).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "api_key_expired").await;
}

#[tokio::test]
async fn each_key_is_rate_limited_on_its_own() {
    let app = spawn_setup(Setup { api_key_requests_per_minute: 3, ..Setup::default() }).await;
    let owner = app.sign_up().await;
    let a = create_key(&app, &owner.access, &["events:read"]).await;
    let b = create_key(&app, &owner.access, &["events:read"]).await;
    let (a, b) = (a["secret"].as_str().unwrap(), b["secret"].as_str().unwrap());
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/events", Some(a)).await.status(), StatusCode::OK);
    }
    let r = app.get("/api/v1/events", Some(a)).await;
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    // GCRA spaces requests evenly: the next one passes a third of the minute later, not at a
    // window's end.
    assert!((1..=20).contains(&retry), "{retry}");
    assert_eq!(r.headers()["ratelimit"].to_str().unwrap(), format!("\"default\";r=0;t={retry}"));
    assert_problem(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(app.get("/api/v1/events", Some(b)).await.status(), StatusCode::OK, "the other key has its own budget");
    // The owner's own session is not limited by their keys.
    assert_eq!(app.get("/api/v1/events", Some(&owner.access)).await.status(), StatusCode::OK);
}

/// Every route family against a key of every single scope: allowed exactly when the key holds
/// the scope the route needs (or one that implies it), refused with `insufficient_scope` otherwise.
#[tokio::test]
async fn every_route_family_enforces_its_scope_for_keys_of_every_scope() {
    let app = spawn().await;
    let owner = app.sign_up().await;
    let r = app.post("/api/v1/events", Some(&owner.access), json!({"title": "Matrix", "starts_at": at(600)})).await;
    let ev: Value = r.json().await.unwrap();
    let e = ev["id"].as_str().unwrap();
    let rows: Vec<(Method, String, Option<Value>, Scope)> = vec![
        (Method::GET, "/api/v1/me".into(), None, Scope::ProfileRead),
        (Method::PATCH, "/api/v1/me".into(), Some(json!({"display_name": "Ada"})), Scope::ProfileWrite),
        (Method::GET, "/api/v1/events".into(), None, Scope::EventsRead),
        (Method::POST, "/api/v1/events".into(), Some(json!({"title": "K", "starts_at": at(600)})), Scope::EventsWrite),
        (Method::GET, format!("/api/v1/events/{e}"), None, Scope::EventsRead),
        (Method::PATCH, format!("/api/v1/events/{e}"), Some(json!({"title": "Matrix!"})), Scope::EventsWrite),
        (Method::GET, format!("/api/v1/events/{e}/stage"), None, Scope::EventsRead),
        (Method::POST, format!("/api/v1/events/{e}/stage/links"), Some(json!({"role": "speaker"})), Scope::EventsWrite),
        (Method::POST, format!("/api/v1/events/{e}/media-token"), Some(json!({})), Scope::TokensMint),
        (Method::GET, format!("/api/v1/events/{e}/chat/messages"), None, Scope::ChatRead),
        (
            Method::POST,
            format!("/api/v1/events/{e}/chat/messages"),
            Some(json!({"client_msg_id": "m1", "text": "hi"})),
            Scope::ChatWrite,
        ),
        (Method::GET, format!("/api/v1/events/{e}/chat/audit"), None, Scope::ChatModerate),
        (Method::GET, "/api/v1/recordings".into(), None, Scope::RecordingsRead),
        (Method::GET, format!("/api/v1/events/{e}/recording-settings"), None, Scope::RecordingsRead),
        (
            Method::PUT,
            format!("/api/v1/events/{e}/recording-settings"),
            Some(json!({"auto_record": false})),
            Scope::RecordingsWrite,
        ),
        (Method::GET, "/api/v1/destinations".into(), None, Scope::BroadcastsManage),
        (Method::GET, format!("/api/v1/events/{e}/destinations"), None, Scope::BroadcastsManage),
    ];
    for granted in Scope::ALL {
        let key = create_key(&app, &owner.access, &[granted.as_str()]).await;
        let secret = key["secret"].as_str().unwrap();
        for (method, path, body, needed) in &rows {
            let r = call(&app, method.clone(), path, secret, body.clone()).await;
            let status = r.status();
            let b: Value = r.json().await.unwrap_or(Value::Null);
            if needed.satisfied_by(&[granted]) {
                assert!(
                    status.is_success(),
                    "a key with {granted} should be allowed {method} {path} (needs {needed}): {status} {b}"
                );
            } else {
                assert_eq!(
                    (status, b["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("insufficient_scope")),
                    "a key with {granted} calling {method} {path} (needs {needed}): {b}"
                );
            }
        }
        // Keys are capped per person: make room for the next scope's key.
        app.delete(&format!("/api/v1/api-keys/{}", key["id"].as_str().unwrap()), &owner.access).await;
    }
}

#[tokio::test]
async fn a_key_in_a_url_is_refused_so_it_never_lands_in_logs_or_playlists() {
    let app = spawn().await;
    let owner = app.sign_up().await;
    let key = create_key(&app, &owner.access, &["recordings:read", "chat:read"]).await;
    let secret = key["secret"].as_str().unwrap();
    let rid = uuid::Uuid::now_v7();
    let r = app.get(&format!("/api/v1/recordings/{rid}/hls/index.m3u8?access_token={secret}"), None).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "api_key_in_url").await;
    // In the header it is accepted (and the recording does not exist).
    let r = app.get(&format!("/api/v1/recordings/{rid}/hls/index.m3u8"), Some(secret)).await;
    assert_ne!(r.status(), StatusCode::UNAUTHORIZED);
}

/// The matrix over the whole generated document: every secured operation × a key of every scope.
/// A key without the operation's `x-required-scope` (or any key, where the operation has none) is
/// refused before the handler runs; a key with it always gets past the scope check (the dummy ids
/// may then be refused as not found or invalid, which is the handler's answer, not the scope's).
#[tokio::test]
async fn every_operation_in_the_document_enforces_its_scope_for_keys_of_every_scope() {
    let app = spawn().await;
    let owner = app.sign_up().await;
    let doc = serde_json::to_value(stagecast_gateway::api_doc::document()).unwrap();
    let some_id = "0190f5c2-7d4e-7c3a-9f1e-3b2a1c0d9e8f";
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["security"].as_array().is_none_or(|s| s.is_empty()) {
                continue;
            }
            let needed = op.get("x-required-scope").and_then(Value::as_str).map(|s| Scope::parse(s).unwrap());
            let concrete: String =
                path.split('/').map(|seg| if seg.starts_with('{') { some_id } else { seg }).collect::<Vec<_>>().join("/");
            operations.push((
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                format!("/api/v1{concrete}"),
                needed,
            ));
        }
    }
    assert!(operations.len() > 80, "the document lists {} secured operations", operations.len());
    let mut checked = 0;
    for granted in Scope::ALL {
        let key = create_key(&app, &owner.access, &[granted.as_str()]).await;
        let secret = key["secret"].as_str().unwrap();
        for (method, path, needed) in &operations {
            let body = matches!(*method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
            let r = call(&app, method.clone(), path, secret, body).await;
            let status = r.status();
            let code = r.json::<Value>().await.unwrap_or(Value::Null)["code"].as_str().map(str::to_owned);
            let refused_for_scope =
                status == StatusCode::FORBIDDEN && matches!(code.as_deref(), Some("insufficient_scope" | "session_required"));
            match needed {
                Some(n) if n.satisfied_by(&[granted]) => assert!(
                    !refused_for_scope && status != StatusCode::UNAUTHORIZED,
                    "a key with {granted} should pass the scope check of {method} {path} (needs {n}): {status} {code:?}"
                ),
                Some(n) => assert_eq!(
                    (status, code.as_deref()),
                    (StatusCode::FORBIDDEN, Some("insufficient_scope")),
                    "a key with {granted} calling {method} {path} (needs {n})"
                ),
                None => assert_eq!(
                    (status, code.as_deref()),
                    (StatusCode::FORBIDDEN, Some("session_required")),
                    "a key with {granted} calling {method} {path}, which takes no key"
                ),
            }
            checked += 1;
        }
        app.delete(&format!("/api/v1/api-keys/{}", key["id"].as_str().unwrap()), &owner.access).await;
    }
    assert_eq!(checked, operations.len() * Scope::ALL.len());
}
