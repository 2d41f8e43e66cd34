//! WebSocket fan-out figures, not assertions: run with `bash scripts/bench-ws.sh`.
//! A control-plane process serves 1,000 idle sockets and 100 active ones; the active ones
//! receive a `layer:update` for each of a stream of layer changes. Prints the server's resident
//! memory before and after the sockets, and the change → event latency at the 100 clients.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use stream_manager_tests::nodes::free_port;
use stream_manager_tests::proc_stats::rss_kib;
use stream_manager_tests::services::{services, with_database};
use stream_manager_tests::test_app::{AUDIENCE, JWT_SECRET};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn token(tenant: &str) -> String {
    control_plane::auth::JwtKeys::new(JWT_SECRET.as_bytes(), AUDIENCE)
        .issue(tenant, Duration::from_secs(3600))
        .unwrap()
}

#[tokio::test]
#[ignore = "benchmark: run with scripts/bench-ws.sh"]
async fn bench_websockets() {
    let idle: usize = std::env::var("BENCH_IDLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let active: usize = std::env::var("BENCH_ACTIVE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let bin =
        std::env::var("CONTROL_PLANE_BIN").expect("CONTROL_PLANE_BIN names the binary to measure");
    let s = services().await;
    let db = format!("sm_wsbench_{}", std::process::id());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&s.database_url)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Server(
        Command::new(bin)
            .env("DATABASE_URL", with_database(&s.database_url, &db))
            .env("REDIS_URL", &s.redis_url)
            .env("AMQP_URL", &s.amqp_url)
            .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("JWT_SECRET", JWT_SECRET)
            .env("SM_NAMESPACE", format!("wsbench-{}.", std::process::id()))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    while http.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the control plane did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = server.0.id();
    let active_token = token("active");
    let layer: Value = http
        .post(format!("{base}/stream/layers"))
        .bearer_auth(&active_token)
        .json(&json!({"kind": "color", "source": {"color": "#000000"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let layer_id = layer["data"]["id"].as_str().unwrap().to_owned();
    let rss_before = rss_kib(pid);

    let ws = base.replacen("http", "ws", 1);
    let connect = |tenant: String| {
        let ws = ws.clone();
        async move {
            let mut req = format!("{ws}/stream/events").into_client_request().unwrap();
            req.headers_mut().insert(
                "authorization",
                format!("Bearer {}", token(&tenant)).parse().unwrap(),
            );
            tokio_tungstenite::connect_async(req).await.unwrap().0
        }
    };
    let mut idle_sockets = Vec::with_capacity(idle);
    for i in 0..idle {
        idle_sockets.push(connect(format!("idle-{}", i % 50)).await);
    }
    let mut readers = Vec::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    for _ in 0..active {
        let mut socket = connect("active".into()).await;
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            while let Some(Ok(msg)) = socket.next().await {
                if let Message::Text(t) = msg
                    && let Ok(v) = serde_json::from_str::<Value>(&t)
                    && let Some(seq) = v["data"]["changes"]["position"]["x"].as_u64()
                {
                    let _ = tx.send((seq, Instant::now()));
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_connected = rss_kib(pid);

    // 10 changes a second for 10 s; each event is matched to its change by position.x.
    let changes = 100u64;
    let mut sent = std::collections::HashMap::new();
    for seq in 1..=changes {
        let t = Instant::now();
        let r = http
            .patch(format!("{base}/stream/layers/{layer_id}"))
            .bearer_auth(&active_token)
            .json(&json!({"position": {"x": seq, "y": 0}}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        sent.insert(seq, (t, Instant::now()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(tx);
    // From the request (the write included), and from its answer (the fan-out alone: an
    // event that beat the answer counts as 0).
    let mut latencies = Vec::new();
    let mut fanout = Vec::new();
    while let Ok((seq, at)) = rx.try_recv() {
        if let Some((t, answered)) = sent.get(&seq) {
            latencies.push(at.duration_since(*t));
            fanout.push(at.saturating_duration_since(*answered));
        }
    }
    latencies.sort();
    fanout.sort();
    let delivered = latencies.len();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    let fanout_pct = |p: f64| fanout[((fanout.len() as f64 - 1.0) * p).round() as usize];
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    eprintln!("\n| figure | value |\n| --- | --- |");
    eprintln!(
        "| control plane RSS before sockets | {} MiB |",
        rss_before / 1024
    );
    eprintln!(
        "| RSS with {idle} idle + {active} active sockets | {} MiB |",
        rss_connected / 1024
    );
    eprintln!(
        "| memory per socket | {:.1} KiB |",
        (rss_connected.saturating_sub(rss_before)) as f64 / (idle + active) as f64
    );
    eprintln!(
        "| events delivered | {delivered} of {} |",
        changes as usize * active
    );
    eprintln!("| change -> event at the client, p50 | {} |", ms(pct(0.5)));
    eprintln!("| change -> event at the client, p99 | {} |", ms(pct(0.99)));
    eprintln!(
        "| change -> event at the client, max | {} |",
        ms(*latencies.last().unwrap())
    );
    eprintln!(
        "| PATCH answered -> event at the client (fan-out alone), p50 / p99 | {} / {} |",
        ms(fanout_pct(0.5)),
        ms(fanout_pct(0.99))
    );
    eprintln!(
        "FIGURE ws_rss_before={:.1} MiB\nFIGURE ws_rss_connected={:.1} MiB\nFIGURE ws_sockets={} sockets\nFIGURE ws_kib_per_socket={:.1} KiB\nFIGURE ws_delivered={delivered} events\nFIGURE ws_expected={} events\nFIGURE ws_event_p50={:.1} ms\nFIGURE ws_event_p99={:.1} ms",
        rss_before as f64 / 1024.0,
        rss_connected as f64 / 1024.0,
        idle + active,
        (rss_connected.saturating_sub(rss_before)) as f64 / (idle + active) as f64,
        changes as usize * active,
        pct(0.5).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0
    );
    eprintln!(
        "FIGURE ws_fanout_p50={:.1} ms\nFIGURE ws_fanout_p99={:.1} ms",
        fanout_pct(0.5).as_secs_f64() * 1000.0,
        fanout_pct(0.99).as_secs_f64() * 1000.0
    );
    for r in readers {
        r.abort();
    }
    drop(idle_sockets);
    drop(server);
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await;
}
