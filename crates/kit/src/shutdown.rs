//! Graceful shutdown: every service stops accepting work on SIGTERM (Kubernetes) or Ctrl-C,
//! lets in-flight requests finish, then drains what it owes (the outbox) before exiting.

/// Resolves when the process receives SIGTERM or SIGINT.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("received interrupt, shutting down"),
        _ = term => tracing::info!("received SIGTERM, shutting down"),
    }
}
