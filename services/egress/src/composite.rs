//! The composite pipeline: one GStreamer pipeline per job that turns the on-air participants' RTP
//! into one encode (H.264 CBR with a closed 2 s GOP at 30 fps, AAC-LC 48 kHz stereo) and writes
//! MPEG-TS segments for HLS into the job's spool directory.
//!
//! ```text
//! black 30 fps ─┐                                           ┌─ queue ─ h264parse ─┐
//! per person:   ├─ compositor ─ 30 fps ─ x264enc ─ vtee ────┤                     ├─ splitmuxsink (seg-%05d.ts)
//!  ring, initials, camera, label, screen ┘                  └─ (restreaming)      │
//! silence ──────┬─ audiomixer ─ avenc_aac ─ atee ─ queue ─ aacparse ──────────────┘
//! per person: mic ┘
//! raw video ─ tee ─ 1 frame per 5 s ─ jpegenc ─ thumbnail.jpg
//! ```
//!
//! Why each piece (see shared/design/egress-notes.md):
//! - Black video and silence behind the mixers keep the output running when nobody is on air,
//!   and let the muxer start before anyone arrives.
//! - The aggregators run with `start-time-selection=zero` (never `first`, which can leave an
//!   aggregator waiting forever), and live, so an input that has not sent anything yet (or
//!   stopped) never holds a mixer past its latency; the compositor also with
//!   `ignore-inactive-pads` once its background is in (the audio mixer not: see there).
//! - Each pipeline starts its timestamps at zero. A pipeline rebuilt after a failure (or after a
//!   restart of the worker) starts again at zero: the playlist marks the discontinuity, and the
//!   MP4 joins the runs end to end ([`crate::mp4`]).
//! - One RTP input is one codec: `rtpptdemux` in front of the decoders left a late-joining
//!   input's compositor pad starved in GStreamer 1.22 (the picture stayed black), so each input
//!   is built for the room's codec and rebuilt if the SFU reports another.
//! - Each person is a tile of four compositor pads: a speaking ring behind, their initials on a
//!   colour, the camera over it, and a name label on top. A camera that sent nothing for
//!   [`STALE`] is hidden (the initials show), so a dropped publisher never freezes the picture.
//! - Pad properties are changed together from the compositor's `samples-selected` signal (changing
//!   them one by one from another thread is not atomic: gst-plugins-base #771).
//! - A depayloader that lost RTP asks upstream for a keyframe (`request-keyframe`), but the
//!   request ends at `udpsrc`: the tap is one-way plain RTP, with no RTCP back to the SFU. The
//!   request is caught there and reported, and the job asks the SFU (`RequestKeyframe`), which
//!   sends the publisher a PLI; otherwise the tile would stay broken until the publisher's next
//!   keyframe on its own, which a browser may not send for minutes.
//! - The encoded video runs [`AAC_PRIMING`] behind the mix, so that picture and sound, in step
//!   in the mixers, are still in step once the AAC encoder's priming delays the sound; and half
//!   a frame more ([`COMPOSITOR_CENTRING`]) so the compositor's choice of frame errs both ways.
//! - RTP inputs are timestamped on arrival by the live pipeline clock, so a publisher who drops
//!   and reconnects continues on the same timeline, and audio and video of one publisher stay
//!   together; the SFU's tap keeps sequence numbers continuous across the reconnect.
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow};
use gstreamer as gst;
use gstreamer::prelude::*;

use crate::layout::{LayoutKind, Quality, Rect, TileKey, TileKind, arrange};

/// How long a camera or screen may send nothing before its tile falls back.
pub const STALE: Duration = Duration::from_millis(1500);
/// Audio above this level (dBFS, RMS over ~20 ms) counts as speaking.
const SPEAKING_DB: f64 = -45.0;
/// How long a new loudest voice must last before the active speaker changes.
const SPEAKER_HOLD: Duration = Duration::from_millis(800);
/// A name label's opacity: the stills are I420, which has no alpha of its own, so a label's
/// black is made translucent by its pad.
const LABEL_ALPHA: f64 = 0.75;
/// Jitter buffer depth for the RTP inputs, in milliseconds.
const JITTER_MS: u32 = 150;
/// The mixers' extra latency, so inputs that arrive a little late are still mixed in.
const MIX_LATENCY: Duration = Duration::from_millis(200);
pub const FPS: i32 = 30;
pub const SEGMENT: Duration = Duration::from_secs(2);
/// How late `avenc_aac` puts the sound: its output starts with 1024 samples of encoder priming
/// that carry the first input's timestamp, and decoders play them (MPEG-TS cannot say to skip
/// them), so every sound is heard 1024 samples (21.3 ms at 48 kHz) after its frame. The encoded
/// video is delayed by as much to stay in step (measured by `tests/av_sync.rs`).
pub const AAC_PRIMING: Duration = Duration::from_nanos(1024 * 1_000_000_000 / 48_000);
/// The compositor shows an input frame in the output frame whose span holds its start, so a
/// picture comes out between 0 and one output frame early (uniformly, by the publisher's phase).
/// Half a frame more of video delay centres that error on zero (±17 ms instead of 0 to −33 ms).
pub const COMPOSITOR_CENTRING: Duration = Duration::from_nanos(1_000_000_000 / (2 * FPS as u64));

/// What a job's pipeline is asked to make.
#[derive(Debug, Clone)]
pub struct Spec {
    pub quality: Quality,
    pub layout: LayoutKind,
    /// Where segments (`seg-%05d.ts`) and the thumbnail are written.
    pub dir: PathBuf,
    /// The index of the first segment (a restarted job continues the numbering).
    pub first_segment: u32,
    /// Address the UDP inputs bind.
    pub rtp_ip: std::net::IpAddr,
}

/// A person on air, as the control plane names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub user_id: String,
    pub name: String,
}

/// The video codecs an RTP tap may carry (the SFU's room codecs), with the tap's payload types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    Vp8,
    H264,
}

impl VideoCodec {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vp8" => Some(Self::Vp8),
            "h264" => Some(Self::H264),
            _ => None,
        }
    }

    pub fn rtp_caps(self) -> gst::Caps {
        let (name, pt) = match self {
            Self::Vp8 => ("VP8", 96),
            Self::H264 => ("H264", 102),
        };
        gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("clock-rate", 90_000i32)
            .field("encoding-name", name)
            .field("payload", pt)
            .build()
    }
}

/// The UDP ports where one person's RTP is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputPorts {
    pub camera: u16,
    pub microphone: u16,
    pub screen: u16,
}

/// What the pipeline reports to its job.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// A segment file is complete: `running` is its start on the pipeline's running time.
    Segment { index: u32, path: PathBuf, start: Duration, duration: Duration },
    /// The pipeline failed; the job restarts it.
    Failed { reason: String },
    /// End of stream after [`Composite::finish`].
    Finished,
}

/// The bus message a video input posts when its depayloader asks for a keyframe.
const KEYFRAME_WANTED: &str = "stagecast-keyframe-wanted";

