//! API tests of the gateway over real HTTP, with the real auth and events services (in-process),
//! one fresh Postgres database per test (each service in its own schema), Redis and NATS.
mod accounts;
mod chat;
mod events;
mod helpers;
mod system;
