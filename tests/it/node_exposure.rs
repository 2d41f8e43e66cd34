//! What a render node shows to whoever can reach its HTTP endpoint without credentials:
//! node-wide figures, never the tenants' stream ids.

use std::time::Duration;

use serde_json::json;
use stream_manager_tests::nodes::{METRICS_TOKEN, Receiver, spawn_node};
use stream_manager_tests::spawn_app_with_private_urls;

use crate::fleet::{small_stream, wait_status};

#[tokio::test]
async fn node_metrics_name_streams_only_to_a_scraper_with_the_metrics_token() {
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
    for token in [None, Some("wrong-token")] {
        let text = scrape(token).await;
        assert!(text.contains("node_capacity"), "{text}");
        assert!(
            !text.contains(&stream_id) && !text.contains("stream_id="),
            "{token:?} sees stream ids:\n{text}"
        );
    }
}