pub fn init() -> anyhow::Result<()> {
    gst::init().context("initialising GStreamer")?;
    for f in [
        "compositor",
        "audiomixer",
        "x264enc",
        "avenc_aac",
        "mpegtsmux",
        "splitmuxsink",
        "rtpvp8depay",
        "rtph264depay",
        "rtpopusdepay",
        "vp8dec",
        "avdec_h264",
        "opusdec",
        "textoverlay",
        "capssetter",
        "jpegenc",
        "flvmux",
        "rtmp2sink",
        "appsink",
        "appsrc",
    ] {
        if gst::ElementFactory::find(f).is_none() {
            return Err(anyhow!(
                "the GStreamer element {f} is missing: install gstreamer1.0-plugins-{{base,good,bad,ugly}}, gstreamer1.0-libav and gstreamer1.0-x"
            ));
        }
    }
    Ok(())
}

fn make(factory: &str) -> anyhow::Result<gst::Element> {
    gst::ElementFactory::make(factory).build().with_context(|| format!("creating {factory}"))
}

/// Milliseconds since the pipeline was built, of the last buffer through a pad (or -1).
#[derive(Clone)]
struct LastSeen(Arc<AtomicI64>);

impl LastSeen {
    fn new() -> Self {
        Self(Arc::new(AtomicI64::new(-1)))
    }
    fn fresh(&self, origin: Instant, now: Instant) -> bool {
        let t = self.0.load(Ordering::Relaxed);
        t >= 0 && now.duration_since(origin).as_millis() as i64 - t <= STALE.as_millis() as i64
    }
    fn watch(&self, pad: &gst::Pad, origin: Instant) {
        let seen = self.0.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            seen.store(origin.elapsed().as_millis() as i64, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    }
}

/// The audio level of a person, in hundredths of a dB (i64::MIN when silent or absent).
#[derive(Clone)]
struct Level(Arc<AtomicI64>, LastSeen);

/// The compositor pads of one tile.
struct TilePads {
    ring: gst::Pad,
    initials: Option<gst::Pad>,
    video: gst::Pad,
    label: gst::Pad,
}

struct Person {
    participant: Participant,
    ports: InputPorts,
    /// Everything but the two video chains.
    elements: Vec<gst::Element>,
    /// The camera's and the screen's RTP chains, rebuilt when the codec changes.
    camera_chain: (VideoCodec, Vec<gst::Element>),
    screen_chain: (VideoCodec, Vec<gst::Element>),
    vpads: Vec<gst::Pad>,
    apad: gst::Pad,
    person: TilePads,
    screen: TilePads,
    camera_seen: LastSeen,
    screen_seen: LastSeen,
    level: Level,
}

/// Makes a compositor pad's input at the size the pad shows it, so that the compositor blends
/// it as it comes instead of scaling it for every output frame. (A pad whose frames need
/// scaling or converting also hands each frame to the compositor's worker threads: measured on
/// an audio-only stage, those threads were a quarter of the job's CPU, a third of that in
/// waking them.) Stills are drawn at the tile's size; a camera is scaled once per frame it
/// sends, in its own input's thread.
struct Sizer {
    /// The capsfilter whose width and height follow the tile.
    caps: gst::Element,
    /// Its caps but for the size.
    base: gst::Caps,
    size: Option<(i32, i32)>,
}

impl Sizer {
    fn new(caps: gst::Element, base: gst::Caps) -> Self {
        Self { caps, base, size: None }
    }

    /// Asks the input for frames of `w`×`h`; the source renegotiates at its next frame, and until
    /// then the compositor scales the frames of the old size.
    fn fit(&mut self, w: i32, h: i32) {
        if self.size == Some((w, h)) || w < 2 || h < 2 {
            return;
        }
        self.size = Some((w, h));
        let mut caps = self.base.clone();
        if let Some(st) = caps.make_mut().structure_mut(0) {
            st.set("width", w);
            st.set("height", h);
            st.set("pixel-aspect-ratio", gst::Fraction::new(1, 1));
        }
        self.caps.set_property("caps", &caps);
    }
}

/// Values for one compositor pad, applied together with all the others.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PadLook {
    rect: Rect,
    alpha: f64,
    zorder: u32,
}

type Pending = Arc<Mutex<Option<Vec<(gst::Pad, PadLook)>>>>;

pub struct Composite {
    pipeline: gst::Pipeline,
    vmix: gst::Element,
    amix: gst::Element,
    spec: Spec,
    canvas: (i32, i32),
    origin: Instant,
    people: Vec<Person>,
    layout: LayoutKind,
    speaker: Option<(String, Instant)>,
    applied: HashMap<gst::Pad, PadLook>,
    /// The inputs made at their pad's size, by compositor pad.
    sizers: HashMap<gst::Pad, Sizer>,
    pending: Pending,
    /// Where segment `index` began, from `splitmuxsink-fragment-opened`.
    opened: HashMap<String, Duration>,
    /// Video inputs whose depayloader asked for a keyframe since the last
    /// [`Composite::take_keyframe_requests`].
    keyframes_wanted: Vec<(String, TileKind)>,
    /// Frames of the background the compositor has taken in, until it ignores inactive pads.
    background_frames: Option<Arc<AtomicI64>>,
    /// End-of-stream was sent ([`Composite::finish`]).
    finishing: bool,
    pub video_tee: gst::Element,
    pub audio_tee: gst::Element,
}

