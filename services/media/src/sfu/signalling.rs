//! The `signal` data channel: client offers and answers, the server's renegotiation, the
//! per-connection message budget, and the room `state` each participant is told.
use super::*;

/// Offers and mutes a participant may send over the data channel: a burst, then a steady rate.
/// A person renegotiates or mutes a few times a minute; each such message costs every peer in
/// the room a state update and the bus an event, so a client looping on them is cut off.
/// Answers are not counted: they only follow the server's own offers.
pub(super) const SIGNAL_BURST: f64 = 20.0;

pub(super) const SIGNAL_PER_SECOND: f64 = 5.0;

/// A participant's allowance of signalling messages (a token bucket).
pub(super) struct SignalBudget {
    tokens: f64,
    at: Instant,
    /// The participant was told it is over the rate, since it last was under it.
    told: bool,
}

impl SignalBudget {
    pub(super) fn new(now: Instant) -> Self {
        Self { tokens: SIGNAL_BURST, at: now, told: false }
    }

    /// Takes one message's worth; false when the participant is over its rate.
    pub(super) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = self.at.max(now);
        self.tokens = (self.tokens + elapsed * SIGNAL_PER_SECOND).min(SIGNAL_BURST);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        self.told = false;
        true
    }
}

impl Sfu {
    pub(super) fn channel_data(&mut self, i: usize, now: Instant, d: ChannelData) {
        if d.binary {
            return;
        }
        if d.data.len() > MAX_SIGNAL_BYTES {
            self.peers[i].send(&ServerMessage::Error {
                code: "message_too_large".into(),
                message: format!("a signalling message may be at most {MAX_SIGNAL_BYTES} bytes; this one was {}", d.data.len()),
            });
            return;
        }
        let msg: ClientMessage = match serde_json::from_slice(&d.data) {
            Ok(m) => m,
            Err(e) => {
                self.peers[i].send(&ServerMessage::Error {
                    code: "bad_message".into(),
                    message: format!("the message is not a signalling message: {e}"),
                });
                return;
            }
        };
        let counted = !matches!(msg, ClientMessage::Answer { .. });
        let peer = &mut self.peers[i];
        if counted && !peer.signal_budget.take(now) {
            if !peer.signal_budget.told {
                peer.signal_budget.told = true;
                peer.send(&ServerMessage::Error {
                    code: "rate_limited".into(),
                    message: format!(
                        "too many offers and mutes: at most {SIGNAL_PER_SECOND} a second after a burst of {SIGNAL_BURST}; \
                         this one and those until the rate drops are ignored, so send the current state again then"
                    ),
                });
            }
            return;
        }
        match msg {
            ClientMessage::Offer { sdp, sources } => self.client_offer(i, &sdp, sources),
            ClientMessage::Answer { sdp } => self.client_answer(i, &sdp),
            ClientMessage::Mute { source, muted } => {
                let peer = &mut self.peers[i];
                let mut changed = Vec::new();
                for t in peer.tracks_in.iter_mut().filter(|t| t.source == source) {
                    let before = t.muted();
                    t.muted_by_client = muted;
                    if !muted {
                        // Only the participant lifts a server mute, by unmuting.
                        t.muted_by_server = false;
                    }
                    if t.muted() != before {
                        changed.push(t.info());
                    }
                    if !t.muted() && t.kind == MediaKind::Video {
                        self.queue.push_back(Propagated::KeyframeRequest(peer.id, t.mid, KeyframeRequestKind::Pli));
                    }
                }
                for track in changed {
                    self.events.push(RoomEvent::TrackMuted {
                        room: peer.room.clone(),
                        peer: peer.id,
                        user_id: peer.user_id.clone(),
                        track,
                        by_server: false,
                    });
                }
                self.queue.push_back(Propagated::RoomChanged(peer.room.clone()));
            }
        }
    }

    pub(super) fn client_offer(&mut self, i: usize, sdp: &str, sources: BTreeMap<String, TrackSource>) {
        let sdp = &*crate::sdp::normalize_bundle_only(sdp);
        let peer = &mut self.peers[i];
        if peer.pending.is_some() {
            // Glare: our offer is in flight; the client (the polite side) rolls back and
            // answers it, then offers again.
            return;
        }
        let checked = OfferSummary::parse(sdp)
            .map_err(|e| OfferError::BadSdp(e.to_string()))
            .and_then(|summary| peer.check_offer(&summary, &sources).map(|()| summary))
            .and_then(|summary| {
                SdpOffer::from_sdp_string(sdp)
                    .map_err(|e| OfferError::BadSdp(format!("the offer does not parse: {e}")))
                    .map(|o| (summary, o))
            });
        let (summary, offer) = match checked {
            Ok(v) => v,
            Err(e) => {
                peer.send(&ServerMessage::Error { code: e.code().into(), message: e.to_string() });
                return;
            }
        };
        for s in summary.sections.iter().filter(|s| s.offerer_sends) {
            if let Some(src) = sources.get(&s.mid) {
                peer.declared.insert(s.mid.clone(), *src);
            }
        }
        match peer.rtc.sdp_api().accept_offer(offer) {
            Ok(answer) => peer.send(&ServerMessage::Answer { sdp: answer.to_sdp_string() }),
            Err(e) => {
                peer.send(&ServerMessage::Error { code: "bad_sdp".into(), message: format!("the offer cannot be accepted: {e}") })
            }
        }
    }

