//! The egress worker: composite jobs that record (and restream) an event from one encode.
//!
//! Layers:
//! - [`layout`]: where tiles go (pure).
//! - [`composite`]: the GStreamer pipeline of one job: RTP inputs → compositor/mixer → one encode
//!   → HLS segments in the job's spool directory.
#![forbid(unsafe_code)]

pub mod composite;
pub mod layout;
