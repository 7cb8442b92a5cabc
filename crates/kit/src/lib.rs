//! The service kit: one way to do each cross-cutting thing in every stagecast service.
//!
//! Layers, bottom up:
//! - [`config`]: typed configuration read from environment variables, failing at startup with the
//!   variable's name and what was wrong with it.
//! - [`error`]: [`ApiError`], the one error type that crosses a service boundary. It carries a
//!   coarse [`ErrorKind`] (mapped to both a gRPC code and an HTTP status) and a stable,
//!   machine-readable `code` that clients can branch on.
//! - [`shutdown`]: a future that resolves on SIGTERM or Ctrl-C.
//! - [`grpc`]: serves tonic services with health, reflection and trace propagation.
//! - [`text`]: the rules for text and links people type (normalised, bounded, refusals that
//!   name the field), each with the JSON Schema pattern the API document states it with.
//! - [`cache`]: Redis with short timeouts, so an outage fails requests fast instead of slowly.
//! - [`db`]: connects to Postgres inside a service's own schema and runs its migrations.
//! - [`keys`]: the auth service's public keys, cached, for verifying tokens locally.
//! - [`ratelimit`]: the one rate limiter (GCRA in Redis) for limits that hold across replicas.
//! - [`seal`]: secrets at rest (AES-256-GCM, rotatable keys).
//! - [`problem`]: RFC 9457 problem JSON, the shape of every HTTP error.
//! - [`sync`]: locking std mutexes that guard short, synchronous work.
#![forbid(unsafe_code)]

pub mod cache;
pub mod config;
pub mod db;
pub mod error;
pub mod grpc;
pub mod keys;
pub mod problem;
pub mod ratelimit;
pub mod seal;
pub mod shutdown;
pub mod stage;
pub mod sync;
pub mod text;

pub use error::{ApiError, ErrorKind};
