use stagecast_recording::{
    config::{Config, Lifecycle},
    startup::Application,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = stagecast_telemetry::init("recording");
    let config = stagecast_kit::config::or_exit(Config::from_env());
    let lifecycle = stagecast_kit::config::or_exit(Lifecycle::from_env());
    let app = Application::build_with(config, lifecycle).await?;
    tracing::info!(port = app.port(), "recording service listening");
    app.run_until(stagecast_kit::shutdown::signal()).await
}
