//! The connection as the RTMP session reads it. Two things the library does not decide for
//! us: end of stream is an error (its handshake loop reads again on a zero-byte read, so a
//! client that closes during the handshake — a load balancer's TCP health check, every few
//! seconds — would keep the session spinning until our publish deadline), and before a
//! publish is admitted the peer may send only what an encoder sends to get there (handshake
//! and a few small commands), since the library buffers partial messages of up to 10 MiB on
//! each of 4 chunk streams for anyone who connects.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Bytes a peer may send before its publish is admitted: the handshake (3 KiB) and the
/// `connect`/`createStream`/`publish` commands take well under 8 KiB from any encoder.
pub const PRE_PUBLISH_BYTES: usize = 64 * 1024;

/// A session's socket, with EOF as an error and a read budget until `admitted` is set.
pub struct SessionIo {
    conn: TcpStream,
    admitted: Arc<AtomicBool>,
    read: usize,
}

impl SessionIo {
    pub fn new(conn: TcpStream, admitted: Arc<AtomicBool>) -> Self {
        SessionIo {
            conn,
            admitted,
            read: 0,
        }
    }
}

impl AsyncRead for SessionIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let wanted = buf.remaining() > 0;
        let polled = Pin::new(&mut self.conn).poll_read(cx, buf);
        let got = buf.filled().len() - before;
        match polled {
            Poll::Ready(Ok(())) if wanted && got == 0 => {
                Poll::Ready(Err(std::io::ErrorKind::UnexpectedEof.into()))
            }
            Poll::Ready(Ok(())) => {
                self.read = self.read.saturating_add(got);
                if self.read > PRE_PUBLISH_BYTES && !self.admitted.load(Ordering::Acquire) {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "too much data before a publish",
                    )));
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for SessionIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.conn).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.conn).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.conn).poll_shutdown(cx)
    }
}
