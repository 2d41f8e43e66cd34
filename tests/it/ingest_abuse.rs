//! RTMP ingest against encoders that are not what they claim: keys kept out of logs even
//! when everything logs at debug, connections that never publish, floods from one address.

use std::time::{Duration, Instant};

use serde_json::json;
use stream_manager_tests::nodes::{Encoder, spawn_node_with_env};
use stream_manager_tests::spawn_app_with_private_urls;

#[tokio::test]
async fn a_stream_key_stays_out_of_the_nodes_log_with_every_library_at_debug() {
    let app = spawn_app_with_private_urls(true).await;
    let key = app.post("/stream/keys", "acme", json!({})).await;
    key.expect(201);
    let value = key.data()["key"].as_str().unwrap().to_owned();
    // Every target at debug: the RTMP library's own lines (unknown commands such as
    // ffmpeg's releaseStream/FCPublish, which carry the key) included.
    let node = spawn_node_with_env(&app, "node-a", 1, &[("RUST_LOG", "debug")]);
    // An encoder that finds the port closed gives up at once: publish once the node listens.
    node.wait_ingest_listening().await;
    let encoder = Encoder::publish(&node.ingest_url(&value), "0x00FF00", "320x180");
    node.wait_for_log(
        "encoder publishing",
        Duration::from_secs(30),
        "the encoder never published",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(encoder);
    let log = node.log_text();
    let secret = value.trim_start_matches("sk_");
    assert!(
        !log.contains(&secret[..secret.len().min(12)]),
        "a stream key reached the node's log"
    );
}

/// Connects to `addr` from `source` (any of 127/8 on Linux).
async fn connect_from(source: &str, addr: &str) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().unwrap())?;
    socket.connect(addr.parse().unwrap()).await
}

/// An RTMP handshake as an encoder starts it (C0+C1, then S0+S1+S2 back); how long it took.
async fn handshake(source: &str, addr: &str) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t0 = Instant::now();
    let mut conn = connect_from(source, addr).await.unwrap();
    let mut c0c1 = vec![0u8; 1537];
    c0c1[0] = 3;
    conn.write_all(&c0c1).await.unwrap();
    let mut s0s1s2 = vec![0u8; 1 + 1536 * 2];
    tokio::time::timeout(Duration::from_secs(30), conn.read_exact(&mut s0s1s2))
        .await
        .expect("no handshake answer within 30 s")
        .unwrap();
    assert_eq!(s0s1s2[0], 3);
    t0.elapsed()
}

