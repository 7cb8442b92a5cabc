//! Serving a service's gRPC API the same way everywhere: standard health (`grpc.health.v1`),
//! reflection (v1), trace context taken from the caller's `traceparent`, graceful shutdown.
use std::future::Future;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic_health::ServingStatus;

/// HTTP/2 streams (calls) in flight per client connection.
pub const MAX_CONCURRENT_STREAMS: u32 = 128;

/// Serves `routes` on `listener` until `shutdown` resolves, then finishes in-flight calls.
///
/// `service_names` are the fully qualified gRPC service names reported as SERVING by the health
/// service (the empty name, the server as a whole, is always reported).
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    service_names: &[&str],
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    serve_inner(listener, routes, service_names, None, shutdown).await
}

/// As [`serve`], for a service that needs its database: the named services are reported
/// NOT_SERVING while the database does not answer (checked every second), so readiness checks
/// see the outage, and SERVING again once it answers.
pub async fn serve_with_database(
    listener: TcpListener,
    routes: Routes,
    service_names: &[&str],
    pool: sqlx::PgPool,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    serve_inner(listener, routes, service_names, Some(pool), shutdown).await
}

async fn serve_inner(
    listener: TcpListener,
    routes: Routes,
    service_names: &[&str],
    pool: Option<sqlx::PgPool>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in service_names {
        reporter.set_service_status(*name, ServingStatus::Serving).await;
    }
    let stopping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = pool.map(|pool| {
        let (reporter, names, stopping) =
            (reporter.clone(), service_names.iter().map(|s| s.to_string()).collect::<Vec<_>>(), stopping.clone());
        tokio::spawn(async move {
            let mut was_up = true;
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let up = crate::db::reachable(&pool).await;
                if up != was_up && !stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    if up {
                        tracing::info!("database reachable again; serving");
                    } else {
                        tracing::warn!("database unreachable; reporting not serving");
                    }
                    let status = if up { ServingStatus::Serving } else { ServingStatus::NotServing };
                    for name in &names {
                        reporter.set_service_status(name, status).await;
                    }
                    was_up = up;
                }
            }
        })
    });
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(stagecast_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("descriptor sets compiled into the binary are valid");
    let routes = routes.add_service(health).add_service(reflection);
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let names: Vec<String> = service_names.iter().map(|s| s.to_string()).collect();
    let shutdown = async move {
        shutdown.await;
        stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(probe) = probe {
            probe.abort();
        }
        // Tell load balancers to stop sending before the listener closes.
        for name in &names {
            reporter.set_service_status(name, ServingStatus::NotServing).await;
        }
    };
    tonic::transport::Server::builder()
        // A gateway opening a thousand sockets at once sends a thousand calls at once: past this
        // many per connection they wait in the client instead of all being held here, which
        // bounds what a burst leaves allocated in every service (h2 stream slots, handler state).
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .layer(tower_http::trace::TraceLayer::new_for_grpc().make_span_with(stagecast_telemetry::grpc::server_span))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// A client interceptor for the SFU's control API: the trace context, and the control secret as
/// a bearer token when one is configured (`MEDIA_CONTROL_SECRET`). The gateway and the egress
/// worker both call the SFU this way.
#[derive(Clone)]
pub struct MediaControl {
    bearer: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
}

impl MediaControl {
    pub fn new(secret: Option<&crate::config::Secret>) -> anyhow::Result<Self> {
        let bearer = secret
            .map(|s| format!("Bearer {}", s.expose()).parse())
            .transpose()
            .map_err(|_| anyhow::anyhow!("MEDIA_CONTROL_SECRET must be printable ASCII"))?;
        Ok(Self { bearer })
    }
}

impl tonic::service::Interceptor for MediaControl {
    fn call(&mut self, req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut req = stagecast_telemetry::grpc::PropagateTrace.call(req)?;
        if let Some(b) = &self.bearer {
            req.metadata_mut().insert("authorization", b.clone());
        }
        Ok(req)
    }
}

/// A lazily connected channel to another service: connects within 2 s, each call within 15 s.
pub fn channel(url: &str) -> anyhow::Result<tonic::transport::Channel> {
    Ok(tonic::transport::Endpoint::from_shared(url.to_owned())?
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(std::time::Duration::from_secs(15))
        .connect_lazy())
}
