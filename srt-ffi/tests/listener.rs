//! The wrapped libsrt listener against a real libsrt caller (ffmpeg's SRT output): the
//! callback sees the caller's stream id and address, a rejected caller gets the code, an
//! accepted one's MPEG-TS arrives.
#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use srt_ffi::Listener;

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn caller(port: u16, stream_id: &str) -> Child {
    Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=160x120:r=25",
        ])
        .args(["-t", "30", "-c:v", "libx264", "-f", "mpegts"])
        .arg(format!("srt://127.0.0.1:{port}?streamid={stream_id}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg starts (scripts/install-deps.sh installs it)")
}

fn wait_exit(child: &mut Child, timeout: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    false
}

#[test]
fn the_callback_decides_on_the_stream_id_and_accepted_callers_send_ts() {
    let port = free_udp_port();
    let seen: Arc<Mutex<Vec<(SocketAddr, String)>>> = Arc::default();
    let log = seen.clone();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let listener = Listener::bind(
        addr,
        Duration::from_millis(120),
        Box::new(move |peer: SocketAddr, sid: &str| {
            log.lock().unwrap().push((peer, sid.to_owned()));
            if sid == "#!::r=live/good,m=publish" {
                Ok(())
            } else {
                Err(1403)
            }
        }),
    )
    .unwrap();

    let mut bad = caller(port, "bad");
    assert!(
        wait_exit(&mut bad, Duration::from_secs(10)),
        "a rejected caller kept going"
    );
    assert!(
        listener.accept().unwrap().is_none(),
        "a rejected caller was accepted"
    );

    let mut good = caller(port, "#!::r=live/good,m=publish");
    let t0 = Instant::now();
    let (socket, peer) = loop {
        if let Some(a) = listener.accept().unwrap() {
            break a;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "no caller accepted");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(peer.ip().to_string(), "127.0.0.1");
    assert_eq!(socket.stream_id().unwrap(), "#!::r=live/good,m=publish");
    socket
        .set_receive_timeout(Duration::from_millis(100))
        .unwrap();
    let mut buf = [0u8; 1500];
    let mut bytes = 0;
    while bytes < 20_000 && t0.elapsed() < Duration::from_secs(10) {
        match socket.recv(&mut buf) {
            Ok(n) => {
                assert_eq!(n % 188, 0, "live-mode messages are whole TS packets");
                assert_eq!(buf[0], 0x47, "TS sync byte");
                bytes += n;
            }
            Err(e) if e.is_again() => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(bytes >= 20_000, "only {bytes} bytes arrived");
    // Closing our end ends the caller.
    drop(socket);
    assert!(
        wait_exit(&mut good, Duration::from_secs(10)),
        "the caller did not notice the close"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(),
        ["bad", "#!::r=live/good,m=publish"]
    );
}
