//! Sending a burst of datagrams with one system call.
//!
//! Half of an SFU worker's CPU went to `sendto` (see docs/benchmarks.md), one call per
//! forwarded packet. A fan-out produces its packets in bursts — one packet from a publisher
//! becomes one per subscriber — so the burst is handed to the kernel with `sendmmsg(2)`,
//! [`BATCH`] datagrams per call.
use std::{
    io::{self, IoSlice},
    net::SocketAddr,
};

use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny, sendmmsg};
use tokio::io::Interest;

/// Most datagrams per call; the kernel's own limit is 1024 (UIO_MAXIOV).
pub const BATCH: usize = 64;

/// The receive and send buffer a worker's socket asks for. Linux's default (208 KiB, some 300
/// small datagrams) overflows when hundreds of people join at once (each sends STUN and DTLS
/// flights together) or a fan-out burst outruns the wire; what is dropped there is handshakes
/// that never complete. The kernel grants at most `net.core.rmem_max` / `wmem_max`.
pub const SOCKET_BUFFER: usize = 4 << 20;

/// Asks for [`SOCKET_BUFFER`] both ways; returns what the kernel granted (receive, send), which
/// Linux reports doubled for its own bookkeeping.
pub fn size_buffers(socket: &std::net::UdpSocket) -> io::Result<(usize, usize)> {
    use rustix::net::sockopt;
    sockopt::set_socket_recv_buffer_size(socket, SOCKET_BUFFER)?;
    sockopt::set_socket_send_buffer_size(socket, SOCKET_BUFFER)?;
    Ok((sockopt::socket_recv_buffer_size(socket)?, sockopt::socket_send_buffer_size(socket)?))
}

/// What became of a burst.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub sent: usize,
    /// Not sent because the socket's buffer was full: dropped, as a congested network would
    /// drop them (RTP recovers by NACK and keyframe requests).
    pub dropped: usize,
    /// Refused by the kernel for their destination (unreachable, say); the rest still go.
    pub failed: usize,
}

/// A datagram to send: its bytes and where to.
pub trait Datagram {
    fn payload(&self) -> &[u8];
    fn destination(&self) -> SocketAddr;
}

impl Datagram for str0m::net::Transmit {
    fn payload(&self) -> &[u8] {
        &self.contents
    }
    fn destination(&self) -> SocketAddr {
        self.destination
    }
}

impl Datagram for (&[u8], SocketAddr) {
    fn payload(&self) -> &[u8] {
        self.0
    }
    fn destination(&self) -> SocketAddr {
        self.1
    }
}

/// Sends every datagram in order without waiting: through tokio's readiness, so a full
/// buffer is seen the same way `try_send_to` sees it.
pub fn send_all<D: Datagram>(socket: &tokio::net::UdpSocket, datagrams: &[D]) -> Sent {
    send_with(datagrams, |msgs| {
        socket.try_io(Interest::WRITABLE, || sendmmsg(socket, msgs, SendFlags::empty()).map_err(io::Error::from))
    })
}

/// The same for a plain (blocking or non-blocking) std socket, for callers outside a runtime.
pub fn send_all_std<D: Datagram>(socket: &std::net::UdpSocket, datagrams: &[D]) -> Sent {
    send_with(datagrams, |msgs| sendmmsg(socket, msgs, SendFlags::empty()).map_err(io::Error::from))
}

fn send_with<D: Datagram>(datagrams: &[D], mut call: impl FnMut(&mut [MMsgHdr<'_>]) -> io::Result<usize>) -> Sent {
    let mut out = Sent::default();
    let mut next = 0;
    while next < datagrams.len() {
        let chunk = &datagrams[next..(next + BATCH).min(datagrams.len())];
        let addrs: Vec<SocketAddrAny> = chunk.iter().map(|d| SocketAddrAny::from(d.destination())).collect();
        let iovs: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|d| [IoSlice::new(d.payload())]).collect();
        let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = chunk.iter().map(|_| SendAncillaryBuffer::default()).collect();
        let mut msgs: Vec<MMsgHdr<'_>> = addrs
            .iter()
            .zip(&iovs)
            .zip(controls.iter_mut())
            .map(|((addr, iov), control)| MMsgHdr::new_with_addr(addr, iov, control))
            .collect();
        match call(&mut msgs) {
            // The kernel stops a batch at the first datagram it cannot send and reports the
            // ones before it; the next call starts with that one and reports its error.
            Ok(n) if n > 0 => {
                out.sent += n;
                next += n;
            }
            Ok(_) => {
                out.dropped += datagrams.len() - next;
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                out.dropped += datagrams.len() - next;
                break;
            }
            Err(e) => {
                tracing::debug!(error = %e, to = %datagrams[next].destination(), "send failed");
                out.failed += 1;
                next += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::{net::UdpSocket, time::Duration};

    use super::*;

    fn receiver() -> UdpSocket {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s
    }

    /// More than one batch, to several destinations: every datagram arrives, in order per
    /// destination, with its own bytes.
    #[test]
    fn a_burst_larger_than_a_batch_reaches_every_destination_in_order() {
        let (a, b) = (receiver(), receiver());
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let payloads: Vec<Vec<u8>> = (0..150u16).map(|i| i.to_be_bytes().repeat(10)).collect();
        let datagrams: Vec<(&[u8], SocketAddr)> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_slice(), if i % 2 == 0 { a.local_addr().unwrap() } else { b.local_addr().unwrap() }))
            .collect();
        let sent = send_all_std(&sender, &datagrams);
        assert_eq!(sent, Sent { sent: 150, dropped: 0, failed: 0 });
        let mut buf = [0u8; 64];
        for (sock, first) in [(&a, 0u16), (&b, 1u16)] {
            for i in (first..150).step_by(2) {
                let (n, from) = sock.recv_from(&mut buf).unwrap();
                assert_eq!(from, sender.local_addr().unwrap());
                assert_eq!(&buf[..n], i.to_be_bytes().repeat(10).as_slice(), "datagram {i}");
            }
        }
    }

    /// A destination the kernel refuses (an IPv6 address on an IPv4 socket) costs that
    /// datagram only; the ones after it still go.
    #[test]
    fn a_refused_destination_does_not_stop_the_rest_of_the_burst() {
        let a = receiver();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let bad: SocketAddr = "[::1]:9".parse().unwrap();
        let to = a.local_addr().unwrap();
        let datagrams: [(&[u8], SocketAddr); 3] = [(b"one", to), (b"bad", bad), (b"two", to)];
        let sent = send_all_std(&sender, &datagrams);
        assert_eq!(sent, Sent { sent: 2, dropped: 0, failed: 1 });
        let mut buf = [0u8; 16];
        let (n, _) = a.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"one");
        let (n, _) = a.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"two");
    }

    #[tokio::test]
    async fn the_tokio_socket_sends_through_its_readiness() {
        let a = receiver();
        let sender = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // A fresh socket's write readiness arrives with the runtime's first poll of it.
        sender.writable().await.unwrap();
        let datagrams: [(&[u8], SocketAddr); 3] = [(b"x", a.local_addr().unwrap()); 3];
        assert_eq!(send_all(&sender, &datagrams).sent, 3);
        let mut buf = [0u8; 4];
        for _ in 0..3 {
            assert_eq!(a.recv_from(&mut buf).unwrap().0, 1);
        }
    }
}
