use serde_json::json;
use stream_manager_tests::spawn_app;

#[tokio::test]
async fn config_has_the_seed_keys_and_patches_partially() {
    let app = spawn_app().await;
    let c = app.get("/stream/config", "acme").await;
    c.expect(200);
    assert_eq!(c.data()["STREAM_RESOLUTION"], "1920x1080");
    assert_eq!(c.data()["TARGET_FPS"], 30);
    assert_eq!(c.data()["STREAM_BITRATE"], "4500k");
    assert_eq!(c.data()["ENABLE_HARDWARE_ACCELERATION"], false);
    assert!(c.data()["MAX_LAYERS"].is_number() && c.data()["RENDER_QUALITY"].is_number());
    assert_eq!(c.data()["outputs"], json!([]));

    let p = app
        .patch(
            "/stream/config",
            "acme",
            json!({"STREAM_RESOLUTION": "1280x720", "STREAM_BITRATE": "6M",
                   "outputs": ["rtmp://a.rtmp.youtube.com/live2/key-1", "rtmps://live.twitch.tv/app/key-2"]}),
        )
        .await;
    p.expect(200);
    assert_eq!(p.data()["STREAM_BITRATE"], "6000k");
    let c = app.get("/stream/config", "acme").await;
    assert_eq!(c.data()["STREAM_RESOLUTION"], "1280x720");
    assert_eq!(
        c.data()["TARGET_FPS"],
        30,
        "untouched keys keep their values"
    );
    assert_eq!(c.data()["outputs"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn invalid_config_values_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let before = app.get("/stream/config", "acme").await.data().clone();
    let cases = [
        (json!({"STREAM_RESOLUTION": "big"}), "STREAM_RESOLUTION"),
        (
            json!({"STREAM_RESOLUTION": "1921x1080"}),
            "STREAM_RESOLUTION",
        ),
        (json!({"TARGET_FPS": 0}), "TARGET_FPS"),
        (json!({"TARGET_FPS": "thirty"}), "TARGET_FPS"),
        (json!({"RENDER_QUALITY": 11}), "RENDER_QUALITY"),
        (json!({"MAX_LAYERS": 1000}), "MAX_LAYERS"),
        (json!({"STREAM_BITRATE": "fast"}), "STREAM_BITRATE"),
        (
            json!({"ENABLE_HARDWARE_ACCELERATION": "yes"}),
            "ENABLE_HARDWARE_ACCELERATION",
        ),
        (json!({"outputs": ["http://example.com/x"]}), "outputs[0]"),
        (
            json!({"outputs": ["rtmp://127.0.0.1/live/x"]}),
            "outputs[0]",
        ),
        (json!({"outputs": ["rtmp://10.0.0.1/live/x"]}), "outputs[0]"),
        (json!({"outputs": "rtmp://a.example.com/live/x"}), "outputs"),
        (json!({"NOT_A_KEY": 1}), "body"),
    ];
    for (patch, field) in cases {
        let r = app.patch("/stream/config", "acme", patch.clone()).await;
        r.expect(422);
        let got = r.body["error"]["field"].as_str().unwrap_or("");
        assert!(
            got == field
                || (field == "body"
                    && r.body["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("NOT_A_KEY")),
            "{patch}: field {got:?}, expected {field:?}: {}",
            r.body
        );
    }
    let r = app.patch("/stream/config", "acme", json!([1, 2])).await;
    r.expect(422);
    assert_eq!(
        app.get("/stream/config", "acme").await.data(),
        &before,
        "nothing changed"
    );
}

#[tokio::test]
async fn max_layers_cannot_drop_below_the_layer_count() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.add_layer(json!({"kind": "color", "source": {"color": "#000000"}}))
            .await;
    }
    let r = app
        .patch("/stream/config", "acme", json!({"MAX_LAYERS": 2}))
        .await;
    r.expect(422);
    assert_eq!(r.body["error"]["field"], "MAX_LAYERS");
    app.patch("/stream/config", "acme", json!({"MAX_LAYERS": 3}))
        .await
        .expect(200);
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "color", "source": {"color": "#000000"}}),
        )
        .await;
    r.expect(409);
    assert_eq!(r.code(), "layer_limit");
}
