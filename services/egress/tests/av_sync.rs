//! A/V sync through a whole recording (issue 13): one publisher whose picture flashes white and
//! whose sound beeps at the same instants, both made by one GStreamer pipeline on one clock, is
//! recorded by a real job (RTP inputs, decode, compositor and audiomixer, x264 and AAC, HLS
//! segments, the MP4 remux); the MP4 is decoded and each flash onset is paired with its beep
//! onset. Every pair must be within 40 ms, the limit of what a viewer does not notice.
//!
//! The video onset is the presentation time of the first white frame, so it is quantised to the
//! output's 30 fps: the compositor shows a new input frame in the output frame whose span holds
//! its start, up to 33 ms early, where the audio is measured in ~5 ms windows. That is what a
//! player shows, and part of what is measured (offsets of 0 to −33 ms in a correct pipeline).
use std::{
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use stagecast_egress::{
    composite::InputPorts,
    job::{JobContext, JobSpec, JobState},
    observe::Metrics,
    sfu::Taps,
    worker::Worker,
};

mod support;
use support::*;

/// The most a flash and its beep may be apart in the recording.
const MAX_OFFSET: Duration = Duration::from_millis(40);
/// Each second, from the second second on, this long is white and loud; the rest black and silent.
const FLASH: Duration = Duration::from_millis(100);
const PERIOD: Duration = Duration::from_secs(1);
const FPS: u64 = 30;
const RATE: u64 = 48_000;
/// An onset counts only after this long of black (or silence): a tile that appears in the middle
/// of a flash, or audio that starts in the middle of a beep, is no onset.
const QUIET_BEFORE: f64 = 0.5;
/// Analysis windows for the audio level.
const WINDOW: usize = 240;
/// How long before an onset a value may lie between quiet and loud.
const RISE: f64 = 0.02;

/// A publisher pipeline, stopped when dropped.
struct Publisher(gst::Pipeline);

impl Drop for Publisher {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

/// VP8 + Opus RTP to `ports`, as the SFU's taps send it: black with three white frames (100 ms at
/// 30 fps) once a second, and silence with 100 ms of a 1 kHz tone at the same instants.
///
/// Both live sources timestamp with the pipeline's running time and both `udpsink`s send each
/// packet at its timestamp plus the pipeline latency, so what goes out is in sync as captured.
/// The video's frames start at some running time `v0` (a live source starts where the clock is);
/// the flashes are frames `30k, 30k+1, 30k+2` (k ≥ 1) of that grid, i.e. exactly
/// `[v0 + k s, v0 + k s + 100 ms)`, and the audio samples of that same span are the tone.
fn flash_and_beep(ports: InputPorts) -> Publisher {
    let desc = format!(
        "videotestsrc is-live=true pattern=black ! video/x-raw,format=I420,width=320,height=180,framerate={FPS}/1 \
         ! identity name=flash ! vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96 ! udpsink host=127.0.0.1 port={} \
         audiotestsrc is-live=true wave=sine freq=1000 volume=0.5 samplesperbuffer=480 \
         ! audio/x-raw,format=S16LE,layout=interleaved,rate={RATE},channels=2 \
         ! identity name=beep ! opusenc ! rtpopuspay name=opuspay pt=111 ! udpsink host=127.0.0.1 port={}",
        ports.camera, ports.microphone
    );
    let pipeline = gst::parse::launch(&desc).expect("publisher pipeline").downcast::<gst::Pipeline>().expect("a pipeline");
    // The running time of the first video frame: the origin of both patterns.
    let v0 = Arc::new(AtomicU64::new(u64::MAX));
    let period = PERIOD.as_nanos() as u64;
    let flash = FLASH.as_nanos() as u64;

    let origin = v0.clone();
    let vpad = pipeline.by_name("flash").expect("flash").static_pad("sink").expect("sink pad");
    vpad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(buffer) = info.buffer_mut() else { return gst::PadProbeReturn::Ok };
        let Some(pts) = buffer.pts().map(|t| t.nseconds()) else { return gst::PadProbeReturn::Ok };
        let _ = origin.compare_exchange(u64::MAX, pts, Ordering::SeqCst, Ordering::SeqCst);
        let v0 = origin.load(Ordering::SeqCst);
        let n = ((pts.saturating_sub(v0)) * FPS + period / 2) / period;
        if n >= FPS && n % FPS < FPS * flash / period {
            let buffer = buffer.make_mut();
            if let Ok(mut map) = buffer.map_writable() {
                // I420: the Y plane first; black already has neutral chroma.
                map.as_mut_slice()[..320 * 180].fill(235);
            }
        }
        gst::PadProbeReturn::Ok
    });

    let apad = pipeline.by_name("beep").expect("beep").static_pad("sink").expect("sink pad");
    apad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let v0 = v0.load(Ordering::SeqCst);
        let Some(buffer) = info.buffer_mut() else { return gst::PadProbeReturn::Ok };
        let Some(pts) = buffer.pts().map(|t| t.nseconds()) else { return gst::PadProbeReturn::Ok };
        let buffer = buffer.make_mut();
        if let Ok(mut map) = buffer.map_writable() {
            for (i, frame) in map.as_mut_slice().chunks_exact_mut(4).enumerate() {
                let t = pts + i as u64 * 1_000_000_000 / RATE;
                let beep = v0 != u64::MAX && t >= v0 + period && (t - v0) % period < flash;
                if !beep {
                    frame.fill(0);
                }
            }
        }
        gst::PadProbeReturn::Ok
    });
    // GStreamer's opusenc stamps its first packet 312 samples (its lookahead, 6.5 ms) off the
    // timeline of the others, and the egress's audiomixer may align the whole input on that first
    // packet (seen: the sound 6.5 ms late, in some runs). A browser's packets follow one timeline
    // from the first: so do these, without the first.
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let ppad = pipeline.by_name("opuspay").expect("opuspay").static_pad("sink").expect("sink pad");
    ppad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        if first.swap(false, Ordering::SeqCst) { gst::PadProbeReturn::Drop } else { gst::PadProbeReturn::Remove }
    });
    pipeline.set_state(gst::State::Playing).expect("publisher plays");
    Publisher(pipeline)
}

