use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, at, spawn};

#[tokio::test]
async fn a_host_schedules_edits_goes_live_and_ends_an_event_and_lists_follow() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let r = app
        .post(
            "/api/v1/events",
            Some(&host.access),
            json!({"title": "Launch party", "description": "We ship", "starts_at": at(3600)}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let ev: Value = r.json().await.unwrap();
    let id = ev["id"].as_str().unwrap().to_owned();
    assert_eq!(ev["status"], "scheduled");
    assert_eq!(ev["host_id"], host.user_id.as_str());

    let r = app.patch(&format!("/api/v1/events/{id}"), &host.access, json!({"title": "Launch party!"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let got: Value = app.get(&format!("/api/v1/events/{id}"), Some(&host.access)).await.json().await.unwrap();
    assert_eq!(got["title"], "Launch party!");

    let ids = |v: Value| -> Vec<String> {
        v["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
    };
    let upcoming: Value = app.get("/api/v1/events?status=upcoming&limit=100", Some(&host.access)).await.json().await.unwrap();
    assert!(ids(upcoming).contains(&id));

    let r = app.post(&format!("/api/v1/events/{id}/go-live"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let live: Value = r.json().await.unwrap();
    assert_eq!(live["status"], "live");
    assert!(live["went_live_at"].is_string());
    let live_list: Value = app.get("/api/v1/events?status=live", Some(&host.access)).await.json().await.unwrap();
    assert!(ids(live_list).contains(&id));

    let r = app.post(&format!("/api/v1/events/{id}/end"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let past: Value = app.get("/api/v1/events?status=past", Some(&host.access)).await.json().await.unwrap();
    assert!(ids(past).contains(&id));

    let r = app.post(&format!("/api/v1/events/{id}/go-live"), Some(&host.access), json!({})).await;
    assert_problem(r, StatusCode::CONFLICT, "illegal_transition").await;
}

#[tokio::test]
async fn only_hosts_and_cohosts_run_the_lifecycle() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let cohost = app.sign_up().await;
    let stranger = app.sign_up().await;
    let ev: Value = app
        .post(
            "/api/v1/events",
            Some(&host.access),
            json!({"title": "Panel", "starts_at": at(600), "cohost_ids": [cohost.user_id]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = ev["id"].as_str().unwrap();
    let r = app.post(&format!("/api/v1/events/{id}/go-live"), Some(&stranger.access), json!({})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "not_a_host").await;
    let r = app.post(&format!("/api/v1/events/{id}/go-live"), Some(&cohost.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_event_input_is_refused_and_creates_nothing() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let cases = [
        (json!({"title": "x".repeat(141), "starts_at": at(600)}), StatusCode::UNPROCESSABLE_ENTITY, "title_too_long"),
        (json!({"title": "Old news", "starts_at": at(-3600)}), StatusCode::UNPROCESSABLE_ENTITY, "starts_at_in_past"),
        (json!({"title": "When?", "starts_at": "tomorrow"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_timestamp"),
        (
            json!({"title": "Cover", "starts_at": at(600), "cover_url": "ftp://x/y"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_cover_url",
        ),
        (json!({"title": "Extra", "starts_at": at(600), "secret": 1}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
    ];
    for (body, status, code) in cases {
        assert_problem(app.post("/api/v1/events", Some(&host.access), body).await, status, code).await;
    }
    let r = app.get("/api/v1/events?status=sideways", Some(&host.access)).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_status").await;
    let r = app.get("/api/v1/events/not-a-uuid", Some(&host.access)).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_event_id").await;
    let r = app.get(&format!("/api/v1/events/{}", uuid::Uuid::new_v4()), Some(&host.access)).await;
    assert_problem(r, StatusCode::NOT_FOUND, "event_not_found").await;
    let mine: Value = app.get("/api/v1/events?status=upcoming&limit=100", Some(&host.access)).await.json().await.unwrap();
    let by_host = mine["events"].as_array().unwrap().iter().filter(|e| e["host_id"] == host.user_id.as_str()).count();
    assert_eq!(by_host, 0);
}

#[tokio::test]
async fn event_lists_page_with_a_cursor() {
    let app = spawn().await;
    let host = app.sign_up().await;
    for i in 0..5 {
        let r = app
            .post("/api/v1/events", Some(&host.access), json!({"title": format!("E{i}"), "starts_at": at(600 + i * 60)}))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/events?status=upcoming&limit=2&cursor={c}"),
            None => "/api/v1/events?status=upcoming&limit=2".to_owned(),
        };
        let page: Value = app.get(&path, Some(&host.access)).await.json().await.unwrap();
        for e in page["events"].as_array().unwrap() {
            seen.push(e["title"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["E0", "E1", "E2", "E3", "E4"]);
}
