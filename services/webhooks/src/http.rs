//! Health and metrics on the HTTP port.
use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use prometheus::{IntGauge, Registry, TextEncoder};
use sqlx::PgPool;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub endpoints: IntGauge,
    pub disabled: IntGauge,
    /// Deliveries waiting (first attempt or a retry).
    pub pending: IntGauge,
    /// Deliveries that exhausted their retries.
    pub failed: IntGauge,
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
            endpoints: gauge("webhooks_endpoints", "webhook endpoints registered"),
            disabled: gauge("webhooks_endpoints_disabled", "webhook endpoints disabled (by owner or after failing)"),
            pending: gauge("webhooks_deliveries_pending", "deliveries waiting for an attempt"),
            failed: gauge("webhooks_deliveries_failed", "deliveries that exhausted their retries"),
            registry,
        }
    }

    pub fn render(&self) -> String {
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }

    pub async fn refresh(&self, pool: &PgPool) {
        if let Ok((all, disabled)) =
            sqlx::query_as::<_, (i64, i64)>("SELECT count(*), count(*) FILTER (WHERE NOT enabled) FROM endpoints")
                .fetch_one(pool)
                .await
        {
            self.endpoints.set(all);
            self.disabled.set(disabled);
        }
        if let Ok((pending, failed)) = sqlx::query_as::<_, (i64, i64)>(
            "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'failed') FROM deliveries",
        )
        .fetch_one(pool)
        .await
        {
            self.pending.set(pending);
            self.failed.set(failed);
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
