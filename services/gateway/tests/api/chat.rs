//! Live chat over real WebSockets, across two gateway replicas.
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

use crate::helpers::{Account, TestApp, assert_problem, at, eventually, spawn};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(base: &str, event: &str, token: &str) -> Ws {
    let url = format!("{}/api/v1/events/{event}/live?access_token={token}", base.replace("http://", "ws://"));
    let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
    ws
}

/// The next JSON frame of type `ty`, skipping others; panics after 5 s.
pub(crate) async fn next_of(ws: &mut Ws, ty: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next()).await.unwrap_or_else(|_| panic!("no {ty} frame within 5 s"));
        match frame {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == ty {
                    return v;
                }
            }
            Some(Ok(Message::Close(c))) => panic!("closed while waiting for {ty}: {c:?}"),
            Some(Ok(_)) => {}
            other => panic!("socket ended while waiting for {ty}: {other:?}"),
        }
    }
}

/// The close frame's code; panics if the socket does not close within 5 s.
pub(crate) async fn closed_with(ws: &mut Ws) -> u16 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await.expect("socket closes within 5 s") {
            Some(Ok(Message::Close(Some(c)))) => return c.code.into(),
            Some(Ok(_)) => {}
            other => panic!("socket ended without a close frame: {other:?}"),
        }
    }
}

async fn say(ws: &mut Ws, client_msg_id: &str, text: &str) {
    ws.send(Message::text(json!({"type": "chat.send", "client_msg_id": client_msg_id, "text": text}).to_string())).await.unwrap();
}

