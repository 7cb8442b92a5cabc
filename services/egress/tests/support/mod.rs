//! What the egress tests share: a private s3s-fs that can be stopped, fake publishers, probes.
#![allow(dead_code)]
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

use gstreamer as gst;
use gstreamer::prelude::*;
use stagecast_egress::{composite::InputPorts, job::JobView, worker::Worker};
use stagecast_storage::{Bucket, Config};

pub struct S3Server {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

pub const KEY: &str = "egress-test";
pub const SECRET: &str = "egress-test-secret-key";

pub fn s3s_fs_bin() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_default();
    let local = Path::new(&home).join(".cargo/bin/s3s-fs");
    if local.exists() { local } else { PathBuf::from("s3s-fs") }
}

impl S3Server {
    pub fn start(dir: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let mut s = Self { child: None, port, dir: dir.to_path_buf() };
        s.resume();
        s
    }

    pub fn resume(&mut self) {
        let child = Command::new(s3s_fs_bin())
            .args(["--access-key", KEY, "--secret-key", SECRET, "--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("s3s-fs starts (scripts/test installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn bucket(&self) -> Bucket {
        Bucket::new(Config {
            endpoint: Some(format!("http://127.0.0.1:{}", self.port)),
            region: "us-east-1".into(),
            access_key: KEY.into(),
            secret_key: SECRET.into(),
            bucket: "recordings".into(),
        })
        .expect("bucket config")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn publisher(ports: InputPorts, argb: u32) -> gst::Element {
    let desc = format!(
        "videotestsrc is-live=true pattern=solid-color foreground-color={argb} ! video/x-raw,width=320,height=180,framerate=15/1 \
         ! vp8enc deadline=1 keyframe-max-dist=15 ! rtpvp8pay pt=96 ! udpsink host=127.0.0.1 port={} \
         audiotestsrc is-live=true wave=sine volume=0.3 ! audio/x-raw,rate=48000,channels=2 ! opusenc ! rtpopuspay pt=111 \
         ! udpsink host=127.0.0.1 port={}",
        ports.camera, ports.microphone
    );
    let p = gst::parse::launch(&desc).expect("publisher pipeline");
    p.set_state(gst::State::Playing).expect("publisher plays");
    p
}

pub fn ffprobe_duration(path: &Path) -> (f64, String) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration:stream=codec_name", "-of", "compact"])
        .arg(path)
        .output()
        .expect("ffprobe");
    assert!(out.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let d = text.lines().find_map(|l| l.strip_prefix("format|duration=")).and_then(|d| d.parse().ok()).unwrap_or(0.0);
    (d, text)
}

pub async fn download(bucket: &Bucket, key: &str, to: &Path) {
    use futures::StreamExt;
    let mut obj = bucket.get(key).await.expect("get").unwrap_or_else(|| panic!("{key} is stored"));
    let mut bytes = Vec::new();
    while let Some(chunk) = obj.body.next().await {
        bytes.extend_from_slice(&chunk.expect("body"));
    }
    std::fs::write(to, bytes).expect("write");
}

#[allow(unused_imports)]
pub use stagecast_testkit::rtmp::{NginxRtmp, StreamStat};

/// Packets of the first `seconds` of a live RTMP stream: (codec type, pts in seconds).
pub fn ffprobe_rtmp(url: &str, seconds: u32) -> Vec<(String, f64)> {
    let out = Command::new("timeout")
        .args([
            "20",
            "ffprobe",
            "-v",
            "error",
            "-read_intervals",
            &format!("%+{seconds}"),
            "-show_entries",
            "packet=codec_type,pts_time",
            "-of",
            "csv=p=0",
            url,
        ])
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (kind, pts) = l.split_once(',')?;
            Some((kind.to_owned(), pts.parse().ok()?))
        })
        .collect()
}

/// Polls a job until `f` holds; fails with the last view after `limit`.
pub async fn wait_view(worker: &Worker, id: &str, limit: Duration, what: &str, f: impl Fn(&JobView) -> bool) -> JobView {
    let deadline = Instant::now() + limit;
    loop {
        let v = worker.get(id).expect("job exists");
        if f(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {v:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
