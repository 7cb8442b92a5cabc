//! The RTP tap for egress: plain (unencrypted) RTP of chosen tracks sent to a UDP address, for
//! the recording and restreaming pipelines (GStreamer `udpsrc ! rtp…depay`). The SFU forwards
//! whole frames, so the tap packetizes them again (RFC 7587 Opus, RFC 7741 VP8, RFC 6184 H.264
//! single NAL / FU-A), with its own SSRC, sequence numbers and fixed payload types per codec.
use std::net::SocketAddr;

/// Largest RTP payload a tap sends, so datagrams stay under a 1500-byte MTU with headers.
pub const MAX_PAYLOAD: usize = 1100;

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
#[derive(Debug, Clone)]
pub struct RtpStream {
    pub destination: SocketAddr,
    pub ssrc: u32,
    pub seq: u16,
}

impl RtpStream {
    pub fn new(destination: SocketAddr, ssrc: u32) -> Self {
        Self { destination, ssrc, seq: rand_seq(ssrc) }
    }

    /// Packetizes one frame; `timestamp` is in the codec's clock rate.
    pub fn packetize(&mut self, codec: TapCodec, timestamp: u32, frame: &[u8], out: &mut Vec<Vec<u8>>) {
        let payloads = match codec {
            TapCodec::Opus => vec![frame.to_vec()],
            TapCodec::Vp8 => vp8(frame),
            TapCodec::H264 => h264(frame),
        };
        let n = payloads.len();
        for (i, payload) in payloads.into_iter().enumerate() {
            // Audio: marker only at a talkspurt start, which we cannot know; leave it clear.
            let marker = codec != TapCodec::Opus && i + 1 == n;
            out.push(self.packet(codec.payload_type(), marker, timestamp, &payload));
        }
    }

    fn packet(&mut self, pt: u8, marker: bool, timestamp: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = Vec::with_capacity(12 + payload.len());
        p.push(0x80); // version 2, no padding, no extension, no CSRC
        p.push(if marker { 0x80 } else { 0 } | (pt & 0x7f));
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&timestamp.to_be_bytes());
        p.extend_from_slice(&self.ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        p
    }
}

/// A start sequence number derived from the SSRC (random enough; RFC 3550 asks for
/// unpredictability only against known-plaintext attacks on encryption, which a tap has none of).
fn rand_seq(ssrc: u32) -> u16 {
    (ssrc.wrapping_mul(2_654_435_761) >> 16) as u16
}

/// VP8 (RFC 7741): a one-byte descriptor, S set on the first fragment of the frame.
fn vp8(frame: &[u8]) -> Vec<Vec<u8>> {
    frame
        .chunks(MAX_PAYLOAD - 1)
        .enumerate()
        .map(|(i, chunk)| {
            let mut p = Vec::with_capacity(chunk.len() + 1);
            p.push(if i == 0 { 0x10 } else { 0x00 });
            p.extend_from_slice(chunk);
            p
        })
        .collect()
}

/// Splits an Annex B byte stream into NAL units (without start codes).
fn nal_units(frame: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= frame.len() {
        if frame[i] == 0 && frame[i + 1] == 0 && frame[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    if starts.is_empty() {
        return if frame.is_empty() { vec![] } else { vec![frame] };
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map(|n| n - 3).unwrap_or(frame.len());
        // A four-byte start code leaves a zero before the next three-byte one.
        while end > s && k + 1 < starts.len() && frame[end - 1] == 0 {
            end -= 1;
        }
        if end > s {
            nals.push(&frame[s..end]);
        }
    }
    nals
}

/// H.264 (RFC 6184): single NAL unit packets, FU-A for NAL units over the payload limit.
fn h264(frame: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for nal in nal_units(frame) {
        if nal.len() <= MAX_PAYLOAD {
            out.push(nal.to_vec());
            continue;
        }
        let header = nal[0];
        let indicator = (header & 0xe0) | 28;
        let body = &nal[1..];
        let chunks: Vec<&[u8]> = body.chunks(MAX_PAYLOAD - 2).collect();
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut fu = (header & 0x1f) | if i == 0 { 0x80 } else { 0 };
            if i == last {
                fu |= 0x40;
            }
            let mut p = Vec::with_capacity(chunk.len() + 2);
            p.push(indicator);
            p.push(fu);
            p.extend_from_slice(chunk);
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> RtpStream {
        RtpStream { destination: "127.0.0.1:9".parse().unwrap(), ssrc: 0x01020304, seq: 65535 }
    }

    #[test]
    fn an_opus_frame_is_one_packet_with_a_plain_rtp_header() {
        let mut s = stream();
        let mut out = vec![];
        s.packetize(TapCodec::Opus, 48_000, &[9, 9, 9], &mut out);
        assert_eq!(out, vec![vec![0x80, 111, 0xff, 0xff, 0, 0, 0xbb, 0x80, 1, 2, 3, 4, 9, 9, 9]]);
        assert_eq!(s.seq, 0, "sequence numbers wrap");
    }

    #[test]
    fn a_large_vp8_frame_is_fragmented_with_the_start_bit_and_marker_on_the_right_packets() {
        let mut s = stream();
        let mut out = vec![];
        s.packetize(TapCodec::Vp8, 90_000, &vec![7u8; 2500], &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0][12], 0x10);
        assert_eq!(out[1][12], 0x00);
        assert_eq!(out.iter().map(|p| p[1] & 0x80).collect::<Vec<_>>(), vec![0, 0, 0x80]);
        assert_eq!(out.iter().map(|p| p.len() - 13).sum::<usize>(), 2500);
        assert!(out.iter().all(|p| p.len() <= 12 + MAX_PAYLOAD));
    }

    #[test]
    fn h264_nal_units_are_split_at_start_codes_and_large_ones_become_fu_a() {
        let mut frame = vec![0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3];
        frame.extend_from_slice(&[0, 0, 1, 0x65]);
        frame.extend(std::iter::repeat_n(5u8, 3000));
        let mut s = stream();
        let mut out = vec![];
        s.packetize(TapCodec::H264, 0, &frame, &mut out);
        assert_eq!(&out[0][12..], &[0x67, 1, 2]);
        assert_eq!(&out[1][12..], &[0x68, 3]);
        let fus = &out[2..];
        assert_eq!(fus.len(), 3);
        assert_eq!(fus[0][12], 0x60 | 28, "FU indicator keeps NRI and type 28");
        assert_eq!(fus[0][13], 0x80 | 5, "start bit and the NAL type");
        assert_eq!(fus[2][13], 0x40 | 5, "end bit");
        assert_eq!(fus.iter().map(|p| p.len() - 14).sum::<usize>(), 3000);
        assert_eq!(out.last().unwrap()[1] & 0x80, 0x80, "marker on the frame's last packet");
    }
}
