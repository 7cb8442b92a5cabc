//! The WebSocket endpoint and the loop that serves one connection.
use std::time::{Duration, Instant};

use axum::{
    extract::{
        Path, Query, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket},
    },
    response::Response,
};
use serde::Deserialize;
use stagecast_kit::{ApiError, ErrorKind};
use stagecast_proto::{auth::v1 as auth_pb, chat::v1 as pb};
use tokio::sync::broadcast::error::RecvError;

use super::{
    presence,
    protocol::{self, Author, ClientMessage, PROTOCOL_VERSION, ServerMessage, close},
};
use crate::{extract::authenticate, problem::Problem, state::AppState};

/// The server pings this often; a connection silent for [`IDLE_LIMIT`] is closed.
pub const HEARTBEAT: Duration = Duration::from_secs(20);
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// Largest frame a client may send.
pub const MAX_FRAME: usize = 8 * 1024;
const READ_BUFFER: usize = 4 * 1024;
/// A socket that cannot take one frame in this long is treated as dead.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
pub struct LiveQuery {
    /// Browsers cannot set headers on a WebSocket, so the token may come in the query.
    access_token: Option<String>,
}

pub async fn live(
    State(st): State<AppState>,
    Path(event_id): Path<String>,
    Query(q): Query<LiveQuery>,
    headers: http::HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    let admitted = admit(&st, &event_id, &headers, q.access_token).await;
    match (ws, admitted) {
        (Ok(ws), Ok((me, joined))) => Ok(ws
            // Clients send small frames; a 128 KiB default read buffer would be zeroed on every
            // read attempt (measured: a third of the gateway's CPU in the fan-out benchmark).
            .read_buffer_size(READ_BUFFER)
            .max_message_size(MAX_FRAME)
            .max_frame_size(MAX_FRAME)
            .on_upgrade(move |socket| serve(st, socket, event_id, me, joined))),
        // A browser cannot read the status of a refused handshake, so a WebSocket client is
        // told why in an `error` frame and a close code instead.
        (Ok(ws), Err(problem)) => Ok(ws.on_upgrade(move |socket| refuse(socket, problem))),
        (Err(_), Err(problem)) => Err(problem),
        (Err(e), Ok(_)) => Err(Problem::new(
            ErrorKind::InvalidInput,
            "websocket_required",
            format!("connect with a WebSocket client: {}", e.body_text()),
        )),
    }
}

/// Authenticates the caller and enters the room: who they are and what the room says.
async fn admit(
    st: &AppState,
    event_id: &str,
    headers: &http::HeaderMap,
    query_token: Option<String>,
) -> Result<(Author, pb::JoinResponse), Problem> {
    let token = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or(query_token)
        .ok_or_else(|| {
            Problem::new(
                ErrorKind::Unauthenticated,
                "missing_token",
                "pass the access token as ?access_token= or Authorization: Bearer",
            )
        })?;
    let user = authenticate(st, &token).await?;
    let profile = st.auth.clone().get_profile(auth_pb::GetProfileRequest { user_id: user.user_id.clone() }).await?.into_inner();
    let author =
        pb::Author { user_id: user.user_id.clone(), display_name: profile.display_name, avatar_url: profile.avatar_url, role: 0 };
    let joined = st
        .chat
        .clone()
        .join(pb::JoinRequest { event_id: event_id.to_owned(), user: Some(author.clone()), history_limit: 0 })
        .await?
        .into_inner();
    let mut me = protocol::author(Some(author));
    me.role = protocol::role_name(joined.role);
    Ok((me, joined))
}

async fn refuse(mut socket: WebSocket, problem: Problem) {
    let e = problem.0;
    let code = match e.kind {
        ErrorKind::Unauthenticated => close::UNAUTHENTICATED,
        ErrorKind::PermissionDenied => close::BANNED,
        ErrorKind::NotFound => close::NOT_FOUND,
        _ => close::UNAVAILABLE,
    };
    let frame = ServerMessage::Error { client_msg_id: None, code: &e.code, message: &e.message, retry_after: None }.to_json();
    let _ = send(&mut socket, frame.into()).await;
    let reason = match code {
        close::UNAUTHENTICATED => "sign in again",
        close::BANNED => "not allowed in this chat",
        close::NOT_FOUND => "no such event",
        _ => "try again shortly",
    };
    close_with(socket, code, reason).await;
}

