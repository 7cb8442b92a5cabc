//! The WebSocket endpoint and the loop that serves one connection.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    extract::{Path, Query, State},
    response::Response,
};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use stagecast_kit::{ApiError, ErrorKind};
use stagecast_proto::{
    auth::v1 as auth_pb,
    chat::v1::{self as pb, chat_service_client::ChatServiceClient},
};
use tokio_tungstenite::tungstenite::{
    Message, Utf8Bytes,
    protocol::{CloseFrame, WebSocketConfig, frame::coding::CloseCode},
};

use super::{
    hub::{Membership, SocketOutlet},
    outlet::{self, Alert, Outlet, Shared},
    presence,
    protocol::{ClientMessage, PROTOCOL_VERSION, ServerMessage, close},
    upgrade::{self, NotUpgradable, RawSocket, Upgrade},
};
use crate::{
    extract::authenticate,
    observe::Metrics,
    problem::Problem,
    state::{AppState, Grpc},
    wire::{self, chat::Author},
};

/// A live socket: tungstenite over the connection it shares with its room.
type WebSocket = tokio_tungstenite::WebSocketStream<Shared<RawSocket>>;

/// The server pings this often; a connection silent for [`IDLE_LIMIT`] is closed.
pub const HEARTBEAT: Duration = Duration::from_secs(20);
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// Largest frame a client may send.
pub const MAX_FRAME: usize = 8 * 1024;
/// Clients send small frames (a chat message is a few hundred bytes): a read buffer of this size
/// takes one in a single read, and a larger frame grows it. Every idle socket keeps one.
const READ_BUFFER: usize = 1024;
/// The socket's own frames (replies, pings) are small: tungstenite's write buffer keeps its
/// largest size, so it should not grow. Room traffic does not pass through it (see `outlet`).
const WRITE_BUFFER: usize = 4 * 1024;
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
    ws: Result<Upgrade, NotUpgradable>,
) -> Result<Response, Problem> {
    let admitted = admit(&st, &event_id, &headers, q.access_token).await;
    match (ws, admitted) {
        // One box for what entering the room needs: the upgrade's task keeps its captures for
        // the socket's whole life, so they should be a pointer, not an AppState.
        (Ok(ws), Ok((me, joined))) => Ok(ws.respond({
            let admitted = Box::new(Admitted { st, event_id, me, joined });
            move |raw| serve(raw, admitted)
        })),
        // A browser cannot read the status of a refused handshake, so a WebSocket client is
        // told why in an `error` frame and a close code instead.
        (Ok(ws), Err(problem)) => Ok(ws.respond(move |raw| refuse(raw, problem))),
        (Err(_), Err(problem)) => Err(problem),
        (Err(not_upgradable), Ok(_)) => Err(not_upgradable.into()),
    }
}

/// How every live socket is framed.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        // Clients send small frames; a 128 KiB default read buffer would be zeroed on every
        // read attempt (measured: a third of the gateway's CPU in the fan-out benchmark).
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME))
}

/// Authenticates the caller and enters the room: who they are and what the room says.
async fn admit(
    st: &AppState,
    event_id: &str,
    headers: &http::HeaderMap,
    query_token: Option<String>,
) -> Result<(Author, pb::JoinResponse), Problem> {
    let from_header = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::to_owned);
    if from_header.is_none()
        && let Some(t) = &query_token
    {
        crate::extract::no_key_in_url(t)?;
    }
    let token = from_header.or(query_token).ok_or_else(|| {
        Problem::new(
            ErrorKind::Unauthenticated,
            "missing_token",
            "pass the access token as ?access_token= or Authorization: Bearer",
        )
    })?;
    let user = authenticate(st, &token).await?;
    user.check_access(&http::Method::GET, &format!("/api/v1/events/{event_id}/live"))?;
    let profile = st.auth.clone().get_profile(auth_pb::GetProfileRequest { user_id: user.user_id.clone() }).await?.into_inner();
    let author =
        pb::Author { user_id: user.user_id.clone(), display_name: profile.display_name, avatar_url: profile.avatar_url, role: 0 };
    let joined = st
        .chat
        .clone()
        .join(pb::JoinRequest { event_id: event_id.to_owned(), user: Some(author.clone()), history_limit: 0 })
        .await?
        .into_inner();
    let mut me = wire::chat::author(Some(author));
    me.role = wire::chat::role_name(joined.role);
    Ok((me, joined))
}

