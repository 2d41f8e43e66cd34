//! The fallback ladder end to end: an ingest layer whose primary is an RTMP feed (yellow)
//! and whose backup is an SRT feed (cyan), both published by ffmpeg to a real render node.
//! The composed output, decoded at a real RTMP receiver, shows the backup once the primary
//! stops and the primary again once it has been back for `recoverMs`; the output never
//! drops a frame, and every switch is a `layer:source` event and in the stream's status.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stream_manager_tests::nodes::{
    Encoder, Receiver, RtmpServer, free_port, spawn_node, spawn_node_with_env,
};
use stream_manager_tests::ws::{connect, next_of};
use stream_manager_tests::{TestApp, spawn_app_with_private_urls};

use crate::ingest::{H, IN_BOX, OUTSIDE, W, is_navy, is_slate, start_live, wait_pixel};
use crate::nested_fetches::CountingServer;

const STALL_MS: u64 = 1000;
const RECOVER_MS: u64 = 3000;

fn is_yellow(p: [u8; 3]) -> bool {
    p[0] > 180 && p[1] > 180 && p[2] < 90
}

fn is_cyan(p: [u8; 3]) -> bool {
    p[0] < 90 && p[1] > 180 && p[2] > 180
}

fn is_magenta(p: [u8; 3]) -> bool {
    p[0] > 180 && p[1] < 90 && p[2] > 180
}

/// A new stream key: (id, key).
async fn new_key(app: &TestApp) -> (String, String) {
    let key = app.post("/stream/keys", "acme", json!({})).await;
    key.expect(201);
    (
        key.data()["id"].as_str().unwrap().to_owned(),
        key.data()["key"].as_str().unwrap().to_owned(),
    )
}

