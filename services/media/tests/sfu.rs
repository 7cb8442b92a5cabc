//! The SFU core without sockets: str0m clients and the SFU exchange datagrams through a
//! simulated network on a simulated clock, as str0m's own tests do, so a whole join →
//! publish → renegotiate → forward cycle runs in milliseconds and deterministically.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
use std::{
    collections::BTreeMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use stagecast_authn::{MediaClaims, MediaGrants, TrackSource};
use stagecast_media::{
    sfu::{ConnectionKind, JoinRequest, OfferError, PeerId, RoomEvent, Sfu},
    signal::{ClientMessage, ServerMessage},
};
use str0m::{
    Candidate, Event, Input, Output, Rtc,
    change::{SdpAnswer, SdpOffer, SdpPendingOffer},
    channel::ChannelId,
    format::{Codec, FormatParams},
    media::{Direction, Frequency, MediaKind, MediaTime, Mid},
    net::{Protocol, Receive},
    rtp::RawPacket,
};

const SFU_ADDR: &str = "10.0.0.1:5000";

fn claims(user: &str, room: &str, grants: MediaGrants) -> MediaClaims {
    MediaClaims {
        sub: user.into(),
        name: format!("{user} name"),
        avatar: String::new(),
        room: room.into(),
        grants,
        iss: "stagecast-auth".into(),
        aud: "stagecast-media".into(),
        iat: 0,
        exp: i64::MAX,
        jti: "j".into(),
    }
}

fn host() -> MediaGrants {
    MediaGrants { subscribe: true, publish: TrackSource::ALL.to_vec(), hidden: false, ..Default::default() }
}

fn audience() -> MediaGrants {
    MediaGrants { subscribe: true, publish: vec![], hidden: false, ..Default::default() }
}

/// A browser stand-in: a str0m peer that speaks our data-channel signalling.
struct Client {
    addr: SocketAddr,
    rtc: Rtc,
    channel: Option<ChannelId>,
    pending: Option<SdpPendingOffer>,
    peer: Option<PeerId>,
    received_audio: usize,
    received_video: usize,
    messages: Vec<ServerMessage>,
    mids_out: BTreeMap<TrackSource, Mid>,
    /// Headers of the RTP packets received (only with raw packets enabled).
    rtp_in: Vec<str0m::rtp::RtpHeader>,
    /// Payload types of the RTP packets sent (only with raw packets enabled).
    pts_out: Vec<u8>,
    keyframe_requests: usize,
    /// The RFC 6464 level its audio packets carry, when set.
    level: Option<i8>,
}

impl Client {
    fn new(addr: &str, now: Instant) -> Self {
        Self::with_rtc(addr, Rtc::builder().build(now))
    }

    /// A client that records the RTP headers it sends and receives.
    fn recording(addr: &str, now: Instant) -> Self {
        Self::with_rtc(addr, Rtc::builder().enable_raw_packets(true).build(now))
    }

    fn with_rtc(addr: &str, mut rtc: Rtc) -> Self {
        let addr: SocketAddr = addr.parse().unwrap();
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        Self {
            addr,
            rtc,
            channel: None,
            pending: None,
            peer: None,
            received_audio: 0,
            received_video: 0,
            messages: vec![],
            mids_out: BTreeMap::new(),
            rtp_in: vec![],
            pts_out: vec![],
            keyframe_requests: 0,
            level: None,
        }
    }

    /// An initial offer publishing `sources`, with the signalling data channel.
    fn offer(&mut self, sources: &[TrackSource]) -> (String, BTreeMap<String, TrackSource>) {
        let mut change = self.rtc.sdp_api();
        let mut map = BTreeMap::new();
        for &s in sources {
            let kind = if s.is_video() { MediaKind::Video } else { MediaKind::Audio };
            let mid = change.add_media(kind, Direction::SendOnly, None, None, None);
            map.insert(mid.to_string(), s);
            self.mids_out.insert(s, mid);
        }
        change.add_channel("signal".into());
        let (offer, pending) = change.apply().unwrap();
        self.pending = Some(pending);
        (offer.to_sdp_string(), map)
    }

    fn accept_answer(&mut self, answer: &str) {
        let answer = SdpAnswer::from_sdp_string(answer).unwrap();
        self.rtc.sdp_api().accept_answer(self.pending.take().unwrap(), answer).unwrap();
    }

    fn send(&mut self, msg: &ClientMessage) {
        let json = serde_json::to_string(msg).unwrap();
        let mut ch = self.rtc.channel(self.channel.expect("channel open")).unwrap();
        ch.write(false, json.as_bytes()).unwrap();
    }

    /// Drains output; returns datagrams to deliver and the next timeout.
    fn poll(&mut self, out: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>) -> Instant {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(t) => return t,
                Output::Transmit(t) => out.push((t.source, t.destination, t.contents.to_vec())),
                Output::Event(e) => self.event(e),
            }
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::ChannelOpen(cid, _) => self.channel = Some(cid),
            Event::ChannelData(d) => {
                let msg: ServerMessage = serde_json::from_slice(&d.data).unwrap();
                if let ServerMessage::Offer { sdp } = &msg {
                    let answer = self.rtc.sdp_api().accept_offer(SdpOffer::from_sdp_string(sdp).unwrap()).unwrap();
                    self.send(&ClientMessage::Answer { sdp: answer.to_sdp_string() });
                }
                self.messages.push(msg);
            }
            Event::MediaData(d) => {
                if d.params.spec().codec == Codec::Opus {
                    self.received_audio += 1;
                } else {
                    self.received_video += 1;
                }
            }
            Event::RawPacket(p) => match *p {
                RawPacket::RtpRx(header, _) => self.rtp_in.push(header),
                RawPacket::RtpTx(header, _) => self.pts_out.push(*header.payload_type),
                _ => {}
            },
            Event::KeyframeRequest(_) => self.keyframe_requests += 1,
            _ => {}
        }
    }

    fn write_audio(&mut self, now: Instant, n: u64) {
        let Some(&mid) = self.mids_out.get(&TrackSource::Microphone) else { return };
        let Some(writer) = self.rtc.writer(mid) else { return };
        let Some(pt) = writer.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt()) else { return };
        let writer = match self.level {
            Some(level) => writer.audio_level(level, level > -50),
            None => writer,
        };
        let _ = writer.write(pt, now, MediaTime::from_90khz(n * 960), vec![0x78u8; 60]);
    }

    /// A 2,500-byte VP8 keyframe (three RTP packets), if the client publishes a camera.
    fn write_video(&mut self, now: Instant, n: u64) {
        let Some(&mid) = self.mids_out.get(&TrackSource::Camera) else { return };
        let Some(writer) = self.rtc.writer(mid) else { return };
        let Some(pt) = writer.payload_params().find(|p| p.spec().codec == Codec::Vp8).map(|p| p.pt()) else { return };
        let mut frame = vec![0x5au8; 2500];
        frame[0] = 0x10;
        let _ = writer.write(pt, now, MediaTime::from_90khz(n * 3600), frame);
    }
}

