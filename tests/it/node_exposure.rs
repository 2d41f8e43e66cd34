//! What a render node shows to whoever can reach its HTTP endpoint without credentials:
//! node-wide figures, never the tenants' stream ids, and no stream's picture without a
//! signed, unexpired URL.

use std::time::Duration;

use serde_json::json;
use stream_manager_tests::nodes::{METRICS_TOKEN, Receiver, spawn_node};
use stream_manager_tests::spawn_app_with_private_urls;
use stream_manager_tests::test_app::NODE_SECRET;

use crate::fleet::{small_stream, wait_status};

#[tokio::test]
async fn node_metrics_and_snapshots_need_the_metrics_token_or_a_signed_url() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start("exposure", 320, 180);
    small_stream(&app, vec![receiver.url.clone()]).await;
    let _node = spawn_node(&app, "node-a", 1);
    let started = app.post("/stream/start", "acme", json!({})).await;
    started.expect(200);
    let stream_id = started.data()["streamId"].as_str().unwrap().to_owned();
    let live = wait_status(&app, Duration::from_secs(20), |s| s["state"] == "live").await;
    assert_eq!(live["state"], "live", "never went live: {live}");
    let fleet = app.fleet().await;
    let addr = fleet["data"]["nodes"][0]["httpAddr"]
        .as_str()
        .unwrap()
        .to_owned();
    let scrape = |token: Option<&'static str>| {
        let mut req = app.client.get(format!("http://{addr}/metrics"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    // The first report reaches the exposition within about a second.
    let mut with = String::new();
    for _ in 0..50 {
        with = scrape(Some(METRICS_TOKEN)).await;
        if with.contains(&stream_id) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        with.contains(&format!("stream_frames_total{{stream_id=\"{stream_id}\"}}")),
        "{with}"
    );
    // The snapshot: only a URL signed for this stream, unexpired, gets the frame.
    let id: uuid::Uuid = stream_id.parse().unwrap();
    let get = |url: String| {
        let req = app.client.get(url);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let now = shared::node_api::signing::unix_now_secs();
    let signed = shared::node_api::paths::snapshot_url(&addr, id, NODE_SECRET, now);
    assert_eq!(get(signed.clone()).await, 200, "{signed}");
    let plain = format!("http://{addr}/streams/{stream_id}/snapshot.jpg");
    assert_eq!(get(plain.clone()).await, 404, "unsigned");
    let forged = shared::node_api::paths::snapshot_url(&addr, id, "not-the-secret", now);
    assert_eq!(get(forged).await, 404, "signed with another secret");
    let expired = shared::node_api::paths::snapshot_url(&addr, id, NODE_SECRET, now - 120);
    assert_eq!(get(expired).await, 404, "expired");
    let other = signed.replace(&stream_id, &uuid::Uuid::new_v4().to_string());
    assert_eq!(get(other).await, 404, "another stream's signature");
    // The tenant's preview goes through the control plane, which signs its fetch.
    let preview = app.get_raw("/stream/preview.jpg", "acme").await;
    assert_eq!(preview.status().as_u16(), 200);
    assert_eq!(preview.headers()["content-type"], "image/jpeg");

    for token in [None, Some("wrong-token")] {
        let text = scrape(token).await;
        assert!(text.contains("node_capacity"), "{text}");
        assert!(
            !text.contains(&stream_id) && !text.contains("stream_id="),
            "{token:?} sees stream ids:\n{text}"
        );
    }
}