async fn refuse(raw: RawSocket, problem: Problem) {
    let outlet = Outlet::new(raw);
    outlet.open(bytes::Bytes::new());
    let mut socket = wrap(outlet).await;
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
    close_with(&mut socket, code, reason).await;
}

async fn send(socket: &mut WebSocket, text: Utf8Bytes) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text))).await, Ok(Ok(())))
}

async fn close_with(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code: CloseCode::from(code), reason: Utf8Bytes::from_static(reason) };
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.send(Message::Close(Some(frame)))).await;
}

/// What an admitted socket brings to its room.
struct Admitted {
    st: AppState,
    event_id: String,
    me: Author,
    joined: pb::JoinResponse,
}

/// Who a socket is and what handling its frames needs.
struct Client {
    chat: ChatServiceClient<Grpc>,
    metrics: Arc<Metrics>,
    event_id: String,
    me: Author,
}

/// What a socket keeps for its life, in one allocation beside its task.
struct Live {
    client: Client,
    /// Held for its drop, which leaves the room.
    _membership: Membership,
    outlet: Arc<SocketOutlet>,
    heartbeat: tokio::time::Interval,
}

/// Frames the shared connection as the server side of a WebSocket.
async fn wrap(outlet: Arc<SocketOutlet>) -> WebSocket {
    upgrade::wrap(Shared(outlet), socket_config()).await
}

async fn serve(raw: RawSocket, admitted: Box<Admitted>) {
    let metrics = admitted.st.metrics.clone();
    metrics.ws_connections.inc();
    let outlet = Outlet::new(raw);
    // Bound first: temporaries of a `match` scrutinee would live (in this future) until the
    // match ends, i.e. for the socket's whole life.
    let entered = Box::pin(enter(admitted, outlet.clone())).await;
    let mut socket = wrap(outlet.clone()).await;
    let reason = match entered {
        // The hello goes first, before what the room queued meanwhile, and straight into the
        // outlet, so its size does not stay behind in tungstenite's write buffer.
        Ok((live, hello)) => {
            outlet.open(outlet::text_frame(&hello));
            drop(hello);
            run(&mut socket, live).await
        }
        Err(reason) => {
            outlet.open(bytes::Bytes::new());
            Some(reason)
        }
    };
    metrics.ws_connections.dec();
    if let Some((code, why)) = reason {
        Box::pin(close_with(&mut socket, code, why)).await;
    }
}

/// Enters the room and builds the `hello`. Awaited boxed: its gRPC and Redis calls are large
/// futures, and an idle socket's task should not keep their space for its whole life.
async fn enter(admitted: Box<Admitted>, outlet: Arc<SocketOutlet>) -> Result<(Box<Live>, String), (u16, &'static str)> {
    let Admitted { st, event_id, me, joined } = *admitted;
    // Subscribe before reading history so nothing published in between is missed (clients
    // dedupe by message id the few that may appear twice); the outlet holds it until the hello.
    let membership = match st.hub.join(&event_id, me.clone(), !joined.backstage, outlet.clone(), &st.shutdown).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "cannot subscribe to room");
            return Err((close::UNAVAILABLE, "chat is unavailable; reconnect shortly"));
        }
    };
    // Shutdown reaches sockets through their room; one that joined after it began is told here.
    if *st.shutdown.borrow() {
        return Err((close::GOING_AWAY, "server restarting; reconnect"));
    }
    let history = st
        .chat
        .clone()
        .history(pb::HistoryRequest { event_id: event_id.clone(), before_id: String::new(), limit: 50, reader_id: String::new() })
        .await
        .map(|r| r.into_inner().messages)
        .unwrap_or_default();
    let mut redis = st.redis.clone();
    let presence = presence::snapshot(&mut redis, &event_id, 100)
        .await
        .unwrap_or(wire::chat::Presence { viewer_count: 0, users: Vec::new() });
    let hello = ServerMessage::Hello {
        protocol: PROTOCOL_VERSION,
        event_id: &event_id,
        you: me.clone(),
        // History comes newest first; the hello lists it oldest first, as a chat pane shows it.
        history: history.into_iter().rev().map(wire::chat::message).collect(),
        pinned: joined.pinned.map(wire::chat::message),
        settings: joined.settings.map(wire::chat::settings),
        timed_out_until: wire::rfc3339(joined.timed_out_until.as_ref()),
        presence,
        heartbeat_secs: HEARTBEAT.as_secs(),
    }
    .to_json();
    let live = Box::new(Live {
        client: Client { chat: st.chat.clone(), metrics: st.metrics.clone(), event_id, me },
        _membership: membership,
        outlet,
        heartbeat: tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT),
    });
    Ok((live, hello))
}