/// The SFU and its clients on one simulated network.
struct Net {
    now: Instant,
    sfu: Sfu,
    clients: Vec<Client>,
    events: Vec<RoomEvent>,
    /// Datagrams to addresses with no client (RTP taps).
    elsewhere: Vec<(SocketAddr, Vec<u8>)>,
}

impl Net {
    fn new() -> Self {
        let now = Instant::now();
        Self { now, sfu: Sfu::new(SFU_ADDR.parse().unwrap()), clients: vec![], events: vec![], elsewhere: vec![] }
    }

    fn join(&mut self, addr: &str, user: &str, grants: MediaGrants, sources: &[TrackSource]) -> Result<usize, OfferError> {
        let c = Client::new(addr, self.now);
        self.join_as(c, user, grants, sources)
    }

    fn join_as(&mut self, c: Client, user: &str, grants: MediaGrants, sources: &[TrackSource]) -> Result<usize, OfferError> {
        self.join_with(c, claims(user, "room-1", grants), sources)
    }

    fn join_with(&mut self, mut c: Client, claims: MediaClaims, sources: &[TrackSource]) -> Result<usize, OfferError> {
        let (offer, map) = c.offer(sources);
        let joined = self.sfu.join(self.now, JoinRequest { claims, offer, sources: map, kind: ConnectionKind::Participant })?;
        c.accept_answer(&joined.answer);
        c.peer = Some(joined.peer);
        self.clients.push(c);
        Ok(self.clients.len() - 1)
    }

    /// Runs the network for `d` of simulated time, publishers sending 50 audio frames a second.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        let mut frame = 0u64;
        let mut next_frame = self.now;
        while self.now < end {
            let mut wire = Vec::new();
            if self.now >= next_frame {
                for c in &mut self.clients {
                    c.write_audio(self.now, frame);
                    if frame.is_multiple_of(2) {
                        c.write_video(self.now, frame / 2);
                    }
                }
                frame += 1;
                next_frame += Duration::from_millis(20);
            }
            let mut next = self.now + Duration::from_millis(5);
            for c in &mut self.clients {
                next = next.min(c.poll(&mut wire));
            }
            for (src, dst, bytes) in wire.drain(..) {
                assert_eq!(dst, SFU_ADDR.parse().unwrap(), "clients only talk to the SFU");
                self.sfu.handle_receive(self.now, src, dst, &bytes);
            }
            next = next.min(self.sfu.poll(self.now));
            for t in self.sfu.take_transmits() {
                // A datagram to a vanished client is lost, as on a real network.
                let Some(to) = self.clients.iter_mut().find(|c| c.addr == t.destination) else {
                    self.elsewhere.push((t.destination, t.contents.to_vec()));
                    continue;
                };
                let contents = (&*t.contents).try_into().unwrap();
                to.rtc
                    .handle_input(Input::Receive(
                        self.now,
                        Receive { proto: Protocol::Udp, source: t.source, destination: t.destination, contents },
                    ))
                    .unwrap();
            }
            self.events.extend(self.sfu.take_events());
            // Advance at least a millisecond so a busy loop still moves time.
            self.now = next.max(self.now + Duration::from_millis(1)).min(next_frame);
            for c in &mut self.clients {
                c.rtc.handle_input(Input::Timeout(self.now)).unwrap();
            }
            self.sfu.handle_timeout(self.now);
        }
    }
}

#[test]
fn an_audience_member_receives_the_hosts_audio_after_a_server_offer() {
    let mut net = Net::new();
    let host_ix = net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Microphone, TrackSource::Camera]).unwrap();
    let viewer = net.join("10.0.0.3:1000", "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(3));

    let v = &net.clients[viewer];
    assert!(v.messages.iter().any(|m| matches!(m, ServerMessage::Offer { .. })), "the SFU offered the host's tracks");
    assert!(v.received_audio > 50, "the viewer received the host's audio: {} frames", v.received_audio);
    let state = v.messages.iter().rev().find_map(|m| match m {
        ServerMessage::State { participants, tracks } => Some((participants.clone(), tracks.clone())),
        _ => None,
    });
    let (participants, tracks) = state.expect("a state message");
    assert_eq!(participants.len(), 2);
    let host_peer = net.clients[host_ix].peer.unwrap().to_string();
    assert!(tracks.iter().any(|t| t.participant_id == host_peer && t.source == TrackSource::Microphone));
    assert!(tracks.iter().any(|t| t.participant_id == host_peer && t.source == TrackSource::Camera));
    assert_eq!(net.clients[host_ix].received_audio, 0, "nobody else publishes");
    assert!(net.events.iter().any(|e| matches!(e, RoomEvent::TrackPublished { user_id, .. } if user_id == "host")));
    assert_eq!(net.events.iter().filter(|e| matches!(e, RoomEvent::ParticipantJoined { .. })).count(), 2);
}

#[test]
fn an_audience_member_cannot_publish_a_camera() {
    let mut net = Net::new();
    let err = net.join("10.0.0.3:1000", "viewer", audience(), &[TrackSource::Camera]).unwrap_err();
    assert_eq!(err.code(), "track_not_allowed");
    assert!(err.to_string().contains("camera"), "{err}");
    assert_eq!(net.sfu.peer_count(), 0, "a refused join leaves nothing behind");
}

