use stagecast_webhooks::{config::Config, startup::Application};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = stagecast_telemetry::init("webhooks");
    let config = stagecast_kit::config::or_exit(Config::from_env());
    let app = Application::build(config).await?;
    tracing::info!(grpc = app.port(), http = app.http_port(), "webhooks service listening");
    app.run_until(stagecast_kit::shutdown::signal()).await
}
