//! A WHIP publisher standing in for OBS — GStreamer's webrtcbin in tests/e2e/whip/publish.py,
//! sending VP8 and Opus — reaches a WHEP viewer in headless Chromium (tests/e2e/whip/view.mjs)
//! through the SFU, over real UDP.
//!
//! libnice (webrtcbin's ICE) ignores loopback interfaces, so the test needs a non-loopback
//! address without touching the host's network. It re-executes itself inside private network,
//! PID and mount namespaces (`unshare --net --pid --fork --kill-child --mount-proc`): there it
//! brings up `lo` and a veth pair carrying 10.200.0.1 and 10.200.0.2, starts the platform with the
//! SFU's media sockets on 10.200.0.1 (`MEDIA_UDP_IP`, inherited by the service), and runs both
//! scripts. The test Postgres, Redis and S3 live in the host's namespace; the outer test bridges
//! them into the namespace through Unix sockets in a temporary directory (the filesystem is
//! shared, the network is not). When the inner process ends, however it ends, the kernel kills
//! everything left in its PID namespace and the network namespace disappears with it.
//!
//! Needs: root (or unprivileged user namespaces), iproute2, Debian's python3-gi with GStreamer
//! 1.22 (`webrtcbin`, `gstreamer1.0-nice`), Chromium and Node; `scripts/test` installs them.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
use std::{
    io::{BufRead, BufReader, Read},
    net::{TcpListener, TcpStream},
    os::unix::{
        fs::MetadataExt,
        net::{UnixListener, UnixStream},
    },
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use reqwest::Url;
use serde_json::Value;
use stagecast_e2e::Platform;

const TEST: &str = "a_gstreamer_whip_publisher_reaches_a_chromium_whep_viewer";
/// Set (to the bridge directory) in the re-executed test inside the namespaces.
const INNER: &str = "STAGECAST_WHIP_NETNS_DIR";
/// The SFU's media address inside the namespace, and the other end of the veth pair.
const SFU_IP: &str = "10.200.0.1";
const PEER_IP: &str = "10.200.0.2";
/// The test servers the platform uses (scripts/test starts them in the host's namespace): each
/// is bridged to this port inside the (otherwise empty) namespace. Unset ones are left out; the
/// platform then says what is missing.
const BRIDGES: [(&str, &str, u16); 3] = [
    ("postgres", "STAGECAST_TEST_DATABASE_URL", 15432),
    ("redis", "STAGECAST_TEST_REDIS_URL", 16379),
    ("s3", "STAGECAST_TEST_S3_ENDPOINT", 19000),
];

fn whip_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("whip")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gstreamer_whip_publisher_reaches_a_chromium_whep_viewer() {
    match std::env::var_os(INNER) {
        Some(dir) => inside(Path::new(&dir)).await,
        None => tokio::task::spawn_blocking(outside).await.unwrap(),
    }
}

// ---- outside: bridges and the namespaces ------------------------------------------------------

fn outside() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        (INNER.to_owned(), dir.path().display().to_string()),
        ("MEDIA_UDP_IP".to_owned(), SFU_IP.to_owned()),
        ("MEDIA_PUBLIC_IP".to_owned(), SFU_IP.to_owned()),
    ];
    for (name, var, inner_port) in BRIDGES {
        let Ok(original) = std::env::var(var) else { continue };
        let url = Url::parse(&original).unwrap_or_else(|e| panic!("{var}={original}: {e}"));
        let host = url.host_str().unwrap_or_else(|| panic!("{var}={original} has no host")).to_owned();
        let port = url.port().unwrap_or_else(|| match url.scheme() {
            "postgres" | "postgresql" => 5432,
            "redis" => 6379,
            _ => url.port_or_known_default().unwrap_or_else(|| panic!("{var}={original} has no port")),
        });
        let target = format!("{host}:{port}");
        let listener = UnixListener::bind(dir.path().join(format!("{name}.sock"))).unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                match TcpStream::connect(&target) {
                    Ok(tcp) => splice(conn, tcp),
                    Err(e) => eprintln!("bridge {name}: connect {target}: {e}"),
                }
            }
        });
        // The same URL (credentials, path, parameters) with the bridge's address inside.
        let authority = if url.port().is_some() { format!("{host}:{port}") } else { host };
        env.push((var.to_owned(), original.replacen(&authority, &format!("127.0.0.1:{inner_port}"), 1)));
    }

    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    let mut cmd = Command::new("unshare");
    if !root {
        cmd.arg("--map-root-user");
    }
    cmd.args(["--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .envs(env);
    let (status, stdout, stderr) =
        run_bounded(cmd, Duration::from_secs(240)).unwrap_or_else(|e| panic!("unshare (util-linux) runs: {e}"));
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(status.is_some_and(|s| s.success()), "the test inside the namespace failed ({status:?}); its output is above");
    assert!(stdout.contains("view: result"), "no viewer result in the output above");
}

/// Copies bytes both ways between two streams until either side closes.
fn splice<A, B>(a: A, b: B)
where
    A: Read + std::io::Write + Send + 'static + TryClone,
    B: Read + std::io::Write + Send + 'static + TryClone,
{
    let (Ok(mut a2), Ok(mut b2)) = (a.try_clone_(), b.try_clone_()) else { return };
    let (mut a, mut b) = (a, b);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut a, &mut b2);
        b2.shutdown_write();
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut b, &mut a2);
        a2.shutdown_write();
    });
}

