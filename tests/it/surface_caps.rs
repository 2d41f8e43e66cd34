//! Issue 15, item 3: one tenant cannot run a node out of memory. A text layer with a
//! 16384² box is rendered only as far as the canvas shows; a 16384² image used as a video
//! layer is refused from its size before it is decoded; and a stream whose pictures exceed
//! its memory budget is stopped with a clear `failed` reason while another stream on the
//! same node goes on. Each prints `FIGURE` lines with the node's resident-memory growth.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use stream_manager_tests::nodes::{NodeProcess, Receiver, spawn_node, spawn_node_with_env};
use stream_manager_tests::proc_stats::rss_kib;
use stream_manager_tests::ws::{connect, next_of};
use stream_manager_tests::{TestApp, spawn_app_with, spawn_app_with_private_urls};

use crate::fleet::{live_on_navy, wait_status};
use crate::nested_fetches::media_root;

/// Growth of the node's resident memory a layer may cause here: a 640x360 canvas's
/// surfaces are a few MiB; the unbounded cases grew by 256 MiB (text) and 600+ MiB (video).
const BOUND_KIB: u64 = 96 * 1024;

/// How many updates the node has applied so far.
fn applied(node: &NodeProcess) -> usize {
    node.log_text().matches("update applied").count()
}

/// Samples the node's RSS every 10 ms while `change` runs and until the node applied one
/// more update (and 1.5 s more, for decoders to get going); the peak growth, in KiB.
async fn peak_growth<F: std::future::Future<Output = ()>>(node: &NodeProcess, change: F) -> u64 {
    let pid = node.child.id();
    let before = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let seen = applied(node);
    change.await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while applied(node) <= seen && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(applied(node) > seen, "never applied:\n{}", node.log_text());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    peak.load(Ordering::Relaxed).saturating_sub(before)
}

/// acme's 640x360 stream with a background, live on `node` with no destination.
async fn live_640(app: &TestApp) {
    live_on_navy(app, "640x360").await;
    // Let start-up allocations settle before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_text_layer_with_a_huge_box_costs_what_the_canvas_shows() {
    let app = spawn_app_with_private_urls(true).await;
    let node = spawn_node(&app, "node-a", 1);
    live_640(&app).await;
    let growth = peak_growth(&node, async {
        app.add_layer(json!({"kind": "text",
            "source": {"text": "huge", "fontFamily": "Sans", "fontSize": 48, "color": "#FFFFFF"},
            "position": {"x": 0, "y": 0}, "size": {"width": 16384, "height": 16384}}))
            .await;
    })
    .await;
    eprintln!("FIGURE huge_text_layer_rss_growth={growth} KiB");
    assert!(growth < BOUND_KIB, "{growth} KiB for one text layer");
    let s = app.get("/stream/status", "acme").await.data().clone();
    assert_eq!(s["state"], "live", "{s}");
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_huge_image_as_a_video_layer_is_refused_before_it_is_decoded() {
    let root = media_root("huge");
    let png = root.join("huge.png");
    // 16384² grey: 256 MiB decoded, a few hundred KiB as a file.
    image::GrayImage::new(16384, 16384).save(&png).unwrap();
    let media = root.clone();
    let app = spawn_app_with(move |c| {
        c.media.media_root = Some(media);
        c.media.allow_private = true;
    })
    .await;
    let root_env = root.display().to_string();
    let node = spawn_node_with_env(&app, "node-a", 1, &[("MEDIA_ROOT", root_env.as_str())]);
    live_640(&app).await;
    let mut ws = connect(&app, "/stream/events", "acme", false)
        .await
        .unwrap();
    let growth = peak_growth(&node, async {
        app.add_layer(json!({"kind": "video",
            "source": {"uri": format!("file://{}", png.display()), "loop": true},
            "position": {"x": 0, "y": 0}, "size": {"width": 320, "height": 180}}))
            .await;
    })
    .await;
    eprintln!("FIGURE huge_video_layer_rss_growth={growth} KiB");
    assert!(growth < BOUND_KIB, "{growth} KiB for one video layer");
    let e = next_of(&mut ws, "stream:error", Duration::from_secs(10))
        .await
        .expect("the layer's error");
    let message = e["data"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("16384x16384"), "{e}");
    let s = app.get("/stream/status", "acme").await.data().clone();
    assert_eq!(s["state"], "live", "{s}");
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    let _ = std::fs::remove_dir_all(&root);
}

/// Starts `tenant`'s default 320x180 stream to `receiver` with a background.
async fn start_small(app: &TestApp, tenant: &str, receiver: &Receiver) {
    app.navy_stream_for(tenant, "320x180", &receiver.url).await;
    app.post("/stream/start", tenant, json!({}))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_stream_over_its_memory_budget_fails_and_its_neighbour_goes_on() {
    let app = spawn_app_with_private_urls(true).await;
    // A 320x180 background is 141 KiB, a canvas-sized text layer 366 KiB: two fit in 1 MiB,
    // three do not.
    let _node = spawn_node_with_env(
        &app,
        "node-a",
        2,
        &[("STREAM_MEMORY_BUDGET_BYTES", "1048576")],
    );
    let (acme_rx, bob_rx) = (
        Receiver::start("budget-acme", 320, 180),
        Receiver::start("budget-bob", 320, 180),
    );
    start_small(&app, "acme", &acme_rx).await;
    start_small(&app, "bob", &bob_rx).await;
    for tenant in ["acme", "bob"] {
        let deadline = Instant::now() + Duration::from_secs(20);
        while app.get("/stream/status", tenant).await.data()["state"] != "live" {
            assert!(Instant::now() < deadline, "{tenant} never went live");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for i in 0..3 {
        app.post("/stream/layers", "acme", json!({"kind": "text",
            "source": {"text": format!("line {i}"), "fontFamily": "Sans", "fontSize": 24, "color": "#FFFFFF"},
            "size": {"width": 320, "height": 180}}))
            .await
            .expect(201);
    }
    let s = wait_status(&app, Duration::from_secs(20), |s| s["state"] == "failed").await;
    assert_eq!(s["state"], "failed", "{s}");
    let reason = s["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("memory budget of 1 MiB"), "{s}");

    // The neighbour never stopped: live, and its receiver keeps getting frames.
    let before = bob_rx.frame_count();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = bob_rx.frame_count();
    assert!(
        after >= before + 30,
        "bob's stream stalled: {before} -> {after}"
    );
    assert_eq!(
        app.get("/stream/status", "bob").await.data()["state"],
        "live"
    );
    for tenant in ["acme", "bob"] {
        app.post("/stream/stop", tenant, json!({})).await;
    }
}
