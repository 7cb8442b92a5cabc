//! The RTP tap for egress: plain (unencrypted) RTP of chosen tracks sent to a UDP address, for
//! the recording and restreaming pipelines (GStreamer `udpsrc ! rtp…depay`). The SFU forwards
//! RTP packets, so the tap sends each packet's payload as it came (the publisher's packetization:
//! RFC 7587 Opus, RFC 7741 VP8, RFC 6184 H.264) under a plain header of its own: its SSRC, a
//! fixed payload type per codec, and sequence numbers and timestamps that stay continuous when
//! the user reconnects (a new source behind the same tap).
use std::{net::SocketAddr, time::Instant};

use str0m::media::Pt;

use crate::rewrite::{OutStream, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapCodec {
    Opus,
    Vp8,
    H264,
}

impl TapCodec {
    pub fn name(self) -> &'static str {
        match self {
            TapCodec::Opus => "opus",
            TapCodec::Vp8 => "vp8",
            TapCodec::H264 => "h264",
        }
    }

    /// The payload type a tap uses, announced in `StartTap`'s answer.
    pub fn payload_type(self) -> u8 {
        match self {
            TapCodec::Opus => 111,
            TapCodec::Vp8 => 96,
            TapCodec::H264 => 102,
        }
    }

    pub fn clock_rate(self) -> u32 {
        match self {
            TapCodec::Opus => 48_000,
            TapCodec::Vp8 | TapCodec::H264 => 90_000,
        }
    }
}

/// One track's RTP stream towards one destination.
#[derive(Debug)]
pub struct RtpStream {
    pub destination: SocketAddr,
    pub ssrc: u32,
    out: OutStream,
}

impl RtpStream {
    pub fn new(destination: SocketAddr, ssrc: u32) -> Self {
        Self { destination, ssrc, out: OutStream::starting_at(rand_seq(ssrc)) }
    }

    /// One forwarded packet as plain RTP (no header extensions, no CSRCs); `None` for a packet
    /// that predates the current source on this stream. `seq` is the source's extended sequence
    /// number, `timestamp` its RTP timestamp.
    #[allow(clippy::too_many_arguments)] // the fields of one RTP header, kept apart to stay plain
    pub fn packet(
        &mut self,
        codec: TapCodec,
        source: Source,
        seq: u64,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
        now: Instant,
    ) -> Option<Vec<u8>> {
        let pt = Pt::from(codec.payload_type());
        let m = self.out.map(source, pt, seq, timestamp, codec.clock_rate(), now, || Some(pt))?;
        let mut p = Vec::with_capacity(12 + payload.len());
        p.push(0x80); // version 2, no padding, no extension, no CSRC
        p.push(if marker { 0x80 } else { 0 } | (codec.payload_type() & 0x7f));
        p.extend_from_slice(&(m.seq as u16).to_be_bytes());
        p.extend_from_slice(&m.timestamp.to_be_bytes());
        p.extend_from_slice(&self.ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        Some(p)
    }
}

/// A start sequence number derived from the SSRC (random enough; RFC 3550 asks for
/// unpredictability only against known-plaintext attacks on encryption, which a tap has none of).
fn rand_seq(ssrc: u32) -> u16 {
    (ssrc.wrapping_mul(2_654_435_761) >> 16) as u16
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sfu::PeerId;

    fn stream() -> RtpStream {
        RtpStream { destination: "127.0.0.1:9".parse().unwrap(), ssrc: 0x01020304, out: OutStream::starting_at(65535) }
    }

    fn source(peer: &str, ssrc: u32) -> Source {
        Source { peer: PeerId::parse(peer).unwrap(), ssrc }
    }

    #[test]
    fn an_opus_packet_goes_out_under_a_plain_rtp_header_with_the_taps_ssrc() {
        let mut s = stream();
        let now = Instant::now();
        let p = s.packet(TapCodec::Opus, source("p1", 9), 700, 48_000, false, &[9, 9, 9], now).unwrap();
        assert_eq!(p, vec![0x80, 111, 0xff, 0xff, 0, 0, 0xbb, 0x80, 1, 2, 3, 4, 9, 9, 9]);
        let p = s.packet(TapCodec::Opus, source("p1", 9), 701, 48_960, false, &[9], now).unwrap();
        assert_eq!(&p[2..4], &[0, 0], "sequence numbers wrap");
    }

    #[test]
    fn a_video_packet_keeps_its_marker_and_payload_and_gets_the_taps_payload_type() {
        let mut s = stream();
        let payload = [0x10, 1, 2, 3];
        let p = s.packet(TapCodec::Vp8, source("p1", 9), 5, 90_000, true, &payload, Instant::now()).unwrap();
        assert_eq!(p[1], 0x80 | 96);
        assert_eq!(&p[12..], &payload);
        let p = s.packet(TapCodec::H264, source("p1", 9), 6, 90_000, false, &payload, Instant::now()).unwrap();
        assert_eq!(p[1], 102);
    }

    #[test]
    fn a_tap_that_follows_a_reconnecting_user_keeps_counting() {
        let mut s = stream();
        let t0 = Instant::now();
        s.packet(TapCodec::Opus, source("p1", 9), 100, 0, false, &[1], t0).unwrap();
        let p = s.packet(TapCodec::Opus, source("p2", 4), 31_000, 777, false, &[1], t0 + Duration::from_millis(20)).unwrap();
        assert_eq!(u16::from_be_bytes([p[2], p[3]]), 0, "one after 65535");
        assert_eq!(u32::from_be_bytes([p[4], p[5], p[6], p[7]]), 960, "20 ms later at 48 kHz");
    }
}
