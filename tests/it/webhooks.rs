//! Webhooks: a real local HTTP receiver gets signed deliveries of real stream events,
//! retried after 500s (backoff shortened by config), listed in the delivery log and
//! redelivered on request; bad and private URLs are refused, other tenants see nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use shared::node_api::Release;
use shared::node_api::client::ControlPlane;
use stream_manager_tests::test_app::NODE_SECRET;
use stream_manager_tests::{TestApp, spawn_app_with, spawn_replica_with};
use tokio::sync::Mutex;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    at: std::time::Instant,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("delivery body is JSON")
    }

    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

/// A local HTTP endpoint that records every request and answers the statuses it is given
/// in turn (then 200).
#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    url: String,
}

async fn receiver(answers: Vec<u16>) -> Receiver {
    serve(answers, Duration::ZERO).await
}

/// A receiver that answers 200 after `delay`.
async fn receiver_with_delay(delay: Duration) -> Receiver {
    serve(vec![], delay).await
}

/// What the receiver's handler shares: the requests so far, the answers still to give.
type ReceiverState = (
    Arc<Mutex<Vec<Received>>>,
    Arc<Mutex<std::vec::IntoIter<u16>>>,
);

async fn serve(answers: Vec<u16>, delay: Duration) -> Receiver {
    let got = Arc::new(Mutex::new(Vec::new()));
    let answers = Arc::new(Mutex::new(answers.into_iter()));
    let state = (got.clone(), answers);
    let app = Router::new()
        .route(
            "/hook",
            post(
                move |State((got, answers)): State<ReceiverState>,
                      headers: HeaderMap,
                      body: Bytes| async move {
                    let at = std::time::Instant::now();
                    got.lock().await.push(Received { headers, body, at });
                    tokio::time::sleep(delay).await;
                    let code = answers.lock().await.next().unwrap_or(200);
                    StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        got,
        url: format!("http://127.0.0.1:{port}/hook"),
    }
}

impl Receiver {
    /// Waits until `n` requests arrived; all of them.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.got.lock().await.clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the receiver got {} of {n} requests",
            self.got.lock().await.len()
        );
    }
}

/// Checks `Webhook-Signature: t=..,v1=..` against the secret, as a receiver would.
fn verify(secret: &str, r: &Received) {
    let sig = r.header("webhook-signature");
    let mut t = None;
    let mut v1 = None;
    for part in sig.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("v1", v)) => v1 = Some(v.to_owned()),
            _ => {}
        }
    }
    let (t, v1) = (t.expect("t= in signature"), v1.expect("v1= in signature"));
    let sent: i64 = t.parse().expect("numeric timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - sent).abs() < 300,
        "stale timestamp {sent} (now {now})"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&r.body);
    mac.verify_slice(&hex::decode(&v1).expect("hex signature"))
        .expect("signature verifies with the secret shown at creation");
    // Any change to the body breaks it.
    let mut forged = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    forged.update(format!("{t}.").as_bytes());
    forged.update(b"{}");
    assert!(forged.verify_slice(&hex::decode(&v1).unwrap()).is_err());
}

async fn app_with_fast_retries() -> TestApp {
    spawn_app_with(|c| {
        c.media.allow_private = true;
        c.webhooks.retry_base = Duration::from_millis(200);
        c.webhooks.retry_max = Duration::from_millis(500);
    })
    .await
}

async fn register(app: &TestApp, tenant: &str, url: &str, events: &[&str]) -> (String, String) {
    let created = app
        .post("/webhooks", tenant, json!({ "url": url, "events": events }))
        .await;
    created.expect(201);
    let id = created.data()["id"].as_str().unwrap().to_owned();
    let secret = created.data()["secret"].as_str().unwrap().to_owned();
    (id, secret)
}

