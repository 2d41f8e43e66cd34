//! WHIP ingest end to end: headless Chromium, with its fake camera and microphone, publishes
//! WebRTC from a page the test serves (`getUserMedia`, `RTCPeerConnection`, the offer POSTed
//! cross-origin to a real render node's `/whip/{streamKey}`), and the composed output,
//! decoded at a real RTMP receiver, shows the camera's moving picture in the ingest layer's
//! box and carries its microphone's beeps; `DELETE` on the session ends it (slate again), as
//! do closing the tab and deleting the key; wrong keys and bad offers are refused.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::{get, post};
use serde_json::Value;
use stream_manager_tests::nodes::{NodeProcess, Receiver, free_port};
use stream_manager_tests::ws::next_of;
use tokio::sync::mpsc;

use crate::ingest::{H, SlateOnAir, W, is_slate, key_list, slate_on_air, wait_slate};

/// The publisher page: camera + microphone, one offer POSTed once ICE gathering is complete
/// (WHIP without trickle), the answer applied, and every step reported back to the test.
const PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>whip</title><script>
const report = (o) => fetch("/report", {method: "POST", body: JSON.stringify(o)});
(async () => {
  try {
    const whip = new URLSearchParams(location.search).get("whip");
    const media = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}, audio: true});
    const pc = new RTCPeerConnection();
    for (const t of media.getTracks()) pc.addTransceiver(t, {direction: "sendonly"});
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((ok) => {
      if (pc.iceGatheringState === "complete") return ok();
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && ok());
    });
    const headers = {"Content-Type": "application/sdp"};
    const bearer = new URLSearchParams(location.search).get("bearer");
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    const res = await fetch(whip, {method: "POST", headers, body: pc.localDescription.sdp});
    const answer = await res.text();
    if (res.status !== 201) return report({status: res.status, error: answer});
    await pc.setRemoteDescription({type: "answer", sdp: answer});
    pc.addEventListener("connectionstatechange", () => report({state: pc.connectionState}));
    report({status: res.status, location: res.headers.get("location")});
  } catch (e) {
    report({error: String(e)});
  }
})();
</script>"#;

type Reports = mpsc::UnboundedSender<Value>;

/// Serves the page and collects its reports.
async fn serve_page() -> (u16, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/report",
            post(|State(tx): State<Arc<Reports>>, body: String| async move {
                let v = serde_json::from_str(&body).unwrap_or(Value::String(body));
                let _ = tx.send(v);
            }),
        )
        .with_state(Arc::new(tx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, rx)
}

/// Headless Chromium with fake media devices, on the page at `url`; killed when dropped.
struct Browser {
    child: Child,
    profile: std::path::PathBuf,
}

