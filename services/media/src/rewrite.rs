//! What forwarding RTP packets (rather than frames) needs per stream, as pure state machines so
//! they are tested without peers:
//! - [`OutStream`]: one outgoing stream (a subscriber's m-line, a WHEP slot, a tap). Its
//!   sequence numbers and timestamps stay continuous when the source behind it changes (a WHEP
//!   slot rebinding to another publisher, a tap following a user who reconnected, a publisher's
//!   new SSRC), because a receiver treats a jump as loss or a clock glitch rather than a new
//!   stream; and it remembers which payload type the receiver negotiated for each of the
//!   source's, so the codec match runs once per stream, not per packet.
//! - [`LossWatch`]: tells when a publisher's video packet is lost for good (neither arrived nor
//!   repaired by a retransmission in time), which is when subscribers need a keyframe.
use std::time::Instant;

use str0m::media::Pt;

use crate::sfu::PeerId;

/// Where an outgoing stream's packets come from: a publisher and the SSRC it sends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub peer: PeerId,
    pub ssrc: u32,
}

/// A packet's header fields as they go out on one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    pub pt: Pt,
    /// Extended (64-bit) sequence number; the rollover counter starts at 0 for every stream.
    pub seq: u64,
    pub timestamp: u32,
}

/// Payload-type mappings a stream keeps: a handful of codecs at most per source.
const MAX_PT_ENTRIES: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Last {
    seq: u64,
    timestamp: u32,
    at: Instant,
}

/// The rewriting state of one outgoing RTP stream.
#[derive(Debug, Default)]
pub struct OutStream {
    source: Option<Source>,
    /// The first outgoing sequence number, for a stream that has sent nothing yet. `None`: keep
    /// the first source's own (low 16 bits).
    start: Option<u16>,
    /// The current source's first sequence number: anything older would land on numbers the
    /// previous source already used.
    first_in: u64,
    seq_offset: u64,
    ts_offset: u32,
    last: Option<Last>,
    /// Source payload type → the receiver's, or `None` when the receiver has no such codec.
    pts: Vec<(Pt, Option<Pt>)>,
}

impl OutStream {
    /// A stream that numbers its packets from `start` (a tap announces its own stream).
    pub fn starting_at(start: u16) -> Self {
        Self { start: Some(start), ..Self::default() }
    }

    /// Maps one packet of `source` onto this stream; `None` means drop it (the receiver has no
    /// matching codec, or the packet predates the current source on this stream).
    ///
    /// `seq` is the source's extended sequence number, `clock_rate` its codec's (to carry the
    /// wall-clock gap across a source change into the timestamps), and `match_pt` finds the
    /// receiver's payload type for `pt` the first time this source uses it.
    #[allow(clippy::too_many_arguments)] // the fields of one RTP header, kept apart to stay plain
    pub fn map(
        &mut self,
        source: Source,
        pt: Pt,
        seq: u64,
        timestamp: u32,
        clock_rate: u32,
        now: Instant,
        match_pt: impl FnOnce() -> Option<Pt>,
    ) -> Option<Mapped> {
        if self.source != Some(source) {
            self.switch_to(source, seq, timestamp, clock_rate, now);
        }
        let out_pt = match self.pts.iter().find(|(from, _)| *from == pt) {
            Some(&(_, to)) => to,
            None => {
                let to = match_pt();
                if self.pts.len() < MAX_PT_ENTRIES {
                    self.pts.push((pt, to));
                }
                to
            }
        }?;
        if seq < self.first_in {
            return None;
        }
        let out_seq = seq.wrapping_add(self.seq_offset);
        let out_ts = timestamp.wrapping_add(self.ts_offset);
        if self.last.is_none_or(|l| out_seq > l.seq) {
            self.last = Some(Last { seq: out_seq, timestamp: out_ts, at: now });
        }
        Some(Mapped { pt: out_pt, seq: out_seq, timestamp: out_ts })
    }