async fn send(socket: &mut WebSocket, text: Utf8Bytes) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text))).await, Ok(Ok(())))
}

async fn close_with(mut socket: WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.send(Message::Close(Some(frame)))).await;
}

async fn serve(st: AppState, mut socket: WebSocket, event_id: String, me: Author, joined: pb::JoinResponse) {
    st.metrics.ws_connections.inc();
    let reason = run(&st, &mut socket, &event_id, me, joined).await;
    st.metrics.ws_connections.dec();
    if let Some((code, why)) = reason {
        close_with(socket, code, why).await;
    }
}

/// What the reader half asks the writer half to send.
enum Outbound {
    Text(Utf8Bytes),
    Ping,
    Close(u16, &'static str),
}

/// Serves the connection; returns the close code to send, if any.
///
/// Two halves: this task writes (room traffic, replies, pings) and a reader task handles what
/// the client sends, heartbeats and shutdown. Room traffic — the hot path — then wakes only the
/// writer, which drains whatever queued up and flushes once.
async fn run(
    st: &AppState,
    socket: &mut WebSocket,
    event_id: &str,
    me: Author,
    joined: pb::JoinResponse,
) -> Option<(u16, &'static str)> {
    // Subscribe before reading history so nothing published in between is missed (clients
    // dedupe by message id the few that may appear twice).
    let mut membership = match st.hub.join(event_id, me.clone()).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "cannot subscribe to room");
            return Some((close::UNAVAILABLE, "chat is unavailable; reconnect shortly"));
        }
    };
    let history = st
        .chat
        .clone()
        .history(pb::HistoryRequest { event_id: event_id.to_owned(), before_id: String::new(), limit: 50 })
        .await
        .map(|r| r.into_inner().messages)
        .unwrap_or_default();
    let mut redis = st.redis.clone();
    let presence =
        presence::snapshot(&mut redis, event_id, 100).await.unwrap_or(protocol::Presence { viewer_count: 0, users: Vec::new() });
    let hello = ServerMessage::Hello {
        protocol: PROTOCOL_VERSION,
        event_id,
        you: me.clone(),
        // History comes newest first; the hello lists it oldest first, as a chat pane shows it.
        history: history.into_iter().rev().map(protocol::message).collect(),
        pinned: joined.pinned.map(protocol::message),
        settings: joined.settings.map(protocol::settings),
        timed_out_until: crate::routes::rfc3339(joined.timed_out_until.as_ref()),
        presence,
        heartbeat_secs: HEARTBEAT.as_secs(),
    };
    if !send(socket, hello.to_json().into()).await {
        return None;
    }

    let (mut sink, mut stream) = futures::StreamExt::split(&mut *socket);
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Outbound>(32);
    let reader_me = me.clone();
    // Owns the sender: when the reader ends, the writer sees the channel close after whatever
    // the reader queued last (a close code).
    let reader = async move {
        let me = reader_me;
        let mut shutdown = st.shutdown.clone();
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.tick().await;
        let mut last_heard = Instant::now();
        loop {
            let out = tokio::select! {
                frame = futures::StreamExt::next(&mut stream) => {
                    let Some(Ok(frame)) = frame else { return };
                    last_heard = Instant::now();
                    match frame {
                        // Boxed: an idle socket's task then does not carry the space of a gRPC call in flight.
                        Message::Text(text) => match Box::pin(handle_client(st, event_id, &me, text.as_str())).await {
                            Some(reply) => Outbound::Text(reply.into()),
                            None => continue,
                        },
                        Message::Binary(_) => Outbound::Close(close::PROTOCOL_ERROR, "send JSON text frames"),
                        Message::Close(_) => return,
                        Message::Ping(_) | Message::Pong(_) => continue,
                    }
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > IDLE_LIMIT {
                        Outbound::Close(close::HEARTBEAT_TIMEOUT, "no heartbeat")
                    } else {
                        Outbound::Ping
                    }
                }
                _ = shutdown.changed() => Outbound::Close(close::GOING_AWAY, "server restarting; reconnect"),
            };
            let closing = matches!(out, Outbound::Close(..));
            if out_tx.send(out).await.is_err() || closing {
                return;
            }
        }
    };
    let writer = async {
        use futures::SinkExt;
        loop {
            tokio::select! {
                biased;
                ev = membership.rx.recv() => {
                    let mut next = Some(ev);
                    // Everything already queued goes out with one flush.
                    let mut budget = 64;
                    while let Some(ev) = next.take() {
                        match ev {
                            Ok(ev) => {
                                if let Some((user, code, why)) = &ev.close_user
                                    && *user == me.user_id {
                                        let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(ev.json))).await;
                                        return Some((*code, *why));
                                    }
                                if sink.feed(Message::Text(ev.json)).await.is_err() {
                                    return None;
                                }
                            }
                            Err(RecvError::Lagged(n)) => {
                                st.metrics.ws_dropped_slow.inc();
                                tracing::info!(missed = n, "dropping a slow chat consumer");
                                return Some((close::TOO_SLOW, "you fell too far behind; reconnect"));
                            }
                            Err(RecvError::Closed) => return Some((close::UNAVAILABLE, "room closed; reconnect")),
                        }
                        budget -= 1;
                        if budget > 0 {
                            next = match membership.rx.try_recv() {
                                Ok(ev) => Some(Ok(ev)),
                                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                                Err(_) => None,
                            };
                        }
                    }
                    if !matches!(tokio::time::timeout(SEND_TIMEOUT, sink.flush()).await, Ok(Ok(()))) {
                        return None;
                    }
                }
                out = out_rx.recv() => match out {
                    Some(Outbound::Text(t)) => {
                        if !matches!(tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(t))).await, Ok(Ok(()))) {
                            return None;
                        }
                    }
                    Some(Outbound::Ping) => {
                        if !matches!(tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Ping(Default::default()))).await, Ok(Ok(()))) {
                            return None;
                        }
                    }
                    Some(Outbound::Close(code, why)) => return Some((code, why)),
                    // The reader ended: the client closed or the connection broke.
                    None => return None,
                }
            }
        }
    };
    tokio::pin!(reader, writer);
    tokio::select! {
        outcome = &mut writer => outcome,
        () = &mut reader => writer.await,
    }
}

