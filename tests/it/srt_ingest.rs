//! SRT ingest end to end: ffmpeg (libsrt) publishes MPEG-TS with a stream key in the SRT
//! access-control stream id to a real render node's `SRT_ADDR`, and the composed output,
//! decoded at a real RTMP receiver, shows the feed in the ingest layer's box exactly as an
//! RTMP feed would; wrong keys are refused in the handshake, and deleting the key cuts the
//! publisher.

use std::time::{Duration, Instant};

use stream_manager_tests::nodes::{Encoder, NodeProcess, Receiver, free_port, spawn_node_with_env};
use stream_manager_tests::spawn_app_with_private_urls;
use stream_manager_tests::ws::next_of;

use crate::ingest::{
    IN_BOX, OUTSIDE, SlateOnAir, ingest_stream, is_green, is_navy, is_red, key_list, slate_on_air,
    start_live, wait_pixel, wait_slate,
};

/// The URL a publisher calls with `stream_id` (as is: ffmpeg passes the query value on
/// without decoding it).
fn srt_url(port: u16, stream_id: &str) -> String {
    format!("srt://127.0.0.1:{port}?streamid={stream_id}")
}

fn access_control(key: &str) -> String {
    format!("#!::r=live/{key},m=publish")
}

/// Waits for a refused publisher to give up; fails the test if it keeps publishing.
async fn refused(node: &NodeProcess, mut encoder: Encoder, what: &str, log_says: &str) {
    assert!(
        encoder.wait_exit(Duration::from_secs(10)).await.is_some(),
        "{what} was not refused"
    );
    assert!(
        node.log_text().contains(log_says),
        "{what}: refused for another reason than {log_says:?}: {}",
        node.log_text()
    );
}

