//! The gateway: stagecast's public HTTP API (`/api/v1`), in front of the gRPC services.
//!
//! Layers:
//! - [`routes`]: one module per resource, each exposing `router()`; the root merges them.
//! - [`extract`]: request extractors that parse before a handler runs: [`extract::ApiJson`]
//!   (body → typed request, or a problem response), [`extract::AuthUser`] (bearer access token,
//!   verified locally with the auth service's public keys, session not revoked).
//! - [`input_schemas`]: the schemas of what people type (text, links, email addresses), built
//!   from the rules the services check them with.
//! - [`problem`]: the one error response, RFC 9457 problem JSON with a stable `code`, mapped from
//!   the services' gRPC statuses through `stagecast_kit::ApiError`.
//! - [`avatar_store`]: avatar images in S3 (through `stagecast_storage`): the image types we
//!   accept, recognised by their first bytes, and the object keys, parsed strictly.
//! - [`ratelimit`]: fixed-window limits in Redis, shared by all replicas.
//! - [`observe`]: request ids, a trace span per request (continued into gRPC and NATS), metrics.
//! - [`live`]: the per-event WebSocket (chat, presence), fanned out across replicas via NATS.
//! - [`revocation`]: ended sessions, remembered in Redis until their access tokens expire.
//! - [`startup`]: wiring and graceful shutdown.
#![forbid(unsafe_code)]

pub mod access;
pub mod api_doc;
pub mod avatar_store;
pub mod config;
pub mod extract;
pub mod input_schemas;
pub mod live;
pub mod observe;
pub mod problem;
pub mod ratelimit;
pub mod revocation;
pub mod routes;
pub mod startup;
pub mod state;
pub mod wire;
