//! A composite job: its pipeline, its spool of segments waiting for S3, its playlist, and the
//! supervision that keeps it going.
//!
//! Invariants:
//! - A segment enters the playlist only after its upload succeeded, and its local file stays
//!   until the recording is finished (the MP4 is built from them).
//! - The job's state is written to `job.json` in its spool directory after every change, so a
//!   restarted worker resumes the job: pending uploads continue, the pipeline starts again with
//!   the next segment number, and the lost time is a recorded gap (a discontinuity in HLS).
//! - A failed pipeline is rebuilt (at most [`MAX_RESTARTS`] in [`RESTART_WINDOW`]); an output that
//!   produces no segment for [`STALL`] counts as failed.
//! - While it runs, the job asks the SFU every [`PRESENCE_EVERY`] who publishes in its room, and
//!   reports since when none of its people on air does (`idle_since`, kept in `job.json` like
//!   the rest). It only reports: the recording service decides when an idle recording stops.
//! - A video input that lost RTP gets a keyframe from its publisher through the SFU, asked at
//!   most every [`KEYFRAME_ASK_EVERY`] per input.
use std::{
    collections::{HashMap, HashSet, VecDeque},
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use stagecast_storage::Bucket;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    composite::{self, Composite, InputPorts, Participant, Report, VideoCodec},
    layout::{LayoutKind, Quality, TileKind},
    observe::Metrics,
    playlist::{Entry, Playlist, segment_name},
    rtmp::{Feed, OutputStatus, RtmpUrl},
    sfu::Taps,
};

pub const MAX_RESTARTS: usize = 5;
pub const RESTART_WINDOW: Duration = Duration::from_secs(60);
/// No segment for this long while running: the output has stalled.
pub const STALL: Duration = Duration::from_secs(12);
const TICK: Duration = Duration::from_millis(200);
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How often a running job asks the SFU who publishes in its room.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(1);
/// At most one keyframe request per video input this often (the SFU throttles per track too;
/// this spares it the calls while a loss goes on).
pub const KEYFRAME_ASK_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Stopping,
    Finished,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Finished => "finished",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub at_ms: u64,
    pub duration_ms: u64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayoutChange {
    pub at_ms: u64,
    pub layout: String,
}

/// What a job was asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub job_id: String,
    pub room: String,
    pub layout: String,
    pub quality: String,
    pub key_prefix: String,
    pub on_air: Vec<(String, String)>,
    /// False for a job that only restreams: its segments keep the pipeline's liveness check
    /// going but are not stored, and it ends without a recording.
    #[serde(default = "yes")]
    pub record: bool,
}

fn yes() -> bool {
    true
}

/// A segment written but not yet uploaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pending {
    entry: Entry,
    path: PathBuf,
}

/// Everything needed to resume a job, kept in `job.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    spec: JobSpec,
    state: JobState,
    playlist: Playlist,
    pending: VecDeque<Pending>,
    gaps: Vec<Gap>,
    layout_changes: Vec<LayoutChange>,
    /// The next segment number: a restarted pipeline continues from here.
    next_index: u32,
    /// Wall-clock end of the last segment written; a gap is measured from it.
    last_end: Option<DateTime<Utc>>,
    /// Why the next segment follows a gap, if it does.
    gap_reason: Option<String>,
    /// The SFU taps of the running pipeline, stopped when it goes.
    taps: Vec<String>,
    error: String,
    mp4_bytes: u64,
    finalized: bool,
    /// Wall-clock time of the recording's timeline zero (every pipeline of the job shares it).
    started_at: DateTime<Utc>,
    /// Since when none of the people on air publishes in the SFU room; `None` while someone
    /// does or before the SFU first answered. Kept across a restart of the worker, so the
    /// recording service's grace period runs from when the room really emptied, not from the
    /// restart; the SFU's first answer after it clears the clock if someone publishes by then.
    /// (Manifests written before it was kept have none.)
    #[serde(default)]
    idle_since: Option<DateTime<Utc>>,
}

