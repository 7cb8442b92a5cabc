//! A WHIP publisher standing in for OBS or a browser: a str0m peer on a real UDP socket sending a
//! camera of real VP8 (GStreamer's encoder, packetized by `rtpvp8pay`) to the SFU. It runs in
//! str0m's RTP mode so a test can hold a packet back (deliver it late: the SFU still gets every
//! packet, the egress worker's jitter buffer has given up on it by then), and it records every
//! keyframe request (PLI / FIR) that reaches it, answering each with a keyframe as a browser does.
use std::{
    collections::VecDeque,
    net::UdpSocket,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use gstreamer as gst;
use gstreamer::prelude::*;
use str0m::{
    Candidate, Event, Input, Output, Rtc,
    change::SdpAnswer,
    format::Codec,
    media::{Direction, MediaKind, Mid},
    net::{Protocol, Receive},
    rtp::RtpWrite,
};

/// How late a held-back packet goes out: well past the egress's 150 ms jitter buffer, and far
/// fewer packets later than the 64 after which the SFU itself would call it lost.
const HOLD_FOR: Duration = Duration::from_millis(400);

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    connected: AtomicBool,
    /// When each keyframe request arrived.
    keyframe_requests: Mutex<Vec<Instant>>,
    /// Hold back one packet every `.0` until `.1`, the next one at `.2`.
    holds: Mutex<Option<(Duration, Instant, Instant)>>,
}

pub struct Publisher {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
    pipeline: gst::Element,
    /// The WHIP resource (`/rtc/v1/whip/{id}`), and the token that may end it.
    location: String,
    token: String,
    sfu_url: String,
}

/// One RTP packet from the payloader, to be written under our own sequence numbers.
struct Packet {
    seq: u64,
    timestamp: u32,
    marker: bool,
    payload: Vec<u8>,
}

