//! The recording service against the real platform around it (auth, events, the SFU, an egress
//! worker with real GStreamer) on the real test servers (Postgres, NATS, S3): what it does to
//! recordings on its own — stopping one nobody is on air in (also across a restart of the worker),
//! failing a stop its worker never finished, deleting old ones — and keyframes asked of a
//! publisher when RTP is lost on the way to the egress worker. One test binary.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there

mod idle;
mod keyframes;
mod platform;
mod publisher;
mod retention;
mod stopping;