/// What the recording holds: (running time in s, mean luma of the picture's centre) per video
/// frame, and (running time in s, dBFS) per audio window of [`WINDOW`] samples.
#[derive(Default)]
struct Decoded {
    frames: Vec<(f64, f64)>,
    windows: Vec<(f64, f64)>,
}

fn running_seconds(sample: &gst::Sample, pts: gst::ClockTime) -> f64 {
    let rt =
        sample.segment().and_then(|s| s.downcast_ref::<gst::ClockTime>()).and_then(|s| s.to_running_time(pts)).unwrap_or(pts);
    rt.nseconds() as f64 / 1e9
}

/// Decodes an MP4 to luma and loudness over time, with GStreamer (as a player would).
fn decode(mp4: &Path) -> Decoded {
    let unbounded = "queue max-size-buffers=0 max-size-time=0 max-size-bytes=0";
    let desc = format!(
        "filesrc location=\"{}\" ! qtdemux name=d \
         d. ! h264parse ! {unbounded} ! avdec_h264 ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=v sync=false \
         d. ! aacparse ! {unbounded} ! avdec_aac ! audioconvert ! audioresample \
         ! audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate={RATE} ! appsink name=a sync=false",
        mp4.display()
    );
    let pipeline = gst::parse::launch(&desc).expect("decode pipeline").downcast::<gst::Pipeline>().expect("a pipeline");
    let out = Arc::new(Mutex::new(Decoded::default()));

    let frames = out.clone();
    let vsink = pipeline.by_name("v").expect("v").downcast::<gst_app::AppSink>().expect("appsink");
    vsink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
                let info = sample.caps().and_then(|c| gst_video::VideoInfo::from_caps(c).ok()).ok_or(gst::FlowError::Error)?;
                let pts = buffer.pts().ok_or(gst::FlowError::Error)?;
                let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                let (w, h, stride) = (info.width() as usize, info.height() as usize, info.stride()[0] as usize);
                // The middle third each way: inside the one tile, away from its ring and label.
                let (mut sum, mut n) = (0u64, 0u64);
                for y in h / 3..2 * h / 3 {
                    for &v in &map.as_slice()[y * stride + w / 3..y * stride + 2 * w / 3] {
                        sum += v as u64;
                        n += 1;
                    }
                }
                let t = running_seconds(&sample, pts);
                frames.lock().expect("lock").frames.push((t, sum as f64 / n.max(1) as f64));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );

    let windows = out.clone();
    let asink = pipeline.by_name("a").expect("a").downcast::<gst_app::AppSink>().expect("appsink");
    asink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
                let pts = buffer.pts().ok_or(gst::FlowError::Error)?;
                let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                let t0 = running_seconds(&sample, pts);
                let mut out = windows.lock().expect("lock");
                for (i, w) in map.as_slice().chunks(WINDOW * 2).enumerate() {
                    // The tail of a buffer too (an AAC frame is not a whole number of windows).
                    if w.len() >= 2 * RATE as usize / 1000 {
                        let t = t0 + (i * WINDOW) as f64 / RATE as f64;
                        out.windows.push((t, stagecast_egress::composite::rms_dbfs(w)));
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );

    pipeline.set_state(gst::State::Playing).expect("decoding");
    let bus = pipeline.bus().expect("bus");
    let msg = bus.timed_pop_filtered(gst::ClockTime::from_seconds(60), &[gst::MessageType::Eos, gst::MessageType::Error]);
    pipeline.set_state(gst::State::Null).expect("null");
    assert!(matches!(msg.as_ref().map(|m| m.view()), Some(gst::MessageView::Eos(_))), "the MP4 decodes to the end: {msg:?}");
    drop(vsink);
    drop(asink);
    let mut decoded = std::mem::take(&mut *out.lock().expect("lock"));
    decoded.frames.sort_by(|a, b| a.0.total_cmp(&b.0));
    decoded.windows.sort_by(|a, b| a.0.total_cmp(&b.0));
    decoded
}

