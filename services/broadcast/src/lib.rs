//! Restreaming's control plane: saved destinations (keys sealed at rest), attached to events and
//! pushed from the event's one composite encode on an egress worker.
//!
//! Layers:
//! - [`service`]: the use cases and how a destination follows its job and its event; every state
//!   change goes out through the outbox.
//! - [`crypto`]: the stream keys at rest. [`follow`]: the bus subscriptions. [`grpc`]: the API.
//!   [`clients`]: the services it calls (events, auth, egress).
//! - [`config`], [`startup`], [`http`]: wiring, health and metrics.
#![forbid(unsafe_code)]

pub mod clients;
pub mod config;
/// The stream keys at rest: the kit's sealing, under the name this service's code uses.
pub use stagecast_kit::seal as crypto;
pub mod follow;
pub mod grpc;
pub mod http;
pub mod service;
pub mod startup;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