/// The stream's status `layerSources` entry, once `pred` holds for it (or the last seen).
async fn ladder_status(app: &TestApp, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let s = app.get("/stream/status", "acme").await.data().clone();
        let ladder = s["layerSources"][0].clone();
        if pred(&ladder) || Instant::now() > deadline {
            return ladder;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn dropped_frames(app: &TestApp) -> u64 {
    app.get("/stream/status", "acme").await.data()["droppedFrames"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

#[tokio::test]
async fn a_stalled_primary_hands_over_to_its_backup_and_comes_back_after_recovering() {
    let app = spawn_app_with_private_urls(true).await;
    let mut receiver = Receiver::start("fallback", W, H);
    app.set_test_output(&format!("{W}x{H}"), "600k", &[&receiver.url])
        .await;
    app.add_layer(json!({"kind": "color", "source": {"color": "#000080"}}))
        .await;
    let (primary_id, primary_key) = new_key(&app).await;
    let (backup_id, backup_key) = new_key(&app).await;
    let layer_id = app
        .add_layer(json!({"kind": "ingest",
            "source": {"keyId": primary_id,
                       "fallbacks": [{"keyId": backup_id}, {"slate": "default"}],
                       "stallMs": STALL_MS, "recoverMs": RECOVER_MS},
            "position": {"x": W / 2, "y": 0}, "size": {"width": W / 2, "height": H / 2}}))
        .await;
    let srt_port = free_port();
    let node = spawn_node_with_env(
        &app,
        "node-a",
        1,
        &[("SRT_ADDR", &format!("127.0.0.1:{srt_port}"))],
    );
    let mut ws = connect(&app, "/stream/events", "acme", false)
        .await
        .unwrap();
    start_live(&app).await;

    // Both feeds publish: the primary (RTMP, yellow) is on air, the backup (SRT, cyan) is
    // decoded beside it, healthy.
    let mut primary = Encoder::publish(&node.ingest_url(&primary_key), "0xFFFF00", "640x360");
    let srt_url = format!("srt://127.0.0.1:{srt_port}?streamid=#!::r=live/{backup_key},m=publish");
    let _backup = Encoder::publish_srt(&srt_url, "0x00FFFF", "640x360");
    wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(20),
        "primary",
        is_yellow,
    )
    .await;
    wait_pixel(&receiver, OUTSIDE, Duration::from_secs(1), "navy", is_navy).await;
    // Reports are written once a second: an early one may predate the primary's first frame.
    let ladder = ladder_status(&app, Duration::from_secs(15), |l| {
        l["rungs"][0]["healthy"] == true && l["rungs"][1]["healthy"] == true && l["active"] == 0
    })
    .await;
    assert_eq!(ladder["layerId"], layer_id.as_str(), "{ladder}");
    assert_eq!(ladder["active"], 0, "{ladder}");
    assert_eq!(ladder["rungs"][0]["healthy"], true, "{ladder}");
    assert_eq!(
        ladder["rungs"][1]["healthy"], true,
        "backup not healthy: {ladder}"
    );
    assert_eq!(ladder["rungs"][2]["source"], "slate:default", "{ladder}");
    let drops_before = dropped_frames(&app).await;
    let frames_before = receiver.frame_count();

    // The primary's encoder dies: the backup is on air within stallMs and a frame or so.
    drop(primary);
    let t0 = Instant::now();
    let (to_backup, (switched, event_at)) = tokio::join!(
        wait_pixel(
            &receiver,
            IN_BOX,
            Duration::from_secs(10),
            "backup",
            is_cyan
        ),
        async {
            let e = next_of(&mut ws, "layer:source", Duration::from_secs(10)).await;
            (e.expect("layer:source on the stall"), t0.elapsed())
        }
    );
    assert_eq!(switched["data"]["layerId"], layer_id.as_str(), "{switched}");
    assert_eq!(switched["data"]["active"], 1, "{switched}");
    assert_eq!(switched["data"]["previous"], 0, "{switched}");
    assert_eq!(switched["data"]["reason"], "stalled", "{switched}");
    assert_eq!(
        switched["data"]["activeSource"],
        format!("ingest:{backup_id}"),
        "{switched}"
    );
    eprintln!(
        "FIGURE fallback_primary_killed_to_backup_in_output={:.0} ms (stallMs {STALL_MS})",
        to_backup.as_secs_f64() * 1000.0
    );
    eprintln!(
        "FIGURE fallback_primary_killed_to_layer_source_event={:.0} ms",
        event_at.as_secs_f64() * 1000.0
    );
    let ladder = ladder_status(&app, Duration::from_secs(3), |l| l["active"] == 1).await;
    assert_eq!(ladder["active"], 1, "{ladder}");
    assert_eq!(ladder["rungs"][0]["healthy"], false, "{ladder}");

    // The primary comes back: yellow again, only after it has been healthy for recoverMs.
    primary = Encoder::publish(&node.ingest_url(&primary_key), "0xFFFF00", "640x360");
    let back = wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(20),
        "primary back",
        is_yellow,
    )
    .await;
    let recovered = next_of(&mut ws, "layer:source", Duration::from_secs(5))
        .await
        .expect("layer:source on the recovery");
    assert_eq!(recovered["data"]["active"], 0, "{recovered}");
    assert_eq!(recovered["data"]["reason"], "recovered", "{recovered}");
    assert!(
        back >= Duration::from_millis(RECOVER_MS),
        "the primary was taken back after {back:?}, before recoverMs"
    );
    eprintln!(
        "FIGURE fallback_primary_restarted_to_primary_in_output={:.0} ms (recoverMs {RECOVER_MS})",
        back.as_secs_f64() * 1000.0
    );

    // The output's clock never stopped: no frame dropped, the receiver decoded all along.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let drops_after = dropped_frames(&app).await;
    assert_eq!(drops_before, 0, "frames dropped before the switches");
    assert_eq!(drops_after, 0, "frames dropped across the switches");
    assert!(
        receiver.still_receiving(),
        "the output's connection dropped"
    );
    let frames = receiver.frame_count() - frames_before;
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "FIGURE fallback_output_fps_across_switches={:.1} fps",
        frames as f64 / secs
    );
    drop(primary);
}

#[tokio::test]
async fn a_ladder_is_checked_before_it_is_stored() {
    let app = spawn_app_with_private_urls(true).await;
    let (a, _) = new_key(&app).await;
    let (b, _) = new_key(&app).await;
    let cases = [
        (
            json!({"keyId": a, "fallbacks": [{"slate": "default"}, {"keyId": b}]}),
            "source.fallbacks[0]",
        ),
        (
            json!({"keyId": a, "fallbacks": [{"keyId": a}]}),
            "source.fallbacks[0]",
        ),
        (
            json!({"keyId": a, "fallbacks": [{"keyId": b}, {"nope": 1}]}),
            "source.fallbacks[1]",
        ),
        (
            json!({"keyId": a, "fallbacks": [{"slate": "blue"}]}),
            "source.fallbacks[0].slate",
        ),
        (
            json!({"keyId": a, "fallbacks": [{"keyId": b}], "stallMs": 10}),
            "source.stallMs",
        ),
        (
            json!({"keyId": a, "fallbacks": [{"keyId": b}], "recoverMs": -1}),
            "source",
        ),
        (
            json!({"keyId": a, "fallbacks": [{"keyId": b}], "crossfadeMs": 60000}),
            "source.crossfadeMs",
        ),
    ];
    for (source, field) in cases {
        let r = app
            .post(
                "/stream/layers",
                "acme",
                json!({"kind": "ingest", "source": source}),
            )
            .await;
        r.expect(422);
        assert_eq!(r.body["error"]["field"], field, "{source}: {}", r.body);
    }
    // A backup key of another tenant, or no key at all, reads as absent.
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "ingest", "source": {"keyId": a,
                "fallbacks": [{"keyId": uuid::Uuid::new_v4()}]}}),
        )
        .await;
    r.expect(404);
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "ingest", "source": {"keyId": a,
                "fallbacks": [{"slate": uuid::Uuid::new_v4()}]}}),
        )
        .await;
    r.expect(404);
    // A good ladder is stored as sent.
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "ingest", "source": {"keyId": a,
                "fallbacks": [{"keyId": b}, {"slate": "default"}], "stallMs": 500,
                "recoverMs": 2000, "crossfadeMs": 200}}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.data()["source"]["fallbacks"][0]["keyId"], b.as_str());
    assert_eq!(r.data()["source"]["fallbacks"][1]["slate"], "default");
    assert_eq!(r.data()["source"]["crossfadeMs"], 200);
}

