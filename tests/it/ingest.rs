//! RTMP ingest end to end: ffmpeg publishes a coloured test pattern with a stream key to a
//! real render node, and the composed output, decoded at a real RTMP receiver, shows it in
//! the ingest layer's box.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::Digest;
use stream_manager_tests::nodes::{
    Encoder, NodeProcess, Receiver, pixel, spawn_node, spawn_node_with_env,
};
use stream_manager_tests::ws::{Socket, connect, next_of};
use stream_manager_tests::{TestApp, spawn_app_with_private_urls};

pub(crate) const W: u32 = 320;
pub(crate) const H: u32 = 180;
/// A point inside the ingest layer's box (the right half, top), and one outside it.
pub(crate) const IN_BOX: (u32, u32) = (280, 70);
pub(crate) const OUTSIDE: (u32, u32) = (40, 150);

/// A stream on navy with an ingest layer of a new key in its top-right quarter; returns the
/// key's id and value.
pub(crate) async fn ingest_stream(app: &TestApp, receiver: &Receiver) -> (String, String) {
    app.set_test_output(&format!("{W}x{H}"), "600k", &[&receiver.url])
        .await;
    app.add_layer(json!({"kind": "color", "source": {"color": "#000080"}}))
        .await;
    let key = app.post("/stream/keys", "acme", json!({})).await;
    key.expect(201);
    let (id, value) = (
        key.data()["id"].as_str().unwrap().to_owned(),
        key.data()["key"].as_str().unwrap().to_owned(),
    );
    assert!(
        key.data()["ingestUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with("rtmp://")),
        "{:?}",
        key.body
    );
    app.add_layer(json!({"kind": "ingest", "source": {"keyId": id},
                         "position": {"x": W / 2, "y": 0}, "size": {"width": W / 2, "height": H / 2}}))
        .await;
    (id, value)
}

/// An ingest stream live on a new node (started with `env`) with the events socket open and
/// the slate in the ingest box: where every ingest test starts before a feed arrives.
pub(crate) struct SlateOnAir {
    pub app: TestApp,
    pub receiver: Receiver,
    pub key_id: String,
    pub key: String,
    pub node: NodeProcess,
    pub ws: Socket,
}

pub(crate) async fn slate_on_air(name: &str, env: &[(&str, &str)]) -> SlateOnAir {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start_with_audio(name, W, H);
    let (key_id, key) = ingest_stream(&app, &receiver).await;
    let node = spawn_node_with_env(&app, "node-a", 1, env);
    let ws = connect(&app, "/stream/events", "acme", false)
        .await
        .unwrap();
    start_live(&app).await;
    wait_slate(&receiver, Duration::from_secs(15)).await;
    SlateOnAir {
        app,
        receiver,
        key_id,
        key,
        node,
        ws,
    }
}

pub(crate) async fn start_live(app: &TestApp) -> Value {
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = app.get("/stream/status", "acme").await.data().clone();
        if s["state"] == "live" || Instant::now() > deadline {
            assert_eq!(s["state"], "live", "never went live: {s}");
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the receiver's newest frame satisfies `pred` at `at`; how long it took.
pub(crate) async fn wait_pixel(
    receiver: &Receiver,
    at: (u32, u32),
    timeout: Duration,
    what: &str,
    pred: impl Fn([u8; 3]) -> bool,
) -> Duration {
    match receiver.wait_until_pixel(at, timeout, pred).await {
        Some(took) => took,
        None => {
            let last = receiver.latest_frame().map(|f| pixel(&f, W, at.0, at.1));
            panic!("{what}: pixel at {at:?} is {last:?} after {timeout:?}")
        }
    }
}

pub(crate) fn is_green(p: [u8; 3]) -> bool {
    p[1] > 180 && p[0] < 80 && p[2] < 80
}

pub(crate) fn is_red(p: [u8; 3]) -> bool {
    p[0] > 180 && p[1] < 80 && p[2] < 80
}

pub(crate) fn is_navy(p: [u8; 3]) -> bool {
    p[2] > 90 && p[0] < 50 && p[1] < 50
}

/// Waits up to `timeout` for the slate in the ingest box; how long it took.
pub(crate) async fn wait_slate(receiver: &Receiver, timeout: Duration) -> Duration {
    wait_pixel(receiver, IN_BOX, timeout, "slate", is_slate).await
}

/// The slate: dark grey-blue.
pub(crate) fn is_slate(p: [u8; 3]) -> bool {
    p.iter().all(|c| (15..70).contains(c)) && p[2] >= p[0]
}

pub(crate) async fn key_list(app: &TestApp) -> Value {
    app.get("/stream/keys", "acme").await.data()["keys"][0].clone()
}

async fn redis_has(app: &TestApp, key: &str) -> bool {
    let client = redis::Client::open(app.services.redis_url.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("EXISTS")
        .arg(key)
        .query_async::<i64>(&mut c)
        .await
        .unwrap()
        == 1
}

fn published_on(node: &NodeProcess, key: &str) -> String {
    node.ingest_url(key)
}

#[tokio::test]
async fn a_published_feed_is_composited_with_its_audio_comes_back_after_a_drop_and_is_cut_when_its_key_is_deleted()
 {
    // No feed yet: the box shows the slate, the rest of the stream goes on.
    let SlateOnAir {
        app,
        receiver,
        key_id,
        key,
        node,
        mut ws,
    } = slate_on_air("ingest", &[]).await;
    wait_pixel(&receiver, OUTSIDE, Duration::from_secs(1), "navy", is_navy).await;
    assert!(receiver.audio_rms(1.0) < 200.0, "silence before the feed");

    // A wrong key is refused at connect.
    let mut wrong = Encoder::publish(&published_on(&node, "sk_wrong"), "0xFF00FF", "320x240");
    assert!(
        wrong.wait_exit(Duration::from_secs(10)).await.is_some(),
        "a publish with an unknown key was not refused"
    );
    assert!(
        node.log_text().contains("unknown or deleted stream key"),
        "refused for another reason: {}",
        node.log_text()
    );

    // An encoder publishes green: it shows inside the box, with its tone in the output.
    let mut green = Encoder::publish(&published_on(&node, &key), "0x00FF00", "640x480");
    let took = wait_pixel(&receiver, IN_BOX, Duration::from_secs(15), "feed", is_green).await;
    eprintln!("| publish -> feed visible in the decoded output | {took:?} |");
    wait_pixel(&receiver, OUTSIDE, Duration::from_secs(1), "navy", is_navy).await;
    let connected = next_of(&mut ws, "ingest:connected", Duration::from_secs(5))
        .await
        .expect("ingest:connected");
    assert_eq!(connected["data"]["keyId"], key_id.as_str(), "{connected}");
    assert_eq!(connected["data"]["nodeId"], "node-a");
    let listed = key_list(&app).await;
    assert!(listed["lastUsed"].is_number(), "lastUsed not set: {listed}");
    assert_eq!(listed["publishing"], true, "{listed}");
    let hash = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    let cache_key = format!("{}sm:streamkey:{hash}", app.namespace);
    assert!(redis_has(&app, &cache_key).await, "key not cached");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rms = receiver.audio_rms(1.0);
    eprintln!("| feed audio RMS in the output (silence: 0) | {rms:.0} |");
    assert!(rms > 500.0, "the feed's audio is not in the output: {rms}");

    // The encoder drops: the box falls back to the slate while the stream goes on.
    drop(green);
    let before = receiver.bytes();
    let took = wait_slate(&receiver, Duration::from_secs(10)).await;
    eprintln!("| encoder gone -> slate | {took:?} |");
    assert!(
        receiver.bytes() > before,
        "the output stalled with its feed"
    );
    let gone = next_of(&mut ws, "ingest:disconnected", Duration::from_secs(5))
        .await
        .expect("ingest:disconnected");
    assert_eq!(gone["data"]["keyId"], key_id.as_str(), "{gone}");

    // It reconnects (now red): the feed comes back by itself.
    green = Encoder::publish(&published_on(&node, &key), "0xFF0000", "320x180");
    let took = wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(15),
        "feed back",
        is_red,
    )
    .await;
    eprintln!("| encoder back -> feed visible again | {took:?} |");

    // Deleting the key cuts the publisher, drops the cached key, and refuses it from then on.
    let t0 = Instant::now();
    app.delete(&format!("/stream/keys/{key_id}"), "acme")
        .await
        .expect(200);
    let cut = green.wait_exit(Duration::from_secs(10)).await;
    eprintln!("| key deleted -> publisher disconnected | {cut:?} (target 2 s) |");
    assert!(
        cut.is_some_and(|_| t0.elapsed() < Duration::from_secs(3)),
        "publisher not cut: {cut:?}"
    );
    assert!(
        !redis_has(&app, &cache_key).await,
        "deleted key still cached"
    );
    let mut again = Encoder::publish(&published_on(&node, &key), "0x00FF00", "320x180");
    assert!(
        again.wait_exit(Duration::from_secs(10)).await.is_some(),
        "a deleted key was accepted"
    );
    wait_slate(&receiver, Duration::from_secs(10)).await;
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    drop(node);
}

#[tokio::test]
async fn a_feed_published_to_one_node_is_relayed_to_the_node_running_the_stream() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start("relay", W, H);
    let (_key_id, key) = ingest_stream(&app, &receiver).await;
    // The stream can only run on node-b; node-a (no capacity) only takes the publish.
    let ingest_only = spawn_node(&app, "node-a", 0);
    let _runner = spawn_node(&app, "node-b", 1);
    let status = start_live(&app).await;
    assert_eq!(status["nodeId"], "node-b");
    let _encoder = Encoder::publish(&published_on(&ingest_only, &key), "0x00FF00", "640x360");
    let took = wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(20),
        "relayed feed",
        is_green,
    )
    .await;
    eprintln!("| publish to node-a -> visible in node-b's output | {took:?} |");
    wait_pixel(&receiver, OUTSIDE, Duration::from_secs(1), "navy", is_navy).await;
    assert!(
        ingest_only
            .log_text()
            .contains("relaying a feed to another node"),
        "the feed did not go through the relay"
    );
}

/// Output frames the receiver decoded during `d`.
async fn frames_during(receiver: &Receiver, d: Duration) -> u64 {
    let before = receiver.frame_count();
    tokio::time::sleep(d).await;
    receiver.frame_count() - before
}

#[tokio::test]
async fn a_feed_of_another_size_and_rate_or_one_that_stalls_never_holds_up_the_output() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start("stall", W, H);
    let (_key_id, key) = ingest_stream(&app, &receiver).await;
    let node = spawn_node(&app, "node-a", 1);
    start_live(&app).await;
    // 640x480 at 12 fps into a 160x90 box of a 30 fps stream.
    let encoder = Encoder::publish_at(&node.ingest_url(&key), "0x00FF00", "640x480", 12);
    wait_pixel(&receiver, IN_BOX, Duration::from_secs(15), "feed", is_green).await;
    let steady = frames_during(&receiver, Duration::from_secs(2)).await;
    // The encoder freezes for 1.5 s, then resumes.
    encoder.signal("STOP");
    let stalled = frames_during(&receiver, Duration::from_millis(1500)).await;
    let frozen = receiver.latest_frame().unwrap();
    encoder.signal("CONT");
    eprintln!(
        "| output frames: 2 s with a 12 fps feed / 1.5 s with the feed frozen | {steady} / {stalled} (30 fps: 60 / 45) |"
    );
    assert!(
        steady >= 45,
        "the output slowed to its feed: {steady} frames in 2 s"
    );
    assert!(
        stalled >= 30,
        "the output stalled with its feed: {stalled} frames in 1.5 s"
    );
    // During a short stall the box keeps the feed's last frame, not the slate.
    assert!(is_green(pixel(&frozen, W, IN_BOX.0, IN_BOX.1)));
    wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(5),
        "feed after the stall",
        is_green,
    )
    .await;
    assert!(frames_during(&receiver, Duration::from_secs(1)).await >= 20);
}

