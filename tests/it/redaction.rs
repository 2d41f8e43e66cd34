//! What reaches tenants (issue 15, item 11, the control plane's points): outputs'
//! `user:pass@` never answered back (and kept through a GET → PATCH round trip), a node's
//! failure text with a signed asset URL or credentials reaches the status and events
//! redacted, a long multi-byte failure text is cut on a character boundary (it used to
//! panic), and events nodes publish straight to Redis are redacted too.

use std::time::Duration;

use serde_json::json;
use shared::events::{EventType, TenantEvent};
use shared::redis_link::events::{publish, tenant_channel};
use stream_manager_tests::spawn_app;
use stream_manager_tests::test_app::NODE_SECRET;
use stream_manager_tests::ws::{connect, next_of};

const SECRET_URL: &str = "rtmp://bob:hunter2@a.rtmp.youtube.com/live2/key-0123456789";

#[tokio::test]
async fn output_credentials_are_never_answered_and_survive_a_round_trip() {
    let app = spawn_app().await;
    let r = app
        .patch("/stream/config", "acme", json!({ "outputs": [SECRET_URL] }))
        .await;
    r.expect(200);
    assert!(!r.body.to_string().contains("hunter2"), "{}", r.body);
    assert_eq!(
        r.data()["outputs"][0],
        "rtmp://****@a.rtmp.youtube.com/live2/key-0123456789"
    );
    let shown = app.get("/stream/config", "acme").await;
    assert!(
        !shown.body.to_string().contains("hunter2"),
        "{}",
        shown.body
    );
    // A client writing back what it was shown keeps the stored credentials.
    let mut back = shown.data().clone();
    back["TARGET_FPS"] = json!(25);
    app.patch("/stream/config", "acme", back).await.expect(200);
    let stored: String =
        sqlx::query_scalar("SELECT config->'outputs'->>0 FROM streams WHERE tenant_id = 'acme'")
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert_eq!(stored, SECRET_URL);
}

#[tokio::test]
async fn a_nodes_failure_text_reaches_the_tenant_redacted_and_cut_on_a_character() {
    let app = spawn_app().await;
    let started = app.post("/stream/start", "acme", json!({})).await;
    let id = started.data()["streamId"].as_str().unwrap().to_owned();
    let mut ws = connect(&app, "/stream/events", "acme", false)
        .await
        .unwrap();
    let node = |path: String, body: serde_json::Value| {
        app.client
            .post(format!("{}{path}", app.base))
            .bearer_auth(NODE_SECRET)
            .header("x-node-id", "node-a")
            .json(&body)
            .send()
    };
    let grant: serde_json::Value = node(format!("/internal/streams/{id}/claim"), json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let epoch = grant["data"]["epoch"].as_i64().unwrap();
    // What GStreamer says when an image layer's fetch fails, then a long tail of 3-byte
    // characters so that byte 500 falls inside one.
    let failure = format!(
        "souphttpsrc0: Not Found (404), URL: http://10.1.2.3:8080/internal/assets/5f0c?sig=c0ffee1234, \
         output rtmp://bob:hunter2@h/live/k failed {}",
        "€".repeat(200)
    );
    let released = node(
        format!("/internal/streams/{id}/release"),
        json!({ "epoch": epoch, "failure": failure }),
    )
    .await
    .unwrap();
    assert_eq!(released.status(), 200, "{}", released.text().await.unwrap());
    let event = next_of(&mut ws, "stream:error", Duration::from_secs(5))
        .await
        .expect("a stream:error event");
    let reason = event["data"]["reason"].as_str().unwrap();
    for secret in ["c0ffee1234", "hunter2"] {
        assert!(!reason.contains(secret), "{reason}");
    }
    assert!(
        reason.contains("sig=****") && reason.contains("rtmp://****@h/"),
        "{reason}"
    );
    assert!(reason.len() <= 500 && reason.ends_with('€'), "{reason}");
    let status = app.get("/stream/status", "acme").await;
    assert!(
        !status.body.to_string().contains("c0ffee1234"),
        "{}",
        status.body
    );

    // Nodes also publish events straight to Redis: the control plane redacts those too.
    let published = TenantEvent::new(
        "acme",
        id.parse().unwrap(),
        EventType::StreamError,
        json!({ "reason": "fetch http://n:1/internal/assets/x?sig=abad1dea failed" }),
    );
    let mut redis = app.state.redis.clone();
    publish(
        &mut redis,
        &tenant_channel(&app.namespace, "acme"),
        &serde_json::to_string(&published).unwrap(),
    )
    .await
    .unwrap();
    let event = next_of(&mut ws, "stream:error", Duration::from_secs(5))
        .await
        .expect("the node's event");
    assert_eq!(
        event["data"]["reason"],
        "fetch http://n:1/internal/assets/x?sig=**** failed"
    );
}
