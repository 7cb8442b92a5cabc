//! A live socket's connection, written to by two parties: its room, which writes chat frames
//! straight into it, and the socket's own task, which reads client frames and writes replies,
//! pings and the close frame through tungstenite.
//!
//! Why the room writes directly: a chat message reaches hundreds of sockets. Handing it to each
//! socket's task cost a task wake-up, a poll of the task's whole `select!`, a copy into
//! tungstenite's buffer and a flush per delivery, and on a multi-threaded runtime a futex or
//! eventfd wake of the other worker for many of them: together about as much CPU as the
//! `send(2)` itself (docs/benchmarks.md). Server frames are not masked, so one encoded frame
//! serves every socket, and the room's shard writes it with one non-blocking `write` each.
//!
//! Frames from both parties must not interleave mid-frame. Everything written goes through
//! [`Outlet`]'s lock, and a write is all or nothing from the writer's point of view: what the
//! kernel does not take at once is kept in the backlog, and nothing else is written before the
//! backlog is. The socket's task drains the backlog (it waits for write readiness); the room only
//! appends to it. A backlog over [`MAX_BACKLOG`] bytes means the client is not reading: the
//! socket is dropped as too slow instead of holding the room's memory.
use std::{
    collections::VecDeque,
    io,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll, Waker},
    time::Instant,
};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes of room traffic a socket may leave unread (beyond what the kernel buffers) before it
/// is dropped: some thousands of chat messages.
pub const MAX_BACKLOG: usize = 1 << 20;

/// Encodes one unfragmented, unmasked text frame (RFC 6455 §5.2): what a server sends.
pub fn text_frame(text: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(text.len() + 10);
    put_text_frame(&mut out, text);
    out.freeze()
}

