//! API tests of the auth service over real gRPC, against a fresh Postgres database per test and
//! the test NATS server.
mod helpers;
mod sessions;
mod signup;
