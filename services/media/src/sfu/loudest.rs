//! Loudest-speaker audio routing: subscribers get the audio of a room's `n` loudest speakers
//! (by their RFC 6464 levels), not of every microphone on the stage. Three voices at once is
//! already crosstalk; a fourth adds nothing a listener can follow, yet costs every listener's
//! SRTP and a datagram — on a Spaces-sized stage, most of the SFU's work (Jitsi Videobridge
//! offers the same, as "route loudest only").
//!
//! - Ranked with the active speaker (every 300 ms), from the smoothed levels just before they
//!   decay (`speakers.rs`), so the quietest member's level is its steady one. Between rankings a
//!   speaker louder than that by [`HYSTERESIS_DB`] is forwarded at once, so a new voice is not
//!   cut for up to a ranking, and two voices of nearly the same level do not take turns.
//! - A room with `n` or fewer ranked speakers forwards everything.
//! - Unranked, so always forwarded: a track whose packets carry no level (a WHIP encoder
//!   without the extension), and the backstage (its audio reaches only those who see it).
//! - What is held back is held back from participants only: taps (the recording mixes every
//!   voice) and WHEP viewers (bound to one publisher's track) get every packet.
//! - A held-back packet leaves no gap in the subscriber's sequence numbers (see
//!   `TrackIn::held_back`): a receiver counts a gap as loss; the timestamps jump as they do
//!   after DTX, which decoders expect.
use super::*;

/// How much louder than the quietest ranked speaker a voice must be to be forwarded before the
/// next ranking.
const HYSTERESIS_DB: f32 = 3.0;

/// The default number of loudest speakers forwarded (`MEDIA_LOUDEST_AUDIO`).
pub const DEFAULT_LOUDEST_AUDIO: usize = 3;

/// The speakers of one room whose audio goes to subscribers.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct RoomLoudest {
    members: Vec<PeerId>,
    /// The level of the quietest member when someone was left out: a packet louder than it is
    /// forwarded too. `None`: nobody was left out, everything is forwarded.
    floor: Option<f32>,
}

impl RoomLoudest {
    /// Keeps the `n` loudest of `candidates` (peer, smoothed level in -dBov); ties go to the
    /// older connection, so equal voices do not trade places from one ranking to the next.
    pub(super) fn rank(n: usize, mut candidates: Vec<(PeerId, f32)>) -> Self {
        candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let left_out = candidates.len() > n;
        candidates.truncate(n);
        let floor = if left_out { candidates.last().map(|c| c.1) } else { None };
        Self { members: candidates.into_iter().map(|c| c.0).collect(), floor }
    }

    /// Whether a packet of `peer`, whose smoothed level is now `level`, goes to subscribers.
    pub(super) fn forwards(&self, peer: PeerId, level: f32) -> bool {
        match self.floor {
            None => true,
            Some(floor) => level > floor + HYSTERESIS_DB || self.members.contains(&peer),
        }
    }
}

impl Sfu {
    /// Re-ranks every room's speakers (when routing by loudness at all).
    pub(super) fn rank_loudest(&mut self) {
        if self.loudest_audio == 0 {
            return;
        }
        let mut rooms: HashMap<&str, Vec<(PeerId, f32)>> = HashMap::new();
        for p in &self.peers {
            let ranked =
                !p.grants.backstage && p.tracks_in.iter().any(|t| t.source == TrackSource::Microphone && t.levels && !t.muted());
            if ranked {
                rooms.entry(p.room.as_str()).or_default().push((p.id, p.level));
            }
        }
        let n = self.loudest_audio;
        self.loudest = rooms.into_iter().map(|(room, c)| (room.to_owned(), RoomLoudest::rank(n, c))).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u64) -> PeerId {
        PeerId(n)
    }

    #[test]
    fn a_room_with_no_more_speakers_than_the_limit_forwards_everyone() {
        let r = RoomLoudest::rank(3, vec![(p(1), -20.0), (p(2), -90.0), (p(3), -127.0)]);
        assert_eq!(r.floor, None);
        for (peer, level) in [(p(1), -20.0), (p(3), -127.0), (p(9), -127.0)] {
            assert!(r.forwards(peer, level), "{peer:?}");
        }
    }

    #[test]
    fn only_the_loudest_are_forwarded_when_more_speak() {
        let r = RoomLoudest::rank(2, vec![(p(1), -40.0), (p(2), -20.0), (p(3), -60.0), (p(4), -30.0)]);
        assert_eq!(r.members, vec![p(2), p(4)]);
        assert_eq!(r.floor, Some(-30.0));
        assert!(r.forwards(p(2), -20.0));
        // A member stays forwarded until the next ranking, even while quieter for a moment.
        assert!(r.forwards(p(4), -70.0));
        assert!(!r.forwards(p(1), -40.0));
        assert!(!r.forwards(p(3), -60.0));
    }

    #[test]
    fn a_speaker_who_gets_louder_than_the_quietest_member_is_forwarded_before_the_next_ranking() {
        let r = RoomLoudest::rank(1, vec![(p(1), -30.0), (p(2), -80.0)]);
        assert!(!r.forwards(p(2), -80.0));
        assert!(!r.forwards(p(2), -28.0), "about as loud is not louder: no flapping between near equals");
        assert!(r.forwards(p(2), -25.0));
    }

    #[test]
    fn equal_voices_keep_their_places_by_age() {
        let a = RoomLoudest::rank(2, vec![(p(7), -30.0), (p(3), -30.0), (p(5), -30.0)]);
        let b = RoomLoudest::rank(2, vec![(p(5), -30.0), (p(7), -30.0), (p(3), -30.0)]);
        assert_eq!(a, b);
        assert_eq!(a.members, vec![p(3), p(5)]);
    }
}