trait TryClone: Sized {
    fn try_clone_(&self) -> std::io::Result<Self>;
    fn shutdown_write(&self);
}
impl TryClone for TcpStream {
    fn try_clone_(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn shutdown_write(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}
impl TryClone for UnixStream {
    fn try_clone_(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn shutdown_write(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}

/// Runs a command to completion or until `limit` (then kills it); returns its status (None when
/// killed) and output.
fn run_bounded(mut cmd: Command, limit: Duration) -> std::io::Result<(Option<ExitStatus>, String, String)> {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let status = wait_bounded(&mut child, limit);
    Ok((status, out.recv().unwrap_or_default(), err.recv().unwrap_or_default()))
}

fn drain(mut r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = r.read_to_end(&mut s);
        let _ = tx.send(String::from_utf8_lossy(&s).into_owned());
    });
    rx
}

fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

// ---- inside the namespaces --------------------------------------------------------------------

fn ip(args: &str) {
    let out = Command::new("ip").args(args.split(' ')).output().expect("ip (iproute2) runs");
    assert!(out.status.success(), "ip {args}: {}", String::from_utf8_lossy(&out.stderr));
}

async fn inside(dir: &Path) {
    // The namespace starts empty: loopback for the platform, a veth pair for libnice.
    ip("link set lo up");
    ip("link add sc-sfu type veth peer name sc-peer");
    ip(&format!("addr add {SFU_IP}/24 dev sc-sfu"));
    ip(&format!("addr add {PEER_IP}/24 dev sc-peer"));
    ip("link set sc-sfu up");
    ip("link set sc-peer up");
    for (name, _, port) in BRIDGES {
        let sock = dir.join(format!("{name}.sock"));
        if !sock.exists() {
            continue;
        }
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                match UnixStream::connect(&sock) {
                    Ok(unix) => splice(conn, unix),
                    Err(e) => eprintln!("bridge {name}: connect {}: {e}", sock.display()),
                }
            }
        });
    }

    let p = Platform::start().await;
    let host = p.sign_up("Streamer").await;
    let viewer = p.sign_up("Watcher").await;
    let event = p.schedule(&host, "GStreamer night").await;
    let host_token = p.media_token(&host, &event).await;
    let viewer_token = p.media_token(&viewer, &event).await;
    let sfu = host_token["url"].as_str().unwrap().to_owned();
    let (ht, vt) = (host_token["token"].as_str().unwrap().to_owned(), viewer_token["token"].as_str().unwrap().to_owned());

    let logs = tokio::task::spawn_blocking(move || {
        let result = publish_and_view(&sfu, &ht, &vt);
        (result, p.logs())
    })
    .await
    .unwrap();
    match logs {
        (Ok(report), _) => println!("{report}"),
        (Err(e), logs) => panic!("{e}\n--- platform logs\n{logs}"),
    }
}

/// Starts the publisher, waits until it is connected, runs the viewer, stops the publisher.
/// Returns both scripts' output, or an error that includes it.
fn publish_and_view(sfu: &str, host_token: &str, viewer_token: &str) -> Result<String, String> {
    let mut publisher = Command::new("/usr/bin/python3")
        .arg(whip_dir().join("publish.py"))
        .args(["--url", &format!("{sfu}/rtc/v1/whip"), "--token", host_token, "--seconds", "90"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("start /usr/bin/python3 (Debian's, with python3-gi): {e}"))?;
    let (tx, lines) = mpsc::channel();
    let stdout = BufReader::new(publisher.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let publisher_err = drain(publisher.stderr.take().unwrap());
    let mut published = Vec::new();

    // The publisher is live once ICE and DTLS are up (bounded by the script, and here).
    let deadline = Instant::now() + Duration::from_secs(40);
    let live = loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                let live = line.starts_with("publish: published");
                published.push(line);
                if live {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    if !live {
        let status = wait_bounded(&mut publisher, Duration::from_secs(5));
        return Err(format!(
            "the WHIP publisher did not get live ({status:?}):\n{}\n{}",
            published.join("\n"),
            publisher_err.recv_timeout(Duration::from_secs(5)).unwrap_or_default()
        ));
    }

    let mut viewer = Command::new("node");
    viewer.arg(whip_dir().join("view.mjs")).args(["--url", &format!("{sfu}/rtc/v1/whep"), "--token", viewer_token]);
    let viewed = run_bounded(viewer, Duration::from_secs(60)).map_err(|e| format!("start node: {e}"));

    // Stop the publisher: it DELETEs its session and exits 0.
    let _ = Command::new("kill").args(["-TERM", &publisher.id().to_string()]).status();
    let status = wait_bounded(&mut publisher, Duration::from_secs(20));
    published.extend(lines.try_iter());
    let publisher_out =
        format!("{}\n{}", published.join("\n"), publisher_err.recv_timeout(Duration::from_secs(5)).unwrap_or_default());
    let (view_status, view_out, view_err) = viewed?;
    let report = format!("--- publisher ({status:?})\n{publisher_out}\n--- viewer ({view_status:?})\n{view_out}\n{view_err}");

    let result: Option<Value> =
        view_out.lines().find_map(|l| l.strip_prefix("view: result ")).and_then(|j| serde_json::from_str(j).ok());
    let Some(result) = result else { return Err(format!("the viewer reported no result\n{report}")) };
    let n = |k: &str| result[k].as_u64().unwrap_or(0);
    if !(n("frames1") > 0 && n("frames2") > n("frames1") && view_status.is_some_and(|s| s.success())) {
        return Err(format!("the viewer's decoded video frames did not rise: {result}\n{report}"));
    }
    if n("audioSamples2") <= n("audioSamples1") {
        return Err(format!("the viewer's received audio samples did not rise: {result}\n{report}"));
    }
    if !(status.is_some_and(|s| s.success()) && publisher_out.contains("publish: deleted")) {
        return Err(format!("the publisher did not end its session cleanly\n{report}"));
    }
    Ok(report)
}
