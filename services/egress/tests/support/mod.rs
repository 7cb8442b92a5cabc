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

/// A private nginx with the RTMP module: a local stand-in for YouTube's or Twitch's ingest.
/// Application `live` takes any key; `strict` refuses every publish (its `on_publish` answers 403,
/// as a platform does for a wrong key). `/stat` reports the streams it receives.
pub struct NginxRtmp {
    dir: tempfile::TempDir,
    pub rtmp_port: u16,
    pub http_port: u16,
    child: Option<Child>,
}

/// What nginx reports of one stream it receives.
#[derive(Debug, Clone)]
pub struct StreamStat {
    pub name: String,
    pub bytes_in: u64,
    pub video_codec: String,
    pub audio_codec: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port()
}

fn tag(block: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    block
        .find(&open)
        .and_then(|i| block[i + open.len()..].find(&close).map(|j| block[i + open.len()..i + open.len() + j].to_owned()))
        .unwrap_or_default()
}

impl NginxRtmp {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (rtmp_port, http_port) = (free_port(), free_port());
        let d = dir.path().display();
        let conf = format!(
            r#"load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process on;
worker_processes 1;
error_log {d}/error.log info;
pid {d}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{http_port};
    location /stat {{ rtmp_stat all; }}
    location /deny {{ return 403; }}
  }}
}}
rtmp {{
  server {{
    listen 127.0.0.1:{rtmp_port};
    application live {{ live on; }}
    application strict {{ live on; on_publish http://127.0.0.1:{http_port}/deny; }}
  }}
}}
"#
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).expect("nginx.conf");
        let mut n = Self { dir, rtmp_port, http_port, child: None };
        n.resume();
        n
    }

    pub fn url(&self, app: &str, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/{app}/{key}", self.rtmp_port)
    }

    /// Starts nginx (again, on the same ports); returns once it accepts connections.
    pub fn resume(&mut self) {
        // Debian puts it in /usr/sbin, which a user's PATH may lack.
        let bin = if Path::new("/usr/sbin/nginx").exists() { "/usr/sbin/nginx" } else { "nginx" };
        let child = Command::new(bin)
            .arg("-c")
            .arg(self.dir.path().join("nginx.conf"))
            .arg("-p")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx starts (scripts/test installs nginx and libnginx-mod-rtmp)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.rtmp_port)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", self.http_port)).is_err()
        {
            assert!(Instant::now() < deadline, "nginx did not listen: {}", self.error_log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops nginx and waits until its ports are closed.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.rtmp_port)).is_ok() {
            assert!(Instant::now() < deadline, "nginx still listens after stopping");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// The streams being published to it now.
    pub async fn streams(&self) -> Vec<StreamStat> {
        let Ok(r) = reqwest::get(format!("http://127.0.0.1:{}/stat", self.http_port)).await else { return Vec::new() };
        let xml = r.text().await.unwrap_or_default();
        xml.split("<stream>")
            .skip(1)
            .filter(|b| b.contains("<publishing/>"))
            .map(|b| StreamStat {
                name: tag(b, "name"),
                bytes_in: tag(b, "bytes_in").parse().unwrap_or(0),
                video_codec: tag(&tag(b, "video"), "codec"),
                audio_codec: tag(&tag(b, "audio"), "codec"),
            })
            .collect()
    }

    pub async fn stream(&self, name: &str) -> Option<StreamStat> {
        self.streams().await.into_iter().find(|s| s.name == name)
    }
}

impl Drop for NginxRtmp {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // TERM: the master takes its worker down with it (a killed master would leave it).
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Packets of the first `seconds` of a live RTMP stream: (codec type, pts in seconds).
pub fn ffprobe_rtmp(url: &str, seconds: u32) -> Vec<(String, f64)> {
    let out = Command::new("timeout")
        .args(["20", "ffprobe", "-v", "error", "-read_intervals", &format!("%+{seconds}"), "-show_entries", "packet=codec_type,pts_time", "-of", "csv=p=0", url])
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
