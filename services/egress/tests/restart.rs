//! The egress binary killed (SIGKILL) in the middle of a recording: started again on the same
//! spool, it resumes the job, the lost time is a recorded gap (a discontinuity in the playlist),
//! and the recording plays to the end.
use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command},
    time::{Duration, Instant},
};

use stagecast_proto::egress::v1::{self as pb, egress_service_client::EgressServiceClient};
use tonic::transport::Channel;

mod support;
use support::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port()
}

fn egress(spool: &Path, s3_port: u16, grpc: u16, http: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_stagecast-egress"))
        .env("EGRESS_GRPC_ADDR", format!("127.0.0.1:{grpc}"))
        .env("EGRESS_HTTP_ADDR", format!("127.0.0.1:{http}"))
        .env("EGRESS_SPOOL_DIR", spool)
        .env("S3_ENDPOINT", format!("http://127.0.0.1:{s3_port}"))
        .env("S3_ACCESS_KEY", KEY)
        .env("S3_SECRET_KEY", SECRET)
        .env("S3_BUCKET", "recordings")
        .env("NATS_URL", stagecast_testkit::nats_url())
        // No SFU here: the test publishes straight to the job's ports; taps are refused fast.
        .env("MEDIA_GRPC_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("the egress binary starts")
}

async fn client(grpc: u16) -> EgressServiceClient<Channel> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(c) = EgressServiceClient::connect(format!("http://127.0.0.1:{grpc}")).await {
            return c;
        }
        assert!(Instant::now() < deadline, "egress gRPC did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_job(c: &mut EgressServiceClient<Channel>, limit: Duration, what: &str, f: impl Fn(&pb::Job) -> bool) -> pb::Job {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(job) = c.get_job(pb::GetJobRequest { job_id: "rec-kill".into() }).await {
            let job = job.into_inner();
            if f(&job) {
                return job;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {job:?}");
        } else {
            assert!(Instant::now() < deadline, "timed out waiting for {what}: no job");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ports(job: &pb::Job) -> stagecast_egress::composite::InputPorts {
    let i = &job.inputs[0];
    stagecast_egress::composite::InputPorts {
        camera: i.camera_port as u16,
        microphone: i.microphone_port as u16,
        screen: i.screen_port as u16,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_egress_killed_mid_recording_resumes_the_job_with_a_recorded_gap_and_the_recording_plays_to_the_end() {
    gstreamer::init().expect("GStreamer");
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(tmp.path().join("s3")).expect("s3 dir");
    let s3 = S3Server::start(&tmp.path().join("s3"));
    let bucket = s3.bucket();
    bucket.ensure_exists().await.expect("bucket");
    let spool = tmp.path().join("spool");
    let (grpc, http) = (free_port(), free_port());

    let mut first = egress(&spool, s3.port, grpc, http);
    let mut c = client(grpc).await;
    c.start_job(pb::StartJobRequest {
        job_id: "rec-kill".into(),
        room: "event-kill".into(),
        layout: "grid".into(),
        quality: "720p".into(),
        key_prefix: "recordings/rec-kill/".into(),
        on_air: vec![pb::OnAir { user_id: "host".into(), name: "Host".into() }],
        broadcast_only: false,
    })
    .await
    .expect("job starts");
    let job = wait_job(&mut c, Duration::from_secs(15), "input ports", |j| !j.inputs.is_empty()).await;
    let publisher1 = publisher(ports(&job), 0xffff8000);
    wait_job(&mut c, Duration::from_secs(30), "3 stored segments", |j| j.segments >= 3).await;

    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    drop(publisher1);

    let mut second = egress(&spool, s3.port, grpc, http);
    let mut c = client(grpc).await;
    let resumed =
        wait_job(&mut c, Duration::from_secs(20), "the resumed job's inputs", |j| j.state == "running" && !j.inputs.is_empty())
            .await;
    let before = resumed.segments;
    let _publisher2 = publisher(ports(&resumed), 0xffff8000);
    let job = wait_job(&mut c, Duration::from_secs(30), "segments after the restart", |j| {
        j.segments >= before + 3 && !j.gaps.is_empty()
    })
    .await;
    assert_eq!(job.gaps.len(), 1, "{:?}", job.gaps);
    assert_eq!(job.gaps[0].reason, "egress restarted");
    assert!(job.gaps[0].duration_ms > 0);

    c.stop_job(pb::StopJobRequest { job_id: "rec-kill".into() }).await.expect("stop");
    let done = wait_job(&mut c, Duration::from_secs(60), "the job to finish", |j| j.state == "finished").await;
    let _ = second.kill();
    let _ = second.wait();

    let dl = tmp.path().join("dl");
    std::fs::create_dir_all(&dl).expect("dl");
    download(&bucket, "recordings/rec-kill/index.m3u8", &dl.join("index.m3u8")).await;
    let playlist = std::fs::read_to_string(dl.join("index.m3u8")).expect("playlist");
    assert!(playlist.ends_with("#EXT-X-ENDLIST\n"), "{playlist}");
    assert_eq!(playlist.matches("#EXT-X-DISCONTINUITY\n").count(), 1, "{playlist}");
    let names: Vec<&str> = playlist.lines().filter(|l| l.starts_with("seg-")).collect();
    assert_eq!(names.len() as u32, done.segments);
    let indices: Vec<u32> = names.iter().map(|n| n[4..9].parse().expect("index")).collect();
    assert!(indices.windows(2).all(|w| w[1] > w[0]), "segment numbers only grow: {indices:?}");
    let mut total = 0.0;
    for name in &names {
        download(&bucket, &format!("recordings/rec-kill/{name}"), &dl.join(name)).await;
        let (d, text) = ffprobe_duration(&dl.join(name));
        assert!(text.contains("codec_name=h264") && text.contains("codec_name=aac"), "{name}: {text}");
        total += d;
    }
    assert!((total - done.duration_ms as f64 / 1000.0).abs() < 1.0, "HLS {total} s vs {} ms", done.duration_ms);
    download(&bucket, "recordings/rec-kill/recording.mp4", &dl.join("recording.mp4")).await;
    let (mp4, text) = ffprobe_duration(&dl.join("recording.mp4"));
    assert!(text.contains("codec_name=h264") && text.contains("codec_name=aac"), "{text}");
    // The MP4 plays to the end: it holds at least all the media (the gap may stay as a pause).
    assert!(mp4 >= total - 1.0, "MP4 {mp4} s vs HLS {total} s");
}
