//! The auth service: accounts, sessions and access tokens (gRPC `stagecast.auth.v1`).
//!
//! Layers:
//! - [`domain`]: types that parse (email, password, display name, avatar URL, refresh token);
//!   once a value has one of these types it is valid.
//! - [`store`]: the `auth` Postgres schema; every state change writes its bus message to the
//!   outbox in the same transaction.
//! - [`service`]: the use cases (sign up, sign in, refresh with rotation and reuse detection,
//!   sign out, profile) in domain terms.
//! - [`grpc`]: the tonic edge, converting proto messages to and from domain types.
//! - [`startup`]: wires config, database, NATS, the outbox relay and the gRPC server.
#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod grpc;
pub mod service;
pub mod startup;
pub mod store;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