/// Appends one text frame to `out`, so several can go out in one write.
pub fn put_text_frame(out: &mut BytesMut, text: &str) {
    let len = text.len();
    // FIN + text opcode, then the payload length in the shortest form.
    out.extend_from_slice(&[0x81]);
    if len < 126 {
        out.extend_from_slice(&[len as u8]);
    } else if let Ok(short) = u16::try_from(len) {
        out.extend_from_slice(&[126]);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.extend_from_slice(&[127]);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(text.as_bytes());
}

/// What the socket's task must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    /// Close with this code and reason (a ban, or the gateway shutting down).
    Close(u16, &'static str),
    /// The backlog overflowed: the client is not reading.
    TooSlow,
    /// The connection failed while the room wrote to it.
    Broken,
}

struct State<T> {
    io: T,
    backlog: VecDeque<Bytes>,
    backlog_bytes: usize,
    /// Since when the backlog has not been empty: a socket stuck that long is dead.
    backlog_since: Option<Instant>,
    /// Until the hello is in, room frames only queue: the hello must be the first frame.
    held: bool,
    alert: Option<Alert>,
    /// The socket task's waker: the room's writes register it, so write readiness and new
    /// backlog wake the task that drains.
    waker: Waker,
}

impl<T: AsyncWrite + Unpin> State<T> {
    fn push(&mut self, frame: Bytes) {
        if self.backlog.is_empty() {
            self.backlog_since = Some(Instant::now());
        }
        self.backlog_bytes += frame.len();
        self.backlog.push_back(frame);
    }

    /// The client is too far behind: what waits for it is dropped and its task told.
    fn fall_behind(&mut self) {
        if self.alert.is_none() {
            self.alert = Some(Alert::TooSlow);
        }
        self.backlog.clear();
        self.backlog_bytes = 0;
        self.waker.wake_by_ref();
    }

    /// Writes the backlog out; Ready once it is empty.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(front) = self.backlog.front_mut() {
            if front.is_empty() {
                self.backlog.pop_front();
                continue;
            }
            match Pin::new(&mut self.io).poll_write(cx, front) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.backlog_bytes = self.backlog_bytes.saturating_sub(n);
                    if n < front.len() {
                        front.advance(n);
                    } else {
                        self.backlog.pop_front();
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.backlog_since = None;
        self.backlog_bytes = 0;
        if self.backlog.capacity() > 16 {
            // A burst's queue should not stay allocated on an idle socket.
            self.backlog = VecDeque::new();
        }
        Poll::Ready(Ok(()))
    }
}

/// One connection shared by its room and its task. Cheap to clone as `Arc<Outlet<T>>`.
pub struct Outlet<T> {
    state: Mutex<State<T>>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Outlet<T> {
    /// An outlet that holds room frames until [`Outlet::open`] writes the first frame.
    pub fn new(io: T) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                io,
                backlog: VecDeque::new(),
                backlog_bytes: 0,
                backlog_since: None,
                held: true,
                alert: None,
                waker: Waker::noop().clone(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        stagecast_kit::sync::lock(&self.state)
    }

    /// Puts `first` before everything the room queued meanwhile and lets room frames through
    /// (an empty `first` just lets them through). The socket's task writes them out.
    pub fn open(&self, first: Bytes) {
        let mut st = self.lock();
        if !first.is_empty() {
            st.backlog_bytes += first.len();
            st.backlog.push_front(first);
        }
        if !st.backlog.is_empty() {
            st.backlog_since.get_or_insert_with(Instant::now);
        }
        st.held = false;
        st.waker.wake_by_ref();
    }

    /// The room's write of one frame: at once if nothing is queued, else after the backlog.
    /// Never waits.
    pub fn offer(&self, frame: &Bytes) {
        let mut st = self.lock();
        if st.alert.is_some() {
            return;
        }
        if st.held || !st.backlog.is_empty() {
            if st.backlog_bytes + frame.len() > MAX_BACKLOG {
                st.fall_behind();
            } else {
                st.push(frame.clone());
            }
            return;
        }
        let State { io, waker, .. } = &mut *st;
        // With the task's waker: if the kernel's buffer is full, write readiness wakes the
        // task, which is the one that drains.
        let mut cx = Context::from_waker(waker);
        match Pin::new(io).poll_write(&mut cx, frame) {
            Poll::Ready(Ok(n)) if n == frame.len() => {}
            Poll::Ready(Ok(n)) => {
                st.push(frame.slice(n..));
                st.waker.wake_by_ref();
            }
            Poll::Pending => {
                st.push(frame.clone());
                st.waker.wake_by_ref();
            }
            Poll::Ready(Err(_)) => {
                st.alert = Some(Alert::Broken);
                st.waker.wake_by_ref();
            }
        }
    }

    /// Drops the socket as too slow (its room could not keep up with it).
    pub fn fall_behind(&self) {
        self.lock().fall_behind();
    }

    /// Asks the socket's task to close with `code` (it first writes what is queued).
    pub fn close(&self, code: u16, reason: &'static str) {
        let mut st = self.lock();
        if st.alert.is_none() {
            st.alert = Some(Alert::Close(code, reason));
        }
        st.waker.wake_by_ref();
    }

    /// For the socket's task: drains the backlog as the socket allows and returns what must be
    /// acted on. Pending while all is well.
    pub fn poll_alert(&self, cx: &mut Context<'_>) -> Poll<Alert> {
        let mut st = self.lock();
        if !st.waker.will_wake(cx.waker()) {
            st.waker = cx.waker().clone();
        }
        if let Some(alert) = st.alert {
            return Poll::Ready(alert);
        }
        if !st.held
            && let Poll::Ready(Err(_)) = st.poll_drain(cx)
        {
            st.alert = Some(Alert::Broken);
            return Poll::Ready(Alert::Broken);
        }
        Poll::Pending
    }

    /// The next thing the socket's task must act on.
    pub async fn alert(&self) -> Alert {
        std::future::poll_fn(|cx| self.poll_alert(cx)).await
    }

    /// How long frames have been waiting for the client to read.
    pub fn stuck_for(&self) -> Option<std::time::Duration> {
        self.lock().backlog_since.map(|t| t.elapsed())
    }

    /// Frames waiting (for tests and metrics).
    pub fn backlog_len(&self) -> usize {
        self.lock().backlog.len()
    }
}

/// The socket task's view of an [`Outlet`] as a byte stream, for tungstenite. Reads go straight
/// to the connection; a write first drains the backlog, and then is all or nothing (a partial
/// write's rest joins the backlog), so frames never interleave.
pub struct Shared<T>(pub Arc<Outlet<T>>);

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Shared<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0.lock().io).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Shared<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut st = self.0.lock();
        if st.held {
            // The task writes nothing before the hello; should it try, keep the order anyway.
            st.push(Bytes::copy_from_slice(buf));
            return Poll::Ready(Ok(buf.len()));
        }
        if st.poll_drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        match Pin::new(&mut st.io).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) if n > 0 && n < buf.len() => {
                st.push(Bytes::copy_from_slice(&buf[n..]));
                Poll::Ready(Ok(buf.len()))
            }
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.0.lock();
        if !st.held && st.poll_drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut st.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.0.lock();
        if !st.held && st.poll_drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut st.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, DuplexStream, duplex};

    use super::*;

    async fn read_exactly(r: &mut DuplexStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        tokio::time::timeout(Duration::from_secs(5), r.read_exact(&mut buf)).await.unwrap().unwrap();
        buf
    }

    /// A frame encoded here must read back as the same message through a real WebSocket
    /// parser, for each of the three length encodings.
    #[tokio::test]
    async fn a_text_frame_reads_back_through_tungstenite_at_every_length() {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;
        use tokio_tungstenite::{
            WebSocketStream,
            tungstenite::{Message, protocol::Role},
        };
        for len in [0usize, 125, 126, 65_535, 65_536, 70_000] {
            let text: String = std::iter::repeat_n('é', len / 2).chain(std::iter::repeat_n('a', len % 2)).collect();
            assert_eq!(text.len(), len);
            let (mut server, client) = duplex(256 * 1024);
            server.write_all(&text_frame(&text)).await.unwrap();
            let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
            match ws.next().await {
                Some(Ok(Message::Text(got))) => assert_eq!(got.as_str(), text, "length {len}"),
                other => panic!("length {len}: expected a text frame, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn room_frames_wait_for_the_first_frame_and_follow_it_in_order() {
        let (server, mut client) = duplex(1 << 16);
        let outlet = Outlet::new(server);
        outlet.offer(&Bytes::from_static(b"one"));
        outlet.offer(&Bytes::from_static(b"two"));
        outlet.open(Bytes::from_static(b"hello"));
        // The task's alert future drains; it stays pending while all is well.
        let drained = tokio::time::timeout(Duration::from_millis(100), outlet.alert()).await;
        assert!(drained.is_err(), "no alert expected");
        outlet.offer(&Bytes::from_static(b"three"));
        assert_eq!(read_exactly(&mut client, 16).await, b"helloonetwothree");
        assert_eq!(outlet.backlog_len(), 0);
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_reported_too_slow_and_others_are_not_held_up() {
        // A tiny pipe: the kernel buffer of a real socket, full.
        let (server, _client) = duplex(64);
        let outlet = Outlet::new(server);
        outlet.open(Bytes::from_static(b"hello"));
        let frame = text_frame(&"m".repeat(100));
        for _ in 0..MAX_BACKLOG / frame.len() + 1 {
            outlet.offer(&frame);
        }
        let alert = tokio::time::timeout(Duration::from_secs(1), outlet.alert()).await.unwrap();
        assert_eq!(alert, Alert::TooSlow);
        assert_eq!(outlet.backlog_len(), 0, "the backlog is freed at once");
        // A second outlet on a reading client is unaffected by the first.
        let (server2, mut client2) = duplex(1 << 16);
        let healthy = Outlet::new(server2);
        healthy.open(Bytes::new());
        healthy.offer(&frame);
        assert_eq!(read_exactly(&mut client2, frame.len()).await, frame.to_vec());
    }

    #[tokio::test]
    async fn a_partial_write_is_finished_before_the_tasks_own_frame() {
        let (server, mut client) = duplex(8);
        let outlet = Outlet::new(server);
        outlet.open(Bytes::new());
        let frame = Bytes::from_static(b"0123456789abcdef");
        outlet.offer(&frame);
        assert!(outlet.backlog_len() > 0, "the pipe took only part of it");
        let mut shared = Shared(outlet.clone());
        let reader = tokio::spawn(async move { read_exactly(&mut client, 21).await });
        tokio::time::timeout(Duration::from_secs(5), tokio::io::AsyncWriteExt::write_all(&mut shared, b"PING!"))
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), tokio::io::AsyncWriteExt::flush(&mut shared)).await.unwrap().unwrap();
        assert_eq!(reader.await.unwrap(), b"0123456789abcdefPING!");
    }

    #[tokio::test]
    async fn a_close_request_reaches_the_task_once_and_later_frames_are_not_written() {
        let (server, mut client) = duplex(1 << 10);
        let outlet = Outlet::new(server);
        outlet.open(Bytes::from_static(b"hi"));
        outlet.offer(&Bytes::from_static(b"ban notice"));
        outlet.close(4003, "banned");
        outlet.offer(&Bytes::from_static(b"after"));
        assert_eq!(outlet.alert().await, Alert::Close(4003, "banned"));
        // What was queued before the close still goes out when the task flushes.
        let mut shared = Shared(outlet.clone());
        tokio::io::AsyncWriteExt::flush(&mut shared).await.unwrap();
        assert_eq!(read_exactly(&mut client, 12).await, b"hiban notice");
    }
}
