//! The SFU core, sans-IO: peers (one str0m [`Rtc`] each), the rooms they are in, and the
//! forwarding of media between them. It owns no socket, no clock and no thread: the caller feeds
//! it datagrams and time and sends the datagrams it returns, so tests drive it with a simulated
//! network at full speed (tests/sfu.rs) and [`crate::worker`] drives it with a UDP socket.
//!
//! Invariants:
//! - a peer only ever receives a track from another peer in the same room, and only while its
//!   grants say `subscribe`;
//! - a track is only ever forwarded while its publisher's grants allow its source and nobody
//!   (server or publisher) has muted it;
//! - every call that mutates a peer is followed by draining that peer's output until str0m
//!   reports a timeout (str0m's rule): a received datagram's peer at once, in
//!   [`Sfu::handle_receive`] (in RTP mode str0m holds only one received packet), the rest in
//!   [`Sfu::poll`].
use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    fmt,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use stagecast_authn::{MediaClaims, MediaGrants, TrackSource};
use str0m::{
    Candidate, Event, IceConnectionState, Input, Output, Rtc,
    change::{SdpAnswer, SdpOffer, SdpPendingOffer},
    channel::{ChannelData, ChannelId},
    format::{Codec, PayloadParams},
    media::{Direction, KeyframeRequestKind, MediaKind, Mid, Pt},
    net::{Protocol, Receive, Transmit},
    rtp::{ExtensionValues, RtpPacket, RtpWrite, Ssrc, VideoOrientation},
};

use crate::{
    rewrite::{LossWatch, OutStream, Source},
    sdp::{OfferSummary, SectionKind},
    signal::{ClientMessage, ParticipantView, ServerMessage, TrackView},
    tap::{RtpStream, TapCodec},
};

mod control;
mod direct;
mod loudest;
mod signalling;
mod speakers;
mod taps;

use control::sees;
pub use loudest::DEFAULT_LOUDEST_AUDIO;
use loudest::RoomLoudest;
use signalling::SignalBudget;
use taps::{Tap, tap_codec};
pub use taps::{TapId, TapInfo};

/// A peer that has not completed ICE + DTLS by then is dropped.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time given to a `bye` message to leave before the connection is closed.
const BYE_GRACE: Duration = Duration::from_millis(300);
/// At most one keyframe request per published track in this interval.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);
/// The largest signalling message: an offer as large as the HTTP join accepts, plus its JSON.
pub const MAX_SIGNAL_BYTES: usize = crate::sdp::MAX_OFFER_BYTES + 4096;

/// One connection to the SFU: a browser participant, a WHIP publisher or a WHEP viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(u64);

impl PeerId {
    fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.strip_prefix("p").and_then(|n| n.parse().ok()).map(Self)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    /// A full participant: publishes and subscribes, signals over the `signal` data channel.
    Participant,
    /// WHIP (RFC 9725): publishes only, one offer, no data channel.
    Whip,
    /// WHEP: receives the room's current video and audio, one offer, no renegotiation.
    Whep,
}

/// A join, after the caller verified the media token.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub claims: MediaClaims,
    pub offer: String,
    /// m-line → what it carries, for every m-line the client sends on.
    pub sources: BTreeMap<String, TrackSource>,
    pub kind: ConnectionKind,
}

#[derive(Debug, Clone)]
pub struct Joined {
    pub peer: PeerId,
    pub answer: String,
}

/// Why an offer was refused. Each has a stable code for the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    #[error("{0}")]
    BadSdp(String),
    #[error("{0}")]
    TrackNotAllowed(String),
    #[error("{0}")]
    UnsupportedCodec(String),
    #[error("{0}")]
    NotAllowed(String),
    /// Kicked or banned after the token was minted.
    #[error("you were removed from this room after this media token was issued; ask for a new one")]
    Removed,
}

impl OfferError {
    pub fn code(&self) -> &'static str {
        match self {
            OfferError::BadSdp(_) => "bad_sdp",
            OfferError::TrackNotAllowed(_) => "track_not_allowed",
            OfferError::UnsupportedCodec(_) => "unsupported_codec",
            OfferError::NotAllowed(_) => "not_allowed",
            OfferError::Removed => "removed",
        }
    }
}

