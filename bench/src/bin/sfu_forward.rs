//! SFU forwarding cost: CPU-µs of the SFU worker thread per forwarded packet, against a null
//! forwarder (recv one datagram, send it to every subscriber, nothing else) measured in the same
//! run, interleaved, in two forms: one `sendto` per copy, and one `sendmmsg` per received
//! datagram (the ceiling; the SFU sends its bursts that way too). Two shapes: audio (S speakers → L listeners, 50 packets/s each) and video
//! (one publisher → V viewers, 30 frames/s of 3 packets).
//!
//! The SFU is the real worker (`stagecast_media::worker`) on its own thread and socket; the
//! clients are str0m peers (ICE, DTLS, SRTP like a browser) on other threads. Only the worker
//! thread's CPU is counted, read from /proc/self/task/<tid>/stat.
//!
//!   cargo run --release -p stagecast-bench --bin sfu_forward -- audio 10 20 5 3
//!   cargo run --release -p stagecast-bench --bin sfu_forward -- video 1 30 5 3
//!   (shape publishers subscribers seconds rounds)
//!
//! A Spaces-sized stage (`spaces LADDER SECS PROBE_EVERY LOUDEST [direct|str0m]`): ten speakers to a ladder of
//! listener counts, most of them light (str0m does their ICE, DTLS, data channel and RTCP; their
//! SRTP is counted at the socket, not decrypted, so a thousand fit beside the SFU on two cores);
//! see `spaces_mode`.
//!
//!   cargo run --release -p stagecast-bench --bin sfu_forward -- spaces 300,500,700,1000 15 50 3
//!
//! Join latency (`join N`): a subscriber's time from its media token to its first decoded video
//! frame (token check, ICE, DTLS, the data channel, the SFU's renegotiation adding the
//! publisher's track, the next frame), N times through the SFU, interleaved with the same client
//! connecting straight to a str0m publisher with no SFU between them (the ceiling: ICE, DTLS and
//! one frame). Prints p50/p99 of both, their ratio, and the < 150 ms p99 target.
//!
//!   cargo run --release -p stagecast-bench --bin sfu_forward -- join 50
//!
//! With JANUS_URL, JANUS_RTP and JANUS_PID set (bench/sfu-vs-janus.sh sets them and runs this in
//! a network namespace beside Janus), each round starts with the same load through Janus 1.1.2's
//! streaming plugin, and the summary prints the SFU's subscribers per core against Janus's.
#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop right there
use std::{
    collections::BTreeMap,
    net::{SocketAddr, UdpSocket},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use stagecast_authn::{MediaClaims, MediaGrants, TrackSource};
use stagecast_media::sfu::{ConnectionKind, JoinRequest};
use str0m::{
    Candidate, Event, Input, Output, Rtc,
    change::{SdpAnswer, SdpOffer, SdpPendingOffer},
    channel::ChannelId,
    format::Codec,
    media::{Direction, MediaKind, MediaTime, Mid},
    net::{Protocol, Receive},
};

/// The allocator the media service's binary runs the SFU with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The clock frames carry their send time in: µs of the wall clock, the clock the kernel stamps
/// a probe's received datagrams with (SO_TIMESTAMPNS).
fn wall_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

thread_local! {
    /// Send-to-receive delays (µs) seen by this client thread since the last `take_delays`.
    static DELAYS: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Delays are kept only while this is set (after the warm-up).
static MEASURING: AtomicBool = AtomicBool::new(false);

/// Clients that have received media this round: the warm-up lasts until every listener has.
static READY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// (light, packets received while measuring) of every listener, gathered when the threads end.
static PER_LISTENER: std::sync::Mutex<Vec<(bool, u64)>> = std::sync::Mutex::new(Vec::new());

/// Light listeners' packets received and sequence numbers spanned, while measuring.
static SEQS: std::sync::Mutex<(u64, u64)> = std::sync::Mutex::new((0, 0));

/// Listeners with no media when the round ended: (connected, data channel open, answered an offer).
static STRAGGLERS: std::sync::Mutex<Vec<(bool, bool, bool)>> = std::sync::Mutex::new(Vec::new());

/// Delays of every client thread, gathered when the threads end.
static ALL_DELAYS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Audio,
    Video,
}

impl Shape {
    fn frames_per_second(self) -> u64 {
        if self == Shape::Audio { 50 } else { 30 }
    }
    fn frame_bytes(self) -> usize {
        if self == Shape::Audio { 80 } else { 3000 }
    }
    fn packets_per_frame(self) -> u64 {
        if self == Shape::Audio { 1 } else { 3 }
    }
}

fn tid_named(name: &str) -> Option<u32> {
    for e in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            return e.file_name().to_str()?.parse().ok();
        }
    }
    None
}

fn claims(user: String, grants: MediaGrants) -> MediaClaims {
    MediaClaims {
        name: user.clone(),
        sub: user,
        avatar: String::new(),
        room: "bench".into(),
        grants,
        iss: "stagecast-auth".into(),
        aud: "stagecast-media".into(),
        iat: 0,
        exp: i64::MAX,
        jti: "bench".into(),
    }
}

struct Client {
    rtc: Rtc,
    socket: UdpSocket,
    pending: Option<SdpPendingOffer>,
    channel: Option<ChannelId>,
    mid: Option<Mid>,
    frame: u64,
    /// DTLS is up (a browser sends media only from then on).
    connected: bool,
    /// When the next frame is due, for the join measurement's publishers.
    next_frame: Option<Instant>,
    /// A light listener (the `spaces` mode's crowd): once its first media has arrived it stops
    /// decrypting, and counts SRTP packets as they reach its socket; ICE, DTLS, the data
    /// channel and RTCP still go through str0m.
    light: bool,
    /// A light listener past its first media: packets are counted at the socket.
    counting: bool,
    /// Some media has arrived (counted once in [`READY`]).
    got_media: bool,
    /// Packets received while [`MEASURING`].
    measured: u64,
    /// Its signalling data channel has opened.
    channel_open: bool,
    /// The SFU has offered it tracks (and it answered).
    answered: bool,
    /// A light listener's streams while [`MEASURING`], by SSRC: (first extended sequence
    /// number, highest, packets). Loss is what is missing between first and highest, so a
    /// load generator that reads late does not count as loss (or as extra packets).
    seqs: BTreeMap<u32, (u64, u64, u64)>,
    /// RFC 6464 level (-dBov) a speaker's packets carry, when set.
    level: Option<i8>,
    /// A probe: its socket stamps each datagram as the kernel receives it, and the delay runs
    /// to that stamp, not to when this thread's loop got round to reading it.
    kernel_stamps: bool,
}

