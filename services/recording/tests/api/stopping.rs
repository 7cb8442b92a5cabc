//! Issue 13: a recording whose egress worker died while finishing it does not stay `stopping`
//! for ever.
use std::{collections::HashMap, time::Duration};

use stagecast_proto::recording::v1 as pb;
use stagecast_recording::config::Lifecycle;

use crate::platform::Platform;

fn ms(t: Option<prost_types::Timestamp>) -> i64 {
    t.map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recording_whose_egress_worker_dies_while_stopping_fails_once_after_the_timeout_keeping_what_it_stored() {
    // RECORDING_STOPPING_TIMEOUT_S=6, swept far more often than production's minute; two
    // replicas sweep at once.
    let timeout = Duration::from_secs(6);
    let lifecycle =
        Lifecycle { stopping_timeout: timeout, stopping_sweep_every: Duration::from_millis(300), ..Lifecycle::default() };
    let p = Platform::start(lifecycle, 2).await;
    let live = p.live_event("Stella Stuck").await;
    let mut changes = p.changes(&live).await;
    let rec = p.start_recording(&live).await;
    p.recording_until(&live, &rec.id, Duration::from_secs(30), "4 s stored", |r| r.has_playlist && r.duration_ms >= 4000).await;

    // The host stops it, and the worker dies the moment after it accepted the stop: before the
    // last segment, the MP4 and the end of the playlist. Nobody will report the end.
    let stopping = p.stop_recording(&live, &rec.id).await;
    assert_eq!(stopping.state, "stopping");
    p.kill_egress(None).await;
    let stopping =
        changes.until(Duration::from_secs(10), "the stopping message", |c| c.kind == "stopping" && c.reason == "host").await;
    let stopped_at_ms = ms(stopping.recording.unwrap().updated_at);

    // The timeout later it is failed, once, saying why; who stopped it is kept.
    let failed = changes.until(timeout + Duration::from_secs(20), "the failed message", |c| c.kind == "failed").await;
    assert_eq!(failed.reason, "stop_timed_out");
    let r = failed.recording.unwrap();
    assert!(ms(r.updated_at) - stopped_at_ms >= timeout.as_millis() as i64, "not before the timeout: {r:?}");
    assert_eq!((r.state.as_str(), r.stop_reason.as_str()), ("failed", "host"));
    assert!(r.error.contains("did not finish the recording"), "{}", r.error);
    assert!(r.ended_at.is_some());
    // What was stored stays, and plays as HLS; there is no MP4.
    assert!(r.has_playlist && !r.has_mp4 && r.duration_ms >= 4000, "{r:?}");
    let r = p.recording(&live, &rec.id).await.unwrap();
    assert_eq!(r.state, "failed");
    let stored = p.bucket.list(&rec.key_prefix).await.unwrap();
    let keys: Vec<&str> = stored.iter().map(|o| o.key.as_str()).collect();
    assert!(keys.iter().any(|k| k.ends_with("index.m3u8")) && keys.iter().any(|k| k.ends_with(".ts")), "{keys:?}");

    // Two replicas swept at the same time: the failure was written once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let db = sqlx::PgPool::connect(&p.database_url).await.unwrap();
    let bodies: Vec<Vec<u8>> = sqlx::query_scalar("SELECT body FROM recording.outbox").fetch_all(&db).await.unwrap();
    let mut kinds: HashMap<(String, String), usize> = HashMap::new();
    for body in bodies {
        let Ok(env) = stagecast_bus::Envelope::decode(&body) else { continue };
        let Ok(change) = env.open::<pb::RecordingChanged>() else { continue };
        *kinds.entry((change.kind, change.reason)).or_default() += 1;
    }
    assert_eq!(kinds.get(&("failed".to_owned(), "stop_timed_out".to_owned())), Some(&1), "{kinds:?}");
}
