//! The WebSocket handshake (RFC 6455 §4.2), done here rather than by axum's `WebSocketUpgrade`
//! so the connection can be shared before tungstenite wraps it: the room writes frames into it
//! directly (see `outlet`), and tungstenite sees it only through [`super::outlet::Shared`].
//!
//! That also keeps the largest frames out of tungstenite: its write buffer keeps its largest
//! size for the socket's life, and the `hello` (with up to 50 messages of history, ~20 KB) would
//! have left every idle socket holding ~20 KB it never used again.
use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header, request::Parts},
    response::{IntoResponse, Response},
};
use hyper_util::rt::TokioIo;
use stagecast_kit::ErrorKind;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{handshake::derive_accept_key, protocol::Role, protocol::WebSocketConfig},
};

use crate::problem::Problem;

/// The upgraded connection, before any WebSocket framing.
pub type RawSocket = TokioIo<hyper::upgrade::Upgraded>;

/// A request that asked to become a WebSocket, or why it is not one.
pub struct Upgrade {
    accept: HeaderValue,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

/// Why a request could not be upgraded; the text tells the client what to fix.
#[derive(Debug)]
pub struct NotUpgradable(pub &'static str);

impl From<NotUpgradable> for Problem {
    fn from(NotUpgradable(why): NotUpgradable) -> Self {
        Problem::new(ErrorKind::InvalidInput, "websocket_required", format!("connect with a WebSocket client: {why}"))
    }
}

impl IntoResponse for NotUpgradable {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = NotUpgradable;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The gateway serves HTTP/1.1 only (axum's `http2` feature is off), so RFC 8441's
        // extended CONNECT does not arise.
        if parts.version != Version::HTTP_11 {
            return Err(NotUpgradable("a WebSocket handshake needs HTTP/1.1"));
        }
        if parts.method != Method::GET {
            return Err(NotUpgradable("a WebSocket handshake is a GET request"));
        }
        if !header_has_token(&parts.headers, header::CONNECTION, "upgrade") {
            return Err(NotUpgradable("the Connection header must include `upgrade`"));
        }
        if !header_has_token(&parts.headers, header::UPGRADE, "websocket") {
            return Err(NotUpgradable("the Upgrade header must be `websocket`"));
        }
        if parts.headers.get(header::SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes) != Some(b"13") {
            return Err(NotUpgradable("Sec-WebSocket-Version must be 13"));
        }
        let key = parts.headers.get(header::SEC_WEBSOCKET_KEY).ok_or(NotUpgradable("the Sec-WebSocket-Key header is missing"))?;
        let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes())).expect("base64 is a valid header value");
        let on_upgrade =
            parts.extensions.remove::<hyper::upgrade::OnUpgrade>().ok_or(NotUpgradable("this connection cannot be upgraded"))?;
        Ok(Self { accept, on_upgrade })
    }
}

impl Upgrade {
    /// Answers 101 and runs `serve` on the connection once hyper hands it over.
    pub fn respond<F, Fut>(self, serve: F) -> Response
    where
        F: FnOnce(RawSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Upgrade { accept, on_upgrade } = self;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => serve(TokioIo::new(upgraded)).await,
                Err(e) => tracing::debug!(error = %e, "WebSocket upgrade did not complete"),
            }
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, HeaderValue::from_static("upgrade"))
            .header(header::UPGRADE, HeaderValue::from_static("websocket"))
            .header(header::SEC_WEBSOCKET_ACCEPT, accept)
            .body(axum::body::Body::empty())
            .expect("static response parts are valid")
    }
}

/// Frames a connection as the server side of a WebSocket.
pub async fn wrap<S: AsyncRead + AsyncWrite + Unpin>(io: S, config: WebSocketConfig) -> WebSocketStream<S> {
    WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await
}

/// Whether a comma-separated header holds `token` (case-insensitively), as
/// `Connection: keep-alive, Upgrade` does.
fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_tokens_are_found_in_lists_and_any_case() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        assert!(header_has_token(&h, header::CONNECTION, "upgrade"));
        assert!(!header_has_token(&h, header::CONNECTION, "close"));
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade-insecure"));
        assert!(!header_has_token(&h, header::CONNECTION, "upgrade"));
    }
}