#[test]
fn a_track_labelled_with_the_wrong_kind_is_refused() {
    let mut net = Net::new();
    let mut c = Client::new("10.0.0.2:1000", net.now);
    let (offer, map) = c.offer(&[TrackSource::Microphone]);
    // Claim the audio m-line is a camera.
    let lying: BTreeMap<String, TrackSource> = map.keys().map(|k| (k.clone(), TrackSource::Camera)).collect();
    let err = net
        .sfu
        .join(net.now, JoinRequest { claims: claims("h", "r", host()), offer, sources: lying, kind: ConnectionKind::Participant })
        .unwrap_err();
    assert_eq!(err.code(), "track_not_allowed");
}

#[test]
fn garbage_offers_get_a_bad_sdp_error_not_a_panic() {
    let mut net = Net::new();
    for offer in ["", "v=0", "hello\r\nworld", "v=0\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n"] {
        let err = net
            .sfu
            .join(
                net.now,
                JoinRequest {
                    claims: claims("h", "r", host()),
                    offer: offer.into(),
                    sources: BTreeMap::new(),
                    kind: ConnectionKind::Participant,
                },
            )
            .unwrap_err();
        assert_eq!(err.code(), "bad_sdp", "{offer:?}: {err}");
    }
    // Random bytes as datagrams are dropped without effect.
    assert!(!net.sfu.handle_receive(net.now, "10.0.0.9:9".parse().unwrap(), SFU_ADDR.parse().unwrap(), &[0xff; 40]));
}

#[test]
fn a_server_mute_stops_forwarding_and_tells_the_participant() {
    let mut net = Net::new();
    let host_ix = net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Microphone]).unwrap();
    let viewer = net.join("10.0.0.3:1000", "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(2));
    let before = net.clients[viewer].received_audio;
    assert!(before > 20, "audio flows before the mute: {before}");

    assert_eq!(net.sfu.mute("room-1", "host", TrackSource::Microphone), 1);
    net.run(Duration::from_millis(200));
    let at_mute = net.clients[viewer].received_audio;
    net.run(Duration::from_secs(1));
    assert!(net.clients[viewer].received_audio <= at_mute, "no audio after the mute");
    assert!(
        net.clients[host_ix].messages.contains(&ServerMessage::Muted { source: TrackSource::Microphone, by_server: true }),
        "the host was told"
    );

    // Only the participant can unmute.
    net.clients[host_ix].send(&ClientMessage::Mute { source: TrackSource::Microphone, muted: false });
    net.run(Duration::from_secs(1));
    assert!(net.clients[viewer].received_audio > at_mute + 20, "audio flows again after the host unmutes");
}

/// A data-channel offer adding a microphone, as a browser's renegotiation would send.
fn offer_mic(c: &mut Client) -> ClientMessage {
    let mut change = c.rtc.sdp_api();
    let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, pending) = change.apply().unwrap();
    c.pending = Some(pending);
    c.mids_out.insert(TrackSource::Microphone, mid);
    ClientMessage::Offer { sdp: offer.to_sdp_string(), sources: [(mid.to_string(), TrackSource::Microphone)].into() }
}

/// Feeds a server answer from the data channel to the client's pending offer.
fn take_answer(c: &mut Client) -> bool {
    let Some(sdp) = c.messages.iter().find_map(|m| match m {
        ServerMessage::Answer { sdp } => Some(sdp.clone()),
        _ => None,
    }) else {
        return false;
    };
    c.accept_answer(&sdp);
    true
}

#[test]
fn an_audience_members_renegotiation_adding_a_microphone_is_refused_on_the_data_channel() {
    let mut net = Net::new();
    let _host = net.join("10.0.0.2:1000", "host", host(), &[]).unwrap();
    let guest = net.join("10.0.0.3:1000", "guest", audience(), &[]).unwrap();
    net.run(Duration::from_secs(1));
    let msg = offer_mic(&mut net.clients[guest]);
    net.clients[guest].send(&msg);
    net.run(Duration::from_millis(500));
    let c = &net.clients[guest];
    assert!(
        c.messages.iter().any(|m| matches!(m, ServerMessage::Error { code, .. } if code == "track_not_allowed")),
        "{:?}",
        c.messages
    );
    assert!(!c.messages.iter().any(|m| matches!(m, ServerMessage::Answer { .. })));
}

#[test]
fn a_promoted_audience_member_publishes_without_rejoining_and_demotion_stops_the_track() {
    let mut net = Net::new();
    let host_ix = net.join("10.0.0.2:1000", "host", host(), &[]).unwrap();
    let guest = net.join("10.0.0.3:1000", "guest", audience(), &[]).unwrap();
    net.run(Duration::from_secs(1));

    let speaker = MediaGrants { publish: vec![TrackSource::Microphone], ..audience() };
    assert_eq!(net.sfu.update_grants("room-1", "guest", speaker), 1);
    net.run(Duration::from_millis(300));
    assert!(
        net.clients[guest]
            .messages
            .iter()
            .any(|m| matches!(m, ServerMessage::Grants { grants } if grants.may_publish(TrackSource::Microphone)))
    );
    let msg = offer_mic(&mut net.clients[guest]);
    net.clients[guest].send(&msg);
    net.run(Duration::from_millis(300));
    assert!(take_answer(&mut net.clients[guest]), "the SFU answered: {:?}", net.clients[guest].messages);
    net.run(Duration::from_secs(2));
    let heard = net.clients[host_ix].received_audio;
    assert!(heard > 20, "the host hears the promoted guest: {heard}");
    assert!(net.events.iter().any(|e| matches!(e, RoomEvent::TrackPublished { user_id, .. } if user_id == "guest")));

    assert_eq!(net.sfu.update_grants("room-1", "guest", audience()), 1);
    net.run(Duration::from_millis(200));
    let at_demotion = net.clients[host_ix].received_audio;
    net.run(Duration::from_secs(1));
    assert!(net.clients[host_ix].received_audio <= at_demotion, "the demoted guest's audio stopped");
    assert!(net.events.iter().any(|e| matches!(e, RoomEvent::TrackUnpublished { user_id, .. } if user_id == "guest")));
}

