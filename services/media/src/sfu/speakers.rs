//! Active-speaker detection from RFC 6464 audio levels, announced to the room.
use super::*;

/// How often the active speaker is re-evaluated.
const SPEAKER_INTERVAL: Duration = Duration::from_millis(300);

/// RFC 6464 level (-dBov) above which a participant counts as speaking.
const SPEAKING_LEVEL: i8 = -50;

impl Sfu {
    pub(super) fn update_speakers(&mut self, now: Instant) {
        if self.next_speaker_check.is_some_and(|t| now < t) {
            return;
        }
        self.next_speaker_check = Some(now + SPEAKER_INTERVAL);
        let mut loudest: BTreeMap<&str, (f32, Option<&Peer>)> = BTreeMap::new();
        for p in &self.peers {
            let speaking =
                p.level >= SPEAKING_LEVEL as f32 && p.tracks_in.iter().any(|t| t.source == TrackSource::Microphone && !t.muted());
            let entry = loudest.entry(p.room.as_str()).or_insert((f32::MIN, None));
            // The backstage is never announced to the room as its speaker.
            if speaking && p.visible() && !p.grants.backstage && p.level > entry.0 {
                *entry = (p.level, Some(p));
            }
        }
        let mut changes = Vec::new();
        for (room, (_, peer)) in loudest {
            let now_speaking = peer.map(|p| p.id);
            if self.speakers.get(room).copied().flatten() != now_speaking {
                changes.push((room.to_owned(), now_speaking, peer.map(|p| p.user_id.clone()).unwrap_or_default()));
            }
        }
        self.speakers.retain(|room, _| self.peers.iter().any(|p| &p.room == room));
        for (room, speaker, user_id) in changes {
            self.speakers.insert(room.clone(), speaker);
            let msg = ServerMessage::ActiveSpeaker { participant_id: speaker.map(|s| s.to_string()) };
            for q in self.peers.iter_mut().filter(|q| q.room == room) {
                q.send(&msg);
            }
            self.events.push(RoomEvent::ActiveSpeaker { room, peer: speaker, user_id });
        }
        // Ranked on the levels as they are, before the decay below pulls them all down.
        self.rank_loudest();
        // Levels decay when packets stop (muted, left): a silent participant is not the speaker.
        for p in &mut self.peers {
            p.level = 0.9 * p.level + 0.1 * -127.0;
        }
    }
}