/// Handles one client frame; returns the reply frame, if any.
async fn handle_client(st: &AppState, event_id: &str, me: &Author, text: &str) -> Option<String> {
    let msg: ClientMessage = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            let detail = format!("unrecognised message: {e}");
            return Some(
                ServerMessage::Error { client_msg_id: None, code: "invalid_message", message: &detail, retry_after: None }
                    .to_json(),
            );
        }
    };
    match msg {
        ClientMessage::Ping { nonce } => Some(ServerMessage::Pong { nonce }.to_json()),
        ClientMessage::ChatSend { client_msg_id, text } => {
            let req = pb::SendRequest {
                event_id: event_id.to_owned(),
                user: Some(pb::Author {
                    user_id: me.user_id.clone(),
                    display_name: me.display_name.clone(),
                    avatar_url: me.avatar_url.clone().unwrap_or_default(),
                    role: 0,
                }),
                client_msg_id: client_msg_id.clone(),
                text,
            };
            match st.chat.clone().send(req).await {
                Ok(r) => {
                    let r = r.into_inner();
                    let message = protocol::message(r.message.unwrap_or_default());
                    Some(ServerMessage::ChatAck { client_msg_id: &client_msg_id, message, held: r.held }.to_json())
                }
                Err(status) => {
                    let e = ApiError::from_status(&status);
                    Some(
                        ServerMessage::Error {
                            client_msg_id: Some(&client_msg_id),
                            code: &e.code,
                            message: &e.message,
                            retry_after: e.retry_after.map(|d| d.as_secs().max(1)),
                        }
                        .to_json(),
                    )
                }
            }
        }
    }
}