impl Client {
    fn new() -> Self {
        Self::bound("127.0.0.1".parse().unwrap())
    }

    /// A client on `ip`: Janus's ICE (libnice) ignores loopback, so its round runs on another address.
    fn bound(ip: std::net::IpAddr) -> Self {
        let socket = UdpSocket::bind((ip, 0)).unwrap();
        socket.set_nonblocking(true).unwrap();
        let mut rtc = Rtc::builder().build(Instant::now());
        rtc.add_local_candidate(Candidate::host(socket.local_addr().unwrap(), "udp").unwrap());
        Self {
            rtc,
            socket,
            pending: None,
            channel: None,
            mid: None,
            frame: 0,
            connected: false,
            next_frame: None,
            light: false,
            counting: false,
            got_media: false,
            measured: 0,
            channel_open: false,
            answered: false,
            seqs: BTreeMap::new(),
            level: None,
            kernel_stamps: false,
        }
    }

    fn stamp_on_receipt(&mut self) {
        nix::sys::socket::setsockopt(&self.socket, nix::sys::socket::sockopt::ReceiveTimestampns, &true)
            .expect("SO_TIMESTAMPNS on a UDP socket");
        self.kernel_stamps = true;
    }

    /// One datagram with the kernel's receive time (µs of the wall clock), if one is waiting.
    fn recv_stamped(&self, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr, Option<u64>)> {
        use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg};
        use std::os::fd::AsRawFd;
        let mut iov = [std::io::IoSliceMut::new(buf)];
        let mut space = nix::cmsg_space!(nix::sys::time::TimeSpec);
        let msg = recvmsg::<SockaddrStorage>(self.socket.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_DONTWAIT)
            .map_err(std::io::Error::from)?;
        let from = msg
            .address
            .and_then(|a| a.as_sockaddr_in().map(|v4| SocketAddr::from(std::net::SocketAddrV4::from(*v4))))
            .ok_or_else(|| std::io::Error::other("not from an IPv4 address"))?;
        let stamp = msg.cmsgs().ok().and_then(|mut c| {
            c.find_map(|c| match c {
                ControlMessageOwned::ScmTimestampns(ts) => Some(ts.tv_sec() as u64 * 1_000_000 + ts.tv_nsec() as u64 / 1_000),
                _ => None,
            })
        });
        Ok((msg.bytes, from, stamp))
    }

    fn offer(&mut self, publish: Option<MediaKind>) -> (String, BTreeMap<String, TrackSource>) {
        let mut change = self.rtc.sdp_api();
        let mut sources = BTreeMap::new();
        if let Some(kind) = publish {
            let mid = change.add_media(kind, Direction::SendOnly, None, None, None);
            let src = if kind == MediaKind::Audio { TrackSource::Microphone } else { TrackSource::Camera };
            sources.insert(mid.to_string(), src);
            self.mid = Some(mid);
        }
        change.add_channel("signal".into());
        let (offer, pending) = change.apply().unwrap();
        self.pending = Some(pending);
        (offer.to_sdp_string(), sources)
    }

    fn write_frame(&mut self, shape: Shape) {
        let Some(mid) = self.mid else { return };
        let Some(w) = self.rtc.writer(mid) else { return };
        let codec = if shape == Shape::Audio { Codec::Opus } else { Codec::Vp8 };
        let Some(pt) = w.payload_params().find(|p| p.spec().codec == codec).map(|p| p.pt()) else { return };
        let step = if shape == Shape::Audio { 960 } else { 3000 };
        let mut data = vec![0x5au8; shape.frame_bytes()];
        // A VP8 keyframe header bit (P = 0) on every frame keeps any receiver decodable.
        data[0] = 0x10;
        // When it was sent, for the end-to-end delay of the `spaces` mode.
        data[1..9].copy_from_slice(&wall_us().to_be_bytes());
        let w = match self.level {
            Some(level) => w.audio_level(level, level >= -50),
            None => w,
        };
        let _ = w.write(pt, Instant::now(), MediaTime::from_90khz(self.frame * step), data);
        self.frame += 1;
    }

    /// Writes a video frame when one is due at 30 fps, once connected: the frame clock runs on
    /// its own, so a viewer joins at any point between two frames, as with a real camera.
    fn tick(&mut self) {
        let interval = Duration::from_micros(1_000_000 / Shape::Video.frames_per_second());
        let now = Instant::now();
        let next = *self.next_frame.get_or_insert(now);
        if now >= next {
            self.next_frame = Some(next + interval);
            if self.connected {
                self.write_frame(Shape::Video);
            }
        }
    }

    /// Polls, sends, receives; returns packets received (by sequence range) this call.
    fn pump(&mut self, buf: &mut [u8]) -> u64 {
        let mut got = self.drain(None);
        got += self.receive(buf);
        let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
        if MEASURING.load(Ordering::Relaxed) {
            self.measured += got;
        }
        got
    }

    /// Polls str0m until it waits, sending what it hands out; `received_at` is when the datagram
    /// just handed in arrived (its media's delay runs to then), else now.
    fn drain(&mut self, received_at: Option<u64>) -> u64 {
        let mut got = 0;
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(_)) | Err(_) => break,
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(e)) => match e {
                    Event::Connected => self.connected = true,
                    Event::ChannelOpen(cid, _) => {
                        self.channel = Some(cid);
                        self.channel_open = true;
                    }
                    Event::ChannelData(d) => {
                        let msg: serde_json::Value = serde_json::from_slice(&d.data).unwrap_or_default();
                        if msg["type"] == "offer" {
                            self.answered = true;
                            let offer = SdpOffer::from_sdp_string(msg["sdp"].as_str().unwrap_or("")).unwrap();
                            let answer = self.rtc.sdp_api().accept_offer(offer).unwrap();
                            let reply = serde_json::json!({"type": "answer", "sdp": answer.to_sdp_string()}).to_string();
                            if let Some(mut ch) = self.channel.and_then(|c| self.rtc.channel(c)) {
                                let _ = ch.write(false, reply.as_bytes());
                            }
                        }
                    }
                    Event::MediaData(d) => {
                        if !self.got_media {
                            self.got_media = true;
                            READY.fetch_add(1, Ordering::Relaxed);
                        }
                        self.counting |= self.light;
                        got += (**d.seq_range.end()).saturating_sub(**d.seq_range.start()) + 1;
                        if let Some(stamp) = d.data.get(1..9).filter(|_| MEASURING.load(Ordering::Relaxed)) {
                            let sent = u64::from_be_bytes(stamp.try_into().unwrap_or_default());
                            let delay = received_at.unwrap_or_else(wall_us).saturating_sub(sent);
                            DELAYS.with(|d| d.borrow_mut().push(delay as u32));
                        }
                    }
                    _ => {}
                },
            }
        }
        got
    }

    fn receive(&mut self, buf: &mut [u8]) -> u64 {
        let mut got = 0;
        let local = self.socket.local_addr().unwrap();
        for _ in 0..256 {
            let r = if self.kernel_stamps {
                self.recv_stamped(buf)
            } else {
                self.socket.recv_from(buf).map(|(n, from)| (n, from, None))
            };
            match r {
                Ok((n, from, stamp)) => {
                    if self.counting && is_rtp(&buf[..n]) {
                        got += 1;
                        if n >= 12 && MEASURING.load(Ordering::Relaxed) {
                            let seq = u16::from_be_bytes([buf[2], buf[3]]);
                            let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
                            let e = self.seqs.entry(ssrc).or_insert((u64::from(seq), u64::from(seq), 0));
                            // Extend past a wrap: the nearest number to the highest with these low bits.
                            let high = e.1;
                            let mut ext = (high & !0xffff) | u64::from(seq);
                            if ext + 0x8000 < high {
                                ext += 0x1_0000;
                            } else if ext > high + 0x8000 && ext >= 0x1_0000 {
                                ext -= 0x1_0000;
                            }
                            e.1 = e.1.max(ext);
                            e.2 += 1;
                        }
                        continue;
                    }
                    if let Ok(contents) = buf[..n].try_into() {
                        let _ = self.rtc.handle_input(Input::Receive(
                            Instant::now(),
                            Receive { proto: Protocol::Udp, source: from, destination: local, contents },
                        ));
                    }
                    // A probe's media is read out at once, so it is paired with its own stamp.
                    if stamp.is_some() {
                        got += self.drain(stamp);
                    }
                }
                Err(_) => break,
            }
        }
        got
    }
}

