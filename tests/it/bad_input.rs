use reqwest::Method;
use serde_json::json;
use stream_manager_tests::spawn_app;

#[tokio::test]
async fn each_class_of_bad_input_gets_its_status_in_the_envelope() {
    let app = spawn_app().await;
    let token = app.token("acme");
    let layer = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "color", "source": {"color": "#000000"}}),
        )
        .await;
    let id = layer.data()["id"].as_str().unwrap().to_owned();
    let path = format!("/stream/layers/{id}");

    let r = app
        .raw(
            Method::PATCH,
            &path,
            Some(&token),
            "application/json",
            b"{\"opacity\": ".to_vec(),
        )
        .await;
    r.expect(400);
    assert_eq!(r.code(), "bad_request");
    let r = app
        .raw(
            Method::PATCH,
            &path,
            Some(&token),
            "application/json",
            b"not json".to_vec(),
        )
        .await;
    r.expect(400);
    let r = app
        .raw(
            Method::PATCH,
            &path,
            Some(&token),
            "text/plain",
            b"{}".to_vec(),
        )
        .await;
    r.expect(415);
    let r = app.patch(&path, "acme", json!({"opacity": "half"})).await;
    r.expect(422);
    assert_eq!(r.body["error"]["field"], "opacity");
    let r = app
        .patch(
            &path,
            "acme",
            json!({"position": {"x": 99999999999_i64, "y": 0}}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.body["error"]["field"], "position.x");
    let big = format!("{{\"name\": \"{}\"}}", "a".repeat(200 * 1024));
    let r = app
        .raw(
            Method::PATCH,
            &path,
            Some(&token),
            "application/json",
            big.into_bytes(),
        )
        .await;
    r.expect(413);
    assert_eq!(r.code(), "payload_too_large");

    app.get("/stream/layers/not-a-uuid", "acme")
        .await
        .expect(404);
    app.get(&format!("/stream/layers/{}", uuid::Uuid::new_v4()), "acme")
        .await
        .expect(404);
    app.get("/streams/not-a-uuid/status", "acme")
        .await
        .expect(404);
    app.get("/no/such/route", "acme").await.expect(404);
    app.call(Method::PUT, "/stream/layers", Some("acme"), Some(json!({})))
        .await
        .expect(405);
    app.call(Method::DELETE, "/stream/status", Some("acme"), None)
        .await
        .expect(405);

    // None of it changed the layer.
    assert_eq!(app.get(&path, "acme").await.data(), layer.data());
}