/// A point inside the bottom-left box (the second layer of the pull test).
const LOW_BOX: (u32, u32) = (80, 130);

#[tokio::test]
async fn a_pulled_rtmp_source_shows_comes_back_after_its_server_restarts_and_backs_up_a_feed() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start("pull", W, H);
    app.set_test_output(&format!("{W}x{H}"), "600k", &[&receiver.url])
        .await;
    app.add_layer(json!({"kind": "color", "source": {"color": "#000080"}}))
        .await;
    let mut server = RtmpServer::start();
    let pulled = server.url("cam");
    // Top right: the pulled stream itself. Bottom left: a key nobody publishes with, the
    // pulled stream as its backup.
    app.add_layer(json!({"kind": "ingest", "source": {"pull": pulled},
        "position": {"x": W / 2, "y": 0}, "size": {"width": W / 2, "height": H / 2}}))
        .await;
    let (key_id, _) = new_key(&app).await;
    app.add_layer(json!({"kind": "ingest",
        "source": {"keyId": key_id, "fallbacks": [{"pull": pulled}, {"slate": "default"}]},
        "position": {"x": 0, "y": H / 2}, "size": {"width": W / 2, "height": H / 2}}))
        .await;
    let _node = spawn_node(&app, "node-a", 1);
    start_live(&app).await;
    wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(15),
        "slate",
        is_slate,
    )
    .await;

    // Something publishes to the server: the node pulls it into both boxes.
    let t0 = Instant::now();
    let mut encoder = Encoder::publish(&pulled, "0xFF00FF", "640x360");
    wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(20),
        "pulled",
        is_magenta,
    )
    .await;
    eprintln!(
        "FIGURE pull_publish_to_picture={:.0} ms",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    wait_pixel(
        &receiver,
        LOW_BOX,
        Duration::from_secs(10),
        "pulled rung",
        is_magenta,
    )
    .await;
    let ladder = ladder_status(&app, Duration::from_secs(5), |l| l["active"] == 1).await;
    assert_eq!(ladder["active"], 1, "{ladder}");
    assert_eq!(
        ladder["activeSource"],
        "pull:rtmp://127.0.0.1:PORT/live/****".replace("PORT", &server.port.to_string()),
        "{ladder}"
    );

    // The server dies: the boxes hold the last frame, then show the slate; the output goes on.
    server.stop();
    drop(encoder);
    let before = receiver.frame_count();
    wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(10),
        "slate after the server died",
        is_slate,
    )
    .await;
    wait_pixel(
        &receiver,
        LOW_BOX,
        Duration::from_secs(10),
        "slate rung",
        is_slate,
    )
    .await;
    assert!(receiver.frame_count() > before, "the output stalled");

    // The server is back and the stream published again: the node reconnects by itself.
    server.restart();
    let t1 = Instant::now();
    encoder = Encoder::publish(&pulled, "0xFF00FF", "640x360");
    wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(20),
        "pulled again",
        is_magenta,
    )
    .await;
    eprintln!(
        "FIGURE pull_server_restart_to_picture={:.0} ms",
        t1.elapsed().as_secs_f64() * 1000.0
    );
    wait_pixel(
        &receiver,
        LOW_BOX,
        Duration::from_secs(10),
        "pulled rung again",
        is_magenta,
    )
    .await;
    // Neither box: the bottom right.
    wait_pixel(
        &receiver,
        (240, 150),
        Duration::from_secs(1),
        "navy",
        is_navy,
    )
    .await;
    drop(encoder);
}