/// A job as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    pub spec: JobSpec,
    pub state: JobState,
    pub segments: u32,
    pub bytes: u64,
    pub duration_ms: u64,
    pub first_frame_at: Option<DateTime<Utc>>,
    pub gaps: Vec<Gap>,
    pub layout_changes: Vec<LayoutChange>,
    pub error: String,
    pub spooled: u32,
    pub inputs: Vec<(String, InputPorts)>,
    pub mp4_bytes: u64,
    /// The RTMP(S) destinations and how each is doing.
    pub outputs: Vec<OutputStatus>,
    /// Since when nobody on air publishes in the SFU room (`None`: someone does, or unknown).
    pub idle_since: Option<DateTime<Utc>>,
}

impl JobView {
    pub fn playlist_key(&self) -> String {
        format!("{}index.m3u8", self.spec.key_prefix)
    }
    pub fn mp4_key(&self) -> String {
        format!("{}recording.mp4", self.spec.key_prefix)
    }
    pub fn thumbnail_key(&self) -> String {
        format!("{}thumbnail.jpg", self.spec.key_prefix)
    }
}

pub enum Command {
    Update { layout: Option<LayoutKind>, on_air: Option<Vec<Participant>>, reply: oneshot::Sender<()> },
    Stop { reply: oneshot::Sender<bool> },
    AddOutput { id: String, url: RtmpUrl, reply: oneshot::Sender<bool> },
    RemoveOutput { id: String, reply: oneshot::Sender<bool> },
}

/// A running job's handle, held by the worker.
#[derive(Clone)]
pub struct JobHandle {
    pub commands: mpsc::Sender<Command>,
    pub view: watch::Receiver<JobView>,
}

/// What a job needs from its worker.
#[derive(Clone)]
pub struct JobContext {
    pub bucket: Bucket,
    pub spool_root: PathBuf,
    pub rtp_ip: std::net::IpAddr,
    pub taps: Taps,
    pub nats: Option<async_nats::Client>,
    pub metrics: Arc<Metrics>,
    /// Bytes of unuploaded segments a job may keep before it drops new ones (and says so).
    pub spool_limit: u64,
    /// How long a destination may stay disconnected, retrying, before it is failed.
    pub rtmp_retry_window: Duration,
    /// The trust for RTMPS destinations.
    pub rtmps: crate::rtmps::Tls,
}

pub fn job_dir(root: &Path, job_id: &str) -> PathBuf {
    root.join(job_id)
}

/// Starts a new job.
pub fn start(ctx: JobContext, spec: JobSpec) -> anyhow::Result<JobHandle> {
    let dir = job_dir(&ctx.spool_root, &spec.job_id);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating the spool directory {}", dir.display()))?;
    let manifest = Manifest {
        layout_changes: vec![LayoutChange { at_ms: 0, layout: spec.layout.clone() }],
        spec,
        state: JobState::Running,
        playlist: Playlist::default(),
        pending: VecDeque::new(),
        gaps: Vec::new(),
        next_index: 1,
        last_end: None,
        gap_reason: None,
        taps: Vec::new(),
        error: String::new(),
        mp4_bytes: 0,
        finalized: false,
        started_at: Utc::now(),
        idle_since: None,
    };
    Ok(spawn(ctx, manifest, dir))
}

/// Resumes every unfinished job found in the spool (after a restart of the worker).
pub fn resume_all(ctx: &JobContext) -> Vec<(String, JobHandle)> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&ctx.spool_root) else { return out };
    for d in dirs.flatten() {
        let path = d.path().join("job.json");
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let mut m: Manifest = match serde_json::from_slice(&bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot read a job's manifest; leaving it");
                continue;
            }
        };
        if m.finalized {
            continue;
        }
        if m.state == JobState::Running {
            m.gap_reason = Some("egress restarted".into());
        }
        tracing::info!(job = %m.spec.job_id, pending = m.pending.len(), "resuming a job after a restart");
        let id = m.spec.job_id.clone();
        out.push((id, spawn(ctx.clone(), m, d.path())));
    }
    out
}

fn spawn(ctx: JobContext, manifest: Manifest, dir: PathBuf) -> JobHandle {
    let (commands, rx) = mpsc::channel(16);
    let (view_tx, view) = watch::channel(view_of(&manifest, &[], Vec::new()));
    let job = Job {
        ctx,
        m: manifest,
        dir,
        view: view_tx,
        composite: None,
        inputs: Vec::new(),
        base_wall: Utc::now(),
        pipeline_segments: 0,
        feed: Feed::new(),
        keyframe_taps: HashMap::new(),
        keyframe_asked: HashMap::new(),
    };
    tokio::spawn(job.run(rx));
    JobHandle { commands, view }
}

