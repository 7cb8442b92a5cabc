//! Issue 13: "the library … delete — which removes the S3 objects too — and an optional
//! retention period".
use std::{collections::HashMap, time::Duration};

use stagecast_proto::recording::v1 as pb;
use stagecast_recording::config::Lifecycle;

use crate::platform::{Live, Platform};

/// A recording of the event as the catalogue keeps it, ended `ended_days_ago`, with two objects
/// in S3 under its prefix; its id.
async fn seed(p: &Platform, db: &sqlx::PgPool, live: &Live, state: &str, ended_days_ago: f64) -> String {
    let id = uuid::Uuid::now_v7();
    let prefix = format!("recordings/{id}/");
    sqlx::query(
        "INSERT INTO recording.recordings (id, event_id, event_title, host_id, state, layout, quality, key_prefix,
             started_at, ended_at, segments, staff_ids)
         VALUES ($1, $2, 'Friday show', $3, $4, 'grid', '720p', $5,
             now() - make_interval(secs => $6 * 86400 + 60), now() - make_interval(secs => $6 * 86400), 1, ARRAY[$3])",
    )
    .bind(id)
    .bind(live.event_id.parse::<uuid::Uuid>().unwrap())
    .bind(live.host_id.parse::<uuid::Uuid>().unwrap())
    .bind(state)
    .bind(&prefix)
    .bind(ended_days_ago)
    .execute(db)
    .await
    .unwrap();
    for (name, kind) in [("index.m3u8", "application/vnd.apple.mpegurl"), ("seg-00001.ts", "video/mp2t")] {
        p.bucket.put(&format!("{prefix}{name}"), vec![0u8; 188].into(), kind).await.unwrap();
    }
    id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_delete_each_recording_past_the_retention_once_with_its_objects_and_keep_the_younger_ones() {
    // RECORDING_RETENTION_DAYS=1; sweeps much more often than production's 15 minutes, two at
    // a time per replica, so the replicas' sweeps overlap and a batch does not take everything.
    let lifecycle = Lifecycle {
        retention: Some(Duration::from_secs(86_400)),
        retention_sweep_every: Duration::from_millis(300),
        retention_batch: 2,
        ..Lifecycle::default()
    };
    let p = Platform::start(lifecycle, 2).await;
    let live = p.live_event("Rita Retention").await;
    let mut changes = p.changes(&live).await;

    // A real recording, stored in S3 by the egress worker.
    let rec = p.start_recording(&live).await;
    p.recording_until(&live, &rec.id, Duration::from_secs(30), "2 s recorded", |r| r.duration_ms >= 2000).await;
    p.stop_recording(&live, &rec.id).await;
    p.recording_until(&live, &rec.id, Duration::from_secs(60), "the recording to be ready", |r| r.state == "ready").await;
    let stored = p.bucket.list(&rec.key_prefix).await.unwrap();
    assert!(stored.len() >= 3, "segments, playlist, MP4: {stored:?}");

    // Just ended, it is kept. Then it ended two days ago, as did others (one failed), while one
    // ended an hour ago.
    let db = sqlx::PgPool::connect(&p.database_url).await.unwrap();
    let young = seed(&p, &db, &live, "ready", 1.0 / 24.0).await;
    sqlx::query("UPDATE recording.recordings SET ended_at = now() - interval '2 days' WHERE id = $1")
        .bind(rec.id.parse::<uuid::Uuid>().unwrap())
        .execute(&db)
        .await
        .unwrap();
    let mut old = vec![rec.id.clone()];
    for state in ["ready", "ready", "failed", "ready"] {
        old.push(seed(&p, &db, &live, state, 2.0).await);
    }

    // Each goes as its host's delete would: objects, then the row, with a `deleted` message.
    for id in &old {
        let prefix = format!("recordings/{id}/");
        let m = changes
            .until(Duration::from_secs(30), "a deleted message for each", |c| {
                c.kind == "deleted" && c.recording.as_ref().is_some_and(|r| &r.id == id)
            })
            .await;
        assert_eq!(m.reason, "retention");
        assert!(p.bucket.list(&prefix).await.unwrap().is_empty(), "{id}: every object is deleted");
        let gone = p.recording(&live, id).await.expect_err("deleted");
        assert_eq!(gone.code(), tonic::Code::NotFound);
    }
    // The younger one stays, objects and all.
    let kept = p.recording(&live, &young).await.unwrap();
    assert_eq!(kept.state, "ready");
    assert_eq!(p.bucket.list(&format!("recordings/{young}/")).await.unwrap().len(), 2);
    let listed = p
        .recordings()
        .list_recordings(pb::ListRecordingsRequest { event_id: live.event_id.clone(), actor_id: live.host_id.clone() })
        .await
        .unwrap()
        .into_inner()
        .recordings;
    assert_eq!(listed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [young.as_str()]);

    // Two replicas swept the same rows at the same time: each deletion was written once.
    let bodies: Vec<Vec<u8>> = sqlx::query_scalar("SELECT body FROM recording.outbox").fetch_all(&db).await.unwrap();
    let mut deleted: HashMap<String, usize> = HashMap::new();
    for body in bodies {
        let Ok(env) = stagecast_bus::Envelope::decode(&body) else { continue };
        let Ok(change) = env.open::<pb::RecordingChanged>() else { continue };
        if change.kind == "deleted" {
            *deleted.entry(change.recording.unwrap().id).or_default() += 1;
        }
    }
    assert_eq!(deleted, old.iter().map(|id| (id.clone(), 1)).collect::<HashMap<_, _>>(), "one deleted message each");
}