/// The user ids in a client's latest `state` message.
fn state_users(c: &Client) -> Vec<String> {
    c.messages
        .iter()
        .rev()
        .find_map(|m| match m {
            ServerMessage::State { participants, .. } => Some(participants.iter().map(|p| p.user_id.clone()).collect()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn the_backstage_is_seen_by_the_host_only_until_brought_on_air_and_gone_again_when_sent_back() {
    let mut net = Net::new();
    let staff = MediaGrants { see_backstage: true, ..host() };
    let host_ix = net.join("10.0.0.2:1000", "host", staff, &[]).unwrap();
    let viewer = net.join("10.0.0.3:1000", "viewer", audience(), &[]).unwrap();
    let backstage = MediaGrants { publish: vec![TrackSource::Microphone], backstage: true, see_backstage: true, ..audience() };
    let _guest = net.join("10.0.0.4:1000", "guest", backstage.clone(), &[TrackSource::Microphone]).unwrap();
    net.run(Duration::from_secs(3));
    assert!(net.clients[host_ix].received_audio > 50, "the host hears the green room: {}", net.clients[host_ix].received_audio);
    assert_eq!(net.clients[viewer].received_audio, 0, "the audience hears nothing of the backstage");
    assert!(
        !state_users(&net.clients[viewer]).contains(&"guest".to_owned()),
        "nor sees them: {:?}",
        state_users(&net.clients[viewer])
    );
    assert!(state_users(&net.clients[host_ix]).contains(&"guest".to_owned()));

    // Bring on air: the audience receives them without anyone reconnecting.
    let on_air = MediaGrants { backstage: false, ..backstage.clone() };
    assert_eq!(net.sfu.update_grants("room-1", "guest", on_air), 1);
    net.run(Duration::from_secs(3));
    assert!(net.clients[viewer].received_audio > 50, "on air, the audience hears them: {}", net.clients[viewer].received_audio);
    assert!(state_users(&net.clients[viewer]).contains(&"guest".to_owned()));

    // Send backstage: their audio stops at the audience and they leave its state.
    assert_eq!(net.sfu.update_grants("room-1", "guest", backstage), 1);
    net.run(Duration::from_millis(500));
    let at_send_back = net.clients[viewer].received_audio;
    net.run(Duration::from_secs(2));
    assert!(net.clients[viewer].received_audio <= at_send_back, "backstage again, the audience hears nothing more");
    assert!(!state_users(&net.clients[viewer]).contains(&"guest".to_owned()));
    assert!(net.clients[host_ix].received_audio > 100, "the host still hears them");
}

#[test]
fn a_role_change_made_while_someone_reconnects_wins_over_the_token_they_rejoin_with() {
    let mut net = Net::new();
    let host_ix = net.join("10.0.0.2:1000", "host", host(), &[]).unwrap();
    // Promoted while away (nobody to update now): the audience token minted before joins as a
    // speaker and may publish a microphone straight away.
    let speaker = MediaGrants { publish: vec![TrackSource::Microphone], ..audience() };
    assert_eq!(net.sfu.update_grants("room-1", "guest", speaker.clone()), 0);
    let guest = net.join("10.0.0.3:1000", "guest", audience(), &[TrackSource::Microphone]).expect("the newer grants admit it");
    net.run(Duration::from_secs(2));
    assert!(net.clients[host_ix].received_audio > 20, "the host hears the promoted guest");
    assert_eq!(net.sfu.participants("room-1").iter().find(|p| p.user_id == "guest").unwrap().grants, speaker);
    let _ = guest;

    // Kicked: the token they hold no longer admits them; one minted after the kick does.
    assert_eq!(net.sfu.remove(net.now, "room-1", "troll", "spam"), 0);
    let refused = net.join("10.0.0.4:1000", "troll", audience(), &[]).expect_err("an old token after a kick");
    assert_eq!(refused.code(), "removed");
    let fresh = MediaClaims { iat: chrono::Utc::now().timestamp() + 1, ..claims("troll", "room-1", audience()) };
    net.join_with(Client::new("10.0.0.4:1001", net.now), fresh, &[]).expect("a token minted after the kick");
    // Other rooms and users are untouched.
    let elsewhere = MediaClaims { room: "room-2".into(), ..claims("troll", "room-2", audience()) };
    net.join_with(Client::new("10.0.0.4:1002", net.now), elsewhere, &[]).expect("another room");
}

/// Stage changes reach the SFU twice (from the gateway at once, from the bus durably) and the
/// bus replays the recent past after a restart: a late copy of a change acts only on tokens
/// minted before it, and never undoes a newer change.
#[test]
fn a_late_copy_of_a_stage_change_leaves_whoever_holds_a_newer_token_alone() {
    let mut net = Net::new();
    let _host = net.join("10.0.0.2:1000", "host", host(), &[]).unwrap();
    let now = chrono::Utc::now().timestamp();
    // Kicked at now-60, came back with a token minted at now-30: the late kick leaves them be.
    let back = MediaClaims { iat: now - 30, ..claims("kicked", "room-1", audience()) };
    net.join_with(Client::new("10.0.0.3:1000", net.now), back, &[]).expect("a token minted after the kick");
    assert_eq!(net.sfu.remove_at(net.now, "room-1", "kicked", "kicked", now - 60), 0, "not the newer connection");
    assert_eq!(net.sfu.participants("room-1").len(), 2);
    // The same kick does refuse a token from before it, and a later ban removes the newer connection.
    let old = MediaClaims { iat: now - 90, ..claims("kicked", "room-1", audience()) };
    assert_eq!(
        net.join_with(Client::new("10.0.0.3:1001", net.now), old, &[]).expect_err("older than the kick").code(),
        "removed"
    );
    assert_eq!(net.sfu.remove_at(net.now, "room-1", "kicked", "banned", now - 10), 1);

    // Promoted at now-20, then a late copy of an older demotion (now-40) arrives: the promotion
    // stands for the next join with a token from before both.
    let speaker = MediaGrants { publish: vec![TrackSource::Microphone], ..audience() };
    assert_eq!(net.sfu.update_grants_at("room-1", "guest", speaker.clone(), now - 20), 0);
    assert_eq!(net.sfu.update_grants_at("room-1", "guest", audience(), now - 40), 0);
    let before_both = MediaClaims { iat: now - 50, ..claims("guest", "room-1", audience()) };
    net.join_with(Client::new("10.0.0.4:1000", net.now), before_both, &[TrackSource::Microphone]).expect("admitted as a speaker");
    assert_eq!(net.sfu.participants("room-1").iter().find(|p| p.user_id == "guest").unwrap().grants, speaker);
}

#[test]
fn a_removed_participant_is_told_and_disconnected_and_a_vanished_one_is_cleaned_up() {
    let mut net = Net::new();
    let _host = net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Microphone]).unwrap();
    let viewer = net.join("10.0.0.3:1000", "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(1));
    assert_eq!(net.sfu.remove(net.now, "room-1", "viewer", "spamming"), 1);
    // The other copy of the same removal (the gateway's call and the bus both bring it) counts it
    // too, and the viewer is told once.
    assert_eq!(net.sfu.remove(net.now, "room-1", "viewer", "spamming"), 1);
    net.run(Duration::from_secs(1));
    let byes = net.clients[viewer].messages.iter().filter(|m| matches!(m, ServerMessage::Bye { reconnect: false, .. })).count();
    assert_eq!(byes, 1);
    assert_eq!(net.sfu.participants("room-1").len(), 1);
    assert!(net.events.iter().any(|e| matches!(e, RoomEvent::ParticipantLeft { user_id, .. } if user_id == "viewer")));

    // The host vanishes (stops answering): ICE consent runs out and the SFU forgets it.
    net.clients.retain(|c| c.addr.to_string() != "10.0.0.2:1000");
    let mut silent = Net { now: net.now, sfu: net.sfu, clients: vec![], events: vec![], elsewhere: vec![] };
    silent.run(Duration::from_secs(60));
    assert_eq!(silent.sfu.peer_count(), 0);
    assert!(silent.events.iter().any(|e| matches!(e, RoomEvent::ParticipantLeft { user_id, .. } if user_id == "host")));
}

#[test]
fn an_rtp_tap_sends_plain_rtp_of_the_chosen_source_until_stopped() {
    let mut net = Net::new();
    let _host = net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Microphone]).unwrap();
    net.run(Duration::from_secs(1));
    let dest: SocketAddr = "10.0.0.9:7000".parse().unwrap();
    let taps = net.sfu.start_tap("room-1", "host", &[TrackSource::Microphone], dest);
    assert_eq!(taps.len(), 1);
    assert_eq!(taps[0].codec, Some(stagecast_media::tap::TapCodec::Opus));
    net.run(Duration::from_secs(1));
    let rtp: Vec<&Vec<u8>> = net.elsewhere.iter().filter(|(to, _)| *to == dest).map(|(_, p)| p).collect();
    assert!(rtp.len() > 40, "about 50 packets a second: {}", rtp.len());
    for p in &rtp {
        assert_eq!(p[0], 0x80, "RTP version 2, unencrypted");
        assert_eq!(p[1] & 0x7f, 111, "Opus payload type");
        assert_eq!(u32::from_be_bytes([p[8], p[9], p[10], p[11]]), taps[0].ssrc);
        assert_eq!(&p[12..], &[0x78u8; 60][..], "the frame, unchanged");
    }
    let seqs: Vec<u16> = rtp.iter().map(|p| u16::from_be_bytes([p[2], p[3]])).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)), "consecutive sequence numbers");

    assert!(net.sfu.stop_tap(taps[0].id));
    let sent = net.elsewhere.len();
    net.run(Duration::from_millis(500));
    assert_eq!(net.elsewhere.len(), sent, "nothing after stop");
    assert!(!net.sfu.stop_tap(taps[0].id), "stopping twice says so");
}

