//! Dispatch figures, not assertions: run with `bash scripts/bench-dispatch.sh`. Ignored in the
//! normal suite (timings on a shared two-core machine are noisy).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stream_manager_tests::nodes::{Receiver, pixel, spawn_node};
use stream_manager_tests::processes::rss_kib;
use stream_manager_tests::{TestApp, spawn_app_with_private_urls};

async fn status(app: &TestApp) -> Value {
    app.get("/stream/status", "acme").await.data().clone()
}

async fn wait_for(
    app: &TestApp,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if pred(&status(app).await) {
            return Some(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The newest complete frame the receiver decoded.
fn last_frame(r: &Receiver) -> Option<Vec<u8>> {
    let size = (r.width * r.height * 3) as u64;
    let raw = std::fs::read(&r.file).ok()?;
    let n = raw.len() as u64 / size;
    (n > 0).then(|| raw[((n - 1) * size) as usize..(n * size) as usize].to_vec())
}

#[tokio::test]
#[ignore = "benchmark: run with scripts/bench-dispatch.sh"]
async fn bench_dispatch() {
    let runs: usize = std::env::var("BENCH_STARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let app = spawn_app_with_private_urls(true).await;
    app.patch(
        "/stream/config",
        "acme",
        json!({"STREAM_RESOLUTION": "640x360", "TARGET_FPS": 30, "STREAM_BITRATE": "1000k", "RENDER_QUALITY": 1}),
    )
    .await
    .expect(200);
    app.post(
        "/stream/layers",
        "acme",
        json!({"kind": "color", "source": {"color": "#202020"}}),
    )
    .await
    .expect(201);
    let layer = app
        .post("/stream/layers", "acme", json!({"kind": "color", "source": {"color": "#FF0000"}, "size": {"width": 200, "height": 200}}))
        .await;
    let layer = layer.data()["id"].as_str().unwrap().to_owned();
    let a = spawn_node(&app, "bench-a", 1);
    let b = spawn_node(&app, "bench-b", 1);
    // Idle means started and warmed up (the node runs a throwaway pipeline at start).
    let t0 = Instant::now();
    while ![&a, &b]
        .iter()
        .all(|n| n.log_text().contains("pipeline warmed up"))
        && t0.elapsed() < Duration::from_secs(15)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_kib(a.child.id()).max(rss_kib(b.child.id()));

    // Start -> first bytes at the receiver, over `runs` starts.
    let mut starts = Vec::new();
    for _ in 0..runs {
        let receiver = Receiver::start("bench", 640, 360);
        app.patch("/stream/config", "acme", json!({"outputs": [receiver.url]}))
            .await
            .expect(200);
        let t0 = Instant::now();
        app.post("/stream/start", "acme", json!({}))
            .await
            .expect(200);
        while receiver.bytes() == 0 && t0.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        starts.push(t0.elapsed());
        app.post("/stream/stop", "acme", json!({}))
            .await
            .expect(200);
        wait_for(&app, Duration::from_secs(10), |s| s["state"] == "idle").await;
        drop(receiver);
    }
    starts.sort();

    // Change -> visible at the receiver (decoded), end to end on loopback.
    let receiver = Receiver::start("bench", 640, 360);
    app.patch("/stream/config", "acme", json!({"outputs": [receiver.url]}))
        .await
        .expect(200);
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    while receiver.bytes() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut changes = Vec::new();
    for i in 0..10 {
        let (hex, want_green) = if i % 2 == 0 {
            ("#00FF00", true)
        } else {
            ("#FF0000", false)
        };
        let t0 = Instant::now();
        app.patch(
            &format!("/stream/layers/{layer}"),
            "acme",
            json!({"source": {"color": hex}}),
        )
        .await
        .expect(200);
        loop {
            if let Some(f) = last_frame(&receiver) {
                let p = pixel(&f, 640, 100, 100);
                if (want_green && p[1] > 180 && p[0] < 80)
                    || (!want_green && p[0] > 180 && p[1] < 80)
                {
                    break;
                }
            }
            if t0.elapsed() > Duration::from_secs(10) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        changes.push(t0.elapsed());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    changes.sort();

    // Failover: SIGKILL the holder, time until the other node is live.
    let holder = status(&app).await["nodeId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (victim, survivor) = if holder == a.id { (&a, &b) } else { (&b, &a) };
    let holder_rss = rss_kib(victim.child.id());
    let t0 = Instant::now();
    victim.signal("KILL");
    let id = survivor.id.clone();
    let failover = wait_for(&app, Duration::from_secs(20), |s| {
        s["nodeId"] == id.as_str() && s["state"] == "live"
    })
    .await;
    let failover = failover.map(|_| t0.elapsed());
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);

    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    eprintln!("\n| figure | value |\n| --- | --- |");
    eprintln!(
        "| start -> first decoded bytes at the receiver, p50 ({runs} starts) | {} |",
        ms(percentile(&starts, 0.5))
    );
    eprintln!(
        "| start -> first decoded bytes at the receiver, p95 | {} |",
        ms(percentile(&starts, 0.95))
    );
    eprintln!(
        "| layer change -> visible in decoded output, p50 (10 changes) | {} |",
        ms(percentile(&changes, 0.5))
    );
    eprintln!(
        "| layer change -> visible in decoded output, max | {} |",
        ms(*changes.last().unwrap())
    );
    eprintln!(
        "| failover after SIGKILL of the holder | {} |",
        failover.map_or("did not fail over".into(), ms)
    );
    eprintln!(
        "| render node RSS idle / holding one 640x360 stream | {} / {} MiB |",
        idle_rss / 1024,
        holder_rss / 1024
    );
    let f = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "FIGURE dispatch_start_p50={:.0} ms\nFIGURE dispatch_start_p95={:.0} ms\nFIGURE dispatch_starts={runs} starts\nFIGURE dispatch_change_p50={:.0} ms\nFIGURE dispatch_change_max={:.0} ms",
        f(percentile(&starts, 0.5)),
        f(percentile(&starts, 0.95)),
        f(percentile(&changes, 0.5)),
        f(*changes.last().unwrap())
    );
    match failover {
        Some(d) => eprintln!("FIGURE dispatch_failover={:.0} ms", f(d)),
        None => eprintln!("FIGURE dispatch_failover=none ms"),
    }
    eprintln!(
        "FIGURE node_rss_idle={:.1} MiB\nFIGURE node_rss_one_stream={:.1} MiB",
        idle_rss as f64 / 1024.0,
        holder_rss as f64 / 1024.0
    );
    app.cleanup_broker().await;
}
