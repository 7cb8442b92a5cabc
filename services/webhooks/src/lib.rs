//! Webhooks for developers' backends (docs/webhooks.md).
//!
//! Layers:
//! - [`feed`]: a durable JetStream consumer turns the bus messages of an owner's events into
//!   stored messages and one delivery per matching endpoint, before acknowledging, so a restart
//!   loses nothing.
//! - [`deliver`]: attempts deliveries, one at a time per endpoint in order, signed
//!   ([`sign`], Standard Webhooks), retried on a schedule, logged; sustained failure disables the
//!   endpoint.
//! - [`service`]: endpoints and their delivery log, for the owner; [`grpc`]: the API.
//! - [`payload`]: bus message → event type and JSON body. [`target`]: which URLs may be called.
//! - [`config`], [`startup`], [`http`]: wiring, health and metrics.
#![forbid(unsafe_code)]

pub mod config;
pub mod deliver;
pub mod feed;
pub mod grpc;
pub mod http;
pub mod payload;
pub mod service;
pub mod sign;
pub mod startup;
pub mod target;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