/// What happened in a room, for the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    ParticipantJoined { room: String, peer: PeerId, user_id: String, name: String },
    ParticipantLeft { room: String, peer: PeerId, user_id: String, reason: String },
    TrackPublished { room: String, peer: PeerId, user_id: String, track: TrackInfo },
    TrackUnpublished { room: String, peer: PeerId, user_id: String, track: TrackInfo },
    TrackMuted { room: String, peer: PeerId, user_id: String, track: TrackInfo, by_server: bool },
    ActiveSpeaker { room: String, peer: Option<PeerId>, user_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInfo {
    pub source: TrackSource,
    pub kind: &'static str,
    pub muted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantInfo {
    pub peer: PeerId,
    pub user_id: String,
    pub name: String,
    pub grants: MediaGrants,
    pub tracks: Vec<TrackInfo>,
    pub connected: bool,
}

/// How a worker's SFU forwards: the settings operators choose (`MEDIA_LOUDEST_AUDIO`,
/// `MEDIA_DIRECT_AUDIO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forwarding {
    /// Participants hear a room's this many loudest speakers; 0 for every one.
    pub loudest_audio: usize,
    /// Forwarded audio is sealed and sent by the SFU itself (`direct`), not by str0m.
    pub direct_audio: bool,
}

impl Default for Forwarding {
    fn default() -> Self {
        Self { loudest_audio: DEFAULT_LOUDEST_AUDIO, direct_audio: true }
    }
}

/// Peers whose str0m timer is handled per [`Sfu::handle_timeout`] (see there).
const TIMEOUTS_PER_CALL: usize = 32;

/// Codecs of every room: VP8 and H.264 (OBS sends only H.264), Opus. The SFU does not
/// transcode, so a subscriber receives whatever its publisher sends.
///
/// Every peer is in str0m's RTP mode: the SFU forwards RTP packets as they arrive (a new header
/// per subscriber, the payload shared) instead of having str0m depacketize each frame from the
/// publisher and packetize it again for every subscriber.
///
/// Transport-wide congestion control (TWCC) is negotiated only with peers that may publish: it
/// feeds their browser's send-side bandwidth estimate. The SFU does no bandwidth estimation
/// towards subscribers (no simulcast layers to choose between), so TWCC there would only cost a
/// sequence number per sent packet and a feedback report to parse: a quarter of the forwarding
/// CPU per video packet in bench/src/bin/sfu_forward.rs. An audience member promoted later keeps
/// the connection it joined with: its uplink estimate falls back to loss-based.
///
/// Its DTLS handshake's SRTP key also reaches the returned [`direct::Direct`], which sends
/// forwarded audio without str0m (see that module).
fn rtc_for(now: Instant, publishes: bool) -> (Rtc, direct::Direct) {
    let builder = Rtc::builder().set_rtp_mode(true).clear_codecs().enable_opus(true, false).enable_vp8(true).enable_h264(true);
    if publishes {
        return direct::rtc_with_key_tap(builder, now);
    }
    let mut exts = str0m::rtp::ExtensionMap::empty();
    for (id, e) in str0m::rtp::ExtensionMap::standard().iter() {
        if *e != str0m::rtp::Extension::TransportSequenceNumber {
            exts.set(id, e.clone());
        }
    }
    direct::rtc_with_key_tap(builder.set_extension_map(exts), now)
}

fn supported(kind: SectionKind, codec: &str) -> bool {
    match kind {
        SectionKind::Audio => codec == "opus",
        SectionKind::Video => codec == "vp8" || codec == "h264",
        SectionKind::Application => true,
    }
}

fn kind_str(kind: MediaKind) -> &'static str {
    if kind == MediaKind::Audio { "audio" } else { "video" }
}

#[derive(Debug)]
struct TrackIn {
    mid: Mid,
    kind: MediaKind,
    source: TrackSource,
    muted_by_server: bool,
    muted_by_client: bool,
    last_keyframe_request: Option<Instant>,
    /// The codec of the last packet received, for taps.
    codec: Option<TapCodec>,
    /// The SSRC the publisher sends this track with (learnt from its packets).
    ssrc: Option<Ssrc>,
    /// The parameters of the payload type last received, resolved once per change of type.
    params: Option<PayloadParams>,
    /// Video only: packets lost for good call for a keyframe.
    loss: LossWatch,
    /// Its packets carry an RFC 6464 level, so it is ranked among the room's loudest.
    levels: bool,
    /// The newest sequence number received.
    highest: u64,
    /// Packets newer than every one before them that were held back from participants (not
    /// among the loudest): later packets go out this much lower, so a receiver sees no gap. A
    /// packet reordered across a held-back one may go out on a number already used; the
    /// receiver drops it as a duplicate, which for late audio is what its jitter buffer would
    /// have done anyway.
    held_back: u64,
}

impl TrackIn {
    fn muted(&self) -> bool {
        self.muted_by_server || self.muted_by_client
    }

