//! The workers and which room lives on which: every room is on exactly one worker (a hash of its
//! id), so its peers forward to each other without crossing threads.
use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
    sync::Mutex,
};

use stagecast_authn::{MediaGrants, TrackSource};
use stagecast_kit::{ApiError, ErrorKind};
use tokio::sync::oneshot;

use crate::{
    sfu::{ConnectionKind, JoinRequest, Joined, OfferError, ParticipantInfo, PeerId, TapId, TapInfo},
    worker::{Command, WorkerHandle},
};

/// A WHIP or WHEP resource: whom it belongs to and where it lives, for DELETE.
struct Resource {
    worker: usize,
    user_id: String,
    kind: ConnectionKind,
}

pub struct Rooms {
    workers: Vec<WorkerHandle>,
    metrics: std::sync::Arc<crate::observe::Metrics>,
    // A std Mutex: held only to insert or remove, never across an await.
    resources: Mutex<HashMap<PeerId, Resource>>,
    /// Which worker runs each tap.
    taps: Mutex<HashMap<TapId, usize>>,
}

fn unavailable() -> ApiError {
    ApiError::new(ErrorKind::Unavailable, "media_unavailable", "the media server is shutting down; join again")
}

impl From<OfferError> for ApiError {
    fn from(e: OfferError) -> Self {
        let kind = match e {
            OfferError::BadSdp(_) | OfferError::UnsupportedCodec(_) => ErrorKind::InvalidInput,
            OfferError::TrackNotAllowed(_) | OfferError::NotAllowed(_) | OfferError::Removed => ErrorKind::PermissionDenied,
        };
        ApiError::new(kind, e.code(), e.to_string())
    }
}

impl Rooms {
    pub fn new(workers: Vec<WorkerHandle>, metrics: std::sync::Arc<crate::observe::Metrics>) -> Self {
        assert!(!workers.is_empty(), "at least one SFU worker");
        Self { workers, metrics, resources: Mutex::new(HashMap::new()), taps: Mutex::new(HashMap::new()) }
    }

    pub fn worker_addrs(&self) -> Vec<std::net::SocketAddr> {
        self.workers.iter().map(|w| w.addr).collect()
    }

    fn worker_of(&self, room: &str) -> usize {
        let mut h = DefaultHasher::new();
        room.hash(&mut h);
        (h.finish() % self.workers.len() as u64) as usize
    }

    async fn ask<T>(&self, worker: usize, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.workers[worker].tx.send(make(tx)).await.map_err(|_| unavailable())?;
        rx.await.map_err(|_| unavailable())
    }

    pub async fn join(&self, req: JoinRequest) -> Result<Joined, ApiError> {
        let worker = self.worker_of(&req.claims.room);
        let user_id = req.claims.sub.clone();
        let kind = req.kind;
        let result = self.ask(worker, |tx| Command::Join(req, tx)).await.and_then(|r| r.map_err(ApiError::from));
        self.metrics.join(result.as_ref().map_or_else(|e| &*e.code, |_| "ok"));
        let joined = result?;
        if kind != ConnectionKind::Participant {
            self.resources.lock().expect("resources lock").insert(joined.peer, Resource { worker, user_id, kind });
        }
        Ok(joined)
    }

    /// Ends a WHIP / WHEP resource; only the user who created it may.
    pub async fn delete_resource(&self, peer: PeerId, kind: ConnectionKind, user_id: &str) -> Result<(), ApiError> {
        let worker = {
            let mut resources = self.resources.lock().expect("resources lock");
            match resources.get(&peer) {
                Some(r) if r.kind == kind && r.user_id == user_id => {
                    let w = r.worker;
                    resources.remove(&peer);
                    w
                }
                Some(r) if r.kind == kind => {
                    return Err(ApiError::forbidden("not_your_resource", "this session belongs to someone else"));
                }
                _ => return Err(ApiError::not_found("session_not_found", "no such session; it may have ended already")),
            }
        };
        self.ask(worker, |tx| Command::Disconnect(peer, tx)).await?;
        Ok(())
    }

