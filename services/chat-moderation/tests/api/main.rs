//! API tests: each test starts the whole service on a free port with its own database (and its
//! own bus consumers) and talks to it over gRPC, as the gateway would, with real Postgres,
//! NATS JetStream and Redis. Each test uses fresh event ids, so tests sharing NATS and Redis
//! never see each other's rooms. One binary, so it links once.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
mod blocked_terms;
mod health;
mod helpers;
mod history;
mod limits;
mod moderation;
mod persistence;
mod rooms;
mod send;