pub(crate) async fn event_of(app: &TestApp, host: &Account) -> String {
    let r = app.post("/api/v1/events", Some(&host.access), json!({"title": "Chatty show", "starts_at": at(3600)})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn two_users_chat_and_a_viewer_on_another_gateway_replica_sees_both() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let guest = app.sign_up().await;
    let far = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let mut h = connect(&app.base, &event, &host.access).await;
    let hello = next_of(&mut h, "hello").await;
    assert_eq!(hello["protocol"], 1);
    assert_eq!(hello["you"]["role"], "host");
    let mut g = connect(&app.base, &event, &guest.access).await;
    assert_eq!(next_of(&mut g, "hello").await["you"]["role"], "viewer");
    let mut f = connect(&app.base2, &event, &far.access).await;
    next_of(&mut f, "hello").await;

    say(&mut h, "h1", "welcome!").await;
    let ack = next_of(&mut h, "chat.ack").await;
    assert_eq!(ack["client_msg_id"], "h1");
    say(&mut g, "g1", "thanks, happy to be here").await;
    next_of(&mut g, "chat.ack").await;

    // Open pages follow the event's lifecycle without polling.
    let r = app.post(&format!("/api/v1/events/{event}/go-live"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let live = next_of(&mut g, "event").await;
    assert_eq!(live["change"], "live");
    assert_eq!(live["event"]["status"], "live");

    let a = next_of(&mut f, "chat.message").await;
    let b = next_of(&mut f, "chat.message").await;
    assert_eq!(a["message"]["text"], "welcome!");
    assert_eq!(a["message"]["author"]["role"], "host");
    assert_eq!(b["message"]["text"], "thanks, happy to be here");
    assert_eq!(b["message"]["author"]["user_id"], guest.user_id.as_str());

    // Replay for playback beside the recording: offsets from go-live; the pre-show chat (before
    // going live) is not part of it.
    say(&mut h, "h2", "we are live").await;
    next_of(&mut h, "chat.ack").await;
    say(&mut g, "g2", "woo").await;
    let mut items = Vec::new();
    for _ in 0..50 {
        let r: Value = app.get(&format!("/api/v1/events/{event}/chat/replay"), Some(&far.access)).await.json().await.unwrap();
        items = r["items"].as_array().cloned().unwrap_or_default();
        if items.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let texts: Vec<&str> = items.iter().map(|i| i["message"]["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["we are live", "woo"]);
    let offsets: Vec<i64> = items.iter().map(|i| i["offset_ms"].as_i64().unwrap()).collect();
    assert!(offsets[0] >= 0 && offsets[0] <= offsets[1], "{offsets:?}");

    let here: Value = app.get(&format!("/api/v1/events/{event}/presence"), Some(&far.access)).await.json().await.unwrap();
    assert_eq!(here["viewer_count"], 3);
}

#[tokio::test]
async fn a_newcomer_gets_history_and_presence_and_others_see_them_arrive() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let guest = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let mut h = connect(&app.base, &event, &host.access).await;
    next_of(&mut h, "hello").await;
    for i in 0..3 {
        say(&mut h, &format!("m{i}"), &format!("message {i}")).await;
        next_of(&mut h, "chat.ack").await;
    }
    // History is persisted in batches; give the persister a moment.
    let mut history = Vec::new();
    for _ in 0..50 {
        let r: Value = app.get(&format!("/api/v1/events/{event}/chat/messages"), Some(&guest.access)).await.json().await.unwrap();
        history = r["messages"].as_array().cloned().unwrap_or_default();
        if history.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(history.len(), 3);
    let mut g = connect(&app.base2, &event, &guest.access).await;
    let hello = next_of(&mut g, "hello").await;
    let texts: Vec<&str> = hello["history"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["message 0", "message 1", "message 2"]);
    assert_eq!(hello["presence"]["viewer_count"], 2);
    let arrived = next_of(&mut h, "presence").await;
    assert_eq!(arrived["joined"], true);
    assert_eq!(arrived["user"]["user_id"], guest.user_id.as_str());
    assert_eq!(arrived["viewer_count"], 2);
    assert_eq!(arrived["user"]["role"], "viewer");
    let host_here =
        hello["presence"]["users"].as_array().unwrap().iter().find(|u| u["user_id"] == host.user_id.as_str()).cloned();
    assert_eq!(host_here.expect("the host is listed")["role"], "host");
    drop(g);
    let left = next_of(&mut h, "presence").await;
    assert_eq!(left["joined"], false);
    assert_eq!(left["viewer_count"], 1);
}

#[tokio::test]
async fn a_retried_send_with_the_same_client_id_is_delivered_once() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let mut h = connect(&app.base, &event, &host.access).await;
    next_of(&mut h, "hello").await;
    say(&mut h, "same", "only once").await;
    say(&mut h, "same", "only once").await;
    say(&mut h, "other", "marker").await;
    // Read everything up to the marker's delivery: acks and live messages interleave.
    let (mut acks, mut live) = (Vec::new(), Vec::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while live.last().map(String::as_str) != Some("marker") {
        let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout_at(deadline, h.next()).await else {
            panic!("no marker within 5 s")
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        match v["type"].as_str() {
            Some("chat.ack") => acks.push(v),
            Some("chat.message") => live.push(v["message"]["text"].as_str().unwrap().to_owned()),
            _ => {}
        }
    }
    assert_eq!(live, ["only once", "marker"]);
    let same: Vec<&Value> = acks.iter().filter(|a| a["client_msg_id"] == "same").collect();
    assert_eq!(same.len(), 2, "both sends were acknowledged");
    assert_eq!(same[0]["message"]["id"], same[1]["message"]["id"]);
}

#[tokio::test]
async fn moderators_delete_time_out_and_ban_and_the_banned_socket_closes() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let troll = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let mut h = connect(&app.base, &event, &host.access).await;
    next_of(&mut h, "hello").await;
    let mut t = connect(&app.base2, &event, &troll.access).await;
    next_of(&mut t, "hello").await;

    say(&mut t, "t1", "spam spam").await;
    let msg = next_of(&mut t, "chat.ack").await["message"].clone();
    let id = msg["id"].as_str().unwrap();
    // A viewer cannot moderate.
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/events/{event}/chat/messages/{id}")))
        .bearer_auth(&troll.access)
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::FORBIDDEN, "not_a_moderator").await;
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/events/{event}/chat/messages/{id}?reason=spam")))
        .bearer_auth(&host.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(next_of(&mut t, "chat.deleted").await["message_id"], id);

    let r = app
        .post(
            &format!("/api/v1/events/{event}/chat/timeouts"),
            Some(&host.access),
            json!({"user_id": troll.user_id, "duration_secs": 60, "reason": "cool down"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    say(&mut t, "t2", "still here").await;
    let err = next_of(&mut t, "error").await;
    assert_eq!(err["code"], "timed_out");
    assert!(err["retry_after"].as_u64().unwrap() <= 60);

    let r = app
        .post(
            &format!("/api/v1/events/{event}/chat/bans"),
            Some(&host.access),
            json!({"user_id": troll.user_id, "reason": "enough"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(closed_with(&mut t).await, 4003);
    // The ban is the stage's; the chat applies it from the bus a moment later.
    let refused = eventually(async || {
        let r = app.http.get(app.url(&format!("/api/v1/events/{event}/live"))).bearer_auth(&troll.access).send().await.unwrap();
        r.status() == StatusCode::FORBIDDEN
    })
    .await;
    assert!(refused, "the chat refuses the banned user within 5 s");
    let r = app.http.get(app.url(&format!("/api/v1/events/{event}/live"))).bearer_auth(&troll.access).send().await.unwrap();
    assert_problem(r, StatusCode::FORBIDDEN, "banned").await;
    // A WebSocket client (a browser cannot read a refused handshake's status) is told in a frame
    // and a close code.
    let mut again = connect(&app.base, &event, &troll.access).await;
    assert_eq!(next_of(&mut again, "error").await["code"], "banned");
    assert_eq!(closed_with(&mut again).await, 4003);
    let r = app
        .post(
            &format!("/api/v1/events/{event}/chat/messages"),
            Some(&troll.access),
            json!({"client_msg_id": "t3", "text": "let me in"}),
        )
        .await;
    assert_problem(r, StatusCode::FORBIDDEN, "banned").await;

    let audit: Value = app.get(&format!("/api/v1/events/{event}/chat/audit"), Some(&host.access)).await.json().await.unwrap();
    let kinds: Vec<&str> = audit["actions"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ban", "timeout", "delete_message"]);
    assert_eq!(audit["actions"][0]["reason"], "enough");
    assert_eq!(audit["actions"][0]["actor_id"], host.user_id.as_str());
    assert_eq!(audit["actions"][0]["target_user_id"], troll.user_id.as_str());
    let r = app.get(&format!("/api/v1/events/{event}/chat/audit"), Some(&troll.access)).await;
    assert_problem(r, StatusCode::FORBIDDEN, "not_a_moderator").await;
}

#[tokio::test]
async fn the_standing_lists_name_the_moderators_the_banned_and_the_timed_out_for_moderators_only() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let (moderator, troll, loud) = (app.sign_up().await, app.sign_up().await, app.sign_up().await);
    let event = event_of(&app, &host).await;
    let path = format!("/api/v1/events/{event}/chat/standing");
    let empty: Value = app.get(&path, Some(&host.access)).await.json().await.unwrap();
    assert_eq!(empty, json!({"moderators": [], "banned": [], "timed_out": []}));

    let ok = |r: reqwest::Response| assert_eq!(r.status(), StatusCode::OK);
    ok(app
        .post(&format!("/api/v1/events/{event}/chat/moderators"), Some(&host.access), json!({"user_id": moderator.user_id}))
        .await);
    ok(app.post(&format!("/api/v1/events/{event}/chat/bans"), Some(&moderator.access), json!({"user_id": troll.user_id})).await);
    ok(app
        .post(
            &format!("/api/v1/events/{event}/chat/timeouts"),
            Some(&host.access),
            json!({"user_id": loud.user_id, "duration_secs": 120}),
        )
        .await);

    // Moderators and bans are the stage's; the chat applies them from the bus a moment later.
    let applied = eventually(async || {
        let r = app.get(&path, Some(&moderator.access)).await;
        r.status() == StatusCode::OK && r.json::<Value>().await.unwrap()["banned"].as_array().is_some_and(|b| !b.is_empty())
    })
    .await;
    assert!(applied, "the chat follows the stage within 5 s");
    let r = app.get(&path, Some(&moderator.access)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let standing: Value = r.json().await.unwrap();
    assert_eq!(standing["moderators"][0]["user"]["user_id"], moderator.user_id.as_str());
    assert_eq!(standing["moderators"][0]["by"]["user_id"], host.user_id.as_str());
    let banned = &standing["banned"][0];
    assert_eq!(banned["user"]["user_id"], troll.user_id.as_str());
    assert_eq!(banned["user"]["display_name"], "Ada", "names come from the accounts");
    assert_eq!(banned["by"]["user_id"], moderator.user_id.as_str());
    assert!(banned["since"].is_string() && banned.get("until").is_none());
    let timed = &standing["timed_out"][0];
    assert_eq!(timed["user"]["user_id"], loud.user_id.as_str());
    let (since, until) = (timed["since"].as_str().unwrap(), timed["until"].as_str().unwrap());
    let secs = chrono::DateTime::parse_from_rfc3339(until).unwrap() - chrono::DateTime::parse_from_rfc3339(since).unwrap();
    assert_eq!(secs.num_seconds(), 120);

    for who in [&troll, &loud] {
        assert_problem(app.get(&path, Some(&who.access)).await, StatusCode::FORBIDDEN, "not_a_moderator").await;
    }
    assert_problem(app.get(&path, None).await, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn slow_mode_and_blocked_terms_refuse_or_hold_and_a_held_message_can_be_approved() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let guest = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let r = app
        .http
        .put(app.url(&format!("/api/v1/events/{event}/chat/settings")))
        .bearer_auth(&host.access)
        .json(&json!({"slow_mode_secs": 30, "blocked_terms": ["Darn"], "blocked_term_mode": "reject"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut g = connect(&app.base, &event, &guest.access).await;
    let hello = next_of(&mut g, "hello").await;
    assert_eq!(hello["settings"]["slow_mode_secs"], 30);

    say(&mut g, "g1", "what a DARN shame").await;
    assert_eq!(next_of(&mut g, "error").await["code"], "blocked_term");
    say(&mut g, "g2", "darnation is a different word").await;
    next_of(&mut g, "chat.ack").await;
    say(&mut g, "g3", "too fast").await;
    let err = next_of(&mut g, "error").await;
    assert_eq!(err["code"], "slow_mode");
    assert!((1..=30).contains(&err["retry_after"].as_u64().unwrap()));

    let r = app
        .http
        .put(app.url(&format!("/api/v1/events/{event}/chat/settings")))
        .bearer_auth(&host.access)
        .json(&json!({"slow_mode_secs": 0, "blocked_terms": ["darn"], "blocked_term_mode": "hold"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    say(&mut g, "g4", "darn it").await;
    let ack = next_of(&mut g, "chat.ack").await;
    assert_eq!(ack["held"], true);
    let held: Value = app.get(&format!("/api/v1/events/{event}/chat/held"), Some(&host.access)).await.json().await.unwrap();
    let held_id = held["messages"][0]["id"].as_str().unwrap().to_owned();
    let r = app.post(&format!("/api/v1/events/{event}/chat/held/{held_id}/approve"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    loop {
        let m = next_of(&mut g, "chat.message").await;
        if m["message"]["text"] == "darn it" {
            break;
        }
    }
}

#[tokio::test]
async fn a_socket_without_a_valid_token_is_refused_before_the_upgrade() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let r = app.get(&format!("/api/v1/events/{event}/live"), None).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "missing_token").await;
    let r = app.get(&format!("/api/v1/events/{event}/live?access_token=forged.token.here"), None).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "token_invalid").await;
}

#[tokio::test]
async fn a_signed_in_request_that_is_not_a_websocket_handshake_is_told_what_is_missing() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let url = app.url(&format!("/api/v1/events/{event}/live"));
    let plain = app.http.get(&url).bearer_auth(&host.access).send().await.unwrap();
    let body = assert_problem(plain, StatusCode::UPGRADE_REQUIRED, "websocket_required").await;
    assert!(body["detail"].as_str().unwrap().contains("Connection header"), "{body}");
    let old_version = app
        .http
        .get(&url)
        .bearer_auth(&host.access)
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "8")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    let body = assert_problem(old_version, StatusCode::UPGRADE_REQUIRED, "websocket_required").await;
    assert!(body["detail"].as_str().unwrap().contains("Sec-WebSocket-Version must be 13"), "{body}");
}

#[tokio::test]
async fn a_viewer_who_stops_reading_does_not_hold_up_the_others() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let stalled = app.sign_up().await;
    let eager = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let mut h = connect(&app.base, &event, &host.access).await;
    next_of(&mut h, "hello").await;
    // Connected, then never read again.
    let mut s = connect(&app.base, &event, &stalled.access).await;
    next_of(&mut s, "hello").await;
    let mut e = connect(&app.base, &event, &eager.access).await;
    next_of(&mut e, "hello").await;

    // The host (exempt from slow mode and rate limits) sends a burst; each is acknowledged.
    let burst = 100;
    for i in 0..burst {
        say(&mut h, &format!("b{i}"), &format!("burst {i} {}", "x".repeat(400))).await;
    }
    let mut received = 0;
    // Generous: sends are accepted one by one (gRPC + JetStream ack each) in a debug build.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while received < burst {
        match tokio::time::timeout_at(deadline, e.next()).await {
            Ok(Some(Ok(Message::Text(t)))) if t.contains("\"chat.message\"") => received += 1,
            Ok(Some(Ok(_))) => {}
            other => panic!("the eager viewer stopped receiving after {received}: {other:?}"),
        }
    }
    assert_eq!(received, burst);
    drop(s);
}
