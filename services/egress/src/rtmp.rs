//! RTMP(S) outputs of a composite job (restreaming): the job's one encode, muxed to FLV per
//! destination and pushed with `rtmp2sink`. No destination costs a second encode.
//!
//! ```text
//! composite: vtee ─ queue ─ h264parse (AVC) ─ appsink ┐            ┌ appsrc ─ queue ┐
//!            atee ─ queue ─ aacparse ──────── appsink ┴─ Feed ─ per destination:    ├ flvmux ─ rtmp2sink
//!                                                                   └ appsrc ─ queue ┘
//! ```
//!
//! Why this shape (shared/design/egress-notes.md):
//! - Isolation: each destination is a pipeline of its own, fed in memory from the composite's two
//!   appsinks. A refused key, a dead server or a slow network lands on that destination's own bus
//!   and never reaches the composite (a failing branch behind a `tee` would return its error to the
//!   encoder and stop the recording). A destination that cannot keep up has its frames dropped
//!   until the next keyframe instead of holding anyone back.
//! - Reconnect: `rtmp2sink` has none of its own. A failed or stalled push is torn down and built
//!   again; the new `flvmux` sends the FLV header and the AVC and AAC sequence headers again (a
//!   platform needs them on every connection), and the encoder is asked for a keyframe so the new
//!   connection starts with a picture at once. Retries are quick (at most [`RETRY_MAX`] apart) so a
//!   platform keeps the same live video.
//! - A refused publish on the first connection is a wrong key or URL: `failed` at once, never
//!   retried forever. A connection that cannot be made is retried until the retry window runs out.
//! - A watchdog on the bytes the server accepted catches a connection that hangs without an error.
//! - Each push starts its timestamps at zero at its first keyframe.
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use serde::Serialize;
use tokio::sync::watch;

use crate::rtmps::Tls;

/// The longest wait between two connection attempts.
pub const RETRY_MAX: Duration = Duration::from_millis(500);
/// Bytes accepted by the server after which a push counts as live (past the handshake, publish
/// and sequence headers: a first keyframe).
const LIVE_BYTES: u64 = 24 * 1024;
/// The watchdog: a push must get at least [`STALL_BYTES`] accepted per [`STALL_WINDOW`].
const STALL_WINDOW: Duration = Duration::from_secs(10);
const STALL_BYTES: u64 = 4 * 1024;
/// How much a destination may hold unsent before its frames are dropped (to the next keyframe).
const MAX_QUEUED_BYTES: u64 = 8 * 1024 * 1024;
/// Keyframe requests to the encoder are spaced at least this far apart.
const KEYFRAME_SPACING: Duration = Duration::from_millis(500);

/// How a destination is doing, as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputState {
    Connecting,
    Live,
    Retrying,
    Failed,
    Stopped,
}

impl OutputState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
        }
    }
}

/// A destination's status. The URL (it holds the stream key) is never part of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputStatus {
    pub id: String,
    pub state: OutputState,
    /// Bits per second the server accepted, over the last two seconds.
    pub bitrate_bps: u64,
    pub bytes_sent: u64,
    pub live_since: Option<DateTime<Utc>>,
    pub retries: u32,
    /// Why it is retrying or failed, in words a host understands; empty when fine.
    pub error: String,
    /// The machine-readable reason: key_refused, unreachable, stalled, disconnected, invalid_url.
    pub error_code: String,
}

/// A destination URL, checked: `rtmp://` or `rtmps://`, a host, an application and a stream key.
#[derive(Clone)]
pub struct RtmpUrl(String);

impl std::fmt::Debug for RtmpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: only the server part is ever printed.
        write!(f, "RtmpUrl({})", self.redacted())
    }
}