    fn switch_to(&mut self, source: Source, seq: u64, timestamp: u32, clock_rate: u32, now: Instant) {
        let (out_seq, out_ts) = match self.last {
            None => (u64::from(self.start.unwrap_or(seq as u16)), timestamp),
            Some(l) => {
                // Advance the clock by the wall time since the last packet, at least one tick,
                // so the receiver's jitter buffer sees time move on as it did.
                let elapsed = now.saturating_duration_since(l.at).as_micros();
                let ticks = (elapsed * u128::from(clock_rate) / 1_000_000).clamp(1, u128::from(u32::MAX / 2)) as u32;
                (l.seq + 1, l.timestamp.wrapping_add(ticks))
            }
        };
        self.source = Some(source);
        self.first_in = seq;
        self.seq_offset = out_seq.wrapping_sub(seq);
        self.ts_offset = out_ts.wrapping_sub(timestamp);
        // Another source may number its payload types differently.
        self.pts.clear();
    }
}

/// Packets a lost one may trail by before it counts as lost for good: room for a NACK and its
/// retransmission (0.7 s of 30 fps video at 3 packets a frame, 0.25 s at 2.5 Mb/s).
const LOSS_WINDOW: u64 = 64;

/// Which of a video stream's recent packets arrived, by extended sequence number.
#[derive(Debug, Default)]
pub struct LossWatch {
    highest: Option<u64>,
    /// Bit i: packet `highest - i` arrived.
    arrived: u64,
    /// How many bits of `arrived` are about packets since the first one seen.
    span: u64,
}

impl LossWatch {
    /// Records an arrival; returns how many packets have just been given up for lost.
    pub fn record(&mut self, seq: u64) -> u64 {
        let Some(highest) = self.highest else {
            *self = Self { highest: Some(seq), arrived: 1, span: 1 };
            return 0;
        };
        if seq <= highest {
            let back = highest - seq;
            if back < self.span {
                self.arrived |= 1 << back;
            }
            return 0;
        }
        let shift = seq - highest;
        // Bits at positions >= LOSS_WINDOW - shift leave the window now; count the unset ones
        // among those that were tracked.
        let leaving_from = LOSS_WINDOW.saturating_sub(shift);
        let mut lost = 0;
        if leaving_from < self.span {
            let leaving = self.span - leaving_from;
            let mask = if leaving >= 64 { u64::MAX } else { ((1u64 << leaving) - 1) << leaving_from };
            lost += leaving - u64::from((self.arrived & mask).count_ones());
        }
        // Packets skipped over entirely by a jump wider than the window.
        lost += shift.saturating_sub(LOSS_WINDOW);
        self.arrived = if shift >= 64 { 0 } else { self.arrived << shift } | 1;
        self.span = (self.span + shift).min(LOSS_WINDOW);
        self.highest = Some(seq);
        lost
    }

    /// Forgets everything (the source's SSRC changed, so its numbering did too).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;

    fn src(peer: u64, ssrc: u32) -> Source {
        Source { peer: PeerId::parse(&format!("p{peer}")).unwrap(), ssrc }
    }

    fn pt(n: u8) -> Pt {
        Pt::from(n)
    }

    #[test]
    fn the_first_source_keeps_its_own_numbering_and_timestamps() {
        let mut s = OutStream::default();
        let now = Instant::now();
        let m = s.map(src(1, 7), pt(111), 70_000, 123_456, 48_000, now, || Some(pt(109))).unwrap();
        assert_eq!(m, Mapped { pt: pt(109), seq: 70_000 % 65_536, timestamp: 123_456 });
        let m = s.map(src(1, 7), pt(111), 70_001, 124_416, 48_000, now, || unreachable!()).unwrap();
        assert_eq!((m.seq, m.timestamp), (70_001 % 65_536, 124_416));
    }

    #[test]
    fn a_subscriber_keeps_continuous_sequence_numbers_when_the_publisher_switches_source() {
        let mut s = OutStream::default();
        let t0 = Instant::now();
        for k in 0..3u64 {
            s.map(src(1, 7), pt(96), 100 + k, 9_000 * k as u32, 90_000, t0, || Some(pt(96))).unwrap();
        }
        // Another publisher, 100 ms later, with unrelated numbering and its own payload types.
        let t1 = t0 + Duration::from_millis(100);
        let m = s.map(src(2, 8), pt(100), 50_000, 4_000_000_000, 90_000, t1, || Some(pt(98))).unwrap();
        assert_eq!(m.seq, 103, "one after the previous source's last packet");
        assert_eq!(m.timestamp, 18_000 + 9_000, "the last timestamp plus 100 ms at 90 kHz");
        assert_eq!(m.pt, pt(98), "the payload type is matched again for the new source");
        let m = s.map(src(2, 8), pt(100), 50_001, 4_000_003_000, 90_000, t1, || unreachable!()).unwrap();
        assert_eq!((m.seq, m.timestamp), (104, 30_000));
        // A late packet of the new source from before its first one has no number left.
        assert_eq!(s.map(src(2, 8), pt(100), 49_999, 3_999_997_000, 90_000, t1, || unreachable!()), None);
    }

