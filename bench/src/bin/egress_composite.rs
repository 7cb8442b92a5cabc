//! CPU per stream-second of the egress composite against ffmpeg composing the same RTP inputs
//! into the same outputs (720p30 H.264 CBR 3 Mbit/s with 2 s closed GOPs at x264 veryfast +
//! zerolatency, AAC-LC 128 kbit/s 48 kHz stereo, HLS in 2 s segments + MP4), in the same run,
//! interleaved rounds, medians.
//!
//! Each side runs as its own process under `/usr/bin/time`, so its whole CPU (user + system,
//! threads included, startup and the MP4 at the end included) is counted; the publishers (one
//! `gst-launch-1.0` each: VP8 640×360 30 fps + Opus, or Opus only) are not. Both draw the same
//! picture: name labels, initials and speaking rings (ffmpeg with drawbox and drawtext). No S3
//! upload on either side.
//!
//! ```sh
//! cargo run --release -p stagecast-bench --bin egress_composite -- [seconds] [rounds]
//! ```
//!
//! With `BENCH_KEEP=1` the outputs stay on disk, to compare the pictures.
use std::{
    io::{BufRead, BufReader, Write},
    net::UdpSocket,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow};
use stagecast_egress::{
    composite::{Composite, Participant, Report, Spec},
    layout::{LayoutKind, Quality},
};

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).map(|a| a.port()).unwrap_or(0)
}

/// `ours <seconds> <dir>`: the composite of two people, then the MP4.
fn ours(seconds: u64, dir: &Path) -> anyhow::Result<()> {
    stagecast_egress::composite::init()?;
    let mut c = Composite::build(Spec {
        quality: Quality::P720,
        layout: LayoutKind::Grid,
        dir: dir.to_path_buf(),
        first_segment: 1,
        rtp_ip: "127.0.0.1".parse()?,
    })?;
    c.start()?;
    let a = c.add(Participant { user_id: "a".into(), name: "Ada Lovelace".into() })?;
    let b = c.add(Participant { user_id: "b".into(), name: "Grace Hopper".into() })?;
    println!("PORTS {} {} {} {}", a.camera, a.microphone, b.camera, b.microphone);
    std::io::stdout().flush()?;
    let bus = c.bus();
    let started = Instant::now();
    let mut segments = Vec::new();
    let mut finishing = false;
    loop {
        if !finishing && started.elapsed() >= Duration::from_secs(seconds) {
            c.finish();
            finishing = true;
        }
        if started.elapsed() > Duration::from_secs(seconds + 15) {
            return Err(anyhow!("no end of stream"));
        }
        if let Some(msg) = bus.timed_pop(gstreamer::ClockTime::from_mseconds(100)) {
            let mut done = false;
            for report in c.on_message(&msg) {
                match report {
                    Report::Segment { path, .. } => segments.push(path),
                    Report::Failed { reason } => return Err(anyhow!(reason)),
                    Report::Finished => done = true,
                }
            }
            if done {
                break;
            }
        }
        c.refresh();
    }
    c.stop();
    stagecast_egress::mp4::remux(&[segments], &dir.join("recording.mp4"))
}

fn publisher(video: Option<u16>, audio: u16) -> anyhow::Result<Child> {
    let mut desc = String::new();
    if let Some(v) = video {
        desc.push_str(&format!(
            "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 \
             ! vp8enc deadline=1 target-bitrate=800000 keyframe-max-dist=60 ! rtpvp8pay pt=96 ! udpsink host=127.0.0.1 port={v} "
        ));
    }
    desc.push_str(&format!(
        "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=48000,channels=2 ! opusenc ! rtpopuspay pt=111 ! udpsink host=127.0.0.1 port={audio}"
    ));
    Command::new("gst-launch-1.0")
        .arg("-q")
        .args(desc.split_whitespace())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("gst-launch-1.0 (gstreamer1.0-tools)")
}

/// CPU seconds (user + system) that `/usr/bin/time` wrote to `file`.
fn cpu_of(file: &Path) -> anyhow::Result<f64> {
    let text = std::fs::read_to_string(file)?;
    let line = text.lines().last().ok_or_else(|| anyhow!("no time output"))?;
    let mut parts = line.split_whitespace().map(|p| p.parse::<f64>());
    match (parts.next(), parts.next()) {
        (Some(Ok(u)), Some(Ok(s))) => Ok(u + s),
        _ => Err(anyhow!("cannot read the time output: {text}")),
    }
}