#[tokio::test]
async fn pulled_sources_are_checked_against_the_media_policy() {
    let app = spawn_app_with_private_urls(false).await;
    let cases = [
        (json!({"pull": "rtmp://127.0.0.1/live/x"}), "source.pull"),
        (json!({"pull": "file:///etc/passwd"}), "source.pull"),
        (
            json!({"pull": "https://cdn.example.com/live.m3u8"}),
            "source.pull",
        ),
        (json!({"pull": "gopher://example.com/x"}), "source.pull"),
        (
            json!({"pull": "rtmp://example.com/live/x", "keyId": uuid::Uuid::new_v4()}),
            "source",
        ),
        (
            json!({"pull": "rtmp://example.com/live/x", "fallbacks": [{"pull": "srt://10.0.0.1:9000"}]}),
            "source.fallbacks[0].pull",
        ),
    ];
    for (source, field) in cases {
        let r = app
            .post(
                "/stream/layers",
                "acme",
                json!({"kind": "ingest", "source": source}),
            )
            .await;
        r.expect(422);
        assert_eq!(r.body["error"]["field"], field, "{source}: {}", r.body);
    }
    for url in [
        "rtmp://example.com/live/x",
        "srt://example.com:9000?streamid=x",
        "https://cdn.example.com/a.mp4",
    ] {
        let r = app
            .post(
                "/stream/layers",
                "acme",
                json!({"kind": "ingest", "source": {"pull": url, "loop": true}}),
            )
            .await;
        r.expect(201);
        assert_eq!(r.data()["source"]["pull"], url);
    }
}

#[tokio::test]
async fn a_pulled_srt_stream_shows() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start("pull-srt", W, H);
    app.set_test_output(&format!("{W}x{H}"), "600k", &[&receiver.url])
        .await;
    app.add_layer(json!({"kind": "color", "source": {"color": "#000080"}}))
        .await;
    // ffmpeg as an SRT listener (a contribution server the node calls).
    let port = free_port();
    let _server = Encoder::publish_srt(
        &format!("srt://127.0.0.1:{port}?mode=listener"),
        "0x00FFFF",
        "640x360",
    );
    app.add_layer(
        json!({"kind": "ingest", "source": {"pull": format!("srt://127.0.0.1:{port}")},
        "position": {"x": W / 2, "y": 0}, "size": {"width": W / 2, "height": H / 2}}),
    )
    .await;
    let _node = spawn_node(&app, "node-a", 1);
    start_live(&app).await;
    let took = wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(20),
        "pulled srt",
        is_cyan,
    )
    .await;
    eprintln!(
        "FIGURE pull_srt_live_to_picture={:.0} ms",
        took.as_secs_f64() * 1000.0
    );
    wait_pixel(&receiver, OUTSIDE, Duration::from_secs(1), "navy", is_navy).await;
}

#[tokio::test]
async fn a_pulled_mp4_over_http_loops() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start("pull-mp4", W, H);
    app.set_test_output(&format!("{W}x{H}"), "600k", &[&receiver.url])
        .await;
    app.add_layer(json!({"kind": "color", "source": {"color": "#000080"}}))
        .await;
    // A two-second clip, its index first so it plays as it downloads.
    let clip = std::env::temp_dir().join(format!("sm-pull-{}.mp4", uuid::Uuid::new_v4()));
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=0xFF00FF:s=320x180:r=25:d=2",
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-movflags", "+faststart"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(made.success(), "ffmpeg made no clip");
    let server = CountingServer::start(std::fs::read(&clip).unwrap());
    let _ = std::fs::remove_file(&clip);
    let url = format!("http://127.0.0.1:{}/clip.mp4", server.port);
    app.add_layer(
        json!({"kind": "ingest", "source": {"pull": url, "loop": true},
        "position": {"x": W / 2, "y": 0}, "size": {"width": W / 2, "height": H / 2}}),
    )
    .await;
    let _node = spawn_node(&app, "node-a", 1);
    start_live(&app).await;
    wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(20),
        "pulled mp4",
        is_magenta,
    )
    .await;
    // Past the clip's end, twice over: it plays again.
    tokio::time::sleep(Duration::from_secs(5)).await;
    wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(10),
        "looped mp4",
        is_magenta,
    )
    .await;
    let fetched = server.requests.load(std::sync::atomic::Ordering::SeqCst);
    eprintln!("FIGURE pull_mp4_fetches_in_7s={fetched}");
    assert!(
        fetched >= 2,
        "the clip was fetched {fetched} time(s): it did not loop"
    );
}
