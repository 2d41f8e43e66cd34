//! A control-plane replica SIGKILLed under a live stream: two replicas on one database and
//! namespace, the render node talking to the one that dies. The stream must stay on air and
//! on its node (the node renews through the other replica), and the tenant's setup must come
//! out of it whole: the same configuration, layers, scenes, keys and streams, nothing lost and
//! nothing doubled. Shared services are left alone, so this runs in the parallel suite.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stream_manager_tests::control_plane_process::ControlPlaneProcess;
use stream_manager_tests::nodes::{Receiver, free_port, spawn_node_with_env};
use stream_manager_tests::{TestApp, spawn_app_with_private_urls};

/// GET `path` as `acme` from the replica at `base`: the `data` of the answer.
async fn get_at(app: &TestApp, base: &str, path: &str) -> Value {
    let resp = app
        .client
        .get(format!("{base}{path}"))
        .bearer_auth(app.token("acme"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json::<Value>().await.unwrap()["data"].clone()
}

/// Everything the tenant configured, as the API shows it, for both of its streams.
async fn dump(app: &TestApp, base: &str, second: &str) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("/streams".into(), get_at(app, base, "/streams").await);
    for prefix in ["/stream".to_owned(), format!("/streams/{second}")] {
        for res in ["config", "layers", "scenes", "keys"] {
            let path = format!("{prefix}/{res}");
            out.insert(path.clone(), get_at(app, base, &path).await);
        }
    }
    Value::Object(out)
}

async fn live_status(app: &TestApp, base: &str) -> Value {
    get_at(app, base, "/stream/status").await
}

/// The longest gap in `receiver`'s bytes from a second before `act` (a kill) until two lease
/// lengths after it: long enough for a missed renewal to fence the stream or a lapsed lease
/// to be re-dispatched.
pub(crate) async fn longest_gap_around(receiver: &Arc<Receiver>, act: impl FnOnce()) -> Duration {
    let running = Arc::new(AtomicBool::new(true));
    let watch = tokio::spawn(longest_gap(receiver.clone(), running.clone()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    act();
    tokio::time::sleep(Duration::from_secs(6)).await;
    running.store(false, Ordering::Relaxed);
    watch.await.expect("the watch ran")
}

/// The longest stretch in which the receiver decoded nothing, sampled every 10 ms while
/// `running` holds.
async fn longest_gap(receiver: Arc<Receiver>, running: Arc<AtomicBool>) -> Duration {
    let mut last = (receiver.bytes(), Instant::now());
    let mut worst = Duration::ZERO;
    while running.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let n = receiver.bytes();
        if n != last.0 {
            worst = worst.max(last.1.elapsed());
            last = (n, Instant::now());
        }
    }
    worst.max(last.1.elapsed())
}

#[tokio::test]
async fn a_killed_control_plane_replica_costs_no_airtime_and_loses_nothing() {
    let survivor = spawn_app_with_private_urls(true).await;
    let mut doomed = ControlPlaneProcess::start(&survivor, free_port()).await;
    let receiver = Arc::new(Receiver::start("cpkill", 320, 180));
    // The tenant sets everything up through the replica that will die.
    let at = |path: &str| format!("{}{path}", doomed.base);
    let token = survivor.token("acme");
    let send = |method: reqwest::Method, path: &str, body: Value| {
        survivor
            .client
            .request(method, at(path))
            .bearer_auth(&token)
            .json(&body)
    };
    let ok = |r: reqwest::Response| {
        assert!(r.status().is_success(), "{}", r.status());
        r
    };
    ok(send(
        reqwest::Method::PATCH,
        "/stream/config",
        json!({"STREAM_RESOLUTION": "320x180", "TARGET_FPS": 30, "STREAM_BITRATE": "400k",
               "RENDER_QUALITY": 1, "outputs": [receiver.url]}),
    )
    .send()
    .await
    .unwrap());
    for body in [
        json!({"kind": "color", "source": {"color": "#000080"}}),
        json!({"kind": "color", "source": {"color": "#FF0000"}, "size": {"width": 160, "height": 90}}),
        json!({"kind": "text", "source": {"text": "on air"}, "position": {"x": 10, "y": 100}, "size": {"width": 200, "height": 60}}),
    ] {
        ok(send(reqwest::Method::POST, "/stream/layers", body)
            .send()
            .await
            .unwrap());
    }
    ok(send(
        reqwest::Method::POST,
        "/stream/scenes",
        json!({"name": "break"}),
    )
    .send()
    .await
    .unwrap());
    for _ in 0..2 {
        ok(send(reqwest::Method::POST, "/stream/keys", json!({}))
            .send()
            .await
            .unwrap());
    }
    let second: Value = ok(
        send(reqwest::Method::POST, "/streams", json!({"name": "second"}))
            .send()
            .await
            .unwrap(),
    )
    .json()
    .await
    .unwrap();
    let second = second["data"]["id"].as_str().unwrap().to_owned();
    ok(send(
        reqwest::Method::POST,
        &format!("/streams/{second}/layers"),
        json!({"kind": "color", "source": {"color": "#00FF00"}}),
    )
    .send()
    .await
    .unwrap());

    // The node prefers the doomed replica and knows the other.
    let urls = format!("{},{}", doomed.base, survivor.base);
    let node = spawn_node_with_env(
        &survivor,
        "cpkill-node",
        1,
        &[("CONTROL_PLANE_URL", urls.as_str())],
    );
    ok(send(reqwest::Method::POST, "/stream/start", json!({}))
        .send()
        .await
        .unwrap());
    let t0 = Instant::now();
    while live_status(&survivor, &doomed.base).await["state"] != "live" {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "never went live:\n{}",
            node.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while receiver.bytes() == 0 {
        assert!(t0.elapsed() < Duration::from_secs(25), "no frame received");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = dump(&survivor, &doomed.base, &second).await;
    assert_eq!(before, dump(&survivor, &survivor.base, &second).await);
    let status_before = live_status(&survivor, &survivor.base).await;
    let stream_id = status_before["streamId"]
        .as_str()
        .expect("a stream id")
        .to_owned();
    let epoch_before = survivor.lease_epoch(&stream_id).await;

    // Kill the replica the node talks to, and watch the output across it.
    let mut killed_at = Instant::now();
    let gap = longest_gap_around(&receiver, || {
        killed_at = Instant::now();
        doomed.kill();
    })
    .await;

    let log = node.log_text();
    assert!(
        log.contains("now talking to this control plane"),
        "the node never moved to the surviving replica:\n{log}"
    );
    let after_kill = live_status(&survivor, &survivor.base).await;
    assert_eq!(after_kill["state"], "live", "{after_kill}");
    assert_eq!(
        after_kill["nodeId"],
        node.id.as_str(),
        "the stream moved: {after_kill}"
    );
    assert_eq!(after_kill["version"], status_before["version"]);
    let epoch_after = survivor.lease_epoch(&stream_id).await;
    assert_eq!(
        epoch_after, epoch_before,
        "the lease was lost and taken again: the stream was restarted"
    );
    assert!(
        !log.contains("cannot renew leases") && !log.contains("lease lost"),
        "the node fenced or lost its stream:\n{log}"
    );
    assert!(
        gap < Duration::from_millis(1500),
        "the output stalled for {gap:?} around the kill"
    );
    let after = dump(&survivor, &survivor.base, &second).await;
    assert_eq!(
        after, before,
        "the tenant's setup changed across the kill of a replica"
    );

    // The survivor carries on: a change made through it reaches the node.
    let layers = before["/stream/layers"]["layers"].as_array().unwrap();
    let id = layers[1]["id"].as_str().unwrap();
    let patched = survivor
        .patch(
            &format!("/stream/layers/{id}"),
            "acme",
            json!({"opacity": 0.5}),
        )
        .await;
    patched.expect(200);
    let t1 = Instant::now();
    node.wait_for_update(
        status_before["version"].as_i64().unwrap() + 1,
        Duration::from_secs(10),
        "a change through the surviving replica never reached the node",
    )
    .await;
    eprintln!(
        "| SIGKILL of the control-plane replica the node talked to | longest output gap {:.0} ms around the kill; stream kept its node and lease; change through the survivor applied {:.0} ms after the PATCH ({:.1} s after the kill) |",
        gap.as_secs_f64() * 1000.0,
        t1.elapsed().as_secs_f64() * 1000.0,
        killed_at.elapsed().as_secs_f64()
    );
    eprintln!(
        "FIGURE cp_kill_output_gap={:.0} ms",
        gap.as_secs_f64() * 1000.0
    );
    survivor
        .post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
}
