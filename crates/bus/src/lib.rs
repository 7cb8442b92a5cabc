//! The stagecast bus.
//!
//! Every state change a service makes is announced as a protobuf message on NATS JetStream, in
//! the one [`Envelope`] (`stagecast.bus.v1.Envelope`: id, type, occurred_at, payload).
//!
//! Delivery is at-least-once without loss, through a transactional outbox:
//! 1. [`outbox::enqueue`] writes the envelope into the service's `outbox` table in the same
//!    transaction as the change, so the message exists if and only if the change committed;
//! 2. the [`outbox::Relay`] publishes unpublished rows in commit order and marks them only once
//!    JetStream has acknowledged them, retrying with backoff while NATS is away;
//! 3. the envelope id travels as `Nats-Msg-Id`, so JetStream drops a copy re-published after a
//!    crash between ack and mark (within the stream's duplicate window), and consumers dedupe on
//!    the same id beyond it.
//!
//! Trace context: the `traceparent` of the request that made the change is stored with the row
//! and sent as a NATS header, so one trace runs from the gateway into every subscriber.
#![forbid(unsafe_code)]

pub mod durable;
pub mod envelope;
pub mod follow;
pub mod outbox;
pub mod stream;

pub use envelope::{Envelope, EnvelopeError};
