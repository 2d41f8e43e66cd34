//! RTMP ingest against encoders that are not what they claim: keys kept out of logs even
//! when everything logs at debug, connections that never publish, floods from one address.

use std::time::{Duration, Instant};

use serde_json::json;
use stream_manager_tests::nodes::{Encoder, spawn_node_with_env};
use stream_manager_tests::spawn_app_with_private_urls;

#[tokio::test]
async fn a_stream_key_stays_out_of_the_nodes_log_with_every_library_at_debug() {
    let app = spawn_app_with_private_urls(true).await;
    let key = app.post("/stream/keys", "acme", json!({})).await;
    key.expect(201);
    let value = key.data()["key"].as_str().unwrap().to_owned();
    // Every target at debug: the RTMP library's own lines (unknown commands such as
    // ffmpeg's releaseStream/FCPublish, which carry the key) included.
    let node = spawn_node_with_env(&app, "node-a", 1, &[("RUST_LOG", "debug")]);
    let encoder = Encoder::publish(&node.ingest_url(&value), "0x00FF00", "320x180");
    let t0 = Instant::now();
    while !node.log_text().contains("encoder publishing") {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the encoder never published:\n{}",
            node.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(encoder);
    let log = node.log_text();
    let secret = value.trim_start_matches("sk_");
    assert!(
        !log.contains(&secret[..secret.len().min(12)]),
        "a stream key reached the node's log"
    );
}