/// The egress worker asks through the tap when it lost RTP on the tap's leg, which the SFU
/// cannot see; the request reaches the publisher like a subscriber's, throttled per track.
#[test]
fn a_keyframe_asked_through_a_video_tap_reaches_its_publisher_at_most_every_half_second() {
    let mut net = Net::new();
    let host_ix = net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Camera, TrackSource::Microphone]).unwrap();
    net.run(Duration::from_secs(1));
    let dest: SocketAddr = "10.0.0.9:7000".parse().unwrap();
    let taps = net.sfu.start_tap("room-1", "host", &[TrackSource::Camera, TrackSource::Microphone], dest);
    // Past the request the tap's start makes, and past its throttle.
    net.run(Duration::from_secs(1));
    let before = net.clients[host_ix].keyframe_requests;

    assert_eq!(net.sfu.request_tap_keyframe(taps[0].id), Some(1), "the camera's one video track is asked");
    net.run(Duration::from_millis(100));
    assert_eq!(net.clients[host_ix].keyframe_requests, before + 1, "the publisher got a PLI");
    assert_eq!(net.sfu.request_tap_keyframe(taps[0].id), Some(1));
    net.run(Duration::from_millis(100));
    assert_eq!(net.clients[host_ix].keyframe_requests, before + 1, "not twice within 500 ms");
    net.run(Duration::from_millis(400));
    net.sfu.request_tap_keyframe(taps[0].id);
    net.run(Duration::from_millis(100));
    assert_eq!(net.clients[host_ix].keyframe_requests, before + 2, "again once 500 ms have passed");

    assert_eq!(net.sfu.request_tap_keyframe(taps[1].id), Some(0), "a microphone has no keyframes");
    assert!(net.sfu.stop_tap(taps[0].id));
    assert_eq!(net.sfu.request_tap_keyframe(taps[0].id), None, "a stopped tap is unknown");
}

#[test]
fn a_subscriber_gets_the_publishers_video_and_its_joining_asks_the_publisher_for_a_keyframe() {
    let mut net = Net::new();
    let host_ix = net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Camera]).unwrap();
    net.run(Duration::from_secs(1));
    let before = net.clients[host_ix].keyframe_requests;
    let viewer = net.join("10.0.0.3:1000", "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(2));
    assert!(net.clients[host_ix].keyframe_requests > before, "the new subscriber's track asked for a keyframe");
    let got = net.clients[viewer].received_video;
    assert!(got > 30, "about 25 frames a second reach the viewer: {got}");
}

