//! Generated protobuf types and tonic stubs, one module per versioned package.
//!
//! Services convert these at their edge into domain types (`TryFrom`); nothing inside a service
//! passes proto structs around.
#![allow(clippy::all)]

/// Encoded `FileDescriptorSet` of every stagecast proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/stagecast_descriptor.bin"));

pub mod bus {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/stagecast.bus.v1.rs"));
    }
}

pub mod auth {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/stagecast.auth.v1.rs"));
    }
}

pub mod events {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/stagecast.events.v1.rs"));
    }
}

pub use prost_types::Timestamp;

pub mod chat {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/stagecast.chat.v1.rs"));
    }
}

pub mod media {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/stagecast.media.v1.rs"));
    }
}

pub mod egress {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/stagecast.egress.v1.rs"));
    }
}

pub mod recording {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/stagecast.recording.v1.rs"));
    }
}

pub mod broadcast {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/stagecast.broadcast.v1.rs"));
    }
}

pub mod webhooks {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/stagecast.webhooks.v1.rs"));
    }
}
