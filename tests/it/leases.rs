use std::time::Duration;

use serde_json::json;
use shared::messages::{CommandEnvelope, NodeCommand};
use shared::node_api::client::{ControlPlane, StatusCode};
use shared::node_api::{Held, Release};
use stream_manager_tests::test_app::NODE_SECRET;
use stream_manager_tests::{TestApp, spawn_app};
use uuid::Uuid;

/// The internal API as node `node` calls it.
fn node(app: &TestApp, node: &str) -> ControlPlane {
    ControlPlane::new(std::slice::from_ref(&app.base), NODE_SECRET, node).unwrap()
}

/// Renews one lease; whether it is still held.
async fn renew(api: &ControlPlane, stream_id: Uuid, epoch: i64) -> bool {
    let states = api
        .renew(vec![Held { stream_id, epoch }])
        .await
        .unwrap()
        .unwrap();
    states[0].held
}

/// Lets every lease lapse: the nodes' leases and the claims' first-renewal guards.
async fn expire_leases(app: &TestApp) {
    sqlx::query("UPDATE node_leases SET expires_at = now() - interval '1 second'")
        .execute(&app.state.db)
        .await
        .unwrap();
    expire_claim_guard(app).await;
}

/// Starts acme's stream; its id.
async fn start_stream(app: &TestApp) -> Uuid {
    let started = app.post("/stream/start", "acme", json!({})).await;
    started.data()["streamId"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("the started stream's id")
}

#[tokio::test]
async fn one_node_holds_a_stream_and_a_lapsed_lease_is_dispatched_again() {
    let app = spawn_app().await;
    let id = start_stream(&app).await;
    app.flush_outbox().await;
    app.next_message(&app.jobs_queue(), Duration::from_secs(10))
        .await
        .expect("start job");

    // Wrong secret: refused.
    let intruder = ControlPlane::new(std::slice::from_ref(&app.base), "nope", "a").unwrap();
    let refused = intruder.claim(id).await.unwrap();
    assert_eq!(refused.err(), Some(StatusCode::UNAUTHORIZED));

    let (a, b) = (node(&app, "node-a"), node(&app, "node-b"));
    let grant = a.claim(id).await.unwrap().expect("node-a claims");
    let epoch = grant.epoch;
    assert_eq!(grant.spec.stream_id, id);
    // A second node cannot take a held stream.
    assert_eq!(b.claim(id).await.unwrap().err(), Some(StatusCode::CONFLICT));
    assert!(renew(&a, id, epoch).await);
    a.live(id, epoch).await.unwrap().expect("live recorded");

    // node-a dies: its lease lapses, the reaper takes the stream back and queues it again.
    expire_leases(&app).await;
    assert_eq!(
        control_plane::dispatch::reaper::reap_once(&app.state)
            .await
            .unwrap(),
        1
    );
    app.flush_outbox().await;
    let msg = app
        .next_message(&app.jobs_queue(), Duration::from_secs(10))
        .await
        .expect("re-dispatched job");
    let env: CommandEnvelope = serde_json::from_value(msg).unwrap();
    assert!(matches!(env.command, NodeCommand::Start { .. }));
    let grant_b = b.claim(id).await.unwrap().expect("node-b claims");
    assert!(grant_b.epoch > epoch);
    // The old holder comes back: fenced, its renewal fails, so it stops pushing.
    assert!(!renew(&a, id, epoch).await);
}

#[tokio::test]
async fn stop_fences_the_holder_and_failures_end_in_failed_with_a_reason() {
    let app = spawn_app().await;
    let id = start_stream(&app).await;
    let a = node(&app, "node-a");
    let epoch = a.claim(id).await.unwrap().expect("claimed").epoch;
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    assert!(
        !renew(&a, id, epoch).await,
        "a stopped stream's lease is gone"
    );
    assert_eq!(
        a.claim(id).await.unwrap().err(),
        Some(StatusCode::CONFLICT),
        "a stopped stream cannot be claimed"
    );

    // A node that cannot start the pipeline releases with a reason: the stream shows failed.
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let epoch = a.claim(id).await.unwrap().expect("claimed again").epoch;
    let release = Release {
        epoch,
        failure: Some("x264enc is missing".into()),
        handoff: false,
    };
    a.release(id, &release).await.unwrap().expect("released");
    let status = app.get("/stream/status", "acme").await;
    assert_eq!(status.data()["state"], "failed");
    assert_eq!(status.data()["reason"], "x264enc is missing");
    // Stop then start clears the failure.
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    let again = app.post("/stream/start", "acme", json!({})).await;
    assert_eq!(again.data()["state"], "queued");

    // Nodes that take the stream and never go live: after three attempts it fails.
    let x = node(&app, "node-x");
    for _ in 0..3 {
        x.claim(id).await.unwrap().expect("claimable");
        sqlx::query("UPDATE streams SET claimed_at = now() - interval '1 minute'")
            .execute(&app.state.db)
            .await
            .unwrap();
        control_plane::dispatch::reaper::reap_once(&app.state)
            .await
            .unwrap();
    }
    let status = app.get("/stream/status", "acme").await;
    assert_eq!(status.data()["state"], "failed");
    assert!(
        status.data()["reason"]
            .as_str()
            .unwrap()
            .contains("did not go live"),
        "{}",
        status.body
    );
}

/// The row version of a stream: changes with every write to its row.
async fn row_version(app: &TestApp, id: Uuid) -> String {
    sqlx::query_scalar("SELECT xmin::text FROM streams WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn renewals_write_the_node_row_only_and_a_stream_the_node_dropped_is_taken_back() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for tenant in ["acme", "beta"] {
        let started = app.post("/stream/start", tenant, json!({})).await;
        ids.push(
            started.data()["streamId"]
                .as_str()
                .unwrap()
                .parse::<Uuid>()
                .unwrap(),
        );
    }
    let a = node(&app, "node-a");
    let mut epochs = Vec::new();
    for id in &ids {
        epochs.push(a.claim(*id).await.unwrap().expect("claimed").epoch);
    }
    let before = [
        row_version(&app, ids[0]).await,
        row_version(&app, ids[1]).await,
    ];
    let all: Vec<Held> = ids
        .iter()
        .zip(&epochs)
        .map(|(&stream_id, &epoch)| Held { stream_id, epoch })
        .collect();
    for _ in 0..3 {
        let states = a.renew(all.clone()).await.unwrap().unwrap();
        assert!(states.iter().all(|s| s.held), "{states:?}");
    }
    // Renewing held streams writes the node's lease, not the streams' rows.
    let after = [
        row_version(&app, ids[0]).await,
        row_version(&app, ids[1]).await,
    ];
    assert_eq!(before, after, "a renewal wrote a stream row");

    // The node drops the second stream without a release (it never arrived): once the
    // claim is older than a lease, its renewals without it give it back for dispatch.
    expire_claim_guard(&app).await;
    assert!(renew(&a, ids[0], epochs[0]).await);
    assert_eq!(
        control_plane::dispatch::reaper::reap_once(&app.state)
            .await
            .unwrap(),
        1
    );
    // Listed again (late), the dropped stream is no longer the node's; the other one is.
    let states = a.renew(all).await.unwrap().unwrap();
    assert!(states[0].held, "the listed stream stays: {states:?}");
    assert!(!states[1].held, "the dropped stream moved: {states:?}");
    let b = node(&app, "node-b");
    b.claim(ids[1])
        .await
        .unwrap()
        .expect("node-b takes the dropped stream");
}

/// Ages every claim past its first-renewal guard (the node leases stay as they are).
async fn expire_claim_guard(app: &TestApp) {
    sqlx::query("UPDATE streams SET lease_expires_at = now() - interval '1 second' WHERE node_id IS NOT NULL")
        .execute(&app.state.db)
        .await
        .unwrap();
}
