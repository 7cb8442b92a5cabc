//! The control API's effect on the room: server mutes, grants that change without a rejoin
//! (promotion, demotion, the green room), and removals.
use super::*;

/// Whether `sub` may see and hear `publisher`: everyone sees who is on air; only those who see
/// the backstage (host, co-hosts, moderators, the backstage itself) see the green room.
pub(super) fn sees(sub: &Peer, publisher: &Peer) -> bool {
    !publisher.grants.backstage || sub.grants.see_backstage
}

/// A publisher of a room, for [`Sfu::reconcile`]: its id, whether it is backstage, its tracks.
type Publisher = (PeerId, bool, Vec<(Mid, MediaKind)>);

impl Sfu {
    /// Server-side mute of `user_id`'s `source` tracks in `room`; returns how many were muted.
    pub fn mute(&mut self, room: &str, user_id: &str, source: TrackSource) -> u32 {
        let mut n = 0;
        for peer in self.peers.iter_mut().filter(|p| p.room == room && p.user_id == user_id) {
            let mut muted = Vec::new();
            for t in peer.tracks_in.iter_mut().filter(|t| t.source == source && !t.muted_by_server) {
                t.muted_by_server = true;
                muted.push(t.info());
            }
            if !muted.is_empty() || peer.declared.values().any(|s| *s == source) {
                peer.send(&ServerMessage::Muted { source, by_server: true });
            }
            for track in muted {
                n += 1;
                self.events.push(RoomEvent::TrackMuted {
                    room: room.to_owned(),
                    peer: peer.id,
                    user_id: peer.user_id.clone(),
                    track,
                    by_server: true,
                });
            }
        }
        if n > 0 {
            self.queue.push_back(Propagated::RoomChanged(room.to_owned()));
        }
        n
    }

    /// Replaces the grants of `user_id`'s peers in `room`; returns how many peers changed.
    pub fn update_grants(&mut self, room: &str, user_id: &str, grants: MediaGrants) -> u32 {
        self.update_grants_at(room, user_id, grants, unix_now())
    }

    /// [`Self::update_grants`] for a change made at `at` (unix seconds): peers whose token was
    /// minted after it already carry it (or something newer), and an older change never replaces
    /// a newer one for later joins.
    pub fn update_grants_at(&mut self, room: &str, user_id: &str, grants: MediaGrants, at: i64) -> u32 {
        // Also for whoever is not connected right now: their next join wins over an older token.
        self.overrides.grants_changed(room, user_id, grants.clone(), at);
        let mut n = 0;
        let ids: Vec<PeerId> =
            self.peers.iter().filter(|p| p.room == room && p.user_id == user_id && p.token_iat <= at).map(|p| p.id).collect();
        for id in ids {
            let Some(i) = self.index(id) else { continue };
            n += 1;
            let gained_subscribe = grants.subscribe && !self.peers[i].grants.subscribe;
            let peer = &mut self.peers[i];
            peer.grants = grants.clone();
            peer.send(&ServerMessage::Grants { grants: grants.clone() });
            // Tracks the new grants do not allow stop being forwarded (and are unpublished).
            let revoked: Vec<usize> =
                (0..peer.tracks_in.len()).filter(|&k| !peer.grants.may_publish(peer.tracks_in[k].source)).collect();
            for k in revoked.into_iter().rev() {
                let t = peer.tracks_in.remove(k);
                self.events.push(RoomEvent::TrackUnpublished {
                    room: room.to_owned(),
                    peer: id,
                    user_id: user_id.to_owned(),
                    track: t.info(),
                });
                self.queue.push_back(Propagated::TrackClosed(id, t.mid));
            }
            let peer = &mut self.peers[i];
            peer.dirty = true;
            peer.declared.retain(|_, s| grants.may_publish(*s));
            if !grants.subscribe {
                for t in &mut peer.tracks_out {
                    t.state = match t.state {
                        OutState::Open(m) | OutState::Negotiating(m) => OutState::ToStop(m),
                        other => other,
                    };
                }
                peer.tracks_out.retain(|t| t.state != OutState::ToOpen);
            }
            let _ = gained_subscribe;
            self.queue.push_back(Propagated::RoomChanged(room.to_owned()));
        }
        if n > 0 {
            // Going on air or backstage, or gaining the right to see either, changes who
            // receives whose tracks.
            self.reconcile(room);
        }
        n
    }

