//! libsrt (Haivision's reference SRT library, Debian's `libsrt1.5-gnutls`), through the
//! dozen calls a live listener needs, each wrapped so its users never touch a raw pointer:
//! [`Socket`] closes itself, errors come back as [`SrtError`] with libsrt's text, and the
//! listen callback is a Rust closure that cannot unwind into C. The workspace forbids
//! unsafe code everywhere else; this crate is the one place it is allowed.
//!
//! libsrt is thread-safe per socket id; blocking calls (`recv`) run on threads of their own.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Once;
use std::time::Duration;

type RawSocket = i32;

/// The listen callback's signature (`srt_listen_callback_fn`).
type ListenFn = unsafe extern "C" fn(
    opaque: *mut c_void,
    ns: RawSocket,
    hs_version: c_int,
    peer: *const u8,
    stream_id: *const c_char,
) -> c_int;

#[link(name = "srt-gnutls")]
unsafe extern "C" {
    fn srt_startup() -> c_int;
    fn srt_create_socket() -> RawSocket;
    fn srt_bind(u: RawSocket, name: *const u8, namelen: c_int) -> c_int;
    fn srt_listen(u: RawSocket, backlog: c_int) -> c_int;
    fn srt_listen_callback(lsn: RawSocket, hook: ListenFn, opaque: *mut c_void) -> c_int;
    fn srt_accept(u: RawSocket, addr: *mut u8, addrlen: *mut c_int) -> RawSocket;
    fn srt_close(u: RawSocket) -> c_int;
    fn srt_recvmsg(u: RawSocket, buf: *mut c_char, len: c_int) -> c_int;
    fn srt_setsockflag(u: RawSocket, opt: c_int, val: *const c_void, len: c_int) -> c_int;
    fn srt_getsockflag(u: RawSocket, opt: c_int, val: *mut c_void, len: *mut c_int) -> c_int;
    fn srt_getlasterror(errno_loc: *mut c_int) -> c_int;
    fn srt_getlasterror_str() -> *const c_char;
    fn srt_setrejectreason(u: RawSocket, value: c_int) -> c_int;
    fn srt_setloglevel(level: c_int);
}

/// Socket options used here (`SRT_SOCKOPT`).
const SRTO_RCVSYN: c_int = 2;
const SRTO_RCVBUF: c_int = 6;
const SRTO_RCVTIMEO: c_int = 14;
const SRTO_RCVLATENCY: c_int = 43;
const SRTO_STREAMID: c_int = 46;
/// `SRT_EASYNCRCV` (nothing to accept or read yet) and `SRT_ETIMEOUT` (receive timed out).
const AGAIN: [c_int; 2] = [6002, 6003];
/// The longest stream id SRT carries.
const MAX_STREAM_ID: usize = 512;
/// libsrt's `LOG_CRIT`: its own log goes to stderr, where even its "errors" are routine
/// (every empty poll of a non-blocking accept is one).
const LOG_CRIT: c_int = 2;

/// An SRT call failed.
#[derive(Debug, thiserror::Error)]
#[error("{call}: {text} (libsrt error {code})")]
pub struct SrtError {
    pub call: &'static str,
    pub code: i32,
    pub text: String,
}

impl SrtError {
    /// Nothing is there yet (non-blocking accept) or the receive timeout passed.
    pub fn is_again(&self) -> bool {
        AGAIN.contains(&self.code)
    }
}

fn last_error(call: &'static str) -> SrtError {
    // SAFETY: both read libsrt's thread-local last error; the string is owned by libsrt
    // and valid until the next call on this thread, so it is copied at once.
    let (code, text) = unsafe {
        let code = srt_getlasterror(std::ptr::null_mut());
        let p = srt_getlasterror_str();
        let text = if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        };
        (code, text)
    };
    SrtError { call, code, text }
}

fn check(call: &'static str, r: c_int) -> Result<(), SrtError> {
    if r < 0 { Err(last_error(call)) } else { Ok(()) }
}

/// Starts libsrt once per process (its own threads, quiet logging).
fn startup() {
    static START: Once = Once::new();
    START.call_once(|| {
        // SAFETY: plain library calls with no arguments to get wrong.
        unsafe {
            srt_setloglevel(LOG_CRIT);
            srt_startup();
        }
    });
}

