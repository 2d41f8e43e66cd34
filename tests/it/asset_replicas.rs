//! A node fetches uploaded images from any control-plane replica (issue 15, item 11): with
//! the first `CONTROL_PLANE_URL` down, an image layer naming an asset still shows on air.

use std::time::Duration;

use serde_json::json;
use stream_manager_tests::nodes::{Receiver, free_port, spawn_node_with_env};
use stream_manager_tests::spawn_app_with_private_urls;

use crate::fleet::{add_blue_asset_layer, small_stream, wait_status};

#[tokio::test]
async fn an_asset_layer_shows_when_the_first_control_plane_url_is_down() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start("asset-replicas", 320, 180);
    small_stream(&app, vec![receiver.url.clone()]).await;
    add_blue_asset_layer(&app).await;
    // Nothing listens on the first URL.
    let urls = format!("http://127.0.0.1:{},{}", free_port(), app.base);
    let node = spawn_node_with_env(&app, "node-a", 1, &[("CONTROL_PLANE_URL", &urls)]);
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let live = wait_status(&app, Duration::from_secs(25), |s| s["state"] == "live").await;
    assert_eq!(live["state"], "live", "{live}\n{}", node.log_text());
    let blue = receiver
        .wait_for_pixel((232, 132), [0, 0, 255], Duration::from_secs(15))
        .await;
    assert!(
        blue.is_some(),
        "the asset never showed:\n{}",
        node.log_text()
    );
}
