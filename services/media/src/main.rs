use stagecast_media::{config::Config, startup::Application};

/// str0m allocates for every packet it forwards to every subscriber; mimalloc makes the SFU's
/// forwarding about 6% cheaper than glibc's allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = stagecast_telemetry::init("media");
    let config = stagecast_kit::config::or_exit(Config::from_env());
    let app = Application::build(config).await?;
    tracing::info!(http = app.http_port(), grpc = app.grpc_port(), udp = ?app.media_addrs(), "media service listening");
    app.run_until(stagecast_kit::shutdown::signal()).await
}
