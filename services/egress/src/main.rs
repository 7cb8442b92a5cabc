use stagecast_egress::{config::Config, startup::Application};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = stagecast_telemetry::init("egress");
    let config = stagecast_kit::config::or_exit(Config::from_env());
    let app = Application::build(config).await?;
    tracing::info!(http = app.http_port(), grpc = app.grpc_port(), "egress worker listening");
    app.run_until(stagecast_kit::shutdown::signal()).await
}