    /// Makes every participant of `room` receive exactly the tracks it may: each visible
    /// publisher's tracks are offered, and tracks it may no longer see are stopped.
    pub(super) fn reconcile(&mut self, room: &str) {
        let publishers: Vec<Publisher> = self
            .peers
            .iter()
            .filter(|p| p.room == room)
            .map(|p| (p.id, p.grants.backstage, p.tracks_in.iter().map(|t| (t.mid, t.kind)).collect()))
            .collect();
        let mut unoffered = Vec::new();
        for q in self.peers.iter_mut().filter(|q| q.room == room && q.kind == ConnectionKind::Participant) {
            for (origin, backstage, tracks) in &publishers {
                if *origin == q.id {
                    continue;
                }
                let visible = q.grants.subscribe && (!backstage || q.grants.see_backstage);
                for (mid, kind) in tracks {
                    let live = q.tracks_out.iter_mut().find(|t| {
                        t.origin == *origin
                            && t.origin_mid == *mid
                            && !matches!(t.state, OutState::ToStop(_) | OutState::NegotiatingStop(_))
                    });
                    match (visible, live) {
                        (true, None) => {
                            q.tracks_out.push(TrackOut::new(*origin, *mid, *kind));
                            q.dirty = true;
                        }
                        (false, Some(t)) => {
                            match t.state {
                                OutState::Negotiating(m) | OutState::Open(m) => t.state = OutState::ToStop(m),
                                // Never offered: nothing to stop, just forget it (below).
                                _ => unoffered.push((*origin, *mid)),
                            }
                            q.dirty = true;
                        }
                        _ => {}
                    }
                }
            }
            q.tracks_out.retain(|t| !(t.state == OutState::ToOpen && unoffered.contains(&(t.origin, t.origin_mid))));
            unoffered.clear();
            q.state_dirty = true;
        }
    }

    /// Disconnects `user_id`'s peers in `room` after telling them why.
    pub fn remove(&mut self, now: Instant, room: &str, user_id: &str, reason: &str) -> u32 {
        self.remove_at(now, room, user_id, reason, unix_now())
    }

    /// [`Self::remove`] for a removal made at `at` (unix seconds): someone who came back since
    /// with a newer token (after a kick) stays.
    /// Only the record of a removal made at `at`: tokens minted until then no longer admit the user.
    pub fn forbid_at(&mut self, room: &str, user_id: &str, at: i64) {
        self.overrides.removed(room, user_id, at);
    }

    pub fn remove_at(&mut self, now: Instant, room: &str, user_id: &str, reason: &str, at: i64) -> u32 {
        // The tokens they hold no longer admit them: a kicked or banned user must ask again.
        self.overrides.removed(room, user_id, at);
        // Counted whether this call or the other copy of the change got there first (the gateway
        // calls at once, the bus brings it too): both answer "removed", and the bye goes once.
        let mut n = 0;
        for peer in self.peers.iter_mut().filter(|p| p.room == room && p.user_id == user_id && p.token_iat <= at) {
            let removing = peer.close_at.is_some() && peer.close_reason == "removed";
            if peer.close_at.is_none() {
                peer.send(&ServerMessage::Bye { reason: reason.to_owned(), reconnect: false });
                peer.close_at = Some(now + BYE_GRACE);
                peer.close_reason = "removed".into();
                n += 1;
            } else if removing {
                n += 1;
            }
        }
        n
    }
}
