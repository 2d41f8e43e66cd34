use serde_json::{Value, json};
use stream_manager_tests::spawn_app;

#[tokio::test]
async fn every_layer_kind_is_created_read_patched_and_deleted() {
    let app = spawn_app().await;
    let key_id = app.post("/stream/keys", "acme", json!({})).await.data()["id"].clone();
    let kinds = [
        ("color", json!({"color": "#FF000080"})),
        ("image", json!({"url": "https://cdn.example.com/logo.png"})),
        (
            "text",
            json!({"text": "LIVE", "fontFamily": "DejaVu Sans", "fontSize": 64, "color": "#FFFFFF"}),
        ),
        (
            "video",
            json!({"uri": "file:///srv/media/intro.mp4", "loop": true}),
        ),
        ("ingest", json!({"keyId": key_id})),
    ];
    let mut ids = vec![];
    for (i, (kind, source)) in kinds.iter().enumerate() {
        let r = app
            .post(
                "/stream/layers",
                "acme",
                json!({"name": format!("{kind} layer"), "kind": kind, "source": source,
                       "position": {"x": 10 * i, "y": 20}, "size": {"width": 320, "height": 180},
                       "opacity": 0.5}),
            )
            .await;
        r.expect(201);
        assert_eq!(r.data()["kind"], *kind);
        assert_eq!(r.data()["zIndex"], i as i64, "new layers stack on top");
        assert_eq!(r.data()["visible"], true);
        ids.push(r.data()["id"].as_str().unwrap().to_owned());
    }
    let list = app.get("/stream/layers", "acme").await;
    list.expect(200);
    assert_eq!(list.data()["count"], 5);
    let first = app.get(&format!("/stream/layers/{}", ids[0]), "acme").await;
    first.expect(200);
    assert_eq!(first.data()["source"]["color"], "#FF000080");
    assert_eq!(first.data()["opacity"], 0.5);

    let patched = app
        .patch(
            &format!("/stream/layers/{}", ids[2]),
            "acme",
            json!({"visible": false, "position": {"x": 100, "y": 200}, "zIndex": 9, "opacity": 1.0,
                   "source": {"text": "BREAKING"}, "transition": {"durationMs": 500, "easing": "ease-in-out"}}),
        )
        .await;
    patched.expect(200);
    assert_eq!(patched.data()["visible"], false);
    assert_eq!(patched.data()["position"], json!({"x": 100, "y": 200}));
    assert_eq!(patched.data()["source"]["text"], "BREAKING");
    assert_eq!(
        patched.data()["source"]["fontSize"],
        48,
        "a replaced source takes defaults"
    );
    let again = app.get(&format!("/stream/layers/{}", ids[2]), "acme").await;
    assert_eq!(again.data(), patched.data());

    app.delete(&format!("/stream/layers/{}", ids[1]), "acme")
        .await
        .expect(200);
    app.get(&format!("/stream/layers/{}", ids[1]), "acme")
        .await
        .expect(404);
    assert_eq!(app.get("/stream/layers", "acme").await.data()["count"], 4);
}

#[tokio::test]
async fn layer_values_are_validated_and_refusals_change_nothing() {
    let app = spawn_app().await;
    let cases: [(Value, &str); 12] = [
        (
            json!({"kind": "color", "source": {"color": "red"}}),
            "source",
        ),
        (
            json!({"kind": "color", "source": {"color": "#000000"}, "opacity": 2}),
            "opacity",
        ),
        (
            json!({"kind": "color", "source": {"color": "#000000"}, "opacity": -0.1}),
            "opacity",
        ),
        (
            json!({"kind": "color", "source": {"color": "#000000"}, "size": {"width": 0, "height": 5}}),
            "size.width",
        ),
        (
            json!({"kind": "color", "source": {"color": "#000000"}, "position": {"x": 1.5, "y": 0}}),
            "position.x",
        ),
        (json!({"kind": "sparkles", "source": {}}), "kind"),
        (
            json!({"kind": "text", "source": {"text": ""}}),
            "source.text",
        ),
        (
            json!({"kind": "text", "source": {"text": "a", "fontSize": 100000}}),
            "source.fontSize",
        ),
        (
            json!({"kind": "image", "source": {"url": "http://169.254.169.254/latest"}}),
            "source.url",
        ),
        (
            json!({"kind": "image", "source": {"url": "file:///etc/passwd"}}),
            "source.url",
        ),
        (
            json!({"kind": "video", "source": {"uri": "gopher://x"}}),
            "source.uri",
        ),
        (
            json!({"kind": "color", "source": {"color": "#000000"}, "zIndex": "top"}),
            "zIndex",
        ),
    ];
    for (body, field) in cases {
        let r = app.post("/stream/layers", "acme", body.clone()).await;
        r.expect(422);
        assert_eq!(r.body["error"]["field"], field, "{body}: {}", r.body);
    }
    // Unknown assets and keys are 404s, like anything the tenant does not have.
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "image", "source": {"assetId": uuid::Uuid::new_v4()}}),
        )
        .await;
    r.expect(404);
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "ingest", "source": {"keyId": uuid::Uuid::new_v4()}}),
        )
        .await;
    r.expect(404);
    assert_eq!(app.get("/stream/layers", "acme").await.data()["count"], 0);

    let ok = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "color", "source": {"color": "#00ff00"}}),
        )
        .await;
    let id = ok.data()["id"].as_str().unwrap().to_owned();
    let before = ok.data().clone();
    for bad in [
        json!({"opacity": 3}),
        json!({"transition": {"durationMs": 999999}}),
        json!({"source": {"colour": "#fff"}}),
        json!({"kind": "text"}),
    ] {
        app.patch(&format!("/stream/layers/{id}"), "acme", bad)
            .await
            .expect(422);
    }
    assert_eq!(
        app.get(&format!("/stream/layers/{id}"), "acme")
            .await
            .data(),
        &before
    );
}

