//! The composite pipeline with real GStreamer: fake publishers send VP8 + Opus RTP to the job's
//! ports, as the SFU's taps do; the segments are probed with ffprobe and frames are checked by
//! colour where the layout puts each tile.
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use gstreamer as gst;
use gstreamer::prelude::*;
use stagecast_egress::{
    composite::{Composite, InputPorts, Participant, Report, Spec},
    layout::{LayoutKind, Quality, TileKind},
};

/// A publisher: a solid colour (ARGB) in VP8 and a tone (or silence) in Opus, over RTP.
fn publisher(ports: InputPorts, argb: u32, tone: bool) -> gst::Element {
    let wave = if tone { "sine" } else { "silence" };
    let desc = format!(
        "videotestsrc is-live=true pattern=solid-color foreground-color={argb} ! video/x-raw,width=320,height=180,framerate=15/1 \
         ! vp8enc deadline=1 keyframe-max-dist=15 ! rtpvp8pay pt=96 ! udpsink host=127.0.0.1 port={} \
         audiotestsrc is-live=true wave={wave} volume=0.5 ! audio/x-raw,rate=48000,channels=2 ! opusenc ! rtpopuspay pt=111 \
         ! udpsink host=127.0.0.1 port={}",
        ports.camera, ports.microphone
    );
    let p = gst::parse::launch(&desc).expect("publisher pipeline");
    p.set_state(gst::State::Playing).expect("publisher plays");
    p
}

fn screen_publisher(port: u16) -> gst::Element {
    let desc = format!(
        "videotestsrc is-live=true pattern=solid-color foreground-color=0xffffffff ! video/x-raw,width=640,height=360,framerate=10/1 \
         ! vp8enc deadline=1 keyframe-max-dist=10 ! rtpvp8pay pt=96 ! udpsink host=127.0.0.1 port={port}"
    );
    let p = gst::parse::launch(&desc).expect("screen pipeline");
    p.set_state(gst::State::Playing).expect("screen plays");
    p
}

struct Run {
    composite: Composite,
    bus: gst::Bus,
    segments: Vec<(u32, PathBuf, Duration)>,
    finished: bool,
}

impl Run {
    /// Pumps the bus (and the layout) until `until` holds or `limit` passes.
    fn pump(&mut self, limit: Duration, mut until: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + limit;
        while !until(self) {
            assert!(Instant::now() < deadline, "timed out; segments so far: {:?}", self.segments);
            if let Some(msg) = self.bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
                for report in self.composite.on_message(&msg) {
                    match report {
                        Report::Segment { index, path, duration, .. } => self.segments.push((index, path, duration)),
                        Report::Failed { reason } => panic!("pipeline failed: {reason}"),
                        Report::Finished => self.finished = true,
                    }
                }
            }
            self.composite.refresh();
        }
    }
}

/// Waits (5 s at most) for every visible input to arrive as its tile shows it.
fn settled(run: &mut Run) {
    let deadline = Instant::now() + Duration::from_secs(5);
    run.pump(Duration::from_secs(6), |r| r.composite.converted_inputs().is_empty() || Instant::now() > deadline);
    assert_eq!(run.composite.converted_inputs(), Vec::<String>::new(), "inputs the compositor converts on every frame");
}

fn is_red((r, g, b): (u8, u8, u8)) -> bool {
    r > 180 && g < 70 && b < 70
}

fn is_blue((r, g, b): (u8, u8, u8)) -> bool {
    b > 180 && r < 70 && g < 70
}

fn is_black((r, g, b): (u8, u8, u8)) -> bool {
    r < 40 && g < 40 && b < 40
}