#[tokio::test]
async fn an_srt_feed_is_composited_like_an_rtmp_one_wrong_keys_are_refused_and_a_deleted_key_is_cut()
 {
    let srt_port = free_port();
    let SlateOnAir {
        app,
        receiver,
        key_id,
        key,
        node,
        mut ws,
    } = slate_on_air(
        "srt-ingest",
        &[("SRT_ADDR", &format!("127.0.0.1:{srt_port}"))],
    )
    .await;

    // Refused in the handshake: an unknown key, another application, another mode.
    let url = srt_url(srt_port, &access_control("sk_wrong"));
    let wrong = Encoder::publish_srt(&url, "0xFF00FF", "320x240");
    refused(
        &node,
        wrong,
        "an unknown key",
        "unknown or deleted stream key",
    )
    .await;
    let url = srt_url(srt_port, &format!("#!::r=other/{key},m=publish"));
    let other = Encoder::publish_srt(&url, "0xFF00FF", "320x240");
    refused(&node, other, "another application", "unknown application").await;
    let url = srt_url(srt_port, &format!("#!::r=live/{key},m=request"));
    let reader = Encoder::publish_srt(&url, "0xFF00FF", "320x240");
    refused(&node, reader, "a reader", "only m=publish").await;
    wait_slate(&receiver, Duration::from_secs(2)).await;

    // The right key in the access-control syntax: the feed shows in the box.
    let t0 = Instant::now();
    let green = Encoder::publish_srt(
        &srt_url(srt_port, &access_control(&key)),
        "0x00FF00",
        "640x480",
    );
    wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(15),
        "srt feed",
        is_green,
    )
    .await;
    eprintln!(
        "FIGURE srt_publish_to_picture={:.0} ms",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    wait_pixel(&receiver, OUTSIDE, Duration::from_secs(1), "navy", is_navy).await;
    let connected = next_of(&mut ws, "ingest:connected", Duration::from_secs(5))
        .await
        .expect("ingest:connected");
    assert_eq!(connected["data"]["keyId"], key_id.as_str(), "{connected}");
    let listed = key_list(&app).await;
    assert!(listed["lastUsed"].is_number(), "lastUsed not set: {listed}");
    assert_eq!(listed["publishing"], true, "{listed}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rms = receiver.audio_rms(1.0);
    eprintln!("FIGURE srt_feed_audio_rms={rms:.0} rms");
    assert!(
        rms > 500.0,
        "the SRT feed's audio is not in the output: {rms}"
    );

    // A bare key as the stream id works too, and replaces the first publisher.
    let mut red = Encoder::publish_srt(&srt_url(srt_port, &key), "0xFF0000", "320x180");
    wait_pixel(
        &receiver,
        IN_BOX,
        Duration::from_secs(15),
        "bare key",
        is_red,
    )
    .await;
    drop(green);

    // Deleting the key cuts the publisher.
    let t0 = Instant::now();
    app.delete(&format!("/stream/keys/{key_id}"), "acme")
        .await
        .expect(200);
    let cut = red.wait_exit(Duration::from_secs(10)).await;
    let took = t0.elapsed();
    eprintln!(
        "FIGURE srt_key_deleted_to_publisher_cut={:.0} ms",
        took.as_secs_f64() * 1000.0
    );
    assert!(
        cut.is_some() && took < Duration::from_secs(4),
        "publisher not cut in time: {cut:?} after {took:?}"
    );
    wait_slate(&receiver, Duration::from_secs(10)).await;
    let gone = next_of(&mut ws, "ingest:disconnected", Duration::from_secs(5))
        .await
        .expect("ingest:disconnected");
    assert_eq!(gone["data"]["keyId"], key_id.as_str(), "{gone}");
    let again = Encoder::publish_srt(
        &srt_url(srt_port, &access_control(&key)),
        "0x00FF00",
        "320x180",
    );
    refused(&node, again, "a deleted key", "stream key").await;
    assert!(
        !node.log_text().contains(&key),
        "a stream key appears in the node's log"
    );
    drop(node);
}

/// The same red-to-green switch published over RTMP and then over SRT, read back from the
/// decoded output: the moment green shows less the moment the encoder drew it. Both include
/// the encoder's start-up (counted as latency, so an over-estimate) and the output's own
/// encode and the receiver's decode; their difference is what SRT adds over RTMP.
#[tokio::test]
async fn glass_to_glass_latency_of_an_srt_feed_against_an_rtmp_one() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start("srt-latency", crate::ingest::W, crate::ingest::H);
    let (_key_id, key) = ingest_stream(&app, &receiver).await;
    let srt_port = free_port();
    let latency_ms = 120;
    let node = spawn_node_with_env(
        &app,
        "node-a",
        1,
        &[
            ("SRT_ADDR", &format!("127.0.0.1:{srt_port}")),
            ("SRT_LATENCY_MS", &latency_ms.to_string()),
        ],
    );
    start_live(&app).await;
    wait_slate(&receiver, Duration::from_secs(15)).await;
    let switch_at = Duration::from_secs(5);
    let mut figures = Vec::new();
    for (name, url) in [
        ("rtmp", node.ingest_url(&key)),
        ("srt", srt_url(srt_port, &access_control(&key))),
    ] {
        let t0 = Instant::now();
        let encoder = Encoder::publish_switching(&url, "0xFF0000", "0x00FF00", switch_at);
        wait_pixel(&receiver, IN_BOX, Duration::from_secs(15), name, is_red).await;
        wait_pixel(&receiver, IN_BOX, Duration::from_secs(15), name, is_green).await;
        let latency = t0.elapsed().saturating_sub(switch_at);
        eprintln!(
            "FIGURE {name}_glass_to_glass={:.0} ms",
            latency.as_secs_f64() * 1000.0
        );
        figures.push(latency);
        drop(encoder);
        wait_slate(&receiver, Duration::from_secs(10)).await;
    }
    eprintln!(
        "FIGURE srt_over_rtmp_latency={:.0} ms (SRT_LATENCY_MS={latency_ms})",
        (figures[1].as_secs_f64() - figures[0].as_secs_f64()) * 1000.0
    );
    drop(node);
}
