//! A start is never lost for good (issue 15, item 9): a node whose claim is answered
//! anything but "not claimable" (here 401, a wrong `NODE_SECRET`) puts the job back for
//! another node, and the reaper re-dispatches an on-air stream that has neither a node nor
//! a pending start job.

use std::time::{Duration, Instant};

use serde_json::json;
use stream_manager_tests::nodes::{Receiver, spawn_node, spawn_node_with_env};
use stream_manager_tests::{spawn_app, spawn_app_with_private_urls};

use crate::fleet::{small_stream, wait_status};

#[tokio::test]
async fn a_start_whose_job_was_dropped_is_dispatched_again_after_the_grace_period() {
    let app = spawn_app().await;
    let started = app.post("/stream/start", "acme", json!({})).await;
    let id = started.data()["streamId"].as_str().unwrap().to_owned();
    app.flush_outbox().await;
    // A node takes the job and drops it (what a 401 on the claim used to cause).
    let job = app
        .next_message(&app.jobs_queue(), Duration::from_secs(10))
        .await
        .expect("the start job");
    assert_eq!(job["spec"]["streamId"], id.as_str());
    // Within the grace period the published start counts as pending: no duplicate.
    assert_eq!(
        control_plane::dispatch::reaper::redispatch_orphans(&app.state)
            .await
            .unwrap(),
        0
    );
    sqlx::query("UPDATE outbox SET created_at = now() - interval '1 minute'")
        .execute(&app.state.db)
        .await
        .unwrap();
    // The app's own reaper (or this call) queues the start again.
    let _ = control_plane::dispatch::reaper::redispatch_orphans(&app.state).await;
    let again = app
        .next_message(&app.jobs_queue(), Duration::from_secs(10))
        .await
        .expect("the start dispatched again");
    assert_eq!(again["type"], "start");
    assert_eq!(again["spec"]["streamId"], id.as_str());
    // A stopped stream is nobody's orphan.
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    sqlx::query("UPDATE outbox SET created_at = now() - interval '1 minute'")
        .execute(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        control_plane::dispatch::reaper::redispatch_orphans(&app.state)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_node_with_a_wrong_secret_takes_the_job_and_the_stream_still_goes_live() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start("lost-start", 320, 180);
    small_stream(&app, vec![receiver.url.clone()]).await;
    let bad = spawn_node_with_env(
        &app,
        "node-bad",
        1,
        &[("NODE_SECRET", "a-rotated-secret-0123456789")],
    );
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    // The bad node takes the job and is refused.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !bad.log_text().contains("401") {
        assert!(
            Instant::now() < deadline,
            "the bad node never tried:\n{}",
            bad.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _good = spawn_node(&app, "node-good", 1);
    let t0 = Instant::now();
    let live = wait_status(&app, Duration::from_secs(25), |s| s["state"] == "live").await;
    assert_eq!(
        live["state"],
        "live",
        "never went live: {live}\n{}",
        bad.log_text()
    );
    assert_eq!(live["nodeId"], "node-good");
    eprintln!(
        "FIGURE lost_start_live_after_good_node={} ms",
        t0.elapsed().as_millis()
    );
}