    pub(super) fn client_answer(&mut self, i: usize, sdp: &str) {
        let peer = &mut self.peers[i];
        let Some(pending) = peer.pending.take() else { return };
        let answer = match SdpAnswer::from_sdp_string(sdp) {
            Ok(a) => a,
            Err(e) => {
                peer.send(&ServerMessage::Error { code: "bad_sdp".into(), message: format!("the answer does not parse: {e}") });
                // Forget the negotiation; the tracks are offered again.
                for t in &mut peer.tracks_out {
                    t.state = match t.state {
                        OutState::Negotiating(_) => OutState::ToOpen,
                        OutState::NegotiatingStop(m) => OutState::ToStop(m),
                        s => s,
                    };
                }
                return;
            }
        };
        if let Err(e) = peer.rtc.sdp_api().accept_answer(pending, answer) {
            peer.send(&ServerMessage::Error { code: "bad_sdp".into(), message: format!("the answer cannot be accepted: {e}") });
            return;
        }
        for t in &mut peer.tracks_out {
            if let OutState::Negotiating(m) = t.state {
                t.state = OutState::Open(m);
                if t.kind == MediaKind::Video {
                    self.queue.push_back(Propagated::KeyframeRequest(t.origin, t.origin_mid, KeyframeRequestKind::Pli));
                }
            }
        }
        peer.tracks_out.retain(|t| !matches!(t.state, OutState::NegotiatingStop(_)));
        peer.state_dirty = true;
        // Tracks that arrived during this negotiation are offered next.
        peer.dirty = true;
    }

    /// Offers the peer the tracks it should receive (and stops the ones that ended).
    pub(super) fn negotiate_if_needed(&mut self, i: usize) {
        let peer = &mut self.peers[i];
        if peer.kind != ConnectionKind::Participant || peer.channel.is_none() || peer.pending.is_some() {
            return;
        }
        if !peer.tracks_out.iter().any(|t| matches!(t.state, OutState::ToOpen | OutState::ToStop(_))) {
            return;
        }
        let mut change = peer.rtc.sdp_api();
        for t in &mut peer.tracks_out {
            match t.state {
                OutState::ToOpen => {
                    let mid = change.add_media(t.kind, Direction::SendOnly, Some(t.origin.to_string()), None, None);
                    t.state = OutState::Negotiating(mid);
                }
                OutState::ToStop(mid) => {
                    change.stop_media(mid);
                    t.state = OutState::NegotiatingStop(mid);
                }
                _ => {}
            }
        }
        let Some((offer, pending)) = change.apply() else { return };
        peer.pending = Some(pending);
        peer.send(&ServerMessage::Offer { sdp: offer.to_sdp_string() });
    }

    pub(super) fn send_states(&mut self) {
        for i in 0..self.peers.len() {
            let p = &self.peers[i];
            if !p.state_dirty || p.channel.is_none() || p.kind != ConnectionKind::Participant {
                continue;
            }
            let participants = self
                .peers
                .iter()
                .filter(|o| o.room == p.room && (o.id == p.id || (o.listed() && sees(p, o) && o.connected)) && o.visible())
                .map(|o| ParticipantView {
                    participant_id: o.id.to_string(),
                    user_id: o.user_id.clone(),
                    name: o.name.clone(),
                    avatar: o.avatar.clone(),
                })
                .collect();
            let tracks = p
                .tracks_out
                .iter()
                .filter_map(|t| {
                    let mid = t.open_mid()?;
                    let origin = self.peers.iter().find(|o| o.id == t.origin)?;
                    let track = origin.tracks_in.iter().find(|x| x.mid == t.origin_mid)?;
                    Some(TrackView {
                        mid: mid.to_string(),
                        participant_id: origin.id.to_string(),
                        source: track.source,
                        muted: track.muted(),
                    })
                })
                .collect();
            let msg = ServerMessage::State { participants, tracks };
            let p = &mut self.peers[i];
            p.state_dirty = false;
            p.send(&msg);
        }
    }
}
