//! Cloud recording's control plane and catalogue.
//!
//! Layers:
//! - [`service`]: the use cases (start, stop, layout, library, delete) and how a recording
//!   follows its egress job and its event; every row change goes out through the outbox.
//! - [`follow`]: the bus subscriptions that drive them; [`grpc`]: the API; [`clients`]: the
//!   services it calls (events, auth, egress, S3).
//! - [`config`], [`startup`]: wiring. The encoding itself runs on an egress worker.
#![forbid(unsafe_code)]

pub mod clients;
pub mod config;
pub mod follow;
pub mod grpc;
pub mod service;
pub mod startup;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