impl Run {
    /// Pumps until the first segment, or the pipeline's failure before it.
    fn first_segment(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while self.segments.is_empty() {
            if Instant::now() > deadline {
                return Err("no segment".into());
            }
            if let Some(msg) = self.bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
                for report in self.composite.on_message(&msg) {
                    match report {
                        Report::Segment { index, path, duration, .. } => self.segments.push((index, path, duration)),
                        Report::Failed { reason } => return Err(reason),
                        Report::Finished => return Err("end of stream".into()),
                    }
                }
            }
            self.composite.refresh();
        }
        Ok(())
    }

    /// Takes the frame of each new segment until `ok` holds: the pipeline may run behind the
    /// wall clock on a loaded machine, so a change shows up some segments later.
    fn frame_until(&mut self, what: &str, mut ok: impl FnMut(&Self, &[u8]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let n = self.segments.len();
            self.pump(Duration::from_secs(20), |r| r.segments.len() > n);
            let frame = last_frame(&self.segments.last().expect("a segment").1, (1280, 720));
            if ok(self, &frame) {
                return;
            }
            assert!(Instant::now() < deadline, "never saw {what} in the recording");
        }
    }
}

fn ffprobe(path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name,width,height,sample_rate,channels", "-of", "compact"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The last frame of a segment as RGB24 pixels.
fn last_frame(path: &Path, (w, h): (i32, i32)) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        // Output seeking: input seeking in MPEG-TS gives nothing here.
        .args(["-ss", "1.2", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout.len(), (w * h * 3) as usize);
    out.stdout
}

fn pixel(frame: &[u8], w: i32, x: i32, y: i32) -> (u8, u8, u8) {
    let i = ((y * w + x) * 3) as usize;
    (frame[i], frame[i + 1], frame[i + 2])
}

fn spec(dir: &Path) -> Spec {
    Spec {
        quality: Quality::P720,
        layout: LayoutKind::Grid,
        dir: dir.to_path_buf(),
        first_segment: 1,
        rtp_ip: "127.0.0.1".parse().expect("ip"),
    }
}

#[test]
fn two_publishers_compose_into_h264_and_aac_segments_with_each_tile_in_its_place() {
    stagecast_egress::composite::init().expect("GStreamer with the needed plugins");
    let dir = tempfile::tempdir().expect("tempdir");
    // GStreamer's start-up can fail before the first segment on a loaded machine (the TS muxer
    // and its first fragment); the job supervisor restarts such a pipeline, and so does this
    // test, at most three times. Everything after the first segment is asserted as is.
    let mut attempt = 0;
    let (mut run, _red, blue, _p1, _p2) = loop {
        attempt += 1;
        let mut composite = Composite::build(spec(dir.path())).expect("pipeline builds");
        composite.start().expect("pipeline plays");
        let red = composite.add(Participant { user_id: "u-red".into(), name: "Ada Lovelace".into() }).expect("add red");
        let blue = composite.add(Participant { user_id: "u-blue".into(), name: "Grace Hopper".into() }).expect("add blue");
        assert_ne!(red.camera, blue.camera);
        let p1 = publisher(red, 0xffff0000, true);
        let p2 = publisher(blue, 0xff0000ff, false);
        let bus = composite.bus();
        let mut run = Run { composite, bus, segments: Vec::new(), finished: false };
        match run.first_segment(Duration::from_secs(20)) {
            Ok(()) => break (run, red, blue, p1, p2),
            Err(reason) if attempt < 3 => {
                eprintln!("pipeline failed before its first segment ({reason}); starting again");
                let _ = p1.set_state(gst::State::Null);
                let _ = p2.set_state(gst::State::Null);
                run.composite.stop();
            }
            Err(reason) => panic!("pipeline failed before its first segment three times: {reason}"),
        }
    };

    // Both cameras show side by side in the grid.
    run.pump(Duration::from_secs(20), |r| r.composite.tiles().iter().filter(|t| t.2).count() == 2 && r.segments.len() >= 2);
    let tiles = run.composite.tiles();
    let red_tile = tiles.iter().find(|t| t.0.user_id == "u-red").expect("red tile").1;
    let blue_tile = tiles.iter().find(|t| t.0.user_id == "u-blue").expect("blue tile").1;
    assert!(red_tile.x < blue_tile.x, "stage order: red left of blue");
    run.frame_until("both cameras in their tiles on black", |_, f| {
        is_red(pixel(f, 1280, red_tile.x + red_tile.w / 2, red_tile.y + red_tile.h / 2))
            && is_blue(pixel(f, 1280, blue_tile.x + blue_tile.w / 2, blue_tile.y + blue_tile.h / 2))
            && is_black(pixel(f, 1280, 640, 20))
    });
    // Every visible input arrives as its tile shows it (size, format, colorimetry, frame rate),
    // so the compositor converts nothing per frame; the cameras and stills renegotiate within
    // moments of a layout change.
    settled(&mut run);

    // Red is the one talking: the speaker layout makes red large.
    run.composite.set_layout(LayoutKind::Speaker);
    assert_eq!(run.composite.active_speaker(), Some("u-red"));
    let tiles = run.composite.tiles();
    let big = tiles.iter().max_by_key(|t| t.1.w).expect("tiles").clone();
    assert_eq!(big.0.user_id, "u-red");
    assert!(big.1.w > 3 * tiles.iter().map(|t| t.1.w).min().unwrap_or(0));
    run.frame_until("the speaker's camera filling the large tile", |_, f| {
        is_red(pixel(f, 1280, big.1.x + big.1.w / 4, big.1.y + big.1.h / 4))
    });
    settled(&mut run);

    // Blue shares a screen: in the screen layout it is large, cameras beside it.
    run.composite.set_layout(LayoutKind::Screen);
    let _s = screen_publisher(blue.screen);
    run.pump(Duration::from_secs(20), |r| r.composite.tiles().iter().any(|t| t.0.kind == TileKind::Screen));
    let screen_tile = run.composite.tiles().into_iter().find(|t| t.0.kind == TileKind::Screen).expect("screen tile").1;
    assert!(screen_tile.w > 640, "the screen is the large tile: {screen_tile:?}");
    run.frame_until("the shared screen in the large tile", |_, f| {
        let (r, g, b) = pixel(f, 1280, screen_tile.x + screen_tile.w / 2, screen_tile.y + screen_tile.h / 3);
        r > 200 && g > 200 && b > 200
    });

    // A person without a camera is a tile with their initials on a colour, not black.
    run.composite.set_layout(LayoutKind::Grid);
    run.composite.add(Participant { user_id: "u-voice".into(), name: "Voice Only".into() }).expect("add voice");
    let voice = run.composite.tiles().into_iter().find(|t| t.0.user_id == "u-voice").expect("voice tile");
    assert!(!voice.2, "no camera: the initials show");
    run.frame_until("the initials tile in its colour", |_, f| {
        let (r, g, b) = pixel(f, 1280, voice.1.x + 6, voice.1.y + voice.1.h / 3);
        r as u32 + g as u32 + b as u32 > 90
    });

    // Taking someone off air removes the tile; the recording goes on.
    assert!(run.composite.remove("u-blue"));
    let n = run.segments.len();
    run.pump(Duration::from_secs(10), |r| r.segments.len() > n);
    assert!(run.composite.tiles().iter().all(|t| t.0.user_id != "u-blue"));

    run.composite.finish();
    run.pump(Duration::from_secs(10), |r| r.finished);
    let indices: Vec<u32> = run.segments.iter().map(|s| s.0).collect();
    assert_eq!(indices, (1..=indices.len() as u32).collect::<Vec<_>>(), "segments numbered from the first index without holes");
    for (_, path, duration) in &run.segments[..run.segments.len() - 1] {
        let probe = ffprobe(path);
        assert!(probe.contains("codec_name=h264|width=1280|height=720"), "{probe}");
        assert!(probe.contains("codec_name=aac|sample_rate=48000|channels=2"), "{probe}");
        assert!((duration.as_secs_f64() - 2.0).abs() < 0.25, "2 s segments: {duration:?}");
    }
    assert!(dir.path().join("thumbnail.jpg").exists(), "a thumbnail is written");
}
