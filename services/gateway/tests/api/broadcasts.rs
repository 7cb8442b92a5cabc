//! Restreaming through the public API, against the real services, an egress worker (real
//! GStreamer) and a private nginx-rtmp standing in for a platform's ingest: saved destinations with
//! their keys sealed and never shown, who may do what, bad input, a push that goes live, a refused
//! key that fails with words a host understands, stop and detach.
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use stagecast_testkit::rtmp::NginxRtmp;

use crate::{
    chat::event_of,
    helpers::{Account, TestApp, assert_problem, spawn},
};

const KEY: &str = "sk_live_SECRET123abcd";

impl TestApp {
    async fn destination_until(
        &self,
        event: &str,
        id: &str,
        who: &Account,
        limit: Duration,
        what: &str,
        f: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let list: Value =
                self.get(&format!("/api/v1/events/{event}/destinations"), Some(&who.access)).await.json().await.unwrap();
            let d = list["destinations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["destination"]["id"] == id)
                .cloned()
                .unwrap_or(Value::Null);
            if f(&d) {
                return d;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {d}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test]
async fn a_host_restreams_a_live_show_sharing_the_recordings_encode_and_a_refused_key_fails_clearly_with_the_key_never_shown() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let viewer = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let ingest = NginxRtmp::start();
    let server = format!("rtmp://127.0.0.1:{}/live", ingest.rtmp_port);
    let strict = format!("rtmp://127.0.0.1:{}/strict", ingest.rtmp_port);

    // Bad input: each refusal names its field, and nothing is saved.
    for (body, code) in [
        (json!({"platform": "myspace", "stream_key": KEY}), "invalid_platform"),
        (json!({"platform": "custom", "stream_key": KEY}), "invalid_server_url"),
        (json!({"platform": "custom", "server_url": "http://example.com/live", "stream_key": KEY}), "invalid_server_url"),
        (json!({"platform": "custom", "server_url": "rtmp://example.com", "stream_key": KEY}), "invalid_server_url"),
        (json!({"platform": "youtube", "stream_key": ""}), "invalid_stream_key"),
        (json!({"platform": "youtube", "stream_key": "k".repeat(513)}), "invalid_stream_key"),
        (json!({"platform": "youtube", "stream_key": "two words"}), "invalid_stream_key"),
        (json!({"platform": "youtube", "name": "n".repeat(81), "stream_key": KEY}), "invalid_name"),
        (json!({"platform": "youtube", "name": "two\nlines", "stream_key": KEY}), "invalid_name"),
        (json!({"platform": "youtube", "name": "bell\u{7}", "stream_key": KEY}), "invalid_name"),
    ] {
        assert_problem(app.post("/api/v1/destinations", Some(&host.access), body).await, StatusCode::UNPROCESSABLE_ENTITY, code)
            .await;
    }
    assert_problem(
        app.post("/api/v1/destinations", None, json!({"platform": "youtube", "stream_key": KEY})).await,
        StatusCode::UNAUTHORIZED,
        "missing_token",
    )
    .await;
    let none: Value = app.get("/api/v1/destinations", Some(&host.access)).await.json().await.unwrap();
    assert_eq!(none["destinations"], json!([]));

    // Saved: the key is shown as its last four characters only.
    let r = app
        .post(
            "/api/v1/destinations",
            Some(&host.access),
            json!({"platform": "custom", "name": "My ingest", "server_url": server, "stream_key": KEY}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let text = r.text().await.unwrap();
    assert!(!text.contains("SECRET123"), "the key is never returned: {text}");
    let good: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((good["key_hint"].as_str(), good["server_url"].as_str()), (Some("…abcd"), Some(server.as_str())));
    let good_id = good["id"].as_str().unwrap().to_owned();
    let yt: Value = app
        .post("/api/v1/destinations", Some(&host.access), json!({"platform": "youtube", "stream_key": "yt-key-0000"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (yt["server_url"].as_str(), yt["name"].as_str()),
        (Some("rtmps://a.rtmps.youtube.com:443/live2"), Some("YouTube"))
    );
    let refused: Value = app
        .post(
            "/api/v1/destinations",
            Some(&host.access),
            json!({"platform": "custom", "server_url": strict, "stream_key": "wrong-key-9999"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let refused_id = refused["id"].as_str().unwrap().to_owned();
    let list = app.get("/api/v1/destinations", Some(&host.access)).await.text().await.unwrap();
    assert!(!list.contains("SECRET123") && list.matches("\"id\"").count() == 3, "{list}");

    // At rest the key is sealed: no column of the row holds it.
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url).await.unwrap();
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT row_to_json(d)::text FROM broadcast.destinations d").fetch_all(&mut db).await.unwrap();
    assert_eq!(rows.len(), 3);
    let sealed: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT key_ciphertext FROM broadcast.destinations").fetch_all(&mut db).await.unwrap();
    assert!(rows.iter().all(|r| !r.contains("SECRET123")), "{rows:?}");
    assert!(sealed.iter().all(|c| !c.windows(9).any(|w| w == b"SECRET123")));

    // Who may: only the event's staff see and attach; nobody attaches someone else's destination.
    let on_event = format!("/api/v1/events/{event}/destinations");
    assert_problem(app.get(&on_event, Some(&viewer.access)).await, StatusCode::FORBIDDEN, "not_event_staff").await;
    assert_problem(
        app.post(&on_event, Some(&viewer.access), json!({"destination_id": good_id})).await,
        StatusCode::FORBIDDEN,
        "not_event_staff",
    )
    .await;
    let theirs: Value = app
        .post("/api/v1/destinations", Some(&viewer.access), json!({"platform": "twitch", "stream_key": "live_viewer_1"}))
        .await
        .json()
        .await
        .unwrap();
    assert_problem(
        app.post(&on_event, Some(&host.access), json!({"destination_id": theirs["id"]})).await,
        StatusCode::NOT_FOUND,
        "destination_not_found",
    )
    .await;
    assert_problem(
        app.delete(&format!("/api/v1/destinations/{good_id}"), &viewer.access).await,
        StatusCode::NOT_FOUND,
        "destination_not_found",
    )
    .await;

    // Attach; start refused before the event is live.
    let r = app.post(&on_event, Some(&host.access), json!({"destination_id": good_id})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let attached: Value = r.json().await.unwrap();
    assert_eq!((attached["state"].as_str(), attached["auto_start"].as_bool()), (Some("idle"), Some(false)));
    assert_problem(
        app.post(&on_event, Some(&host.access), json!({"destination_id": good_id})).await,
        StatusCode::CONFLICT,
        "already_attached",
    )
    .await;
    assert_eq!(
        app.post(&on_event, Some(&host.access), json!({"destination_id": refused_id})).await.status(),
        StatusCode::CREATED
    );
    let start = format!("{on_event}/{good_id}/start");
    assert_problem(app.post(&start, Some(&host.access), json!({})).await, StatusCode::CONFLICT, "event_not_live").await;
    assert_problem(
        app.post(&format!("{on_event}/{}/start", uuid::Uuid::new_v4()), Some(&host.access), json!({})).await,
        StatusCode::NOT_FOUND,
        "not_attached",
    )
    .await;

    // Live: the push reaches the ingest with H.264 and AAC.
    assert_eq!(
        app.post(&format!("/api/v1/events/{event}/go-live"), Some(&host.access), json!({})).await.status(),
        StatusCode::OK
    );
    let r = app.post(&start, Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let started: Value = r.json().await.unwrap();
    assert!(matches!(started["state"].as_str(), Some("connecting" | "live")), "{started}");
    assert_problem(app.post(&start, Some(&host.access), json!({})).await, StatusCode::CONFLICT, "already_started").await;
    let live =
        app.destination_until(&event, &good_id, &host, Duration::from_secs(30), "the push live", |d| d["state"] == "live").await;
    assert!(live["live_since"].is_string(), "{live}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = ingest.stream(KEY).await
            && s.video_codec == "H264"
            && s.audio_codec == "AAC"
        {
            break;
        }
        assert!(Instant::now() < deadline, "the ingest never received the stream: {:?}", ingest.streams().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bitrate = app
        .destination_until(&event, &good_id, &host, Duration::from_secs(15), "a bitrate", |d| {
            d["bitrate_bps"].as_u64() > Some(100_000)
        })
        .await;
    assert!(!bitrate.to_string().contains("SECRET123"));
    assert_problem(
        app.delete(&format!("/api/v1/destinations/{good_id}"), &host.access).await,
        StatusCode::CONFLICT,
        "destination_in_use",
    )
    .await;

    // One encode: a recording started while the destination rides its own restream-only job
    // takes the destination onto the recording's job, and the other job goes; when the recording
    // stops, the destination goes back to a job of its own and stays live.
    let program: String = sqlx::query_scalar("SELECT job_id FROM broadcast.programs").fetch_one(&mut db).await.unwrap();
    let rec: Value =
        app.post(&format!("/api/v1/events/{event}/recordings"), Some(&host.access), json!({})).await.json().await.unwrap();
    let rid = rec["id"].as_str().unwrap().to_owned();
    let job_of = async |db: &mut sqlx::PgConnection| -> String {
        sqlx::query_scalar("SELECT job_id FROM broadcast.event_destinations WHERE destination_id = $1::uuid")
            .bind(&good_id)
            .fetch_one(db)
            .await
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while job_of(&mut db).await != rid {
        assert!(Instant::now() < deadline, "the destination never moved onto the recording's job");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.destination_until(&event, &good_id, &host, Duration::from_secs(15), "live on the recording's encode", |d| {
        d["state"] == "live"
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM broadcast.programs").fetch_one(&mut db).await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "the restream-only job {program} was not released");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = app.post(&format!("/api/v1/events/{event}/recordings/{rid}/stop"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = job_of(&mut db).await;
        if job != rid && job != program {
            break;
        }
        assert!(Instant::now() < deadline, "the destination never left the stopped recording's job");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.destination_until(&event, &good_id, &host, Duration::from_secs(15), "live on its own job again", |d| {
        d["state"] == "live"
    })
    .await;

    // A wrong key: failed within seconds, with what to do.
    let refused_at = Instant::now();
    assert_eq!(app.post(&format!("{on_event}/{refused_id}/start"), Some(&host.access), json!({})).await.status(), StatusCode::OK);
    let failed = app
        .destination_until(&event, &refused_id, &host, Duration::from_secs(5), "the refused key failed", |d| {
            d["state"] == "failed"
        })
        .await;
    println!("a refused key failed after {} ms", refused_at.elapsed().as_millis());
    assert_eq!(failed["error_code"], "key_refused");
    assert!(failed["error"].as_str().unwrap().contains("stream key"), "{failed}");
    assert_eq!(
        app.destination_until(&event, &good_id, &host, Duration::from_secs(1), "the good push", |_| true).await["state"],
        "live"
    );

    // Stop, then detach.
    let stop = format!("{on_event}/{good_id}/stop");
    let stopped: Value = app.post(&stop, Some(&host.access), json!({})).await.json().await.unwrap();
    assert_eq!(stopped["state"], "stopped");
    assert_problem(app.post(&stop, Some(&host.access), json!({})).await, StatusCode::CONFLICT, "not_started").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ingest.stream(KEY).await.is_some() {
        assert!(Instant::now() < deadline, "the ingest still receives after the stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = app.patch(&format!("{on_event}/{good_id}"), &host.access, json!({"auto_start": true})).await;
    assert_eq!(r.json::<Value>().await.unwrap()["auto_start"], true);
    assert_eq!(app.delete(&format!("{on_event}/{good_id}"), &host.access).await.status(), StatusCode::NO_CONTENT);
    assert_problem(app.delete(&format!("{on_event}/{good_id}"), &host.access).await, StatusCode::NOT_FOUND, "not_attached").await;
    assert_eq!(app.delete(&format!("/api/v1/destinations/{good_id}"), &host.access).await.status(), StatusCode::NO_CONTENT);
    let left: Value = app.get("/api/v1/destinations", Some(&host.access)).await.json().await.unwrap();
    assert_eq!(left["destinations"].as_array().unwrap().len(), 2);

    // Another show: a destination set to start at go-live starts by itself, and stops when the
    // event ends.
    let next = event_of(&app, &host).await;
    let auto: Value = app
        .post(
            "/api/v1/destinations",
            Some(&host.access),
            json!({"platform": "custom", "server_url": server, "stream_key": "auto_key_1"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let auto_id = auto["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/api/v1/events/{next}/destinations"),
            Some(&host.access),
            json!({"destination_id": auto_id, "auto_start": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(app.post(&format!("/api/v1/events/{next}/go-live"), Some(&host.access), json!({})).await.status(), StatusCode::OK);
    app.destination_until(&next, &auto_id, &host, Duration::from_secs(30), "auto-started and live", |d| d["state"] == "live")
        .await;
    assert!(ingest.stream("auto_key_1").await.is_some_and(|s| s.bytes_in > 0));
    assert_eq!(app.post(&format!("/api/v1/events/{next}/end"), Some(&host.access), json!({})).await.status(), StatusCode::OK);
    app.destination_until(&next, &auto_id, &host, Duration::from_secs(15), "stopped with the event", |d| d["state"] == "stopped")
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ingest.stream("auto_key_1").await.is_some() {
        assert!(Instant::now() < deadline, "the ingest still receives after the event ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
