//! POST /api/v1/events/{id}/media-token: the events service decides, the auth service signs.
use reqwest::StatusCode;
use serde_json::{Value, json};
use stagecast_authn::{ISSUER, Jwks, MEDIA_AUDIENCE, MediaClaims, TrackSource, Verifier};

use crate::helpers::{Account, MEDIA_PUBLIC_URL, TestApp, assert_problem, at, spawn};

impl TestApp {
    /// Schedules an event hosted by `host`, starting in an hour; returns its id.
    async fn schedule(&self, host: &Account, cohosts: &[&Account]) -> String {
        let cohost_ids: Vec<&str> = cohosts.iter().map(|a| a.user_id.as_str()).collect();
        let r = self
            .post(
                "/api/v1/events",
                Some(&host.access),
                json!({"title": "Launch party", "starts_at": at(3600), "cohost_ids": cohost_ids}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    }

    async fn media_token(&self, event_id: &str, who: Option<&Account>) -> reqwest::Response {
        self.post(&format!("/api/v1/events/{event_id}/media-token"), who.map(|a| a.access.as_str()), json!({})).await
    }

    /// The claims of a media token, verified the way the SFU does: public keys, media audience.
    async fn media_claims(&self, token: &str) -> MediaClaims {
        let jwks: Jwks = self.get("/.well-known/jwks.json", None).await.json().await.unwrap();
        let verifier = Verifier::new(&jwks, ISSUER, MEDIA_AUDIENCE).unwrap();
        verifier.verify(token, chrono::Utc::now().timestamp()).unwrap()
    }
}

const ALL_SOURCES: [&str; 4] = ["camera", "microphone", "screen", "screen_audio"];

#[tokio::test]
async fn the_host_gets_a_token_to_publish_every_source() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let id = app.schedule(&host, &[]).await;

    let r = app.media_token(&id, Some(&host)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["url"], MEDIA_PUBLIC_URL);
    assert_eq!(b["room"], id.as_str());
    assert_eq!(b["role"], "host");
    assert_eq!(b["expires_in"], 300);
    // The host sees the green room (backstage guests) too.
    assert_eq!(b["grants"], json!({"subscribe": true, "publish": ALL_SOURCES, "hidden": false, "see_backstage": true}));

    let claims = app.media_claims(b["token"].as_str().unwrap()).await;
    assert_eq!((claims.sub.as_str(), claims.room.as_str(), claims.name.as_str()), (host.user_id.as_str(), id.as_str(), "Ada"));
    assert_eq!(claims.grants.publish, TrackSource::ALL.to_vec());
    assert!(claims.grants.subscribe && !claims.grants.hidden);
}

#[tokio::test]
async fn a_cohost_publishes_and_any_other_signed_in_user_only_subscribes() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let cohost = app.sign_up().await;
    let viewer = app.sign_up().await;
    let id = app.schedule(&host, &[&cohost]).await;
    let r = app.post(&format!("/api/v1/events/{id}/go-live"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);

    let b: Value = app.media_token(&id, Some(&cohost)).await.json().await.unwrap();
    assert_eq!((&b["role"], &b["grants"]["publish"]), (&json!("cohost"), &json!(ALL_SOURCES)));

    let r = app.media_token(&id, Some(&viewer)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["role"], "audience");
    assert_eq!(b["grants"], json!({"subscribe": true, "publish": [], "hidden": false}));
    let claims = app.media_claims(b["token"].as_str().unwrap()).await;
    assert_eq!(claims.sub, viewer.user_id);
    assert!(claims.grants.subscribe && claims.grants.publish.is_empty());
}

#[tokio::test]
async fn a_media_token_needs_a_signed_in_caller() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let id = app.schedule(&host, &[]).await;
    assert_problem(app.media_token(&id, None).await, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn a_media_token_for_an_unknown_event_is_not_found() {
    let app = spawn().await;
    let user = app.sign_up().await;
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_problem(app.media_token(&unknown, Some(&user)).await, StatusCode::NOT_FOUND, "event_not_found").await;
    assert_problem(app.media_token("tonight", Some(&user)).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_event_id").await;
}

#[tokio::test]
async fn nobody_gets_a_media_token_for_a_cancelled_or_ended_event() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let viewer = app.sign_up().await;
    let cancelled = app.schedule(&host, &[]).await;
    let r = app.post(&format!("/api/v1/events/{cancelled}/cancel"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let ended = app.schedule(&host, &[]).await;
    for step in ["go-live", "end"] {
        let r = app.post(&format!("/api/v1/events/{ended}/{step}"), Some(&host.access), json!({})).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    for id in [&cancelled, &ended] {
        for who in [&host, &viewer] {
            assert_problem(app.media_token(id, Some(who)).await, StatusCode::CONFLICT, "event_over").await;
        }
    }
}

#[tokio::test]
async fn only_the_host_cohosts_and_moderators_control_the_stage() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let cohost = app.sign_up().await;
    let viewer = app.sign_up().await;
    let event = app.schedule(&host, &[&cohost]).await;

    for who in [&host, &cohost] {
        let r = app.get(&format!("/api/v1/events/{event}/stage/participants"), Some(&who.access)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap()["participants"], json!([]), "nobody has joined the room");
    }
    let r = app.get(&format!("/api/v1/events/{event}/stage/participants"), Some(&viewer.access)).await;
    assert_problem(r, StatusCode::FORBIDDEN, "not_allowed").await;
    let body = json!({"user_id": host.user_id, "source": "microphone"});
    let r = app.post(&format!("/api/v1/events/{event}/stage/mute"), Some(&viewer.access), body.clone()).await;
    assert_problem(r, StatusCode::FORBIDDEN, "not_allowed").await;
    let r =
        app.post(&format!("/api/v1/events/{event}/stage/remove"), Some(&viewer.access), json!({"user_id": host.user_id})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "not_allowed").await;
    let r = app.post(&format!("/api/v1/events/{event}/stage/mute"), None, body).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn muting_and_removing_reach_the_sfu_and_bad_input_is_named() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let viewer = app.sign_up().await;
    let event = app.schedule(&host, &[]).await;

    // Nobody is connected yet: the SFU answers, and says it muted / removed nothing.
    let r = app
        .post(
            &format!("/api/v1/events/{event}/stage/mute"),
            Some(&host.access),
            json!({"user_id": viewer.user_id, "source": "camera"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["tracks_muted"], 0);
    let r = app
        .post(
            &format!("/api/v1/events/{event}/stage/remove"),
            Some(&host.access),
            json!({"user_id": viewer.user_id, "reason": "spam"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["participants_removed"], 0);

    let r = app
        .post(
            &format!("/api/v1/events/{event}/stage/mute"),
            Some(&host.access),
            json!({"user_id": viewer.user_id, "source": "webcam"}),
        )
        .await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "unknown_source").await;
    let r = app
        .post(
            &format!("/api/v1/events/{event}/stage/remove"),
            Some(&host.access),
            json!({"user_id": viewer.user_id, "reason": "x".repeat(201)}),
        )
        .await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "reason_too_long").await;
    let r =
        app.post("/api/v1/events/not-a-uuid/stage/mute", Some(&host.access), json!({"user_id": "u", "source": "camera"})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_event_id").await;
}
