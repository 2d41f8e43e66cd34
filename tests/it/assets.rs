use std::io::Cursor;

use image::{ImageFormat, Rgba, RgbaImage};
use stream_manager_tests::spawn_app;

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = RgbaImage::from_pixel(w, h, Rgba([255, 0, 0, 128]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn images_are_validated_stored_once_and_served_back() {
    let app = spawn_app().await;
    let token = app.token("acme");
    let bytes = png(64, 32);
    let up = app.upload(&token, "image/png", bytes.clone()).await;
    up.expect(201);
    assert_eq!(up.data()["width"], 64);
    assert_eq!(up.data()["height"], 32);
    assert_eq!(up.data()["contentType"], "image/png");
    let id = up.data()["id"].as_str().unwrap().to_owned();

    // Content-addressed: the same bytes are the same asset.
    let again = app.upload(&token, "image/png", bytes.clone()).await;
    assert_eq!(again.data()["id"], id.as_str());

    app.get(&format!("/stream/assets/{id}"), "acme")
        .await
        .expect(200);
    let served = app
        .client
        .get(format!("{}/stream/assets/{id}/content", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().to_vec(), bytes);

    // The asset can be used by an image layer.
    app.post(
        "/stream/layers",
        "acme",
        serde_json::json!({"kind": "image", "source": {"assetId": id}}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn broken_empty_huge_and_foreign_formats_are_refused() {
    let app = spawn_app().await;
    let token = app.token("acme");
    let mut truncated = png(200, 200);
    truncated.truncate(truncated.len() / 2);
    for body in [
        truncated,
        b"GIF89a not really".to_vec(),
        b"hello".to_vec(),
        vec![],
    ] {
        let r = app.upload(&token, "application/octet-stream", body).await;
        r.expect(422);
    }
    // Over the app's 1 MiB cap.
    let r = app
        .upload(
            &token,
            "application/octet-stream",
            vec![0u8; 2 * 1024 * 1024],
        )
        .await;
    r.expect(413);
    // A PNG claiming enormous dimensions is refused before it is decoded into memory.
    let mut bomb = png(1, 1);
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    app.upload(&token, "image/png", bomb).await.expect(422);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM assets")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
    app.get(&format!("/stream/assets/{}", uuid::Uuid::new_v4()), "acme")
        .await
        .expect(404);
}