#[tokio::test]
async fn another_tenants_key_is_refused_as_a_layer_source_and_keys_never_reach_the_logs() {
    let app = spawn_app_with_private_urls(true).await;
    let theirs = app.post("/stream/keys", "mallory", json!({})).await;
    theirs.expect(201);
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "ingest", "source": {"keyId": theirs.data()["id"]}}),
        )
        .await;
    r.expect(404);
    assert!(
        app.get("/stream/layers", "acme").await.data()["layers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The node that refused and admitted publishers never wrote the key down.
    let node = spawn_node(&app, "node-a", 1);
    let value = theirs.data()["key"].as_str().unwrap().to_owned();
    // An encoder that finds the port closed gives up at once: publish once the node listens.
    node.wait_ingest_listening().await;
    let encoder = Encoder::publish(&node.ingest_url(&value), "0x00FF00", "320x180");
    // ffmpeg takes a while to start on a loaded machine: wait for the publish itself.
    node.wait_for_log(
        "encoder publishing",
        Duration::from_secs(20),
        "the encoder never published",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(encoder);
    let log = node.log_text();
    assert!(!log.contains(&value), "a stream key reached the node's log");
}

#[tokio::test]
async fn connections_that_close_before_publishing_end_at_once() {
    let app = spawn_app_with_private_urls(true).await;
    let node = spawn_node(&app, "node-a", 1);
    let addr = node.wait_ingest_listening().await;
    // A load balancer's TCP health check: connect, then close. Twenty of them.
    let t0 = Instant::now();
    for _ in 0..20 {
        drop(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // Ended by the client, or at once by the per-address cap when the probes outrun the
    // sessions' own ends.
    let closed = |log: &str| log.matches("ingest connection closed").count();
    while closed(&node.log_text()) < 21 && t0.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let n = closed(&node.log_text());
    eprintln!(
        "| 20 connect-and-close probes -> sessions ended | {n} in {:?} |",
        t0.elapsed()
    );
    assert!(n >= 21, "probes held their sessions: {n} of 21 ended");
}
