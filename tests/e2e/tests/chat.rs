//! Chat across gateway replicas, with a replica killed mid-stream.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
use std::{collections::HashSet, time::Duration};

use futures::{SinkExt, StreamExt};

use serde_json::{Value, json};
use stagecast_e2e::Platform;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread")]
async fn killing_a_gateway_replica_mid_stream_loses_no_accepted_message() {
    let mut p = Platform::start().await;
    let http = reqwest::Client::new();
    let host = p.sign_up("host").await;
    let viewer = p.sign_up("viewer").await;
    let event = p.schedule(&host, "Resilient chat").await;
    let ws = |base: String, token: &str| {
        format!("{}/api/v1/events/{event}/live?access_token={token}", base.replace("http://", "ws://"))
    };

    // The viewer watches through replica 2; the host talks through replica 1.
    let (mut watcher, _) = tokio_tungstenite::connect_async(ws(p.url2(""), &viewer)).await.unwrap();
    let (mut talker, _) = tokio_tungstenite::connect_async(ws(p.url(""), &host)).await.unwrap();
    for s in [&mut watcher, &mut talker] {
        loop {
            if let Some(Ok(Message::Text(t))) = s.next().await
                && t.contains("\"hello\"")
            {
                break;
            }
        }
    }

    // The host keeps talking (one message every 5 ms) while replica 1 is killed under it.
    let (mut sink, mut stream) = talker.split();
    let sender = tokio::spawn(async move {
        for i in 0..400 {
            let frame = json!({"type": "chat.send", "client_msg_id": format!("c{i}"), "text": format!("line {i}")}).to_string();
            if sink.send(Message::text(frame)).await.is_err() {
                return i;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        400
    });
    let reader = tokio::spawn(async move {
        let mut accepted = HashSet::new();
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "chat.ack" {
                    accepted.insert(v["message"]["id"].as_str().unwrap().to_owned());
                }
            }
        }
        accepted
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    p.gateway.crash();
    let sent_before_death = sender.await.unwrap();
    let accepted = reader.await.unwrap();
    assert!(sent_before_death < 400, "the kill happened mid-stream");
    assert!(!accepted.is_empty(), "some messages were accepted before the kill");

    // Every accepted message reached the viewer on the surviving replica...
    let mut seen = HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !accepted.is_subset(&seen) {
        match tokio::time::timeout_at(deadline, watcher.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "chat.message" {
                    seen.insert(v["message"]["id"].as_str().unwrap().to_owned());
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("viewer socket ended or timed out: {other:?}; saw {} of {} accepted", seen.len(), accepted.len()),
        }
    }
    // ...and is in the persisted history.
    let mut stored = HashSet::new();
    for _ in 0..100 {
        let page: Value = http
            .get(p.url2(&format!("/api/v1/events/{event}/chat/messages?limit=200")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stored = page["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
        if accepted.is_subset(&stored) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let missing: Vec<_> = accepted.difference(&stored).collect();
    assert!(missing.is_empty(), "accepted but not stored: {missing:?}\n{}", p.logs());
}