#[tokio::test]
async fn layers_join_the_active_scene_unless_told_and_filter_by_scene() {
    let app = spawn_app().await;
    let scene = app
        .post("/stream/scenes", "acme", json!({"name": "brb"}))
        .await;
    let scene_id = scene.data()["id"].as_str().unwrap().to_owned();
    let a = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "color", "source": {"color": "#000000"}}),
        )
        .await;
    let b = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "color", "source": {"color": "#ffffff"}, "sceneId": scene_id}),
        )
        .await;
    assert_ne!(a.data()["sceneId"], b.data()["sceneId"]);
    let only = app
        .get(&format!("/stream/layers?sceneId={scene_id}"), "acme")
        .await;
    assert_eq!(only.data()["count"], 1);
    assert_eq!(only.data()["layers"][0]["id"], b.data()["id"]);
    assert_eq!(app.get("/stream/layers", "acme").await.data()["count"], 2);
    app.get("/stream/layers?sceneId=nope", "acme")
        .await
        .expect(422);
    let r = app
        .post("/stream/layers", "acme", json!({"kind": "color", "source": {"color": "#ffffff"}, "sceneId": uuid::Uuid::new_v4()}))
        .await;
    r.expect(404);
}

#[tokio::test]
async fn layer_effects_and_typography_are_stored_and_bad_values_are_422() {
    let app = spawn_app().await;
    let effects = json!([
        {"type": "crop", "left": 10, "top": 0, "right": 10, "bottom": 0},
        {"type": "chromaKey", "color": "#00FF00", "similarity": 0.3, "smoothness": 0.1, "spill": 0.2},
        {"type": "rotate", "degrees": 90.0},
        {"type": "cornerRadius", "radius": 16},
        {"type": "border", "width": 4, "color": "#FFFFFF"},
        {"type": "flip", "horizontal": true, "vertical": false}
    ]);
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "video", "source": {"uri": "file:///srv/media/intro.mp4"},
                   "effects": effects}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.data()["effects"], effects);
    let id = r.data()["id"].as_str().unwrap().to_owned();
    let got = app.get(&format!("/stream/layers/{id}"), "acme").await;
    assert_eq!(got.data()["effects"], effects);
    let patched = app
        .patch(
            &format!("/stream/layers/{id}"),
            "acme",
            json!({"effects": [{"type": "blur", "radius": 4}]}),
        )
        .await;
    patched.expect(200);
    assert_eq!(
        patched.data()["effects"],
        json!([{"type": "blur", "radius": 4}])
    );

    let text = json!({"text": "{{clock:HH:mm:ss}} LIVE", "align": "center",
        "verticalAlign": "middle", "lineHeight": 1.2, "fontWeight": 700, "italic": true,
        "outline": {"width": 2, "color": "#000000"},
        "shadow": {"offsetX": 2, "offsetY": 2, "blur": 4, "color": "#00000080"},
        "background": {"color": "#20202080", "padding": 8, "radius": 6}, "autoFit": true});
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "text", "source": text}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.data()["source"]["align"], "center");
    assert_eq!(r.data()["source"]["background"]["padding"], 8);

    let bad: [(Value, &str); 9] = [
        (
            json!({"effects": [{"type": "chromaKey", "similarity": 1.5}]}),
            "effects[0].similarity",
        ),
        (
            json!({"effects": [{"type": "flip"}, {"type": "blur", "radius": 1000}]}),
            "effects[1].radius",
        ),
        (
            json!({"effects": [{"type": "rotate", "degrees": 400}]}),
            "effects[0].degrees",
        ),
        (
            json!({"effects": [{"type": "border", "width": 0, "color": "#FFFFFF"}]}),
            "effects[0].width",
        ),
        (
            json!({"effects": [{"type": "colorAdjust", "gamma": 0}]}),
            "effects[0].gamma",
        ),
        (json!({"effects": [{"type": "sparkles"}]}), "effects[0]"),
        (json!({"effects": {"type": "blur"}}), "effects"),
        (
            json!({"source": {"text": "a", "lineHeight": 10}}),
            "source.lineHeight",
        ),
        (json!({"source": {"text": "{{weather}}"}}), "source.text"),
    ];
    let text_id = r.data()["id"].as_str().unwrap().to_owned();
    for (body, field) in bad {
        let r = app
            .patch(&format!("/stream/layers/{text_id}"), "acme", body.clone())
            .await;
        r.expect(422);
        assert_eq!(r.body["error"]["field"], field, "{body}: {}", r.body);
    }
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "color", "source": {"color": "#000000"},
                   "effects": [{"type": "cornerRadius", "radius": 99999}]}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.body["error"]["field"], "effects[0].radius");
    // A mask names an asset: someone else's (or none) is a 404.
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "color", "source": {"color": "#000000"},
                   "effects": [{"type": "mask", "assetId": uuid::Uuid::new_v4()}]}),
        )
        .await;
    r.expect(404);
}
