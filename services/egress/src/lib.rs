//! The egress worker: composite jobs that record (and, next, restream) an event from one encode.
//!
//! Layers:
//! - [`layout`]: where tiles go (pure).
//! - [`composite`]: the GStreamer pipeline of one job: RTP inputs → compositor/mixer → one encode
//!   → HLS segments in the job's spool directory.
//! - [`playlist`]: the HLS EVENT playlist (pure).
//! - [`job`]: one job's supervision: uploads with retries from the spool, the playlist after each
//!   upload, restarts with recorded gaps, the MP4 ([`mp4`]) at the end, resumption after a restart.
//! - [`worker`]: the jobs of this worker, admitted by CPU cost; [`grpc`] its API; [`sfu`] the taps.
//! - [`bus`]: job status on NATS; [`observe`] metrics; [`config`], [`startup`], [`http`] wiring.
#![forbid(unsafe_code)]

pub mod bus;
pub mod composite;
pub mod config;
pub mod grpc;
pub mod http;
pub mod job;
pub mod layout;
pub mod mp4;
pub mod observe;
pub mod playlist;
pub mod rtmp;
pub mod rtmps;
pub mod sfu;
pub mod startup;
pub mod worker;

/// Runs a GStreamer call that may never return (a state change of a deadlocked pipeline) on a
/// thread of its own, and waits for it at most `limit`; returns whether it finished. Not on
/// tokio's blocking pool: a task stuck there would also hold the runtime's shutdown for ever.
pub async fn off_thread(limit: std::time::Duration, f: impl FnOnce() + Send + 'static) -> bool {
    let (done, finished) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new().name("egress-gst".into()).spawn(move || {
        f();
        let _ = done.send(());
    });
    spawned.is_ok() && matches!(tokio::time::timeout(limit, finished).await, Ok(Ok(())))
}
