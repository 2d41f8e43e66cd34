use std::time::{Duration, Instant};

use serde_json::json;
use stream_manager_tests::ws::{connect, next_event};
use stream_manager_tests::{spawn_app, spawn_replica};
use tokio_tungstenite::tungstenite::Error as WsError;

#[tokio::test]
async fn a_change_through_one_replica_reaches_a_socket_on_the_other_within_a_second() {
    let a = spawn_app().await;
    let b = spawn_replica(&a).await;
    let layer = a
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "color", "source": {"color": "#000000"}}),
        )
        .await;
    let id = layer.data()["id"].as_str().unwrap().to_owned();
    let mut ws = connect(&b, "/stream/events", "acme", false)
        .await
        .expect("socket on replica B");
    let mut browser = connect(&b, "/stream/events", "acme", true)
        .await
        .expect("token in the query");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let sent = Instant::now();
    a.patch(
        &format!("/stream/layers/{id}"),
        "acme",
        json!({"opacity": 0.5}),
    )
    .await
    .expect(200);
    let event = next_event(&mut ws, Duration::from_secs(1))
        .await
        .expect("layer:update within 1 s");
    let elapsed = sent.elapsed();
    assert_eq!(event["type"], "layer:update");
    assert_eq!(
        event["streamId"],
        layer.data()["sceneId"]
            .as_str()
            .map(|_| a.get("/stream/status", "acme"))
            .unwrap()
            .await
            .data()["streamId"]
    );
    assert_eq!(event["data"]["id"], id.as_str());
    assert_eq!(event["data"]["changes"]["opacity"], 0.5);
    eprintln!("replica A change -> replica B socket: {elapsed:?}");
    assert_eq!(
        next_event(&mut browser, Duration::from_secs(1))
            .await
            .unwrap()["type"],
        "layer:update"
    );
}

#[tokio::test]
async fn sockets_see_only_their_own_tenants_stream_and_need_a_token() {
    let app = spawn_app().await;
    app.get("/stream/status", "acme").await.expect(200);
    let mut mallory = connect(&app, "/stream/events", "mallory", false)
        .await
        .unwrap();
    let other = app.post("/streams", "acme", json!({"name": "other"})).await;
    let other_id = other.data()["id"].as_str().unwrap().to_owned();
    let mut other_ws = connect(&app, &format!("/streams/{other_id}/events"), "acme", false)
        .await
        .unwrap();
    let mut acme = connect(&app, "/stream/events", "acme", false)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    app.post("/stream/scenes", "acme", json!({"name": "b"}))
        .await
        .expect(201);
    let scenes = app.get("/stream/scenes", "acme").await;
    let b = scenes.data()["scenes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "b")
        .unwrap()["id"]
        .clone();
    app.post(
        &format!("/stream/scenes/{}/activate", b.as_str().unwrap()),
        "acme",
        json!({"transition": {"type": "fade", "durationMs": 300}}),
    )
    .await
    .expect(200);
    let e = next_event(&mut acme, Duration::from_secs(2))
        .await
        .expect("scene:activate");
    assert_eq!(e["type"], "scene:activate");
    assert_eq!(e["data"]["transition"]["type"], "fade");
    assert!(
        next_event(&mut mallory, Duration::from_millis(300))
            .await
            .is_none(),
        "another tenant saw the event"
    );
    assert!(
        next_event(&mut other_ws, Duration::from_millis(300))
            .await
            .is_none(),
        "another stream saw the event"
    );

    let ws_base = app.base.replacen("http", "ws", 1);
    let refused = tokio_tungstenite::connect_async(format!("{ws_base}/stream/events")).await;
    assert!(matches!(refused, Err(WsError::Http(r)) if r.status() == 401));
    let refused =
        tokio_tungstenite::connect_async(format!("{ws_base}/stream/events?token=forged")).await;
    assert!(matches!(refused, Err(WsError::Http(r)) if r.status() == 401));
}
