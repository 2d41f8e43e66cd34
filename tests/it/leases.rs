use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use shared::messages::{CommandEnvelope, NodeCommand};
use stream_manager_tests::test_app::NODE_SECRET;
use stream_manager_tests::{TestApp, spawn_app};

async fn node_call(
    app: &TestApp,
    node: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(NODE_SECRET)
        .header("x-node-id", node);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn expire_leases(app: &TestApp) {
    sqlx::query("UPDATE streams SET lease_expires_at = now() - interval '1 second' WHERE node_id IS NOT NULL")
        .execute(&app.state.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn one_node_holds_a_stream_and_a_lapsed_lease_is_dispatched_again() {
    let app = spawn_app().await;
    let started = app.post("/stream/start", "acme", json!({})).await;
    let id = started.data()["streamId"].as_str().unwrap().to_owned();
    app.flush_outbox().await;
    app.next_message(&app.jobs_queue(), Duration::from_secs(10))
        .await
        .expect("start job");

    // Wrong secret: refused.
    let resp = app
        .client
        .post(format!("{}/internal/streams/{id}/claim", app.base))
        .bearer_auth("nope")
        .header("x-node-id", "a")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    let (status, grant) = node_call(
        &app,
        "node-a",
        Method::POST,
        &format!("/internal/streams/{id}/claim"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{grant}");
    let epoch = grant["data"]["epoch"].as_i64().unwrap();
    assert_eq!(grant["data"]["spec"]["streamId"], id.as_str());
    // A second node cannot take a held stream.
    let (status, _) = node_call(
        &app,
        "node-b",
        Method::POST,
        &format!("/internal/streams/{id}/claim"),
        None,
    )
    .await;
    assert_eq!(status, 409);
    let (_, renewed) = node_call(
        &app,
        "node-a",
        Method::POST,
        "/internal/leases/renew",
        Some(json!({"leases": [{"streamId": id, "epoch": epoch}]})),
    )
    .await;
    assert_eq!(renewed["data"][0]["held"], true);
    let (status, _) = node_call(
        &app,
        "node-a",
        Method::POST,
        &format!("/internal/streams/{id}/live"),
        Some(json!({"epoch": epoch})),
    )
    .await;
    assert_eq!(status, 200);

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
    let (status, grant_b) = node_call(
        &app,
        "node-b",
        Method::POST,
        &format!("/internal/streams/{id}/claim"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(grant_b["data"]["epoch"].as_i64().unwrap() > epoch);
    // The old holder comes back: fenced, its renewal fails, so it stops pushing.
    let (_, renewed) = node_call(
        &app,
        "node-a",
        Method::POST,
        "/internal/leases/renew",
        Some(json!({"leases": [{"streamId": id, "epoch": epoch}]})),
    )
    .await;
    assert_eq!(renewed["data"][0]["held"], false);
    app.cleanup_broker().await;
}

#[tokio::test]
async fn stop_fences_the_holder_and_failures_end_in_failed_with_a_reason() {
    let app = spawn_app().await;
    let started = app.post("/stream/start", "acme", json!({})).await;
    let id = started.data()["streamId"].as_str().unwrap().to_owned();
    let (_, grant) = node_call(
        &app,
        "node-a",
        Method::POST,
        &format!("/internal/streams/{id}/claim"),
        None,
    )
    .await;
    let epoch = grant["data"]["epoch"].as_i64().unwrap();
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    let (_, renewed) = node_call(
        &app,
        "node-a",
        Method::POST,
        "/internal/leases/renew",
        Some(json!({"leases": [{"streamId": id, "epoch": epoch}]})),
    )
    .await;
    assert_eq!(
        renewed["data"][0]["held"], false,
        "a stopped stream's lease is gone"
    );
    let (status, _) = node_call(
        &app,
        "node-a",
        Method::POST,
        &format!("/internal/streams/{id}/claim"),
        None,
    )
    .await;
    assert_eq!(status, 409, "a stopped stream cannot be claimed");

    // A node that cannot start the pipeline releases with a reason: the stream shows failed.
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let (_, grant) = node_call(
        &app,
        "node-a",
        Method::POST,
        &format!("/internal/streams/{id}/claim"),
        None,
    )
    .await;
    let epoch = grant["data"]["epoch"].as_i64().unwrap();
    let (status, _) = node_call(
        &app,
        "node-a",
        Method::POST,
        &format!("/internal/streams/{id}/release"),
        Some(json!({"epoch": epoch, "failure": "x264enc is missing"})),
    )
    .await;
    assert_eq!(status, 200);
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
    for _ in 0..3 {
        let (status, _) = node_call(
            &app,
            "node-x",
            Method::POST,
            &format!("/internal/streams/{id}/claim"),
            None,
        )
        .await;
        assert_eq!(status, 200);
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
    app.cleanup_broker().await;
}