#[test]
fn an_audience_member_hears_a_publisher_whose_opus_payload_type_differs_from_its_own() {
    let mut net = Net::new();
    let mut config = Rtc::builder().clear_codecs().enable_raw_packets(true);
    let opus = FormatParams { min_p_time: Some(10), use_inband_fec: Some(true), ..Default::default() };
    config.codec_config().add_config(100.into(), None, Codec::Opus, Frequency::FORTY_EIGHT_KHZ, Some(2), opus);
    let publisher = Client::with_rtc("10.0.0.2:1000", config.build(net.now));
    let host_ix = net.join_as(publisher, "host", host(), &[TrackSource::Microphone]).unwrap();
    let viewer = net.join_as(Client::recording("10.0.0.3:1000", net.now), "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(2));

    assert!(net.clients[host_ix].pts_out.iter().all(|&pt| pt == 100), "the publisher sends Opus as PT 100");
    let v = &net.clients[viewer];
    assert!(v.received_audio > 50, "the viewer decodes the audio: {} frames", v.received_audio);
    assert!(v.rtp_in.iter().all(|h| *h.payload_type == 111), "the viewer gets its own PT for Opus");
}

#[test]
fn a_whep_viewer_keeps_continuous_sequence_numbers_when_its_slot_rebinds_to_another_publisher() {
    let mut net = Net::new();
    let first = net.join("10.0.0.2:1000", "first", host(), &[TrackSource::Microphone]).unwrap();
    let mut viewer = Client::recording("10.0.0.3:1000", net.now);
    let mut change = viewer.rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    let (offer, pending) = change.apply().unwrap();
    viewer.pending = Some(pending);
    let joined = net
        .sfu
        .join(
            net.now,
            JoinRequest {
                claims: claims("watcher", "room-1", audience()),
                offer: offer.to_sdp_string(),
                sources: BTreeMap::new(),
                kind: ConnectionKind::Whep,
            },
        )
        .unwrap();
    viewer.accept_answer(&joined.answer);
    net.clients.push(viewer);
    let viewer = net.clients.len() - 1;
    net.run(Duration::from_secs(1));
    let from_first = net.clients[viewer].rtp_in.len();
    assert!(from_first > 20, "the first publisher is heard: {from_first}");

    // The first publisher leaves; the next one to publish audio takes over the slot.
    assert!(net.sfu.disconnect(net.clients[first].peer.unwrap()));
    net.run(Duration::from_millis(200));
    net.join("10.0.0.4:1000", "second", host(), &[TrackSource::Microphone]).unwrap();
    net.run(Duration::from_secs(2));

    let v = &net.clients[viewer];
    assert!(v.rtp_in.len() > from_first + 40, "the second publisher is heard: {} packets", v.rtp_in.len());
    assert!(v.rtp_in.windows(2).all(|w| w[0].ssrc == w[1].ssrc), "one stream for the viewer");
    let seqs: Vec<u16> = v.rtp_in.iter().map(|h| h.sequence_number).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)), "no jump across the switch: {seqs:?}");
    let ts: Vec<u32> = v.rtp_in.iter().map(|h| h.timestamp).collect();
    assert!(ts.windows(2).all(|w| w[1].wrapping_sub(w[0]) as i32 > 0), "time moves forward: {ts:?}");
}

#[test]
fn a_subscribers_keyframe_request_and_an_unmute_each_reach_the_publisher() {
    let mut net = Net::new();
    let host_ix = net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Camera]).unwrap();
    let viewer = net.join("10.0.0.3:1000", "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(2));
    let mid = net.clients[viewer]
        .messages
        .iter()
        .rev()
        .find_map(|m| match m {
            ServerMessage::State { tracks, .. } => tracks.iter().find(|t| t.source == TrackSource::Camera).map(|t| t.mid.clone()),
            _ => None,
        })
        .expect("the viewer was told which m-line carries the camera");

    let before = net.clients[host_ix].keyframe_requests;
    let mut w = net.clients[viewer].rtc.writer(Mid::from(mid.as_str())).unwrap();
    w.request_keyframe(None, str0m::media::KeyframeRequestKind::Pli).unwrap();
    net.run(Duration::from_millis(300));
    assert!(net.clients[host_ix].keyframe_requests > before, "the viewer's PLI was passed on");

    net.clients[host_ix].send(&ClientMessage::Mute { source: TrackSource::Camera, muted: true });
    net.run(Duration::from_secs(1));
    let (at_mute, requests) = (net.clients[viewer].received_video, net.clients[host_ix].keyframe_requests);
    net.run(Duration::from_secs(1));
    assert!(net.clients[viewer].received_video <= at_mute + 1, "no video while muted");
    net.clients[host_ix].send(&ClientMessage::Mute { source: TrackSource::Camera, muted: false });
    net.run(Duration::from_millis(500));
    assert!(net.clients[host_ix].keyframe_requests > requests, "unmuting asked for a keyframe");
    assert!(net.clients[viewer].received_video > at_mute + 5, "video flows again");
}

