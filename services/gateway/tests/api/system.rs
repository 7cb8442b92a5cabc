use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, spawn};

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn().await;
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    let mut ready = None;
    for _ in 0..50 {
        let r = app.get("/readyz", None).await;
        if r.status() == StatusCode::OK {
            ready = Some(r.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ready = ready.expect("gateway becomes ready");
    assert_eq!(ready["checks"]["auth"], "ok");
    assert_eq!(ready["checks"]["events"], "ok");
    assert_eq!(ready["checks"]["chat"], "ok");
    assert_eq!(ready["checks"]["redis"], "ok");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("stagecast_gateway_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_traceparent() {
    let app = spawn().await;
    let r = app.get("/api/v1/me", None).await;
    assert!(r.headers().get("x-request-id").is_some());
    let tp = r.headers()["traceparent"].to_str().unwrap().to_owned();
    assert_eq!(tp.split('-').count(), 4, "{tp}");
    // A caller's trace is continued, not replaced.
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = app.http.get(app.url("/healthz")).header("traceparent", caller).send().await.unwrap();
    assert!(r.headers()["traceparent"].to_str().unwrap().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
}

#[tokio::test]
async fn the_jwks_lists_the_signing_key_and_unknown_routes_are_problems() {
    let app = spawn().await;
    let jwks: Value = app.get("/.well-known/jwks.json", None).await.json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");
    assert_problem(app.get("/api/v1/nope", None).await, StatusCode::NOT_FOUND, "route_not_found").await;
}

#[tokio::test]
async fn every_path_in_the_openapi_document_is_served() {
    let app = spawn().await;
    let doc: Value = app.get("/api/v1/openapi.json", None).await.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 10);
    for (path, ops) in paths {
        let concrete = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app.http.request(m, app.url(&format!("/api/v1{concrete}"))).send().await.unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_ne!(body["code"], "route_not_found", "{method} {path} is documented but not routed");
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
}
