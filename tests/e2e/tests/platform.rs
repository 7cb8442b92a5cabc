//! The whole platform, as separate processes, driven through the public API only.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{DeliverPolicy, pull},
};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use stagecast_bus::Envelope;
use stagecast_e2e::Platform;
use stagecast_proto::events::v1 as pb;

struct Received {
    subject: String,
    envelope: Envelope,
    traceparent: Option<String>,
}

/// Everything JetStream holds for one event, in stream order. Polls until `want` messages came
/// (bounded: ~15 s), then one more short fetch so a duplicate would be seen too.
async fn lifecycle_messages(nats_url: &str, event_id: &str, want: usize) -> Vec<Received> {
    let js = jetstream::new(async_nats::connect(nats_url).await.unwrap());
    let stream = js.get_stream("STAGECAST").await.unwrap();
    let consumer = stream
        .create_consumer(pull::Config {
            filter_subject: format!("stagecast.events.v1.event.{event_id}.>"),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut out = Vec::new();
    let mut extra_rounds = 0;
    for _ in 0..60 {
        let mut batch = consumer.fetch().max_messages(50).expires(Duration::from_millis(250)).messages().await.unwrap();
        while let Some(Ok(m)) = batch.next().await {
            out.push(Received {
                subject: m.subject.to_string(),
                envelope: Envelope::decode(&m.payload).unwrap(),
                traceparent: m.headers.as_ref().and_then(|h| h.get("traceparent")).map(|v| v.to_string()),
            });
            m.ack().await.unwrap();
        }
        if out.len() >= want {
            extra_rounds += 1;
            if extra_rounds > 2 {
                break;
            }
        }
    }
    out
}

fn trace_id(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_public_api_flow_publishes_each_lifecycle_message_once_even_across_a_crash_before_relay() {
    let mut p = Platform::start().await;
    let http = reqwest::Client::new();
    let password = "correct horse battery staple";

    // Sign up, sign in, refresh; a replayed refresh token revokes the family.
    let email = format!("host-{}@example.com", uuid::Uuid::new_v4().simple());
    let r = http
        .post(p.url("/api/v1/auth/signup"))
        .json(&json!({"email": email, "password": password, "display_name": "Host"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = http.post(p.url("/api/v1/auth/login")).json(&json!({"email": email, "password": password})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let login: Value = r.json().await.unwrap();
    let first_refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let r = http.post(p.url("/api/v1/auth/refresh")).json(&json!({"refresh_token": first_refresh})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let rotated: Value = r.json().await.unwrap();
    let r = http.post(p.url("/api/v1/auth/refresh")).json(&json!({"refresh_token": first_refresh})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "refresh_token_reused");
    let r =
        http.post(p.url("/api/v1/auth/refresh")).json(&json!({"refresh_token": rotated["refresh_token"]})).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "refresh_token_revoked");

    // A new session for the rest of the flow.
    let login: Value = http
        .post(p.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let me: Value = http.get(p.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["email"], email.as_str());

    // Schedule, list, go live.
    let starts_at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let r = http
        .post(p.url("/api/v1/events"))
        .bearer_auth(&token)
        .json(&json!({"title": "Crash-safe show", "starts_at": starts_at}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    let event: Value = r.json().await.unwrap();
    let id = event["id"].as_str().unwrap().to_owned();
    let upcoming: Value = http
        .get(p.url("/api/v1/events?status=upcoming&limit=100"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(upcoming["events"].as_array().unwrap().iter().any(|e| e["id"] == id.as_str()));
    let r = http.post(p.url(&format!("/api/v1/events/{id}/go-live"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let go_live_trace = r.headers()["traceparent"].to_str().unwrap().to_owned();
    let live: Value =
        http.get(p.url("/api/v1/events?status=live")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert!(live["events"].as_array().unwrap().iter().any(|e| e["id"] == id.as_str()));

    // Everything so far has reached JetStream before the fault is injected.
    {
        use sqlx::Connection;
        let mut db = sqlx::PgConnection::connect(&p.database_url).await.unwrap();
        let mut backlog = 1i64;
        for _ in 0..100 {
            backlog = sqlx::query_scalar("SELECT count(*) FROM events.outbox WHERE published_at IS NULL")
                .fetch_one(&mut db)
                .await
                .unwrap();
            if backlog == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(backlog, 0, "scheduled and live were relayed");
    }

    // NATS goes away; "end" commits in the events service, whose relay cannot publish; the
    // events service then dies before it ever could.
    p.nats.stop();
    let r = http.post(p.url(&format!("/api/v1/events/{id}/end"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ended");
    p.events.crash();
    // The "ended" message exists only in the dead service's outbox now.
    let pending: i64 = {
        use sqlx::Connection;
        let mut db = sqlx::PgConnection::connect(&p.database_url).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM events.outbox WHERE published_at IS NULL").fetch_one(&mut db).await.unwrap()
    };
    assert_eq!(pending, 1, "the crash happened after the commit and before the relay");
    p.nats.restart();
    p.events.start();
    p.wait_ready().await;

    let got = lifecycle_messages(&p.nats.url(), &id, 3).await;
    let kinds: Vec<&str> = got.iter().map(|m| m.subject.rsplit('.').next().unwrap()).collect();
    assert_eq!(kinds, ["scheduled", "live", "ended"], "logs:\n{}", p.logs());
    let mut ids: Vec<_> = got.iter().map(|m| m.envelope.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "every message has its own id");
    let ended: pb::EventEnded = got[2].envelope.open().unwrap();
    assert_eq!(ended.event.unwrap().status, pb::EventStatus::Ended as i32);

    // One trace from the gateway request, through gRPC, into the NATS message.
    let live_tp = got[1].traceparent.as_deref().expect("the live message carries a traceparent");
    assert_eq!(trace_id(live_tp), trace_id(&go_live_trace));

    // The platform stops cleanly on SIGTERM.
    assert!(p.gateway.terminate(Duration::from_secs(10)), "gateway exits 0 on SIGTERM");
    assert!(p.events.terminate(Duration::from_secs(10)), "events exits 0 on SIGTERM");
    assert!(p.auth.terminate(Duration::from_secs(10)), "auth exits 0 on SIGTERM");

    // Secrets never reach the logs.
    let logs = p.logs();
    assert!(logs.contains("\"level\""), "logs are structured JSON");
    for secret in [password, &first_refresh, &token] {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
    }
}
