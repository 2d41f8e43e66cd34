//! One control plane and two render nodes as real processes, on real services, with a real
//! RTMP receiver and decoded frames.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stream_manager_tests::nodes::{Receiver, pixel, spawn_node};
use stream_manager_tests::{TestApp, spawn_app_with_private_urls};

/// Polls the status until `pred` holds, returning it (or the last one, after `timeout`).
pub(crate) async fn wait_status(
    app: &TestApp,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let s = app.get("/stream/status", "acme").await.data().clone();
        if pred(&s) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// acme's stream at `resolution` (e.g. "320x180"): a navy background, no destination, started
/// and waited for until live.
pub(crate) async fn live_on_navy(app: &TestApp, resolution: &str) {
    app.set_test_output(resolution, "400k", &[]).await;
    app.add_layer(json!({"kind": "color", "source": {"color": "#000080"}}))
        .await;
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let s = wait_status(app, Duration::from_secs(20), |s| s["state"] == "live").await;
    assert_eq!(s["state"], "live", "{s}");
}

/// A 320x180 stream: a navy background and a red 160x90 box top-left, whose layer id is
/// returned.
pub(crate) async fn small_stream(app: &TestApp, outputs: Vec<String>) -> String {
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    app.set_test_output("320x180", "400k", &outputs).await;
    app.add_layer(json!({"kind": "color", "source": {"color": "#000080"}}))
        .await;
    app.add_layer(json!({"kind": "color", "source": {"color": "#FF0000"},
                         "position": {"x": 0, "y": 0}, "size": {"width": 160, "height": 90}}))
        .await
}

/// Recolours a colour layer (`#RRGGBB`), e.g. the box of [`small_stream`].
pub(crate) async fn set_box_color(app: &TestApp, layer: &str, hex: &str) {
    app.patch(
        &format!("/stream/layers/{layer}"),
        "acme",
        json!({"source": {"color": hex}}),
    )
    .await
    .expect(200);
}

/// Uploads a 64x64 blue PNG as the tenant's asset and shows it as an image layer at
/// (200, 100): a layer the node must fetch from the control plane. Returns the asset's id.
pub(crate) async fn add_blue_asset_layer(app: &TestApp) -> uuid::Uuid {
    let png = {
        let img = image::RgbaImage::from_pixel(64, 64, image::Rgba([0, 0, 255, 255]));
        let mut c = std::io::Cursor::new(Vec::new());
        img.write_to(&mut c, image::ImageFormat::Png).unwrap();
        c.into_inner()
    };
    let asset = app
        .raw(
            reqwest::Method::POST,
            "/stream/assets",
            Some(&app.token("acme")),
            "image/png",
            png,
        )
        .await;
    asset.expect(201);
    app.post(
        "/stream/layers",
        "acme",
        json!({"kind": "image", "source": {"assetId": asset.data()["id"]},
               "position": {"x": 200, "y": 100}, "size": {"width": 64, "height": 64}}),
    )
    .await
    .expect(201);
    asset.data()["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_started_stream_reaches_the_receiver_changes_live_and_stops_cleanly() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start("e2e", 320, 180);
    let layer = small_stream(&app, vec![receiver.url.clone()]).await;
    // An uploaded image, which the node fetches from the control plane with a signed URL.
    let asset_id = add_blue_asset_layer(&app).await;
    let _a = spawn_node(&app, "node-a", 1);
    let _b = spawn_node(&app, "node-b", 1);

    let t0 = Instant::now();
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let live = wait_status(&app, Duration::from_secs(20), |s| s["state"] == "live").await;
    assert_eq!(live["state"], "live", "never went live: {live}");
    assert_eq!(live["isLive"], true);
    assert!(
        live["nodeId"]
            .as_str()
            .is_some_and(|n| n.starts_with("node-"))
    );
    assert!(live["startTime"].is_number());
    let active = wait_status(&app, Duration::from_secs(10), |s| {
        s["outputs"][0]["state"] == "active"
    })
    .await;
    eprintln!("start -> RTMP output active: {:?}", t0.elapsed());
    assert_eq!(active["outputs"][0]["state"], "active", "{active}");
    assert!(
        active["outputs"][0]["url"]
            .as_str()
            .unwrap()
            .contains("****"),
        "the key is masked"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while receiver.bytes() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "start -> first decoded frame at the receiver: {:?}",
        t0.elapsed()
    );
    assert!(receiver.bytes() > 0, "no frame reached the receiver");

    // Operators see both nodes and the load; tenants cannot see the fleet.
    let fleet = app.fleet().await;
    let ids: Vec<&str> = fleet["data"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["nodeId"].as_str())
        .collect();
    assert_eq!(ids, ["node-a", "node-b"], "{fleet}");
    assert_eq!(fleet["data"]["capacity"], 2);
    assert_eq!(fleet["data"]["streams"], 1);
    app.get("/nodes", "acme").await.expect(404);

    // The preview is the node's current frame: the red box top-left on navy.
    let jpeg = app.get_raw("/stream/preview.jpg", "acme").await;
    assert_eq!(jpeg.status().as_u16(), 200);
    assert_eq!(jpeg.headers()["content-type"], "image/jpeg");
    let img = image::load_from_memory(&jpeg.bytes().await.unwrap())
        .unwrap()
        .to_rgb8();
    assert_eq!(img.dimensions(), (320, 180));
    let p = img.get_pixel(40, 40).0;
    assert!(p[0] > 180 && p[1] < 80, "preview box not red: {p:?}");
    let p = img.get_pixel(230, 130).0;
    assert!(
        p[2] > 180 && p[0] < 80 && p[1] < 80,
        "uploaded image not on air: {p:?}"
    );
    app.get("/stream/preview.jpg", "mallory").await.expect(404);
    // The node's asset URL is refused without the right signature.
    let forged = app
        .client
        .get(shared::node_api::paths::asset_url(
            &app.base, asset_id, "00",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 404);
    // The RTSP preview shows the same frame, to a player holding the URL the API signed.
    let rtsp = app.get("/stream/preview/rtsp", "acme").await;
    rtsp.expect(200);
    let rtsp = rtsp.data()["url"].as_str().unwrap().to_owned();
    let img = grab_rtsp(&rtsp, &app.namespace).expect("a frame from the signed RTSP URL");
    let p = img.get_pixel(40, 40).0;
    assert!(p[0] > 180 && p[1] < 80, "rtsp preview box not red: {p:?}");
    // Without the grant, with another stream's or with a snapshot grant: refused.
    let bare = rtsp_without_credentials(&rtsp);
    assert_unauthorized(&bare, &app.namespace, "no grant");
    let stream_id: uuid::Uuid = live["streamId"].as_str().unwrap().parse().unwrap();
    let host = bare
        .trim_start_matches("rtsp://")
        .split('/')
        .next()
        .unwrap();
    let now = shared::node_api::signing::unix_now_secs();
    let other = shared::node_api::paths::rtsp_preview_url(
        host,
        uuid::Uuid::new_v4(),
        stream_manager_tests::test_app::NODE_SECRET,
        now,
    );
    let (other_grant, _) = other.split_once('@').unwrap();
    let borrowed = format!("{other_grant}@{host}/{stream_id}");
    assert_unauthorized(&borrowed, &app.namespace, "another stream's grant");
    let expires = now + 30;
    let snapshot_sig = shared::node_api::StreamGrant::Snapshot.sign(
        stream_manager_tests::test_app::NODE_SECRET,
        stream_id,
        expires,
    );
    let snapshot_grant = format!("rtsp://{expires}:{snapshot_sig}@{host}/{stream_id}");
    assert_unauthorized(&snapshot_grant, &app.namespace, "a snapshot grant");
    app.get("/stream/preview/rtsp", "mallory").await.expect(404);

    // The node serves Prometheus metrics for its streams.
    let node_http = fleet["data"]["nodes"][0]["httpAddr"].as_str().unwrap();
    let node_metrics = app.text(&format!("http://{node_http}/metrics"), None).await;
    assert!(node_metrics.contains("node_capacity"), "{node_metrics}");

    // Frames and metrics flow.
    let s = wait_status(&app, Duration::from_secs(10), |s| {
        s["frameCount"].as_u64().unwrap_or(0) > 30
    })
    .await;
    assert!(s["fps"].as_f64().unwrap() > 0.0, "{s}");
    let m = app.get("/stream/metrics", "acme").await;
    assert!(m.data()["bitrate"].as_f64().unwrap() > 0.0, "{}", m.body);

    // Change the box to green live; give it a second on air.
    set_box_color(&app, &layer, "#00FF00").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let stopped = app.post("/stream/stop", "acme", json!({})).await;
    stopped.expect(200);
    let idle = wait_status(&app, Duration::from_secs(10), |s| s["state"] == "idle").await;
    assert_eq!(idle["state"], "idle");
    let w = receiver.width;
    let frames = receiver.finish(Duration::from_secs(10));
    assert!(frames.len() > 30, "only {} frames arrived", frames.len());
    let red = |p: [u8; 3]| p[0] > 180 && p[1] < 80 && p[2] < 80;
    let green = |p: [u8; 3]| p[1] > 180 && p[0] < 80 && p[2] < 80;
    let first = pixel(&frames[5], w, 40, 40);
    let last = pixel(frames.last().unwrap(), w, 40, 40);
    assert!(red(first), "box should start red, got {first:?}");
    assert!(green(last), "box should end green, got {last:?}");
    let outside = pixel(frames.last().unwrap(), w, 300, 160);
    assert!(
        outside[2] > 90 && outside[0] < 60,
        "background should be navy, got {outside:?}"
    );
}

#[tokio::test]
async fn a_killed_node_s_stream_resumes_on_the_other_node_and_a_frozen_one_fences_itself() {
    let app = spawn_app_with_private_urls(true).await;
    small_stream(&app, vec![]).await;
    let a = spawn_node(&app, "node-a", 1);
    let b = spawn_node(&app, "node-b", 1);
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let live = wait_status(&app, Duration::from_secs(20), |s| s["state"] == "live").await;
    let first = live["nodeId"].as_str().expect("a node holds it").to_owned();
    let (holder, other) = if first == a.id { (&a, &b) } else { (&b, &a) };

    // Freeze the holder (a slow node): the other takes over; thawed, the old one stops.
    let t0 = Instant::now();
    holder.signal("STOP");
    let moved = wait_status(&app, Duration::from_secs(15), |s| {
        s["nodeId"] == other.id.as_str() && s["state"] == "live"
    })
    .await;
    let failover = t0.elapsed();
    assert_eq!(moved["nodeId"], other.id.as_str(), "did not move: {moved}");
    eprintln!("failover after the holder froze: {failover:?}");
    holder.signal("CONT");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !holder.log_text().contains("stopping the stream here")
        && !holder.log_text().contains("stopping every stream")
    {
        assert!(
            Instant::now() < deadline,
            "the thawed node kept the stream:\n{}",
            holder.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(other.log_text().contains("stream started"));

    // Now SIGKILL the new holder: the thawed node takes the stream back.
    let t1 = Instant::now();
    other.signal("KILL");
    let back = wait_status(&app, Duration::from_secs(15), |s| {
        s["nodeId"] == holder.id.as_str() && s["state"] == "live"
    })
    .await;
    let failover_kill = t1.elapsed();
    assert_eq!(
        back["nodeId"],
        holder.id.as_str(),
        "did not resume after SIGKILL: {back}"
    );
    eprintln!("failover after SIGKILL: {failover_kill:?}");
    assert!(
        failover_kill < Duration::from_secs(10),
        "took {failover_kill:?}"
    );
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
}

#[tokio::test]
async fn sigterm_drains_a_node_its_stream_moves_and_it_exits() {
    let app = spawn_app_with_private_urls(true).await;
    small_stream(&app, vec![]).await;
    let mut a = spawn_node(&app, "drain-a", 1);
    let mut b = spawn_node(&app, "drain-b", 1);
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let live = wait_status(&app, Duration::from_secs(20), |s| s["state"] == "live").await;
    let first = live["nodeId"].as_str().expect("a node holds it").to_owned();
    let (holder, other) = if first == a.id {
        (&mut a, &b)
    } else {
        (&mut b, &a)
    };
    let t0 = Instant::now();
    holder.signal("TERM");
    let moved = wait_status(&app, Duration::from_secs(15), |s| {
        s["nodeId"] == other.id.as_str() && s["state"] == "live"
    })
    .await;
    assert_eq!(moved["nodeId"], other.id.as_str(), "did not move: {moved}");
    eprintln!("stream moved off a draining node in {:?}", t0.elapsed());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(status) = holder.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the drained node did not exit:\n{}",
            holder.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "drained node exited with {exit}");
    assert!(holder.log_text().contains("drained"));
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
}

/// The URL without its credentials (`rtsp://user:pass@host/…` → `rtsp://host/…`).
fn rtsp_without_credentials(url: &str) -> String {
    match url.trim_start_matches("rtsp://").split_once('@') {
        Some((_, rest)) => format!("rtsp://{rest}"),
        None => url.to_owned(),
    }
}

/// One decoded frame of the RTSP stream at `url`, or what ffmpeg said when it got none.
fn grab_rtsp(url: &str, namespace: &str) -> Result<image::RgbImage, String> {
    let png = std::env::temp_dir().join(format!("{namespace}preview.png"));
    let _ = std::fs::remove_file(&png);
    let grabbed = std::process::Command::new("timeout")
        .args([
            "20",
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-rtsp_transport",
            "tcp",
            "-i",
            url,
        ])
        .args(["-frames:v", "1"])
        .arg(&png)
        .output()
        .map_err(|e| e.to_string())?;
    if !grabbed.status.success() {
        return Err(String::from_utf8_lossy(&grabbed.stderr).into_owned());
    }
    Ok(image::open(&png).map_err(|e| e.to_string())?.to_rgb8())
}

/// Asserts the RTSP server refused `url` as unauthorized.
#[track_caller]
fn assert_unauthorized(url: &str, namespace: &str, what: &str) {
    match grab_rtsp(url, namespace) {
        Ok(_) => panic!("{what} played"),
        Err(said) => assert!(
            said.contains("401"),
            "{what}: refused for another reason: {said}"
        ),
    }
}
