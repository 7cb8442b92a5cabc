//! Drives one [`Sfu`] with a UDP socket, a clock and a command queue, on its own thread (a
//! current-thread tokio runtime), so one busy room never stalls rooms on other workers and the
//! forwarding path never waits on the HTTP or gRPC side.
use std::{net::SocketAddr, time::Instant};

use stagecast_authn::{MediaGrants, TrackSource};
use tokio::{
    net::UdpSocket,
    sync::{mpsc, oneshot},
};

use crate::{
    observe::WorkerMetrics,
    sfu::{JoinRequest, Joined, OfferError, ParticipantInfo, PeerId, RoomEvent, Sfu, TapId, TapInfo},
    udp,
};

/// Largest datagram read; WebRTC keeps packets under the ~1200-byte MTU target.
const RECV_BUF: usize = 2048;
/// Datagrams handled per wake-up before what they brought is forwarded and timers run, so a
/// flood cannot starve timers.
const RECV_BATCH: usize = 64;

pub enum Command {
    Join(JoinRequest, oneshot::Sender<Result<Joined, OfferError>>),
    Disconnect(PeerId, oneshot::Sender<bool>),
    Participants(String, oneshot::Sender<Vec<ParticipantInfo>>),
    Mute {
        room: String,
        user_id: String,
        source: TrackSource,
        reply: oneshot::Sender<u32>,
    },
    /// `at`: when the change was made (unix seconds).
    UpdateGrants {
        room: String,
        user_id: String,
        grants: MediaGrants,
        at: i64,
        reply: oneshot::Sender<u32>,
    },
    Remove {
        room: String,
        user_id: String,
        reason: String,
        at: i64,
        reply: oneshot::Sender<u32>,
    },
    /// Records a removal made at `at` without disconnecting anyone yet.
    Forbid {
        room: String,
        user_id: String,
        at: i64,
        reply: oneshot::Sender<()>,
    },
    StartTap {
        room: String,
        user_id: String,
        sources: Vec<TrackSource>,
        destination: SocketAddr,
        reply: oneshot::Sender<Vec<TapInfo>>,
    },
    StopTap(TapId, oneshot::Sender<bool>),
    /// Ask the publisher behind a tap for a keyframe; `None` when there is no such tap.
    RequestTapKeyframe(TapId, oneshot::Sender<Option<u32>>),
    /// Tell everyone to reconnect elsewhere, then stop after the grace period.
    Shutdown(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct WorkerHandle {
    pub tx: mpsc::Sender<Command>,
    pub addr: SocketAddr,
}

/// Starts a worker thread on `socket` (already bound, so the caller knows the address).
pub fn spawn(
    index: usize,
    socket: std::net::UdpSocket,
    advertised: SocketAddr,
    events: mpsc::UnboundedSender<RoomEvent>,
    metrics: WorkerMetrics,
    forwarding: crate::sfu::Forwarding,
) -> std::io::Result<WorkerHandle> {
    socket.set_nonblocking(true)?;
    match crate::udp::size_buffers(&socket) {
        // Linux reports twice what it grants; less than asked means rmem_max / wmem_max are lower.
        Ok((rx, tx)) if rx < crate::udp::SOCKET_BUFFER || tx < crate::udp::SOCKET_BUFFER => tracing::warn!(
            receive = rx / 2,
            send = tx / 2,
            wanted = crate::udp::SOCKET_BUFFER,
            "the SFU socket got smaller buffers than it asked for: raise net.core.rmem_max and net.core.wmem_max, or mass joins may lose handshakes"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot size the SFU socket's buffers"),
    }
    let local = socket.local_addr()?;
    let (tx, rx) = mpsc::channel(1024);
    std::thread::Builder::new().name(format!("sfu-worker-{index}")).spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "cannot start an SFU worker runtime");
                return;
            }
        };
        rt.block_on(async move {
            match UdpSocket::from_std(socket) {
                Ok(socket) => run(socket, local, advertised, rx, events, metrics, forwarding).await,
                Err(e) => tracing::error!(error = %e, "cannot register the SFU socket"),
            }
        });
    })?;
    Ok(WorkerHandle { tx, addr: advertised })
}