impl Publisher {
    /// Publishes a camera over WHIP with `token`; returns once the SFU answered (media flows
    /// once ICE and DTLS are through: [`Publisher::connected`]).
    pub async fn whip(sfu_url: &str, token: &str) -> Publisher {
        gst::init().unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(2))).unwrap();
        let mut rtc = Rtc::builder().set_rtp_mode(true).clear_codecs().enable_vp8(true).build(Instant::now());
        rtc.add_local_candidate(Candidate::host(socket.local_addr().unwrap(), "udp").unwrap());
        let mut change = rtc.sdp_api();
        let mid = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let r = reqwest::Client::new()
            .post(format!("{sfu_url}/rtc/v1/whip"))
            .bearer_auth(token)
            .header("content-type", "application/sdp")
            .body(offer.to_sdp_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED, "WHIP publish refused");
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let answer = SdpAnswer::from_sdp_string(&r.text().await.unwrap()).unwrap();
        rtc.sdp_api().accept_answer(pending, answer).unwrap();

        // A moving picture, so every frame differs; keyframes only when asked, and every 10 s.
        let pipeline = gst::parse::launch(
            "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=180,framerate=15/1 \
             ! vp8enc deadline=1 keyframe-max-dist=150 target-bitrate=300000 ! rtpvp8pay mtu=1000 \
             ! appsink name=rtp sync=false max-buffers=200 drop=true",
        )
        .unwrap();
        let sink =
            pipeline.downcast_ref::<gst::Bin>().unwrap().by_name("rtp").unwrap().downcast::<gstreamer_app::AppSink>().unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let thread = std::thread::spawn(move || run(rtc, socket, mid, sink, s));
        Publisher { shared, thread: Some(thread), pipeline, location, token: token.to_owned(), sfu_url: sfu_url.to_owned() }
    }

    pub fn connected(&self) -> bool {
        self.shared.connected.load(Ordering::Relaxed)
    }

    /// Waits until ICE and DTLS are through and media flows.
    pub async fn wait_connected(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.connected() {
            assert!(Instant::now() < deadline, "the publisher did not connect to the SFU");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// When each keyframe request arrived, so far.
    pub fn keyframe_requests(&self) -> Vec<Instant> {
        self.shared.keyframe_requests.lock().unwrap().clone()
    }

    /// From now on, holds back one packet every `every` (each goes out [`HOLD_FOR`] late) for
    /// `during`.
    pub fn hold_back(&self, every: Duration, during: Duration) {
        let now = Instant::now();
        *self.shared.holds.lock().unwrap() = Some((every, now + during, now));
    }

    /// Ends the WHIP session (as OBS does when it stops streaming): the SFU drops the peer at once.
    pub async fn leave(mut self) {
        let r = reqwest::Client::new()
            .delete(format!("{}{}", self.sfu_url, self.location))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK, "WHIP session ended");
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Seq, timestamp, marker and payload of a plain RTP packet (no padding: `rtpvp8pay` adds none).
fn parse_rtp(b: &[u8]) -> Option<(u32, bool, &[u8])> {
    if b.len() < 12 {
        return None;
    }
    let marker = b[1] & 0x80 != 0;
    let timestamp = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    let mut off = 12 + 4 * (b[0] & 0x0f) as usize;
    if b[0] & 0x10 != 0 {
        let len = u16::from_be_bytes([*b.get(off + 2)?, *b.get(off + 3)?]) as usize;
        off += 4 + 4 * len;
    }
    Some((timestamp, marker, b.get(off..)?))
}

fn run(mut rtc: Rtc, socket: UdpSocket, mid: Mid, sink: gstreamer_app::AppSink, shared: Arc<Shared>) {
    let local = socket.local_addr().unwrap();
    let pt = rtc.codec_config().find(|p| p.spec().codec == Codec::Vp8).map(|p| p.pt()).unwrap();
    let mut buf = vec![0u8; 2048];
    let mut next_seq: u64 = 1000;
    let mut held: VecDeque<(Instant, Packet)> = VecDeque::new();
    let write = |rtc: &mut Rtc, p: Packet, now: Instant| {
        if let Some(tx) = rtc.direct_api().stream_tx_by_mid(mid, None) {
            tx.write_rtp(RtpWrite::new(pt, p.seq.into(), p.timestamp, now, p.payload).marker(p.marker).nackable(true));
        }
    };
    while !shared.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while let Some(sample) = sink.try_pull_sample(gst::ClockTime::ZERO) {
            let Some(buffer) = sample.buffer() else { continue };
            let Ok(map) = buffer.map_readable() else { continue };
            let Some((timestamp, marker, payload)) = parse_rtp(map.as_slice()) else { continue };
            if !shared.connected.load(Ordering::Relaxed) {
                continue;
            }
            let p = Packet { seq: next_seq, timestamp, marker, payload: payload.to_vec() };
            next_seq += 1;
            let hold = {
                let mut holds = shared.holds.lock().unwrap();
                match *holds {
                    Some((_, until, _)) if now >= until => {
                        *holds = None;
                        false
                    }
                    Some((every, until, next)) if now >= next => {
                        *holds = Some((every, until, now + every));
                        true
                    }
                    _ => false,
                }
            };
            if hold {
                held.push_back((now + HOLD_FOR, p));
            } else {
                write(&mut rtc, p, now);
            }
        }
        while held.front().is_some_and(|(at, _)| *at <= now) {
            let (_, p) = held.pop_front().unwrap();
            write(&mut rtc, p, now);
        }
        loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(_)) => break,
                Ok(Output::Transmit(t)) => {
                    let _ = socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(Event::Connected)) => shared.connected.store(true, Ordering::Relaxed),
                Ok(Output::Event(Event::KeyframeRequest(_))) => {
                    shared.keyframe_requests.lock().unwrap().push(Instant::now());
                    // As a browser does: the next frame is a keyframe.
                    let ask = gstreamer_video::UpstreamForceKeyUnitEvent::builder().all_headers(true).build();
                    sink.static_pad("sink").unwrap().push_event(ask);
                }
                Ok(Output::Event(_)) => {}
                Err(_) => return,
            }
        }
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                if let Ok(contents) = buf[..n].try_into() {
                    let input = Input::Receive(
                        Instant::now(),
                        Receive { proto: Protocol::Udp, source: from, destination: local, contents },
                    );
                    if rtc.handle_input(input).is_err() {
                        return;
                    }
                }
            }
            Err(_) => {
                if rtc.handle_input(Input::Timeout(Instant::now())).is_err() {
                    return;
                }
            }
        }
    }
}
