//! The audio mixer end to end: an encoder publishes a 440 Hz tone into an ingest layer on a
//! real node; the layer's fader is changed live through the API; the programme is decoded at
//! a real RTMP receiver and its meters read off the WebSocket (`?meters=1`).

use std::time::Duration;

use serde_json::{Value, json};
use stream_manager_tests::nodes::{Encoder, Receiver, spawn_node, spawn_node_with_env};
use stream_manager_tests::spawn_app_with_private_urls;
use stream_manager_tests::ws::{Socket, connect, next_of};

use crate::ingest::{H, IN_BOX, W, ingest_stream, is_green, start_live, wait_pixel};

/// Time for a change to reach the decoded output and fill the measured second: the update's
/// dispatch, the AAC encoder's and the receiver's buffers, and one second of new sound.
const SETTLE: Duration = Duration::from_secs(3);

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

/// The programme's mean RMS (dBFS) over the next `n` meter events.
async fn metered_rms(ws: &mut Socket, n: usize) -> f64 {
    let mut sum = 0.0;
    for _ in 0..n {
        let e = next_of(ws, "audio:levels", Duration::from_secs(5))
            .await
            .expect("audio:levels on the socket");
        sum += e["data"]["programme"]["rmsDb"].as_f64().unwrap();
    }
    sum / n as f64
}

/// Drains the socket of what arrived before now (meters from before a change).
async fn skip_meters(ws: &mut Socket, for_: Duration) {
    let _ = tokio::time::timeout(for_, async {
        while next_of(ws, "audio:levels", Duration::from_secs(5))
            .await
            .is_some()
        {}
    })
    .await;
}