/// A C `sockaddr` of `addr` (in the platform's layout: family, port and address in
/// network order).
fn sockaddr(addr: SocketAddr) -> Vec<u8> {
    match addr {
        SocketAddr::V4(a) => {
            let mut b = vec![0u8; 16];
            b[..2].copy_from_slice(&2u16.to_ne_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[4..8].copy_from_slice(&a.ip().octets());
            b
        }
        SocketAddr::V6(a) => {
            let mut b = vec![0u8; 28];
            b[..2].copy_from_slice(&10u16.to_ne_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[8..24].copy_from_slice(&a.ip().octets());
            b
        }
    }
}

/// Reads a C `sockaddr` back (IPv4 or IPv6); `None` for anything else.
///
/// # Safety
/// `p` is null or points to a `sockaddr_in` or `sockaddr_in6` as its family says.
unsafe fn read_sockaddr(p: *const u8) -> Option<SocketAddr> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller's promise; every read stays inside the structure its family names.
    unsafe {
        let family = u16::from_ne_bytes([*p, *p.add(1)]);
        let port = u16::from_be_bytes([*p.add(2), *p.add(3)]);
        match family {
            2 => {
                let o = std::slice::from_raw_parts(p.add(4), 4);
                Some(SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], o[3])),
                    port,
                ))
            }
            10 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(std::slice::from_raw_parts(p.add(8), 16));
                Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), port))
            }
            _ => None,
        }
    }
}

/// What the listen callback answers: accept the handshake, or reject it with an SRT
/// rejection code (`SRT_REJX_*`, which the caller sees).
pub type Decision = Result<(), i32>;

/// The application's listen callback: peer address and stream id in, decision out.
pub type OnConnect = dyn Fn(SocketAddr, &str) -> Decision + Send + Sync;

/// One SRT socket; closed when dropped.
#[derive(Debug)]
pub struct Socket(RawSocket);

/// A listening socket and the callback it runs on each handshake.
pub struct Listener {
    socket: Socket,
    /// Owned here, borrowed by libsrt through the raw pointer given to it; the socket field
    /// comes first so it is closed (no more callbacks) before this is freed.
    _on_connect: Box<Box<OnConnect>>,
}

unsafe extern "C" fn on_connect_trampoline(
    opaque: *mut c_void,
    ns: RawSocket,
    _hs_version: c_int,
    peer: *const u8,
    stream_id: *const c_char,
) -> c_int {
    // Nothing may unwind into libsrt: a panic here rejects the handshake.
    let decision = std::panic::catch_unwind(|| {
        // SAFETY: `opaque` is the `Box<OnConnect>` the listener owns; the listener's socket
        // is closed (no more callbacks) before it is freed.
        let f = unsafe { &*(opaque as *const Box<OnConnect>) };
        // SAFETY: libsrt hands the caller's address as a sockaddr of its family.
        let peer = unsafe { read_sockaddr(peer) }?;
        let sid = if stream_id.is_null() {
            String::new()
        } else {
            // SAFETY: a non-null stream id from libsrt is NUL-terminated.
            unsafe { CStr::from_ptr(stream_id) }
                .to_string_lossy()
                .into_owned()
        };
        Some(f(peer, &sid))
    });
    match decision {
        Ok(Some(Ok(()))) => 0,
        Ok(Some(Err(code))) => {
            // SAFETY: `ns` is the handshake's socket, valid during the callback.
            unsafe { srt_setrejectreason(ns, code) };
            -1
        }
        _ => -1,
    }
}