    #[test]
    fn a_reordered_packet_keeps_its_place_and_timestamps_wrap() {
        let mut s = OutStream::default();
        let now = Instant::now();
        s.map(src(1, 7), pt(111), 10, u32::MAX - 100, 48_000, now, || Some(pt(111))).unwrap();
        let late = s.map(src(1, 7), pt(111), 12, (u32::MAX - 100).wrapping_add(1_920), 48_000, now, || unreachable!()).unwrap();
        let early = s.map(src(1, 7), pt(111), 11, (u32::MAX - 100).wrapping_add(960), 48_000, now, || unreachable!()).unwrap();
        assert_eq!((early.seq, late.seq), (11, 12));
        assert_eq!(late.timestamp, 1_919 - 100);
        // The next source continues after the highest number sent, not the last one.
        let m = s.map(src(1, 9), pt(111), 5, 0, 48_000, now, || Some(pt(111))).unwrap();
        assert_eq!(m.seq, 13);
    }

    #[test]
    fn a_payload_type_the_receiver_lacks_drops_packets_and_is_asked_about_once() {
        let mut s = OutStream::default();
        let now = Instant::now();
        let mut asked = 0;
        for k in 0..5 {
            let m = s.map(src(1, 7), pt(102), k, 0, 90_000, now, || {
                asked += 1;
                None
            });
            assert_eq!(m, None);
        }
        assert_eq!(asked, 1);
        assert_eq!(s.map(src(1, 7), pt(96), 5, 0, 90_000, now, || Some(pt(96))).map(|m| m.pt), Some(pt(96)));
    }

    #[test]
    fn a_tap_numbers_its_stream_from_its_own_start() {
        let mut s = OutStream::starting_at(65_535);
        let now = Instant::now();
        let a = s.map(src(1, 7), pt(111), 400, 0, 48_000, now, || Some(pt(111))).unwrap();
        let b = s.map(src(1, 7), pt(111), 401, 960, 48_000, now, || unreachable!()).unwrap();
        assert_eq!((a.seq as u16, b.seq as u16), (65_535, 0), "sequence numbers wrap on the wire");
        assert_eq!(b.seq, 65_536, "and keep counting in the extended number");
    }

    #[test]
    fn a_gap_filled_by_a_retransmission_is_not_a_loss() {
        let mut w = LossWatch::default();
        assert_eq!(w.record(1000), 0);
        assert_eq!(w.record(1002), 0);
        assert_eq!(w.record(1001), 0, "the retransmission arrives late");
        let lost: u64 = (1003..1200).map(|s| w.record(s)).sum();
        assert_eq!(lost, 0);
    }

    #[test]
    fn a_packet_never_repaired_counts_as_lost_once_it_leaves_the_window() {
        let mut w = LossWatch::default();
        w.record(0);
        w.record(2);
        let lost: Vec<u64> = (3..=70).map(|s| w.record(s)).collect();
        assert_eq!(lost.iter().sum::<u64>(), 1, "only packet 1");
        assert_eq!(lost.iter().position(|&n| n == 1), Some((1 + LOSS_WINDOW - 3) as usize), "as soon as it is 64 behind");
        assert_eq!(w.record(1), 0, "too late to matter");
    }

    #[test]
    fn a_jump_wider_than_the_window_counts_every_skipped_packet() {
        let mut w = LossWatch::default();
        w.record(10);
        w.record(11);
        assert_eq!(w.record(211), 136, "all but the 63 still inside the window");
        w.reset();
        assert_eq!(w.record(5), 0, "a reset starts over");
    }
}