fn probe_duration(path: &Path) -> f64 {
    Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(0.0)
}

struct Round {
    cpu: f64,
    seconds: f64,
}

fn round_ours(seconds: u64, dir: &Path, audio_only: bool) -> anyhow::Result<Round> {
    let time_file = dir.join("time.txt");
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "%U %S", "-o"])
        .arg(&time_file)
        .arg(std::env::current_exe()?)
        .args(["ours", &seconds.to_string()])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?).read_line(&mut line)?;
    let ports: Vec<u16> = line.split_whitespace().skip(1).filter_map(|p| p.parse().ok()).collect();
    if ports.len() != 4 {
        return Err(anyhow!("the composite did not report its ports: {line:?}"));
    }
    let video = |p: u16| (!audio_only).then_some(p);
    let mut pubs = vec![publisher(video(ports[0]), ports[1])?, publisher(video(ports[2]), ports[3])?];
    let status = child.wait()?;
    for p in &mut pubs {
        let _ = p.kill();
        let _ = p.wait();
    }
    if !status.success() {
        return Err(anyhow!("the composite failed"));
    }
    Ok(Round { cpu: cpu_of(&time_file)?, seconds: probe_duration(&dir.join("recording.mp4")) })
}

fn sdp(video: Option<u16>, audio: u16) -> String {
    let mut s = String::from("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n");
    if let Some(v) = video {
        s.push_str(&format!("m=video {v} RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"));
    }
    s.push_str(&format!("m=audio {audio} RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"));
    s
}

const LIVE_INPUT: [&str; 9] = [
    "-probesize",
    "32768",
    "-analyzeduration",
    "500000",
    "-use_wallclock_as_timestamps",
    "1",
    "-protocol_whitelist",
    "file,udp,rtp",
    "-i",
];

fn round_ffmpeg(seconds: u64, dir: &Path, audio_only: bool) -> anyhow::Result<Round> {
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let video = |p: u16| (!audio_only).then_some(p);
    std::fs::write(dir.join("a.sdp"), sdp(video(ports[0]), ports[1]))?;
    std::fs::write(dir.join("b.sdp"), sdp(video(ports[2]), ports[3]))?;
    let graph = ffmpeg_graph(audio_only);
    let time_file = dir.join("time.txt");
    let tee = format!(
        "[f=hls:hls_time=2:hls_list_size=0:hls_playlist_type=event]{}|[f=mp4:movflags=+faststart]{}",
        dir.join("ff.m3u8").display(),
        dir.join("ff.mp4").display()
    );
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "%U %S", "-o"])
        .arg(&time_file)
        .args(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"])
        // Live inputs: timestamps from arrival (as our pipeline does) and a short probe, or
        // ffmpeg spends seconds probing and then runs far behind real time.
        .args(LIVE_INPUT)
        .arg(dir.join("a.sdp"))
        .args(LIVE_INPUT)
        .arg(dir.join("b.sdp"))
        .args(["-filter_complex", &graph, "-map", "[v]", "-map", "[a]"])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "main"])
        .args(["-b:v", "3000k", "-maxrate", "3000k", "-bufsize", "3000k", "-x264-params", "nal-hrd=cbr:scenecut=0:open-gop=0"])
        .args(["-g", "60", "-keyint_min", "60", "-bf", "0"])
        .args(["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"])
        .args(["-t", &seconds.to_string(), "-f", "tee", &tee])
        .stdin(Stdio::null())
        .spawn()
        .context("ffmpeg")?;
    // ffmpeg opens its RTP ports while it reads the SDP: start sending a moment later.
    std::thread::sleep(Duration::from_millis(300));
    let mut pubs = vec![publisher(video(ports[0]), ports[1])?, publisher(video(ports[2]), ports[3])?];
    let status = child.wait()?;
    for p in &mut pubs {
        let _ = p.kill();
        let _ = p.wait();
    }
    if !status.success() {
        return Err(anyhow!("ffmpeg failed"));
    }
    Ok(Round { cpu: cpu_of(&time_file)?, seconds: probe_duration(&dir.join("ff.mp4")) })
}