/// RFC 7983's demultiplexing: RTP and RTCP start with 128..=191, and RTCP's payload types are
/// 192..=223 (without the marker bit, as RFC 5761 keeps them apart).
fn is_rtp(datagram: &[u8]) -> bool {
    matches!(datagram, [128..=191, b, ..] if !(192..=223).contains(b))
}

/// Drives clients on one thread until `stop`; counts packets received into `received`.
/// With `spread`, the publishers' frame clocks are spread evenly over a frame interval, as
/// independent microphones are; without it they all send at once (the worst case for a burst).
fn drive(
    mut clients: Vec<Client>,
    publishers: usize,
    shape: Shape,
    spread: bool,
    stop: Arc<AtomicBool>,
    received: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 2048];
    let interval = Duration::from_micros(1_000_000 / shape.frames_per_second());
    let start = Instant::now();
    let mut next: Vec<Instant> =
        (0..publishers).map(|i| if spread { start + interval * i as u32 / publishers as u32 } else { start }).collect();
    let mut turn = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        for (c, next) in clients.iter_mut().zip(next.iter_mut()) {
            if now >= *next {
                c.write_frame(shape);
                *next += interval;
            }
        }
        let mut got = 0;
        turn += 1;
        for c in clients.iter_mut() {
            // A counting light listener is read every 20 ms (its socket holds ten packets by
            // then): what it costs the load generator stays small beside the SFU.
            if c.counting && !turn.is_multiple_of(40) {
                continue;
            }
            got += c.pump(&mut buf);
        }
        received.fetch_add(got, Ordering::Relaxed);
        std::thread::sleep(Duration::from_micros(500));
    }
    PER_LISTENER.lock().unwrap_or_else(|e| e.into_inner()).extend(clients.iter().skip(publishers).map(|c| (c.light, c.measured)));
    {
        let mut seqs = SEQS.lock().unwrap_or_else(|e| e.into_inner());
        for (first, high, n) in clients.iter().flat_map(|c| c.seqs.values()) {
            seqs.0 += n;
            seqs.1 += high - first + 1;
        }
    }
    STRAGGLERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(clients.iter().skip(publishers).filter(|c| !c.got_media).map(|c| (c.connected, c.channel_open, c.answered)));
    let mine = DELAYS.with(|d| std::mem::take(&mut *d.borrow_mut()));
    ALL_DELAYS.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
}

struct Result {
    cpu_us_per_packet: f64,
    packets: u64,
    /// Light listeners: the share of packets missing from the sequence numbers they saw (0
    /// without light listeners).
    seq_loss: f64,
}

/// The real SFU worker on its own thread and loopback socket; its room events are drained.
fn start_worker(
    rt: &tokio::runtime::Runtime,
    forwarding: stagecast_media::sfu::Forwarding,
) -> stagecast_media::worker::WorkerHandle {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let (events, mut events_rx) = tokio::sync::mpsc::unbounded_channel();
    rt.spawn(async move { while events_rx.recv().await.is_some() {} });
    stagecast_media::worker::spawn(0, socket, addr, events, stagecast_media::observe::WorkerMetrics::detached(), forwarding)
        .unwrap()
}

/// Joins `c` through the worker's queue, as the HTTP endpoint would, and applies the answer.
/// None when the SFU refuses or the answer does not apply.
fn join(
    worker: &stagecast_media::worker::WorkerHandle,
    c: &mut Client,
    claims: MediaClaims,
    offer: String,
    sources: BTreeMap<String, TrackSource>,
) -> Option<stagecast_media::sfu::Joined> {
    let req = JoinRequest { claims, offer, sources, kind: ConnectionKind::Participant };
    let (tx, rx) = tokio::sync::oneshot::channel();
    worker.tx.blocking_send(stagecast_media::worker::Command::Join(req, tx)).ok()?;
    let joined = rx.blocking_recv().ok()?.ok()?;
    c.rtc.sdp_api().accept_answer(c.pending.take()?, SdpAnswer::from_sdp_string(&joined.answer).ok()?).ok()?;
    Some(joined)
}

