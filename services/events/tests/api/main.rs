//! API tests: each test starts the whole service on a free port with its own database and talks
//! to it over gRPC, as the gateway would. One binary, so it links once.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
mod bus;
mod events;
mod health;
mod helpers;
mod lifecycle;
mod listing;
mod media;
mod stage;
