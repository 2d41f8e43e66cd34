//! Service outages during a live stream: RabbitMQ, Redis and Postgres restarted one at a time.
//! They stop and start this machine's services, so they are ignored in the parallel suite and
//! run one by one by `scripts/test.sh` (`cargo nextest run --run-ignored only -E
//! 'test(fault_)' -j 1`). Each prints what the outage cost the stream: the longest gap
//! in the video at an RTMP receiver, and frames the node did not push into its encoder.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stream_manager_tests::nodes::{NodeProcess, spawn_node};
use stream_manager_tests::packet_log::PacketLog;
use stream_manager_tests::{TestApp, spawn_app_with_private_urls};

/// Runs a shell command without blocking the runtime: the control plane under test shares
/// it, and must keep answering its render node while services restart.
async fn run(cmd: &str) {
    let ok = tokio::process::Command::new("bash")
        .args(["-c", cmd])
        .status()
        .await
        .is_ok_and(|s| s.success());
    assert!(ok, "`{cmd}` failed");
}

async fn status(app: &TestApp) -> Option<Value> {
    let resp = app
        .client
        .get(format!("{}/stream/status", app.base))
        .bearer_auth(app.token("acme"))
        .send()
        .await
        .ok()?;
    resp.json::<Value>().await.ok().map(|b| b["data"].clone())
}