fn round_sfu(rt: &tokio::runtime::Runtime, shape: Shape, publishers: usize, subscribers: usize, secs: u64) -> Result {
    round_sfu_with(rt, shape, publishers, subscribers, secs, &Crowd::default())
}

/// How the `spaces` mode's clients differ from the plain rounds'.
#[derive(Default)]
struct Crowd {
    /// Every `probe_every`-th listener decrypts and measures the delay; the rest are light
    /// (they count packets at their socket). 0: every listener decrypts.
    probe_every: usize,
    /// The RFC 6464 level of each speaker's packets, in order; none when empty.
    levels: Vec<i8>,
    /// The SFU's `MEDIA_LOUDEST_AUDIO` (0: every speaker to every listener).
    loudest: usize,
    /// Speakers send at independent phases, not all at once.
    spread: bool,
    /// All forwarded audio goes through each listener's str0m `Rtc` (`MEDIA_DIRECT_AUDIO=false`).
    via_str0m: bool,
}

fn round_sfu_with(
    rt: &tokio::runtime::Runtime,
    shape: Shape,
    publishers: usize,
    subscribers: usize,
    secs: u64,
    crowd: &Crowd,
) -> Result {
    let worker =
        start_worker(rt, stagecast_media::sfu::Forwarding { loudest_audio: crowd.loudest, direct_audio: !crowd.via_str0m });
    READY.store(0, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(100));
    let tid = tid_named("sfu-worker-0").expect("the worker thread");
    let kind = if shape == Shape::Audio { MediaKind::Audio } else { MediaKind::Video };
    let mut clients = Vec::new();
    for i in 0..publishers + subscribers {
        let mut c = Client::new();
        let publish = (i < publishers).then_some(kind);
        let (offer, sources) = c.offer(publish);
        let grants = MediaGrants {
            subscribe: i >= publishers,
            publish: if i < publishers { TrackSource::ALL.to_vec() } else { vec![] },
            ..Default::default()
        };
        join(&worker, &mut c, claims(format!("u{i}"), grants), offer, sources).expect("the SFU takes the client");
        c.light = i >= publishers && crowd.probe_every > 0 && !(i - publishers).is_multiple_of(crowd.probe_every);
        if i >= publishers && crowd.probe_every > 0 && !c.light {
            c.stamp_on_receipt();
        }
        c.level = crowd.levels.get(i).copied();
        clients.push(c);
    }
    // Clients on two threads when there are many, so the load generator keeps up.
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let second: Vec<Client> = if crowd.probe_every > 0 {
        // The speakers and the probes on one thread, the light crowd on the other: the probes'
        // delay is then not the time it takes to read a thousand sockets.
        let (first, second) = clients.into_iter().partition(|c| !c.light);
        clients = first;
        second
    } else {
        let split = publishers + subscribers / 2;
        clients.split_off(split.min(clients.len()))
    };
    let h1 = {
        let (s, r) = (stop.clone(), received.clone());
        let spread = crowd.spread;
        std::thread::spawn(move || drive(clients, publishers, shape, spread, s, r))
    };
    let h2 = {
        let (s, r) = (stop.clone(), received.clone());
        std::thread::spawn(move || drive(second, 0, shape, false, s, r))
    };
    // Warm up: ICE, DTLS, renegotiation, keyframes; until every listener has media (a
    // thousand handshakes take a while on two cores), and a second more to settle.
    let deadline = Instant::now() + Duration::from_secs(120);
    while READY.load(Ordering::Relaxed) < subscribers && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(if crowd.probe_every > 0 { 2 } else { 3 }));
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        println!("  warm: {} of {subscribers} listeners have media", READY.load(Ordering::Relaxed));
    }
    // Delays count from here: the warm-up's are dropped when the threads hand theirs in.
    let (cpu0, n0) = (stagecast_bench::thread_cpu_seconds(Some(tid)), received.load(Ordering::Relaxed));
    MEASURING.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(secs));
    MEASURING.store(false, Ordering::Relaxed);
    let (cpu1, n1) = (stagecast_bench::thread_cpu_seconds(Some(tid)), received.load(Ordering::Relaxed));
    stop.store(true, Ordering::Relaxed);
    h1.join().unwrap();
    h2.join().unwrap();

    let (tx, rx) = tokio::sync::oneshot::channel();
    let _ = worker.tx.blocking_send(stagecast_media::worker::Command::Shutdown(tx));
    let _ = rx.blocking_recv();
    let packets = n1 - n0;
    let mut per = std::mem::take(&mut *PER_LISTENER.lock().unwrap_or_else(|e| e.into_inner()));
    let (got, span) = std::mem::take(&mut *SEQS.lock().unwrap_or_else(|e| e.into_inner()));
    let stragglers = std::mem::take(&mut *STRAGGLERS.lock().unwrap_or_else(|e| e.into_inner()));
    if std::env::var_os("BENCH_VERBOSE").is_some() && !stragglers.is_empty() {
        println!("  listeners without media (connected, channel open, offered): {stragglers:?}");
    }
    if std::env::var_os("BENCH_VERBOSE").is_some() && !per.is_empty() {
        per.sort_unstable_by_key(|p| p.1);
        let at = |q: usize| per[(per.len() - 1) * q / 100];
        println!(
            "  per listener while measuring: min {:?} p10 {:?} p50 {:?} max {:?} (light, packets)",
            at(0),
            at(10),
            at(50),
            at(100)
        );
    }
    let seq_loss = if span == 0 { 0.0 } else { 1.0 - got as f64 / span as f64 };
    Result { cpu_us_per_packet: (cpu1 - cpu0) * 1e6 / packets.max(1) as f64, packets, seq_loss }
}

/// Janus 1.1.2 (Debian), the peer: its streaming plugin relays plain RTP that arrives on a
/// mountpoint's ports to every viewer's PeerConnection (ICE, DTLS, SRTP, as ours). The mountpoint
/// (id 1, one stream per publisher: Opus PT 111, or VP8 PT 96) and the network namespace it needs
/// are set up by bench/sfu-vs-janus.sh, which passes the HTTP API, the first RTP port and Janus's
/// pid. CPU is every thread of the Janus process (it runs a media loop per PeerConnection).
struct Janus {
    url: String,
    rtp: SocketAddr,
    pid: u32,
}

