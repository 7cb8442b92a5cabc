//! Health and metrics on the HTTP port.
use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use prometheus::{IntGauge, Registry, TextEncoder};
use sqlx::PgPool;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Destinations that should be pushing now, and those live.
    pub wanted: IntGauge,
    pub live: IntGauge,
    /// Outbox messages not yet on the bus.
    pub outbox_backlog: IntGauge,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("a valid metric name");
            registry.register(Box::new(g.clone())).expect("registered once");
            g
        };
        Self {
            wanted: gauge("broadcast_destinations_started", "destinations that should be pushing now"),
            live: gauge("broadcast_destinations_live", "destinations live now"),
            outbox_backlog: gauge("broadcast_outbox_backlog", "outbox messages not yet published"),
            registry,
        }
    }

    pub fn render(&self) -> String {
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }

    /// Reads the gauges from the database.
    pub async fn refresh(&self, pool: &PgPool) {
        let counts: Result<(i64, i64), _> = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE wanted), count(*) FILTER (WHERE state = 'live') FROM event_destinations",
        )
        .fetch_one(pool)
        .await;
        if let Ok((wanted, live)) = counts {
            self.wanted.set(wanted);
            self.live.set(live);
        }
        if let Ok(n) =
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetch_one(pool).await
        {
            self.outbox_backlog.set(n);
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

pub fn router(metrics: Metrics, pool: PgPool) -> Router {
    Router::new().route("/healthz", get(|| async { "ok" })).route("/metrics", get(render)).with_state((metrics, pool))
}

async fn render(State((m, pool)): State<(Metrics, PgPool)>) -> impl IntoResponse {
    m.refresh(&pool).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], m.render())
}
