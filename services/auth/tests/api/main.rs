//! API tests of the auth service over real gRPC, against a fresh Postgres database per test and
//! the test NATS server.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
mod helpers;
mod media_tokens;
mod sessions;
mod signup;