impl Janus {
    fn from_env() -> Option<Self> {
        let url = std::env::var("JANUS_URL").ok()?;
        let rtp = std::env::var("JANUS_RTP").ok()?.parse().ok()?;
        let pid = std::env::var("JANUS_PID").ok()?.parse().ok()?;
        Some(Self { url, rtp, pid })
    }

    /// CPU seconds of all of Janus's threads, from their schedstat.
    fn cpu(&self) -> f64 {
        let mut ns = 0u64;
        for e in std::fs::read_dir(format!("/proc/{}/task", self.pid)).into_iter().flatten().flatten() {
            let stat = std::fs::read_to_string(e.path().join("schedstat")).unwrap_or_default();
            ns += stat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
        ns as f64 / 1e9
    }

    /// One viewer's session: create, attach the streaming plugin, watch mountpoint 1, answer
    /// Janus's offer with `client`, start.
    /// Returns the session's URL, to destroy it after the round.
    async fn watch(&self, http: &reqwest::Client, client: &mut Client) -> anyhow::Result<String> {
        let post = |path: String, body: serde_json::Value| {
            let http = http.clone();
            async move {
                let v: serde_json::Value = http.post(path).json(&body).send().await?.json().await?;
                anyhow::ensure!(v["janus"] != "error", "janus refused: {v}");
                anyhow::Ok(v)
            }
        };
        let session = post(self.url.clone(), serde_json::json!({"janus": "create", "transaction": "c"})).await?["data"]["id"]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("no session id"))?;
        let base = format!("{}/{session}", self.url);
        let handle =
            post(base.clone(), serde_json::json!({"janus": "attach", "plugin": "janus.plugin.streaming", "transaction": "a"}))
                .await?["data"]["id"]
                .as_u64()
                .ok_or_else(|| anyhow::anyhow!("no handle id"))?;
        let at = format!("{base}/{handle}");
        post(at.clone(), serde_json::json!({"janus": "message", "transaction": "w", "body": {"request": "watch", "id": 1}}))
            .await?;
        // The offer comes as an asynchronous event on the session's long poll.
        let offer = loop {
            let events: serde_json::Value = http.get(format!("{base}?maxev=5")).send().await?.json().await?;
            let events = if events.is_array() { events } else { serde_json::Value::Array(vec![events]) };
            if let Some(sdp) = events.as_array().into_iter().flatten().find_map(|e| e["jsep"]["sdp"].as_str().map(str::to_owned))
            {
                break sdp;
            }
        };
        let answer = client.rtc.sdp_api().accept_offer(SdpOffer::from_sdp_string(&offer)?)?;
        post(
            at.clone(),
            serde_json::json!({"janus": "message", "transaction": "s", "body": {"request": "start"},
                               "jsep": {"type": "answer", "sdp": answer.to_sdp_string()}}),
        )
        .await?;
        post(at, serde_json::json!({"janus": "trickle", "transaction": "t", "candidate": {"completed": true}})).await?;
        Ok(base)
    }
}