    pub async fn participants(&self, room: &str) -> Result<Vec<ParticipantInfo>, ApiError> {
        self.ask(self.worker_of(room), |tx| Command::Participants(room.to_owned(), tx)).await
    }

    pub async fn mute(&self, room: &str, user_id: &str, source: TrackSource) -> Result<u32, ApiError> {
        let (room, user_id) = (room.to_owned(), user_id.to_owned());
        self.ask(self.worker_of(&room), |reply| Command::Mute { room, user_id, source, reply }).await
    }

    pub async fn update_grants(&self, room: &str, user_id: &str, grants: MediaGrants) -> Result<u32, ApiError> {
        self.update_grants_at(room, user_id, grants, crate::sfu::unix_now()).await
    }

    /// A grants change made at `at` (unix seconds): peers joined with a newer token keep theirs.
    pub async fn update_grants_at(&self, room: &str, user_id: &str, grants: MediaGrants, at: i64) -> Result<u32, ApiError> {
        let (room, user_id) = (room.to_owned(), user_id.to_owned());
        self.ask(self.worker_of(&room), |reply| Command::UpdateGrants { room, user_id, grants, at, reply }).await
    }

    pub async fn remove(&self, room: &str, user_id: &str, reason: &str) -> Result<u32, ApiError> {
        self.remove_at(room, user_id, reason, crate::sfu::unix_now()).await
    }

    /// Records a removal made at `at` (unix seconds): tokens minted until then stop admitting the
    /// user; nobody connected is disconnected yet.
    pub async fn forbid_at(&self, room: &str, user_id: &str, at: i64) -> Result<(), ApiError> {
        let (room, user_id) = (room.to_owned(), user_id.to_owned());
        self.ask(self.worker_of(&room), |reply| Command::Forbid { room, user_id, at, reply }).await
    }

    /// A removal made at `at` (unix seconds): someone who came back since with a newer token stays.
    pub async fn remove_at(&self, room: &str, user_id: &str, reason: &str, at: i64) -> Result<u32, ApiError> {
        let (room, user_id, reason) = (room.to_owned(), user_id.to_owned(), reason.to_owned());
        self.ask(self.worker_of(&room), |reply| Command::Remove { room, user_id, reason, at, reply }).await
    }

    pub async fn start_tap(
        &self,
        room: &str,
        user_id: &str,
        sources: Vec<TrackSource>,
        destination: std::net::SocketAddr,
    ) -> Result<Vec<TapInfo>, ApiError> {
        let (room, user_id) = (room.to_owned(), user_id.to_owned());
        let worker = self.worker_of(&room);
        let infos = self.ask(worker, |reply| Command::StartTap { room, user_id, sources, destination, reply }).await?;
        let mut taps = self.taps.lock().expect("taps lock");
        for i in &infos {
            taps.insert(i.id, worker);
        }
        Ok(infos)
    }

    pub async fn stop_tap(&self, id: TapId) -> Result<bool, ApiError> {
        let worker = self.taps.lock().expect("taps lock").remove(&id);
        match worker {
            Some(w) => self.ask(w, |reply| Command::StopTap(id, reply)).await,
            None => Ok(false),
        }
    }

    /// Asks the publisher behind a tap for a keyframe; `None` when there is no such tap.
    pub async fn request_tap_keyframe(&self, id: TapId) -> Result<Option<u32>, ApiError> {
        let worker = self.taps.lock().expect("taps lock").get(&id).copied();
        match worker {
            Some(w) => self.ask(w, |reply| Command::RequestTapKeyframe(id, reply)).await,
            None => Ok(None),
        }
    }

    /// Tells every peer to reconnect elsewhere and waits (bounded) until the workers stop.
    pub async fn shutdown(&self) {
        for (i, _) in self.workers.iter().enumerate() {
            let _ = self.ask(i, Command::Shutdown).await;
        }
    }
}