    fn info(&self) -> TrackInfo {
        TrackInfo { source: self.source, kind: kind_str(self.kind), muted: self.muted() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutState {
    ToOpen,
    Negotiating(Mid),
    Open(Mid),
    ToStop(Mid),
    NegotiatingStop(Mid),
}

#[derive(Debug)]
struct TrackOut {
    origin: PeerId,
    origin_mid: Mid,
    kind: MediaKind,
    state: OutState,
    out: OutStream,
    direct: direct::DirectTrack,
}

impl TrackOut {
    fn new(origin: PeerId, origin_mid: Mid, kind: MediaKind) -> Self {
        Self { origin, origin_mid, kind, state: OutState::ToOpen, out: OutStream::default(), direct: Default::default() }
    }
}

impl TrackOut {
    fn open_mid(&self) -> Option<Mid> {
        match self.state {
            OutState::Open(m) => Some(m),
            _ => None,
        }
    }
}

/// A WHEP viewer's m-line of one kind and the room track currently bound to it.
struct WhepSlot {
    kind: MediaKind,
    mid: Mid,
    bound: Option<(PeerId, Mid)>,
    /// Rebinding changes the source behind the slot's stream; the viewer sees one stream.
    out: OutStream,
    direct: direct::DirectTrack,
}

struct Peer {
    id: PeerId,
    room: String,
    user_id: String,
    name: String,
    avatar: String,
    grants: MediaGrants,
    /// When the token this peer joined with was minted (unix seconds): a stage change made
    /// before it is already in the token's grants, so a late copy of that change leaves the peer be.
    token_iat: i64,
    kind: ConnectionKind,
    rtc: Rtc,
    /// Forwarded audio sent without str0m, once the connection's key and path are known.
    direct: direct::Direct,
    joined_at: Instant,
    connected: bool,
    announced: bool,
    channel: Option<ChannelId>,
    pending: Option<SdpPendingOffer>,
    declared: BTreeMap<String, TrackSource>,
    tracks_in: Vec<TrackIn>,
    tracks_out: Vec<TrackOut>,
    /// WHEP: the m-line for each kind, and the room track bound to it.
    whep_slots: Vec<WhepSlot>,
    /// Messages for the data channel, queued until it opens.
    outbox: VecDeque<String>,
    state_dirty: bool,
    close_at: Option<Instant>,
    close_reason: String,
    /// Smoothed RFC 6464 level of the microphone, in -dBov (0 loud, -127 silent).
    level: f32,
    /// When str0m last asked to be woken; only peers that are due get a timeout.
    due: Instant,
    /// Something touched this peer's `Rtc` since it was last drained: poll it. Peers nobody
    /// touched keep their `due` and are not polled, so a wake-up costs what it changed, not
    /// the number of peers.
    dirty: bool,
    signal_budget: SignalBudget,
}

impl Peer {
    fn visible(&self) -> bool {
        !self.grants.hidden && self.kind != ConnectionKind::Whep
    }

    /// Listed in the room's `state`: someone on the stage (allowed to publish, or publishing).
    /// The audience is not: in a Space of a thousand listeners, every listener's state would
    /// list a thousand people and every join would send it to all of them (the state's size
    /// times the room's, per join). Each listener's state still lists themself.
    fn listed(&self) -> bool {
        self.visible() && (!self.grants.publish.is_empty() || !self.tracks_in.is_empty())
    }

    fn send(&mut self, msg: &ServerMessage) {
        if self.kind != ConnectionKind::Participant {
            return;
        }
        self.outbox.push_back(msg.to_json());
        self.flush_outbox();
        self.dirty = true;
    }

    fn flush_outbox(&mut self) {
        // Most polls have nothing to send, and looking the channel up costs an SCTP stream search.
        if self.outbox.is_empty() {
            return;
        }
        let Some(cid) = self.channel else { return };
        let Some(mut ch) = self.rtc.channel(cid) else { return };
        while let Some(msg) = self.outbox.front() {
            match ch.write(false, msg.as_bytes()) {
                Ok(true) => {
                    self.outbox.pop_front();
                }
                // Buffer full: try again on the next poll.
                Ok(false) => break,
                Err(e) => {
                    tracing::debug!(peer = %self.id, error = %e, "data channel write failed");
                    self.outbox.clear();
                    break;
                }
            }
        }
    }

    /// Refuses an offer whose new sending m-lines the grants do not allow.
    fn check_offer(&self, summary: &OfferSummary, sources: &BTreeMap<String, TrackSource>) -> Result<(), OfferError> {
        for s in &summary.sections {
            if s.kind == SectionKind::Application {
                continue;
            }
            let known = self.tracks_in.iter().any(|t| t.mid.to_string() == s.mid) || self.declared.contains_key(&s.mid);
            if s.offerer_sends && !known {
                if self.kind == ConnectionKind::Whep {
                    return Err(OfferError::BadSdp("a WHEP offer must only receive (recvonly m-lines)".into()));
                }
                let source = match (sources.get(&s.mid), self.kind) {
                    (Some(src), _) => *src,
                    (None, ConnectionKind::Whip) => default_source(s.kind),
                    (None, _) => {
                        return Err(OfferError::TrackNotAllowed(format!(
                            "m-line {} sends media but `sources` does not say what it is (camera, microphone, screen, screen_audio)",
                            s.mid
                        )));
                    }
                };
                if source.is_video() != (s.kind == SectionKind::Video) {
                    return Err(OfferError::TrackNotAllowed(format!(
                        "m-line {} is {} but is labelled {}",
                        s.mid,
                        if s.kind == SectionKind::Video { "video" } else { "audio" },
                        source.as_str()
                    )));
                }
                if !self.grants.may_publish(source) {
                    return Err(OfferError::TrackNotAllowed(format!(
                        "your media token does not allow publishing {}; ask a host to bring you on stage",
                        source.as_str()
                    )));
                }
            }
            if (s.offerer_sends || s.offerer_receives) && !s.codecs.iter().any(|c| supported(s.kind, c)) {
                return Err(OfferError::UnsupportedCodec(format!(
                    "m-line {} offers {} but this server forwards only {}",
                    s.mid,
                    if s.codecs.is_empty() { "no codec".to_owned() } else { s.codecs.join(", ") },
                    if s.kind == SectionKind::Video { "VP8 and H.264" } else { "Opus" }
                )));
            }
        }
        Ok(())
    }
}

fn default_source(kind: SectionKind) -> TrackSource {
    if kind == SectionKind::Video { TrackSource::Camera } else { TrackSource::Microphone }
}

/// One received RTP packet on its way to subscribers: what of its header matters to them, and
/// its payload, shared by every copy.
struct Forward {
    origin: PeerId,
    mid: Mid,
    kind: MediaKind,
    ssrc: u32,
    /// Extended sequence number.
    seq: u64,
    timestamp: u32,
    marker: bool,
    pt: Pt,
    params: PayloadParams,
    audio_level: Option<i8>,
    voice_activity: Option<bool>,
    video_orientation: Option<VideoOrientation>,
    payload: Arc<[u8]>,
    arrival: Instant,
    /// Participants get this packet (it is among the room's loudest speakers, or not ranked).
    to_participants: bool,
    /// The sequence number participants get: `seq` less the packets held back before it.
    participant_seq: u64,
}

impl Forward {
    fn source(&self) -> Source {
        Source { peer: self.origin, ssrc: self.ssrc }
    }

    /// The header extensions a subscriber gets: the publisher's audio level (for its own
    /// active-speaker display) and video orientation (or the picture shows sideways). str0m adds
    /// the transport ones (MID, send time) for each subscriber itself.
    fn ext_vals(&self) -> ExtensionValues {
        ExtensionValues {
            audio_level: self.audio_level,
            voice_activity: self.voice_activity,
            video_orientation: self.video_orientation,
            ..Default::default()
        }
    }
}

/// Wall-clock seconds, the unit of token times.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The receiver's payload type for a publisher's codec, among those its m-line negotiated.
fn subscriber_pt(rtc: &Rtc, mid: Mid, params: &PayloadParams) -> Option<Pt> {
    let negotiated = rtc.media(mid)?.remote_pts();
    let config = rtc.codec_config();
    if let Some(p) = config.match_params(*params).filter(|p| negotiated.contains(&p.pt())) {
        return Some(p.pt());
    }
    // The closest match in the whole configuration may be one this m-line left out; a
    // negotiated one of the same codec, clock rate and H.264 packetization mode and profile
    // carries the same packets.
    let (a, fa) = (params.spec(), params.spec().format);
    config
        .params()
        .iter()
        .find(|p| {
            let (b, fb) = (p.spec(), p.spec().format);
            negotiated.contains(&p.pt())
                && b.codec == a.codec
                && b.clock_rate == a.clock_rate
                && fb.packetization_mode == fa.packetization_mode
                && fb.profile_level_id == fa.profile_level_id
        })
        .map(|p| p.pt())
}

/// Work handed from one peer to the others while polling.
// Media is nearly every item; boxing it would add an allocation per forwarded packet.
#[allow(clippy::large_enum_variant)]
enum Propagated {
    TrackOpen(PeerId, Mid, MediaKind),
    TrackClosed(PeerId, Mid),
    Media(Forward),
    KeyframeRequest(PeerId, Mid, KeyframeRequestKind),
    RoomChanged(String),
}

/// Every peer of one worker, across its rooms.
pub struct Sfu {
    local: SocketAddr,
    peers: Vec<Peer>,
    queue: VecDeque<Propagated>,
    events: Vec<RoomEvent>,
    transmits: Vec<Transmit>,
    next_speaker_check: Option<Instant>,
    speakers: BTreeMap<String, Option<PeerId>>,
    taps: Vec<Tap>,
    next_tap: u64,
    /// The peer each remote address last belonged to (a hint, checked with `accepts`).
    by_source: HashMap<SocketAddr, PeerId>,
    /// Role changes and removals newer than the tokens people join with.
    overrides: crate::overrides::Overrides,
    /// How many of a room's loudest speakers participants hear; 0 for every one.
    loudest_audio: usize,
    /// Each room's loudest speakers, as last ranked.
    loudest: HashMap<String, RoomLoudest>,
    /// Forwarded audio is sealed and sent by the SFU itself (`sfu::direct`), not by str0m.
    direct_audio: bool,
    /// Audio packets sent that way.
    direct_sent: u64,
}

impl Sfu {
    /// `local` is the UDP address peers reach us on (the host candidate).
    pub fn new(local: SocketAddr) -> Self {
        Self {
            local,
            peers: Vec::new(),
            queue: VecDeque::new(),
            events: Vec::new(),
            transmits: Vec::new(),
            next_speaker_check: None,
            speakers: BTreeMap::new(),
            taps: Vec::new(),
            next_tap: 1,
            by_source: HashMap::new(),
            overrides: crate::overrides::Overrides::default(),
            loudest_audio: DEFAULT_LOUDEST_AUDIO,
            loudest: HashMap::new(),
            direct_audio: true,
            direct_sent: 0,
        }
    }

    /// Whether forwarded audio is sealed and sent by the SFU itself (the default) or all of it
    /// goes through each subscriber's str0m `Rtc` (`MEDIA_DIRECT_AUDIO=false`, for comparison).
    pub fn set_direct_audio(&mut self, on: bool) {
        self.direct_audio = on;
    }

    /// How many forwarded audio packets went out without str0m.
    pub fn direct_audio_sent(&self) -> u64 {
        self.direct_sent
    }

    /// How many of a room's loudest speakers participants hear (0: every speaker).
    pub fn set_loudest_audio(&mut self, n: usize) {
        self.loudest_audio = n;
        self.loudest.clear();
    }

    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Accepts an offer from a new peer and returns the answer.
    pub fn join(&mut self, now: Instant, req: JoinRequest) -> Result<Joined, OfferError> {
        if req.offer.len() > crate::sdp::MAX_OFFER_BYTES {
            return Err(OfferError::BadSdp(format!("the offer is larger than {} bytes", crate::sdp::MAX_OFFER_BYTES)));
        }
        let offer_sdp = crate::sdp::normalize_bundle_only(&req.offer);
        let summary = OfferSummary::parse(&offer_sdp).map_err(|e| OfferError::BadSdp(e.to_string()))?;
        let mut claims = req.claims;
        self.overrides.apply(&mut claims).map_err(|_| OfferError::Removed)?;
        match req.kind {
            ConnectionKind::Participant if !summary.has_data_channel() => {
                return Err(OfferError::BadSdp(
                    "a participant offer needs a data channel (label \"signal\") for signalling".into(),
                ));
            }
            ConnectionKind::Whep if !claims.grants.subscribe => {
                return Err(OfferError::NotAllowed("your media token does not allow watching this room".into()));
            }
            _ => {}
        }
        let offer =
            SdpOffer::from_sdp_string(&offer_sdp).map_err(|e| OfferError::BadSdp(format!("the offer does not parse: {e}")))?;
        let id = PeerId::next();
        let publishes = !claims.grants.publish.is_empty();
        let (rtc, direct) = rtc_for(now, publishes);
        let mut peer = Peer {
            id,
            room: claims.room,
            user_id: claims.sub,
            name: claims.name,
            avatar: claims.avatar,
            token_iat: claims.iat,
            grants: claims.grants,
            kind: req.kind,
            rtc,
            direct,
            joined_at: now,
            connected: false,
            announced: false,
            channel: None,
            pending: None,
            declared: BTreeMap::new(),
            tracks_in: Vec::new(),
            tracks_out: Vec::new(),
            whep_slots: Vec::new(),
            outbox: VecDeque::new(),
            state_dirty: false,
            close_at: None,
            close_reason: String::new(),
            level: -127.0,
            due: now,
            dirty: true,
            signal_budget: SignalBudget::new(now),
        };
        peer.check_offer(&summary, &req.sources)?;
        let candidate = Candidate::host(self.local, "udp").map_err(|e| OfferError::BadSdp(format!("no candidate: {e}")))?;
        peer.rtc.add_local_candidate(candidate);
        let answer = peer
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| OfferError::BadSdp(format!("the offer cannot be accepted: {e}")))?;
        for s in summary.sections.iter().filter(|s| s.offerer_sends) {
            let source = req.sources.get(&s.mid).copied().unwrap_or_else(|| default_source(s.kind));
            peer.declared.insert(s.mid.clone(), source);
        }
        if req.kind == ConnectionKind::Whep {
            for s in summary.sections.iter().filter(|s| s.offerer_receives) {
                let kind = if s.kind == SectionKind::Video { MediaKind::Video } else { MediaKind::Audio };
                peer.whep_slots.push(WhepSlot {
                    kind,
                    mid: Mid::from(s.mid.as_str()),
                    bound: None,
                    out: OutStream::default(),
                    direct: Default::default(),
                });
            }
        }
        // Tracks already in the room, for a subscriber (WHEP binds them when media flows).
        if peer.grants.subscribe && req.kind == ConnectionKind::Participant {
            let mut existing = Vec::new();
            for other in self.peers.iter().filter(|p| p.room == peer.room && sees(&peer, p)) {
                for t in &other.tracks_in {
                    existing.push(TrackOut::new(other.id, t.mid, t.kind));
                }
            }
            peer.tracks_out.extend(existing);
        }
        tracing::info!(peer = %id, room = %peer.room, user = %peer.user_id, kind = ?req.kind, "peer joined");
        self.peers.push(peer);
        Ok(Joined { peer: id, answer: answer.to_sdp_string() })
    }

    /// Feeds one received datagram to the peer it belongs to. False when no peer claims it.
    pub fn handle_receive(&mut self, now: Instant, source: SocketAddr, destination: SocketAddr, data: &[u8]) -> bool {
        let Ok(contents) = data.try_into() else {
            return false;
        };
        let input = Input::Receive(now, Receive { proto: Protocol::Udp, source, destination, contents });
        // Most datagrams come from an address a peer already uses: try that peer before asking
        // every peer whether the datagram is theirs.
        let cached = self.by_source.get(&source).and_then(|id| self.peers.iter().position(|p| p.id == *id));
        let i = match cached.filter(|&i| self.peers[i].rtc.accepts(&input)) {
            Some(i) => i,
            None => {
                let Some(i) = self.peers.iter().position(|p| p.rtc.accepts(&input)) else {
                    return false;
                };
                if self.by_source.len() >= 4 * self.peers.len() + 64 {
                    // Addresses of peers long gone: start over rather than grow without bound.
                    self.by_source.clear();
                }
                self.by_source.insert(source, self.peers[i].id);
                i
            }
        };
        let peer = &mut self.peers[i];
        if let Err(e) = peer.rtc.handle_input(input) {
            // A malformed packet costs this peer its connection, never the room.
            tracing::debug!(peer = %peer.id, error = %e, "dropping peer after bad input");
            peer.rtc.disconnect();
        }
        // Drained now, not at the end of the batch: in RTP mode str0m holds one received packet
        // until the next `poll_output`, so a second datagram before it would replace the first.
        peer.dirty = false;
        self.poll_peer(i, now);
        true
    }

    /// Moves the clock of peers whose str0m timer is due to `now`, a few dozen per call.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Only the peers whose own timer is due: a room of hundreds must not wake every peer
        // for one peer's pacer. And at most TIMEOUTS_PER_CALL of them: peers that joined together
        // keep their timers in step, and a thousand of str0m's periodic rounds at once held the
        // worker for 40-130 ms every few seconds (media behind them waited as long). The rest
        // stay due, so `poll` asks to be woken again at once, and datagrams that arrived
        // meanwhile are forwarded in between.
        for peer in self.peers.iter_mut().filter(|p| p.due <= now).take(TIMEOUTS_PER_CALL) {
            peer.dirty = true;
            if peer.rtc.is_alive()
                && let Err(e) = peer.rtc.handle_input(Input::Timeout(now))
            {
                tracing::debug!(peer = %peer.id, error = %e, "dropping peer after timeout error");
                peer.rtc.disconnect();
            }
        }
    }

    /// Drains every peer's output and forwards media between them; returns when the next
    /// [`Sfu::handle_timeout`] is due. Datagrams to send are in [`Sfu::take_transmits`].
    pub fn poll(&mut self, now: Instant) -> Instant {
        self.reap(now);
        self.update_speakers(now);
        let mut next = now + Duration::from_millis(100);
        loop {
            self.poll_dirty(now);
            if self.queue.is_empty() {
                break;
            }
            while let Some(p) = self.queue.pop_front() {
                self.propagate(now, p);
            }
        }
        self.send_states();
        // Sending state may have queued data channel output.
        self.poll_dirty(now);
        for p in &self.peers {
            next = next.min(p.due);
        }
        if let Some(t) = self.next_speaker_check {
            next = next.min(t);
        }
        for p in &self.peers {
            if let Some(t) = p.close_at {
                next = next.min(t);
            }
            if !p.connected {
                next = next.min(p.joined_at + CONNECT_TIMEOUT);
            }
        }
        next.max(now)
    }

    pub fn take_transmits(&mut self) -> std::vec::Drain<'_, Transmit> {
        self.transmits.drain(..)
    }