async fn run(
    socket: UdpSocket,
    local: SocketAddr,
    advertised: SocketAddr,
    mut rx: mpsc::Receiver<Command>,
    events: mpsc::UnboundedSender<RoomEvent>,
    metrics: WorkerMetrics,
    forwarding: crate::sfu::Forwarding,
) {
    let mut sfu = Sfu::new(advertised);
    sfu.set_loudest_audio(forwarding.loudest_audio);
    sfu.set_direct_audio(forwarding.direct_audio);
    let mut buf = vec![0u8; RECV_BUF];
    let mut stopping: Option<(Instant, oneshot::Sender<()>)> = None;
    // One timer for the worker's life, moved only when str0m's next deadline moves: a new
    // `Sleep` per wake-up would register and deregister a timer for every packet handled.
    let timer = tokio::time::sleep_until(Instant::now().into());
    tokio::pin!(timer);
    let mut armed_for: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let deadline = sfu.poll(now);
        // A full socket buffer drops what does not fit, as the network would; RTP recovers.
        if !sfu.pending_transmits().is_empty() {
            let sent = udp::send_all(&socket, sfu.pending_transmits());
            sfu.clear_transmits();
            metrics.sent.inc_by(sent.sent as u64);
            metrics.dropped_full.inc_by(sent.dropped as u64);
            metrics.failed.inc_by(sent.failed as u64);
        }
        metrics.peers.set(sfu.peer_count() as i64);
        metrics.sealed.inc_by(sfu.direct_audio_sent() - metrics.sealed.get());
        for e in sfu.take_events() {
            let _ = events.send(e);
        }
        if let Some((until, _)) = &stopping
            && (now >= *until || sfu.peer_count() == 0)
        {
            if let Some((_, done)) = stopping.take() {
                let _ = done.send(());
            }
            return;
        }
        if armed_for != Some(deadline) {
            timer.as_mut().reset(deadline.into());
            armed_for = Some(deadline);
        }
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let now = Instant::now();
                match r {
                    Ok((n, from)) => {
                        sfu.handle_receive(now, from, local_for(local, advertised), &buf[..n]);
                        let mut received = 1;
                        // Take what else is waiting without another wake-up.
                        for _ in 1..RECV_BATCH {
                            match socket.try_recv_from(&mut buf) {
                                Ok((n, from)) => { sfu.handle_receive(now, from, local_for(local, advertised), &buf[..n]); received += 1; }
                                Err(_) => break,
                            }
                        }
                        metrics.received.inc_by(received);
                    }
                    Err(e) => tracing::debug!(error = %e, "recv failed"),
                }
            }
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { return };
                let now = Instant::now();
                match cmd {
                    Command::Join(req, reply) => { let _ = reply.send(sfu.join(now, req)); }
                    Command::Disconnect(peer, reply) => { let _ = reply.send(sfu.disconnect(peer)); }
                    Command::Participants(room, reply) => { let _ = reply.send(sfu.participants(&room)); }
                    Command::Mute { room, user_id, source, reply } => { let _ = reply.send(sfu.mute(&room, &user_id, source)); }
                    Command::UpdateGrants { room, user_id, grants, at, reply } => {
                        let _ = reply.send(sfu.update_grants_at(&room, &user_id, grants, at));
                    }
                    Command::Remove { room, user_id, reason, at, reply } => {
                        let _ = reply.send(sfu.remove_at(now, &room, &user_id, &reason, at));
                    }
                    Command::Forbid { room, user_id, at, reply } => {
                        sfu.forbid_at(&room, &user_id, at);
                        let _ = reply.send(());
                    }
                    Command::StartTap { room, user_id, sources, destination, reply } => {
                        let _ = reply.send(sfu.start_tap(&room, &user_id, &sources, destination));
                    }
                    Command::StopTap(id, reply) => { let _ = reply.send(sfu.stop_tap(id)); }
                    Command::RequestTapKeyframe(id, reply) => { let _ = reply.send(sfu.request_tap_keyframe(id)); }
                    Command::Shutdown(done) => {
                        sfu.shutdown(now);
                        stopping = Some((now + std::time::Duration::from_millis(500), done));
                    }
                }
            }
            _ = &mut timer => {
                armed_for = None;
                sfu.handle_timeout(Instant::now());
            }
        }
    }
}

/// str0m matches the destination of received datagrams against its local candidate: when the
/// socket is bound to a wildcard address, use the advertised one.
fn local_for(local: SocketAddr, advertised: SocketAddr) -> SocketAddr {
    if local.ip().is_unspecified() { advertised } else { local }
}