#[tokio::test]
async fn a_layers_volume_and_mute_change_the_decoded_programme_and_the_published_meters() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start_with_audio("mixer", W, H);
    let (_, key) = ingest_stream(&app, &receiver).await;
    let layers = app.get("/stream/layers", "acme").await;
    let layer: Value = layers.data()["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "ingest")
        .cloned()
        .unwrap();
    let layer_id = layer["id"].as_str().unwrap().to_owned();
    assert_eq!(layer["audio"]["volume"], 1.0, "{layer}");
    assert_eq!(layer["audio"]["volumeDb"], 0.0, "{layer}");
    let node = spawn_node(&app, "node-a", 1);
    let mut ws = connect(&app, "/stream/events?meters=1", "acme", false)
        .await
        .unwrap();
    // A socket that did not ask for meters never receives them.
    let mut plain = connect(&app, "/stream/events", "acme", false)
        .await
        .unwrap();
    start_live(&app).await;

    let _feed = Encoder::publish_tone(&node.ingest_url(&key), "0x00FF00", "320x240", 440);
    wait_pixel(&receiver, IN_BOX, Duration::from_secs(15), "feed", is_green).await;
    tokio::time::sleep(SETTLE).await;
    let full = receiver.audio_rms(1.0);
    assert!(full > 500.0, "the tone is not in the output: {full}");
    skip_meters(&mut ws, Duration::from_millis(300)).await;

    // Meters: the programme and the layer, ten a second.
    let levels = next_of(&mut ws, "audio:levels", Duration::from_secs(5))
        .await
        .expect("audio:levels");
    // What one meter costs Redis and the socket, ten times a second per stream.
    eprintln!(
        "FIGURE mixer_meters_event_bytes={} (one layer)",
        levels.to_string().len()
    );
    let data = &levels["data"];
    assert!(
        data["layers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["layerId"] == layer_id.as_str() && l["rmsDb"].as_f64().unwrap() > -40.0),
        "no meter for the feed's layer: {levels}"
    );
    let meter_full = metered_rms(&mut ws, 10).await;
    assert!(meter_full > -40.0, "programme meter: {meter_full} dBFS");

    // Volume 0.5: the decoded programme (and its meter) drop by 6 dB.
    let r = app
        .patch(
            &format!("/stream/layers/{layer_id}"),
            "acme",
            json!({"audio": {"volume": 0.5}}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.data()["audio"]["volumeDb"], -6.0, "{:?}", r.body);
    tokio::time::sleep(SETTLE).await;
    let half = receiver.audio_rms(1.0);
    let drop_db = db(half / full);
    skip_meters(&mut ws, Duration::from_millis(300)).await;
    let meter_drop = metered_rms(&mut ws, 10).await - meter_full;
    eprintln!("FIGURE mixer_volume_half_decoded_drop_db={drop_db:.2}");
    eprintln!("FIGURE mixer_volume_half_metered_drop_db={meter_drop:.2}");
    assert!(
        (drop_db + 6.0).abs() <= 1.0,
        "decoded RMS {full:.0} -> {half:.0}: {drop_db:.2} dB"
    );
    assert!(
        (meter_drop + 6.0).abs() <= 1.0,
        "metered programme dropped {meter_drop:.2} dB"
    );

    // Muted: silence at the receiver; the volume is kept.
    let r = app
        .patch(
            &format!("/stream/layers/{layer_id}"),
            "acme",
            json!({"audio": {"muted": true}}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.data()["audio"]["volume"], 0.5);
    tokio::time::sleep(SETTLE).await;
    let muted = receiver.audio_rms(1.0);
    eprintln!("FIGURE mixer_muted_decoded_rms={muted:.1} (unmuted {full:.0})");
    assert!(muted < 30.0, "muted, yet the output has sound: RMS {muted}");

    // Bad values are refused, naming the field, and change nothing.
    let path = format!("/stream/layers/{layer_id}");
    for (body, field) in [
        (json!({"audio": {"volume": 2.5}}), "audio.volume"),
        (json!({"audio": {"volume": -1}}), "audio.volume"),
        (json!({"audio": {"pan": 1.5}}), "audio.pan"),
        (json!({"audio": {"delayMs": 501}}), "audio.delayMs"),
        (json!({"audio": {"volume": "loud"}}), "audio.volume"),
        (json!({"audio": {"gain": 1}}), "audio"),
    ] {
        let r = app.patch(&path, "acme", body.clone()).await;
        r.expect(422);
        let got = r.body["error"]["field"].as_str().unwrap_or("");
        assert!(got.starts_with(field), "{body}: {:?}", r.body);
    }
    let r = app
        .patch("/stream/config", "acme", json!({"masterVolume": 3}))
        .await;
    r.expect(422);
    assert_eq!(r.body["error"]["field"], "masterVolume");
    let now = app.get(&path, "acme").await;
    assert_eq!(now.data()["audio"]["volume"], 0.5, "{:?}", now.body);
    assert_eq!(now.data()["audio"]["muted"], true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        receiver.audio_rms(0.5) < 30.0,
        "a refused change was applied"
    );

    // The master volume: unmuted at 0.5, then the master at 0.5 too: another 6 dB down.
    app.patch(&path, "acme", json!({"audio": {"muted": false}}))
        .await
        .expect(200);
    tokio::time::sleep(SETTLE).await;
    let before_master = receiver.audio_rms(1.0);
    app.patch("/stream/config", "acme", json!({"masterVolume": 0.5}))
        .await
        .expect(200);
    tokio::time::sleep(SETTLE).await;
    let master_drop = db(receiver.audio_rms(1.0) / before_master);
    eprintln!("FIGURE mixer_master_half_decoded_drop_db={master_drop:.2}");
    assert!(
        (master_drop + 6.0).abs() <= 1.0,
        "master 0.5 changed the programme by {master_drop:.2} dB"
    );

    // The socket without `?meters=1` saw the stream's other events but no meter.
    let mut kinds = Vec::new();
    while let Ok(Some(e)) = tokio::time::timeout(
        Duration::from_millis(200),
        stream_manager_tests::ws::next_event(&mut plain, Duration::from_millis(200)),
    )
    .await
    {
        kinds.push(e["type"].as_str().unwrap_or("").to_owned());
    }
    assert!(
        kinds.iter().all(|k| k != "audio:levels"),
        "meters reached a socket that did not ask: {kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| k == "layer:update"),
        "the plain socket got nothing: {kinds:?}"
    );
}

#[tokio::test]
async fn faders_are_checked_on_create_stored_and_described_in_the_openapi_document() {
    let app = stream_manager_tests::spawn_app().await;
    // Out of range on create: 422 naming the field, and no layer is added.
    let r = app
        .post(
            "/stream/layers",
            "acme",
            json!({"kind": "video", "source": {"uri": "https://example.com/a.mp4"},
                   "audio": {"volume": 5}}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.body["error"]["field"], "audio.volume", "{:?}", r.body);
    let count = app.get("/stream/layers", "acme").await.data()["count"].clone();
    assert_eq!(count, 0);

    // Stored as sent, answered with the dB readout; a patch changes only what it names.
    let id = app
        .add_layer(
            json!({"kind": "video", "source": {"uri": "https://example.com/a.mp4"},
                          "audio": {"volume": 2, "pan": -0.5, "delayMs": -120}}),
        )
        .await;
    let path = format!("/stream/layers/{id}");
    let got = app.get(&path, "acme").await;
    assert_eq!(
        got.data()["audio"],
        json!({"volume": 2.0, "volumeDb": 6.0, "muted": false, "pan": -0.5, "delayMs": -120})
    );
    // What an answer shows can be sent back as it is.
    let echoed = got.data()["audio"].clone();
    app.patch(&path, "acme", json!({"audio": echoed}))
        .await
        .expect(200);
    let r = app
        .patch(&path, "acme", json!({"audio": {"muted": true}}))
        .await;
    r.expect(200);
    assert_eq!(r.data()["audio"]["volume"], 2.0);
    assert_eq!(r.data()["audio"]["delayMs"], -120);
    assert_eq!(r.data()["audio"]["muted"], true);

    // The master volume is a config field with its own range.
    let r = app
        .patch("/stream/config", "acme", json!({"masterVolume": 0.25}))
        .await;
    r.expect(200);
    assert_eq!(r.data()["masterVolume"], 0.25);
    app.patch("/stream/config", "acme", json!({"masterVolume": -1}))
        .await
        .expect(422);
    assert_eq!(
        app.get("/stream/config", "acme").await.data()["masterVolume"],
        0.25
    );

    let doc: Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    for field in ["volume", "muted", "pan", "delayMs"] {
        assert!(
            schemas["LayerAudio"]["properties"][field].is_object(),
            "LayerAudio.{field} undocumented: {}",
            schemas["LayerAudio"]
        );
        assert!(
            schemas["AudioPatch"]["properties"][field].is_object(),
            "AudioPatch.{field} undocumented"
        );
    }
    assert!(
        schemas["StreamConfig"]["properties"]["masterVolume"].is_object(),
        "{}",
        schemas["StreamConfig"]
    );
}

#[tokio::test]
async fn a_stream_in_its_own_process_publishes_its_meters_and_takes_fader_changes() {
    let app = spawn_app_with_private_urls(true).await;
    let receiver = Receiver::start_with_audio("mixer-process", W, H);
    let (_, key) = ingest_stream(&app, &receiver).await;
    let layers = app.get("/stream/layers", "acme").await;
    let layer_id = layers.data()["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "ingest")
        .and_then(|l| l["id"].as_str())
        .unwrap()
        .to_owned();
    let node = spawn_node_with_env(&app, "node-p", 1, &[("STREAM_ISOLATION", "process")]);
    let mut ws = connect(&app, "/stream/events?meters=1", "acme", false)
        .await
        .unwrap();
    start_live(&app).await;
    let _feed = Encoder::publish_tone(&node.ingest_url(&key), "0x00FF00", "320x240", 440);
    wait_pixel(&receiver, IN_BOX, Duration::from_secs(15), "feed", is_green).await;
    tokio::time::sleep(SETTLE).await;
    skip_meters(&mut ws, Duration::from_millis(300)).await;
    let e = next_of(&mut ws, "audio:levels", Duration::from_secs(5))
        .await
        .expect("audio:levels from the stream's process");
    assert!(
        e["data"]["layers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["layerId"] == layer_id.as_str()),
        "{e}"
    );
    let full = metered_rms(&mut ws, 10).await;
    app.patch(
        &format!("/stream/layers/{layer_id}"),
        "acme",
        json!({"audio": {"volume": 0.5}}),
    )
    .await
    .expect(200);
    tokio::time::sleep(SETTLE).await;
    skip_meters(&mut ws, Duration::from_millis(300)).await;
    let drop_db = metered_rms(&mut ws, 10).await - full;
    eprintln!("FIGURE mixer_process_volume_half_metered_drop_db={drop_db:.2}");
    assert!((drop_db + 6.0).abs() <= 1.0, "metered drop {drop_db:.2} dB");
}