/// A live stream on one node sent to a packet-logging receiver, with its box layer id.
async fn live_stream(app: &TestApp) -> (NodeProcess, String, PacketLog) {
    let receiver = PacketLog::start("fault");
    app.set_test_output("320x180", "400k", &[&receiver.url])
        .await;
    let layer = app
        .add_layer(json!({"kind": "color", "source": {"color": "#FF0000"}}))
        .await;
    app.add_layer(json!({"kind": "text", "source": {"text": "on air"}}))
        .await;
    app.post("/stream/keys", "acme", json!({"name": "camera"}))
        .await
        .expect(201);
    let node = spawn_node(app, "fault-node", 1);
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let t0 = Instant::now();
    while status(app).await.is_none_or(|s| s["state"] != "live") {
        assert!(t0.elapsed() < Duration::from_secs(20), "never went live");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while receiver.count() == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "nothing reached the receiver"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (node, layer, receiver)
}

/// Everything the tenant set up, as the API shows it: config, layers, scenes and keys.
async fn setup(app: &TestApp) -> Value {
    let mut all = serde_json::Map::new();
    for part in ["config", "layers", "scenes", "keys"] {
        let answer = app.get(&format!("/stream/{part}"), "acme").await;
        answer.expect(200);
        all.insert(part.into(), answer.data().clone());
    }
    Value::Object(all)
}

/// Frames rendered so far, from the node's Prometheus endpoint (independent of Redis).
async fn frames(app: &TestApp, node_http: &str) -> f64 {
    let text = app
        .text(
            &format!("http://{node_http}/metrics"),
            Some(stream_manager_tests::nodes::METRICS_TOKEN),
        )
        .await;
    text.lines()
        .find(|l| l.starts_with("stream_frames_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The frame counter the moment the node publishes a new figure, and that moment: two such
/// readings compare counts taken at the same point of the node's once-a-second report.
async fn fresh_frames(app: &TestApp, node_http: &str) -> (f64, Instant) {
    let stale = frames(app, node_http).await;
    let t0 = Instant::now();
    loop {
        let now = frames(app, node_http).await;
        if now != stale || t0.elapsed() > Duration::from_secs(3) {
            return (now, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn node_http(app: &TestApp) -> String {
    app.fleet().await["data"]["nodes"][0]["httpAddr"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// What an outage cost the stream.
struct Downtime {
    /// Frames the node did not push into its encoder, against the clock.
    render: Duration,
    /// The longest stretch without a video packet at the receiver.
    output_gap: Duration,
}

impl Downtime {
    /// Prints the figures for `scripts/bench-report.sh` as `FIGURE fault_{name}_…` lines.
    fn print_figures(&self, name: &str) {
        eprintln!(
            "FIGURE fault_{name}_output_gap={:.0} ms",
            self.output_gap.as_secs_f64() * 1000.0
        );
        eprintln!(
            "FIGURE fault_{name}_render_stall={:.0} ms",
            self.render.as_secs_f64() * 1000.0
        );
    }
}

impl std::fmt::Display for Downtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "longest gap in the received video {:.0} ms, render stall {:.0} ms",
            self.output_gap.as_secs_f64() * 1000.0,
            self.render.as_secs_f64() * 1000.0
        )
    }
}

/// Asserts frames kept coming through an outage of `outage`, at the node and at the
/// receiver, and reports what it cost.
async fn through_outage(
    app: &TestApp,
    node: &NodeProcess,
    receiver: &PacketLog,
    http: &str,
    outage: impl AsyncFnOnce(),
) -> Downtime {
    // The node publishes its frame counter once a second: wait for the first figure.
    let t0 = Instant::now();
    while frames(app, http).await == 0.0 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no frame count from the node:\n{}",
            node.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (before, t0) = fresh_frames(app, http).await;
    let from_packet = receiver.count();
    outage().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (after, t1) = fresh_frames(app, http).await;
    let elapsed = t1.duration_since(t0).as_secs_f64();
    let expected = elapsed * 30.0;
    let rendered = after - before;
    let render = Duration::from_secs_f64(((expected - rendered) / 30.0).max(0.0));
    assert!(
        rendered > expected * 0.8,
        "rendered {rendered} frames in {elapsed:.1}s: the stream stalled\n{}",
        node.log_text()
    );
    let output_gap = receiver.longest_video_gap(from_packet);
    assert!(
        output_gap < Duration::from_secs(2),
        "the receiver got no video for {output_gap:?}\n{}",
        node.log_text()
    );
    Downtime { render, output_gap }
}

#[tokio::test]
#[ignore = "restarts RabbitMQ: run alone (scripts/test.sh)"]
async fn fault_broker_restart_keeps_the_stream_and_applies_commands_issued_meanwhile() {
    let app = spawn_app_with_private_urls(true).await;
    let (node, layer, receiver) = live_stream(&app).await;
    let http = node_http(&app).await;
    let version_before = status(&app).await.unwrap()["version"].as_i64().unwrap();
    let before = setup(&app).await;
    let mut patched_version = 0;
    let downtime = through_outage(&app, &node, &receiver, &http, async || {
        run("rabbitmqctl -q stop_app").await;
        // A change while the broker is away waits in the outbox.
        let r = app
            .patch(
                &format!("/stream/layers/{layer}"),
                "acme",
                json!({"opacity": 0.5}),
            )
            .await;
        r.expect(200);
        patched_version = version_before + 1;
        tokio::time::sleep(Duration::from_secs(2)).await;
        run("rabbitmqctl -q start_app").await;
    })
    .await;
    // The command reaches the node once the broker is back (or by catch-up on renewal).
    let t0 = Instant::now();
    node.wait_for_update(
        patched_version,
        Duration::from_secs(30),
        "the change never reached the node",
    )
    .await;
    let s = status(&app).await.unwrap();
    assert_eq!(s["nodeId"], node.id.as_str(), "the stream moved: {s}");
    // Nothing lost or doubled: the one change made meanwhile is there, once.
    let after = setup(&app).await;
    for part in ["config", "scenes", "keys"] {
        assert_eq!(after[part], before[part], "{part} changed");
    }
    let ids = |v: &Value| -> Vec<Value> {
        v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].clone())
            .collect()
    };
    assert_eq!(ids(&after["layers"]), ids(&before["layers"]));
    let patched = after["layers"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == layer.as_str())
        .unwrap();
    assert_eq!(patched["opacity"], 0.5);
    eprintln!(
        "| RabbitMQ restart | {downtime}; change on the node {:?} after the broker was back (lease renewal catches up even while it is away) |",
        t0.elapsed()
    );
    downtime.print_figures("rabbitmq");
}

#[tokio::test]
#[ignore = "restarts Redis: run alone (scripts/test.sh)"]
async fn fault_redis_restart_keeps_the_stream_and_loses_no_configuration() {
    let app = spawn_app_with_private_urls(true).await;
    let (node, _layer, receiver) = live_stream(&app).await;
    let http = node_http(&app).await;
    let before = setup(&app).await;
    let downtime = through_outage(&app, &node, &receiver, &http, async || {
        run("redis-cli shutdown nosave || true").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        run("mkdir -p /var/lib/redis /var/log/redis && redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log").await;
    })
    .await;
    let t0 = Instant::now();
    while status(&app).await.is_none_or(|s| s["state"] != "live") {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "status never came back to live"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(setup(&app).await, before, "the setup changed");
    assert_eq!(status(&app).await.unwrap()["nodeId"], node.id.as_str());
    eprintln!(
        "| Redis restart | {downtime}; live status back {:?} after Redis returned |",
        t0.elapsed()
    );
    downtime.print_figures("redis");
}

#[tokio::test]
#[ignore = "restarts Postgres: run alone (scripts/test.sh)"]
async fn fault_postgres_restart_keeps_the_stream_on_its_node() {
    let app = spawn_app_with_private_urls(true).await;
    let (node, _layer, receiver) = live_stream(&app).await;
    let http = node_http(&app).await;
    let before = setup(&app).await;
    let downtime = through_outage(&app, &node, &receiver, &http, async || {
        // Down for a few seconds: longer than a lease, so leases lapse meanwhile.
        let pg = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main";
        run(&format!("{pg} stop")).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        run(&format!("{pg} start")).await;
    })
    .await;
    let t0 = Instant::now();
    while status(&app).await.is_none_or(|s| s["state"] != "live") {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "status never came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let s = status(&app).await.unwrap();
    assert_eq!(
        s["nodeId"],
        node.id.as_str(),
        "the stream moved or was fenced: {s}"
    );
    assert_eq!(s["state"], "live");
    assert!(
        !node.log_text().contains("stopping"),
        "the node stopped its stream:\n{}",
        node.log_text()
    );
    assert_eq!(setup(&app).await, before, "the setup changed");
    eprintln!("| Postgres down for 4 s | {downtime}; stream kept its node |");
    downtime.print_figures("postgres");
}

#[tokio::test]
#[ignore = "stops RabbitMQ: run alone (scripts/test.sh)"]
async fn fault_a_start_while_the_broker_is_down_runs_once_it_returns() {
    let app = spawn_app_with_private_urls(true).await;
    app.patch(
        "/stream/config",
        "acme",
        json!({"STREAM_RESOLUTION": "320x180", "RENDER_QUALITY": 1}),
    )
    .await
    .expect(200);
    app.add_layer(json!({"kind": "color", "source": {"color": "#FF0000"}}))
        .await;
    let node = spawn_node(&app, "fault-node", 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    run("rabbitmqctl -q stop_app").await;
    // The start is recorded (its job waits in the outbox) and answers at once.
    let started = app.post("/stream/start", "acme", json!({})).await;
    started.expect(200);
    assert_eq!(started.data()["state"], "queued");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(status(&app).await.unwrap()["state"], "queued");
    run("rabbitmqctl -q start_app").await;
    let t0 = Instant::now();
    while status(&app).await.is_none_or(|s| s["state"] != "live") {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the start never ran:\n{}",
            node.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "| start issued while RabbitMQ was down | live {:?} after the broker returned |",
        t0.elapsed()
    );
    eprintln!(
        "FIGURE fault_start_while_broker_down_live_after={:.0} ms",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
}