impl RtmpUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        let rest = s
            .strip_prefix("rtmp://")
            .or_else(|| s.strip_prefix("rtmps://"))
            .ok_or_else(|| "the URL must start with rtmp:// or rtmps://".to_owned())?;
        if s.len() > 2048 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the URL is too long or holds spaces".into());
        }
        let (host, path) = rest.split_once('/').ok_or_else(|| "the URL has no application path".to_owned())?;
        if host.is_empty() || host.starts_with(':') {
            return Err("the URL has no host".into());
        }
        let (app, key) = path.rsplit_once('/').ok_or_else(|| "the URL needs an application and a stream key".to_owned())?;
        if app.is_empty() || key.is_empty() {
            return Err("the URL needs an application and a stream key".into());
        }
        Ok(Self(s.to_owned()))
    }

    /// The URL without its stream key, safe to log.
    pub fn redacted(&self) -> String {
        match self.0.rsplit_once('/') {
            Some((base, _)) => format!("{base}/…"),
            None => "…".into(),
        }
    }

    /// (TLS, host, port, path after the host).
    fn parts(&self) -> (bool, String, u16, String) {
        let secure = self.0.starts_with("rtmps://");
        let rest = self.0.split_once("://").map(|(_, r)| r).unwrap_or_default();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let default = if secure { 443 } else { 1935 };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h, p.parse().unwrap_or(default)),
            _ => (authority, default),
        };
        (secure, host.to_owned(), port, path.to_owned())
    }
}

/// What the composite's appsinks hand to the destinations.
#[derive(Default)]
pub struct Feed {
    outputs: Mutex<Vec<Arc<Output>>>,
    /// The sink pad of the composite's video appsink, to ask the encoder for keyframes.
    video_sink: Mutex<Option<gst::Pad>>,
    last_keyframe_request: Mutex<Option<Instant>>,
}

/// One destination.
pub struct Output {
    id: String,
    url: RtmpUrl,
    tls: Tls,
    push: Mutex<Option<Push>>,
    status: Mutex<OutputStatus>,
    stop: watch::Sender<bool>,
}