impl Composite {
    /// Builds the pipeline (not yet playing).
    pub fn build(spec: Spec) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&spec.dir).with_context(|| format!("creating {}", spec.dir.display()))?;
        let pipeline = gst::Pipeline::new();
        let canvas = spec.quality.size();
        let origin = Instant::now();

        // Video: background, compositor, fixed 30 fps, one encode.
        let vmix = gst::ElementFactory::make("compositor")
            .property_from_str("background", "black")
            // Off until the background has arrived (see `background_frames`).
            .property("ignore-inactive-pads", false)
            .property_from_str("start-time-selection", "zero")
            .property("latency", MIX_LATENCY.as_nanos() as u64)
            .property("emit-signals", true)
            .property("max-threads", 1u32)
            .build()?;
        let black =
            gst::ElementFactory::make("videotestsrc").property("is-live", true).property_from_str("pattern", "black").build()?;
        // A tiny black picture: it only drives the output clock (the compositor paints the
        // black background itself), so it costs nothing to blend.
        let black_caps =
            canvas_caps().field("width", 16).field("height", 16).field("framerate", gst::Fraction::new(FPS, 1)).build();
        // I420 out of the compositor, straight into x264, and every input in I420 too (the
        // stills included, with their translucency as the pad's alpha): blending in the
        // encoder's own format needs no conversion of the whole canvas per frame. Measured with
        // gst-launch (two 360p cameras, rings and labels, 300 frames): 2.68 CPU-s through AYUV
        // and a videoconvert, 1.29 CPU-s this way, 0.54 of it the sources.
        let out_caps = gst::ElementFactory::make("capsfilter")
            .property(
                "caps",
                canvas_caps()
                    .field("width", canvas.0)
                    .field("height", canvas.1)
                    .field("framerate", gst::Fraction::new(FPS, 1))
                    .build(),
            )
            .build()?;
        let raw_tee = make("tee")?;
        let enc_q = gst::ElementFactory::make("queue").property("max-size-time", 1_000_000_000u64).build()?;
        let kbps = spec.quality.video_kbps();
        let x264 = gst::ElementFactory::make("x264enc")
            .property("bitrate", kbps)
            .property_from_str("speed-preset", "veryfast")
            .property_from_str("tune", "zerolatency")
            .property("key-int-max", (FPS * 2) as u32)
            .property("bframes", 0u32)
            // Closed GOPs every 2 s and strict CBR, as YouTube and Twitch ask.
            .property("option-string", format!("scenecut=0:open-gop=0:nal-hrd=cbr:vbv-maxrate={kbps}:vbv-bufsize={kbps}"))
            .build()?;
        let h264_caps = gst::ElementFactory::make("capsfilter")
            .property("caps", gst::Caps::builder("video/x-h264").field("profile", "main").build())
            .build()?;
        let video_tee = gst::ElementFactory::make("tee").property("allow-not-linked", true).build()?;
        pipeline.add_many([&black, &vmix, &out_caps, &raw_tee, &enc_q, &x264, &h264_caps, &video_tee])?;
        let black_filter = gst::ElementFactory::make("capsfilter").property("caps", black_caps).build()?;
        pipeline.add(&black_filter)?;
        gst::Element::link_many([&black, &black_filter])?;
        let bg_pad = vmix.request_pad_simple("sink_%u").ok_or_else(|| anyhow!("compositor gave no pad"))?;
        bg_pad.set_property("zorder", 0u32);
        black_filter.static_pad("src").context("capsfilter src")?.link(&bg_pad)?;
        // GStreamer 1.22's aggregators skip inactive pads (none has had a buffer yet) before they
        // check for end of stream: a compositor that ignores inactive pads and reaches its first
        // deadline before even the background's first frame takes itself for ended. The HLS
        // output then closes an empty first segment and waits forever (reproduced: 4 starts in
        // 100 with four pipelines starting at once on two cores). So it ignores inactive pads
        // only once the background is in: its second frame comes after the first was queued.
        let background_frames = Arc::new(AtomicI64::new(0));
        let counted = background_frames.clone();
        bg_pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            if counted.fetch_add(1, Ordering::Relaxed) >= 1 { gst::PadProbeReturn::Remove } else { gst::PadProbeReturn::Ok }
        });
        gst::Element::link_many([&vmix, &out_caps, &raw_tee])?;
        gst::Element::link_many([&enc_q, &x264, &h264_caps, &video_tee])?;
        // A running-time offset on the encoded video, before every output (HLS and RTMP): later
        // video rather than earlier audio, which would put the first AAC frames before zero.
        let video_delay = AAC_PRIMING + COMPOSITOR_CENTRING;
        h264_caps.static_pad("src").context("h264 capsfilter src")?.set_offset(video_delay.as_nanos() as i64);
        link_tee(&raw_tee, &enc_q)?;

        // Audio: silence, mixer, one AAC encode.
        let silence =
            gst::ElementFactory::make("audiotestsrc").property("is-live", true).property_from_str("wave", "silence").build()?;
        let silence_caps = gst::ElementFactory::make("capsfilter").property("caps", pcm_caps()).build()?;
        // Not `ignore-inactive-pads`, unlike the compositor: GStreamer 1.22's audiomixer skips
        // inactive pads before it checks for end of stream, so when its first deadline passed
        // before even the silence had arrived (every pad inactive), it took itself for ended and
        // the recording had no sound: the muxer then failed the pipeline ("could not create
        // handler for stream"), about one start in ten. As a live aggregator it still never waits
        // for a silent input past its latency.
        let amix = gst::ElementFactory::make("audiomixer")
            .property_from_str("start-time-selection", "zero")
            .property("latency", MIX_LATENCY.as_nanos() as u64)
            .build()?;
        let mix_caps = gst::ElementFactory::make("capsfilter").property("caps", pcm_caps()).build()?;
        let aconv = make("audioconvert")?;
        let aac = gst::ElementFactory::make("avenc_aac").property("bitrate", 128_000i32).build()?;
        let audio_tee = gst::ElementFactory::make("tee").property("allow-not-linked", true).build()?;
        pipeline.add_many([&silence, &silence_caps, &amix, &mix_caps, &aconv, &aac, &audio_tee])?;
        gst::Element::link_many([&silence, &silence_caps, &amix, &mix_caps, &aconv, &aac, &audio_tee])?;

        // HLS segments: each output its own parsers (MPEG-TS wants byte-stream H.264).
        let vq = gst::ElementFactory::make("queue").property("max-size-time", 2_000_000_000u64).build()?;
        let vparse = gst::ElementFactory::make("h264parse").property("config-interval", -1i32).build()?;
        let aq = gst::ElementFactory::make("queue").property("max-size-time", 2_000_000_000u64).build()?;
        let aparse = make("aacparse")?;
        // The muxer must never mux one stream before the other has started. As a live
        // aggregator it would: fed by splitmuxsink, which holds back a whole GOP, it times out
        // and creates its streams before the audio's caps arrive ("could not create handler for
        // stream"), more often the busier the machine. Its sink pads are told upstream is not
        // live, so it waits for data on every pad instead of timing out: for files, exactly right
        // (both streams never stop: black video and silence are always mixed in).
        let mux = make("mpegtsmux")?;
        mux.connect_pad_added(|_, pad| {
            pad.add_probe(gst::PadProbeType::QUERY_UPSTREAM | gst::PadProbeType::PULL, |_, info| {
                if let Some(gst::PadProbeData::Query(q)) = info.data.as_mut()
                    && let gst::QueryViewMut::Latency(l) = q.view_mut()
                {
                    let (_, min, max) = l.result();
                    l.set(false, min, max);
                }
                gst::PadProbeReturn::Ok
            });
        });
        let split = gst::ElementFactory::make("splitmuxsink")
            .property("muxer", &mux)
            .property("max-size-time", SEGMENT.as_nanos() as u64)
            .property("send-keyframe-requests", true)
            .property("start-index", spec.first_segment as i32)
            .property("location", spec.dir.join("seg-%05d.ts").to_string_lossy().to_string())
            .build()?;
        pipeline.add_many([&vq, &vparse, &aq, &aparse, &split])?;
        gst::Element::link_many([&vq, &vparse])?;
        gst::Element::link_many([&aq, &aparse])?;
        link_tee(&video_tee, &vq)?;
        link_tee(&audio_tee, &aq)?;
        vparse
            .static_pad("src")
            .context("h264parse src")?
            .link(&split.request_pad_simple("video").context("splitmuxsink video")?)?;
        aparse
            .static_pad("src")
            .context("aacparse src")?
            .link(&split.request_pad_simple("audio_%u").context("splitmuxsink audio")?)?;

        // A thumbnail every 5 s, overwritten in place.
        let tq = gst::ElementFactory::make("queue")
            .property_from_str("leaky", "downstream")
            .property("max-size-buffers", 2u32)
            .build()?;
        let trate = gst::ElementFactory::make("videorate").property("drop-only", true).build()?;
        let tscale = make("videoscale")?;
        let tcaps = gst::ElementFactory::make("capsfilter")
            .property(
                "caps",
                gst::Caps::builder("video/x-raw")
                    .field("width", 480)
                    .field("height", 270)
                    .field("framerate", gst::Fraction::new(1, 5))
                    .build(),
            )
            .build()?;
        let jpeg = make("jpegenc")?;
        let tsink = gst::ElementFactory::make("multifilesink")
            .property("location", spec.dir.join("thumbnail.jpg").to_string_lossy().to_string())
            .property("async", false)
            .property("sync", false)
            .build()?;
        pipeline.add_many([&tq, &trate, &tscale, &tcaps, &jpeg, &tsink])?;
        gst::Element::link_many([&tq, &trate, &tscale, &tcaps, &jpeg, &tsink])?;
        link_tee(&raw_tee, &tq)?;

        let pending: Pending = Arc::new(Mutex::new(None));
        let take = pending.clone();
        vmix.connect("samples-selected", false, move |_| {
            // A std Mutex: nothing awaits while it is held, and the callback must not block long.
            if let Some(batch) = take.lock().ok().and_then(|mut p| p.take()) {
                for (pad, look) in batch {
                    pad.set_property("xpos", look.rect.x);
                    pad.set_property("ypos", look.rect.y);
                    pad.set_property("width", look.rect.w);
                    pad.set_property("height", look.rect.h);
                    pad.set_property("alpha", look.alpha);
                    pad.set_property("zorder", look.zorder);
                }
            }
            None
        });

        Ok(Self {
            pipeline,
            vmix,
            amix,
            layout: spec.layout,
            spec,
            canvas,
            origin,
            people: Vec::new(),
            speaker: None,
            applied: HashMap::new(),
            sizers: HashMap::new(),
            pending,
            opened: HashMap::new(),
            keyframes_wanted: Vec::new(),
            background_frames: Some(background_frames),
            finishing: false,
            video_tee,
            audio_tee,
        })
    }

    pub fn start(&self) -> anyhow::Result<()> {
        self.pipeline.set_state(gst::State::Playing).context("starting the pipeline")?;
        Ok(())
    }

    pub fn pipeline(&self) -> &gst::Pipeline {
        &self.pipeline
    }

    pub fn bus(&self) -> gst::Bus {
        self.pipeline.bus().expect("a pipeline has a bus")
    }

    pub fn layout(&self) -> LayoutKind {
        self.layout
    }

    pub fn set_layout(&mut self, layout: LayoutKind) {
        self.layout = layout;
        self.refresh();
    }

    pub fn participants(&self) -> Vec<(Participant, InputPorts)> {
        self.people.iter().map(|p| (p.participant.clone(), p.ports)).collect()
    }

    /// Adds a person on air and returns the ports their RTP goes to. Adding someone already
    /// present only updates their name.
    pub fn add(&mut self, participant: Participant) -> anyhow::Result<InputPorts> {
        if let Some(p) = self.people.iter_mut().find(|p| p.participant.user_id == participant.user_id) {
            if p.participant.name != participant.name {
                p.participant.name = participant.name.clone();
                for e in &p.elements {
                    if e.name().starts_with("label-") {
                        e.set_property("text", &participant.name);
                    }
                }
            }
            return Ok(p.ports);
        }
        let n = self.people.len();
        // The tile they will have, so that their stills start at its size: a still resized
        // right after it started renegotiates with the compositor while the pipeline is young.
        let mut tiles = self.tile_keys(Instant::now());
        tiles.push(TileKey { user_id: participant.user_id.clone(), kind: TileKind::Person });
        let speaker = self.speaker.as_ref().map(|(s, _)| s.as_str());
        let rect = arrange(self.layout, self.canvas, &tiles, speaker)
            .into_iter()
            .find(|(k, _)| k.user_id == participant.user_id && k.kind == TileKind::Person)
            .map(|(_, r)| r);
        let person = self.build_person(participant, n, rect).context("adding a participant to the composite")?;
        let ports = person.ports;
        self.people.push(person);
        self.refresh();
        Ok(ports)
    }

    /// Takes a person off air; their tile goes at once.
    pub fn remove(&mut self, user_id: &str) -> bool {
        let Some(i) = self.people.iter().position(|p| p.participant.user_id == user_id) else { return false };
        let mut p = self.people.remove(i);
        p.elements.extend(std::mem::take(&mut p.camera_chain.1));
        p.elements.extend(std::mem::take(&mut p.screen_chain.1));
        for e in &p.elements {
            let _ = e.set_state(gst::State::Null);
        }
        for pad in &p.vpads {
            self.applied.remove(pad);
            self.sizers.remove(pad);
            if let Some(peer) = pad.peer() {
                let _ = peer.unlink(pad);
            }
            self.vmix.release_request_pad(pad);
        }
        if let Some(peer) = p.apad.peer() {
            let _ = peer.unlink(&p.apad);
        }
        self.amix.release_request_pad(&p.apad);
        let _ = self.pipeline.remove_many(p.elements.iter());
        self.refresh();
        true
    }

    /// Switches a person's camera or screen input to `codec` (the SFU reports the codec of each
    /// tap: VP8 from browsers, H.264 from OBS over WHIP). The input is rebuilt on the same UDP
    /// port and compositor pad, so the tap and the tile stay as they are.
    pub fn set_video_codec(&mut self, user_id: &str, kind: TileKind, codec: VideoCodec) -> anyhow::Result<()> {
        let Some(i) = self.people.iter().position(|p| p.participant.user_id == user_id) else { return Ok(()) };
        let (current, port, pad, seen) = {
            let p = &self.people[i];
            match kind {
                TileKind::Person => (p.camera_chain.0, p.ports.camera, p.person.video.clone(), p.camera_seen.clone()),
                TileKind::Screen => (p.screen_chain.0, p.ports.screen, p.screen.video.clone(), p.screen_seen.clone()),
            }
        };
        if current == codec {
            return Ok(());
        }
        let old = match kind {
            TileKind::Person => std::mem::take(&mut self.people[i].camera_chain.1),
            TileKind::Screen => std::mem::take(&mut self.people[i].screen_chain.1),
        };
        for e in &old {
            let _ = e.set_state(gst::State::Null);
        }
        if let Some(peer) = pad.peer() {
            let _ = peer.unlink(&pad);
        }
        let _ = self.pipeline.remove_many(old.iter());
        let (src, _) = self.udp("rebuilt", codec.rtp_caps(), port)?;
        let mut chain = Vec::new();
        let mut sizer = self.video_chain(&src, (user_id, kind), codec, &pad, &seen, &mut chain)?;
        if let Some(look) = self.applied.get(&pad).filter(|l| l.alpha > 0.0) {
            sizer.fit(look.rect.w, look.rect.h);
        }
        self.sizers.insert(pad.clone(), sizer);
        tracing::info!(user = user_id, ?kind, ?codec, port, "video input rebuilt for another codec");
        let slot = match kind {
            TileKind::Person => &mut self.people[i].camera_chain,
            TileKind::Screen => &mut self.people[i].screen_chain,
        };
        *slot = (codec, chain);
        Ok(())
    }

    /// Re-evaluates who shows, who speaks and where tiles go; queues the change to apply at the
    /// compositor's next output frame. Called after every change and by the job every ~200 ms.
    pub fn refresh(&mut self) {
        if self.background_frames.as_ref().is_some_and(|n| n.load(Ordering::Relaxed) >= 2) {
            self.vmix.set_property("ignore-inactive-pads", true);
            self.background_frames = None;
        }
        let now = Instant::now();
        self.pick_speaker(now);
        let tiles = self.tile_keys(now);
        let speaker = self.speaker.as_ref().map(|(s, _)| s.as_str());
        let placed = arrange(self.layout, self.canvas, &tiles, speaker);
        let scale = self.canvas.1 as f64 / 720.0;
        let mut looks: Vec<(gst::Pad, PadLook)> = Vec::new();
        for p in &self.people {
            let speaking = self.speaking(p, now);
            for kind in [TileKind::Person, TileKind::Screen] {
                let pads = if kind == TileKind::Person { &p.person } else { &p.screen };
                let rect = placed.iter().find(|(k, _)| k.user_id == p.participant.user_id && k.kind == kind).map(|(_, r)| *r);
                let hidden = PadLook { rect: Rect { x: 0, y: 0, w: 2, h: 2 }, alpha: 0.0, zorder: 1 };
                let Some(rect) = rect else {
                    for pad in
                        [Some(&pads.ring), pads.initials.as_ref(), Some(&pads.video), Some(&pads.label)].into_iter().flatten()
                    {
                        looks.push((pad.clone(), hidden));
                    }
                    continue;
                };
                let video_on = match kind {
                    TileKind::Person => p.camera_seen.fresh(self.origin, now),
                    TileKind::Screen => true,
                };
                let (ring_rect, label_rect) = tile_parts(rect, scale);
                looks.push((
                    pads.ring.clone(),
                    PadLook { rect: ring_rect, alpha: if speaking && kind == TileKind::Person { 1.0 } else { 0.0 }, zorder: 1 },
                ));
                if let Some(initials) = &pads.initials {
                    looks.push((initials.clone(), PadLook { rect, alpha: if video_on { 0.0 } else { 1.0 }, zorder: 2 }));
                }
                looks.push((pads.video.clone(), PadLook { rect, alpha: if video_on { 1.0 } else { 0.0 }, zorder: 3 }));
                looks.push((pads.label.clone(), PadLook { rect: label_rect, alpha: LABEL_ALPHA, zorder: 4 }));
            }
        }
        for (pad, look) in &looks {
            if look.alpha > 0.0
                && let Some(sizer) = self.sizers.get_mut(pad)
            {
                sizer.fit(look.rect.w, look.rect.h);
            }
        }
        let changed: Vec<(gst::Pad, PadLook)> =
            looks.into_iter().filter(|(pad, look)| self.applied.get(pad) != Some(look)).collect();
        if changed.is_empty() {
            return;
        }
        for (pad, look) in &changed {
            self.applied.insert(pad.clone(), *look);
        }
        if let Ok(mut pending) = self.pending.lock() {
            // Merge with a batch not yet applied: the newest value of each pad wins.
            let mut batch = pending.take().unwrap_or_default();
            batch.retain(|(pad, _)| !changed.iter().any(|(p, _)| p == pad));
            batch.extend(changed);
            *pending = Some(batch);
        }
    }

    /// The tiles to place: each person, and each screen that is sending.
    fn tile_keys(&self, now: Instant) -> Vec<TileKey> {
        let mut tiles = Vec::new();
        for p in &self.people {
            tiles.push(TileKey { user_id: p.participant.user_id.clone(), kind: TileKind::Person });
            if p.screen_seen.fresh(self.origin, now) {
                tiles.push(TileKey { user_id: p.participant.user_id.clone(), kind: TileKind::Screen });
            }
        }
        tiles
    }

    /// Where each tile is now, as last decided (for tests and status).
    pub fn tiles(&self) -> Vec<(TileKey, Rect, bool)> {
        let mut out = Vec::new();
        for p in &self.people {
            for (kind, pads) in [(TileKind::Person, &p.person), (TileKind::Screen, &p.screen)] {
                if let Some(look) = self.applied.get(&pads.video) {
                    let initials = pads.initials.as_ref().and_then(|i| self.applied.get(i));
                    if look.alpha > 0.0 || initials.is_some_and(|l| l.alpha > 0.0) {
                        out.push((TileKey { user_id: p.participant.user_id.clone(), kind }, look.rect, look.alpha > 0.0));
                    }
                }
            }
        }
        out
    }

    /// The visible inputs (as their compositor pads' names) whose frames the compositor has to
    /// convert on every output frame because they differ from what the pad shows: in size,
    /// format, colorimetry, chroma siting or frame rate. Empty once every input has
    /// renegotiated after a change, which is what keeps the job's CPU down (see [`Sizer`]).
    pub fn converted_inputs(&self) -> Vec<String> {
        let expected = |look: &PadLook| {
            canvas_caps()
                .field("width", look.rect.w)
                .field("height", look.rect.h)
                .field("framerate", gst::Fraction::new(FPS, 1))
                .build()
        };
        self.applied
            .iter()
            .filter(|(_, look)| look.alpha > 0.0)
            .filter_map(|(pad, look)| {
                // An input that has sent nothing yet has no caps, and nothing to convert.
                let caps = pad.current_caps()?;
                (!caps.can_intersect(&expected(look))).then(|| pad.name().to_string())
            })
            .collect()
    }

    pub fn active_speaker(&self) -> Option<&str> {
        self.speaker.as_ref().map(|(s, _)| s.as_str())
    }

    fn speaking(&self, p: &Person, now: Instant) -> bool {
        p.level.1.fresh(self.origin, now) && p.level.0.load(Ordering::Relaxed) as f64 / 100.0 > SPEAKING_DB
    }

    fn pick_speaker(&mut self, now: Instant) {
        let loudest = self
            .people
            .iter()
            .filter(|p| self.speaking(p, now))
            .max_by_key(|p| p.level.0.load(Ordering::Relaxed))
            .map(|p| p.participant.user_id.clone());
        match (&mut self.speaker, loudest) {
            (_, None) => {}
            (Some((current, _)), Some(l)) if *current == l => {}
            (Some((_, since)), Some(l)) => {
                // A new voice takes over only once it has held for a moment.
                if now.duration_since(*since) >= SPEAKER_HOLD {
                    self.speaker = Some((l, now));
                }
            }
            (None, Some(l)) => self.speaker = Some((l, now)),
        }
        if let Some((s, _)) = &self.speaker
            && !self.people.iter().any(|p| &p.participant.user_id == s)
        {
            self.speaker = None;
        }
    }

    /// Reads a bus message; returns what the job must know, in order.
    pub fn on_message(&mut self, msg: &gst::Message) -> Vec<Report> {
        self.message(msg).into_iter().collect()
    }

    fn message(&mut self, msg: &gst::Message) -> Option<Report> {
        use gst::MessageView;
        match msg.view() {
            MessageView::Element(e) => {
                let s = e.structure()?;
                if s.name() == KEYFRAME_WANTED {
                    let user_id = s.get::<String>("user").ok()?;
                    let kind = if s.get::<&str>("source").ok()? == "screen" { TileKind::Screen } else { TileKind::Person };
                    self.keyframes_wanted.push((user_id, kind));
                    return None;
                }
                let location = s.get::<String>("location").ok()?;
                let running = fragment_time(s.get::<u64>("running-time").ok());
                match s.name().as_str() {
                    "splitmuxsink-fragment-opened" => {
                        if let Some(running) = running {
                            self.opened.insert(location, running);
                        }
                        None
                    }
                    "splitmuxsink-fragment-closed" => {
                        let start = self.opened.remove(&location).unwrap_or_default();
                        let index = segment_index(Path::new(&location))?;
                        if std::fs::metadata(&location).map(|m| m.len()).unwrap_or(0) == 0 {
                            // Not a segment. While finishing, end-of-stream right after a split
                            // may close an empty last file; otherwise the output ended before
                            // any frame (as the compositor did at start before
                            // `background_frames`), and waiting for the next segment would wait
                            // for the job's stall watchdog.
                            let _ = std::fs::remove_file(&location);
                            return (!self.finishing).then(|| Report::Failed {
                                reason: format!("the HLS output closed an empty segment ({location})"),
                            });
                        }
                        Some(Report::Segment {
                            index,
                            path: PathBuf::from(location),
                            start,
                            duration: running.map(|r| r.saturating_sub(start)).unwrap_or_default(),
                        })
                    }
                    _ => None,
                }
            }
            MessageView::Error(err) => {
                let src = err.src().map(|s| s.path_string().to_string()).unwrap_or_default();
                Some(Report::Failed { reason: format!("{src}: {}", err.error()) })
            }
            MessageView::Eos(_) => Some(Report::Finished),
            _ => None,
        }
    }

    /// The video inputs (`(user_id, camera or screen)`) that lost RTP and asked for a keyframe
    /// in the bus messages read since the last call: only their publisher can send one, so the
    /// job asks the SFU.
    pub fn take_keyframe_requests(&mut self) -> Vec<(String, TileKind)> {
        std::mem::take(&mut self.keyframes_wanted)
    }

    /// Sends end-of-stream so the last segment is closed properly.
    pub fn finish(&mut self) {
        self.finishing = true;
        // `send_event` takes each source's lock; a source stuck in a query (seen: the still
        // tiles' videotestsrc waiting on the compositor) would hold the caller, which is the
        // job's loop. Sent from a thread of its own, the job goes on: without end-of-stream it
        // closes the pipeline after its bound.
        let pipeline = self.pipeline.clone();
        let _ = std::thread::Builder::new().name("egress-eos".into()).spawn(move || {
            pipeline.send_event(gst::event::Eos::new());
        });
    }

    pub fn stop(&self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }

    pub fn dir(&self) -> &Path {
        &self.spec.dir
    }

    fn build_person(&mut self, participant: Participant, n: usize, tile: Option<Rect>) -> anyhow::Result<Person> {
        let id = sanitize(&participant.user_id);
        let mut elements = Vec::new();
        let mut vpads = Vec::new();
        let color = tile_color(&participant.user_id);

        let camera_seen = LastSeen::new();
        let screen_seen = LastSeen::new();
        let mut camera_chain = Vec::new();
        let mut screen_chain = Vec::new();
        let user_id = participant.user_id.clone();
        let (camera_port, camera_pad, mut camera_sizer) = self.video_input(
            &format!("cam-{id}"),
            (&user_id, TileKind::Person),
            VideoCodec::Vp8,
            &camera_seen,
            &mut camera_chain,
        )?;
        let (screen_port, screen_pad, screen_sizer) = self.video_input(
            &format!("scr-{id}"),
            (&user_id, TileKind::Screen),
            VideoCodec::Vp8,
            &screen_seen,
            &mut screen_chain,
        )?;
        if let Some(rect) = tile {
            camera_sizer.fit(rect.w, rect.h);
        }
        self.sizers.insert(camera_pad.clone(), camera_sizer);
        self.sizers.insert(screen_pad.clone(), screen_sizer);
        vpads.push(camera_pad.clone());
        vpads.push(screen_pad.clone());

        // Sizes for a 640×360 tile; each still is redrawn at its tile's size. Fonts are for a
        // picture 640 wide (see `still`): a label, 360 wide, shows its 27 points as 15.
        let name = participant.name.clone();
        let scale = self.canvas.1 as f64 / 720.0;
        let (ini_size, ring_size, label_size) = match tile {
            Some(rect) => {
                let (ring, label) = tile_parts(rect, scale);
                ((rect.w, rect.h), (ring.w, ring.h), (label.w, label.h))
            }
            None => ((640, 360), (64, 36), (360, 36)),
        };
        let initials_pad =
            self.still(&format!("ini-{id}"), color, ini_size, Some((&initials(&name), "Sans Bold 110")), &mut elements)?;
        let ring_pad = self.still(&format!("ring-{id}"), 0xff2e_cc71, ring_size, None, &mut elements)?;
        let label_pad = self.still(&format!("label-{id}"), 0xff00_0000, label_size, Some((&name, "Sans 27")), &mut elements)?;
        let scr_ring = self.still(&format!("sring-{id}"), 0xff00_0000, (16, 16), None, &mut elements)?;
        let scr_label = self.still(
            &format!("slabel-{id}"),
            0xff00_0000,
            (360, 36),
            Some((&format!("{name} · screen"), "Sans 27")),
            &mut elements,
        )?;
        vpads.extend([initials_pad.clone(), ring_pad.clone(), label_pad.clone(), scr_ring.clone(), scr_label.clone()]);

        let level = Level(Arc::new(AtomicI64::new(i64::MIN)), LastSeen::new());
        let (microphone, apad) = self.audio_input(&format!("mic-{id}"), &level, &mut elements)?;
        let _ = n;
        Ok(Person {
            participant,
            ports: InputPorts { camera: camera_port, microphone, screen: screen_port },
            elements,
            camera_chain: (VideoCodec::Vp8, camera_chain),
            screen_chain: (VideoCodec::Vp8, screen_chain),
            vpads,
            apad,
            person: TilePads { ring: ring_pad, initials: Some(initials_pad), video: camera_pad, label: label_pad },
            screen: TilePads { ring: scr_ring, initials: None, video: screen_pad, label: scr_label },
            camera_seen,
            screen_seen,
            level,
        })
    }

    /// A compositor pad for a new element chain; it starts hidden.
    fn new_vpad(&self) -> anyhow::Result<gst::Pad> {
        let pad = self.vmix.request_pad_simple("sink_%u").ok_or_else(|| anyhow!("compositor gave no pad"))?;
        pad.set_property_from_str("sizing-policy", "keep-aspect-ratio");
        pad.set_property("alpha", 0.0f64);
        pad.set_property("width", 2i32);
        pad.set_property("height", 2i32);
        // No `converter-config`: with one set, the compositor converts the pad's every frame
        // even when nothing needs converting.
        Ok(pad)
    }

    /// Adds `new` to the pipeline and to a person's `elements`: what removing them takes out again.
    fn adopt(&self, elements: &mut Vec<gst::Element>, new: &[&gst::Element]) -> anyhow::Result<()> {
        self.pipeline.add_many(new.iter().copied())?;
        elements.extend(new.iter().map(|e| (*e).clone()));
        Ok(())
    }

    /// A bound UDP source; its port is read back after binding.
    fn udp(&self, name: &str, caps: gst::Caps, port: u16) -> anyhow::Result<(gst::Element, u16)> {
        let src = gst::ElementFactory::make("udpsrc")
            .property("address", self.spec.rtp_ip.to_string())
            .property("port", port as i32)
            .property("reuse", false)
            .property("caps", caps)
            .property("buffer-size", 1_048_576i32)
            .build()?;
        self.pipeline.add(&src)?;
        // Binding happens on NULL → READY; the element then reports the port it got.
        src.set_state(gst::State::Ready).with_context(|| format!("binding a UDP port for {name}"))?;
        let port: i32 = src.property("port");
        if port <= 0 {
            return Err(anyhow!("udpsrc {name} did not report its port"));
        }
        Ok((src, port as u16))
    }

    /// RTP video → decoded frames on a compositor pad. The codec is the room's (the SFU
    /// reports it when the tap starts); [`Composite::set_video_codec`] switches it.
    fn video_input(
        &self,
        name: &str,
        input: (&str, TileKind),
        codec: VideoCodec,
        seen: &LastSeen,
        elements: &mut Vec<gst::Element>,
    ) -> anyhow::Result<(u16, gst::Pad, Sizer)> {
        let (src, port) = self.udp(name, codec.rtp_caps(), 0)?;
        let pad = self.new_vpad()?;
        let sizer = self.video_chain(&src, input, codec, &pad, seen, elements)?;
        Ok((port, pad, sizer))
    }

    /// udpsrc → jitter buffer → depayloader → decoder → convert → scale → leaky queue → `pad`.
    /// `input` names whose camera or screen this is, for the keyframe requests it reports. The
    /// returned [`Sizer`] sets the scale to the tile's size.
    fn video_chain(
        &self,
        src: &gst::Element,
        input: (&str, TileKind),
        codec: VideoCodec,
        pad: &gst::Pad,
        seen: &LastSeen,
        elements: &mut Vec<gst::Element>,
    ) -> anyhow::Result<Sizer> {
        let jitter =
            gst::ElementFactory::make("rtpjitterbuffer").property("latency", JITTER_MS).property("do-lost", true).build()?;
        let (depay, dec) = match codec {
            VideoCodec::Vp8 => ("rtpvp8depay", "vp8dec"),
            VideoCodec::H264 => ("rtph264depay", "avdec_h264"),
        };
        let depay = gst::ElementFactory::make(depay).property("request-keyframe", true).build()?;
        let dec = make(dec)?;
        let conv = make("videoconvert")?;
        // Black borders keep a picture of another shape whole, as the pad's keep-aspect-ratio
        // would.
        let scale = gst::ElementFactory::make("videoscale").property("add-borders", true).build()?;
        let base = canvas_caps().build();
        let size = sizing_filter(&base)?;
        let rate = canvas_rate()?;
        // Leaky: a slow compositor drops frames here instead of stalling the network input.
        let queue = gst::ElementFactory::make("queue")
            .property_from_str("leaky", "downstream")
            .property("max-size-buffers", 3u32)
            .build()?;
        // The socket is in the pipeline already (bound by `udp`); it goes with the person all the same.
        elements.push(src.clone());
        self.adopt(elements, &[&jitter, &depay, &dec, &conv, &scale, &size, &rate, &queue])?;
        gst::Element::link_many([src, &jitter, &depay, &dec, &conv, &scale, &size, &rate, &queue])?;
        // Freshness is measured where the RTP arrives, not where frames enter the compositor: a
        // busy compositor slows its inputs down, which is not the publisher going away.
        seen.watch(&src.static_pad("src").context("udpsrc src")?, self.origin);
        report_keyframe_requests(src, input.0, input.1)?;
        queue.static_pad("src").context("queue src")?.link(pad)?;
        for e in [&queue, &rate, &size, &scale, &conv, &dec, &depay, &jitter, src] {
            e.sync_state_with_parent()?;
        }
        Ok(Sizer::new(size, base))
    }

    /// A still picture (an opaque colour, `argb` with its alpha ignored, with text in `font`) as a
    /// compositor pad: initials, rings and labels. It starts at `w`×`h`; its [`Sizer`] redraws it
    /// at its tile's size. The text keeps its proportion to the picture: `textoverlay` scales a
    /// font by the picture's width over 640 (`auto-resize`) as it renegotiates, in its own
    /// thread. (Setting `font-desc` from the job's thread while the overlay draws crashed in
    /// Pango, 2 runs in 8.)
    fn still(
        &mut self,
        name: &str,
        argb: u32,
        (w, h): (i32, i32),
        text: Option<(&str, &str)>,
        elements: &mut Vec<gst::Element>,
    ) -> anyhow::Result<gst::Pad> {
        let src = gst::ElementFactory::make("videotestsrc")
            .property("is-live", true)
            .property_from_str("pattern", "solid-color")
            .property("foreground-color", argb)
            .build()?;
        let base = canvas_caps().field("framerate", gst::Fraction::new(5, 1)).build();
        let caps = sizing_filter(&base)?;
        self.adopt(elements, &[&src, &caps])?;
        gst::Element::link_many([&src, &caps])?;
        let mut last = caps.clone();
        if let Some((text, font)) = text {
            let overlay = gst::ElementFactory::make("textoverlay")
                .name(name)
                .property("text", text)
                .property("font-desc", font)
                .property_from_str("valignment", "center")
                .property_from_str("halignment", if name.starts_with("ini-") { "center" } else { "left" })
                .property("xpad", 12i32)
                .property("shaded-background", false)
                .build()?;
            self.pipeline.add(&overlay)?;
            elements.push(overlay.clone());
            caps.link(&overlay)?;
            last = overlay;
        }
        let rate = canvas_rate()?;
        self.pipeline.add(&rate)?;
        elements.push(rate.clone());
        last.link(&rate)?;
        let last = rate;
        let mut sizer = Sizer::new(caps.clone(), base);
        sizer.fit(w, h);
        let pad = self.new_vpad()?;
        last.static_pad("src").context("still src")?.link(&pad)?;
        for e in elements.iter().rev().take(3) {
            e.sync_state_with_parent()?;
        }
        src.sync_state_with_parent()?;
        caps.sync_state_with_parent()?;
        self.sizers.insert(pad.clone(), sizer);
        Ok(pad)
    }

    /// RTP Opus → PCM on an audiomixer pad, with the level measured for the speaking ring.
    fn audio_input(&self, name: &str, level: &Level, elements: &mut Vec<gst::Element>) -> anyhow::Result<(u16, gst::Pad)> {
        let caps = gst::Caps::builder("application/x-rtp")
            .field("media", "audio")
            .field("clock-rate", 48_000i32)
            .field("encoding-name", "OPUS")
            .field("payload", 111i32)
            .build();
        let (src, port) = self.udp(name, caps, 0)?;
        let jitter =
            gst::ElementFactory::make("rtpjitterbuffer").property("latency", JITTER_MS).property("do-lost", true).build()?;
        let depay = make("rtpopusdepay")?;
        let dec = gst::ElementFactory::make("opusdec").property("plc", true).build()?;
        let conv = make("audioconvert")?;
        let resample = make("audioresample")?;
        let caps = gst::ElementFactory::make("capsfilter").property("caps", pcm_caps()).build()?;
        let queue = gst::ElementFactory::make("queue").property("max-size-time", 500_000_000u64).build()?;
        elements.push(src.clone());
        self.adopt(elements, &[&jitter, &depay, &dec, &conv, &resample, &caps, &queue])?;
        gst::Element::link_many([&src, &jitter, &depay, &dec, &conv, &resample, &caps, &queue])?;
        let (db, seen) = (level.0.clone(), level.1.0.clone());
        let origin = self.origin;
        caps.static_pad("src").context("caps src")?.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer()
                && let Ok(map) = buffer.map_readable()
            {
                db.store((rms_dbfs(map.as_slice()) * 100.0) as i64, Ordering::Relaxed);
                seen.store(origin.elapsed().as_millis() as i64, Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
        let pad = self.amix.request_pad_simple("sink_%u").ok_or_else(|| anyhow!("audiomixer gave no pad"))?;
        queue.static_pad("src").context("queue src")?.link(&pad)?;
        for e in [&queue, &caps, &resample, &conv, &dec, &depay, &jitter, &src] {
            e.sync_state_with_parent()?;
        }
        Ok((port, pad))
    }
}

impl Drop for Composite {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Catches the keyframe requests that reach a video input's `udpsrc` (the depayloader's, after a
/// loss) and posts them on the bus as [`KEYFRAME_WANTED`], naming the input; `udpsrc` itself
/// would drop them.
fn report_keyframe_requests(src: &gst::Element, user_id: &str, kind: TileKind) -> anyhow::Result<()> {
    let source = match kind {
        TileKind::Person => "camera",
        TileKind::Screen => "screen",
    };
    let user = user_id.to_owned();
    let element = src.downgrade();
    src.static_pad("src").context("udpsrc src")?.add_probe(gst::PadProbeType::EVENT_UPSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(event)) = &info.data
            && gstreamer_video::ForceKeyUnitEvent::is(event)
            && let Some(src) = element.upgrade()
        {
            let report = gst::message::Element::builder(
                gst::Structure::builder(KEYFRAME_WANTED).field("user", &user).field("source", source).build(),
            )
            .src(&src)
            .build();
            let _ = src.post_message(report);
        }
        gst::PadProbeReturn::Ok
    });
    Ok(())
}

