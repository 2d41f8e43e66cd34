use serde_json::json;
use stream_manager_tests::spawn_app;

#[tokio::test]
async fn default_stream_is_created_once_with_a_main_scene() {
    let app = spawn_app().await;
    let (a, b) = tokio::join!(
        app.get("/stream/status", "acme"),
        app.get("/stream/status", "acme")
    );
    a.expect(200);
    b.expect(200);
    assert_eq!(a.data()["streamId"], b.data()["streamId"]);
    assert_eq!(a.data()["state"], "idle");
    assert_eq!(a.data()["isLive"], false);
    for k in [
        "isPaused",
        "fps",
        "frameCount",
        "droppedFrames",
        "averageRenderTime",
        "startTime",
    ] {
        assert!(a.data().get(k).is_some(), "status lacks {k}");
    }
    let scenes = app.get("/stream/scenes", "acme").await;
    scenes.expect(200);
    assert_eq!(scenes.data()["scenes"][0]["name"], "main");
    assert_eq!(scenes.data()["scenes"][0]["active"], true);
    let list = app.get("/streams", "acme").await;
    assert_eq!(list.data()["count"], 1);
    assert_eq!(list.data()["streams"][0]["isDefault"], true);
}

#[tokio::test]
async fn streams_are_created_listed_read_and_deleted() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/streams",
            "acme",
            json!({"name": "second", "config": {"STREAM_RESOLUTION": "1280x720"}}),
        )
        .await;
    created.expect(201);
    let id = created.data()["id"].as_str().unwrap().to_owned();
    app.get(&format!("/streams/{id}"), "acme").await.expect(200);
    let config = app.get(&format!("/streams/{id}/config"), "acme").await;
    assert_eq!(config.data()["STREAM_RESOLUTION"], "1280x720");
    assert_eq!(app.get("/streams", "acme").await.data()["count"], 1);

    // A started stream cannot be deleted; a stopped one can.
    app.post(&format!("/streams/{id}/start"), "acme", json!({}))
        .await
        .expect(200);
    let refused = app.delete(&format!("/streams/{id}"), "acme").await;
    refused.expect(409);
    assert_eq!(refused.code(), "stream_live");
    app.post(&format!("/streams/{id}/stop"), "acme", json!({}))
        .await
        .expect(200);
    app.delete(&format!("/streams/{id}"), "acme")
        .await
        .expect(200);
    app.get(&format!("/streams/{id}"), "acme").await.expect(404);
    app.get(&format!("/streams/{id}/layers"), "acme")
        .await
        .expect(404);
}

#[tokio::test]
async fn stream_names_are_validated() {
    let app = spawn_app().await;
    let r = app.post("/streams", "acme", json!({"name": ""})).await;
    r.expect(422);
    assert_eq!(r.body["error"]["field"], "name");
    let r = app
        .post(
            "/streams",
            "acme",
            json!({"name": "x", "config": {"TARGET_FPS": 500}}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.body["error"]["field"], "TARGET_FPS");
    assert_eq!(app.get("/streams", "acme").await.data()["count"], 0);
}
