//! Wiring: GStreamer, the S3 bucket, the SFU's taps, NATS, the jobs (resumed from the spool),
//! the gRPC control API and the health/metrics server.
use std::{future::Future, sync::Arc};

use anyhow::Context;
use stagecast_proto::egress::v1::egress_service_server::EgressServiceServer;
use tokio::net::TcpListener;

use crate::{config::Config, grpc::EgressApi, http, job::JobContext, observe::Metrics, sfu::Taps, worker::Worker};

pub const GRPC_SERVICE_NAME: &str = "stagecast.egress.v1.EgressService";

pub struct Application {
    http: TcpListener,
    grpc: TcpListener,
    worker: Arc<Worker>,
    metrics: Arc<Metrics>,
    nats: async_nats::Client,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        crate::composite::init()?;
        let bucket = stagecast_storage::Bucket::new(config.s3.clone()).context("S3 configuration")?;
        if let Err(e) = bucket.ensure_exists().await {
            // Not fatal: segments wait in the spool until the store is back.
            tracing::warn!(error = %e, "the S3 bucket is not reachable yet; uploads will retry");
        }
        let nats = stagecast_bus::stream::connect(&config.nats_url, "egress").await.context("connecting to NATS (NATS_URL)")?;
        let control = stagecast_kit::grpc::MediaControl::new(config.media_control_secret.as_ref())?;
        let taps = Taps::connect(&config.media_grpc_url, control, config.rtp_ip).context("MEDIA_GRPC_URL")?;
        std::fs::create_dir_all(&config.spool_dir)
            .with_context(|| format!("creating EGRESS_SPOOL_DIR {}", config.spool_dir.display()))?;
        let metrics = Arc::new(Metrics::new());
        let ctx = JobContext {
            bucket,
            spool_root: config.spool_dir.clone(),
            rtp_ip: config.rtp_ip,
            taps,
            nats: Some(nats.clone()),
            metrics: metrics.clone(),
            spool_limit: config.spool_limit_mb * 1024 * 1024,
            rtmp_retry_window: std::time::Duration::from_secs(config.rtmp_retry_window_s),
            rtmps: crate::rtmps::Tls::new(config.rtmps_ca_file.as_deref()).context("the RTMPS trust (EGRESS_RTMPS_CA_FILE)")?,
        };
        let worker = Arc::new(Worker::new(ctx, config.cpu_budget));
        let http = TcpListener::bind(config.http_addr).await.with_context(|| format!("binding {}", config.http_addr))?;
        let grpc = TcpListener::bind(config.grpc_addr).await.with_context(|| format!("binding {}", config.grpc_addr))?;
        Ok(Self { http, grpc, worker, metrics, nats })
    }

    pub fn http_port(&self) -> u16 {
        self.http.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `shutdown` resolves. Jobs are not ended by a shutdown: their state is on
    /// disk, and the next start of the worker resumes them (the time between is a recorded gap).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut http_stop = stop_rx.clone();
        let app = http::router(self.metrics.clone());
        let http = tokio::spawn(async move {
            axum::serve(self.http, app)
                .with_graceful_shutdown(async move {
                    let _ = http_stop.wait_for(|s| *s).await;
                })
                .await
        });
        let routes = tonic::service::Routes::new(EgressServiceServer::new(EgressApi::new(self.worker.clone())));
        let mut grpc_stop = stop_rx.clone();
        let grpc = tokio::spawn(stagecast_kit::grpc::serve(self.grpc, routes, &[GRPC_SERVICE_NAME], async move {
            let _ = grpc_stop.wait_for(|s| *s).await;
        }));
        shutdown.await;
        tracing::info!("egress stopping; running jobs resume at the next start");
        let _ = stop_tx.send(true);
        let http = http.await.context("HTTP task")?;
        let grpc = grpc.await.context("gRPC task")?;
        let _ = self.nats.flush().await;
        http.context("HTTP server")?;
        grpc.context("gRPC server")
    }
}