    /// The datagrams waiting to go out, to be sent as one burst; then [`Sfu::clear_transmits`].
    pub fn pending_transmits(&self) -> &[Transmit] {
        &self.transmits
    }

    pub fn clear_transmits(&mut self) {
        self.transmits.clear();
    }

    pub fn take_events(&mut self) -> Vec<RoomEvent> {
        std::mem::take(&mut self.events)
    }

    /// Every peer of `room`.
    pub fn participants(&self, room: &str) -> Vec<ParticipantInfo> {
        self.peers
            .iter()
            .filter(|p| p.room == room)
            .map(|p| ParticipantInfo {
                peer: p.id,
                user_id: p.user_id.clone(),
                name: p.name.clone(),
                grants: p.grants.clone(),
                tracks: p.tracks_in.iter().map(TrackIn::info).collect(),
                connected: p.connected,
            })
            .collect()
    }

    /// Disconnects one peer (WHIP / WHEP resource deleted). False if it is not here.
    pub fn disconnect(&mut self, peer: PeerId) -> bool {
        match self.index(peer) {
            Some(i) => {
                self.peers[i].close_reason = "left".into();
                self.peers[i].rtc.disconnect();
                true
            }
            None => false,
        }
    }

    /// Tells every participant to reconnect elsewhere (the server is shutting down).
    pub fn shutdown(&mut self, now: Instant) {
        for peer in &mut self.peers {
            peer.send(&ServerMessage::Bye { reason: "the media server is restarting".into(), reconnect: true });
            peer.close_at = Some(now + BYE_GRACE);
            peer.close_reason = "server_shutdown".into();
        }
    }