fn link_tee(tee: &gst::Element, sink: &gst::Element) -> anyhow::Result<()> {
    let pad = tee.request_pad_simple("src_%u").ok_or_else(|| anyhow!("tee gave no pad"))?;
    pad.link(&sink.static_pad("sink").context("sink pad")?)?;
    Ok(())
}

/// A person's tile's ring (4 pixels around it at 720p) and name label (along its bottom-left).
fn tile_parts(rect: Rect, scale: f64) -> (Rect, Rect) {
    let ring = (4.0 * scale) as i32 & !1;
    let ring_rect = Rect { x: rect.x - ring, y: rect.y - ring, w: rect.w + 2 * ring, h: rect.h + 2 * ring };
    let lh = ((36.0 * scale) as i32).min(rect.h / 4).max(2) & !1;
    let lw = (rect.w.min((360.0 * scale) as i32)) & !1;
    (ring_rect, Rect { x: rect.x, y: rect.y + rect.h - lh, w: lw, h: lh })
}

/// Labels an input with the canvas's 30 fps, whatever it sends (5 fps for a still, 15 or a
/// variable rate for a camera or a screen; each frame keeps its own duration): the compositor
/// converts an input whose frame rate differs from its output's even when format and size
/// agree, which is a copy of every frame, on another thread.
fn canvas_rate() -> anyhow::Result<gst::Element> {
    Ok(gst::ElementFactory::make("capssetter")
        .property("caps", gst::Caps::builder("video/x-raw").field("framerate", gst::Fraction::new(FPS, 1)).build())
        .build()?)
}

