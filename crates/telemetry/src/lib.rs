//! Telemetry for every stagecast process.
//!
//! - [`init`] installs structured logs (JSON by default; `LOG_FORMAT=pretty` for humans) filtered
//!   by `RUST_LOG`, and an OpenTelemetry tracer. Spans are exported over OTLP/gRPC only when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set; trace ids are generated and propagated either way, so a
//!   trace id seen at the gateway can be followed into gRPC calls and NATS messages.
//! - [`grpc`], [`http_headers`]: W3C `traceparent` in and out of gRPC metadata and HTTP headers.
//! - [`current_traceparent`] / [`context_from_traceparent`]: the same for anything that stores
//!   headers as plain strings (the outbox, NATS).
#![forbid(unsafe_code)]

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, filter::LevelFilter, layer::SubscriberExt, util::SubscriberInitExt};

/// Flushes pending spans when dropped; keep it alive for the life of `main`.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

/// Installs logging and tracing for `service`. Call once, first thing in `main`.
pub fn init(service: &'static str) -> TelemetryGuard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let resource = Resource::builder().with_service_name(service).build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|s| !s.is_empty());
    if let Some(endpoint) = &endpoint {
        use opentelemetry_otlp::WithExportConfig;
        match opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint.clone()).build() {
            Ok(exporter) => builder = builder.with_batch_exporter(exporter),
            Err(e) => eprintln!("{{\"level\":\"WARN\",\"message\":\"otlp exporter disabled\",\"error\":\"{e}\"}}"),
        }
    }
    let provider = builder.build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let tracer = provider.tracer(service);

    // RUST_LOG filters what is logged, not what is traced: trace context must keep flowing to
    // gRPC and NATS even when only warnings are logged, so the OpenTelemetry layer has its own
    // (info-level) filter.
    let log_filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,async_nats=warn,h2=warn,tower=warn,hyper=warn"))
    };
    let otel = tracing_opentelemetry::layer().with_tracer(tracer).with_filter(LevelFilter::INFO);
    let pretty = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "pretty");
    let registry = tracing_subscriber::registry().with(otel);
    let result = if pretty {
        registry.with(tracing_subscriber::fmt::layer().with_target(false).with_filter(log_filter())).try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_filter(log_filter()),
            )
            .try_init()
    };
    if result.is_ok() {
        tracing::info!(service, otlp_endpoint = endpoint.as_deref().unwrap_or("none"), "telemetry initialised");
    }
    TelemetryGuard { provider }
}

/// The `traceparent` of the current span, if it belongs to a trace.
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// The trace id (32 hex digits) of the current span, if any.
pub fn current_trace_id() -> Option<String> {
    let cx = tracing::Span::current().context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// A context whose remote parent is `traceparent`, for a span that continues that trace.
pub fn context_from_traceparent(traceparent: &str) -> Context {
    let mut carrier = std::collections::HashMap::new();
    carrier.insert("traceparent".to_owned(), traceparent.to_owned());
    TraceContextPropagator::new().extract(&carrier)
}

/// Makes `span` a child of the remote trace in `traceparent` (no-op when it does not parse).
pub fn set_remote_parent(span: &tracing::Span, traceparent: &str) {
    let _ = span.set_parent(context_from_traceparent(traceparent));
}

/// W3C trace context in HTTP headers.
pub mod http_headers {
    use super::*;

    struct HeaderExtractor<'a>(&'a http::HeaderMap);
    impl Extractor for HeaderExtractor<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(|k| k.as_str()).collect()
        }
    }

    struct HeaderInjector<'a>(&'a mut http::HeaderMap);
    impl Injector for HeaderInjector<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(key.as_bytes()), http::HeaderValue::from_str(&value)) {
                self.0.insert(k, v);
            }
        }
    }

    pub fn extract(headers: &http::HeaderMap) -> Context {
        TraceContextPropagator::new().extract(&HeaderExtractor(headers))
    }

    /// Makes `span` continue the trace named by the request's `traceparent`, if any.
    pub fn set_parent(span: &tracing::Span, headers: &http::HeaderMap) {
        let _ = span.set_parent(extract(headers));
    }

    /// Writes the current span's context into `headers`.
    pub fn inject_current(headers: &mut http::HeaderMap) {
        let cx = tracing::Span::current().context();
        TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
    }
}

/// Trace propagation across tonic calls.
pub mod grpc {
    use super::*;

    /// `make_span_with` for a tonic server's `TraceLayer`: one span per call, continuing the
    /// caller's trace when the request carries a `traceparent`.
    pub fn server_span<B>(req: &http::Request<B>) -> tracing::Span {
        let span = tracing::info_span!("grpc.server", rpc = %req.uri().path(), otel.kind = "server");
        let _ = span.set_parent(http_headers::extract(req.headers()));
        span
    }

    /// A client interceptor that sends the current span's context with every call.
    #[derive(Clone, Copy, Default)]
    pub struct PropagateTrace;

    impl tonic::service::Interceptor for PropagateTrace {
        fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
            if let Some(tp) = current_traceparent()
                && let Ok(v) = tonic::metadata::MetadataValue::try_from(tp.as_str())
            {
                req.metadata_mut().insert("traceparent", v);
            }
            Ok(req)
        }
    }
}
