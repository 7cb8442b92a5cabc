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
    // Objects before the row: a row already past its retention may be swept the moment it is
    // written, and objects put after that sweep would be left behind (a false "objects stay").
    for (name, kind) in [("index.m3u8", "application/vnd.apple.mpegurl"), ("seg-00001.ts", "video/mp2t")] {
        p.bucket.put(&format!("{prefix}{name}"), vec![0u8; 188].into(), kind).await.unwrap();
    }
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

/// The host's own retention for `live`'s host, as the recording service answers it.
async fn set_host_retention(p: &Platform, live: &Live, days: Option<u32>) -> Result<pb::HostSettings, tonic::Status> {
    p.recordings()
        .set_host_settings(pb::SetHostSettingsRequest { actor_id: live.host_id.clone(), retention_days: days })
        .await
        .map(|r| r.into_inner())
}

/// Waits until each of `gone` is deleted, then checks that each of `kept` is still there after
/// a few more sweeps.
async fn swept(p: &Platform, live_of: &HashMap<String, &Live>, gone: &[&str], kept: &[&str]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for id in gone {
        while p.recording(live_of[*id], id).await.is_ok() {
            assert!(std::time::Instant::now() < deadline, "{id} is past its retention and should be deleted");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(p.bucket.list(&format!("recordings/{id}/")).await.unwrap().is_empty(), "{id}: its objects go too");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for id in kept {
        assert_eq!(p.recording(live_of[*id], id).await.unwrap().state, "ready", "{id} is within its retention");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hosts_own_retention_deletes_their_recordings_sooner_but_never_keeps_them_past_the_operators() {
    // RECORDING_RETENTION_DAYS=10, swept often.
    let lifecycle = Lifecycle {
        retention: Some(Duration::from_secs(10 * 86_400)),
        retention_sweep_every: Duration::from_millis(300),
        ..Lifecycle::default()
    };
    let p = Platform::start(lifecycle, 1).await;
    let (brief, long, default) =
        (p.live_event("Bea Brief").await, p.live_event("Lou Long").await, p.live_event("Dee Default").await);

    // Never set: the operator's.
    let s =
        p.recordings().get_host_settings(pb::HostSettingsRequest { actor_id: brief.host_id.clone() }).await.unwrap().into_inner();
    assert_eq!((s.retention_days, s.operator_retention_days, s.effective_retention_days), (None, Some(10), Some(10)));
    for days in [0, 3651] {
        let refused = set_host_retention(&p, &brief, Some(days)).await.expect_err("out of bounds");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{days}: {refused:?}");
    }
    // Shorter than the operator's: theirs. Longer: kept as chosen, the operator's applies.
    let s = set_host_retention(&p, &brief, Some(1)).await.unwrap();
    assert_eq!((s.retention_days, s.effective_retention_days), (Some(1), Some(1)));
    let s = set_host_retention(&p, &long, Some(100)).await.unwrap();
    assert_eq!((s.retention_days, s.effective_retention_days), (Some(100), Some(10)));
    // Set and set back: the operator's again.
    set_host_retention(&p, &default, Some(1)).await.unwrap();
    let s = set_host_retention(&p, &default, None).await.unwrap();
    assert_eq!((s.retention_days, s.effective_retention_days), (None, Some(10)));

    let db = sqlx::PgPool::connect(&p.database_url).await.unwrap();
    let mut live_of = HashMap::new();
    let mut ids = Vec::new();
    for (live, days) in [(&brief, 2.0), (&brief, 0.5), (&long, 11.0), (&long, 9.0), (&default, 11.0), (&default, 2.0)] {
        let id = seed(&p, &db, live, "ready", days).await;
        live_of.insert(id.clone(), live);
        ids.push(id);
    }
    let [brief_old, brief_young, long_old, long_young, default_old, default_young] =
        ids.iter().map(String::as_str).collect::<Vec<_>>()[..]
    else {
        unreachable!()
    };
    swept(&p, &live_of, &[brief_old, long_old, default_old], &[brief_young, long_young, default_young]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_an_operators_retention_only_hosts_who_chose_one_lose_old_recordings() {
    let lifecycle = Lifecycle { retention: None, retention_sweep_every: Duration::from_millis(300), ..Lifecycle::default() };
    let p = Platform::start(lifecycle, 1).await;
    let (brief, keeper) = (p.live_event("Bea Brief").await, p.live_event("Kim Keeper").await);
    let s = set_host_retention(&p, &brief, Some(3)).await.unwrap();
    assert_eq!((s.retention_days, s.operator_retention_days, s.effective_retention_days), (Some(3), None, Some(3)));
    let db = sqlx::PgPool::connect(&p.database_url).await.unwrap();
    let mut live_of = HashMap::new();
    let mut ids = Vec::new();
    for (live, days) in [(&brief, 4.0), (&brief, 2.0), (&keeper, 4000.0)] {
        let id = seed(&p, &db, live, "ready", days).await;
        live_of.insert(id.clone(), live);
        ids.push(id);
    }
    swept(&p, &live_of, &[&ids[0]], &[&ids[1], &ids[2]]).await;
}