impl Browser {
    fn open(url: &str) -> Browser {
        let profile =
            std::env::temp_dir().join(format!("sm-whip-chromium-{}", uuid::Uuid::new_v4()));
        let bin = std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into());
        let child = Command::new(bin)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                "--remote-debugging-port=0",
                &format!("--user-data-dir={}", profile.display()),
                url,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts (install Debian's chromium)");
        Browser { child, profile }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The next report with `field`, failing on an error report.
async fn report_with(rx: &mut mpsc::UnboundedReceiver<Value>, field: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let r = tokio::time::timeout(left, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no report with {field:?} from the page"))
            .expect("page reports");
        if r.get(field).is_some() {
            return r;
        }
        assert!(r.get("error").is_none(), "the page failed: {r}");
    }
}

/// The ingest box's pixels in the receiver's newest frame.
fn box_pixels(receiver: &Receiver) -> Vec<[u8; 3]> {
    let f = receiver.latest_frame().unwrap_or_default();
    if f.is_empty() {
        return Vec::new();
    }
    let mut px = Vec::new();
    for y in (8..H / 2 - 8).step_by(4) {
        for x in (W / 2 + 8..W - 8).step_by(4) {
            px.push(stream_manager_tests::nodes::pixel(&f, W, x, y));
        }
    }
    px
}

fn mean_diff(a: &[[u8; 3]], b: &[[u8; 3]]) -> f64 {
    let n = a.len().min(b.len()).max(1);
    let sum: u64 = a
        .iter()
        .zip(b)
        .flat_map(|(p, q)| (0..3).map(move |c| (p[c] as i32 - q[c] as i32).unsigned_abs() as u64))
        .sum();
    sum as f64 / (n * 3) as f64
}

/// Waits until the box shows no slate anywhere it is sampled; how long that took.
async fn wait_not_slate(
    receiver: &Receiver,
    node: &NodeProcess,
    what: &str,
    timeout: Duration,
) -> Duration {
    let t0 = Instant::now();
    loop {
        let px = box_pixels(receiver);
        let slate = px.iter().filter(|p| is_slate(**p)).count();
        if !px.is_empty() && slate * 10 < px.len() {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < timeout,
            "{what}: the box still shows the slate ({slate}/{} samples) after {timeout:?}; node: {}",
            px.len(),
            node.log_text()
                .lines()
                .filter(|l| l.contains("whip") || l.contains("publishing") || l.contains("WHIP"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_browser_publishes_over_whip_into_an_ingest_layer_and_delete_ends_it() {
    let http_port = free_port();
    let SlateOnAir {
        app,
        receiver,
        key_id,
        key,
        node,
        mut ws,
    } = slate_on_air(
        "whip-ingest",
        &[("METRICS_ADDR", &format!("127.0.0.1:{http_port}"))],
    )
    .await;
    let node_http = format!("http://127.0.0.1:{http_port}");
    let http = reqwest::Client::new();

    // Refusals: not SDP, a wrong key (the same answer as any unknown key), the wrong type.
    let offer = |url: String, body: &'static str| {
        http.post(url)
            .header("content-type", "application/sdp")
            .body(body)
            .send()
    };
    let r = offer(format!("{node_http}/whip/{key}"), "hello")
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a bad offer");
    let r = offer(format!("{node_http}/whip/{key}"), "v=0\r\ns=-\r\n")
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "an offer without media");
    let min_sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\na=sendonly\r\n";
    let r = offer(format!("{node_http}/whip/sk_wrong"), min_sdp)
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a wrong key");
    let r = http
        .post(format!("{node_http}/whip/{key}"))
        .header("content-type", "text/plain")
        .body(min_sdp)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415, "not application/sdp");
    let r = offer(
        format!("{node_http}/whip/{key}"),
        "v=0\r\n".repeat(20_000).leak(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 413, "an offer over the size cap");
    let r = http
        .request(reqwest::Method::OPTIONS, format!("{node_http}/whip/{key}"))
        .header("origin", "http://elsewhere.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "preflight: {}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    wait_slate(&receiver, Duration::from_secs(2)).await;

    // A browser with the right key: its camera in the box, moving.
    let (page_port, mut reports) = serve_page().await;
    let whip_url = format!("{node_http}/whip/{key}");
    let t0 = Instant::now();
    let browser = Browser::open(&format!(
        "http://127.0.0.1:{page_port}/?whip={}",
        url_escape(&whip_url)
    ));
    let published = report_with(&mut reports, "status").await;
    assert_eq!(published["status"], 201, "{published}");
    let location = published["location"]
        .as_str()
        .expect("a Location")
        .to_owned();
    assert!(
        location.starts_with("/whip/sessions/") && !location.contains(&key),
        "{location}"
    );
    let took = wait_not_slate(&receiver, &node, "first publish", Duration::from_secs(30)).await;
    eprintln!(
        "FIGURE whip_answer_to_picture={:.0} ms (browser launch to picture: {:.0} ms)",
        took.as_secs_f64() * 1000.0,
        t0.elapsed().as_secs_f64() * 1000.0
    );
    // Chromium's fake camera: a green "pacman" and frame counter on black.
    let first = box_pixels(&receiver);
    let green = |p: &[u8; 3]| p[1] > 50 && p[1] > p[0] + 40 && p[1] > p[2] + 40;
    let dark = |p: &[u8; 3]| p.iter().all(|c| *c < 15);
    assert!(
        first.iter().any(green) && first.iter().any(dark),
        "not the fake camera's green on black: {first:?}"
    );
    let mut moved = 0.0f64;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        moved = moved.max(mean_diff(&first, &box_pixels(&receiver)));
    }
    eprintln!("FIGURE whip_box_change={moved:.1} mean abs difference over 5 s");
    // Chromium's fake microphone beeps: the Opus → AAC path reaches the programme.
    let mut rms = 0.0f64;
    for _ in 0..6 {
        rms = rms.max(receiver.audio_rms(0.5));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eprintln!("FIGURE whip_feed_audio_rms={rms:.0} rms");
    assert!(
        rms > 200.0,
        "the browser's audio is not in the output: {rms}"
    );
    assert!(moved > 2.0, "the camera's picture does not move: {moved}");
    let connected = next_of(&mut ws, "ingest:connected", Duration::from_secs(5))
        .await
        .expect("ingest:connected");
    assert_eq!(connected["data"]["keyId"], key_id.as_str(), "{connected}");
    let listed = key_list(&app).await;
    assert!(listed["lastUsed"].is_number(), "lastUsed not set: {listed}");
    assert_eq!(listed["publishing"], true, "{listed}");

    // DELETE on the session ends it: slate again, disconnected, the resource gone.
    let r = http
        .delete(format!("{node_http}{location}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_slate(&receiver, Duration::from_secs(10)).await;
    let gone = next_of(&mut ws, "ingest:disconnected", Duration::from_secs(5))
        .await
        .expect("ingest:disconnected");
    assert_eq!(gone["data"]["keyId"], key_id.as_str(), "{gone}");
    let r = http
        .delete(format!("{node_http}{location}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "an ended session");
    drop(browser);

    // A tab closed without DELETE: the publish ends by itself (connection lost, no media).
    let (page_port, mut reports) = serve_page().await;
    let browser = Browser::open(&format!(
        "http://127.0.0.1:{page_port}/?whip={}",
        url_escape(&whip_url)
    ));
    assert_eq!(report_with(&mut reports, "status").await["status"], 201);
    wait_not_slate(&receiver, &node, "tab publish", Duration::from_secs(30)).await;
    let t0 = Instant::now();
    drop(browser);
    wait_slate(&receiver, Duration::from_secs(30)).await;
    eprintln!(
        "FIGURE whip_tab_closed_to_slate={:.0} ms",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    // The slate shows once frames stop; the publish itself ends when the node notices.
    let gone = next_of(&mut ws, "ingest:disconnected", Duration::from_secs(30))
        .await
        .expect("a closed tab's publish ends");
    eprintln!(
        "FIGURE whip_tab_closed_to_unpublished={:.0} ms ({})",
        t0.elapsed().as_secs_f64() * 1000.0,
        gone["data"]["reason"]
    );

    // The key as a bearer token (OBS's form) works too, and a wrong token is refused.
    let r = http
        .post(format!("{node_http}/whip"))
        .header("content-type", "application/sdp")
        .header("authorization", "Bearer sk_wrong")
        .body(min_sdp)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a wrong bearer token");
    let r = offer(format!("{node_http}/whip"), min_sdp).await.unwrap();
    assert_eq!(r.status(), 401, "no token");

    // Deleting the key cuts a WHIP publisher like any other.
    let (page_port, mut reports) = serve_page().await;
    let browser = Browser::open(&format!(
        "http://127.0.0.1:{page_port}/?whip={}&bearer={}",
        url_escape(&format!("{node_http}/whip")),
        url_escape(&key)
    ));
    assert_eq!(report_with(&mut reports, "status").await["status"], 201);
    wait_not_slate(&receiver, &node, "bearer publish", Duration::from_secs(30)).await;
    let t0 = Instant::now();
    app.delete(&format!("/stream/keys/{key_id}"), "acme")
        .await
        .expect(200);
    wait_slate(&receiver, Duration::from_secs(10)).await;
    eprintln!(
        "FIGURE whip_key_deleted_to_slate={:.0} ms",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    drop(browser);
    let r = offer(format!("{node_http}/whip/{key}"), min_sdp)
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a deleted key");
    assert!(
        !node.log_text().contains(&key),
        "a stream key appears in the node's log"
    );
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
