//! The media service: stagecast's SFU, built on str0m (sans-IO WebRTC).
//!
//! Layers, bottom up:
//! - [`sdp`]: what an offer asks for (m-lines, directions, codecs), read before str0m accepts it
//!   so refusals are specific.
//! - [`signal`]: the JSON messages of the `signal` data channel (docs/media.md).
//! - [`sfu`]: the sans-IO core: peers, rooms, grants enforcement, forwarding, renegotiation,
//!   active speaker. Time and datagrams come in, datagrams and room events go out.
//! - [`rewrite`]: per outgoing stream, the payload-type map and the sequence-number and timestamp
//!   offsets that RTP forwarding needs; loss detection on incoming video.
//! - [`tap`]: forwarded RTP under a plain header of its own, for the egress pipelines.
//! - [`worker`]: drives one [`sfu::Sfu`] with a UDP socket and a clock on its own thread;
//!   [`udp`] sends its bursts with one `sendmmsg` each.
//! - [`rooms`]: which room lives on which worker; the async face the edges call.
//! - [`tokens`]: media-token verification with the auth service's public keys.
//! - [`http`]: join, WHIP and WHEP endpoints; [`grpc`]: the control API, also reachable as NATS
//!   [`commands`]; [`bus`]: room events to NATS.
//! - [`startup`]: wiring and graceful shutdown.
#![forbid(unsafe_code)]

pub mod bus;
pub mod commands;
pub mod config;
pub mod grpc;
pub mod http;
pub mod observe;
pub mod overrides;
pub mod rewrite;
pub mod rooms;
pub mod sdp;
pub mod sfu;
pub mod signal;
pub mod stage_feed;
pub mod startup;
pub mod tap;
pub mod tokens;
pub mod udp;
pub mod worker;
