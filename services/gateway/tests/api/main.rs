//! API tests of the gateway over real HTTP, with the real auth and events services (in-process),
//! one fresh Postgres database per test (each service in its own schema), Redis and NATS.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
mod accounts;
mod api_keys;
mod avatars;
mod broadcasts;
mod chat;
mod events;
mod helpers;
mod media;
mod outages;
mod recordings;
mod stage;
mod system;
mod webhooks;
