//! The control plane restarted mid-stream: its process is SIGKILLed and a new one starts on
//! the same database and address. Nothing changes for the stream: it stays live on the same
//! node under the same lease, the receiver keeps getting frames on the same connection, and
//! a change made through the new process is applied.

use std::time::{Duration, Instant};

use serde_json::json;
use stream_manager_tests::nodes::{Receiver, looks_like, pixel, spawn_node};
use stream_manager_tests::spawn_app_with_private_urls;

use crate::fleet::{set_box_color, small_stream, wait_status};

#[tokio::test]
async fn a_stream_rides_out_a_control_plane_restart_untouched() {
    let mut app = spawn_app_with_private_urls(true).await;
    let mut receiver = Receiver::start("cp-restart", 320, 180);
    let layer = small_stream(&app, vec![receiver.url.clone()]).await;
    let mut control_plane = app.serve_from_process().await;
    let a = spawn_node(&app, "cpr-a", 1);
    let b = spawn_node(&app, "cpr-b", 1);
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let live = wait_status(&app, Duration::from_secs(20), |s| s["state"] == "live").await;
    assert_eq!(live["state"], "live", "never went live: {live}");
    let holder = live["nodeId"].as_str().unwrap().to_owned();
    let stream_id = live["streamId"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(15);
    while receiver.frame_count() < 10 {
        assert!(Instant::now() < deadline, "no frames at the receiver");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let epoch = app.lease_epoch(&stream_id).await;

    // SIGKILL, then a new process on the same database and port; frames are counted
    // throughout to find the longest time without one.
    let frames_at_kill = receiver.frame_count();
    control_plane.kill();
    let restart = control_plane.start_again();
    tokio::pin!(restart);
    let (mut last_count, mut last_change, mut longest_gap) =
        (frames_at_kill, Instant::now(), Duration::ZERO);
    let restarted_in = loop {
        tokio::select! {
            took = &mut restart => break took,
            _ = tokio::time::sleep(Duration::from_millis(20)) => {
                let n = receiver.frame_count();
                if n != last_count {
                    longest_gap = longest_gap.max(last_change.elapsed());
                    (last_count, last_change) = (n, Instant::now());
                }
            }
        }
    };
    eprintln!(
        "control plane back in {restarted_in:?}; longest time without a decoded frame meanwhile: {longest_gap:?}"
    );
    assert!(
        receiver.frame_count() > frames_at_kill,
        "no frames while the control plane restarted"
    );

    // The new process sees the stream where it was, and changes reach it.
    let s = app.get("/stream/status", "acme").await.data().clone();
    assert_eq!(s["state"], "live", "{s}");
    assert_eq!(s["nodeId"], holder.as_str(), "{s}");
    set_box_color(&app, &layer, "#00FF00").await;
    assert!(
        receiver
            .wait_for_pixel((40, 40), [0, 255, 0], Duration::from_secs(10))
            .await
            .is_some(),
        "a change through the new control plane never reached the output"
    );
    // A few lease renewals through the new process, then: nothing moved.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(receiver.still_receiving(), "the RTMP connection dropped");
    assert_eq!(
        app.lease_epoch(&stream_id).await,
        epoch,
        "the stream was dispatched again"
    );
    let s = app.get("/stream/status", "acme").await.data().clone();
    assert_eq!(
        (&s["state"], &s["nodeId"]),
        (&json!("live"), &json!(holder))
    );
    let (held_by, other) = if holder == a.id { (&a, &b) } else { (&b, &a) };
    assert!(
        !held_by.log_text().contains("stopping"),
        "the holder stopped the stream:\n{}",
        held_by.log_text()
    );
    assert!(
        !other.log_text().contains("stream started"),
        "the stream also ran on {}",
        other.id
    );

    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    let s = wait_status(&app, Duration::from_secs(10), |s| s["state"] == "idle").await;
    assert_eq!(s["state"], "idle", "{s}");
    let frames = receiver.finish(Duration::from_secs(10));
    let last = pixel(frames.last().unwrap(), 320, 40, 40);
    assert!(looks_like(last, [0, 255, 0]), "ended {last:?}");
}
