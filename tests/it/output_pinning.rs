//! Issue 15, item 2: destinations are checked on every connection — one added to a live
//! stream, each retry — against the address the connection then uses. The node resolves
//! names only through a name server the test runs: a name that resolves to loopback, added
//! live, is refused; a name that answers a public address first and loopback after (DNS
//! rebinding) never gets a connection to the loopback receiver.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stream_manager_tests::dns::NameServer;
use stream_manager_tests::nodes::{Receiver, spawn_node_with_resolver};
use stream_manager_tests::{TestApp, spawn_app};

use crate::fleet::{live_on_navy, wait_status};

const REFUSED: &str = "destination refused by the node's network policy";
const CONNECTION_FAILED: &str = "could not connect to the destination, or the connection was lost";

/// The port of an `rtmp://127.0.0.1:PORT/...` receiver URL.
fn port_of(url: &str) -> u16 {
    url.split(':')
        .nth(2)
        .and_then(|p| p.split('/').next())
        .unwrap()
        .parse()
        .unwrap()
}

/// A 320x180 stream with no destination, live on its node.
async fn live_without_outputs(app: &TestApp) {
    live_on_navy(app, "320x180").await;
}

/// Every error text the tenant saw on the stream's destinations is one of ours: never which
/// network error it was.
fn only_generic_errors(status: &Value) {
    for o in status["outputs"].as_array().into_iter().flatten() {
        if let Some(e) = o["error"].as_str() {
            assert!(e == REFUSED || e == CONNECTION_FAILED, "{status}");
        }
    }
}

#[tokio::test]
async fn a_destination_added_live_whose_name_resolves_to_loopback_is_refused() {
    let dns = NameServer::start(vec![(
        "private.example.com",
        Box::new(|_| Ipv4Addr::LOCALHOST),
    )]);
    let receiver = Receiver::start("pin-live", 320, 180);
    let app = spawn_app().await;
    let node = spawn_node_with_resolver(
        &app,
        "node-a",
        &[("ALLOW_PRIVATE_MEDIA_URLS", "false")],
        &dns.resolv_conf(),
    );
    live_without_outputs(&app).await;

    let url = format!(
        "rtmp://private.example.com:{}/live/pin-live",
        port_of(&receiver.url)
    );
    app.patch("/stream/config", "acme", json!({ "outputs": [url] }))
        .await
        .expect(200);
    let s = wait_status(&app, Duration::from_secs(15), |s| {
        s["outputs"][0]["state"] == "failed"
    })
    .await;
    assert_eq!(
        s["outputs"][0]["state"],
        "failed",
        "{s}\n{}",
        node.log_text()
    );
    assert_eq!(s["outputs"][0]["error"], REFUSED, "{s}");
    assert!(
        dns.queries("private.example.com") >= 1,
        "the node never asked"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.bytes(), 0, "the loopback receiver got the stream");
    assert_eq!(s["state"], "live", "the stream itself goes on: {s}");
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_name_that_flips_to_loopback_after_its_check_never_reaches_the_receiver() {
    // Every other answer is loopback: the check and a second resolution by the sink would
    // see different addresses.
    let dns = NameServer::start(vec![(
        "flip.example.com",
        Box::new(|n| {
            if n % 2 == 0 {
                Ipv4Addr::new(93, 184, 216, 34)
            } else {
                Ipv4Addr::LOCALHOST
            }
        }),
    )]);
    let mut receiver = Receiver::start("pin-flip", 320, 180);
    let app = spawn_app().await;
    let node = spawn_node_with_resolver(
        &app,
        "node-a",
        &[("ALLOW_PRIVATE_MEDIA_URLS", "false")],
        &dns.resolv_conf(),
    );
    let url = format!(
        "rtmp://flip.example.com:{}/live/pin-flip",
        port_of(&receiver.url)
    );
    app.set_test_output("320x180", "400k", &[&url]).await;
    app.add_layer(json!({"kind": "color", "source": {"color": "#000080"}}))
        .await;
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);

    // Until the node has had both answers (the public one connected to, the loopback one
    // on its retry) and a little after, the receiver hears nothing.
    let deadline = Instant::now() + Duration::from_secs(40);
    while dns.queries("flip.example.com") < 2 && Instant::now() < deadline {
        let s = app.get("/stream/status", "acme").await.data().clone();
        only_generic_errors(&s);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        dns.queries("flip.example.com") >= 2,
        "the node never resolved the name again:\n{}",
        node.log_text()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        receiver.bytes(),
        0,
        "the rebound name reached the loopback receiver:\n{}",
        node.log_text()
    );
    assert!(receiver.still_receiving(), "the receiver had a connection");
    let s = app.get("/stream/status", "acme").await.data().clone();
    only_generic_errors(&s);
    app.post("/stream/stop", "acme", json!({})).await;
}
