//! Issue 13: "keyframes are requested on loss". The SFU asks a publisher for a keyframe when it
//! loses the publisher's packets itself; RTP lost between the SFU and the egress worker (the tap
//! is one-way plain RTP) has to be asked for by the worker.
use std::time::{Duration, Instant};

use stagecast_recording::config::Lifecycle;

use crate::{platform::Platform, publisher::Publisher};

/// Waits until the publisher has received more than `n` keyframe requests.
async fn requests_beyond(host: &Publisher, n: usize, limit: Duration, what: &str) {
    let deadline = Instant::now() + limit;
    while host.keyframe_requests().len() <= n {
        assert!(Instant::now() < deadline, "{what}: {} requests so far", host.keyframe_requests().len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rtp_lost_on_the_way_to_the_egress_worker_reaches_the_publisher_as_a_keyframe_request_at_most_every_half_second() {
    let p = Platform::start(Lifecycle::default(), 1).await;
    let live = p.live_event("Kim Keyframe").await;
    let token = p.media_token(&live, &live.host_id).await;
    let host = Publisher::whip(&p.sfu_url, &token).await;
    host.wait_connected(Duration::from_secs(20)).await;
    let rec = p.start_recording(&live).await;
    // Seconds recorded: the tap is up, the input decodes, and the requests of its start (the
    // SFU asks as a tap starts) are behind us.
    p.recording_until(&live, &rec.id, Duration::from_secs(30), "4 s recorded", |r| r.duration_ms >= 4000).await;
    let before = host.keyframe_requests().len();

    // A packet goes out 400 ms late: the SFU receives every packet and sees no loss, but the
    // worker's 150 ms jitter buffer has given up on it: the camera's picture is broken there.
    // One such packet a second: on a machine loaded enough to stall the worker's socket reads
    // for longer than the hold, a late packet can still arrive in time; one of ten will not.
    host.hold_back(Duration::from_secs(1), Duration::from_secs(10));
    requests_beyond(&host, before, Duration::from_secs(10), "a keyframe request for the packet lost on the way to the worker")
        .await;

    // A loss every 100 ms for 3 s: the publisher is asked again while it goes on, but never
    // twice within 500 ms (the worker asks at most that often per input, the SFU sends at most
    // that often per track).
    let burst = Instant::now();
    host.hold_back(Duration::from_millis(100), Duration::from_secs(3));
    let asked = host.keyframe_requests().len();
    requests_beyond(&host, asked + 2, Duration::from_secs(10), "repeated requests while the losses go on").await;
    let during: Vec<Instant> = host.keyframe_requests().into_iter().filter(|t| *t >= burst).collect();
    for pair in during.windows(2) {
        let apart = pair[1].duration_since(pair[0]);
        // 500 ms at the SFU; a little less on arrival when the first of two was delivered late.
        assert!(apart >= Duration::from_millis(400), "keyframe requests {apart:?} apart: {during:?}");
    }
}
