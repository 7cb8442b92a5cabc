//! RTP taps: plain RTP of a user's tracks to a UDP address, for the egress pipeline. A tap
//! follows the user across reconnects and republishes; the backstage is never tapped.
use super::*;

/// An RTP tap: one user's source in one room, to one UDP destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TapId(u64);

impl TapId {
    pub fn parse(s: &str) -> Option<Self> {
        s.strip_prefix("t").and_then(|n| n.parse().ok()).map(Self)
    }
}

impl fmt::Display for TapId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapInfo {
    pub id: TapId,
    pub source: TrackSource,
    pub codec: Option<TapCodec>,
    pub ssrc: u32,
}

pub(super) struct Tap {
    id: TapId,
    room: String,
    user_id: String,
    source: TrackSource,
    stream: RtpStream,
}

pub(super) fn tap_codec(codec: Codec) -> Option<TapCodec> {
    match codec {
        Codec::Opus => Some(TapCodec::Opus),
        Codec::Vp8 => Some(TapCodec::Vp8),
        Codec::H264 => Some(TapCodec::H264),
        _ => None,
    }
}

impl Sfu {
    /// Starts RTP taps of `user_id`'s `sources` in `room` to `destination` and asks for
    /// keyframes. The user need not be publishing yet: the tap starts with the first frame.
    pub fn start_tap(&mut self, room: &str, user_id: &str, sources: &[TrackSource], destination: SocketAddr) -> Vec<TapInfo> {
        let mut infos = Vec::with_capacity(sources.len());
        for &source in sources {
            let id = TapId(self.next_tap);
            self.next_tap += 1;
            let ssrc = (uuid::Uuid::new_v4().as_u128() as u32) | 1;
            let mut codec = None;
            for p in self.peers.iter().filter(|p| p.room == room && p.user_id == user_id) {
                for t in p.tracks_in.iter().filter(|t| t.source == source) {
                    codec = codec.or(t.codec);
                    if t.kind == MediaKind::Video {
                        self.queue.push_back(Propagated::KeyframeRequest(p.id, t.mid, KeyframeRequestKind::Pli));
                    }
                }
            }
            tracing::info!(tap = %id, room, user = user_id, source = source.as_str(), %destination, "tap started");
            self.taps.push(Tap {
                id,
                room: room.to_owned(),
                user_id: user_id.to_owned(),
                source,
                stream: RtpStream::new(destination, ssrc),
            });
            infos.push(TapInfo { id, source, codec, ssrc });
        }
        infos
    }

    /// Asks the publisher behind tap `id` for a keyframe on each of its video tracks of the
    /// tap's source (throttled per track like every other request). For a receiver that lost
    /// packets between the SFU and itself: the SFU saw no loss, so it would not ask by itself.
    /// `None` when there is no such tap; otherwise the number of tracks asked.
    pub fn request_tap_keyframe(&mut self, id: TapId) -> Option<u32> {
        let tap = self.taps.iter().find(|t| t.id == id)?;
        let mut asked = 0;
        for p in self.peers.iter().filter(|p| p.room == tap.room && p.user_id == tap.user_id && !p.grants.backstage) {
            for t in p.tracks_in.iter().filter(|t| t.source == tap.source && t.kind == MediaKind::Video) {
                self.queue.push_back(Propagated::KeyframeRequest(p.id, t.mid, KeyframeRequestKind::Pli));
                asked += 1;
            }
        }
        Some(asked)
    }

    pub fn stop_tap(&mut self, id: TapId) -> bool {
        let before = self.taps.len();
        self.taps.retain(|t| t.id != id);
        before != self.taps.len()
    }

    pub(super) fn tap(&mut self, now: Instant, f: &Forward) {
        let Some(i) = self.index(f.origin) else { return };
        let p = &self.peers[i];
        // The backstage has no place in a recording or a broadcast.
        if p.grants.backstage {
            return;
        }
        let Some(track) = p.tracks_in.iter().find(|t| t.mid == f.mid) else { return };
        let Some(codec) = tap_codec(f.params.spec().codec) else { return };
        for tap in self.taps.iter_mut().filter(|t| t.room == p.room && t.user_id == p.user_id && t.source == track.source) {
            let Some(pkt) = tap.stream.packet(codec, f.source(), f.seq, f.timestamp, f.marker, &f.payload, now) else {
                continue;
            };
            self.transmits.push(Transmit {
                proto: Protocol::Udp,
                source: self.local,
                destination: tap.stream.destination,
                contents: pkt.into(),
            });
        }
    }
}