#[tokio::test]
async fn idle_connections_from_one_address_neither_hold_the_ingest_nor_stay_open() {
    let app = spawn_app_with_private_urls(true).await;
    let node = spawn_node_with_env(&app, "node-a", 1, &[]);
    let addr = node.wait_ingest_listening().await;
    // 700 connections from one address that shake hands, then trickle a never-ending
    // message (one byte every 500 ms keeps the library's read timeout from firing) and
    // never publish.
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut idle = Vec::new();
    for _ in 0..700 {
        let (addr, closed) = (addr.clone(), closed.clone());
        idle.push(tokio::spawn(async move {
            trickle("127.0.0.1", &addr).await;
            closed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // An encoder elsewhere starts its handshake: it is served at once.
    let took = handshake("127.0.0.2", &addr).await;
    eprintln!(
        "FIGURE ingest_handshake_with_700_idle_connections={:.1} ms",
        took.as_secs_f64() * 1e3
    );
    assert!(
        took < Duration::from_secs(2),
        "the handshake waited {took:?} behind idle connections"
    );
    // Every idle connection is closed: beyond the per-address cap at once, the rest once
    // the publish deadline (3 s) passes without a publish.
    let t0 = Instant::now();
    while closed.load(std::sync::atomic::Ordering::SeqCst) < 700
        && t0.elapsed() < Duration::from_secs(8)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let open = 700 - closed.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(open, 0, "{open} idle connections still open after 8 s");
    for t in idle {
        t.abort();
    }
}

/// A client that completes the handshake, starts a large command message and sends it one
/// byte every 500 ms; returns when the server closes the connection.
async fn trickle(source: &str, addr: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut conn) = connect_from(source, addr).await else {
        return;
    };
    let mut c0c1 = vec![0u8; 1537];
    c0c1[0] = 3;
    if conn.write_all(&c0c1).await.is_err() {
        return;
    }
    let mut s0s1s2 = vec![0u8; 1 + 1536 * 2];
    if conn.read_exact(&mut s0s1s2).await.is_err() {
        return;
    }
    // C2 echoes S1.
    if conn.write_all(&s0s1s2[1..1537]).await.is_err() {
        return;
    }
    // Chunk stream 3, type 0 header: timestamp 0, a 100000-byte AMF0 command on stream 0.
    let header = [3u8, 0, 0, 0, 0x01, 0x86, 0xA0, 20, 0, 0, 0, 0];
    if conn.write_all(&header).await.is_err() {
        return;
    }
    let mut buf = [0u8; 256];
    loop {
        tokio::select! {
            r = conn.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { return },
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if conn.write_all(&[0]).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[tokio::test]
async fn key_guesses_from_one_address_are_checked_a_few_times_then_refused_without_asking() {
    let app = spawn_app_with_private_urls(true).await;
    let node = spawn_node_with_env(&app, "node-a", 1, &[]);
    // Ten guesses at once, then the first guess again.
    let mut guesses: Vec<Encoder> = (0..10)
        .map(|i| {
            Encoder::publish(
                &node.ingest_url(&format!("sk_guess{i:02}")),
                "0xFF00FF",
                "160x90",
            )
        })
        .collect();
    for g in &mut guesses {
        assert!(
            g.wait_exit(Duration::from_secs(30)).await.is_some(),
            "a guessed key was not refused"
        );
    }
    let mut again = Encoder::publish(&node.ingest_url("sk_guess00"), "0xFF00FF", "160x90");
    assert!(again.wait_exit(Duration::from_secs(30)).await.is_some());
    let log = node.log_text();
    // Each check the control plane answered is one info line; the rest were decided by the
    // node alone and logged at debug.
    let asked = log.matches("reason=unknown or deleted stream key").count();
    let quiet = log
        .matches("reason=too many key checks from this address")
        .count()
        + log
            .matches("reason=stream key refused a moment ago")
            .count();
    eprintln!("| 11 guesses from one address -> checks asked | {asked} (burst 5) |");
    assert!((1..=7).contains(&asked), "{asked} checks asked:\n{log}");
    assert_eq!(asked + quiet, 11, "{log}");
}

/// A process's resident memory in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap()
        * 1024
}

#[tokio::test]
async fn large_messages_before_a_publish_are_not_buffered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with_private_urls(true).await;
    let node = spawn_node_with_env(&app, "node-a", 1, &[]);
    let addr = node.wait_ingest_listening().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss(node.child.id());
    // Sixteen clients, each starting a 9 MB command message in one chunk stream after
    // raising the chunk size, and sending 8 MB of it without ever publishing (the library
    // buffers up to 10 MiB of a message on each of 4 chunk streams).
    let mut clients = Vec::new();
    for _ in 0..16 {
        let addr = addr.clone();
        clients.push(tokio::spawn(async move {
            let mut conn = connect_from("127.0.0.1", &addr).await.unwrap();
            let mut c0c1 = vec![0u8; 1537];
            c0c1[0] = 3;
            conn.write_all(&c0c1).await.unwrap();
            let mut s0s1s2 = vec![0u8; 1 + 1536 * 2];
            conn.read_exact(&mut s0s1s2).await.unwrap();
            conn.write_all(&s0s1s2[1..1537]).await.unwrap();
            // Set Chunk Size (type 1) to 64 KiB, the library's largest, on chunk stream 2.
            let set_chunk = [2u8, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x00, 0x01, 0x00, 0x00];
            if conn.write_all(&set_chunk).await.is_err() {
                return 0usize;
            }
            // A 9 MB AMF0 command (type 20) on chunk stream 3.
            let len: u32 = 9_000_000;
            let l = len.to_be_bytes();
            let header = [3u8, 0, 0, 0, l[1], l[2], l[3], 20, 0, 0, 0, 0];
            if conn.write_all(&header).await.is_err() {
                return 0;
            }
            // 64 KiB chunks, each after the first behind a type 3 header (0xC3).
            let mut chunk = vec![0u8; 64 * 1024 + 1];
            chunk[64 * 1024] = 0xC3;
            let mut sent = 0;
            while sent < 8_000_000 {
                if conn.write_all(&chunk).await.is_err() {
                    return sent;
                }
                sent += chunk.len();
            }
            // Hold the connection open a little while the node would be buffering.
            tokio::time::sleep(Duration::from_secs(1)).await;
            sent
        }));
    }
    // The node's peak while the clients send and hold.
    let pid = node.child.id();
    let mut peak = before;
    while !clients.iter().all(|c| c.is_finished()) {
        peak = peak.max(rss(pid));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut sent = Vec::new();
    for c in clients {
        sent.push(c.await.unwrap());
    }
    let grew = peak.saturating_sub(before);
    eprintln!(
        "FIGURE ingest_rss_growth_16_pre_publish_8mb_messages={:.1} MB",
        grew as f64 / 1e6
    );
    assert!(
        sent.iter().all(|s| *s < 8_000_000),
        "the node read whole messages before a publish: {sent:?}"
    );
    assert!(grew < 64_000_000, "the node grew by {grew} bytes");
}
