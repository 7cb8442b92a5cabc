//! The SFU as a user meets it: media tokens from the gateway, joins over HTTP, media over real
//! UDP between two WebRTC peers (str0m clients standing in for browsers; the browser test is
//! web/e2e/run.mjs), refusals for audience publishing and bad tokens, a server-side mute, WHIP to
//! WHEP, and a SIGTERM that tells participants to reconnect.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
use std::{
    net::{SocketAddr, UdpSocket},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{Value, json};
use stagecast_e2e::Platform;
use str0m::{
    Candidate, Event, Input, Output, Rtc,
    change::{SdpAnswer, SdpOffer, SdpPendingOffer},
    channel::ChannelId,
    format::Codec,
    media::{Direction, MediaKind, MediaTime, Mid},
    net::{Protocol, Receive},
};

/// A WebRTC peer on a real UDP socket: publishes an Opus track if asked, answers server offers
/// on the `signal` channel, counts received audio frames.
struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    pending: Option<SdpPendingOffer>,
    channel: Option<ChannelId>,
    mic: Option<Mid>,
    received_audio: usize,
    messages: Vec<Value>,
    /// Offer a microphone over the data channel as soon as the grants allow it (a promoted
    /// audience member's client does this).
    publish_when_allowed: bool,
}

impl Peer {
    fn new() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        let mut rtc = Rtc::builder().build(Instant::now());
        rtc.add_local_candidate(Candidate::host(socket.local_addr().unwrap(), "udp").unwrap());
        Self {
            rtc,
            socket,
            pending: None,
            channel: None,
            mic: None,
            received_audio: 0,
            messages: vec![],
            publish_when_allowed: false,
        }
    }

    fn offer(&mut self, publish_mic: bool) -> Value {
        let mut change = self.rtc.sdp_api();
        let mut sources = serde_json::Map::new();
        if publish_mic {
            let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
            sources.insert(mid.to_string(), json!("microphone"));
            self.mic = Some(mid);
        }
        change.add_channel("signal".into());
        let (offer, pending) = change.apply().unwrap();
        self.pending = Some(pending);
        json!({"sdp": offer.to_sdp_string(), "sources": sources})
    }

    /// A WHIP (send audio) or WHEP (receive audio) offer: one m-line, no data channel.
    fn plain_offer(&mut self, send: bool) -> String {
        let mut change = self.rtc.sdp_api();
        let dir = if send { Direction::SendOnly } else { Direction::RecvOnly };
        let mid = change.add_media(MediaKind::Audio, dir, None, None, None);
        if send {
            self.mic = Some(mid);
        }
        let (offer, pending) = change.apply().unwrap();
        self.pending = Some(pending);
        offer.to_sdp_string()
    }

    fn accept(&mut self, answer: &str) {
        let answer = SdpAnswer::from_sdp_string(answer).unwrap();
        self.rtc.sdp_api().accept_answer(self.pending.take().unwrap(), answer).unwrap();
    }

    /// Runs the peer for up to `d`, or until `done` is set: sends, receives, answers offers,
    /// writes 50 audio frames/s. Sets `done` itself once it has received `enough` audio frames.
    fn run(&mut self, d: Duration, done: &AtomicBool, enough: usize) {
        let end = Instant::now() + d;
        let mut buf = vec![0u8; 2048];
        let mut frame = 0u64;
        let mut next_frame = Instant::now();
        while Instant::now() < end && !done.load(Ordering::Relaxed) {
            if enough > 0 && self.received_audio >= enough {
                done.store(true, Ordering::Relaxed);
                break;
            }
            let now = Instant::now();
            if now >= next_frame {
                if let Some(mid) = self.mic
                    && let Some(w) = self.rtc.writer(mid)
                {
                    let pt = w.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt());
                    if let Some(pt) = pt {
                        let _ = w.write(pt, now, MediaTime::from_90khz(frame * 960), vec![0x78u8; 60]);
                    }
                }
                frame += 1;
                next_frame = now + Duration::from_millis(20);
            }
            loop {
                match self.rtc.poll_output().unwrap() {
                    Output::Timeout(_) => break,
                    Output::Transmit(t) => {
                        let _ = self.socket.send_to(&t.contents, t.destination);
                    }
                    Output::Event(e) => self.event(e),
                }
            }
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let local: SocketAddr = self.socket.local_addr().unwrap();
                    if let Ok(contents) = buf[..n].try_into() {
                        let input = Input::Receive(
                            Instant::now(),
                            Receive { proto: Protocol::Udp, source: from, destination: local, contents },
                        );
                        self.rtc.handle_input(input).unwrap();
                    }
                }
                Err(_) => self.rtc.handle_input(Input::Timeout(Instant::now())).unwrap(),
            }
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::ChannelOpen(cid, _) => self.channel = Some(cid),
            Event::ChannelData(d) => {
                let msg: Value = serde_json::from_slice(&d.data).unwrap();
                if msg["type"] == "offer" {
                    let offer = SdpOffer::from_sdp_string(msg["sdp"].as_str().unwrap()).unwrap();
                    let answer = self.rtc.sdp_api().accept_offer(offer).unwrap();
                    let reply = json!({"type": "answer", "sdp": answer.to_sdp_string()}).to_string();
                    self.rtc.channel(self.channel.unwrap()).unwrap().write(false, reply.as_bytes()).unwrap();
                }
                if msg["type"] == "answer" && self.pending.is_some() {
                    self.accept(msg["sdp"].as_str().unwrap());
                }
                let may_speak = msg["type"] == "grants"
                    && msg["grants"]["publish"].as_array().is_some_and(|p| p.contains(&json!("microphone")));
                if may_speak && self.publish_when_allowed && self.mic.is_none() {
                    let mut change = self.rtc.sdp_api();
                    let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
                    let (offer, pending) = change.apply().unwrap();
                    self.pending = Some(pending);
                    self.mic = Some(mid);
                    let msg = json!({"type": "offer", "sdp": offer.to_sdp_string(), "sources": {mid.to_string(): "microphone"}});
                    self.rtc.channel(self.channel.unwrap()).unwrap().write(false, msg.to_string().as_bytes()).unwrap();
                }
                self.messages.push(msg);
            }
            Event::MediaData(d) if d.params.spec().codec == Codec::Opus => self.received_audio += 1,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_audience_member_hears_the_host_over_udp_until_the_host_is_muted_at_the_sfu_and_sigterm_says_reconnect() {
    let mut p = Platform::start().await;
    let http = reqwest::Client::new();
    let host = p.sign_up("Host").await;
    let viewer = p.sign_up("Viewer").await;
    let event = p.schedule(&host, "On air").await;
    assert_eq!(
        http.post(p.url(&format!("/api/v1/events/{event}/go-live"))).bearer_auth(&host).send().await.unwrap().status(),
        200
    );

    let host_token = p.media_token(&host, &event).await;
    let viewer_token = p.media_token(&viewer, &event).await;
    assert_eq!(viewer_token["grants"]["publish"], json!([]), "the audience only subscribes");
    let sfu = host_token["url"].as_str().unwrap().to_owned();
    let join = |token: &Value, body: Value| {
        http.post(format!("{sfu}/rtc/v1/join")).bearer_auth(token["token"].as_str().unwrap()).json(&body).send()
    };

    // An audience member offering a microphone is refused, with a code that says why.
    let mut refused = Peer::new();
    let r = join(&viewer_token, refused.offer(true)).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "track_not_allowed");

    // An API access token, a forged token and no token are refused.
    let mut any = Peer::new();
    let offer = any.offer(false);
    let r = http.post(format!("{sfu}/rtc/v1/join")).bearer_auth(&viewer).json(&offer).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "invalid_token");
    let t = viewer_token["token"].as_str().unwrap();
    let forged = format!("{}.{}", t.rsplit_once('.').unwrap().0, "A".repeat(86));
    let r = http.post(format!("{sfu}/rtc/v1/join")).bearer_auth(forged).json(&offer).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http.post(format!("{sfu}/rtc/v1/join")).json(&offer).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "missing_token");

    // The host publishes a microphone; the viewer joins and hears it after the server's offer.
    let mut host_peer = Peer::new();
    let r = join(&host_token, host_peer.offer(true)).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let answer: Value = r.json().await.unwrap();
    host_peer.accept(answer["sdp"].as_str().unwrap());
    let mut viewer_peer = Peer::new();
    let r = join(&viewer_token, viewer_peer.offer(false)).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let answer: Value = r.json().await.unwrap();
    viewer_peer.accept(answer["sdp"].as_str().unwrap());

    // Bounded generously: a loaded CI machine may take seconds over ICE and DTLS.
    let (host_peer, viewer_peer) = run_pair(host_peer, viewer_peer, Duration::from_secs(20)).await;
    assert!(viewer_peer.received_audio > 50, "the viewer heard {} frames\n{}", viewer_peer.received_audio, p.logs());
    let state = viewer_peer.messages.iter().rev().find(|m| m["type"] == "state").expect("a state message");
    assert_eq!(state["participants"].as_array().unwrap().len(), 2, "{state}");
    assert_eq!(state["tracks"][0]["source"], "microphone");
    assert!(host_peer.messages.iter().any(|m| m["type"] == "state"));

    // The host mutes the microphone at the SFU (a moderator would do this to a speaker):
    // forwarding stops and the publisher is told.
    let me: Value = http.get(p.url("/api/v1/me")).bearer_auth(&host).send().await.unwrap().json().await.unwrap();
    let r = http
        .post(p.url(&format!("/api/v1/events/{event}/stage/mute")))
        .bearer_auth(&host)
        .json(&json!({"user_id": me["id"], "source": "microphone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["tracks_muted"], 1);
    let heard_before = viewer_peer.received_audio;
    let (host_peer, viewer_peer) = run_pair_for(host_peer, viewer_peer, Duration::from_secs(2), usize::MAX).await;
    assert!(
        viewer_peer.received_audio <= heard_before + 5,
        "nothing (beyond what was in flight) after the mute: {} → {}",
        heard_before,
        viewer_peer.received_audio
    );
    assert!(host_peer.messages.iter().any(|m| *m == json!({"type": "muted", "source": "microphone", "by_server": true})));

    // The gateway got there with the control secret; a caller without it, or with a wrong one,
    // is refused before anything happens.
    use stagecast_proto::media::v1::{ListParticipantsRequest, media_service_client::MediaServiceClient};
    let mut control = MediaServiceClient::connect(p.media_grpc_url.clone()).await.unwrap();
    let room = event.to_string();
    for bearer in [None, Some("Bearer not-the-secret-not-the-secret-not-the-secret")] {
        let mut req = tonic::Request::new(ListParticipantsRequest { room: room.clone() });
        if let Some(b) = bearer {
            req.metadata_mut().insert("authorization", b.parse().unwrap());
        }
        let err = control.list_participants(req).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated, "{bearer:?}: {err}");
        assert!(!err.message().contains(&p.media_control_secret), "the secret is never echoed");
    }
    let mut req = tonic::Request::new(ListParticipantsRequest { room });
    req.metadata_mut().insert("authorization", format!("Bearer {}", p.media_control_secret).parse().unwrap());
    assert_eq!(control.list_participants(req).await.unwrap().into_inner().participants.len(), 2);

    // The SFU's metrics are on its public port, so they ask for the same secret.
    let r = http.get(format!("{sfu}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "control_secret_required");
    let metrics =
        http.get(format!("{sfu}/metrics")).bearer_auth(&p.media_control_secret).send().await.unwrap().text().await.unwrap();
    let value = |line_start: &str| -> f64 {
        metrics.lines().filter(|l| l.starts_with(line_start)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
    };
    assert_eq!(value("media_joins_total{result=\"ok\"}"), 2.0, "{metrics}");
    assert!(value("media_joins_total{result=\"track_not_allowed\"}") >= 1.0, "the audience camera was counted: {metrics}");
    assert_eq!(value("media_peers{"), 2.0, "{metrics}");
    assert!(value("media_datagrams_sent_total{") > 100.0, "{metrics}");
    assert!(value("media_datagrams_received_total{") > 100.0, "{metrics}");
    assert!(value("media_audio_sealed_total{") > 50.0, "the host's audio went out sealed by the SFU itself: {metrics}");

    // SIGTERM: the SFU tells everyone to reconnect elsewhere and exits cleanly.
    let mut media = std::mem::replace(&mut p.media, stagecast_e2e::Service::placeholder("media"));
    let terminated = tokio::task::spawn_blocking(move || media.terminate(Duration::from_secs(10)));
    let (host_peer, _viewer_peer) = run_pair_for(host_peer, viewer_peer, Duration::from_secs(3), usize::MAX).await;
    assert!(terminated.await.unwrap(), "media exits 0 on SIGTERM\n{}", p.logs());
    assert!(
        host_peer.messages.iter().any(|m| m["type"] == "bye" && m["reconnect"] == true),
        "participants are told to reconnect: {:?}",
        host_peer.messages
    );
}

/// Runs both peers until each has its data channel open (ICE, DTLS and SCTP done), for at most
/// 20 s.
async fn connect_pair(mut a: Peer, mut b: Peer) -> (Peer, Peer) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while (a.channel.is_none() || b.channel.is_none()) && Instant::now() < deadline {
        (a, b) = run_pair_for(a, b, Duration::from_millis(200), usize::MAX).await;
    }
    assert!(a.channel.is_some() && b.channel.is_some(), "both peers connect within 20 s");
    (a, b)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_audience_member_invited_on_stage_publishes_without_rejoining_and_stops_when_moved_back() {
    let p = Platform::start().await;
    let http = reqwest::Client::new();
    let host = p.sign_up("Host").await;
    let guest = p.sign_up("Guest").await;
    let event = p.schedule(&host, "Spaces").await;
    let post = |path: String, token: &str, body: Value| http.post(p.url(&path)).bearer_auth(token).json(&body).send();
    assert_eq!(post(format!("/api/v1/events/{event}/go-live"), &host, json!({})).await.unwrap().status(), 200);
    let me: Value = http.get(p.url("/api/v1/me")).bearer_auth(&guest).send().await.unwrap().json().await.unwrap();
    let guest_id = me["id"].as_str().unwrap().to_owned();

    // Both join the room as they are: the host listening, the guest in the audience.
    let host_token = p.media_token(&host, &event).await;
    let guest_token = p.media_token(&guest, &event).await;
    let sfu = host_token["url"].as_str().unwrap().to_owned();
    let mut peers = Vec::new();
    for token in [&host_token, &guest_token] {
        let mut peer = Peer::new();
        let offer = peer.offer(false);
        let r = http.post(format!("{sfu}/rtc/v1/join")).bearer_auth(token["token"].as_str().unwrap()).json(&offer).send();
        let r = r.await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        peer.accept(r.json::<Value>().await.unwrap()["sdp"].as_str().unwrap());
        peers.push(peer);
    }
    let mut guest_peer = peers.pop().unwrap();
    guest_peer.publish_when_allowed = true;
    let host_peer = peers.pop().unwrap();
    let (guest_peer, host_peer) = connect_pair(guest_peer, host_peer).await;

    // Hand, invitation, acceptance: all through the public API, nobody rejoins.
    assert_eq!(post(format!("/api/v1/events/{event}/stage/hand"), &guest, json!({})).await.unwrap().status(), 201);
    let r = post(format!("/api/v1/events/{event}/stage/invitations"), &host, json!({"user_id": guest_id})).await.unwrap();
    assert_eq!(r.status(), 201);
    let invitation = r.json::<Value>().await.unwrap()["change"]["invitation"]["id"].as_str().unwrap().to_owned();
    let r = post(format!("/api/v1/events/{event}/stage/invitations/{invitation}/accept"), &guest, json!({})).await.unwrap();
    let accepted: Value = r.json().await.unwrap();
    assert_eq!(accepted["applied_to_media"], true, "{accepted}");

    let (guest_peer, host_peer) = run_pair(guest_peer, host_peer, Duration::from_secs(20)).await;
    assert!(
        guest_peer.messages.iter().any(|m| m["type"] == "grants" && m["grants"]["publish"] == json!(["camera", "microphone"])),
        "the guest's connection was told it may publish: {:?}",
        guest_peer.messages
    );
    assert!(host_peer.received_audio > 50, "the host hears the new speaker: {} frames\n{}", host_peer.received_audio, p.logs());

    // Moved back to the audience: the SFU stops forwarding at once, on the same connection.
    let r = http
        .put(p.url(&format!("/api/v1/events/{event}/stage/roles/{guest_id}")))
        .bearer_auth(&host)
        .json(&json!({"role": "audience"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let heard = host_peer.received_audio;
    let (guest_peer, host_peer) = run_pair_for(guest_peer, host_peer, Duration::from_secs(2), usize::MAX).await;
    assert!(host_peer.received_audio <= heard + 5, "the demoted guest is not heard: {heard} → {}", host_peer.received_audio);
    assert!(guest_peer.messages.iter().any(|m| m["type"] == "grants" && m["grants"]["publish"] == json!([])));
}

/// Joins `token`'s room as a str0m peer that receives (and publishes a microphone if asked).
async fn join_peer(http: &reqwest::Client, token: &Value, publish_mic: bool) -> Peer {
    let sfu = token["url"].as_str().unwrap();
    let mut peer = Peer::new();
    let offer = peer.offer(publish_mic);
    let r =
        http.post(format!("{sfu}/rtc/v1/join")).bearer_auth(token["token"].as_str().unwrap()).json(&offer).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    peer.accept(r.json::<Value>().await.unwrap()["sdp"].as_str().unwrap());
    peer
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_from_an_invite_link_is_heard_backstage_by_the_host_and_by_the_audience_only_once_on_air() {
    let p = Platform::start().await;
    let http = reqwest::Client::new();
    let host = p.sign_up("Host").await;
    let viewer = p.sign_up("Viewer").await;
    let event = p.schedule(&host, "Green room").await;
    let post = |path: String, token: Option<&str>, body: Value| {
        let r = http.post(p.url(&path)).json(&body);
        match token {
            Some(t) => r.bearer_auth(t).send(),
            None => r.send(),
        }
    };
    assert_eq!(post(format!("/api/v1/events/{event}/go-live"), Some(&host), json!({})).await.unwrap().status(), 200);
    let link: Value = post(format!("/api/v1/events/{event}/stage/links"), Some(&host), json!({"role": "speaker"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = link["token"].as_str().unwrap();
    let guest: Value = post(format!("/api/v1/guest-links/{token}/join"), None, json!({"display_name": "Guest"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let guest_access = guest["access_token"].as_str().unwrap().to_owned();
    let guest_id = guest["user"]["id"].as_str().unwrap().to_owned();

    // The guest speaks from the green room; the host and a viewer listen.
    let guest_token = p.media_token(&guest_access, &event).await;
    assert_eq!(guest_token["grants"]["backstage"], true);
    let guest_peer = join_peer(&http, &guest_token, true).await;
    let host_peer = join_peer(&http, &p.media_token(&host, &event).await, false).await;
    let viewer_peer = join_peer(&http, &p.media_token(&viewer, &event).await, false).await;
    let (guest_peer, host_peer) = connect_pair(guest_peer, host_peer).await;
    let (guest_peer, viewer_peer) = connect_pair(guest_peer, viewer_peer).await;
    let (guest_peer, host_peer) = run_pair(guest_peer, host_peer, Duration::from_secs(20)).await;
    assert!(host_peer.received_audio > 50, "the host hears the green room: {}\n{}", host_peer.received_audio, p.logs());
    let (guest_peer, viewer_peer) = run_pair_for(guest_peer, viewer_peer, Duration::from_secs(2), usize::MAX).await;
    assert_eq!(viewer_peer.received_audio, 0, "the audience receives nothing of the backstage");
    let states = |peer: &Peer| peer.messages.iter().filter(|m| m["type"] == "state").cloned().collect::<Vec<_>>();
    assert!(
        states(&viewer_peer).iter().all(|s| !s.to_string().contains(&guest_id)),
        "no entry for the backstage in what the audience is told: {:?}",
        states(&viewer_peer)
    );

    // On air: the viewer hears them on the connection it already has.
    let r = post(format!("/api/v1/events/{event}/stage/on-air/{guest_id}"), Some(&host), json!({})).await.unwrap();
    assert_eq!(r.status(), 200);
    let (_guest_peer, viewer_peer) = run_pair(guest_peer, viewer_peer, Duration::from_secs(20)).await;
    assert!(viewer_peer.received_audio > 50, "on air, the viewer hears the guest: {}\n{}", viewer_peer.received_audio, p.logs());
    assert!(states(&viewer_peer).iter().any(|s| s.to_string().contains(&guest_id)), "and is told who they are");
    drop(host_peer);
}

/// Runs a sender and a receiver side by side until the receiver has 100 audio frames, or `d`.
async fn run_pair(sender: Peer, receiver: Peer, d: Duration) -> (Peer, Peer) {
    run_pair_for(sender, receiver, d, 100).await
}

/// Runs a sender and a receiver side by side until the receiver has `enough` more audio
/// frames, or `d`.
async fn run_pair_for(sender: Peer, receiver: Peer, d: Duration, enough: usize) -> (Peer, Peer) {
    let enough = receiver.received_audio.saturating_add(enough);
    tokio::task::spawn_blocking(move || {
        let done = Arc::new(AtomicBool::new(false));
        let mut sender = sender;
        let stop = done.clone();
        let h = std::thread::spawn(move || {
            let mut receiver = receiver;
            receiver.run(d, &stop, enough);
            stop.store(true, Ordering::Relaxed);
            receiver
        });
        sender.run(d, &done, 0);
        (sender, h.join().unwrap())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whip_publisher_reaches_a_whep_viewer_and_only_its_owner_can_end_it() {
    let p = Platform::start().await;
    let http = reqwest::Client::new();
    let host = p.sign_up("Streamer").await;
    let viewer = p.sign_up("Watcher").await;
    let event = p.schedule(&host, "OBS night").await;
    let host_token = p.media_token(&host, &event).await;
    let viewer_token = p.media_token(&viewer, &event).await;
    let sfu = host_token["url"].as_str().unwrap().to_owned();
    let (ht, vt) = (host_token["token"].as_str().unwrap(), viewer_token["token"].as_str().unwrap());

    // The SFU serves its generated document; every answer below is one it documents.
    let doc: Value = http.get(format!("{sfu}/rtc/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let documented = |method: &str, path: &str, status: StatusCode| {
        let op = &doc["paths"][path][method];
        assert!(
            op["responses"][status.as_str()].is_object(),
            "{method} {path} answered {status}, which its document does not list"
        );
    };

    // WHIP wants SDP, not JSON.
    let r = http.post(format!("{sfu}/rtc/v1/whip")).bearer_auth(ht).json(&json!({})).send().await.unwrap();
    documented("post", "/rtc/v1/whip", r.status());
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "unsupported_media_type");
    // The audience cannot publish over WHIP either.
    let mut refused = Peer::new();
    let r = http
        .post(format!("{sfu}/rtc/v1/whip"))
        .bearer_auth(vt)
        .header("content-type", "application/sdp")
        .body(refused.plain_offer(true))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    documented("post", "/rtc/v1/whip", r.status());

    let mut obs = Peer::new();
    let r = http
        .post(format!("{sfu}/rtc/v1/whip"))
        .bearer_auth(ht)
        .header("content-type", "application/sdp")
        .body(obs.plain_offer(true))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    documented("post", "/rtc/v1/whip", r.status());
    assert_eq!(r.headers()["content-type"], "application/sdp");
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    obs.accept(&r.text().await.unwrap());

    let mut player = Peer::new();
    let r = http
        .post(format!("{sfu}/rtc/v1/whep"))
        .bearer_auth(vt)
        .header("content-type", "application/sdp")
        .body(player.plain_offer(false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    documented("post", "/rtc/v1/whep", r.status());
    player.accept(&r.text().await.unwrap());

    let (_obs, player) = run_pair(obs, player, Duration::from_secs(20)).await;
    assert!(player.received_audio > 50, "the WHEP viewer heard {} frames\n{}", player.received_audio, p.logs());

    // Someone else cannot end the publisher's session; the publisher can, once.
    let r = http.delete(format!("{sfu}{location}")).bearer_auth(vt).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    documented("delete", "/rtc/v1/whip/{id}", r.status());
    let r = http.delete(format!("{sfu}{location}")).bearer_auth(ht).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    documented("delete", "/rtc/v1/whip/{id}", r.status());
    let r = http.delete(format!("{sfu}{location}")).bearer_auth(ht).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    documented("delete", "/rtc/v1/whip/{id}", r.status());
}

/// The SFU's record of who was removed lives in memory; it is rebuilt from the stage changes on
/// the bus when the SFU starts. Without that, a restart would readmit a banned user with the
/// media token they got before the ban (good for five minutes).
#[tokio::test(flavor = "multi_thread")]
async fn an_sfu_restarted_after_a_ban_still_refuses_the_token_from_before_the_ban() {
    let mut p = Platform::start().await;
    let http = reqwest::Client::new();
    let host = p.sign_up("Host").await;
    let troll = p.sign_up("Troll").await;
    let fan = p.sign_up("Fan").await;
    let event = p.schedule(&host, "Late night").await;
    let r = http.post(p.url(&format!("/api/v1/events/{event}/go-live"))).bearer_auth(&host).json(&json!({})).send();
    assert_eq!(r.await.unwrap().status(), StatusCode::OK);
    let troll_token = p.media_token(&troll, &event).await;
    let fan_token = p.media_token(&fan, &event).await;
    let sfu = troll_token["url"].as_str().unwrap().to_owned();
    let me: Value = http.get(p.url("/api/v1/me")).bearer_auth(&troll).send().await.unwrap().json().await.unwrap();
    let r = http
        .post(p.url(&format!("/api/v1/events/{event}/bans")))
        .bearer_auth(&host)
        .json(&json!({"user_id": me["id"], "reason": "spam"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());

    // The ban is on the bus (the events service's outbox is drained), then the SFU restarts.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        use sqlx::Connection;
        let mut db = sqlx::PgConnection::connect(&p.database_url).await.unwrap();
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM events.outbox WHERE published_at IS NULL").fetch_one(&mut db).await.unwrap();
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the events outbox did not drain\n{}", p.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    p.media.crash();
    p.media.start();

    let join = |token: &Value| {
        let offer = Peer::new().offer(false);
        http.post(format!("{sfu}/rtc/v1/join")).bearer_auth(token["token"].as_str().unwrap().to_owned()).json(&offer).send()
    };
    let r = join(&troll_token).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "removed", "\n{}", p.logs());
    // Everyone else's tokens from before the restart still admit them.
    assert_eq!(join(&fan_token).await.unwrap().status(), StatusCode::CREATED);
}
