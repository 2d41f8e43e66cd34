use reqwest::Method;
use stream_manager_tests::spawn_app;

#[tokio::test]
async fn probes_answer_without_a_token() {
    let app = spawn_app().await;
    app.call(Method::GET, "/healthz", None, None)
        .await
        .expect(200);
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    ready.expect(200);
    assert_eq!(ready.data()["postgres"], true);
    assert_eq!(ready.data()["redis"], true);
    assert_eq!(ready.data()["amqp"], true);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    app.get("/stream/status", "acme").await.expect(200);
    app.call(Method::GET, "/stream/status", None, None)
        .await
        .expect(401);
    let text = app.text(&format!("{}/metrics", app.base), None).await;
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains("route=\"/stream/status\"")
            && l.contains("status=\"200\"")),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("status=\"401\""));
}

#[tokio::test]
async fn openapi_document_lists_every_resource() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/streams",
        "/streams/{streamId}",
        "/stream/status",
        "/stream/start",
        "/stream/stop",
        "/stream/pause",
        "/stream/resume",
        "/stream/metrics",
        "/stream/config",
        "/stream/keys",
        "/stream/keys/{id}",
        "/stream/layers",
        "/stream/layers/{id}",
        "/stream/scenes",
        "/stream/scenes/{id}/activate",
        "/stream/assets",
        "/stream/assets/{id}",
        "/streams/{streamId}/layers/{id}",
        "/webhooks",
        "/webhooks/{id}",
        "/webhooks/{id}/deliveries",
        "/webhooks/{id}/deliveries/{deliveryId}/redeliver",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    let params = &doc["paths"]["/streams/{streamId}/layers/{id}"]["patch"]["parameters"];
    assert!(
        params
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "streamId")
    );
    // Layer effects and typography are described, not left as free-form objects.
    let schemas = &doc["components"]["schemas"];
    let effect = serde_json::to_string(&schemas["Effect"]).unwrap();
    for t in [
        "chromaKey",
        "cornerRadius",
        "colorAdjust",
        "rotate",
        "mask",
        "flip",
    ] {
        assert!(effect.contains(t), "Effect schema lacks {t}: {effect}");
    }
    let create = serde_json::to_string(&schemas["CreateLayer"]).unwrap();
    assert!(create.contains("effects"), "{create}");
    let text = serde_json::to_string(&schemas["TextSource"]).unwrap();
    for f in [
        "verticalAlign",
        "lineHeight",
        "autoFit",
        "background",
        "outline",
    ] {
        assert!(text.contains(f), "TextSource schema lacks {f}: {text}");
    }
    // Live sources: a key or a pulled URL, the fallback ladder, and the rung on air.
    for field in [
        "keyId",
        "pull",
        "loop",
        "fallbacks",
        "stallMs",
        "recoverMs",
        "crossfadeMs",
    ] {
        assert!(
            schemas["IngestSource"]["properties"].get(field).is_some(),
            "IngestSource.{field} missing: {}",
            schemas["IngestSource"]
        );
    }
    assert!(
        schemas.get("FallbackRung").is_some(),
        "FallbackRung missing"
    );
    assert!(
        schemas["StreamStatus"]["properties"]
            .get("layerSources")
            .is_some(),
        "StreamStatus.layerSources missing"
    );
    assert!(schemas.get("LayerSourceStatus").is_some());
}
