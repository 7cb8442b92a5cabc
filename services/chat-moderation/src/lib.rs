//! The chat-moderation service: live chat per event and its moderation (gRPC
//! `stagecast.chat.v1`).
//!
//! Layers, bottom up:
//! - [`domain`]: types that parse (message text, client message id, reason, blocked terms, slow
//!   mode, timeout, page sizes, ids), rooms and roles, and the rules of who may moderate whom.
//!   No I/O.
//! - [`proto`]: domain values to and from protobuf, checked, for every edge that speaks it.
//! - [`store`]: the `chat` Postgres schema; runtime queries only. Deleted messages stay as rows
//!   and are hidden by tombstones.
//! - [`throttle`], [`idempotency`]: Redis state of the Send path (slow mode, rate limit, the
//!   first result of each client_msg_id).
//! - [`bus`]: subjects; chat messages published straight to JetStream (the durable log),
//!   moderation actions through the outbox; the durable consumers.
//! - [`rooms`]: the `rooms` table kept in step with the events service (bus consumer, and a
//!   GetEvent fallback for rooms the bus has not brought yet).
//! - [`persister`]: batches accepted messages from JetStream into Postgres.
//! - [`service`]: the use cases (join, send, history, replay, moderate, held, audit).
//! - [`grpc`]: the tonic edge, converting requests into domain calls.
//! - [`startup`]: wires config, Postgres, Redis, NATS, the background tasks and the gRPC server.
#![forbid(unsafe_code)]

pub mod bus;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod idempotency;
pub mod persister;
pub mod proto;
pub mod rooms;
pub mod service;
pub mod startup;
pub mod store;
pub mod throttle;

/// The service's migrations, run into its own schema at startup.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
