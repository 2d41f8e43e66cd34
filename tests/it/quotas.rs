//! Per-tenant quotas (issue 15, item 10): count limits hold under concurrency (a per-tenant
//! lock in the create transaction), each counted resource is capped, and API requests are
//! rate-limited per tenant by a token bucket every replica shares.

use reqwest::StatusCode;
use serde_json::json;
use stream_manager_tests::{spawn_app_with, spawn_replica_with};

#[tokio::test]
async fn a_hundred_concurrent_creates_against_a_quota_of_fifty_make_exactly_fifty() {
    let app = spawn_app_with(|c| {
        c.quotas.streams = 50;
        c.quotas.requests_per_second = 0.0;
        c.db_max_connections = 10;
    })
    .await;
    let answers = futures_util::future::join_all(
        (0..100).map(|i| app.post("/streams", "acme", json!({ "name": format!("s{i}") }))),
    )
    .await;
    let created = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    for refused in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        refused.expect(409);
        assert_eq!(refused.code(), "quota_exceeded");
        assert_eq!(refused.body["error"]["field"], "QUOTA_STREAMS");
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM streams WHERE tenant_id = 'acme'")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    eprintln!("FIGURE quota_concurrent_creates_created={created} streams");
    assert_eq!((created, rows), (50, 50));
    // Another tenant is not affected.
    app.post("/streams", "globex", json!({"name": "one"}))
        .await
        .expect(201);
}

#[tokio::test]
async fn layers_keys_scenes_assets_and_running_streams_are_capped_per_tenant() {
    let app = spawn_app_with(|c| {
        c.quotas.layers = 2;
        c.quotas.keys = 1;
        // The default stream's `main` scene is one of them.
        c.quotas.scenes = 2;
        c.quotas.running_streams = 1;
        c.quotas.assets = 1;
    })
    .await;
    let color = json!({"kind": "color", "source": {"color": "#ff0000"}});
    app.post("/stream/layers", "acme", color.clone())
        .await
        .expect(201);
    app.post("/stream/layers", "acme", color.clone())
        .await
        .expect(201);
    let r = app.post("/stream/layers", "acme", color.clone()).await;
    r.expect(409);
    assert_eq!(r.body["error"]["field"], "QUOTA_LAYERS");

    app.post("/stream/keys", "acme", json!({}))
        .await
        .expect(201);
    let r = app.post("/stream/keys", "acme", json!({})).await;
    r.expect(409);
    assert_eq!(r.body["error"]["field"], "QUOTA_KEYS");

    app.post("/stream/scenes", "acme", json!({"name": "two"}))
        .await
        .expect(201);
    let r = app
        .post("/stream/scenes", "acme", json!({"name": "three"}))
        .await;
    r.expect(409);
    assert_eq!(r.body["error"]["field"], "QUOTA_SCENES");

    let token = app.token("acme");
    let png = |shade: u8| {
        let img = image::RgbaImage::from_pixel(4, 4, image::Rgba([shade, 0, 0, 255]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let up = |body| {
        app.raw(
            reqwest::Method::POST,
            "/stream/assets",
            Some(&token),
            "image/png",
            body,
        )
    };
    up(png(1)).await.expect(201);
    // The same bytes again are the same asset, not a second one.
    up(png(1)).await.expect(201);
    let r = up(png(2)).await;
    r.expect(409);
    assert_eq!(r.body["error"]["field"], "QUOTA_ASSETS");

    // On air counts running and paused streams, not created ones.
    let second = app
        .post("/streams", "acme", json!({"name": "second"}))
        .await;
    second.expect(201);
    let second = second.data()["id"].as_str().unwrap().to_owned();
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let r = app
        .post(&format!("/streams/{second}/start"), "acme", json!({}))
        .await;
    r.expect(409);
    assert_eq!(r.body["error"]["field"], "QUOTA_RUNNING_STREAMS");
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    app.post(&format!("/streams/{second}/start"), "acme", json!({}))
        .await
        .expect(200);
    // Each tenant counts its own.
    app.post("/stream/layers", "globex", color)
        .await
        .expect(201);
}

#[tokio::test]
async fn api_requests_are_rate_limited_per_tenant_over_every_replica() {
    let limit = |c: &mut control_plane::config::Config| {
        c.quotas.requests_per_second = 2.0;
        c.quotas.request_burst = 6.0;
    };
    let a = spawn_app_with(limit).await;
    let b = spawn_replica_with(&a, limit).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let replica = if i % 2 == 0 { &a } else { &b };
        let r = replica.get("/streams", "acme").await;
        statuses.push(r.status.as_u16());
    }
    // Six in the burst, whichever replica served them; the refill in the time the calls
    // take (a few ms each) is a fraction of one token.
    assert_eq!(&statuses[..6], &[200; 6], "{statuses:?}");
    assert!(statuses[6..].contains(&429), "{statuses:?}");
    let refused = a
        .client
        .get(format!("{}/streams", a.base))
        .bearer_auth(a.token("acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "1");
    // Another tenant's budget is its own.
    b.get("/streams", "globex").await.expect(200);
    // The bucket refills.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    a.get("/streams", "acme").await.expect(200);
}
