//! Prometheus metrics of the egress worker, served at `/metrics` on its HTTP port.
use prometheus::{IntCounter, IntGauge, Registry, TextEncoder};

pub struct Metrics {
    registry: Registry,
    pub jobs: IntGauge,
    /// CPU committed to running jobs, in thousandths of a core.
    pub cpu_committed_millis: IntGauge,
    pub segments_uploaded: IntCounter,
    pub upload_failures: IntCounter,
    pub spooled_segments: IntGauge,
    /// 1 while a job's spool is full and new segments are dropped: page someone.
    pub spool_full: IntGauge,
    pub pipeline_restarts: IntCounter,
    pub refused_busy: IntCounter,
    /// Keyframes asked of the SFU for inputs that lost RTP on the tap's leg.
    pub keyframe_requests: IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("a valid metric name");
            registry.register(Box::new(g.clone())).expect("registered once");
            g
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("a valid metric name");
            registry.register(Box::new(c.clone())).expect("registered once");
            c
        };
        Self {
            jobs: gauge("egress_jobs", "composite jobs on this worker"),
            cpu_committed_millis: gauge("egress_cpu_committed_millicores", "CPU cost of the admitted jobs"),
            segments_uploaded: counter("egress_segments_uploaded_total", "HLS segments stored in S3"),
            upload_failures: counter("egress_upload_failures_total", "failed S3 uploads (each is retried)"),
            spooled_segments: gauge("egress_spooled_segments", "segments waiting in the local spool"),
            spool_full: gauge("egress_spool_full", "1 while a spool is full and segments are dropped"),
            pipeline_restarts: counter("egress_pipeline_restarts_total", "pipelines rebuilt after a failure"),
            refused_busy: counter("egress_refused_busy_total", "jobs refused with egress_busy"),
            keyframe_requests: counter(
                "egress_keyframe_requests_total",
                "keyframes asked of the SFU for video inputs that lost RTP",
            ),
            registry,
        }
    }

    pub fn render(&self) -> String {
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