    fn index(&self, id: PeerId) -> Option<usize> {
        self.peers.iter().position(|p| p.id == id)
    }

    /// Drops peers that are gone: closed, ICE timed out, never connected, or told to leave.
    fn reap(&mut self, now: Instant) {
        for p in &mut self.peers {
            if p.close_at.is_some_and(|t| now >= t) {
                p.rtc.disconnect();
            }
            if !p.connected && now >= p.joined_at + CONNECT_TIMEOUT && p.rtc.is_alive() {
                p.close_reason = "connect_timeout".into();
                p.rtc.disconnect();
            }
        }
        let mut i = 0;
        while i < self.peers.len() {
            if self.peers[i].rtc.is_alive() {
                i += 1;
                continue;
            }
            let p = self.peers.swap_remove(i);
            let reason = if p.close_reason.is_empty() { "disconnected".to_owned() } else { p.close_reason.clone() };
            tracing::info!(peer = %p.id, room = %p.room, reason, "peer left");
            for t in &p.tracks_in {
                self.queue.push_back(Propagated::TrackClosed(p.id, t.mid));
                if p.announced {
                    self.events.push(RoomEvent::TrackUnpublished {
                        room: p.room.clone(),
                        peer: p.id,
                        user_id: p.user_id.clone(),
                        track: t.info(),
                    });
                }
            }
            if p.announced {
                self.events.push(RoomEvent::ParticipantLeft {
                    room: p.room.clone(),
                    peer: p.id,
                    user_id: p.user_id.clone(),
                    reason,
                });
            }
            // Only the stage is listed to others: an audience member leaving changes no one's state.
            if p.listed() {
                self.queue.push_back(Propagated::RoomChanged(p.room));
            }
        }
    }