/// The capsfilter a [`Sizer`] resizes. `delayed`: a frame negotiated at the old size while the
/// size changes is still let through (with the default, it failed the pipeline with
/// not-negotiated, one run in three).
fn sizing_filter(caps: &gst::Caps) -> anyhow::Result<gst::Element> {
    Ok(gst::ElementFactory::make("capsfilter").property("caps", caps).property_from_str("caps-change-mode", "delayed").build()?)
}

/// The canvas's pixel format: I420, with the colorimetry and chroma siting that browsers' VP8
/// decodes to. Every input is made in it, so that the compositor blends what it gets: a
/// difference in either field alone (a still without them, say) makes it convert that input,
/// I420 to I420, on every output frame.
fn canvas_caps() -> gst::caps::Builder<gst::caps::NoFeature> {
    gst::Caps::builder("video/x-raw").field("format", "I420").field("colorimetry", "bt601").field("chroma-site", "jpeg")
}

/// The mixer's one format: a constant format keeps every AAC frame stereo (egress #531).
fn pcm_caps() -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "S16LE")
        .field("layout", "interleaved")
        .field("rate", 48_000i32)
        .field("channels", 2i32)
        .build()
}

/// RMS of interleaved S16LE samples, in dBFS (−120 for silence).
pub fn rms_dbfs(bytes: &[u8]) -> f64 {
    let mut sum = 0f64;
    let mut n = 0usize;
    for s in bytes.chunks_exact(2) {
        let v = i16::from_le_bytes([s[0], s[1]]) as f64 / 32768.0;
        sum += v * v;
        n += 1;
    }
    if n == 0 || sum == 0.0 {
        return -120.0;
    }
    (10.0 * (sum / n as f64).log10()).max(-120.0)
}