impl Listener {
    /// Listens on `addr` with receive latency `latency`; `on_connect` decides each
    /// handshake, on libsrt's receiving thread, so it must answer at once.
    pub fn bind(
        addr: SocketAddr,
        latency: Duration,
        on_connect: Box<OnConnect>,
    ) -> Result<Listener, SrtError> {
        startup();
        // SAFETY: creates a socket; -1 on failure.
        let raw = unsafe { srt_create_socket() };
        if raw < 0 {
            return Err(last_error("srt_create_socket"));
        }
        let socket = Socket(raw);
        // Accept is polled, so shutdown never waits on a blocked call.
        socket.set_int(SRTO_RCVSYN, 0, "SRTO_RCVSYN")?;
        socket.set_int(
            SRTO_RCVLATENCY,
            latency.as_millis().min(i32::MAX as u128) as i32,
            "SRTO_RCVLATENCY",
        )?;
        // Bounds what a connection can hold before its key is checked (inherited by
        // accepted sockets): about 2 s of a 16 Mbit/s feed.
        socket.set_int(SRTO_RCVBUF, 4 << 20, "SRTO_RCVBUF")?;
        let sa = sockaddr(addr);
        // SAFETY: `sa` is a sockaddr of its own length.
        check("srt_bind", unsafe {
            srt_bind(raw, sa.as_ptr(), sa.len() as c_int)
        })?;
        let on_connect = Box::new(on_connect);
        let opaque = &*on_connect as *const Box<OnConnect> as *mut c_void;
        // SAFETY: `opaque` stays valid while the socket exists (see the field order).
        check("srt_listen_callback", unsafe {
            srt_listen_callback(raw, on_connect_trampoline, opaque)
        })?;
        // SAFETY: a bound socket.
        check("srt_listen", unsafe { srt_listen(raw, 64) })?;
        Ok(Listener {
            socket,
            _on_connect: on_connect,
        })
    }

    /// A connection the callback accepted, if one is waiting (never blocks).
    pub fn accept(&self) -> Result<Option<(Socket, SocketAddr)>, SrtError> {
        let mut buf = [0u8; 128];
        let mut len = buf.len() as c_int;
        // SAFETY: `buf` holds any sockaddr; `len` says how much.
        let raw = unsafe { srt_accept(self.socket.0, buf.as_mut_ptr(), &mut len) };
        if raw < 0 {
            let e = last_error("srt_accept");
            return if e.is_again() { Ok(None) } else { Err(e) };
        }
        let socket = Socket(raw);
        // SAFETY: libsrt wrote a sockaddr of the listener's family into `buf`.
        let peer = unsafe { read_sockaddr(buf.as_ptr()) }
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        Ok(Some((socket, peer)))
    }
}

impl Socket {
    fn set_int(&self, opt: c_int, v: i32, name: &'static str) -> Result<(), SrtError> {
        // SAFETY: an int option given as a pointer to an int and its size.
        check(name, unsafe {
            srt_setsockflag(self.0, opt, &v as *const i32 as *const c_void, 4)
        })
    }

    /// Blocking receives that give up after `timeout` (so the reader can look at its
    /// stop flag).
    pub fn set_receive_timeout(&self, timeout: Duration) -> Result<(), SrtError> {
        self.set_int(SRTO_RCVSYN, 1, "SRTO_RCVSYN")?;
        self.set_int(
            SRTO_RCVTIMEO,
            timeout.as_millis().min(i32::MAX as u128) as i32,
            "SRTO_RCVTIMEO",
        )
    }

    /// The stream id the caller sent.
    pub fn stream_id(&self) -> Result<String, SrtError> {
        let mut buf = [0u8; MAX_STREAM_ID + 1];
        let mut len = buf.len() as c_int;
        // SAFETY: libsrt writes at most `len` bytes and sets `len` to what it wrote.
        check("SRTO_STREAMID", unsafe {
            srt_getsockflag(
                self.0,
                SRTO_STREAMID,
                buf.as_mut_ptr() as *mut c_void,
                &mut len,
            )
        })?;
        let len = (len.max(0) as usize).min(MAX_STREAM_ID);
        Ok(String::from_utf8_lossy(&buf[..len])
            .trim_end_matches('\0')
            .to_owned())
    }

    /// The next message (in live mode, one UDP payload: up to 7 TS packets) into `buf`;
    /// its length, or an error (`is_again` when the timeout passed).
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, SrtError> {
        // SAFETY: libsrt writes at most `buf.len()` bytes.
        let n = unsafe {
            srt_recvmsg(
                self.0,
                buf.as_mut_ptr() as *mut c_char,
                buf.len().min(i32::MAX as usize) as c_int,
            )
        };
        if n < 0 {
            Err(last_error("srt_recvmsg"))
        } else {
            Ok(n as usize)
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: closes a socket this value owns; libsrt ignores an id already gone.
        unsafe { srt_close(self.0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_survive_the_c_layout() {
        for a in ["127.0.0.1:9000", "[::1]:23001", "10.1.2.3:1"] {
            let a: SocketAddr = a.parse().unwrap();
            let b = sockaddr(a);
            // SAFETY: `b` is a sockaddr built for `a`'s family.
            assert_eq!(unsafe { read_sockaddr(b.as_ptr()) }, Some(a));
        }
    }
}