    fn poll_dirty(&mut self, now: Instant) {
        for i in 0..self.peers.len() {
            if self.peers[i].dirty {
                self.peers[i].dirty = false;
                self.poll_peer(i, now);
            }
        }
    }

    fn poll_peer(&mut self, i: usize, now: Instant) -> Instant {
        self.negotiate_if_needed(i);
        self.peers[i].flush_outbox();
        loop {
            let peer = &mut self.peers[i];
            if !peer.rtc.is_alive() {
                peer.due = now;
                return now;
            }
            match peer.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    peer.due = t;
                    return t;
                }
                Ok(Output::Transmit(t)) => {
                    peer.direct.learn_path(&t);
                    self.transmits.push(t);
                }
                Ok(Output::Event(e)) => self.handle_event(i, now, e),
                Err(e) => {
                    tracing::debug!(peer = %peer.id, error = %e, "poll_output failed; dropping peer");
                    peer.rtc.disconnect();
                    peer.due = now;
                    return now;
                }
            }
        }
    }

    fn handle_event(&mut self, i: usize, now: Instant, e: Event) {
        let peer = &mut self.peers[i];
        match e {
            Event::Connected => {
                peer.connected = true;
                if peer.visible() && !peer.announced {
                    peer.announced = true;
                    self.events.push(RoomEvent::ParticipantJoined {
                        room: peer.room.clone(),
                        peer: peer.id,
                        user_id: peer.user_id.clone(),
                        name: peer.name.clone(),
                    });
                }
                // An audience member's arrival changes only their own state (see `Peer::listed`).
                if peer.listed() {
                    self.queue.push_back(Propagated::RoomChanged(peer.room.clone()));
                } else {
                    peer.state_dirty = true;
                }
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                // The peer vanished (ICE consent expired): clean up now rather than wait.
                peer.close_reason = "ice_timeout".into();
                peer.rtc.disconnect();
            }
            Event::MediaAdded(m) => {
                if matches!(m.direction, Direction::RecvOnly | Direction::SendRecv) {
                    self.track_published(i, m.mid, m.kind);
                }
            }
            Event::MediaChanged(m) => {
                let receiving = matches!(m.direction, Direction::RecvOnly | Direction::SendRecv);
                let known = peer.tracks_in.iter().any(|t| t.mid == m.mid);
                if receiving && !known {
                    if let Some(kind) = peer.rtc.media(m.mid).map(|md| md.kind()) {
                        self.track_published(i, m.mid, kind);
                    }
                } else if !receiving && known {
                    self.track_unpublished(i, m.mid);
                }
            }
            Event::RtpPacket(pkt) => self.media_in(i, now, pkt),
            Event::KeyframeRequest(req) => {
                let Some(out) = peer.tracks_out.iter().find(|t| t.open_mid() == Some(req.mid)) else {
                    if let Some(WhepSlot { bound: Some((origin, mid)), .. }) = peer.whep_slots.iter().find(|s| s.mid == req.mid) {
                        self.queue.push_back(Propagated::KeyframeRequest(*origin, *mid, req.kind));
                    }
                    return;
                };
                self.queue.push_back(Propagated::KeyframeRequest(out.origin, out.origin_mid, req.kind));
            }
            // The first channel is the signalling one; a subscriber-less peer still gets `state`.
            Event::ChannelOpen(cid, _label) if peer.channel.is_none() => {
                peer.channel = Some(cid);
                peer.state_dirty = true;
                // Tracks may be waiting for the channel to be offered on.
                peer.dirty = true;
            }
            Event::ChannelData(d) => self.channel_data(i, now, d),
            _ => {}
        }
    }

    fn track_published(&mut self, i: usize, mid: Mid, kind: MediaKind) {
        let peer = &mut self.peers[i];
        let Some(&source) = peer.declared.get(&mid.to_string()) else {
            tracing::debug!(peer = %peer.id, %mid, "media on an m-line with no declared source; ignored");
            return;
        };
        if !peer.grants.may_publish(source) {
            return;
        }
        let track = TrackIn {
            mid,
            kind,
            source,
            muted_by_server: false,
            muted_by_client: false,
            last_keyframe_request: None,
            codec: None,
            ssrc: None,
            params: None,
            loss: LossWatch::default(),
            levels: false,
            highest: 0,
            held_back: 0,
        };
        if peer.visible() {
            self.events.push(RoomEvent::TrackPublished {
                room: peer.room.clone(),
                peer: peer.id,
                user_id: peer.user_id.clone(),
                track: track.info(),
            });
        }
        peer.tracks_in.push(track);
        self.queue.push_back(Propagated::TrackOpen(peer.id, mid, kind));
        self.queue.push_back(Propagated::RoomChanged(peer.room.clone()));
    }

    fn track_unpublished(&mut self, i: usize, mid: Mid) {
        let peer = &mut self.peers[i];
        let Some(k) = peer.tracks_in.iter().position(|t| t.mid == mid) else { return };
        let t = peer.tracks_in.remove(k);
        if peer.visible() {
            self.events.push(RoomEvent::TrackUnpublished {
                room: peer.room.clone(),
                peer: peer.id,
                user_id: peer.user_id.clone(),
                track: t.info(),
            });
        }
        self.queue.push_back(Propagated::TrackClosed(peer.id, mid));
        self.queue.push_back(Propagated::RoomChanged(peer.room.clone()));
    }

    fn media_in(&mut self, i: usize, now: Instant, pkt: RtpPacket) {
        let peer = &mut self.peers[i];
        let ssrc = pkt.header.ssrc;
        let k = match peer.tracks_in.iter().position(|t| t.ssrc == Some(ssrc)) {
            Some(k) => k,
            None => {
                // A new SSRC: str0m knows its m-line (from the MID header extension or the SDP).
                let Some(mid) = peer.rtc.direct_api().stream_rx(&ssrc).map(|rx| rx.mid()) else { return };
                let Some(k) = peer.tracks_in.iter().position(|t| t.mid == mid) else { return };
                let t = &mut peer.tracks_in[k];
                t.ssrc = Some(ssrc);
                t.loss.reset();
                k
            }
        };
        let track = &mut peer.tracks_in[k];
        if track.muted() {
            return;
        }
        let pt = pkt.header.payload_type;
        let params = match track.params {
            Some(p) if p.pt() == pt => p,
            _ => {
                let Some(p) = peer.rtc.codec_config().find(|p| p.pt() == pt).copied() else { return };
                track.params = Some(p);
                track.codec = tap_codec(p.spec().codec).or(track.codec);
                p
            }
        };
        if track.kind == MediaKind::Video && track.loss.record(*pkt.seq_no) > 0 {
            let due = track.last_keyframe_request.is_none_or(|t| now >= t + KEYFRAME_REQUEST_INTERVAL);
            if due {
                track.last_keyframe_request = Some(now);
                if let Some(rx) = peer.rtc.direct_api().stream_rx(&ssrc) {
                    rx.request_keyframe(KeyframeRequestKind::Pli);
                }
            }
        }
        let ext = &pkt.header.ext_vals;
        let mut to_participants = true;
        if track.source == TrackSource::Microphone
            && let Some(level) = ext.audio_level
        {
            // A quick attack and slow release, so a pause between words does not flip the speaker.
            let l = level as f32;
            peer.level = if l > peer.level { 0.5 * peer.level + 0.5 * l } else { 0.9 * peer.level + 0.1 * l };
            track.levels = true;
            to_participants =
                peer.grants.backstage || self.loudest.get(&peer.room).is_none_or(|r| r.forwards(peer.id, peer.level));
        }
        let seq = *pkt.seq_no;
        if seq > track.highest || track.highest == 0 {
            if !to_participants {
                track.held_back += 1;
            }
            track.highest = seq;
        }
        let f = Forward {
            origin: peer.id,
            mid: track.mid,
            kind: track.kind,
            ssrc: *ssrc,
            seq: *pkt.seq_no,
            timestamp: pkt.header.timestamp,
            marker: pkt.header.marker,
            pt,
            params,
            audio_level: ext.audio_level,
            voice_activity: ext.voice_activity,
            video_orientation: ext.video_orientation,
            payload: pkt.payload,
            arrival: pkt.timestamp,
            to_participants,
            participant_seq: seq.saturating_sub(track.held_back),
        };
        self.queue.push_back(Propagated::Media(f));
    }

    fn propagate(&mut self, now: Instant, p: Propagated) {
        match p {
            Propagated::TrackOpen(origin, mid, kind) => {
                let Some((room, backstage)) =
                    self.index(origin).map(|i| (self.peers[i].room.clone(), self.peers[i].grants.backstage))
                else {
                    return;
                };
                for q in self.peers.iter_mut().filter(|q| q.room == room && q.id != origin) {
                    if q.grants.subscribe && q.kind == ConnectionKind::Participant && (!backstage || q.grants.see_backstage) {
                        q.tracks_out.push(TrackOut::new(origin, mid, kind));
                        q.dirty = true;
                    }
                }
            }
            Propagated::TrackClosed(origin, mid) => {
                for q in &mut self.peers {
                    q.tracks_out.retain_mut(|t| {
                        if t.origin != origin || t.origin_mid != mid {
                            return true;
                        }
                        q.dirty = true;
                        match t.state {
                            OutState::ToOpen => false,
                            OutState::Negotiating(m) | OutState::Open(m) => {
                                t.state = OutState::ToStop(m);
                                true
                            }
                            _ => true,
                        }
                    });
                    for slot in &mut q.whep_slots {
                        if slot.bound == Some((origin, mid)) {
                            slot.bound = None;
                        }
                    }
                }
            }
            Propagated::Media(f) => self.forward(now, &f),
            Propagated::KeyframeRequest(origin, mid, kind) => {
                let Some(i) = self.index(origin) else { return };
                let peer = &mut self.peers[i];
                let Some(t) = peer.tracks_in.iter_mut().find(|t| t.mid == mid) else { return };
                if t.last_keyframe_request.is_some_and(|at| now < at + KEYFRAME_REQUEST_INTERVAL) {
                    return;
                }
                t.last_keyframe_request = Some(now);
                peer.dirty = true;
                if let Some(rx) = peer.rtc.direct_api().stream_rx_by_mid(mid, None) {
                    rx.request_keyframe(kind);
                }
            }
            Propagated::RoomChanged(room) => {
                for q in self.peers.iter_mut().filter(|q| q.room == room) {
                    q.state_dirty = true;
                }
            }
        }
    }

    fn forward(&mut self, now: Instant, f: &Forward) {
        let origin = f.origin;
        let Some(oi) = self.index(origin) else { return };
        // Borrowed out of the origin (and put back below) rather than cloned: this runs per packet.
        let room = std::mem::take(&mut self.peers[oi].room);
        let backstage = self.peers[oi].grants.backstage;
        let clock_rate = f.params.spec().clock_rate.get();
        let mut wants_keyframe = false;
        for q in self.peers.iter_mut().filter(|q| q.id != origin && q.room == room && q.grants.subscribe && q.connected) {
            let (target, seq) = match q.kind {
                ConnectionKind::Participant if !f.to_participants => continue,
                ConnectionKind::Participant => (
                    q.tracks_out
                        .iter_mut()
                        .find(|t| t.origin == origin && t.origin_mid == f.mid)
                        .and_then(|t| Some((t.open_mid()?, &mut t.out, &mut t.direct))),
                    f.participant_seq,
                ),
                // WHEP viewers are the audience: nothing from the backstage.
                ConnectionKind::Whep if backstage && !q.grants.see_backstage => continue,
                ConnectionKind::Whep => {
                    let Some(slot) = q.whep_slots.iter_mut().find(|s| s.kind == f.kind) else { continue };
                    if slot.bound.is_none() {
                        slot.bound = Some((origin, f.mid));
                        wants_keyframe |= f.kind == MediaKind::Video;
                    }
                    ((slot.bound == Some((origin, f.mid))).then_some((slot.mid, &mut slot.out, &mut slot.direct)), f.seq)
                }
                ConnectionKind::Whip => continue,
            };
            let Some((mid, out, direct_track)) = target else { continue };
            let rtc = &mut q.rtc;
            let Some(mapped) =
                out.map(f.source(), f.pt, seq, f.timestamp, clock_rate, now, || subscriber_pt(rtc, mid, &f.params))
            else {
                continue;
            };
            if f.kind == MediaKind::Audio {
                if self.direct_audio {
                    let packet = direct::AudioPacket {
                        mid,
                        pt: mapped.pt,
                        seq: mapped.seq,
                        timestamp: mapped.timestamp,
                        marker: f.marker,
                        level: f.audio_level.zip(f.voice_activity),
                        payload: &f.payload,
                    };
                    if let Some(t) = q.direct.seal(rtc, direct_track, &packet) {
                        self.transmits.push(t);
                        self.direct_sent += 1;
                        continue;
                    }
                }
            }
            q.dirty = true;
            // str0m declares the send stream of every negotiated sending m-line itself.
            let mut api = rtc.direct_api();
            let Some(tx) = api.stream_tx_by_mid(mid, None) else { continue };
            let write = RtpWrite::new(mapped.pt, mapped.seq.into(), mapped.timestamp, f.arrival, f.payload.clone())
                .marker(f.marker)
                .ext_vals(f.ext_vals())
                // Video is worth a retransmission (a lost packet costs a frame and its
                // dependants); audio is not (it would arrive after its playout time).
                .nackable(f.kind == MediaKind::Video);
            tx.write_rtp(write);
        }
        self.peers[oi].room = room;
        if wants_keyframe {
            self.propagate(now, Propagated::KeyframeRequest(origin, f.mid, KeyframeRequestKind::Pli));
        }
        if !self.taps.is_empty() {
            self.tap(now, f);
        }
    }
}