/// Sends the publishers' plain RTP to the mountpoint's ports (publisher i on `rtp` + 2i) until
/// `stop`: Opus-sized audio packets, or VP8 frames of three packets with payload descriptors.
fn rtp_source(rtp: SocketAddr, publishers: usize, shape: Shape, stop: Arc<AtomicBool>) {
    let s = UdpSocket::bind((rtp.ip(), 0)).unwrap();
    let interval = Duration::from_micros(1_000_000 / shape.frames_per_second());
    let (pt, step) = if shape == Shape::Audio { (111u8, 960u32) } else { (96u8, 3000u32) };
    let per_packet = shape.frame_bytes() / shape.packets_per_frame() as usize;
    let mut seq = vec![0u16; publishers];
    let mut ts = vec![0u32; publishers];
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        for p in 0..publishers {
            let dest = SocketAddr::new(rtp.ip(), rtp.port() + 2 * p as u16);
            for k in 0..shape.packets_per_frame() {
                let last = k + 1 == shape.packets_per_frame();
                let mut pkt = Vec::with_capacity(12 + 1 + per_packet);
                pkt.extend_from_slice(&[0x80, if last { 0x80 | pt } else { pt }]);
                pkt.extend_from_slice(&seq[p].to_be_bytes());
                pkt.extend_from_slice(&ts[p].to_be_bytes());
                pkt.extend_from_slice(&(0x1000_0000u32 + p as u32).to_be_bytes());
                if shape == Shape::Video {
                    // VP8 payload descriptor: S = 1 on a frame's first packet; its first payload
                    // byte (0x10, P = 0) marks a keyframe, so any viewer can decode.
                    pkt.push(if k == 0 { 0x10 } else { 0x00 });
                    if k == 0 {
                        pkt.push(0x10);
                        pkt.extend(std::iter::repeat_n(0x5au8, per_packet - 1));
                    } else {
                        pkt.extend(std::iter::repeat_n(0x5au8, per_packet));
                    }
                } else {
                    pkt.extend(std::iter::repeat_n(0x5au8, per_packet));
                }
                let _ = s.send_to(&pkt, dest);
                seq[p] = seq[p].wrapping_add(1);
            }
            ts[p] = ts[p].wrapping_add(step);
        }
        next += interval;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

fn round_janus(
    rt: &tokio::runtime::Runtime,
    janus: &Janus,
    shape: Shape,
    publishers: usize,
    subscribers: usize,
    secs: u64,
) -> Result {
    let http = reqwest::Client::new();
    let (mut clients, mut sessions) = (Vec::new(), Vec::new());
    for _ in 0..subscribers {
        let mut c = Client::bound(janus.rtp.ip());
        sessions.push(rt.block_on(janus.watch(&http, &mut c)).expect("a Janus viewer joins"));
        clients.push(c);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let source = {
        let (rtp, s) = (janus.rtp, stop.clone());
        std::thread::spawn(move || rtp_source(rtp, publishers, shape, s))
    };
    let second: Vec<Client> = clients.split_off(clients.len() / 2);
    let h1 = {
        let (s, r) = (stop.clone(), received.clone());
        std::thread::spawn(move || drive(clients, 0, shape, false, s, r))
    };
    let h2 = {
        let (s, r) = (stop.clone(), received.clone());
        std::thread::spawn(move || drive(second, 0, shape, false, s, r))
    };
    std::thread::sleep(Duration::from_secs(3));
    let (cpu0, n0) = (janus.cpu(), received.load(Ordering::Relaxed));
    std::thread::sleep(Duration::from_secs(secs));
    let (cpu1, n1) = (janus.cpu(), received.load(Ordering::Relaxed));
    stop.store(true, Ordering::Relaxed);
    for h in [source, h1, h2] {
        h.join().unwrap();
    }
    // Hang up, so the next round's Janus does not keep sending to this round's viewers.
    for session in sessions {
        let _ = rt.block_on(http.post(session).json(&serde_json::json!({"janus": "destroy", "transaction": "d"})).send());
    }
    let packets = n1 - n0;
    Result { cpu_us_per_packet: (cpu1 - cpu0) * 1e6 / packets.max(1) as f64, packets, seq_loss: 0.0 }
}

/// How the null forwarder sends its copies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NullSend {
    SendTo,
    SendMmsg,
}

/// The ceiling: receive a datagram, send it to every subscriber; nothing else.
fn round_null(shape: Shape, publishers: usize, subscribers: usize, secs: u64, how: NullSend) -> Result {
    let fwd = UdpSocket::bind("127.0.0.1:0").unwrap();
    fwd.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let fwd_addr = fwd.local_addr().unwrap();
    let sinks: Vec<UdpSocket> = (0..subscribers)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    let dests: Vec<SocketAddr> = sinks.iter().map(|s| s.local_addr().unwrap()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let tid = Arc::new(AtomicU64::new(0));
    let forwarder = {
        let (stop, tid) = (stop.clone(), tid.clone());
        std::thread::Builder::new()
            .name("null-forwarder".into())
            .spawn(move || {
                tid.store(tid_named("null-forwarder").unwrap_or(0) as u64, Ordering::Relaxed);
                let mut buf = vec![0u8; 2048];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok((n, _)) = fwd.recv_from(&mut buf) {
                        match how {
                            NullSend::SendTo => {
                                for d in &dests {
                                    let _ = fwd.send_to(&buf[..n], d);
                                }
                            }
                            NullSend::SendMmsg => {
                                let copies: Vec<(&[u8], SocketAddr)> = dests.iter().map(|d| (&buf[..n], *d)).collect();
                                stagecast_media::udp::send_all_std(&fwd, &copies);
                            }
                        }
                    }
                }
            })
            .unwrap()
    };
    let sender = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            let interval = Duration::from_micros(1_000_000 / shape.frames_per_second());
            let packet = vec![0x5au8; (shape.frame_bytes() as u64 / shape.packets_per_frame()) as usize + 40];
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..publishers as u64 * shape.packets_per_frame() {
                    let _ = s.send_to(&packet, fwd_addr);
                }
                next += interval;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        })
    };
    let sink = {
        let (stop, received) = (stop.clone(), received.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                let mut got = 0;
                for s in &sinks {
                    while s.recv_from(&mut buf).is_ok() {
                        got += 1;
                    }
                }
                received.fetch_add(got, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(500));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let t = tid.load(Ordering::Relaxed) as u32;
    let (cpu0, n0) = (stagecast_bench::thread_cpu_seconds(Some(t)), received.load(Ordering::Relaxed));
    std::thread::sleep(Duration::from_secs(secs));
    let (cpu1, n1) = (stagecast_bench::thread_cpu_seconds(Some(t)), received.load(Ordering::Relaxed));
    stop.store(true, Ordering::Relaxed);
    for h in [forwarder, sender, sink] {
        h.join().unwrap();
    }
    let packets = n1 - n0;
    Result { cpu_us_per_packet: (cpu1 - cpu0) * 1e6 / packets.max(1) as f64, packets, seq_loss: 0.0 }
}

/// Pumps `clients` every 200 µs (the publisher, first, sending 30 frames a second) until the
/// last one has decoded a frame; the time since `t0`, or None after 5 s.
fn until_first_frame(clients: &mut [&mut Client], t0: Instant) -> Option<Duration> {
    let mut buf = vec![0u8; 2048];
    while t0.elapsed() < Duration::from_secs(5) {
        let n = clients.len();
        for (k, c) in clients.iter_mut().enumerate() {
            if k == 0 {
                c.tick();
            }
            if c.pump(&mut buf) > 0 && k == n - 1 {
                return Some(t0.elapsed());
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    None
}

/// One subscriber joining through the SFU, where a publisher is already sending video: from
/// minting its media token to its first decoded frame.
fn join_through_sfu(
    worker: &stagecast_media::worker::WorkerHandle,
    publisher: &mut Client,
    signer: &stagecast_authn::Signer,
    verifier: &stagecast_authn::Verifier,
    i: usize,
    checks: &mut stagecast_bench::Latencies,
) -> Option<Duration> {
    let t0 = Instant::now();
    let now = chrono::Utc::now().timestamp();
    let grants = MediaGrants { subscribe: true, publish: vec![], hidden: false, ..Default::default() };
    let mut minted = claims(format!("viewer{i}"), grants);
    minted.aud = stagecast_authn::MEDIA_AUDIENCE.into();
    (minted.iat, minted.exp) = (now, now + 300);
    let token = signer.sign(&minted);
    // The check the SFU's HTTP endpoint makes before it queues the join.
    let checked = Instant::now();
    let verified = stagecast_media::tokens::verify(verifier, &token, now).ok()?;
    checks.record(checked.elapsed());
    let mut c = Client::new();
    let (offer, sources) = c.offer(None);
    let joined = join(worker, &mut c, verified, offer, sources)?;
    let took = until_first_frame(&mut [publisher, &mut c], t0);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let _ = worker.tx.blocking_send(stagecast_media::worker::Command::Disconnect(joined.peer, tx));
    let _ = rx.blocking_recv();
    took
}

/// The ceiling: the same client connecting straight to a str0m publisher (offer, answer, ICE,
/// DTLS, one frame), no SFU and no renegotiation. The publisher's frame clock starts at a phase
/// spread over the 33 ms between frames by `i`, as the SFU's long-running publisher's is.
fn join_direct(i: usize) -> Option<Duration> {
    let t0 = Instant::now();
    let mut publisher = Client::new();
    publisher.next_frame = Some(t0 + Duration::from_millis((i as u64 * 13) % 33));
    let (offer, _) = publisher.offer(Some(MediaKind::Video));
    let mut viewer = Client::new();
    let answer = viewer.rtc.sdp_api().accept_offer(SdpOffer::from_sdp_string(&offer).ok()?).ok()?;
    publisher.rtc.sdp_api().accept_answer(publisher.pending.take()?, answer).ok()?;
    until_first_frame(&mut [&mut publisher, &mut viewer], t0)
}

fn join_mode(rt: &tokio::runtime::Runtime, joins: usize) {
    println!("sfu_forward join · {joins} subscribers join one by one while a publisher sends VP8 at 30 fps");
    let worker = start_worker(rt, stagecast_media::sfu::Forwarding { loudest_audio: 0, ..Default::default() });
    let signer = stagecast_authn::Signer::generate();
    let verifier = stagecast_authn::Verifier::new(
        &stagecast_authn::Jwks { keys: vec![signer.jwk()] },
        stagecast_authn::ISSUER,
        stagecast_authn::MEDIA_AUDIENCE,
    )
    .unwrap();
    let mut publisher = Client::new();
    let (offer, sources) = publisher.offer(Some(MediaKind::Video));
    let grants = MediaGrants { subscribe: false, publish: TrackSource::ALL.to_vec(), hidden: false, ..Default::default() };
    join(&worker, &mut publisher, claims("host".into(), grants), offer, sources).expect("the SFU takes the publisher");
    // The publisher connects and streams for a second before the first viewer comes.
    let warm = Instant::now();
    let mut buf = vec![0u8; 2048];
    while warm.elapsed() < Duration::from_secs(1) {
        publisher.tick();
        publisher.pump(&mut buf);
        std::thread::sleep(Duration::from_micros(200));
    }
    let (mut sfu, mut direct) = (stagecast_bench::Latencies::default(), stagecast_bench::Latencies::default());
    let mut failed = (0, 0);
    let mut checks = stagecast_bench::Latencies::default();
    for i in 0..joins {
        match join_through_sfu(&worker, &mut publisher, &signer, &verifier, i, &mut checks) {
            Some(d) => sfu.record(d),
            None => failed.0 += 1,
        }
        match join_direct(i) {
            Some(d) => direct.record(d),
            None => failed.1 += 1,
        }
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let _ = worker.tx.blocking_send(stagecast_media::worker::Command::Shutdown(tx));
    let _ = rx.blocking_recv();
    let (s50, s99, smax) = (sfu.quantile_ms(0.5), sfu.quantile_ms(0.99), sfu.quantile_ms(1.0));
    let (d50, d99, dmax) = (direct.quantile_ms(0.5), direct.quantile_ms(0.99), direct.quantile_ms(1.0));
    println!(
        "sfu:    token → first decoded frame p50 {s50:.1} ms · p99 {s99:.1} ms · max {smax:.1} ms ({} joins, {} failed)",
        sfu.len(),
        failed.0
    );
    println!(
        "direct: offer → first decoded frame p50 {d50:.1} ms · p99 {d99:.1} ms · max {dmax:.1} ms ({} joins, {} failed)",
        direct.len(),
        failed.1
    );
    let check = checks.quantile_ms(0.5);
    println!(
        "token check (signature, expiry, audience): p50 {:.0} µs, {:.2}% of the join's p50 (target: never the bottleneck)",
        check * 1000.0,
        100.0 * check / s50
    );
    println!(
        "sfu ÷ direct: p50 {:.2} · p99 {:.2} · target p99 < 150 ms: {}",
        s50 / d50,
        s99 / d99,
        if s99 < 150.0 && failed.0 == 0 { "met" } else { "not met" }
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("join") {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        join_mode(&rt, args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50usize).clamp(1, 1000));
        return;
    }
    if args.get(1).map(String::as_str) == Some("spaces") {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let ladder: Vec<usize> =
            args.get(2).map(|l| l.split(',').filter_map(|n| n.parse().ok()).collect()).unwrap_or_else(|| vec![50, 100, 200, 400]);
        let secs = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(5u64).clamp(1, 120);
        let probe_every = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(50usize);
        let loudest = args.get(5).and_then(|a| a.parse().ok()).unwrap_or(stagecast_media::sfu::DEFAULT_LOUDEST_AUDIO);
        // PATH: `direct` (the default: the SFU seals forwarded audio itself) or `str0m`.
        let via_str0m = args.get(6).map(String::as_str) == Some("str0m");
        spaces_mode(&rt, &ladder, secs, probe_every, loudest, via_str0m);
        return;
    }
    let arg = |i: usize, d: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let shape = if args.get(1).map(String::as_str) == Some("video") { Shape::Video } else { Shape::Audio };
    let publishers = arg(2, if shape == Shape::Audio { 10 } else { 1 }) as usize;
    let subscribers = arg(3, 20) as usize;
    let secs = arg(4, 5).clamp(1, 120);
    let rounds = arg(5, 3).clamp(1, 20);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let expected = publishers as u64 * subscribers as u64 * shape.frames_per_second() * shape.packets_per_frame();
    println!(
        "sfu_forward {} · {publishers} publishers → {subscribers} subscribers · expect {expected} forwarded packets/s · {secs} s × {rounds} rounds",
        if shape == Shape::Audio { "audio" } else { "video" }
    );
    let janus = Janus::from_env();
    let (mut ours, mut null, mut null_mmsg, mut peer) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in 1..=rounds {
        if let Some(janus) = &janus {
            let j = round_janus(&rt, janus, shape, publishers, subscribers, secs);
            println!(
                "round {r}: janus {:.2} µs/packet ({} packets, {:.0}% of expected)",
                j.cpu_us_per_packet,
                j.packets,
                100.0 * j.packets as f64 / (expected * secs) as f64
            );
            peer.push(j.cpu_us_per_packet);
        }
        let s = round_sfu(&rt, shape, publishers, subscribers, secs);
        let n = round_null(shape, publishers, subscribers, secs, NullSend::SendTo);
        let m = round_null(shape, publishers, subscribers, secs, NullSend::SendMmsg);
        println!(
            "round {r}: sfu {:.2} µs/packet ({} packets, {:.0}% of expected) · null forwarder sendto {:.2} µs/packet ({} packets) · sendmmsg {:.2} µs/packet ({} packets)",
            s.cpu_us_per_packet,
            s.packets,
            100.0 * s.packets as f64 / (expected * secs) as f64,
            n.cpu_us_per_packet,
            n.packets,
            m.cpu_us_per_packet,
            m.packets
        );
        ours.push(s.cpu_us_per_packet);
        null.push(n.cpu_us_per_packet);
        null_mmsg.push(m.cpu_us_per_packet);
    }
    let o = stagecast_bench::median(&ours);
    let (n, m) = (stagecast_bench::median(&null), stagecast_bench::median(&null_mmsg));
    println!(
        "median: sfu {o:.2} µs CPU per forwarded packet · null forwarder sendto {n:.2} µs, sendmmsg {m:.2} µs · sfu efficiency {:.0}% of the sendmmsg ceiling ({:.0}% of sendto)",
        100.0 * m / o,
        100.0 * n / o
    );
    if !peer.is_empty() {
        let j = stagecast_bench::median(&peer);
        println!(
            "median: janus {j:.2} µs CPU per forwarded packet · subscribers per core, sfu ÷ janus: {:.2} (target >= 2)",
            j / o
        );
    }
}

/// A Spaces-sized stage: 10 speakers (Opus, 50 packets/s each, each at its own RFC 6464 level,
/// all of them talking, their frame clocks spread over the 20 ms as independent microphones'
/// are) → N listeners, for each N of the ladder: the share of packets lost (from the sequence
/// numbers the light listeners saw), the send-to-receive delay at the probes (one listener in
/// `probe_every`, which decrypt like a browser, on a thread of their own with the speakers), and
/// the SFU's CPU per forwarded packet against the `sendmmsg` null forwarder carrying the same
/// packets with the same fan-out. The SFU forwards the `loudest` loudest speakers
/// (`MEDIA_LOUDEST_AUDIO`; 0: all ten). The delay runs from the speaker's write (its frame goes
/// out when the loop polls it, later in the same pass) to the kernel's receive stamp on the
/// probe's socket (SO_TIMESTAMPNS), so the probes' own reading is not in it: it is the speaker's
/// str0m and send, loopback twice, and the SFU (its socket queue, its work, its place in the
/// fan-out), on two cores shared with the load.
///
///   sfu_forward spaces 300,500,700,1000 15 50 3   # ladder, seconds per step, probe_every, loudest
fn spaces_mode(rt: &tokio::runtime::Runtime, ladder: &[usize], secs: u64, probe_every: usize, loudest: usize, via_str0m: bool) {
    const SPEAKERS: usize = 10;
    // What each listener should get: the loudest `loudest` speakers, or all of them.
    let forwarded = if loudest == 0 { SPEAKERS } else { loudest.min(SPEAKERS) };
    println!(
        "sfu_forward spaces · {SPEAKERS} speakers, all talking, the SFU forwards the loudest {forwarded} (MEDIA_LOUDEST_AUDIO={loudest}) {} → listeners {ladder:?} · {secs} s each · {}",
        if via_str0m {
            "through each listener's str0m (MEDIA_DIRECT_AUDIO=false)"
        } else {
            "sealing it itself (MEDIA_DIRECT_AUDIO=true)"
        },
        if probe_every > 0 {
            format!("one listener in {probe_every} decrypts and measures the delay, the rest count SRTP packets at their socket")
        } else {
            "every listener decrypts".into()
        }
    );
    let (mut held, mut held_fast) = (0, 0);
    for &listeners in ladder {
        ALL_DELAYS.lock().unwrap_or_else(|e| e.into_inner()).clear();
        // Speakers at -10, -14, … -46 dBov: every one of them talking (above the SFU's -50).
        let crowd =
            Crowd { probe_every, levels: (0..SPEAKERS).map(|i| -10 - 4 * i as i8).collect(), loudest, spread: true, via_str0m };
        let s = round_sfu_with(rt, Shape::Audio, SPEAKERS, listeners, secs, &crowd);
        let mut delays = std::mem::take(&mut *ALL_DELAYS.lock().unwrap_or_else(|e| e.into_inner()));
        delays.sort_unstable();
        let p99 = delays.get(delays.len().saturating_sub(1) * 99 / 100).copied().unwrap_or(u32::MAX);
        let p50 = delays.get(delays.len() / 2).copied().unwrap_or(u32::MAX);
        // The ceiling carries what the SFU forwards: the same packets per second and fan-out.
        let m = round_null(Shape::Audio, forwarded, listeners, secs, NullSend::SendMmsg);
        let expected = (forwarded * listeners) as u64 * Shape::Audio.frames_per_second() * secs;
        let delivered = s.packets as f64 / expected as f64;
        // Held: at most 0.5% missing from the sequence numbers the listeners saw, and the count
        // (which a late-reading load generator blurs by a percent or two) says every listener
        // had all the streams it should.
        let ok = s.seq_loss <= 0.005 && delivered >= 0.98;
        if ok {
            held = listeners;
            if p99 < 5_000 {
                held_fast = listeners;
            }
        }
        println!(
            "{listeners} listeners: {:.3}% lost (sequence numbers) · {:.2}% of the expected packets counted · send-to-probe-socket delay p50 {:.2} ms p99 {:.2} ms · sfu {:.2} µs/packet · null sendmmsg {:.2} µs/packet ({:.1}% delivered) · ratio {:.2}× the null forwarder{}",
            100.0 * s.seq_loss,
            100.0 * delivered,
            f64::from(p50) / 1000.0,
            f64::from(p99) / 1000.0,
            s.cpu_us_per_packet,
            m.cpu_us_per_packet,
            100.0 * m.packets as f64 / expected as f64,
            s.cpu_us_per_packet / m.cpu_us_per_packet,
            if ok { "" } else { " · NOT HELD" }
        );
    }
    println!(
        "most listeners held: {held} at ≤ 0.5% lost; {held_fast} also at p99 < 5 ms from send to the probe's socket (target ≥ 1,000 at p99 added delay < 5 ms; audio ≤ 2.0× the null forwarder)"
    );
}
