//! A stream key is shown once, in the answer that creates it. Afterwards it must not appear
//! in any answer (lists, status, config, layers that use it, the OpenAPI document, metrics,
//! WebSocket events, the operators' fleet view) nor anywhere in the control plane's logs, even
//! at debug level. The control plane runs as a process so its whole log is captured.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use stream_manager_tests::control_plane_process::ControlPlaneProcess;
use stream_manager_tests::nodes::free_port;
use stream_manager_tests::spawn_app;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Pieces of the key's secret part long enough to identify it (any 12 characters in a row):
/// a masked form that kept too much would show one.
fn fingerprints(key: &str) -> Vec<String> {
    let secret: Vec<char> = key.trim_start_matches("sk_").chars().collect();
    secret
        .windows(12)
        .map(|w| w.iter().collect::<String>())
        .collect()
}

fn assert_hidden(what: &str, text: &str, key: &str) {
    for piece in fingerprints(key) {
        assert!(
            !text.contains(&piece),
            "{what} shows part of the stream key ({piece}):\n{}",
            &text[..text.len().min(4000)]
        );
    }
}

#[tokio::test]
async fn stream_keys_never_reappear_in_answers_events_or_logs() {
    let app = spawn_app().await;
    // Everything at debug, the HTTP layer's request traces included.
    let mut cp = ControlPlaneProcess::start_logging(&app, free_port(), "debug").await;
    let base = cp.base.clone();
    let token = app.token("acme");
    let http = &app.client;
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            assert!(status.is_success(), "{status}: {text}");
            text
        }
    };

    let mut ws_req = format!("{}/stream/events", base.replacen("http", "ws", 1))
        .into_client_request()
        .unwrap();
    ws_req
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_req).await.unwrap();

    let created: Value =
        serde_json::from_str(&call(reqwest::Method::POST, "/stream/keys", Some(json!({}))).await)
            .unwrap();
    let key = created["data"]["key"].as_str().unwrap().to_owned();
    let key_id = created["data"]["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_") && key.len() > 30, "{created}");

    // Use the key everywhere a tenant can: an ingest layer naming it, changes, a second key.
    let layer: Value = serde_json::from_str(
        &call(
            reqwest::Method::POST,
            "/stream/layers",
            Some(json!({"kind": "ingest", "source": {"keyId": key_id}})),
        )
        .await,
    )
    .unwrap();
    assert_hidden("creating an ingest layer", &layer.to_string(), &key);
    let layer_id = layer["data"]["id"].as_str().unwrap().to_owned();
    call(
        reqwest::Method::PATCH,
        &format!("/stream/layers/{layer_id}"),
        Some(json!({"opacity": 0.5})),
    )
    .await;
    call(reqwest::Method::POST, "/stream/keys", Some(json!({}))).await;
    call(reqwest::Method::POST, "/stream/start", Some(json!({}))).await;

    for path in [
        "/stream/keys",
        "/stream/status",
        "/stream/metrics",
        "/stream/config",
        "/stream/layers",
        &format!("/stream/layers/{layer_id}"),
        "/stream/scenes",
        "/streams",
        "/openapi.json",
    ] {
        let text = call(reqwest::Method::GET, path, None).await;
        assert_hidden(path, &text, &key);
    }
    // The operators' fleet view and Prometheus (no tenant token).
    let operator = app.operator_token();
    for (path, bearer) in [("/nodes", Some(&operator)), ("/metrics", None)] {
        let mut req = http.get(format!("{base}{path}"));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let text = req.send().await.unwrap().text().await.unwrap();
        assert_hidden(path, &text, &key);
    }

    // Every event the socket got meanwhile (layer updates, the status change of the start).
    let mut events = 0;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_millis(500), ws.next()).await
    {
        if let Message::Text(t) = msg {
            assert_hidden("a WebSocket event", &t, &key);
            events += 1;
        }
    }
    assert!(events > 0, "the socket received no event to check");

    call(
        reqwest::Method::DELETE,
        &format!("/stream/keys/{key_id}"),
        None,
    )
    .await;
    call(reqwest::Method::POST, "/stream/stop", Some(json!({}))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cp.kill();
    let log = cp.log_text();
    assert!(
        log.lines().count() > 20 && log.contains("/stream/keys"),
        "the debug log did not capture the requests:\n{log}"
    );
    assert_hidden("the control plane's log", &log, &key);
}
