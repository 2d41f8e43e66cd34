//! What receivers get: codecs, size and rate, RTMP delivery, isolated failing destinations.

use std::process::{Command, Stdio};
use std::time::Duration;

use render_node::output::OutputTarget;
use render_node::{NodeEvent, StreamOptions};
use shared::status::OutputState;
use uuid::Uuid;

use crate::helpers::*;

fn probe(path: &std::path::Path) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height,r_frame_rate",
            "-of",
            "compact",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn flv_carries_h264_and_aac_at_the_configured_size_and_rate() {
    let s = Uuid::new_v4();
    let out = render_flv(&spec(vec![color(s, "#336699", (0, 0, 320, 240), 0)]), 45);
    let p = probe(&out);
    assert!(
        p.contains("codec_name=h264|width=320|height=240|r_frame_rate=30/1"),
        "{p}"
    );
    assert!(p.contains("codec_name=aac"), "{p}");
    assert_eq!(decode(&out).len(), 45);
}

#[test]
fn rtmp_receiver_gets_a_decodable_stream() {
    let port = free_port();
    let raw = temp_path("rtmp.raw");
    let mut receiver = Command::new("ffmpeg")
        .args(["-v", "error", "-listen", "1", "-i"])
        .arg(format!("rtmp://127.0.0.1:{port}/live/test"))
        .args(["-frames:v", "20", "-f", "rawvideo", "-pix_fmt", "rgb24"])
        .arg(&raw)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let s = Uuid::new_v4();
    let mut spec = spec(vec![
        color(s, "#0000FF", (0, 0, 320, 240), 0),
        color(s, "#FF0000", (160, 0, 160, 240), 1),
    ]);
    spec.config.outputs = vec![format!("rtmp://127.0.0.1:{port}/live/test")];
    let h = engine().start(&spec, StreamOptions::default()).unwrap();
    let mut ok = false;
    for _ in 0..100 {
        if let Ok(Some(st)) = receiver.try_wait() {
            ok = st.success();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = h.report();
    let _ = receiver.kill();
    let _ = h.stop();
    assert!(ok, "receiver did not get 20 frames");
    assert_eq!(report.outputs.len(), 1);
    assert_eq!(report.outputs[0].state, OutputState::Active, "{report:?}");
    assert!(
        !report.outputs[0].url.contains("/test"),
        "key not masked: {}",
        report.outputs[0].url
    );
    let frames = frames_of(&std::fs::read(&raw).unwrap());
    assert_eq!(frames.len(), 20);
    let f = &frames[10];
    assert_color(f, 40, 120, [0, 0, 255]);
    assert_color(f, 280, 120, [255, 0, 0]);
}

#[test]
fn unreachable_destination_is_retried_then_fails_clearly() {
    let s = Uuid::new_v4();
    let mut spec = spec(vec![color(s, "#FF0000", (0, 0, 320, 240), 0)]);
    let url = format!("rtmp://127.0.0.1:{}/live/secretkey123", free_port());
    spec.config.outputs = vec![url];
    let h = engine().start(&spec, StreamOptions::default()).unwrap();
    let mut events = h.events();
    let err = h.wait().unwrap_err().to_string();
    assert!(err.contains("every destination failed"), "{err}");
    let mut states = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let NodeEvent::Output { state, url, .. } = e {
            assert!(!url.contains("secretkey123"), "key leaked in {url}");
            states.push(state);
        }
    }
    assert!(states.contains(&OutputState::Reconnecting), "{states:?}");
    assert_eq!(states.last(), Some(&OutputState::Failed), "{states:?}");
}

#[test]
fn a_failing_destination_does_not_stop_the_others() {
    let s = Uuid::new_v4();
    let mut spec = spec(vec![color(s, "#00FF00", (0, 0, 320, 240), 0)]);
    spec.config.outputs = vec![format!("rtmp://127.0.0.1:{}/live/x", free_port())];
    let file = temp_path("kept.flv");
    let h = start_with_file(&spec, true, 75, &file);
    let report = h.wait().unwrap();
    let states: Vec<OutputState> = report.outputs.iter().map(|o| o.state).collect();
    assert!(states.contains(&OutputState::Active), "{states:?}");
    assert!(
        states
            .iter()
            .any(|s| matches!(s, OutputState::Failed | OutputState::Reconnecting)),
        "{states:?}"
    );
    let frames = decode(&file);
    assert!(frames.len() >= 70, "file got {} frames", frames.len());
    assert_color(&frames[60], 160, 120, [0, 255, 0]);
}

/// An `ffmpeg -listen` RTMP receiver writing `frames` raw RGB frames to a file.
fn receiver(port: u16, frames: u32) -> (std::process::Child, std::path::PathBuf) {
    let raw = temp_path("recv.raw");
    let child = Command::new("ffmpeg")
        .args(["-v", "error", "-listen", "1", "-i"])
        .arg(format!("rtmp://127.0.0.1:{port}/live/k"))
        .args([
            "-frames:v",
            &frames.to_string(),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
        ])
        .arg(&raw)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    (child, raw)
}

fn wait_exit(child: &mut std::process::Child, secs: u64) -> bool {
    for _ in 0..secs * 10 {
        if let Ok(Some(st)) = child.try_wait() {
            return st.success();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    false
}

#[test]
fn destination_added_live_and_reconnected_after_a_drop() {
    let s = Uuid::new_v4();
    let spec = spec(vec![color(s, "#FF0000", (0, 0, 320, 240), 0)]);
    let h = engine()
        .start(
            &spec,
            StreamOptions {
                extra_outputs: vec![OutputTarget::Null],
                ..StreamOptions::default()
            },
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // Added while the stream runs: the receiver must get headers and a keyframe to decode.
    let port = free_port();
    let (mut first, raw) = receiver(port, 10);
    std::thread::sleep(Duration::from_millis(300));
    let mut next = spec.clone();
    next.version = 2;
    next.config.outputs = vec![format!("rtmp://127.0.0.1:{port}/live/k")];
    h.apply(&next).unwrap();
    assert!(
        wait_exit(&mut first, 10),
        "first receiver got no decodable stream"
    );
    let frames = frames_of(&std::fs::read(&raw).unwrap());
    assert_eq!(frames.len(), 10);
    assert_color(&frames[5], 160, 120, [255, 0, 0]);
    // The receiver left after 10 frames: the node notices and retries with backoff.
    let mut events = h.events();
    let (mut second, raw) = receiver(port, 10);
    assert!(
        wait_exit(&mut second, 15),
        "no reconnection to the second receiver"
    );
    assert_eq!(frames_of(&std::fs::read(&raw).unwrap()).len(), 10);
    let mut states = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let NodeEvent::Output { state, .. } = e {
            states.push(state);
        }
    }
    assert!(states.contains(&OutputState::Reconnecting), "{states:?}");
    // Removing the destination live leaves only the null output.
    let mut last = next.clone();
    last.version = 3;
    last.config.outputs.clear();
    h.apply(&last).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    h.stop().unwrap();
}