/// Garbage that arrives from a connected participant's own address (a corrupt datagram, or a
/// forged one from anyone who knows the address): each kind str0m demultiplexes on (RTP/RTCP,
/// DTLS, STUN, nothing known) is dropped; the room keeps forwarding and the sender stays.
#[test]
fn malformed_datagrams_from_a_participants_address_are_dropped_without_costing_the_room_or_the_participant() {
    let mut net = Net::new();
    let host_ix = net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Microphone]).unwrap();
    let viewer = net.join("10.0.0.3:1000", "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(2));
    let before = net.clients[viewer].received_audio;
    assert!(before > 20, "the viewer hears the host first: {before} frames");

    let from = net.clients[host_ix].addr;
    let to: SocketAddr = SFU_ADDR.parse().unwrap();
    let mut rtp = vec![0x80, 111, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
    rtp.extend([0x55; 60]);
    let mut rtcp = vec![0x80, 200, 0, 6];
    rtcp.extend([0x11; 24]);
    let garbage: [&[u8]; 8] = [
        &[0x80],                                                        // a lone RTP version byte
        &rtp,                                                           // RTP from an unknown SSRC with no valid SRTP tag
        &rtcp,                                                          // an unauthenticated sender report
        &[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3], // a DTLS handshake record, cut short
        &[23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4],    // DTLS application data under the wrong epoch
        &[0, 1, 0, 8, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4],              // a STUN binding request, truncated
        &[0xff; 300],                                                   // nothing any protocol here starts with
        &[],                                                            // empty
    ];
    let claimed: Vec<bool> = garbage.iter().map(|g| net.sfu.handle_receive(net.now, from, to, g)).collect();
    // The RTP, RTCP and DTLS ones reach the host's connection (so its handling is what is
    // tested); the rest match no peer.
    assert_eq!(claimed, [false, true, true, true, true, false, false, false]);
    net.run(Duration::from_secs(2));
    let after = net.clients[viewer].received_audio;
    assert!(after >= before + 80, "forwarding went on: {before} → {after} frames in 2 s");
    assert_eq!(net.sfu.peer_count(), 2, "the host was not dropped for a datagram it may not have sent");
    assert!(!net.events.iter().any(|e| matches!(e, RoomEvent::ParticipantLeft { .. })));
}

/// A client looping on mutes would cost every peer in the room a state update and the bus an
/// event per message: past a burst, its offers and mutes are ignored (it is told once), and it
/// gets its allowance back as time passes. A message larger than any offer is refused by size.
#[test]
fn a_participant_flooding_the_data_channel_is_cut_off_after_a_burst_and_told_once() {
    let mut net = Net::new();
    let host_ix = net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Microphone]).unwrap();
    let viewer = net.join("10.0.0.3:1000", "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(2));
    let muted_events =
        |net: &Net| net.events.iter().filter(|e| matches!(e, RoomEvent::TrackMuted { user_id, .. } if user_id == "host")).count();
    let states = |net: &Net| net.clients[viewer].messages.iter().filter(|m| matches!(m, ServerMessage::State { .. })).count();
    let (events_before, states_before) = (muted_events(&net), states(&net));

    for k in 0..200 {
        net.clients[host_ix].send(&ClientMessage::Mute { source: TrackSource::Microphone, muted: k % 2 == 0 });
    }
    net.run(Duration::from_millis(300));
    let limited = |net: &Net| {
        net.clients[host_ix]
            .messages
            .iter()
            .filter(|m| matches!(m, ServerMessage::Error { code, .. } if code == "rate_limited"))
            .count()
    };
    assert_eq!(limited(&net), 1, "told once, not once per ignored message");
    let flood_events = muted_events(&net) - events_before;
    assert!((10..=22).contains(&flood_events), "about the burst of 20 got through, not 200: {flood_events}");
    assert!(states(&net) - states_before <= 22, "the viewer got {} state updates", states(&net) - states_before);
    assert_eq!(net.sfu.peer_count(), 2, "the flooder stays connected");

    // A second later the allowance is back: the host's mute goes through again.
    net.run(Duration::from_secs(1));
    let settled = muted_events(&net);
    net.clients[host_ix].send(&ClientMessage::Mute { source: TrackSource::Microphone, muted: true });
    net.run(Duration::from_millis(300));
    net.clients[host_ix].send(&ClientMessage::Mute { source: TrackSource::Microphone, muted: false });
    net.run(Duration::from_millis(300));
    assert!(muted_events(&net) > settled, "mutes are accepted again after the rate drops");

    // Larger than any offer the SFU accepts: refused by size, before parsing.
    let huge = format!(r#"{{"type":"answer","sdp":"{}"}}"#, "a".repeat(stagecast_media::sfu::MAX_SIGNAL_BYTES));
    let ch = net.clients[host_ix].channel.unwrap();
    net.clients[host_ix].rtc.channel(ch).unwrap().write(false, huge.as_bytes()).unwrap();
    net.run(Duration::from_secs(1));
    assert!(
        net.clients[host_ix]
            .messages
            .iter()
            .any(|m| matches!(m, ServerMessage::Error { code, .. } if code == "message_too_large")),
        "an oversized message is named"
    );
    assert_eq!(net.sfu.peer_count(), 2);
}

/// The audio levels heard by `c` in its packets from `from` on, as a set.
fn levels_heard(c: &Client, from: usize) -> std::collections::BTreeSet<i8> {
    c.rtp_in[from..].iter().filter_map(|h| h.ext_vals.audio_level).collect()
}

#[test]
fn participants_hear_the_loudest_speakers_only_and_a_voice_that_rises_is_heard_with_no_gap_in_its_numbers() {
    let mut net = Net::new();
    net.sfu.set_loudest_audio(2);
    let levels = [-20i8, -30, -60, -70];
    let mut speakers = vec![];
    for (i, level) in levels.into_iter().enumerate() {
        let ix = net.join(&format!("10.0.0.{}:1000", 2 + i), &format!("s{i}"), host(), &[TrackSource::Microphone]).unwrap();
        net.clients[ix].level = Some(level);
        speakers.push(ix);
    }
    let viewer = net.join_as(Client::recording("10.0.0.9:1000", net.now), "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(2));
    let mark = net.clients[viewer].rtp_in.len();
    net.run(Duration::from_secs(1));
    assert_eq!(levels_heard(&net.clients[viewer], mark), [-30, -20].into(), "the two loudest, nobody else");
    assert!(net.clients[viewer].rtp_in.len() - mark >= 90, "both at 50 packets a second");

    // The quietest starts shouting: heard at once, and the quieter of the two drops out.
    net.clients[speakers[3]].level = Some(-5);
    let shout = net.clients[viewer].rtp_in.len();
    net.run(Duration::from_millis(100));
    assert!(levels_heard(&net.clients[viewer], shout).contains(&-5), "a rising voice is forwarded before the next ranking");
    net.run(Duration::from_millis(500));
    let mark = net.clients[viewer].rtp_in.len();
    net.run(Duration::from_secs(1));
    assert_eq!(levels_heard(&net.clients[viewer], mark), [-20, -5].into());

    // Each stream the viewer got is numbered without a gap, though it was held back for a while.
    let mut by_ssrc: BTreeMap<u32, Vec<u16>> = BTreeMap::new();
    for h in &net.clients[viewer].rtp_in {
        by_ssrc.entry(*h.ssrc).or_default().push(h.sequence_number);
    }
    assert!(by_ssrc.len() >= 3, "{by_ssrc:?}");
    for (ssrc, seqs) in by_ssrc {
        assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)), "stream {ssrc}: {seqs:?}");
    }
}

