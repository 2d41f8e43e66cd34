//! Dispatch figures, not assertions: run with `bash scripts/bench-dispatch.sh`. Ignored in the
//! normal suite (timings on a shared two-core machine are noisy).
//!
//! Each start and change is timed stage by stage from the moment the request is sent: the
//! API's answer and the receiver's side are seen here; the node's stages come from its log
//! lines (their UTC timestamps, on the same clock).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use stream_manager_tests::nodes::{
    FirstBytes, NodeProcess, Probing, Receiver, node_gauge, spawn_node,
};
use stream_manager_tests::proc_stats::rss_kib;
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

/// The time a log line was written, from its `2026-12-01T15:54:13.920119Z` prefix.
fn logged_at(line: &str) -> Option<SystemTime> {
    let stamp = line.get(..27)?;
    let num = |r: std::ops::Range<usize>| stamp.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss, us) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..26)?);
    // Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let micros = ((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000 + us) as u64;
    Some(UNIX_EPOCH + Duration::from_micros(micros))
}

/// The first line of either node's log written after `since` that contains all of `needles`,
/// with the time it was written.
fn node_line(
    nodes: &[&NodeProcess],
    since: SystemTime,
    needles: &[&str],
) -> Option<(SystemTime, String)> {
    nodes
        .iter()
        .flat_map(|n| n.log_text().lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .filter_map(|l| Some((logged_at(&l)?, l)))
        .filter(|(t, _)| *t >= since)
        .min_by_key(|(t, _)| *t)
}

/// A `key=123` field of a log line.
fn field_ms(line: &str, key: &str) -> Option<u64> {
    let rest = line.split(&format!(" {key}=")).nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Named stage offsets, collected over runs.
#[derive(Default)]
struct Stages(Vec<(&'static str, Vec<Duration>)>);

impl Stages {
    fn add(&mut self, name: &'static str, d: Option<Duration>) {
        let Some(d) = d else { return };
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(d),
            None => self.0.push((name, vec![d])),
        }
    }

    /// Prints `FIGURE {name}_p50=… ms` and `{name}_p95`/`{name}_max` for one stage, for
    /// scripts/bench-report.sh.
    fn figure(&mut self, stage: &str, name: &str) {
        let Some((_, v)) = self.0.iter_mut().find(|(n, _)| *n == stage) else {
            return;
        };
        v.sort();
        let f = |d: Duration| d.as_secs_f64() * 1000.0;
        eprintln!(
            "FIGURE {name}_p50={:.0} ms\nFIGURE {name}_p95={:.0} ms\nFIGURE {name}_max={:.0} ms\nFIGURE {name}_runs={} runs",
            f(percentile(v, 0.5)),
            f(percentile(v, 0.95)),
            f(v[v.len() - 1]),
            v.len()
        );
    }

    fn print(&mut self, title: &str) {
        eprintln!("| {title} | p50 | p95 | runs |");
        for (name, v) in &mut self.0 {
            v.sort();
            eprintln!(
                "| {name} | {} | {} | {} |",
                ms(percentile(v, 0.5)),
                ms(percentile(v, 0.95)),
                v.len()
            );
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn since(t0: SystemTime, t: SystemTime) -> Option<Duration> {
    t.duration_since(t0).ok()
}

/// Starts the stream to a fresh receiver and times each stage until a frame is decoded.
async fn timed_start(app: &TestApp, nodes: &[&NodeProcess], probing: Probing, stages: &mut Stages) {
    let receiver = Receiver::start_with("bench", 640, 360, probing);
    let tap = FirstBytes::in_front_of(&receiver);
    app.patch("/stream/config", "acme", json!({"outputs": [tap.url]}))
        .await
        .expect(200);
    let (t0, wall0) = (Instant::now(), SystemTime::now());
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let answered = t0.elapsed();
    while receiver.bytes() == 0 && t0.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let decoded = t0.elapsed();
    let first_bytes = tap.at().map(|t| t - t0);
    let job = node_line(nodes, wall0, &["job taken"]);
    let started = node_line(nodes, wall0, &["fleet::worker", "stream started"]);
    let playing = node_line(nodes, wall0, &["render_node::engine", "stream started"]);
    let muxed = node_line(nodes, wall0, &["first muxed bytes"]);
    let label = match probing {
        Probing::LowDelay => {
            stages.add("API answered", Some(answered));
            stages.add(
                "node took the job (basic.get)",
                job.as_ref().and_then(|(t, _)| since(wall0, *t)),
            );
            if let (Some((t, _)), Some((_, line))) = (&job, &started) {
                let claim = field_ms(line, "claim_ms").map(Duration::from_millis);
                stages.add("lease claimed", claim.and_then(|c| since(wall0, *t + c)));
            }
            stages.add(
                "pipeline playing",
                playing.as_ref().and_then(|(t, _)| since(wall0, *t)),
            );
            stages.add(
                "first FLV bytes out of the muxer",
                muxed.as_ref().and_then(|(t, _)| since(wall0, *t)),
            );
            stages.add("first RTMP bytes at the receiver (TCP)", first_bytes);
            stages.add(
                "the receiver accepted the publish (ffmpeg -listen answers in 100 ms steps)",
                tap.accepted_at().map(|t| t - t0),
            );
            "first frame decoded (low-delay receiver)"
        }
        Probing::Defaults => "first frame decoded (ffmpeg's default probing)",
    };
    stages.add(label, Some(decoded));
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    wait_for(app, Duration::from_secs(10), |s| s["state"] == "idle").await;
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
    app.add_layer(json!({"kind": "color", "source": {"color": "#202020"}}))
        .await;
    let layer = app
        .add_layer(json!({"kind": "color", "source": {"color": "#FF0000"}, "size": {"width": 200, "height": 200}}))
        .await;
    let a = spawn_node(&app, "bench-a", 1);
    let b = spawn_node(&app, "bench-b", 1);
    let nodes = [&a, &b];
    // Idle means started and warmed up (the node runs a throwaway pipeline at start).
    let t0 = Instant::now();
    while !nodes
        .iter()
        .all(|n| n.log_text().contains("pipeline warmed up"))
        && t0.elapsed() < Duration::from_secs(15)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_kib(a.child.id()).max(rss_kib(b.child.id()));

    // Start -> first bytes and first decoded frame, over `runs` starts; then a few with
    // ffmpeg's default probing, to show the receiver's own share.
    let mut starts = Stages::default();
    for _ in 0..runs {
        timed_start(&app, &nodes, Probing::LowDelay, &mut starts).await;
    }
    for _ in 0..runs.div_ceil(4) {
        timed_start(&app, &nodes, Probing::Defaults, &mut starts).await;
    }

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
    let mut changes = Stages::default();
    for i in 0..20 {
        let (hex, rgb) = if i % 2 == 0 {
            ("#00FF00", [0, 255, 0])
        } else {
            ("#FF0000", [255, 0, 0])
        };
        let (t0, wall0) = (Instant::now(), SystemTime::now());
        crate::fleet::set_box_color(&app, &layer, hex).await;
        let answered = t0.elapsed();
        let visible = receiver
            .wait_for_pixel((100, 100), rgb, Duration::from_secs(10))
            .await
            .map(|_| t0.elapsed());
        let received = node_line(&nodes, wall0, &["update received"]);
        let applied = node_line(&nodes, wall0, &["update applied", "AtFrame"]);
        changes.add("API answered", Some(answered));
        changes.add(
            "node received the update (AMQP)",
            received.and_then(|(t, _)| since(wall0, t)),
        );
        changes.add(
            "node: the change is in a composed frame (waits for the next frame time)",
            applied.and_then(|(t, _)| since(wall0, t)),
        );
        changes.add("visible in a decoded frame (low-delay receiver)", visible);
        // Spread the next change over a frame period, so changes land at every phase of
        // the 33 ms frame clock rather than always just after a frame.
        tokio::time::sleep(Duration::from_millis(300 + (i * 13 % 33))).await;
    }
    let output_latency = holder_gauge(&app, "stream_output_latency_seconds")
        .await
        .map(|s| s * 1e3);

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

    eprintln!();
    starts.print(&format!(
        "start -> stage ({runs} starts; the node runs a debug build)"
    ));
    eprintln!();
    changes.print("layer change -> stage");
    eprintln!();
    eprintln!("| figure | value |\n| --- | --- |");
    eprintln!(
        "| node: composed frame -> its FLV tag out of the muxer | {} |",
        output_latency.map_or("?".into(), |v| format!("{v:.1} ms"))
    );
    eprintln!(
        "| failover after SIGKILL of the holder | {} |",
        failover.map_or("did not fail over".into(), ms)
    );
    eprintln!(
        "| render node RSS idle / holding one 640x360 stream | {:.1} / {:.1} MiB |",
        idle_rss as f64 / 1024.0,
        holder_rss as f64 / 1024.0
    );
    starts.figure(
        "first RTMP bytes at the receiver (TCP)",
        "dispatch_start_bytes",
    );
    starts.figure(
        "first frame decoded (low-delay receiver)",
        "dispatch_start_frame",
    );
    changes.figure(
        "visible in a decoded frame (low-delay receiver)",
        "dispatch_change",
    );
    match failover {
        Some(d) => eprintln!(
            "FIGURE dispatch_failover={:.0} ms",
            d.as_secs_f64() * 1000.0
        ),
        None => eprintln!("FIGURE dispatch_failover=none ms"),
    }
    eprintln!(
        "FIGURE node_rss_idle={:.1} MiB\nFIGURE node_rss_one_stream={:.1} MiB",
        idle_rss as f64 / 1024.0,
        holder_rss as f64 / 1024.0
    );
}

/// A gauge from the Prometheus page of the node holding the stream.
async fn holder_gauge(app: &TestApp, name: &str) -> Option<f64> {
    let holder = status(app).await["nodeId"].clone();
    let fleet = app.fleet().await;
    let node = fleet["data"]["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["nodeId"] == holder)?;
    node_gauge(node["httpAddr"].as_str()?, name).await
}
