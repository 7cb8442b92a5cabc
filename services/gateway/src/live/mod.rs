//! The real-time connection: one authenticated WebSocket per viewer per event
//! (`GET /api/v1/events/{id}/live`), carrying chat and presence (protocol in docs/websocket.md).
//!
//! - [`protocol`]: the versioned JSON messages, and their conversion from proto.
//! - [`hub`]: per gateway replica, one NATS subscription per room with connections, fanned out to
//!   local sockets; each message is serialised once.
//! - [`presence`]: who is here, shared by replicas through Redis.
//! - [`socket`]: the endpoint and the per-connection loop (heartbeats, slow-consumer drop, bans).
//! - [`upgrade`]: the WebSocket handshake, ours so the hello can bypass tungstenite's buffer.
pub mod hub;
pub mod outlet;
pub mod presence;
pub mod protocol;
pub mod socket;
pub mod upgrade;
