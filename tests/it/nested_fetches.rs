//! Issue 15, item 1: what a video layer's decoder fetches besides the layer's own URL. A
//! playlist inside `MEDIA_ROOT` (allowed) listing a segment on a loopback address (refused)
//! must not make the node fetch that segment, and the tenant's `stream:error` says only that
//! the media could not be loaded — no internal URL, no fetch error — while a plain video
//! file beside it still plays.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use stream_manager_tests::nodes::spawn_node_with_env;
use stream_manager_tests::spawn_app_with;
use stream_manager_tests::ws::{connect, next_of};

/// An HTTP server on loopback answering every request with `body`, counting requests.
pub(crate) struct CountingServer {
    pub port: u16,
    pub requests: Arc<AtomicU64>,
}

impl CountingServer {
    pub(crate) fn start(body: Vec<u8>) -> CountingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicU64::new(0));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                seen.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body);
            }
        });
        CountingServer { port, requests }
    }
}

/// A directory for a test's media (the node's and the control plane's `MEDIA_ROOT`).
pub(crate) fn media_root(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sm-media-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A two-second 320x180 MPEG-TS of one `color` (ffmpeg colour syntax) at `path`.
fn write_clip(path: &Path, color: &str) {
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("color=c={color}:s=320x180:r=25:d=2"))
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg made the clip");
}

#[tokio::test]
async fn a_playlists_segment_on_a_private_address_is_never_fetched_nor_named_to_the_tenant() {
    let root = media_root("hls");
    let segment = root.join("segment.ts");
    write_clip(&segment, "0x00FF00");
    let server = CountingServer::start(std::fs::read(&segment).unwrap());
    let internal = format!(
        "http://127.0.0.1:{}/latest/meta-data/segment.ts",
        server.port
    );
    std::fs::write(
        root.join("list.m3u8"),
        format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n\
             #EXTINF:2.0,\n{internal}\n#EXTINF:2.0,\n{internal}?2\n#EXT-X-ENDLIST\n"
        ),
    )
    .unwrap();
    let green = root.join("green.ts");
    write_clip(&green, "0x00FF00");

    let media = root.clone();
    let app = spawn_app_with(move |c| {
        c.media.media_root = Some(media);
        c.media.allow_private = false;
    })
    .await;
    let root_env = root.display().to_string();
    let node = spawn_node_with_env(
        &app,
        "node-a",
        1,
        &[
            ("ALLOW_PRIVATE_MEDIA_URLS", "false"),
            ("MEDIA_ROOT", root_env.as_str()),
        ],
    );
    // No destination: the node refuses loopback ones, and this test is about media.
    app.set_test_output("320x180", "400k", &[]).await;
    app.add_layer(json!({"kind": "color", "source": {"color": "#000080"}}))
        .await;
    app.add_layer(json!({"kind": "video",
        "source": {"uri": format!("file://{}", green.display()), "loop": true},
        "position": {"x": 160, "y": 90}, "size": {"width": 160, "height": 90}}))
        .await;
    let mut ws = connect(&app, "/stream/events", "acme", false)
        .await
        .unwrap();
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    // Added live: errors while a stream starts are in its status, a change's in events.
    let s =
        crate::fleet::wait_status(&app, Duration::from_secs(20), |s| s["state"] == "live").await;
    assert_eq!(s["state"], "live", "{s}");
    let playlist = app
        .add_layer(json!({"kind": "video",
            "source": {"uri": format!("file://{}", root.join("list.m3u8").display()), "loop": true},
            "position": {"x": 0, "y": 0}, "size": {"width": 160, "height": 90}}))
        .await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let error = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let e = next_of(&mut ws, "stream:error", left)
            .await
            .unwrap_or_else(|| panic!("no stream:error for the playlist:\n{}", node.log_text()));
        if e["data"]["layerId"] == playlist.as_str() {
            break e;
        }
    };
    let text = error.to_string();
    assert_eq!(
        error["data"]["message"],
        "media could not be loaded: it is a playlist or network description (HLS, DASH, SDP), which this node does not follow",
        "{text}"
    );
    for internal_detail in [
        "127.0.0.1",
        &server.port.to_string(),
        "meta-data",
        "souphttpsrc",
    ] {
        assert!(!text.contains(internal_detail), "{text}");
    }

    // The plain file beside it plays: green where its layer is.
    let mut green_seen = false;
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until && !green_seen {
        let r = app
            .client
            .get(format!("{}/stream/preview.jpg", app.base))
            .bearer_auth(app.token("acme"))
            .send()
            .await
            .unwrap();
        if r.status().as_u16() == 200
            && let Ok(img) = image::load_from_memory(&r.bytes().await.unwrap())
        {
            let p = img.to_rgb8().get_pixel(240, 135).0;
            green_seen = p[1] > 180 && p[0] < 80 && p[2] < 80;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        green_seen,
        "the plain video file did not play:\n{}",
        node.log_text()
    );
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        0,
        "the node fetched the playlist's private segment:\n{}",
        node.log_text()
    );
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
    let _ = std::fs::remove_dir_all(&root);
}
