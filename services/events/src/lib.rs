//! The events service: scheduled live events, their hosts and co-hosts, and the
//! scheduled → live → ended lifecycle (gRPC `stagecast.events.v1`).
//!
//! Layers, bottom up:
//! - [`domain`]: types that parse (title, description, cover URL, ids, co-hosts, page size,
//!   cursor) and the [`domain::Event`] aggregate, which owns the state machine and decides who may
//!   do what. No I/O.
//! - [`store`]: the `events` Postgres schema; runtime queries only, rows locked with
//!   `FOR UPDATE` while they change.
//! - [`announce`]: bus subjects and messages; written to the outbox in the same transaction as
//!   the change they announce.
//! - [`service`]: the use cases, one transaction each.
//! - [`stage`], [`stage_store`]: the stage (roles, hands, invitations, bans), decided by
//!   [`domain::authorize`], the one policy of who may do what on an event.
//! - [`grpc`]: the tonic edge, converting proto messages to and from domain types.
//! - [`startup`]: wires config, database, NATS, the outbox relay and the gRPC server.
#![forbid(unsafe_code)]

pub mod announce;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod service;
pub mod stage;
pub mod stage_store;
pub mod startup;
pub mod store;

/// The service's migrations, run into its own schema at startup.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
