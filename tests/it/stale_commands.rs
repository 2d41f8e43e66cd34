//! Duplicate and out-of-order commands end to end across processes: the control plane's own
//! messages, taken from its outbox, are published again straight to the node's queue and the
//! jobs queue, newest first, while the stream is live. The stream keeps its newest state.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::messages::Topology;
use stream_manager_tests::nodes::{Receiver, looks_like, pixel, spawn_node};
use stream_manager_tests::{TestApp, spawn_app_with_private_urls};

use crate::fleet::{set_box_color, small_stream, wait_status};

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];

/// Every command the control plane queued, oldest first: (routing key, payload).
async fn outbox(app: &TestApp) -> Vec<(String, Value)> {
    sqlx::query_as("SELECT routing_key, payload FROM outbox ORDER BY id")
        .fetch_all(&mut app.db().await)
        .await
        .expect("outbox rows")
}

/// Waits until the receiver's newest frame shows `rgb` in the box.
async fn wait_box(r: &Receiver, rgb: [u8; 3]) -> bool {
    r.wait_for_pixel((40, 40), rgb, Duration::from_secs(10))
        .await
        .is_some()
}

#[tokio::test]
async fn replayed_stale_and_duplicate_commands_leave_the_stream_at_its_newest_state() {
    let app = spawn_app_with_private_urls(true).await;
    let layer = small_stream(&app, vec![]).await;
    // Two slots, so the node keeps taking jobs and meets the replayed starts.
    let node = spawn_node(&app, "stale-a", 2);
    let live = |s: &Value| s["state"] == "live";

    // A first run with a change (blue) and a stop: their commands are the stale ones later.
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let s = wait_status(&app, Duration::from_secs(20), live).await;
    assert_eq!(s["state"], "live", "first run never went live: {s}");
    set_box_color(&app, &layer, "#0000FF").await;
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    let s = wait_status(&app, Duration::from_secs(10), |s| s["state"] == "idle").await;
    assert_eq!(s["state"], "idle", "{s}");

    // The second run, to a receiver: starts blue, then changed to green.
    let mut receiver = Receiver::start("stale", 320, 180);
    app.patch(
        "/stream/config",
        "acme",
        json!({"outputs": [receiver.url.clone()]}),
    )
    .await
    .expect(200);
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let s = wait_status(&app, Duration::from_secs(20), live).await;
    assert_eq!(s["state"], "live", "second run never went live: {s}");
    assert!(
        wait_box(&receiver, BLUE).await,
        "the second run is not blue"
    );
    set_box_color(&app, &layer, "#00FF00").await;
    assert!(wait_box(&receiver, GREEN).await, "green never arrived");
    let before = app.get("/stream/status", "acme").await.data().clone();
    let stream_id = before["streamId"].as_str().unwrap().to_owned();
    let epoch = app.lease_epoch(&stream_id).await;

    // Replay every command newest first: the green update and the second start again
    // (duplicates), then the first run's stop, its blue update and its start (stale).
    let topo = Topology::new(app.namespace.clone());
    let commands = outbox(&app).await;
    let kinds: Vec<&str> = commands
        .iter()
        .map(|(_, p)| p["type"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        kinds,
        ["start", "update", "stop", "start", "update"],
        "the commands the control plane sent"
    );
    let conn = shared::amqp::connect(&app.services.amqp_url, "stale-commands-test")
        .await
        .unwrap();
    let channel = shared::amqp::confirm_channel(&conn).await.unwrap();
    let first_replayed_frame = receiver.frame_count();
    for (key, payload) in commands.iter().rev() {
        let queue = if key == topo.jobs_routing_key() {
            topo.jobs_queue()
        } else {
            topo.node_queue(&node.id)
        };
        shared::amqp::publish_confirmed(
            &channel,
            "",
            &queue,
            payload.to_string().as_bytes(),
            Default::default(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    }

    // The node got the replayed updates and start jobs (and the stop among them).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = node.log_text();
        let seen = log.matches("outcome=Ignored").count() >= 2
            && log.matches("job not claimable; dropped").count() >= 2;
        if seen {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node did not handle the replayed commands:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A second more on air, for anything wrongly applied to reach the output.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let last_checked = receiver.frame_count();
    assert!(
        last_checked > first_replayed_frame + 20,
        "frames stopped arriving ({first_replayed_frame} -> {last_checked})"
    );
    for i in first_replayed_frame..last_checked {
        let p = pixel(&receiver.frame(i).unwrap(), receiver.width, 40, 40);
        assert!(
            looks_like(p, GREEN),
            "frame {i} left the newest state: {p:?}"
        );
    }
    assert!(receiver.still_receiving(), "the RTMP connection dropped");
    let after = app.get("/stream/status", "acme").await.data().clone();
    assert_eq!(after["state"], "live", "{after}");
    assert_eq!(after["nodeId"], before["nodeId"]);
    assert_eq!(after["version"], before["version"]);
    assert_eq!(
        app.lease_epoch(&stream_id).await,
        epoch,
        "the stream was dispatched again"
    );

    assert!(
        node.log_text().contains("stale stop ignored"),
        "{}",
        node.log_text()
    );

    // A newer change still applies.
    set_box_color(&app, &layer, "#FF0000").await;
    assert!(
        wait_box(&receiver, RED).await,
        "a newer change was not applied"
    );
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    let s = wait_status(&app, Duration::from_secs(10), |s| s["state"] == "idle").await;
    assert_eq!(s["state"], "idle", "{s}");
}
