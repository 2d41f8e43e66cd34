//! The HTTP server's limits (issue 15, item 8) and the token rules of item 11: a client
//! that never finishes its headers is cut off, connections are capped, one tenant's
//! WebSockets cannot take another's place, the `method` label is bounded, a socket closes
//! when its token expires and drops a client that does not read, `nbf` is honoured, and
//! `?token=` works on the events socket only.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use control_plane::auth::JwtKeys;
use futures_util::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use shared::events::{EventType, TenantEvent};
use stream_manager_tests::test_app::{AUDIENCE, JWT_SECRET};
use stream_manager_tests::ws::connect;
use stream_manager_tests::{TestApp, spawn_app, spawn_app_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let app = spawn_app_with(|c| c.limits.header_read_timeout = Duration::from_millis(500)).await;
    let mut slow = TcpStream::connect(addr(&app)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let t0 = Instant::now();
    let mut buf = [0u8; 512];
    // The server closes (possibly after a 408); a server without the timeout keeps waiting.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection was still open after 5 s");
    eprintln!("FIGURE slowloris_cut_after={} ms", t0.elapsed().as_millis());
    // Complete requests are served as before.
    app.client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = spawn_app_with(|c| {
        c.limits.max_connections = 3;
        c.limits.header_read_timeout = Duration::from_secs(30);
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        let s = TcpStream::connect(addr(&app)).await.unwrap();
        idle.push(s);
    }
    // Let the server accept all three before the fourth arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::new();
    let fourth = client
        .get(format!("{}/healthz", app.base))
        .timeout(Duration::from_millis(700))
        .send()
        .await;
    assert!(
        fourth.is_err(),
        "a fourth connection was served: {fourth:?}"
    );
    drop(idle.pop());
    let after = client
        .get(format!("{}/healthz", app.base))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert!(after.status().is_success());
}

#[tokio::test]
async fn one_tenants_sockets_cannot_take_another_tenants_place() {
    let app = spawn_app_with(|c| c.quotas.websockets = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(
            connect(&app, "/stream/events", "acme", false)
                .await
                .unwrap(),
        );
    }
    let refused = connect(&app, "/stream/events", "acme", false).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 409);
        }
        other => panic!("a fourth socket was not refused: {:?}", other.map(|_| ())),
    }
    // Another tenant still gets sockets and API answers.
    let _globex = connect(&app, "/stream/events", "globex", false)
        .await
        .unwrap();
    app.get("/stream/status", "globex").await.expect(200);
    // A closed socket gives its slot back.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.sockets.open("acme") >= 3 {
        assert!(Instant::now() < deadline, "the slot never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    connect(&app, "/stream/events", "acme", false)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_method_label_names_only_standard_methods() {
    let app = spawn_app().await;
    let method = reqwest::Method::from_bytes(b"XUNBOUNDED42").unwrap();
    let _ = app
        .client
        .request(method, format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    let metrics = app.text(&format!("{}/metrics", app.base), None).await;
    assert!(!metrics.contains("XUNBOUNDED42"), "{metrics}");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
}

#[tokio::test]
async fn a_socket_closes_when_its_token_expires() {
    let app = spawn_app().await;
    let keys = JwtKeys::new(JWT_SECRET.as_bytes(), AUDIENCE);
    let token = keys.issue("acme", Duration::from_secs(2)).unwrap();
    let url = format!("{}/stream/events", app.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let t0 = Instant::now();
    let close = tokio::time::timeout(Duration::from_secs(6), async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Close(frame) = msg {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await
    .expect("the socket outlived its token by more than 4 s");
    assert_eq!(close, Some(4001));
    eprintln!(
        "FIGURE ws_closed_after_token={} ms",
        t0.elapsed().as_millis()
    );
}

#[tokio::test]
async fn a_socket_whose_client_does_not_read_is_dropped() {
    let app = spawn_app_with(|c| c.limits.ws_send_timeout = Duration::from_millis(300)).await;
    let _ws = connect(&app, "/stream/events", "acme", false)
        .await
        .unwrap();
    let list = app.get("/streams", "acme").await;
    let stream_id: uuid::Uuid = list.data()["streams"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(app.state.sockets.open("acme"), 1);
    // 16 MB of events to a client that reads none: the kernel's buffers fill, then the
    // server's send stalls; the bus (1024 events) never laps it.
    let pad = "x".repeat(32 * 1024);
    for _ in 0..500 {
        let event = TenantEvent::new(
            "acme",
            stream_id,
            EventType::MetricsUpdate,
            json!({ "pad": pad }),
        );
        let _ = app.state.events.send(Arc::new(event));
        tokio::time::sleep(Duration::from_millis(2)).await;
        if app.state.sockets.open("acme") == 0 {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.sockets.open("acme") > 0 {
        assert!(
            Instant::now() < deadline,
            "the stalled socket is still held"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let app = spawn_app().await;
    let sign = |nbf: u64| {
        let claims = json!({"sub": "acme", "aud": AUDIENCE, "exp": now() + 3600, "nbf": nbf});
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let call = |token: String| {
        app.client
            .get(format!("{}/stream/status", app.base))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(call(sign(now() + 600)).await.unwrap().status(), 401);
    assert_eq!(call(sign(now() - 10)).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_query_token_is_accepted_on_the_events_socket_only() {
    let app = spawn_app().await;
    let token = app.token("acme");
    for path in ["/stream/status", "/streams", "/stream/layers"] {
        let r = app
            .client
            .get(format!("{}{path}?token={token}", app.base))
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} took a token from its query");
    }
    connect(&app, "/stream/events", "acme", true).await.unwrap();
}