/// The appsrcs of a destination's current connection.
struct Push {
    video: gst_app::AppSrc,
    audio: gst_app::AppSrc,
    /// The composite timestamp of this push's first keyframe: its zero.
    offset: Option<gst::ClockTime>,
    audio_caps: bool,
    /// Frames are being dropped until the next keyframe (the destination fell behind).
    dropping: bool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere while it was held; the data is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Feed {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The composite's FLV-ready branches: H.264 in AVC form and raw AAC, into appsinks that hand
    /// each frame to every destination.
    pub fn attach(
        self: &Arc<Self>,
        pipeline: &gst::Pipeline,
        video_tee: &gst::Element,
        audio_tee: &gst::Element,
    ) -> anyhow::Result<()> {
        let make = |f: &str| gst::ElementFactory::make(f).build().with_context(|| format!("creating {f}"));
        let queue = || {
            gst::ElementFactory::make("queue")
                .property_from_str("leaky", "downstream")
                .property("max-size-time", 2_000_000_000u64)
                .property("max-size-bytes", 0u32)
                .property("max-size-buffers", 0u32)
                .build()
                .context("creating a queue")
        };
        let vq = queue()?;
        let vparse = make("h264parse")?;
        let vcaps = gst::ElementFactory::make("capsfilter")
            .property("caps", gst::Caps::builder("video/x-h264").field("stream-format", "avc").field("alignment", "au").build())
            .build()?;
        let vsink = gst_app::AppSink::builder().sync(false).build();
        let aq = queue()?;
        let aparse = make("aacparse")?;
        let acaps = gst::ElementFactory::make("capsfilter")
            .property("caps", gst::Caps::builder("audio/mpeg").field("mpegversion", 4i32).field("stream-format", "raw").build())
            .build()?;
        let asink = gst_app::AppSink::builder().sync(false).build();
        pipeline.add_many([&vq, &vparse, &vcaps, vsink.upcast_ref(), &aq, &aparse, &acaps, asink.upcast_ref()])?;
        gst::Element::link_many([&vq, &vparse, &vcaps, vsink.upcast_ref()])?;
        gst::Element::link_many([&aq, &aparse, &acaps, asink.upcast_ref()])?;
        for (tee, q) in [(video_tee, &vq), (audio_tee, &aq)] {
            let pad = tee.request_pad_simple("src_%u").ok_or_else(|| anyhow!("tee gave no pad"))?;
            pad.link(&q.static_pad("sink").context("queue sink")?)?;
        }
        let weak = Arc::downgrade(self);
        vsink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(feed) = weak.upgrade() {
                        feed.video(&sample);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        let weak = Arc::downgrade(self);
        asink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(feed) = weak.upgrade() {
                        feed.audio(&sample);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        *lock(&self.video_sink) = vsink.static_pad("sink");
        // A rebuilt composite starts its timestamps again at zero: every push reconnects.
        for o in lock(&self.outputs).iter() {
            o.restart();
        }
        Ok(())
    }

    /// Asks the encoder for a keyframe (with its SPS/PPS), at most every [`KEYFRAME_SPACING`].
    fn request_keyframe(&self) {
        {
            let mut last = lock(&self.last_keyframe_request);
            if last.is_some_and(|t| t.elapsed() < KEYFRAME_SPACING) {
                return;
            }
            *last = Some(Instant::now());
        }
        if let Some(pad) = lock(&self.video_sink).clone() {
            // Pushed upstream from the pad: `Element::send_event` would take the element's state
            // lock, which a streaming thread must not wait for.
            let event = gstreamer_video::UpstreamForceKeyUnitEvent::builder().all_headers(true).build();
            pad.push_event(event);
        }
    }

    fn video(&self, sample: &gst::Sample) {
        let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else { return };
        let Some(pts) = running_time(sample) else { return };
        let key = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        let mut want_key = false;
        for o in lock(&self.outputs).iter() {
            let mut guard = lock(&o.push);
            let Some(p) = guard.as_mut() else { continue };
            if p.offset.is_none() || p.dropping {
                if !key {
                    want_key = true;
                    continue;
                }
                if p.offset.is_none() {
                    p.offset = Some(pts);
                    p.video.set_caps(Some(&caps.to_owned()));
                }
                p.dropping = false;
            }
            if p.video.current_level_bytes() > MAX_QUEUED_BYTES {
                p.dropping = true;
                want_key = true;
                continue;
            }
            let offset = p.offset.unwrap_or(pts);
            let mut b = buffer.copy();
            {
                let b = b.make_mut();
                // No B-frames: decode order is presentation order.
                b.set_pts(pts.checked_sub(offset));
                b.set_dts(pts.checked_sub(offset));
            }
            // Refused only while the push is being torn down; the supervisor sees to that.
            let _ = p.video.push_buffer(b);
        }
        if want_key {
            self.request_keyframe();
        }
    }

    fn audio(&self, sample: &gst::Sample) {
        let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else { return };
        let Some(pts) = running_time(sample) else { return };
        for o in lock(&self.outputs).iter() {
            let mut guard = lock(&o.push);
            let Some(p) = guard.as_mut() else { continue };
            let Some(offset) = p.offset else { continue };
            let Some(at) = pts.checked_sub(offset) else { continue };
            if !p.audio_caps {
                p.audio.set_caps(Some(&caps.to_owned()));
                p.audio_caps = true;
            }
            if p.audio.current_level_bytes() > MAX_QUEUED_BYTES {
                continue;
            }
            let mut b = buffer.copy();
            b.make_mut().set_pts(at);
            let _ = p.audio.push_buffer(b);
        }
    }

    /// Adds a destination and starts pushing to it; an id already there is left as it is.
    pub fn add(self: &Arc<Self>, id: &str, url: RtmpUrl, retry_window: Duration, tls: Tls) -> bool {
        let mut outputs = lock(&self.outputs);
        // Pushing already (a retried add) is left alone; a stopped or failed one starts afresh.
        if outputs.iter().any(|o| o.id == id && !matches!(lock(&o.status).state, OutputState::Stopped | OutputState::Failed)) {
            return false;
        }
        outputs.retain(|o| o.id != id);
        let (stop, stopped) = watch::channel(false);
        let output = Arc::new(Output {
            id: id.to_owned(),
            url,
            tls,
            push: Mutex::new(None),
            status: Mutex::new(OutputStatus {
                id: id.to_owned(),
                state: OutputState::Connecting,
                bitrate_bps: 0,
                bytes_sent: 0,
                live_since: None,
                retries: 0,
                error: String::new(),
                error_code: String::new(),
            }),
            stop,
        });
        outputs.push(output.clone());
        tokio::spawn(supervise(output, Arc::downgrade(self), retry_window, stopped));
        true
    }

    /// Stops a destination; false when there is no such destination pushing.
    pub fn remove(&self, id: &str) -> bool {
        let outputs = lock(&self.outputs);
        let Some(o) = outputs.iter().find(|o| o.id == id) else { return false };
        let mut status = lock(&o.status);
        match status.state {
            OutputState::Stopped => false,
            // Its supervisor has given up already: removing it is only saying so.
            OutputState::Failed => {
                status.state = OutputState::Stopped;
                true
            }
            _ => {
                let _ = o.stop.send(true);
                true
            }
        }
    }

    /// Stops every destination (the job is ending).
    pub fn stop_all(&self) {
        for o in lock(&self.outputs).iter() {
            let _ = o.stop.send(true);
        }
    }

    pub fn statuses(&self) -> Vec<OutputStatus> {
        lock(&self.outputs).iter().map(|o| lock(&o.status).clone()).collect()
    }

    /// Whether any destination is still connecting, live or retrying.
    pub fn active(&self) -> bool {
        self.statuses().iter().any(|s| matches!(s.state, OutputState::Connecting | OutputState::Live | OutputState::Retrying))
    }
}

impl Output {
    /// Drops the current push: its supervisor sees the pipeline gone and reconnects.
    fn restart(&self) {
        if let Some(p) = lock(&self.push).as_mut() {
            let _ = p.video.end_of_stream();
            let _ = p.audio.end_of_stream();
        }
    }

    fn set(&self, f: impl FnOnce(&mut OutputStatus)) {
        f(&mut lock(&self.status));
    }
}

/// A sample's running time: audio and video are compared on it, never on raw timestamps (x264enc
/// shifts its timestamps by 1000 hours and its segment with them).
fn running_time(sample: &gst::Sample) -> Option<gst::ClockTime> {
    let pts = sample.buffer()?.pts()?;
    match sample.segment() {
        Some(seg) => seg.downcast_ref::<gst::ClockTime>()?.to_running_time(pts),
        None => Some(pts),
    }
}

/// One connection's pipeline: two appsrcs, `flvmux`, `rtmp2sink`.
fn build(location: &str) -> anyhow::Result<(gst::Pipeline, gst::Element, Push)> {
    let pipeline = gst::Pipeline::new();
    let src = |name: &str| {
        gst_app::AppSrc::builder()
            .name(name)
            .format(gst::Format::Time)
            .is_live(false)
            .block(false)
            .max_bytes(MAX_QUEUED_BYTES * 2)
            .build()
    };
    let video = src("video");
    let audio = src("audio");
    let vq = gst::ElementFactory::make("queue").build()?;
    let aq = gst::ElementFactory::make("queue").build()?;
    let mux = gst::ElementFactory::make("flvmux").property("streamable", true).build()?;
    let sink = gst::ElementFactory::make("rtmp2sink")
        .property("location", location)
        .property("sync", false)
        .property("async", false)
        .build()
        .context("creating rtmp2sink")?;
    pipeline.add_many([video.upcast_ref(), audio.upcast_ref(), &vq, &aq, &mux, &sink])?;
    video.link(&vq)?;
    audio.link(&aq)?;
    vq.static_pad("src").context("queue src")?.link(&mux.request_pad_simple("video").context("flvmux video")?)?;
    aq.static_pad("src").context("queue src")?.link(&mux.request_pad_simple("audio").context("flvmux audio")?)?;
    mux.link(&sink)?;
    Ok((pipeline, sink, Push { video, audio, offset: None, audio_caps: false, dropping: false }))
}

fn bytes_sent(sink: &gst::Element) -> u64 {
    let stats = sink.property::<gst::Structure>("stats");
    stats.get::<u64>("out-bytes-total").unwrap_or(0)
}

/// What went wrong, for a host: (code, words).
pub fn explain(error: &str) -> (&'static str, String) {
    let e = error.to_ascii_lowercase();
    if e.contains("'publish' cmd failed") || e.contains("'connect' cmd failed") || e.contains("publish.badname") {
        (
            "key_refused",
            "the server refused the stream key: copy the key again from the platform and check that the stream is set up there"
                .into(),
        )
    } else if e.contains("connection refused") {
        ("unreachable", "the server refused the connection: check the URL, or the platform's ingest may be down".into())
    } else if e.contains("resolv") || e.contains("name or service not known") {
        ("unreachable", "the server's name could not be found: check the URL".into())
    } else if e.contains("timed out") || e.contains("timeout") {
        ("unreachable", "the server did not answer: check the URL and the network".into())
    } else if e.contains("tls") || e.contains("certificate") {
        ("tls", format!("the secure connection failed ({error}): check the rtmps:// URL"))
    } else if e.contains("stalled") {
        ("stalled", "the server stopped taking the stream; reconnecting".into())
    } else {
        ("disconnected", format!("the connection to the server broke ({error})"))
    }
}

async fn set_null(pipeline: gst::Pipeline) {
    // Setting a network sink to NULL may wait on its connection: off the async threads.
    if !crate::off_thread(Duration::from_secs(10), move || {
        let _ = pipeline.set_state(gst::State::Null);
    })
    .await
    {
        tracing::error!("a destination's pipeline did not stop within 10 s; left behind");
    }
}

async fn supervise(out: Arc<Output>, feed: Weak<Feed>, retry_window: Duration, mut stop: watch::Receiver<bool>) {
    let mut ever_live = false;
    let mut down_since: Option<Instant> = None;
    let mut attempt = 0u32;
    // Bytes accepted by earlier connections of this destination.
    let mut sent_before = 0u64;
    tracing::info!(output = %out.id, url = %out.url.redacted(), "destination starting");
    loop {
        if *stop.borrow() {
            break;
        }
        // RTMPS goes through a TLS tunnel of ours; plain RTMP straight.
        let (secure, host, port, path) = out.url.parts();
        let tunnel = if secure {
            match crate::rtmps::Tunnel::open(&out.tls, &host, port).await {
                Ok(t) => Some(t),
                Err(e) => {
                    out.set(|s| {
                        s.state = OutputState::Failed;
                        s.error_code = "invalid_url".into();
                        s.error = format!("the secure connection could not be set up: {e:#}");
                    });
                    return;
                }
            }
        } else {
            None
        };
        let location = match &tunnel {
            Some(t) => format!("rtmp://127.0.0.1:{}/{path}", t.local_port),
            None => format!("rtmp://{host}:{port}/{path}"),
        };
        let (pipeline, sink, push) = match build(&location) {
            Ok(b) => b,
            Err(e) => {
                out.set(|s| {
                    s.state = OutputState::Failed;
                    s.error_code = "invalid_url".into();
                    s.error = format!("the push could not be set up: {e:#}");
                });
                return;
            }
        };
        let Some(bus) = pipeline.bus() else { return };
        let mut bus = bus.stream();
        *lock(&out.push) = Some(push);
        if let Some(f) = feed.upgrade() {
            f.request_keyframe();
        }
        let mut last_bytes = 0u64;
        let outcome: Option<String> = if pipeline.set_state(gst::State::Playing).is_err() {
            Some("the push could not start".into())
        } else {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            let mut history: VecDeque<(Instant, u64)> = VecDeque::new();
            let started = Instant::now();
            loop {
                tokio::select! {
                    msg = bus.next() => {
                        let Some(msg) = msg else { break Some("the push's pipeline went away".into()) };
                        match msg.view() {
                            gst::MessageView::Error(e) => break Some(e.error().to_string()),
                            gst::MessageView::Eos(_) => break Some("the stream was restarted".into()),
                            _ => {}
                        }
                    }
                    _ = tick.tick() => {
                        let now = Instant::now();
                        let bytes = bytes_sent(&sink);
                        last_bytes = bytes;
                        history.push_back((now, bytes));
                        // Keep one sample at least STALL_WINDOW old: the watchdog compares with it.
                        while history.get(1).is_some_and(|(t, _)| now.duration_since(*t) >= STALL_WINDOW) {
                            history.pop_front();
                        }
                        let recent = history.iter().find(|(t, _)| now.duration_since(*t) <= Duration::from_secs(2)).copied();
                        let bps = recent
                            .map(|(t, b)| {
                                let secs = now.duration_since(t).as_secs_f64();
                                if secs > 0.2 { ((bytes.saturating_sub(b)) as f64 * 8.0 / secs) as u64 } else { 0 }
                            })
                            .unwrap_or(0);
                        let live = bytes >= LIVE_BYTES;
                        out.set(|s| {
                            s.bytes_sent = sent_before + bytes;
                            s.bitrate_bps = bps;
                            if live && s.state != OutputState::Live {
                                s.state = OutputState::Live;
                                s.live_since = Some(Utc::now());
                                s.error.clear();
                                s.error_code.clear();
                            }
                        });
                        if live && !ever_live {
                            tracing::info!(output = %out.id, url = %out.url.redacted(), "destination live");
                        }
                        if live {
                            ever_live = true;
                            down_since = None;
                            attempt = 0;
                        }
                        // The watchdog: a push that stopped moving (or never started) is dead.
                        if let Some((t0, b0)) = history.front().copied()
                            && now.duration_since(t0) >= STALL_WINDOW
                            && started.elapsed() >= STALL_WINDOW
                            && bytes.saturating_sub(b0) < STALL_BYTES
                        {
                            break Some("stalled: the server accepted no data for 10 s".into());
                        }
                    }
                    _ = stop.changed() => break None,
                }
            }
        };
        *lock(&out.push) = None;
        set_null(pipeline).await;
        sent_before += last_bytes;
        let Some(error) = outcome else { break };
        if *stop.borrow() {
            break;
        }
        // Through a tunnel, its own failure says more than the local connection's.
        let error = tunnel.as_ref().and_then(|t| t.failure()).unwrap_or(error);
        drop(tunnel);
        let (code, words) = explain(&error);
        tracing::warn!(output = %out.id, url = %out.url.redacted(), code, error = %error, "destination push ended");
        // A refused key or certificate does not mend by itself: failed at once, unless it
        // was live before (a server restarting may refuse for a moment).
        if (code == "key_refused" || code == "tls") && !ever_live {
            out.set(|s| {
                s.state = OutputState::Failed;
                s.error_code = code.into();
                s.error = words;
                s.bitrate_bps = 0;
            });
            return;
        }
        let since = *down_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= retry_window {
            let retries = lock(&out.status).retries;
            out.set(|s| {
                s.state = OutputState::Failed;
                s.error_code = code.into();
                s.error = format!("{words} (gave up after {retries} retries over {} s)", retry_window.as_secs());
                s.bitrate_bps = 0;
            });
            return;
        }
        attempt += 1;
        out.set(|s| {
            s.state = OutputState::Retrying;
            s.retries += 1;
            s.error_code = code.into();
            s.error = words;
            s.bitrate_bps = 0;
            s.live_since = None;
        });
        let wait = Duration::from_millis(250u64 << (attempt - 1).min(4)).min(RETRY_MAX);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
    }
    out.set(|s| {
        s.state = OutputState::Stopped;
        s.bitrate_bps = 0;
    });
    tracing::info!(output = %out.id, "destination stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_url_needs_an_rtmp_scheme_a_host_an_application_and_a_key() {
        assert!(RtmpUrl::parse("rtmp://a.rtmp.youtube.com/live2/abcd-efgh").is_ok());
        assert!(RtmpUrl::parse("rtmps://live-api-s.facebook.com:443/rtmp/FB-123").is_ok());
        for bad in [
            "http://x/app/key",
            "rtmp://",
            "rtmp://host",
            "rtmp://host/app",
            "rtmp://host/app/",
            "rtmp:///app/key",
            "rtmp://h/a/k ey",
        ] {
            assert!(RtmpUrl::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn the_stream_key_never_appears_when_a_url_is_printed() {
        let url = RtmpUrl::parse("rtmp://ingest.example/live/sk_live_secret123").unwrap();
        assert_eq!(url.redacted(), "rtmp://ingest.example/live/…");
        assert!(!format!("{url:?}").contains("secret123"));
    }

    #[test]
    fn errors_are_explained_in_words_a_host_understands() {
        assert_eq!(explain("Failed to connect: 'publish' cmd failed: connection closed remotely").0, "key_refused");
        assert_eq!(explain("Could not connect to 127.0.0.1: Connection refused").0, "unreachable");
        assert_eq!(explain("Error resolving “nowhere.invalid”: Name or service not known").0, "unreachable");
        assert_eq!(explain("stalled: the server accepted no data for 10 s").0, "stalled");
        assert_eq!(explain("Error sending data: Broken pipe").0, "disconnected");
    }
}
