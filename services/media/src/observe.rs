//! Prometheus metrics of the SFU: per worker, what it holds and what it sends, and how joins
//! end. Served at `/metrics` on the signalling port, to holders of the control secret.
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

pub struct Metrics {
    registry: Registry,
    peers: IntGaugeVec,
    received: IntCounterVec,
    sent: IntCounterVec,
    dropped: IntCounterVec,
    sealed: IntCounterVec,
    joins: IntCounterVec,
}

/// One worker's handles: plain atomics, updated once per wake-up, not per packet.
#[derive(Clone)]
pub struct WorkerMetrics {
    pub peers: IntGauge,
    pub received: IntCounter,
    pub sent: IntCounter,
    /// The socket's buffer was full (dropped as a congested network would).
    pub dropped_full: IntCounter,
    /// The kernel refused the destination.
    pub failed: IntCounter,
    /// Forwarded audio packets the SFU sealed and sent itself, not through str0m.
    pub sealed: IntCounter,
}

impl WorkerMetrics {
    /// Handles that count into no registry (a worker run outside the service, as in `bench/`).
    pub fn detached() -> Self {
        let counter = |name: &str| IntCounter::new(name, name).expect("a valid metric name");
        Self {
            peers: IntGauge::new("peers", "peers").expect("a valid metric name"),
            received: counter("received"),
            sent: counter("sent"),
            dropped_full: counter("dropped_full"),
            failed: counter("failed"),
            sealed: counter("sealed"),
        }
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let peers = IntGaugeVec::new(Opts::new("media_peers", "connections on each worker"), &["worker"]).expect("valid");
        let received = IntCounterVec::new(Opts::new("media_datagrams_received_total", "UDP datagrams received"), &["worker"])
            .expect("valid");
        let sent = IntCounterVec::new(Opts::new("media_datagrams_sent_total", "UDP datagrams sent"), &["worker"]).expect("valid");
        let dropped = IntCounterVec::new(
            Opts::new("media_datagrams_dropped_total", "UDP datagrams not sent: buffer_full or refused by the kernel"),
            &["worker", "reason"],
        )
        .expect("valid");
        let sealed = IntCounterVec::new(
            Opts::new(
                "media_audio_sealed_total",
                "forwarded audio packets the SFU sealed (SRTP) and sent itself instead of through str0m",
            ),
            &["worker"],
        )
        .expect("valid");
        let joins = IntCounterVec::new(
            Opts::new(
                "media_joins_total",
                "joins with a valid media token (participant, WHIP, WHEP) by result: ok or the refusal code",
            ),
            &["result"],
        )
        .expect("valid");
        for c in [&received, &sent, &dropped, &sealed, &joins] {
            registry.register(Box::new(c.clone())).expect("registered once");
        }
        registry.register(Box::new(peers.clone())).expect("registered once");
        Self { registry, peers, received, sent, dropped, sealed, joins }
    }

    pub fn worker(&self, index: usize) -> WorkerMetrics {
        let w = index.to_string();
        WorkerMetrics {
            peers: self.peers.with_label_values(&[&w]),
            received: self.received.with_label_values(&[&w]),
            sent: self.sent.with_label_values(&[&w]),
            dropped_full: self.dropped.with_label_values(&[&w, "buffer_full"]),
            failed: self.dropped.with_label_values(&[&w, "refused"]),
            sealed: self.sealed.with_label_values(&[&w]),
        }
    }

    /// Counts a join by how it ended: `ok`, or the code of the refusal.
    pub fn join(&self, result: &str) {
        self.joins.with_label_values(&[result]).inc();
    }

    pub fn render(&self) -> String {
        let mut buf = String::new();
        let _ = TextEncoder::new().encode_utf8(&self.registry.gather(), &mut buf);
        buf
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