/// The times where `series` goes above `loud` after at least [`QUIET_BEFORE`] at or below `quiet`
/// (so a start in the middle of a flash, or of a beep, is not an onset). The last [`RISE`] before
/// an onset may lie between the two: the edge of a beep in a window, a codec's pre-echo.
fn onsets(series: &[(f64, f64)], quiet: f64, loud: f64) -> Vec<f64> {
    let mut out = Vec::new();
    for (i, &(t, v)) in series.iter().enumerate() {
        if v <= loud || i == 0 || series[i - 1].1 > loud {
            continue;
        }
        let before = &series[..i];
        let covered = before.first().is_some_and(|f| t - f.0 >= QUIET_BEFORE);
        let quiet_run = before.iter().rev().take_while(|p| t - p.0 <= QUIET_BEFORE).all(|p| p.1 <= quiet || t - p.0 <= RISE);
        if covered && quiet_run {
            out.push(t);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_and_a_beep_published_together_stay_within_40_ms_of_each_other_in_the_recorded_mp4() {
    stagecast_egress::composite::init().expect("GStreamer");
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(tmp.path().join("s3")).expect("s3 dir");
    let s3 = S3Server::start(&tmp.path().join("s3"));
    let bucket = s3.bucket();
    bucket.ensure_exists().await.expect("bucket");
    let ctx = JobContext {
        bucket: bucket.clone(),
        spool_root: tmp.path().join("spool"),
        rtp_ip: "127.0.0.1".parse().expect("ip"),
        taps: Taps::new(None, "127.0.0.1".parse().expect("ip")),
        nats: None,
        metrics: Arc::new(Metrics::new()),
        spool_limit: 512 * 1024 * 1024,
        rtmp_retry_window: Duration::from_secs(60),
        rtmps: stagecast_egress::rtmps::Tls::new(None).expect("system trust"),
    };
    let worker = Worker::new(ctx, 1.6);
    let spec = JobSpec {
        job_id: "rec-sync".into(),
        room: "event-sync".into(),
        layout: "grid".into(),
        quality: "720p".into(),
        key_prefix: "recordings/rec-sync/".into(),
        on_air: vec![("host".into(), "Host Person".into())],
        record: true,
    };
    worker.start(spec).expect("job starts");
    let ports =
        wait_view(&worker, "rec-sync", Duration::from_secs(10), "the input ports", |v| !v.inputs.is_empty()).await.inputs[0].1;
    let publisher = flash_and_beep(ports);

    // Six 2 s segments: about 10 s of the publisher, so about 10 flashes.
    wait_view(&worker, "rec-sync", Duration::from_secs(40), "6 stored segments", |v| v.segments >= 6).await;
    worker.stop("rec-sync").await.expect("stop");
    let done =
        wait_view(&worker, "rec-sync", Duration::from_secs(60), "the job to finish", |v| v.state == JobState::Finished).await;
    drop(publisher);
    let mp4 = tmp.path().join("recording.mp4");
    download(&bucket, "recordings/rec-sync/recording.mp4", &mp4).await;

    let decoded = tokio::task::spawn_blocking(move || decode(&mp4)).await.expect("decode thread");
    let (frames, windows) = (&decoded.frames, &decoded.windows);
    assert!(frames.len() > 100 && windows.len() > 1000, "decoded {} frames and {} audio windows", frames.len(), windows.len());
    // Black (16) against white (235) in the picture; digital silence against a tone at −9 dBFS.
    let flashes = onsets(frames, 60.0, 128.0);
    let beeps = onsets(windows, -50.0, -30.0);

    // Where both streams are present, every flash has its beep and every beep its flash.
    let lo = frames[0].0.max(windows[0].0);
    let hi = frames[frames.len() - 1].0.min(windows[windows.len() - 1].0) - FLASH.as_secs_f64();
    let nearest = |t: f64, among: &[f64]| among.iter().copied().min_by(|a, b| (a - t).abs().total_cmp(&(b - t).abs()));
    let pair_within = 0.45;
    let mut pairs = Vec::new();
    let mut unpaired = Vec::new();
    for &v in flashes.iter().filter(|t| (lo..hi).contains(*t)) {
        match nearest(v, &beeps) {
            Some(a) if (v - a).abs() < pair_within => pairs.push((v, a)),
            _ => unpaired.push(format!("flash at {v:.3} s")),
        }
    }
    for &a in beeps.iter().filter(|t| (lo..hi).contains(*t)) {
        if !nearest(a, &flashes).is_some_and(|v| (v - a).abs() < pair_within) {
            unpaired.push(format!("beep at {a:.3} s"));
        }
    }
    let offsets_ms: Vec<f64> = pairs.iter().map(|(v, a)| (v - a) * 1000.0).collect();
    let figures = pairs
        .iter()
        .zip(&offsets_ms)
        .map(|((v, a), d)| format!("flash {v:.3} s / beep {a:.3} s: {d:+.1} ms"))
        .collect::<Vec<_>>()
        .join("; ");
    let mean = offsets_ms.iter().sum::<f64>() / offsets_ms.len().max(1) as f64;
    let max = offsets_ms.iter().fold(0f64, |m, d| m.max(d.abs()));
    println!(
        "A/V offset (video − audio) over {} pairs: mean {mean:+.1} ms, max |{max:.1}| ms, min {:+.1} ms, max {:+.1} ms",
        pairs.len(),
        offsets_ms.iter().copied().fold(f64::INFINITY, f64::min),
        offsets_ms.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    println!("{figures}");
    // A pipeline restarted mid-way would join two runs in the MP4: its gaps say so.
    let gaps = &done.gaps;
    assert!(
        unpaired.is_empty(),
        "onsets without their counterpart within {pair_within} s: {unpaired:?}; pairs: {figures}; gaps: {gaps:?}"
    );
    assert!(pairs.len() >= 5, "at least 5 flash/beep pairs: found {} (flashes {flashes:.3?}, beeps {beeps:.3?})", pairs.len());
    assert!(
        max <= MAX_OFFSET.as_secs_f64() * 1000.0,
        "A/V offset over {} ms: mean {mean:+.1} ms, max |{max:.1}| ms; {figures}; gaps: {gaps:?}",
        MAX_OFFSET.as_millis()
    );
}