/// `seg-00042.ts` → 42.
pub fn segment_index(path: &Path) -> Option<u32> {
    path.file_stem()?.to_str()?.strip_prefix("seg-")?.parse().ok()
}

/// Up to two initials of a display name, for a person without a camera.
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let pick = match words.as_slice() {
        [] => vec![],
        [one] => vec![*one],
        [first, .., last] => vec![*first, *last],
    };
    let s: String = pick.iter().filter_map(|w| w.chars().next()).flat_map(char::to_uppercase).collect();
    if s.is_empty() { "?".into() } else { s }
}

/// A calm colour of the person's own, stable across recordings.
fn tile_color(user_id: &str) -> u32 {
    const COLORS: [u32; 6] = [0xff3b_4f81, 0xff6b_3b81, 0xff1f_6f6a, 0xff7a_4b22, 0xff2d_5a8c, 0xff5c_2d4f];
    let h = user_id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    COLORS[h as usize % COLORS.len()]
}

/// Element names allow only some characters.
fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).take(40).collect()
}

/// A fragment's running time from splitmuxsink, if it is one: GStreamer reports "none" as
/// u64::MAX (and a pipeline restarted under load has been seen to report times centuries away),
/// which added to the wall clock put a recording's first frame in the year 2319.
fn fragment_time(raw: Option<u64>) -> Option<Duration> {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    raw.map(Duration::from_nanos).filter(|d| *d < CENTURY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fragment_time_of_none_or_centuries_is_no_time() {
        assert_eq!(fragment_time(Some(2_000_000_000)), Some(Duration::from_secs(2)));
        assert_eq!(fragment_time(Some(u64::MAX)), None);
        assert_eq!(fragment_time(Some(1u64 << 63)), None);
        assert_eq!(fragment_time(None), None);
    }

    #[test]
    fn initials_take_the_first_and_last_word() {
        assert_eq!(initials("ada lovelace"), "AL");
        assert_eq!(initials("Grace Brewster Hopper"), "GH");
        assert_eq!(initials("Zoë"), "Z");
        assert_eq!(initials("   "), "?");
    }

    #[test]
    fn silence_is_minus_120_dbfs_and_full_scale_is_zero() {
        assert_eq!(rms_dbfs(&[0u8; 64]), -120.0);
        let full: Vec<u8> = std::iter::repeat_n([0xff, 0x7f], 32).flatten().collect();
        assert!(rms_dbfs(&full).abs() < 0.01);
    }

    #[test]
    fn segment_names_carry_their_index() {
        assert_eq!(segment_index(Path::new("/spool/j/seg-00042.ts")), Some(42));
        assert_eq!(segment_index(Path::new("/spool/j/thumbnail.jpg")), None);
    }
}
