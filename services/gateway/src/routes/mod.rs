//! The HTTP API. Each module exposes `router()`; [`router`] merges them under `/api/v1`.
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub mod api_keys;
pub mod auth;
pub mod avatars;
pub mod broadcasts;
pub mod chat;
pub mod events;
pub mod media;
pub mod recordings;
pub mod stage;
pub mod system;
pub mod webhooks;

/// The `/api/v1` routes with their OpenAPI description (see [`crate::api_doc`]).
pub fn api_router() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi;
    OpenApiRouter::with_openapi(crate::api_doc::ApiDoc::openapi())
        .merge(auth::router())
        .merge(api_keys::router())
        .merge(avatars::router())
        .merge(events::router())
        .merge(media::router())
        .merge(stage::router())
        .merge(chat::router())
        .merge(recordings::router())
        .merge(broadcasts::router())
        .merge(webhooks::router())
        .merge(system::api_router())
}

pub fn router(state: AppState) -> Router {
    let (api, _) = api_router().split_for_parts();
    let api = api.fallback(crate::problem::route_not_found);
    let router = Router::new().nest("/api/v1", api).merge(system::router());
    // The web client, when built: its files, and index.html for the client-side routes.
    let router = match state.config.web_dir.as_deref() {
        Some(dir) => {
            let index = std::path::Path::new(dir).join("index.html");
            router.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
        }
        None => router.fallback(crate::problem::route_not_found),
    };
    router.with_state(state)
}
