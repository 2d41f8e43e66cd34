use std::time::Duration;

use serde_json::json;
use shared::messages::{CommandEnvelope, NodeCommand};
use stream_manager_tests::spawn_app;

#[tokio::test]
async fn start_publishes_one_job_and_is_idempotent() {
    let app = spawn_app().await;
    app.post(
        "/stream/layers",
        "acme",
        json!({"kind": "color", "source": {"color": "#112233"}}),
    )
    .await
    .expect(201);
    let started = app.post("/stream/start", "acme", json!({})).await;
    started.expect(200);
    assert_eq!(started.data()["state"], "queued");
    assert!(started.data()["startTime"].is_number());
    let stream_id = started.data()["streamId"].as_str().unwrap().to_owned();
    let version = started.data()["version"].as_i64().unwrap();

    // A second start is a no-op answering the current state: same version, no new job.
    let again = app.post("/stream/start", "acme", json!({})).await;
    again.expect(200);
    assert_eq!(again.data()["version"].as_i64().unwrap(), version);

    app.flush_outbox().await;
    let msg = app
        .next_message(&app.jobs_queue(), Duration::from_secs(10))
        .await
        .expect("a start job on the queue");
    let env: CommandEnvelope = serde_json::from_value(msg).expect("a valid command");
    assert_eq!(env.message_version, shared::messages::MESSAGE_VERSION);
    let NodeCommand::Start { spec } = env.command else {
        panic!("expected a start command, got {:?}", env.command)
    };
    assert_eq!(spec.stream_id.to_string(), stream_id);
    assert_eq!(spec.version, version);
    assert_eq!(spec.tenant_id, "acme");
    assert_eq!(spec.layers.len(), 1);
    assert_eq!(spec.active_layers().len(), 1);
    assert!(
        app.next_message(&app.jobs_queue(), Duration::from_millis(500))
            .await
            .is_none()
    );

    let audit: Vec<String> = sqlx::query_scalar("SELECT action FROM stream_audit ORDER BY id")
        .fetch_all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(audit, ["start"]);
}

#[tokio::test]
async fn the_relay_publishes_by_itself() {
    let app = spawn_app().await;
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    // No flush: the relay loop woken by the commit must publish on its own.
    let msg = app
        .next_message(&app.jobs_queue(), Duration::from_secs(10))
        .await;
    assert!(msg.is_some(), "the relay did not publish the start job");
    // The relay marks the row sent when its transaction commits, just after the confirm.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&app.state.db)
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} commands never marked published"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn stop_pause_and_resume_follow_the_rules() {
    let app = spawn_app().await;
    // Pausing or resuming a stopped stream is refused; stopping it is a no-op.
    app.post("/stream/pause", "acme", json!({}))
        .await
        .expect(409);
    app.post("/stream/resume", "acme", json!({}))
        .await
        .expect(409);
    let stopped = app.post("/stream/stop", "acme", json!({})).await;
    stopped.expect(200);
    assert_eq!(stopped.data()["state"], "idle");
    let v0 = stopped.data()["version"].as_i64().unwrap();

    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let paused = app.post("/stream/pause", "acme", json!({})).await;
    paused.expect(200);
    assert_eq!(paused.data()["isPaused"], true);
    app.post("/stream/pause", "acme", json!({}))
        .await
        .expect(200);
    let resumed = app.post("/stream/resume", "acme", json!({})).await;
    resumed.expect(200);
    assert_eq!(resumed.data()["isPaused"], false);
    let stopped = app.post("/stream/stop", "acme", json!({})).await;
    stopped.expect(200);
    assert_eq!(stopped.data()["state"], "idle");
    assert_eq!(stopped.data()["startTime"], serde_json::Value::Null);
    let v1 = stopped.data()["version"].as_i64().unwrap();
    assert_eq!(
        v1,
        v0 + 4,
        "start, pause, resume and stop each bump the version once"
    );
    let again = app.post("/stream/stop", "acme", json!({})).await;
    assert_eq!(again.data()["version"].as_i64().unwrap(), v1);

    let metrics = app.get("/stream/metrics", "acme").await;
    metrics.expect(200);
    for k in [
        "fps",
        "bitrate",
        "droppedFrames",
        "viewerCount",
        "cpuUsage",
        "memoryUsage",
    ] {
        assert!(metrics.data().get(k).is_some(), "metrics lack {k}");
    }
}

#[tokio::test]
async fn status_shows_what_a_node_reports() {
    let app = spawn_app().await;
    let started = app.post("/stream/start", "acme", json!({})).await;
    let id: uuid::Uuid = started.data()["streamId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let report = shared::status::LiveReport {
        state: shared::status::StreamState::Live,
        node_id: Some("node-a".into()),
        version: 2,
        fps: 29.97,
        frame_count: 900,
        average_render_time: 3.5,
        start_time: Some(1_700_000_000_000),
        outputs: vec![shared::status::OutputStatus {
            url: "rtmp://x/live/****abcd".into(),
            state: shared::status::OutputState::Active,
            error: None,
        }],
        ..Default::default()
    };
    // Only the lease holder's report counts.
    sqlx::query("UPDATE streams SET node_id = 'node-a' WHERE id = $1")
        .bind(id)
        .execute(&app.state.db)
        .await
        .unwrap();
    let mut redis = app.state.redis.clone();
    let _: () = redis::AsyncCommands::set(
        &mut redis,
        control_plane::live::report_key(&app.namespace, id),
        serde_json::to_string(&report).unwrap(),
    )
    .await
    .unwrap();
    let status = app.get("/stream/status", "acme").await;
    assert_eq!(status.data()["isLive"], true);
    assert_eq!(status.data()["state"], "live");
    assert_eq!(status.data()["nodeId"], "node-a");
    assert_eq!(status.data()["frameCount"], 900);
    assert_eq!(status.data()["outputs"][0]["state"], "active");
    let metrics = app.get("/stream/metrics", "acme").await;
    assert_eq!(metrics.data()["fps"], 29.97);
    let _: () = redis::AsyncCommands::del(
        &mut redis,
        control_plane::live::report_key(&app.namespace, id),
    )
    .await
    .unwrap();
}
