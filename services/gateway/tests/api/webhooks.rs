//! Webhooks end to end: a local receiver gets a show's events signed (Standard Webhooks), in
//! order, through a receiver outage and a restart of the webhooks service.
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, extract::State, http::HeaderMap, routing::post};
use reqwest::StatusCode;
use serde_json::{Value, json};
use stagecast_webhooks::sign::{self, SigningSecret};

use crate::helpers::{Setup, TestApp, assert_problem, at, spawn, spawn_setup};

#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: i64,
    signature: String,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// While true it answers 503, as a receiver in an outage does.
    failing: Arc<AtomicBool>,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    if r.failing.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    r.got.lock().unwrap().push(Received {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp").parse().unwrap_or(0),
        signature: h("webhook-signature"),
        body,
    });
    StatusCode::NO_CONTENT
}

impl Receiver {
    async fn start() -> (Self, String) {
        let r = Receiver::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = Router::new().route("/hook", post(hook)).with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    /// The distinct deliveries received (a redelivered one counts once: receivers dedupe on
    /// `webhook-id`), in arrival order.
    fn distinct(&self) -> Vec<Received> {
        let mut seen = std::collections::HashSet::new();
        self.got.lock().unwrap().iter().filter(|r| seen.insert(r.id.clone())).cloned().collect()
    }

    fn types(&self) -> Vec<String> {
        self.distinct()
            .iter()
            .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["type"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn wait_for(&self, n: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.distinct().len() < n {
            assert!(Instant::now() < deadline, "{what}: got only {:?}", self.types());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn create_endpoint(app: &TestApp, token: &str, url: &str, types: Value) -> Value {
    let r = app.post("/api/v1/webhooks", Some(token), json!({"url": url, "event_types": types})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn deliveries(app: &TestApp, token: &str, endpoint: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/webhooks/{endpoint}/deliveries"), Some(token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    b["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_whole_show_reaches_the_receiver_signed_in_order_through_an_outage_and_a_restart() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let troll = app.sign_up().await;
    let (receiver, url) = Receiver::start().await;
    let endpoint = create_endpoint(&app, &host.access, &url, json!(["event.*", "stage.banned"])).await;
    let secret = SigningSecret::parse(endpoint["secret"].as_str().unwrap()).unwrap();
    let eid = endpoint["id"].as_str().unwrap().to_owned();

    let r = app.post("/api/v1/events", Some(&host.access), json!({"title": "Show", "starts_at": at(600)})).await;
    let ev: Value = r.json().await.unwrap();
    let id = ev["id"].as_str().unwrap().to_owned();
    assert_eq!(app.post(&format!("/api/v1/events/{id}/go-live"), Some(&host.access), json!({})).await.status(), StatusCode::OK);
    let r = app.post(&format!("/api/v1/events/{id}/bans"), Some(&host.access), json!({"user_id": troll.user_id})).await;
    assert!(r.status().is_success(), "{}", r.status());
    receiver.wait_for(3, "scheduled, live and the ban").await;

    // The receiver goes down; the show ends meanwhile; the webhooks service restarts.
    receiver.failing.store(true, Ordering::SeqCst);
    assert_eq!(app.post(&format!("/api/v1/events/{id}/end"), Some(&host.access), json!({})).await.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = deliveries(&app, &host.access, &eid).await;
        let ended = log.iter().find(|d| d["event_type"] == "event.ended");
        if ended.is_some_and(|d| d["log"].as_array().unwrap().iter().any(|a| a["status_code"] == 503)) {
            break;
        }
        assert!(Instant::now() < deadline, "no failed attempt logged for event.ended: {log:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    {
        let mut worker = app.webhooks.lock().await;
        worker.stop().await;
        worker.start().await;
    }
    receiver.failing.store(false, Ordering::SeqCst);
    receiver.wait_for(4, "the end, after the outage").await;

    assert_eq!(receiver.types(), vec!["event.scheduled", "event.live", "stage.banned", "event.ended"]);
    let now = chrono::Utc::now().timestamp();
    for got in receiver.distinct() {
        assert!(got.id.starts_with("msg_"), "{got:?}");
        assert!((now - got.timestamp).abs() < 60, "{got:?}");
        assert!(sign::verify(&secret, &got.id, got.timestamp, &got.body, &got.signature), "bad signature: {got:?}");
        let body: Value = serde_json::from_str(&got.body).unwrap();
        assert_eq!(body["data"]["event_id"], id.as_str(), "{body}");
    }
    let ban: Value = serde_json::from_str(&receiver.distinct()[2].body).unwrap();
    assert_eq!(ban["data"]["target_user_id"], troll.user_id.as_str());
    // Every attempt of a delivery carries its one webhook-id, so a receiver can deduplicate.
    let log = deliveries(&app, &host.access, &eid).await;
    let ended = log.iter().find(|d| d["event_type"] == "event.ended").unwrap();
    assert_eq!(ended["state"], "succeeded");
    assert!(ended["attempts"].as_u64().unwrap() >= 2, "{ended}");
    assert!(receiver.got.lock().unwrap().iter().filter(|r| r.id == ended["message_id"].as_str().unwrap()).count() >= 1);
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one_and_redelivery_sends_again() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let (receiver, url) = Receiver::start().await;
    let endpoint = create_endpoint(&app, &host.access, &url, json!(["event.scheduled"])).await;
    let eid = endpoint["id"].as_str().unwrap().to_owned();
    let old = SigningSecret::parse(endpoint["secret"].as_str().unwrap()).unwrap();
    let r = app.post(&format!("/api/v1/webhooks/{eid}/rotate-secret"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let rotated: Value = r.json().await.unwrap();
    let new = SigningSecret::parse(rotated["secret"].as_str().unwrap()).unwrap();
    assert_ne!(old.expose(), new.expose());
    // Secrets are never shown again.
    let listed = app.get("/api/v1/webhooks", Some(&host.access)).await.text().await.unwrap();
    assert!(!listed.contains("whsec_"), "{listed}");

    app.post("/api/v1/events", Some(&host.access), json!({"title": "Rotated", "starts_at": at(600)})).await;
    receiver.wait_for(1, "the scheduled event").await;
    let got = receiver.distinct()[0].clone();
    assert_eq!(got.signature.split(' ').count(), 2, "{}", got.signature);
    assert!(sign::verify(&new, &got.id, got.timestamp, &got.body, &got.signature));
    assert!(sign::verify(&old, &got.id, got.timestamp, &got.body, &got.signature));

    let log = deliveries(&app, &host.access, &eid).await;
    let did = log[0]["id"].as_str().unwrap();
    let r = app.post(&format!("/api/v1/webhooks/{eid}/deliveries/{did}/redeliver"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.got.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the redelivery did not arrive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = receiver.got.lock().unwrap()[1].clone();
    assert_eq!(again.id, got.id, "a redelivery keeps the webhook-id");
    assert_eq!(again.body, got.body);
}

#[tokio::test]
async fn an_endpoint_that_never_answers_is_retried_logged_and_disabled_after_failing_long_enough() {
    let app =
        spawn_setup(Setup { webhook_retry_schedule: "0.2,0.2,0.2,0.2,0.2,0.2", webhook_disable_after_s: 1, ..Setup::default() })
            .await;
    let host = app.sign_up().await;
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", silent.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = silent.accept().await {
            keep.lock().unwrap().push(socket);
        }
    });
    let endpoint = create_endpoint(&app, &host.access, &url, json!([])).await;
    let eid = endpoint["id"].as_str().unwrap().to_owned();
    app.post("/api/v1/events", Some(&host.access), json!({"title": "Nobody listens", "starts_at": at(600)})).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let disabled = loop {
        let e: Value = app.get(&format!("/api/v1/webhooks/{eid}"), Some(&host.access)).await.json().await.unwrap();
        if e["enabled"] == false {
            break e;
        }
        assert!(Instant::now() < deadline, "the endpoint was never disabled: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(disabled["disabled_reason"], "failing");
    assert!(disabled["failing_since"].is_string());
    let log = deliveries(&app, &host.access, &eid).await;
    let attempts = log[0]["log"].as_array().unwrap();
    assert!(attempts.len() >= 2, "{log:?}");
    assert!(attempts.iter().all(|a| a["status_code"] == 0 && a["error"].as_str().unwrap().contains("no answer")), "{attempts:?}");

    // The owner turns it on again: the failure clock starts afresh.
    let r = app.patch(&format!("/api/v1/webhooks/{eid}"), &host.access, json!({"enabled": true})).await;
    let e: Value = r.json().await.unwrap();
    assert_eq!((e["enabled"].as_bool(), e["disabled_reason"].as_str()), (Some(true), Some("")));
}

#[tokio::test]
async fn bad_endpoints_are_refused_with_their_codes_and_others_endpoints_stay_invisible() {
    let app = spawn_setup(Setup { webhooks_allow_private: false, ..Setup::default() }).await;
    let owner = app.sign_up().await;
    for (body, code) in [
        (json!({"url": "ftp://example.com/hook"}), "invalid_url"),
        (json!({"url": ""}), "url_required"),
        (json!({"url": "http://127.0.0.1:9/hook"}), "url_not_allowed"),
        (json!({"url": "http://169.254.169.254/"}), "url_not_allowed"),
        (json!({"url": "https://example.com/hook", "event_types": ["event.started"]}), "unknown_event_type"),
        (json!({"url": "https://example.com/hook", "description": "a\u{0000}b"}), "invalid_description"),
    ] {
        assert_problem(app.post("/api/v1/webhooks", Some(&owner.access), body).await, StatusCode::UNPROCESSABLE_ENTITY, code)
            .await;
    }
    let list: Value = app.get("/api/v1/webhooks", Some(&owner.access)).await.json().await.unwrap();
    assert_eq!(list["webhooks"], json!([]), "nothing was created");

    let ok = create_endpoint(&app, &owner.access, "https://example.com/hook", json!(["recording.*"])).await;
    let eid = ok["id"].as_str().unwrap();
    let other = app.sign_up().await;
    assert_problem(
        app.get(&format!("/api/v1/webhooks/{eid}"), Some(&other.access)).await,
        StatusCode::NOT_FOUND,
        "webhook_not_found",
    )
    .await;
    assert_problem(
        app.delete(&format!("/api/v1/webhooks/{eid}"), &other.access).await,
        StatusCode::NOT_FOUND,
        "webhook_not_found",
    )
    .await;
    let r = app.patch(&format!("/api/v1/webhooks/{eid}"), &owner.access, json!({"url": "http://10.0.0.1/"})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "url_not_allowed").await;

    // An API key needs webhooks:manage.
    let key = |scopes: Value| {
        let app = &app;
        let owner = &owner;
        async move {
            let r = app.post("/api/v1/api-keys", Some(&owner.access), json!({"name": "k", "scopes": scopes})).await;
            let b: Value = r.json().await.unwrap();
            b["secret"].as_str().unwrap().to_owned()
        }
    };
    let events_only = key(json!(["events:write"])).await;
    assert_problem(app.get("/api/v1/webhooks", Some(&events_only)).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
    let manage = key(json!(["webhooks:manage"])).await;
    let listed: Value = app.get("/api/v1/webhooks", Some(&manage)).await.json().await.unwrap();
    assert_eq!(listed["webhooks"][0]["id"], eid);
    assert_eq!(app.delete(&format!("/api/v1/webhooks/{eid}"), &owner.access).await.status(), StatusCode::NO_CONTENT);
}
