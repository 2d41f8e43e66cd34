use reqwest::Method;
use serde_json::json;
use stream_manager_tests::spawn_app;

/// Tenant "mallory" probes every resource of tenant "acme": every answer is 404 (never 403,
/// which would confirm the id exists) and acme's data is untouched.
#[tokio::test]
async fn another_tenants_ids_are_invisible_and_untouchable() {
    let app = spawn_app().await;
    let acme = "acme";
    let stream = app.get("/stream/status", acme).await.data()["streamId"]
        .as_str()
        .unwrap()
        .to_owned();
    let layer = app
        .post(
            "/stream/layers",
            acme,
            json!({"kind": "color", "source": {"color": "#123456"}}),
        )
        .await;
    let layer = layer.data()["id"].as_str().unwrap().to_owned();
    let key = app.post("/stream/keys", acme, json!({})).await.data()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let scene = app
        .post("/stream/scenes", acme, json!({"name": "s2"}))
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let png = {
        let img = image::RgbaImage::from_pixel(4, 4, image::Rgba([1, 2, 3, 255]));
        let mut c = std::io::Cursor::new(Vec::new());
        img.write_to(&mut c, image::ImageFormat::Png).unwrap();
        c.into_inner()
    };
    let asset = app.upload(&app.token(acme), "image/png", png).await;
    let asset = asset.data()["id"].as_str().unwrap().to_owned();
    let snapshot = |app: &stream_manager_tests::TestApp| {
        let db = app.state.db.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT concat_ws('|',
                    (SELECT string_agg(concat(id, version, desired_state, config::text), ',') FROM streams WHERE tenant_id = 'acme'),
                    (SELECT string_agg(concat(l.id, x, y, opacity, visible, source::text), ',') FROM layers l JOIN streams s ON s.id = l.stream_id WHERE s.tenant_id = 'acme'),
                    (SELECT string_agg(id::text, ',') FROM stream_keys WHERE tenant_id = 'acme'),
                    (SELECT string_agg(concat(c.id, c.name), ',') FROM scenes c JOIN streams s ON s.id = c.stream_id WHERE s.tenant_id = 'acme'),
                    (SELECT string_agg(id::text, ',') FROM assets WHERE tenant_id = 'acme'))",
            )
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let before = snapshot(&app).await;

    let m = "mallory";
    let s = format!("/streams/{stream}");
    let probes: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, s.clone(), None),
        (Method::DELETE, s.clone(), None),
        (Method::GET, format!("{s}/status"), None),
        (Method::GET, format!("{s}/metrics"), None),
        (Method::POST, format!("{s}/start"), None),
        (Method::POST, format!("{s}/stop"), None),
        (Method::POST, format!("{s}/pause"), None),
        (Method::GET, format!("{s}/config"), None),
        (
            Method::PATCH,
            format!("{s}/config"),
            Some(json!({"TARGET_FPS": 25})),
        ),
        (Method::GET, format!("{s}/keys"), None),
        (Method::POST, format!("{s}/keys"), None),
        (Method::DELETE, format!("{s}/keys/{key}"), None),
        (Method::GET, format!("{s}/layers"), None),
        (
            Method::POST,
            format!("{s}/layers"),
            Some(json!({"kind": "color", "source": {"color": "#000000"}})),
        ),
        (Method::GET, format!("{s}/layers/{layer}"), None),
        (
            Method::PATCH,
            format!("{s}/layers/{layer}"),
            Some(json!({"opacity": 0.1})),
        ),
        (Method::DELETE, format!("{s}/layers/{layer}"), None),
        (Method::GET, format!("{s}/scenes"), None),
        (
            Method::POST,
            format!("{s}/scenes/{scene}/activate"),
            Some(json!({})),
        ),
        (Method::GET, format!("{s}/assets/{asset}"), None),
        // Acme's ids through mallory's own default stream.
        (Method::GET, format!("/stream/layers/{layer}"), None),
        (
            Method::PATCH,
            format!("/stream/layers/{layer}"),
            Some(json!({"visible": false})),
        ),
        (Method::DELETE, format!("/stream/layers/{layer}"), None),
        (Method::DELETE, format!("/stream/keys/{key}"), None),
        (
            Method::POST,
            format!("/stream/scenes/{scene}/activate"),
            Some(json!({})),
        ),
        (Method::GET, format!("/stream/assets/{asset}"), None),
        (Method::GET, format!("/stream/assets/{asset}/content"), None),
        // Acme's asset and key as sources of mallory's layers.
        (
            Method::POST,
            "/stream/layers".into(),
            Some(json!({"kind": "image", "source": {"assetId": asset}})),
        ),
        (
            Method::POST,
            "/stream/layers".into(),
            Some(json!({"kind": "ingest", "source": {"keyId": key}})),
        ),
    ];
    for (method, path, body) in probes {
        let r = app.call(method.clone(), &path, Some(m), body).await;
        assert_eq!(r.status.as_u16(), 404, "{method} {path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "not_found");
    }
    assert_eq!(snapshot(&app).await, before, "acme's data changed");
    assert_eq!(
        app.get("/streams", m).await.data()["streams"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
