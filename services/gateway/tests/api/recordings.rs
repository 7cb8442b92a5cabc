//! Cloud recording through the public API, against the real events, chat, auth and media
//! services, an egress worker (real GStreamer) and the recording service, storing in a real
//! S3-compatible server: start, layout, stop, the library, playback with ranges, the chat replay
//! in step with the video, who may watch, and delete.
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    chat::event_of,
    helpers::{Account, TestApp, assert_problem, spawn},
};

impl TestApp {
    async fn recording(&self, rid: &str, who: &Account) -> Value {
        let r = self.get(&format!("/api/v1/recordings/{rid}"), Some(&who.access)).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// Polls the recording until `f` holds (the egress worker reports every segment and state).
    async fn recording_until(&self, rid: &str, who: &Account, limit: Duration, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let r = self.recording(rid, who).await;
            if f(&r) {
                return r;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {r}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn say(&self, event: &str, who: &Account, text: &str) -> Instant {
        let r = self
            .post(
                &format!("/api/v1/events/{event}/chat/messages"),
                Some(&who.access),
                json!({"client_msg_id": uuid::Uuid::new_v4().to_string(), "text": text}),
            )
            .await;
        assert!(r.status().is_success(), "chat send: {}", r.status());
        Instant::now()
    }
}

fn ffprobe(bytes: &[u8]) -> (f64, String) {
    let path = std::env::temp_dir().join(format!("gwtest-{}.mp4", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration:stream=codec_name", "-of", "compact"])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let d = text.lines().find_map(|l| l.strip_prefix("format|duration=")).and_then(|d| d.parse().ok()).unwrap_or(0.0);
    (d, text)
}

#[tokio::test]
async fn a_host_records_a_live_show_switches_layout_and_stops_and_a_viewer_plays_it_with_the_chat_in_step() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let viewer = app.sign_up().await;
    let troll = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let start = format!("/api/v1/events/{event}/recordings");

    assert_problem(app.post(&start, Some(&host.access), json!({})).await, StatusCode::CONFLICT, "event_not_live").await;
    let r = app.post(&format!("/api/v1/events/{event}/go-live"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_problem(app.post(&start, Some(&viewer.access), json!({})).await, StatusCode::FORBIDDEN, "not_event_staff").await;
    assert_problem(
        app.post(&start, Some(&host.access), json!({"layout": "pip"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_layout",
    )
    .await;

    let r = app.post(&start, Some(&host.access), json!({"layout": "grid"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let started_at = Instant::now();
    let rec: Value = r.json().await.unwrap();
    let rid = rec["id"].as_str().unwrap().to_owned();
    assert_eq!(rec["state"], "recording");
    assert_eq!(rec["layout"], "grid");
    assert_problem(app.post(&start, Some(&host.access), json!({})).await, StatusCode::CONFLICT, "recording_already_running")
        .await;

    let rec = app
        .recording_until(&rid, &host, Duration::from_secs(30), "the first stored segment", |r| {
            r["playback"]["hls_url"].is_string()
        })
        .await;
    let first_said = app.say(&event, &host, "hello, recording").await;
    assert!(rec["playback"]["mp4_url"].is_null(), "no MP4 while recording");

    let layout = format!("/api/v1/events/{event}/recordings/{rid}/layout");
    let r = app.http.put(app.url(&layout)).bearer_auth(&host.access).json(&json!({"layout": "pip"})).send().await.unwrap();
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "unknown_layout").await;
    let r = app.http.put(app.url(&layout)).bearer_auth(&host.access).json(&json!({"layout": "speaker"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let rec: Value = r.json().await.unwrap();
    assert_eq!(rec["layout"], "speaker");
    assert_eq!(rec["layout_changes"].as_array().unwrap().len(), 2);

    tokio::time::sleep(Duration::from_secs(3)).await;
    let second_said = app.say(&event, &viewer, "second message").await;
    app.recording_until(&rid, &host, Duration::from_secs(30), "6 s recorded", |r| r["duration_ms"].as_u64() >= Some(6000)).await;

    let stop = format!("/api/v1/events/{event}/recordings/{rid}/stop");
    assert_problem(app.post(&stop, Some(&viewer.access), json!({})).await, StatusCode::FORBIDDEN, "not_event_staff").await;
    let r = app.post(&stop, Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let span = started_at.elapsed().as_secs_f64();
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "stopping");
    assert_problem(app.post(&stop, Some(&host.access), json!({})).await, StatusCode::CONFLICT, "recording_not_running").await;
    let done =
        app.recording_until(&rid, &viewer, Duration::from_secs(60), "the recording to be ready", |r| r["state"] == "ready").await;
    let duration = done["duration_ms"].as_f64().unwrap() / 1000.0;
    assert!((span - duration).abs() < 4.0, "the recording covers the span: {duration} s of {span} s");
    assert!(done["thumbnail_url"].is_string() && done["playback"]["mp4_url"].is_string(), "{done}");

    // The library.
    let list: Value = app.get(&start, Some(&viewer.access)).await.json().await.unwrap();
    assert_eq!(list["recordings"][0]["id"], rid.as_str());
    let mine: Value = app.get("/api/v1/recordings?scope=mine", Some(&host.access)).await.json().await.unwrap();
    assert_eq!(mine["recordings"][0]["id"], rid.as_str());
    let theirs: Value = app.get("/api/v1/recordings?scope=mine", Some(&viewer.access)).await.json().await.unwrap();
    assert_eq!(theirs["recordings"], json!([]), "a viewer hosts nothing");

    // Playback: the playlist (header token), a segment (query token), the MP4 in ranges.
    let playlist = app.get(&format!("/api/v1/recordings/{rid}/hls/index.m3u8"), Some(&viewer.access)).await;
    assert_eq!(playlist.status(), StatusCode::OK);
    let text = playlist.text().await.unwrap();
    assert!(text.contains("#EXT-X-PROGRAM-DATE-TIME:") && text.ends_with("#EXT-X-ENDLIST\n"), "{text}");
    let seg = text.lines().find(|l| l.starts_with("seg-")).unwrap();
    let r = app.get(&format!("/api/v1/recordings/{rid}/hls/{seg}?access_token={}", viewer.access), None).await;
    assert_eq!((r.status(), r.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "video/mp2t"));
    let with_token = app
        .get(&format!("/api/v1/recordings/{rid}/hls/index.m3u8?access_token={}", viewer.access), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(with_token.contains(&format!("{seg}?access_token=")), "native players carry the token to segments");
    let mp4 = format!("/api/v1/recordings/{rid}/download.mp4");
    let r = app.http.get(app.url(&mp4)).bearer_auth(&viewer.access).header("Range", "bytes=0-99").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert!(r.headers()["content-range"].to_str().unwrap().starts_with("bytes 0-99/"));
    assert_eq!(r.bytes().await.unwrap().len(), 100);
    let r = app.get(&format!("{mp4}?access_token={}", viewer.access), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let (mp4_secs, probe) = ffprobe(&r.bytes().await.unwrap());
    assert!(probe.contains("codec_name=h264") && probe.contains("codec_name=aac"), "{probe}");
    assert!((mp4_secs - duration).abs() < 1.0, "MP4 {mp4_secs} s vs recorded {duration} s");
    let r = app.get(&format!("/api/v1/recordings/{rid}/thumbnail.jpg?access_token={}", viewer.access), None).await;
    assert_eq!((r.status(), r.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "image/jpeg"));
    assert_problem(
        app.get(&format!("/api/v1/recordings/{rid}/hls/index.m3u8"), None).await,
        StatusCode::UNAUTHORIZED,
        "missing_token",
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/recordings/{rid}/hls/job.json"), Some(&viewer.access)).await,
        StatusCode::NOT_FOUND,
        "recording_file_not_found",
    )
    .await;

    // The chat replay, counted from the recording's first frame: each message where it was said.
    let replay: Value = app.get(&format!("/api/v1/recordings/{rid}/chat"), Some(&viewer.access)).await.json().await.unwrap();
    let messages = replay["messages"].as_array().unwrap();
    assert_eq!(messages.iter().map(|m| m["text"].as_str().unwrap()).collect::<Vec<_>>(), ["hello, recording", "second message"]);
    let (a, b) = (messages[0]["offset_ms"].as_i64().unwrap(), messages[1]["offset_ms"].as_i64().unwrap());
    let apart = second_said.duration_since(first_said).as_millis() as i64;
    assert!((b - a - apart).abs() < 1000, "the messages are {apart} ms apart in the video too: {a} → {b}");
    assert!(a >= 0 && (a as f64) < duration * 1000.0, "the first message is inside the recording: {a} ms");

    // Who may watch: a banned user gets nothing, the link included.
    let r = app.post(&format!("/api/v1/events/{event}/bans"), Some(&host.access), json!({"user_id": troll.user_id})).await;
    assert!(r.status().is_success());
    assert_problem(app.get(&format!("/api/v1/recordings/{rid}"), Some(&troll.access)).await, StatusCode::FORBIDDEN, "banned")
        .await;
    assert_problem(app.get(&format!("{mp4}?access_token={}", troll.access), None).await, StatusCode::FORBIDDEN, "banned").await;
    assert_problem(
        app.get(&format!("/api/v1/recordings/{rid}/chat"), Some(&troll.access)).await,
        StatusCode::FORBIDDEN,
        "banned",
    )
    .await;

    // Delete: the host only; the objects go with it.
    assert_problem(app.delete(&format!("/api/v1/recordings/{rid}"), &viewer.access).await, StatusCode::FORBIDDEN, "host_only")
        .await;
    let r = app.delete(&format!("/api/v1/recordings/{rid}"), &host.access).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get(&format!("/api/v1/recordings/{rid}"), Some(&host.access)).await,
        StatusCode::NOT_FOUND,
        "recording_not_found",
    )
    .await;
    let list: Value = app.get(&start, Some(&host.access)).await.json().await.unwrap();
    assert_eq!(list["recordings"], json!([]));
    let bucket = stagecast_storage::Bucket::new(app.storage.clone()).unwrap();
    assert!(bucket.list(&format!("recordings/{rid}/")).await.unwrap().is_empty(), "every object of the recording is deleted");
}

#[tokio::test]
async fn automatic_recording_starts_at_go_live_and_the_recording_ends_with_the_event() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let viewer = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let settings = format!("/api/v1/events/{event}/recording-settings");

    assert_problem(app.get(&settings, Some(&viewer.access)).await, StatusCode::FORBIDDEN, "not_event_staff").await;
    let defaults: Value = app.get(&settings, Some(&host.access)).await.json().await.unwrap();
    assert_eq!((&defaults["auto_record"], &defaults["layout"]), (&json!(false), &json!("grid")));
    let put = |body: Value| app.http.put(app.url(&settings)).bearer_auth(&host.access).json(&body).send();
    assert_problem(
        put(json!({"auto_record": true, "layout": "pip"})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_layout",
    )
    .await;
    let r = put(json!({"auto_record": true, "layout": "speaker"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let saved: Value = app.get(&settings, Some(&host.access)).await.json().await.unwrap();
    assert_eq!(saved, json!({"event_id": event, "auto_record": true, "layout": "speaker", "quality": "720p"}));

    let r = app.post(&format!("/api/v1/events/{event}/go-live"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let list = format!("/api/v1/events/{event}/recordings");
    let deadline = Instant::now() + Duration::from_secs(20);
    let rid = loop {
        let l: Value = app.get(&list, Some(&viewer.access)).await.json().await.unwrap();
        if let Some(r) = l["recordings"].as_array().and_then(|a| a.first()) {
            assert_eq!(r["layout"], "speaker", "the saved layout");
            break r["id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no recording started at go-live");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    app.recording_until(&rid, &host, Duration::from_secs(30), "a stored segment", |r| {
        r["state"] == "recording" && r["playback"]["hls_url"].is_string()
    })
    .await;

    // Ending the event ends its recording: no one has to press stop.
    let r = app.post(&format!("/api/v1/events/{event}/end"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let done = app
        .recording_until(&rid, &host, Duration::from_secs(60), "the recording to end with the event", |r| r["state"] == "ready")
        .await;
    assert!(done["playback"]["mp4_url"].is_string());
}

#[tokio::test]
async fn a_host_chooses_how_long_their_recordings_are_kept_within_bounds_and_each_person_has_their_own() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let other = app.sign_up().await;
    let path = "/api/v1/me/recording-settings";
    let never_set = json!({"retention_days": null, "operator_retention_days": null, "effective_retention_days": null});

    // Never set, and this platform keeps recordings until deleted.
    let r = app.get(path, Some(&host.access)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), never_set);
    assert_eq!(app.get(path, None).await.status(), StatusCode::UNAUTHORIZED);

    let put = |who: &Account, body: Value| app.http.put(app.url(path)).bearer_auth(&who.access).json(&body).send();
    for days in [0, 3651] {
        let r = put(&host, json!({"retention_days": days})).await.unwrap();
        assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_retention_days").await;
    }
    for bad in [json!({"retention_days": -1}), json!({"retention_days": "30"}), json!({"keep": 30})] {
        assert_problem(put(&host, bad).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    }

    let r = put(&host, json!({"retention_days": 30})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let saved = json!({"retention_days": 30, "operator_retention_days": null, "effective_retention_days": 30});
    assert_eq!(r.json::<Value>().await.unwrap(), saved);
    assert_eq!(app.get(path, Some(&host.access)).await.json::<Value>().await.unwrap(), saved);
    // Someone else's are their own.
    assert_eq!(app.get(path, Some(&other.access)).await.json::<Value>().await.unwrap(), never_set);
    // Left out (or null): back to the platform's default.
    let r = put(&host, json!({})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), never_set);
}
