//! Issue 13: "jobs end with the event, and after a grace period with nobody on air".
use std::time::{Duration, Instant};

use stagecast_recording::{config::Lifecycle, service::RECONCILE_EVERY};

use crate::{platform::Platform, publisher::Publisher};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recording_nobody_is_on_air_in_stops_after_the_grace_period_unless_someone_comes_back_in_time() {
    let grace = Duration::from_secs(10);
    let p = Platform::start(Lifecycle { idle_grace: Some(grace), ..Lifecycle::default() }, 1).await;
    let live = p.live_event("Ada Host").await;
    let mut changes = p.changes(&live).await;
    let token = p.media_token(&live, &live.host_id).await;

    // The host streams (as OBS would, over WHIP) and records.
    let host = Publisher::whip(&p.sfu_url, &token).await;
    host.wait_connected(Duration::from_secs(20)).await;
    let rec = p.start_recording(&live).await;
    let id = rec.id.clone();
    p.recording_until(&live, &id, Duration::from_secs(30), "a stored segment", |r| r.has_playlist).await;
    let job = p.job_until(&id, Duration::from_secs(5), "the host as the job's input", |j| j.inputs.len() == 1).await;
    // A segment takes 2 s and the job asks the SFU every second: it has seen the host publish.
    assert_eq!(job.idle_since_ms, 0, "someone publishes: no idle clock");

    // The host stops streaming; the job reports nobody on air…
    host.leave().await;
    p.job_until(&id, Duration::from_secs(10), "the idle clock to start", |j| j.idle_since_ms > 0).await;
    let idle_from = Instant::now();
    // …and streams again before the grace period is over: the clock is cleared.
    let host = Publisher::whip(&p.sfu_url, &token).await;
    host.wait_connected(Duration::from_secs(20)).await;
    p.job_until(&id, Duration::from_secs(10), "the idle clock to clear", |j| j.idle_since_ms == 0).await;
    assert!(
        idle_from.elapsed() < grace,
        "the host must be back within the grace period for this test: {:?}",
        idle_from.elapsed()
    );
    // Nothing stops: the recording goes on for the grace period and two reconciles beyond the
    // time the host was away, which is when an uncancelled stop would have come.
    let from = p.recording(&live, &id).await.unwrap().duration_ms;
    let long_enough = from + (grace + 2 * RECONCILE_EVERY).as_millis() as u64;
    p.recording_until(&live, &id, Duration::from_secs(90), "the recording to go on past the grace period", |r| {
        assert_eq!((r.state.as_str(), r.stop_reason.as_str()), ("recording", ""), "someone back on air cancels the idle stop");
        r.duration_ms >= long_enough
    })
    .await;

    // The host leaves for good: after the grace period the recording stops as a host's stop
    // would, saying why, and becomes a recording like any other.
    host.leave().await;
    let idle = p.job_until(&id, Duration::from_secs(10), "the idle clock to start again", |j| j.idle_since_ms > 0).await;
    let stopping = changes
        .until(grace + Duration::from_secs(30), "the idle stop on the bus", |c| c.kind == "stopping" && c.reason == "idle")
        .await;
    let stopped = stopping.recording.unwrap();
    assert_eq!(stopped.stop_reason, "idle", "the catalogue says why");
    let stopped_at_ms = stopped.updated_at.map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000).unwrap();
    assert!(
        stopped_at_ms - idle.idle_since_ms >= grace.as_millis() as i64,
        "not before the grace period: stopped {} ms after the idle clock started",
        stopped_at_ms - idle.idle_since_ms
    );
    let done = p.recording_until(&live, &id, Duration::from_secs(60), "the recording to be ready", |r| r.state == "ready").await;
    assert_eq!(done.stop_reason, "idle");
    assert!(done.has_mp4 && done.duration_ms >= long_enough, "what was recorded is kept: {done:?}");
    let ready = changes.until(Duration::from_secs(30), "the ready message", |c| c.kind == "ready").await;
    assert_eq!(ready.recording.unwrap().stop_reason, "idle");
    // The event itself goes on: this was the idle stop, not its end.
    let event = p
        .events
        .clone()
        .get_event(stagecast_proto::events::v1::GetEventRequest { id: live.event_id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(event.status, stagecast_proto::events::v1::EventStatus::Live as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_idle_clock_survives_a_restart_of_the_egress_worker_and_the_stop_comes_at_the_original_deadline() {
    let grace = Duration::from_secs(20);
    let p = Platform::start(Lifecycle { idle_grace: Some(grace), ..Lifecycle::default() }, 1).await;
    let live = p.live_event("Ida Restart").await;
    let mut changes = p.changes(&live).await;
    let token = p.media_token(&live, &live.host_id).await;
    let host = Publisher::whip(&p.sfu_url, &token).await;
    host.wait_connected(Duration::from_secs(20)).await;
    let rec = p.start_recording(&live).await;
    let id = rec.id.clone();
    p.recording_until(&live, &id, Duration::from_secs(30), "a stored segment", |r| r.has_playlist).await;
    p.job_until(&id, Duration::from_secs(5), "the host publishing in the job", |j| j.inputs.len() == 1 && j.idle_since_ms == 0)
        .await;

    // The host leaves; half the grace period later the worker dies, and comes back 2 s after
    // that, resuming the job from its spool.
    host.leave().await;
    let idle = p.job_until(&id, Duration::from_secs(10), "the idle clock to start", |j| j.idle_since_ms > 0).await;
    let half = idle.idle_since_ms + grace.as_millis() as i64 / 2 - chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(Duration::from_millis(half.max(0) as u64)).await;
    p.kill_egress(Some(Duration::from_secs(2))).await;

    // The resumed job asks the SFU again, finds nobody, and goes on with the clock it had.
    let resumed = p
        .job_until(&id, Duration::from_secs(30), "the resumed job to report the room idle", |j| {
            j.state == "running" && j.idle_since_ms > 0
        })
        .await;
    assert_eq!(resumed.idle_since_ms, idle.idle_since_ms, "the idle clock is the one from before the restart");

    // So the stop comes a grace period after the room emptied (within a reconcile and some
    // slack), not a grace period after the restart (at least 12 s later).
    let stopping = changes
        .until(grace + Duration::from_secs(30), "the idle stop on the bus", |c| c.kind == "stopping" && c.reason == "idle")
        .await;
    let stopped = stopping.recording.unwrap();
    let stopped_at_ms = stopped.updated_at.map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000).unwrap();
    let after = Duration::from_millis((stopped_at_ms - idle.idle_since_ms).max(0) as u64);
    assert!(after >= grace, "not before the grace period: stopped {after:?} after the room emptied");
    assert!(
        after <= grace + RECONCILE_EVERY + Duration::from_secs(4),
        "at the original deadline: stopped {after:?} after the room emptied"
    );
    let done = p.recording_until(&live, &id, Duration::from_secs(60), "the recording to be ready", |r| r.state == "ready").await;
    assert_eq!(done.stop_reason, "idle");
    assert!(done.gaps.iter().any(|g| g.reason == "egress restarted"), "the restart is a recorded gap: {:?}", done.gaps);
}