fn view_of(m: &Manifest, inputs: &[(String, InputPorts)], outputs: Vec<OutputStatus>) -> JobView {
    JobView {
        spec: m.spec.clone(),
        state: m.state,
        segments: m.playlist.entries.len() as u32,
        bytes: m.playlist.bytes(),
        duration_ms: m.playlist.duration_ms(),
        first_frame_at: m.playlist.entries.first().map(|e| e.at),
        gaps: m.gaps.clone(),
        layout_changes: m.layout_changes.clone(),
        error: m.error.clone(),
        spooled: m.pending.len() as u32,
        inputs: inputs.to_vec(),
        mp4_bytes: m.mp4_bytes,
        outputs,
        idle_since: m.idle_since,
    }
}

struct Job {
    ctx: JobContext,
    m: Manifest,
    dir: PathBuf,
    view: watch::Sender<JobView>,
    composite: Option<Composite>,
    inputs: Vec<(String, InputPorts)>,
    /// Wall-clock time of the current pipeline's running time 0.
    base_wall: DateTime<Utc>,
    /// Segments the current pipeline has written.
    pipeline_segments: u32,
    /// The RTMP(S) destinations, fed from every pipeline the job builds.
    feed: Arc<Feed>,
    /// The tap behind each video input of the current pipeline, for keyframe requests.
    keyframe_taps: HashMap<(String, TileKind), String>,
    /// When each video input last asked for a keyframe.
    keyframe_asked: HashMap<(String, TileKind), Instant>,
}

type Upload = tokio::task::JoinHandle<Result<(), String>>;
/// Who publishes in the room, as the SFU answered (`None`: no SFU to ask).
type Presence = tokio::task::JoinHandle<Result<Option<HashSet<String>>, tonic::Status>>;