#[tokio::test]
async fn webhook_gets_signed_stream_events_with_a_log_and_redelivery() {
    let app = app_with_fast_retries().await;
    let rx = receiver(vec![]).await;
    let (id, secret) = register(&app, "acme", &rx.url, &["stream.started", "stream.stopped"]).await;
    assert!(secret.starts_with("whsec_"), "{secret}");

    // Listed with the secret masked.
    let list = app.get("/webhooks", "acme").await;
    list.expect(200);
    assert_eq!(list.data()["webhooks"][0]["id"], id.as_str());
    assert!(!list.body.to_string().contains(&secret[6..]));

    // Real events: the tenant starts and stops its stream.
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    let got = rx.wait_for(2).await;
    let stream_id = app.get("/stream/status", "acme").await.data()["streamId"].clone();
    let mut types = Vec::new();
    for r in &got {
        verify(&secret, r);
        let body = r.json();
        assert_eq!(r.header("webhook-event"), body["type"].as_str().unwrap());
        assert!(!r.header("webhook-id").is_empty());
        assert_eq!(body["streamId"], stream_id);
        types.push(body["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, ["stream.started", "stream.stopped"]);

    // The log lists both, delivered on the first try.
    let log = app.get(&format!("/webhooks/{id}/deliveries"), "acme").await;
    log.expect(200);
    let deliveries = log.data()["deliveries"].as_array().unwrap().clone();
    assert_eq!(deliveries.len(), 2, "{deliveries:#?}");
    for d in &deliveries {
        assert_eq!(d["state"], "delivered", "{d:#}");
        assert_eq!(d["attempts"][0]["status"], 200, "{d:#}");
    }

    // Redeliver the stop: a new delivery of the same event arrives, signed afresh.
    let stopped = deliveries
        .iter()
        .find(|d| d["event"] == "stream.stopped")
        .unwrap();
    let again = app
        .post(
            &format!(
                "/webhooks/{id}/deliveries/{}/redeliver",
                stopped["id"].as_str().unwrap()
            ),
            "acme",
            json!({}),
        )
        .await;
    again.expect(201);
    let got = rx.wait_for(3).await;
    verify(&secret, &got[2]);
    let first = got
        .iter()
        .find(|r| r.json()["type"] == "stream.stopped")
        .unwrap();
    assert_eq!(got[2].json()["id"], first.json()["id"], "same event id");
    assert_eq!(
        got[2].header("webhook-id"),
        again.data()["id"].as_str().unwrap()
    );
    let log = app.get(&format!("/webhooks/{id}/deliveries"), "acme").await;
    let deliveries = log.data()["deliveries"].as_array().unwrap().clone();
    assert_eq!(deliveries.len(), 3);
    assert!(
        deliveries
            .iter()
            .any(|d| d["redeliveryOf"] == stopped["id"])
    );
}

#[tokio::test]
async fn webhook_receiver_answering_500_gets_retries() {
    let app = app_with_fast_retries().await;
    let rx = receiver(vec![500, 500]).await;
    let (id, secret) = register(&app, "acme", &rx.url, &["stream.started"]).await;
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let got = rx.wait_for(3).await;
    for r in &got {
        verify(&secret, r);
    }
    // One delivery, tried three times: same delivery id and event id each time.
    assert!(
        got.iter()
            .all(|r| r.header("webhook-id") == got[0].header("webhook-id"))
    );
    assert!(got.iter().all(|r| r.json()["id"] == got[0].json()["id"]));
    // The log shows the tries (the last one is recorded just after the receiver answers).
    let mut log = Value::Null;
    for _ in 0..50 {
        log = app
            .get(&format!("/webhooks/{id}/deliveries"), "acme")
            .await
            .body;
        if log["data"]["deliveries"][0]["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let d = &log["data"]["deliveries"][0];
    assert_eq!(d["state"], "delivered", "{log:#}");
    let statuses: Vec<i64> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 200]);
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
}

#[tokio::test]
async fn webhook_urls_are_checked_and_other_tenants_get_404() {
    let app = spawn_app_with(|c| c.quotas.webhooks = 2).await;
    for (url, field) in [
        ("http://127.0.0.1:9/hook", "url"),
        ("https://127.0.0.1/hook", "url"),
        ("https://10.1.2.3/hook", "url"),
        ("https://localhost/hook", "url"),
        ("http://hooks.example.com/hook", "url"),
        ("ftp://hooks.example.com/hook", "url"),
        ("https://user:pw@hooks.example.com/hook", "url"),
        ("not a url", "url"),
    ] {
        let a = app
            .post(
                "/webhooks",
                "acme",
                json!({ "url": url, "events": ["stream.live"] }),
            )
            .await;
        a.expect(422);
        assert_eq!(a.body["error"]["field"], field, "{url}: {:#}", a.body);
    }
    let a = app
        .post(
            "/webhooks",
            "acme",
            json!({ "url": "https://hooks.example.com/x", "events": ["stream:status"] }),
        )
        .await;
    a.expect(422);
    assert_eq!(a.body["error"]["field"], "events[0]");
    app.post(
        "/webhooks",
        "acme",
        json!({ "url": "https://hooks.example.com/x", "events": [] }),
    )
    .await
    .expect(422);

    let (id, _) = register(
        &app,
        "acme",
        "https://hooks.example.com/x",
        &["stream.live"],
    )
    .await;
    let other = "globex";
    app.get(&format!("/webhooks/{id}"), other).await.expect(404);
    app.get(&format!("/webhooks/{id}/deliveries"), other)
        .await
        .expect(404);
    app.delete(&format!("/webhooks/{id}"), other)
        .await
        .expect(404);
    let fake = uuid::Uuid::new_v4();
    app.post(
        &format!("/webhooks/{id}/deliveries/{fake}/redeliver"),
        other,
        json!({}),
    )
    .await
    .expect(404);
    app.post(
        &format!("/webhooks/{id}/deliveries/{fake}/redeliver"),
        "acme",
        json!({}),
    )
    .await
    .expect(404);
    let list = app.get("/webhooks", other).await;
    assert_eq!(list.data()["webhooks"], json!([]));
    app.get(&format!("/webhooks/{id}"), "acme")
        .await
        .expect(200);

    // The quota: two webhooks per tenant here.
    register(
        &app,
        "acme",
        "https://hooks.example.com/y",
        &["stream.live"],
    )
    .await;
    let over = app
        .post(
            "/webhooks",
            "acme",
            json!({ "url": "https://hooks.example.com/z", "events": ["stream.live"] }),
        )
        .await;
    over.expect(409);
    register(&app, other, "https://hooks.example.com/z", &["stream.live"]).await;

    app.delete(&format!("/webhooks/{id}"), "acme")
        .await
        .expect(200);
    app.get(&format!("/webhooks/{id}"), "acme")
        .await
        .expect(404);
}

#[tokio::test]
async fn webhook_hears_what_render_nodes_report() {
    let app = app_with_fast_retries().await;
    let rx = receiver(vec![]).await;
    let (_, secret) = register(&app, "acme", &rx.url, &["stream.live", "stream.failed"]).await;
    let started = app.post("/stream/start", "acme", json!({})).await;
    let id: uuid::Uuid = started.data()["streamId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.flush_outbox().await;

    // A node claims the stream, reports it live, then gives it up with a failure whose text
    // holds a credential, through the real internal API.
    let node = ControlPlane::new(std::slice::from_ref(&app.base), NODE_SECRET, "node-a").unwrap();
    let epoch = node.claim(id).await.unwrap().expect("claimed").epoch;
    node.live(id, epoch).await.unwrap().expect("marked live");
    let release = Release {
        epoch,
        failure: Some("output rtmp://user:hunter2@example.com/live refused".into()),
        handoff: false,
    };
    node.release(id, &release).await.unwrap().expect("released");

    let got = rx.wait_for(2).await;
    let bodies: Vec<Value> = got.iter().map(Received::json).collect();
    for r in &got {
        verify(&secret, r);
    }
    let live = bodies
        .iter()
        .find(|b| b["type"] == "stream.live")
        .expect("stream.live");
    assert_eq!(live["streamId"], id.to_string());
    assert_eq!(live["data"]["nodeId"], "node-a");
    let failed = bodies
        .iter()
        .find(|b| b["type"] == "stream.failed")
        .expect("stream.failed");
    let reason = failed["data"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("refused") && !reason.contains("hunter2"),
        "{reason}"
    );
}

#[tokio::test]
async fn two_replicas_never_try_the_same_delivery_at_once() {
    let app = app_with_fast_retries().await;
    let replica = spawn_replica_with(&app, |c| {
        c.media.allow_private = true;
        c.webhooks.retry_base = Duration::from_millis(200);
    })
    .await;
    // A slow receiver, so both replicas' deliverers are busy at the same time.
    let slow = receiver_with_delay(Duration::from_millis(300)).await;
    let (_, secret) = register(
        &app,
        "acme",
        &slow.url,
        &["stream.started", "stream.stopped"],
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let created = app
            .post("/streams", "acme", json!({ "name": format!("show-{i}") }))
            .await;
        created.expect(201);
        ids.push(created.data()["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        replica
            .post(&format!("/streams/{id}/start"), "acme", json!({}))
            .await
            .expect(200);
        app.post(&format!("/streams/{id}/stop"), "acme", json!({}))
            .await
            .expect(200);
    }
    let got = slow.wait_for(10).await;
    // Settle: anything tried twice would arrive within a few polls.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got_all = slow.got.lock().await.clone();
    assert_eq!(got_all.len(), 10, "each delivery tried once");
    let mut delivery_ids: Vec<String> = got.iter().map(|r| r.header("webhook-id")).collect();
    delivery_ids.sort();
    delivery_ids.dedup();
    assert_eq!(delivery_ids.len(), 10);
    for r in &got {
        verify(&secret, r);
    }
}

/// Webhook delivery latency: from the API's answer to a start or stop to the signed
/// delivery's arrival at a local receiver. A benchmark: prints FIGURE lines, asserts nothing
/// about speed.
#[tokio::test]
#[ignore = "benchmark: cargo nextest run --workspace --run-ignored only -E 'test(bench_webhook)'"]
async fn bench_webhook_delivery_latency() {
    let app = app_with_fast_retries().await;
    let rx = receiver(vec![]).await;
    register(&app, "acme", &rx.url, &["stream.started", "stream.stopped"]).await;
    let runs = 40;
    let mut latencies = Vec::with_capacity(runs);
    for i in 0..runs {
        let action = if i % 2 == 0 { "start" } else { "stop" };
        app.post(&format!("/stream/{action}"), "acme", json!({}))
            .await
            .expect(200);
        let answered = std::time::Instant::now();
        let got = rx.wait_for(i + 1).await;
        latencies.push(got[i].at.saturating_duration_since(answered).as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    eprintln!(
        "FIGURE webhook_latency_p50={:.0} ms\nFIGURE webhook_latency_p99={:.0} ms\nFIGURE webhook_latency_runs={runs} runs",
        pick(0.5),
        pick(0.99)
    );
}
