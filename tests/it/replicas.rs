use serde_json::json;
use stream_manager_tests::{spawn_app, spawn_replica};

/// Two control planes on one Postgres and Redis answer the same, whichever took the write.
#[tokio::test]
async fn two_replicas_agree() {
    let a = spawn_app().await;
    let b = spawn_replica(&a).await;
    assert_ne!(a.base, b.base);
    let layer = a
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "color", "source": {"color": "#abcdef"}}),
        )
        .await;
    layer.expect(201);
    let id = layer.data()["id"].as_str().unwrap().to_owned();
    b.patch(
        &format!("/stream/layers/{id}"),
        "acme",
        json!({"opacity": 0.25}),
    )
    .await
    .expect(200);
    a.post("/stream/start", "acme", json!({})).await.expect(200);
    for path in [
        "/stream/status",
        "/stream/layers",
        "/stream/config",
        "/stream/scenes",
        "/streams",
    ] {
        let (ra, rb) = (a.get(path, "acme").await, b.get(path, "acme").await);
        assert_eq!(ra.body, rb.body, "{path} differs between replicas");
    }
    assert_eq!(
        b.get(&format!("/stream/layers/{id}"), "acme").await.data()["opacity"],
        0.25
    );
    // A start through B on the stream A started is a no-op.
    let v = a.get("/stream/status", "acme").await.data()["version"].clone();
    b.post("/stream/start", "acme", json!({})).await.expect(200);
    assert_eq!(b.get("/stream/status", "acme").await.data()["version"], v);
}