/// Sends, with a deadline; false when the socket is gone or stuck. Boxed: for the rare frames
/// (pings, replies, a ban), so that the socket's future is sized by its hot path instead.
async fn send_within(socket: &mut WebSocket, msg: Message) -> bool {
    Box::pin(async { matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(msg)).await, Ok(Ok(()))) }).await
}

/// Serves the connection; returns the close code to send, if any.
///
/// One task and one loop per socket, owning the socket's tungstenite side: it waits for its
/// outlet (which also carries bans and shutdown, and whose backlog it drains when the client
/// reads slower than the room writes), a client frame, the reply to the client's last frame, or
/// the heartbeat. Room traffic itself does not pass through this task: the room's shard writes
/// it into the outlet. While a client frame is being handled (a gRPC call) the socket is not read
/// further, but room traffic and heartbeats still go on.
async fn run(socket: &mut WebSocket, mut live: Box<Live>) -> Option<(u16, &'static str)> {
    let Live { client, outlet, heartbeat, .. } = &mut *live;
    let mut last_heard = Instant::now();
    // The reply to the client frame being handled. Boxed: an idle socket's task then does not
    // carry the space of a gRPC call in flight.
    let mut pending: Option<futures::future::BoxFuture<'_, Option<String>>> = None;
    loop {
        tokio::select! {
            biased;
            alert = outlet.alert() => match alert {
                Alert::Close(code, why) => return Some((code, why)),
                Alert::TooSlow => {
                    client.metrics.ws_dropped_slow.inc();
                    tracing::info!("dropping a slow chat consumer");
                    return Some((close::TOO_SLOW, "you fell too far behind; reconnect"));
                }
                Alert::Broken => return None,
            },
            reply = async { pending.as_mut().expect("guarded by the branch condition").await }, if pending.is_some() => {
                pending = None;
                if let Some(reply) = reply
                    && !send_within(socket, Message::Text(Utf8Bytes::from(reply))).await
                {
                    return None;
                }
            }
            frame = socket.next(), if pending.is_none() => {
                // The client closed, or the connection broke.
                let Some(Ok(frame)) = frame else { return None };
                last_heard = Instant::now();
                match frame {
                    Message::Text(text) => pending = Some(Box::pin(handle_client(client, text))),
                    Message::Binary(_) => return Some((close::PROTOCOL_ERROR, "send JSON text frames")),
                    Message::Close(_) => return None,
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    return Some((close::HEARTBEAT_TIMEOUT, "no heartbeat"));
                }
                if outlet.stuck_for().is_some_and(|t| t > SEND_TIMEOUT) {
                    // The client has not read for this long: it is gone.
                    return None;
                }
                if !send_within(socket, Message::Ping(Default::default())).await {
                    return None;
                }
            }
        }
    }
}

/// Handles one client frame; returns the reply frame, if any.
async fn handle_client(client: &Client, text: Utf8Bytes) -> Option<String> {
    let (event_id, me) = (client.event_id.as_str(), &client.me);
    let msg: ClientMessage = match serde_json::from_str(text.as_str()) {
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
            match client.chat.clone().send(req).await {
                Ok(r) => {
                    let r = r.into_inner();
                    let message = wire::chat::message(r.message.unwrap_or_default());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn future_size<A, B, F: Future>(_: impl FnOnce(A, B) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every idle socket's task holds this future: the setup's gRPC and Redis calls and a
    /// client frame's handling are boxed so they do not size it.
    #[test]
    fn the_per_socket_future_stays_small() {
        let n = future_size(serve);
        println!("serve future: {n} bytes");
        assert!(n <= 2048, "the per-socket future grew to {n} bytes");
    }
}
