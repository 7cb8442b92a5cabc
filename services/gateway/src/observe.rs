//! Per-request observability: a span that continues the caller's trace (and whose
//! `traceparent` is returned to the caller), request metrics, and a log line per request.
use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use tracing::Instrument;

use crate::state::AppState;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub ws_connections: IntGauge,
    pub ws_dropped_slow: IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("stagecast_gateway".into()), None).expect("static registry config");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )
        .expect("static metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
            &["method", "route"],
        )
        .expect("static metric");
        registry.register(Box::new(requests.clone())).expect("unique metric");
        registry.register(Box::new(latency.clone())).expect("unique metric");
        let ws_connections = IntGauge::new("ws_connections", "open live WebSocket connections").expect("static metric");
        let ws_dropped_slow =
            IntCounter::new("ws_dropped_slow_total", "WebSockets closed for falling behind their room").expect("static metric");
        registry.register(Box::new(ws_connections.clone())).expect("unique metric");
        registry.register(Box::new(ws_dropped_slow.clone())).expect("unique metric");
        Self { registry, requests, latency, ws_connections, ws_dropped_slow }
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    // The route template, not the path, so ids do not explode metric cardinality.
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let span = tracing::info_span!("http.request", http.method = %method, http.route = %route, request_id = %request_id, otel.kind = "server");
    stagecast_telemetry::http_headers::set_parent(&span, req.headers());
    let mut resp = async move {
        let mut resp = next.run(req).await;
        stagecast_telemetry::http_headers::inject_current(resp.headers_mut());
        resp
    }
    .instrument(span.clone())
    .await;
    let status = resp.status();
    let elapsed = started.elapsed();
    state.metrics.requests.with_label_values(&[method.as_str(), &route, status.as_str()]).inc();
    state.metrics.latency.with_label_values(&[method.as_str(), &route]).observe(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(status = status.as_u16(), duration_ms = elapsed.as_secs_f64() * 1e3, "request");
    });
    // Never let a proxy cache an API answer that carries user data.
    resp.headers_mut().entry(http::header::CACHE_CONTROL).or_insert(http::HeaderValue::from_static("no-store"));
    resp
}