/// ffmpeg's filter graph for the same picture as ours: the grid's two tiles at (8,184) and
/// (648,184), 624×351 each, with what our compositor draws on them: a 4-pixel green speaking
/// ring around each (the bench's sine tones always speak), the camera or, without one, the
/// person's colour with their initials, and the name label (black at 75%, white text) along the
/// tile's bottom-left; text with an outline and a shadow, as GStreamer's `textoverlay` draws it. Drawing the same picture matters beyond fairness of work: x264 at a
/// constant bit rate spends more on a detailed picture than on a flat one.
fn ffmpeg_graph(audio_only: bool) -> String {
    const SANS: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    const SANS_BOLD: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
    let people = [(8, "Ada Lovelace", "AL", "0x6b3b81"), (648, "Grace Hopper", "GH", "0x1f6f6a")];
    let (y, w, h) = (184, 624, 351);
    let mut g = String::from("color=c=black:s=1280x720:r=30,format=yuv420p");
    for (x, _, initials, colour) in people {
        g.push_str(&format!(",drawbox=x={}:y={}:w={}:h={}:color=0x2ecc71:t=4", x - 4, y - 4, w + 8, h + 8));
        if audio_only {
            g.push_str(&format!(",drawbox=x={x}:y={y}:w={w}:h={h}:color={colour}:t=fill"));
            g.push_str(&format!(
                ",drawtext=fontfile={SANS_BOLD}:text={initials}:fontsize=147:fontcolor=white:borderw=2:shadowx=3:shadowy=3:x={x}+({w}-tw)/2:y={y}+({h}-th)/2"
            ));
        }
    }
    if !audio_only {
        g.push_str("[bg];[0:v]scale=624:351:force_original_aspect_ratio=decrease[va];[1:v]scale=624:351:force_original_aspect_ratio=decrease[vb];");
        g.push_str("[bg][va]overlay=8:184:eof_action=repeat[t];[t][vb]overlay=648:184:eof_action=repeat,fps=30");
    }
    // The labels last, over the cameras.
    for (x, name, _, _) in people {
        g.push_str(&label(x, name));
    }
    g.push_str(",format=yuv420p[v];");
    g.push_str("[0:a][1:a]amix=inputs=2:normalize=0,aresample=48000[a]");
    return g;

    fn label(x: i32, name: &str) -> String {
        let top = 184 + 351 - 36;
        format!(
            ",drawbox=x={x}:y={top}:w=360:h=36:color=black@0.75:t=fill,drawtext=fontfile={SANS}:text='{name}':fontsize=20:fontcolor=white:borderw=1:shadowx=1:shadowy=1:x={}:y={top}+(36-th)/2",
            x + 12
        )
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("ours") {
        let seconds = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
        return ours(seconds, &PathBuf::from(args.get(3).ok_or_else(|| anyhow!("dir"))?));
    }
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let root = tempfile_dir()?;
    println!("egress composite vs ffmpeg: {seconds} s per round, {rounds} interleaved rounds");
    for (label, audio_only) in [("two cameras (VP8 360p30 + Opus each)", false), ("audio-only stage (two Opus speakers)", true)] {
        let (mut o, mut f) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            let d = root.join(format!("{audio_only}-{r}-ours"));
            std::fs::create_dir_all(&d)?;
            let ours = round_ours(seconds, &d, audio_only)?;
            let d = root.join(format!("{audio_only}-{r}-ffmpeg"));
            std::fs::create_dir_all(&d)?;
            let ff = round_ffmpeg(seconds, &d, audio_only)?;
            println!(
                "  {label} round {r}: ours {:.3} CPU-s per stream-s ({:.1} s recorded), ffmpeg {:.3} ({:.1} s)",
                ours.cpu / ours.seconds.max(0.1),
                ours.seconds,
                ff.cpu / ff.seconds.max(0.1),
                ff.seconds
            );
            o.push(ours.cpu / ours.seconds.max(0.1));
            f.push(ff.cpu / ff.seconds.max(0.1));
        }
        let (mo, mf) = (median(o), median(f));
        println!(
            "{label}: ours {mo:.3} of a core, ffmpeg {mf:.3}; ratio ours/ffmpeg {:.2} (targets: ≤ 0.6 of a core, ratio ≤ 1.0)",
            mo / mf
        );
    }
    if std::env::var_os("BENCH_KEEP").is_some() {
        // To compare the two pictures: `ffmpeg -ss 5 -i <dir>/recording.mp4 -frames:v 1 ours.png`.
        println!("outputs kept in {}", root.display());
    } else {
        let _ = std::fs::remove_dir_all(&root);
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("stagecast-bench-egress-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