impl Job {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let id = self.m.spec.job_id.clone();
        self.ctx.metrics.jobs.inc();
        let mut restarts: VecDeque<Instant> = VecDeque::new();
        let mut bus: Option<gstreamer::bus::BusStream> = None;
        let mut upload: Option<(Upload, Pending)> = None;
        let mut retry_at = Instant::now();
        let mut failures = 0u32;
        let mut last_segment = Instant::now();
        let mut last_beat = Instant::now() - HEARTBEAT;
        let mut stop_replies: Vec<oneshot::Sender<bool>> = Vec::new();
        let mut stop_asked: Option<Instant> = None;
        let mut last_outputs = output_signature(&self.feed);
        let mut presence: Option<Presence> = None;
        let mut next_presence = Instant::now();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if self.m.state == JobState::Running {
            match self.build_pipeline().await {
                Ok(b) => {
                    bus = Some(b);
                    last_segment = Instant::now();
                }
                Err(e) => self.fail(&format!("the pipeline could not start: {e:#}")),
            }
        }
        self.publish();
        loop {
            tokio::select! {
                msg = async { bus.as_mut().expect("guarded").next().await }, if bus.is_some() => {
                    let Some(msg) = msg else { bus = None; continue };
                    let reports = self.composite.as_mut().map(|c| c.on_message(&msg)).unwrap_or_default();
                    let keyframes = self.composite.as_mut().map(|c| c.take_keyframe_requests()).unwrap_or_default();
                    for (user_id, kind) in keyframes {
                        self.ask_keyframe(user_id, kind);
                    }
                    for report in reports {
                        match report {
                            Report::Segment { index, path, start, duration } => {
                                last_segment = Instant::now();
                                self.segment_written(index, path, start, duration);
                            }
                            Report::Failed { reason } => {
                                bus = None;
                                self.restart_or_fail(&reason, &mut restarts, &mut bus, &mut last_segment).await;
                                break;
                            }
                            Report::Finished => {
                                tracing::info!(job = %id, "the pipeline drained");
                                bus = None;
                                self.teardown_pipeline().await;
                            }
                        }
                    }
                }
                cmd = commands.recv() => match cmd {
                    Some(Command::Update { layout, on_air, reply }) => {
                        self.update(layout, on_air).await;
                        let _ = reply.send(());
                    }
                    Some(Command::Stop { reply }) => {
                        if self.m.state != JobState::Running {
                            let _ = reply.send(false);
                            continue;
                        }
                        self.m.state = JobState::Stopping;
                        stop_asked = Some(Instant::now());
                        self.feed.stop_all();
                        self.save();
                        match self.composite.as_mut() {
                            // The last segment is closed by end-of-stream.
                            Some(c) => c.finish(),
                            None => bus = None,
                        }
                        stop_replies.push(reply);
                        self.publish();
                    }
                    Some(Command::AddOutput { id: output, url, reply }) => {
                        let added = self.m.state == JobState::Running
                            && self.feed.add(&output, url, self.ctx.rtmp_retry_window, self.ctx.rtmps.clone());
                        self.publish();
                        let _ = reply.send(added);
                    }
                    Some(Command::RemoveOutput { id: output, reply }) => {
                        let removed = self.feed.remove(&output);
                        self.publish();
                        let _ = reply.send(removed);
                    }
                    None => {}
                },
                res = async { (&mut upload.as_mut().expect("guarded").0).await }, if upload.is_some() => {
                    let (_, pending) = upload.take().expect("guarded");
                    match res.unwrap_or_else(|e| Err(format!("upload task: {e}"))) {
                        Ok(()) => {
                            failures = 0;
                            self.ctx.metrics.segments_uploaded.inc();
                            self.m.pending.pop_front();
                            self.m.playlist.push(pending.entry);
                            if self.m.error.starts_with("S3") {
                                self.m.error.clear();
                            }
                            self.save();
                            self.publish();
                        }
                        Err(e) => {
                            failures += 1;
                            self.ctx.metrics.upload_failures.inc();
                            let wait = Duration::from_millis(250u64 << failures.min(5)).min(Duration::from_secs(8));
                            retry_at = Instant::now() + wait;
                            self.m.error = format!("S3 upload failing ({} segments spooled, retrying): {e}", self.m.pending.len());
                            tracing::warn!(job = %id, error = %e, retry_in = ?wait, "segment upload failed");
                            self.publish();
                        }
                    }
                }
                res = async { (&mut presence.as_mut().expect("guarded")).await }, if presence.is_some() => {
                    presence = None;
                    next_presence = Instant::now() + PRESENCE_EVERY;
                    match res {
                        Ok(Ok(Some(publishing))) => self.on_presence(&publishing),
                        Ok(Ok(None)) => {}
                        // Unknown is not idle: the clock neither starts nor stops while the SFU
                        // does not answer.
                        Ok(Err(e)) => tracing::debug!(job = %id, error = %e, "cannot ask the SFU who publishes"),
                        Err(e) => tracing::warn!(job = %id, error = %e, "the presence task failed"),
                    }
                }
                _ = tick.tick() => {
                    if let Some(c) = self.composite.as_mut() {
                        c.refresh();
                    }
                    if presence.is_none() && self.m.state == JobState::Running && self.ctx.taps.has_sfu() && Instant::now() >= next_presence {
                        let (taps, room) = (self.ctx.taps.clone(), self.m.spec.room.clone());
                        presence = Some(tokio::spawn(async move { taps.publishers(&room).await }));
                    }
                    if upload.is_none() && Instant::now() >= retry_at && let Some(p) = self.m.pending.front().cloned() {
                        upload = Some((self.upload(&p), p));
                    }
                    if self.m.state == JobState::Running && bus.is_some() && last_segment.elapsed() > STALL {
                        bus = None;
                        self.restart_or_fail("the HLS output stalled (no segment)", &mut restarts, &mut bus, &mut last_segment).await;
                    }
                    if bus.is_some() && stop_asked.is_some_and(|t| t.elapsed() > Duration::from_secs(10)) {
                        // End-of-stream did not come through: close without it (the segments
                        // written so far are complete files).
                        tracing::warn!(job = %id, "no end-of-stream 10 s after stopping; closing the pipeline");
                        bus = None;
                    }
                    if self.m.state == JobState::Running && bus.is_none() && self.composite.is_none() && !self.m.finalized {
                        // A pipeline lost without a report (its bus closed): bring it back.
                        self.restart_or_fail("the pipeline stopped", &mut restarts, &mut bus, &mut last_segment).await;
                    }
                    if matches!(self.m.state, JobState::Stopping | JobState::Failed)
                        && bus.is_none()
                        && upload.is_none()
                        && self.m.pending.is_empty()
                        && !self.m.finalized
                    {
                        self.teardown_pipeline().await;
                        match self.finalize().await {
                            Ok(()) => {
                                if self.m.state == JobState::Stopping && self.m.spec.record && self.m.playlist.entries.is_empty() {
                                    // Nothing to play is not a recording: say so.
                                    self.m.state = JobState::Failed;
                                    self.m.error = "nothing was recorded: the pipeline produced no segment".into();
                                } else if self.m.state == JobState::Stopping {
                                    self.m.state = JobState::Finished;
                                }
                                self.m.finalized = true;
                                self.save();
                                self.publish();
                                for r in stop_replies.drain(..) {
                                    let _ = r.send(true);
                                }
                                self.cleanup();
                                break;
                            }
                            Err(e) => {
                                tracing::warn!(job = %id, error = %e, "finishing the recording failed; retrying");
                                retry_at = Instant::now() + Duration::from_secs(2);
                                self.m.error = format!("S3: finishing the recording failed, retrying: {e}");
                                self.publish();
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }
                    let outputs = output_signature(&self.feed);
                    if last_beat.elapsed() >= HEARTBEAT || outputs != last_outputs {
                        last_beat = Instant::now();
                        last_outputs = outputs;
                        self.publish();
                    }
                }
            }
        }
        self.feed.stop_all();
        self.ctx.metrics.jobs.dec();
        tracing::info!(job = %id, state = self.m.state.as_str(), "job ended");
    }

    async fn build_pipeline(&mut self) -> anyhow::Result<gstreamer::bus::BusStream> {
        let spec = composite::Spec {
            quality: Quality::parse(&self.m.spec.quality).unwrap_or_default(),
            layout: LayoutKind::parse(&self.m.spec.layout).unwrap_or_default(),
            dir: self.dir.clone(),
            first_segment: self.m.next_index,
            rtp_ip: self.ctx.rtp_ip,
        };
        let mut c = Composite::build(spec)?;
        self.feed.attach(c.pipeline(), &c.video_tee, &c.audio_tee)?;
        let bus = c.bus().stream();
        c.start()?;
        self.base_wall = Utc::now();
        self.pipeline_segments = 0;
        self.inputs.clear();
        for (user_id, name) in self.m.spec.on_air.clone() {
            let ports = c.add(Participant { user_id: user_id.clone(), name })?;
            self.inputs.push((user_id, ports));
        }
        self.composite = Some(c);
        for (user_id, ports) in self.inputs.clone() {
            self.tap(&user_id, ports).await;
        }
        self.save();
        Ok(bus)
    }

    async fn tap(&mut self, user_id: &str, ports: InputPorts) {
        match self.ctx.taps.start(&self.m.spec.room, user_id, ports).await {
            Ok(tapped) => {
                for (source, tap_id) in tapped.taps {
                    let kind = match source.as_str() {
                        "camera" => Some(TileKind::Person),
                        "screen" => Some(TileKind::Screen),
                        _ => None,
                    };
                    if let Some(kind) = kind {
                        self.keyframe_taps.insert((user_id.to_owned(), kind), tap_id.clone());
                    }
                    self.m.taps.push(tap_id);
                }
                for (source, codec) in tapped.codecs {
                    let kind = match source.as_str() {
                        "camera" => TileKind::Person,
                        "screen" => TileKind::Screen,
                        _ => continue,
                    };
                    if let (Some(codec), Some(c)) = (VideoCodec::parse(&codec), self.composite.as_mut())
                        && let Err(e) = c.set_video_codec(user_id, kind, codec)
                    {
                        tracing::warn!(job = %self.m.spec.job_id, user = user_id, error = %e, "cannot switch an input's codec");
                    }
                }
            }
            Err(e) => {
                // The person's tile shows their initials until a later update taps them again.
                tracing::warn!(job = %self.m.spec.job_id, user = user_id, error = %e, "cannot tap a participant at the SFU");
            }
        }
    }

    async fn teardown_pipeline(&mut self) {
        if let Some(c) = self.composite.take() {
            // Stopping a pipeline waits for its streaming threads; one stuck in a network or
            // mixer call must not freeze the job (its uploads, its finish), so it is stopped
            // off the async threads and given a bound.
            if !crate::off_thread(Duration::from_secs(10), move || c.stop()).await {
                tracing::error!(job = %self.m.spec.job_id, "the pipeline did not stop within 10 s; left behind");
            }
        }
        let taps = std::mem::take(&mut self.m.taps);
        self.ctx.taps.stop_all(&taps).await;
        self.keyframe_taps.clear();
        self.inputs.clear();
        self.save();
    }

    async fn restart_or_fail(
        &mut self,
        reason: &str,
        restarts: &mut VecDeque<Instant>,
        bus: &mut Option<gstreamer::bus::BusStream>,
        last_segment: &mut Instant,
    ) {
        tracing::warn!(job = %self.m.spec.job_id, reason, "pipeline failed; restarting it");
        self.ctx.metrics.pipeline_restarts.inc();
        self.teardown_pipeline().await;
        if self.m.state != JobState::Running {
            return;
        }
        let now = Instant::now();
        while restarts.front().is_some_and(|t| now.duration_since(*t) > RESTART_WINDOW) {
            restarts.pop_front();
        }
        if restarts.len() >= MAX_RESTARTS {
            self.fail(&format!("the pipeline failed {MAX_RESTARTS} times in a minute; last: {reason}"));
            return;
        }
        restarts.push_back(now);
        // A pipeline that failed before its first segment lost nothing of a recording that has
        // not begun (the recording starts with its first stored frame), and after a resume the
        // reason already waiting (the worker's restart) is the one that explains the gap.
        if self.pipeline_segments > 0 || (self.m.gap_reason.is_none() && self.m.last_end.is_some()) {
            self.m.gap_reason = Some(format!("pipeline restarted: {reason}"));
        }
        match self.build_pipeline().await {
            Ok(b) => {
                *bus = Some(b);
                *last_segment = Instant::now();
            }
            Err(e) => self.fail(&format!("the pipeline could not restart: {e:#}")),
        }
        self.publish();
    }

    /// A video input lost RTP (its depayloader asked for a keyframe): asks the SFU to have the
    /// publisher send one, at most every [`KEYFRAME_ASK_EVERY`] per input, without holding the job.
    fn ask_keyframe(&mut self, user_id: String, kind: TileKind) {
        let key = (user_id, kind);
        let Some(tap_id) = self.keyframe_taps.get(&key).cloned() else { return };
        let now = Instant::now();
        if self.keyframe_asked.get(&key).is_some_and(|t| now.duration_since(*t) < KEYFRAME_ASK_EVERY) {
            return;
        }
        self.keyframe_asked.insert(key.clone(), now);
        self.ctx.metrics.keyframe_requests.inc();
        let (taps, job) = (self.ctx.taps.clone(), self.m.spec.job_id.clone());
        tracing::debug!(job = %job, user = %key.0, ?kind, "an input lost RTP: asking the publisher for a keyframe");
        tokio::spawn(async move {
            if let Err(e) = taps.request_keyframe(&tap_id).await {
                tracing::warn!(job = %job, tap = %tap_id, error = %e, "cannot ask the SFU for a keyframe");
            }
        });
    }

    /// The SFU answered who publishes in the room: starts or clears the idle clock.
    fn on_presence(&mut self, publishing: &HashSet<String>) {
        if self.m.state != JobState::Running {
            return;
        }
        let someone = self.m.spec.on_air.iter().any(|(user, _)| publishing.contains(user));
        let idle_since = if someone { None } else { self.m.idle_since.or_else(|| Some(Utc::now())) };
        if idle_since != self.m.idle_since {
            if someone {
                tracing::info!(job = %self.m.spec.job_id, "someone on air publishes again");
            } else {
                tracing::info!(job = %self.m.spec.job_id, "nobody on air publishes in the room");
            }
            self.m.idle_since = idle_since;
            self.save();
            self.publish();
        }
    }

    fn fail(&mut self, reason: &str) {
        tracing::error!(job = %self.m.spec.job_id, reason, "job failed");
        self.m.state = JobState::Failed;
        self.m.error = reason.to_owned();
        self.save();
        self.publish();
    }

    fn segment_written(&mut self, index: u32, path: PathBuf, start: Duration, duration: Duration) {
        self.pipeline_segments += 1;
        if !self.m.spec.record {
            // Restreaming only: the segment proved the pipeline alive; nothing is stored.
            self.m.next_index = self.m.next_index.max(index + 1);
            let _ = std::fs::remove_file(&path);
            return;
        }
        let at = self.base_wall + chrono::Duration::from_std(start).unwrap_or_default();
        let end = at + chrono::Duration::from_std(duration).unwrap_or_default();
        let mut discontinuity = false;
        if let Some(reason) = self.m.gap_reason.take()
            && let Some(last_end) = self.m.last_end
        {
            let gap = (at - last_end).num_milliseconds().max(0) as u64;
            let at_ms = self.m.playlist.duration_ms() + self.m.pending.iter().map(|p| p.entry.duration_ms).sum::<u64>();
            tracing::warn!(job = %self.m.spec.job_id, gap_ms = gap, reason, "gap in the recording");
            self.m.gaps.push(Gap { at_ms, duration_ms: gap, reason });
            discontinuity = true;
        }
        self.m.next_index = self.m.next_index.max(index + 1);
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let spooled: u64 = self.m.pending.iter().map(|p| p.entry.bytes).sum();
        if spooled + bytes > self.ctx.spool_limit {
            // Nothing more fits: say so loudly, keep what is spooled, and record the loss as a gap.
            self.ctx.metrics.spool_full.set(1);
            self.m.error = format!("spool full ({spooled} bytes waiting for S3): new segments are dropped until uploads resume");
            tracing::error!(job = %self.m.spec.job_id, spooled, "spool full: dropping a segment");
            let _ = std::fs::remove_file(&path);
            self.m.gap_reason = Some("spool full: S3 unreachable".into());
            self.publish();
            return;
        }
        self.ctx.metrics.spool_full.set(0);
        if self.m.error.starts_with("spool full") {
            self.m.error.clear();
        }
        // Only a kept segment moves the end: the time of dropped ones is part of the next gap.
        self.m.last_end = Some(end);
        let duration_ms = duration.as_millis() as u64;
        self.m.pending.push_back(Pending { entry: Entry { index, duration_ms, at, discontinuity, bytes }, path });
        self.save();
    }

    fn upload(&self, p: &Pending) -> Upload {
        let bucket = self.ctx.bucket.clone();
        let prefix = self.m.spec.key_prefix.clone();
        let mut playlist = self.m.playlist.clone();
        playlist.push(p.entry.clone());
        let p = p.clone();
        tokio::spawn(async move {
            let key = format!("{prefix}{}", segment_name(p.entry.index));
            bucket.put_file(&key, &p.path, "video/mp2t").await.map_err(|e| e.to_string())?;
            // The playlist names the segment only now that it is stored.
            bucket
                .put(&format!("{prefix}index.m3u8"), playlist.render().into(), "application/vnd.apple.mpegurl")
                .await
                .map_err(|e| e.to_string())
        })
    }

    async fn update(&mut self, layout: Option<LayoutKind>, on_air: Option<Vec<Participant>>) {
        if self.m.state != JobState::Running {
            return;
        }
        if let Some(layout) = layout
            && layout.as_str() != self.m.spec.layout
        {
            self.m.spec.layout = layout.as_str().to_owned();
            let at_ms = self.m.playlist.duration_ms() + self.m.pending.iter().map(|p| p.entry.duration_ms).sum::<u64>();
            self.m.layout_changes.push(LayoutChange { at_ms, layout: layout.as_str().to_owned() });
            if let Some(c) = self.composite.as_mut() {
                c.set_layout(layout);
            }
        }
        if let Some(on_air) = on_air {
            self.m.spec.on_air = on_air.iter().map(|p| (p.user_id.clone(), p.name.clone())).collect();
            if let Some(mut c) = self.composite.take() {
                let gone: Vec<String> =
                    self.inputs.iter().map(|(u, _)| u.clone()).filter(|u| !on_air.iter().any(|p| &p.user_id == u)).collect();
                for u in &gone {
                    c.remove(u);
                    self.keyframe_taps.retain(|(user, _), _| user != u);
                }
                self.inputs.retain(|(u, _)| !gone.contains(u));
                let mut added = Vec::new();
                for p in on_air {
                    let new = !self.inputs.iter().any(|(u, _)| *u == p.user_id);
                    match c.add(p.clone()) {
                        Ok(ports) if new => added.push((p.user_id, ports)),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(job = %self.m.spec.job_id, error = %e, "cannot add a participant"),
                    }
                }
                self.composite = Some(c);
                // Taps of people who left stop with the pipeline's next teardown; their UDP ports
                // are closed, so nothing more is decoded.
                for (user_id, ports) in added {
                    self.inputs.push((user_id.clone(), ports));
                    self.tap(&user_id, ports).await;
                }
            }
        }
        self.save();
        self.publish();
    }

    /// After the last upload: the playlist is closed, the MP4 and the thumbnail are stored.
    async fn finalize(&mut self) -> anyhow::Result<()> {
        if !self.m.spec.record {
            return Ok(());
        }
        let prefix = self.m.spec.key_prefix.clone();
        let bucket = self.ctx.bucket.clone();
        if !self.m.playlist.entries.is_empty() {
            let mp4 = self.dir.join("recording.mp4");
            if !mp4.exists() {
                // One run per stretch without a discontinuity.
                let mut runs: Vec<Vec<PathBuf>> = Vec::new();
                for e in &self.m.playlist.entries {
                    if e.discontinuity || runs.is_empty() {
                        runs.push(Vec::new());
                    }
                    if let Some(run) = runs.last_mut() {
                        run.push(self.dir.join(segment_name(e.index)));
                    }
                }
                let out = mp4.clone();
                let started = Instant::now();
                tracing::info!(job = %self.m.spec.job_id, runs = runs.len(), "building the MP4");
                let built = tokio::task::spawn_blocking(move || crate::mp4::remux(&runs, &out)).await;
                if let Err(e) = built.map_err(anyhow::Error::from).and_then(|r| r) {
                    // The HLS recording stands without it; say why the download is missing.
                    tracing::error!(job = %self.m.spec.job_id, error = %e, "the MP4 could not be built");
                    self.m.error = format!("the MP4 could not be built ({e:#}); the recording plays as HLS");
                } else {
                    tracing::info!(job = %self.m.spec.job_id, took = ?started.elapsed(), "MP4 built");
                }
            }
            if mp4.exists() {
                self.m.mp4_bytes = bucket.put_file(&format!("{prefix}recording.mp4"), &mp4, "video/mp4").await?;
            }
            let thumb = self.dir.join("thumbnail.jpg");
            if let Ok(bytes) = tokio::fs::read(&thumb).await {
                bucket.put(&format!("{prefix}thumbnail.jpg"), bytes.into(), "image/jpeg").await?;
            }
        }
        let mut playlist = self.m.playlist.clone();
        playlist.ended = true;
        bucket.put(&format!("{prefix}index.m3u8"), playlist.render().into(), "application/vnd.apple.mpegurl").await?;
        self.m.playlist.ended = true;
        Ok(())
    }

    /// Local files go once everything is stored; the manifest stays (finalized) for lookups.
    fn cleanup(&self) {
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                if e.file_name() != "job.json" {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    fn save(&self) {
        let tmp = self.dir.join("job.json.tmp");
        let result = serde_json::to_vec(&self.m)
            .map_err(anyhow::Error::from)
            .and_then(|bytes| std::fs::write(&tmp, bytes).map_err(anyhow::Error::from))
            .and_then(|()| std::fs::rename(&tmp, self.dir.join("job.json")).map_err(anyhow::Error::from));
        if let Err(e) = result {
            tracing::error!(job = %self.m.spec.job_id, error = %e, "cannot save the job's manifest");
        }
        let _ = self.view.send(view_of(&self.m, &self.inputs, self.feed.statuses()));
    }

    fn publish(&self) {
        let view = view_of(&self.m, &self.inputs, self.feed.statuses());
        let _ = self.view.send(view.clone());
        self.ctx.metrics.spooled_segments.set(self.m.pending.len() as i64);
        if let Some(nats) = self.ctx.nats.clone() {
            tokio::spawn(crate::bus::publish_job(nats, view));
        }
    }
}

/// What changes when a destination changes state (not its bitrate): a change is published at once.
fn output_signature(feed: &Feed) -> Vec<(String, &'static str, u32)> {
    feed.statuses().into_iter().map(|o| (o.id, o.state.as_str(), o.retries)).collect()
}