#[test]
fn with_loudest_routing_off_every_speaker_is_heard() {
    let mut net = Net::new();
    net.sfu.set_loudest_audio(0);
    for (i, level) in [-20i8, -30, -60, -70].into_iter().enumerate() {
        let ix = net.join(&format!("10.0.0.{}:1000", 2 + i), &format!("s{i}"), host(), &[TrackSource::Microphone]).unwrap();
        net.clients[ix].level = Some(level);
    }
    let viewer = net.join_as(Client::recording("10.0.0.9:1000", net.now), "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(2));
    let mark = net.clients[viewer].rtp_in.len();
    net.run(Duration::from_secs(1));
    assert_eq!(levels_heard(&net.clients[viewer], mark), [-70, -60, -30, -20].into());
}

#[test]
fn forwarded_audio_is_sealed_by_the_sfu_itself_and_the_subscriber_decrypts_every_packet_with_its_level() {
    let mut net = Net::new();
    let speaker = net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Microphone]).unwrap();
    net.clients[speaker].level = Some(-25);
    let viewer = net.join_as(Client::recording("10.0.0.9:1000", net.now), "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(1));
    let (sealed, received, headers) =
        (net.sfu.direct_audio_sent(), net.clients[viewer].received_audio, net.clients[viewer].rtp_in.len());
    net.run(Duration::from_secs(3));

    // 150 packets in 3 s: all but about one a second went out sealed by the SFU, and the
    // viewer's str0m decrypted and depacketized every one of them.
    let sealed = net.sfu.direct_audio_sent() - sealed;
    assert!((140..=150).contains(&sealed), "{sealed} of 150 sealed by the SFU");
    let received = net.clients[viewer].received_audio - received;
    assert!((148..=151).contains(&received), "{received} of 150 received");
    let v = &net.clients[viewer];
    let new = &v.rtp_in[headers..];
    assert!(new.iter().all(|h| h.ext_vals.audio_level == Some(-25) && h.ext_vals.voice_activity == Some(true)));
    assert!(new.windows(2).all(|w| w[1].sequence_number == w[0].sequence_number.wrapping_add(1)), "no gap, no reordering");
    let step = new[1].timestamp.wrapping_sub(new[0].timestamp);
    assert!(step > 0 && new.windows(2).all(|w| w[1].timestamp.wrapping_sub(w[0].timestamp) == step), "one frame apart each");
    assert_eq!(new.iter().map(|h| h.ssrc).collect::<std::collections::BTreeSet<_>>().len(), 1, "one stream");
}

#[test]
fn with_direct_audio_off_str0m_sends_every_forwarded_packet() {
    let mut net = Net::new();
    net.sfu.set_direct_audio(false);
    net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Microphone]).unwrap();
    let viewer = net.join("10.0.0.9:1000", "viewer", audience(), &[]).unwrap();
    net.run(Duration::from_secs(3));
    assert_eq!(net.sfu.direct_audio_sent(), 0);
    assert!(net.clients[viewer].received_audio > 100, "{}", net.clients[viewer].received_audio);
}

#[test]
fn the_audience_is_not_listed_to_anyone_and_an_audience_member_joining_sends_the_others_nothing() {
    let mut net = Net::new();
    let host_ix = net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Microphone]).unwrap();
    let first = net.join("10.0.0.3:1000", "first", audience(), &[]).unwrap();
    net.run(Duration::from_secs(2));
    let states = |c: &Client| c.messages.iter().filter(|m| matches!(m, ServerMessage::State { .. })).count();
    let (host_states, first_states) = (states(&net.clients[host_ix]), states(&net.clients[first]));

    let second = net.join("10.0.0.4:1000", "second", audience(), &[]).unwrap();
    net.run(Duration::from_secs(2));
    assert!(net.clients[second].received_audio > 50, "the newcomer hears the stage");
    assert_eq!(state_users(&net.clients[second]), ["host", "second"], "the stage and themself");
    assert_eq!(state_users(&net.clients[first]), ["host", "first"]);
    assert_eq!(state_users(&net.clients[host_ix]), ["host"], "the host's state lists the stage only");
    assert_eq!(states(&net.clients[host_ix]), host_states, "an audience member's arrival sent the host nothing");
    assert_eq!(states(&net.clients[first]), first_states, "nor the rest of the audience");

    // Promoted, they are on the stage: listed to everyone.
    let speaker = MediaGrants { publish: vec![TrackSource::Microphone], ..audience() };
    assert_eq!(net.sfu.update_grants("room-1", "second", speaker), 1);
    net.run(Duration::from_secs(1));
    assert!(state_users(&net.clients[first]).contains(&"second".to_owned()));
    assert!(state_users(&net.clients[host_ix]).contains(&"second".to_owned()));
}

#[test]
fn a_wake_up_for_timers_handles_a_few_dozen_peers_and_asks_at_once_for_the_rest() {
    let mut net = Net::new();
    net.join("10.0.0.2:1000", "host", host(), &[TrackSource::Microphone]).unwrap();
    for i in 0..40 {
        net.join(&format!("10.0.1.{i}:1000"), &format!("listener{i}"), audience(), &[]).unwrap();
    }
    net.run(Duration::from_secs(2));
    // Every peer's timer is due by then: one wake-up takes some, and the SFU asks to be woken
    // again at once for the rest instead of holding up forwarding for all 41.
    let later = net.now + Duration::from_secs(6);
    let mut wake_ups = 0;
    loop {
        net.sfu.handle_timeout(later);
        wake_ups += 1;
        if net.sfu.poll(later) > later || wake_ups == 10 {
            break;
        }
    }
    assert!((2..10).contains(&wake_ups), "41 due peers took {wake_ups} wake-ups");
}
