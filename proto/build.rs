//! Compiles the .proto files with protox (pure Rust, no protoc on the build machine) and keeps the
//! descriptor set for gRPC reflection.
use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/stagecast/bus/v1/envelope.proto",
        "proto/stagecast/auth/v1/auth.proto",
        "proto/stagecast/events/v1/events.proto",
        "proto/stagecast/chat/v1/chat.proto",
        "proto/stagecast/media/v1/media.proto",
        "proto/stagecast/egress/v1/egress.proto",
        "proto/stagecast/recording/v1/recording.proto",
        "proto/stagecast/broadcast/v1/broadcast.proto",
        "proto/stagecast/webhooks/v1/webhooks.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("stagecast_descriptor.bin"), fds.encode_to_vec())?;
    // Type names give every message a `prost::Name`, which the bus envelope uses as its `type`.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure().compile_fds_with_config(fds, config)?;
    Ok(())
}
