//! Changes applied to a running stream: frame-exact moves, animations, scene transitions,
//! pause and resume, layers added and removed, events and metrics.

use std::time::Duration;

use render_node::{Applied, NodeEvent, StreamOptions};
use serde_json::json;
use shared::spec::{ChangeHint, DesiredState, StreamSpec};
use shared::status::StreamState;
use shared::transition::{Easing, SceneTransition, SceneTransitionKind, Transition};
use uuid::Uuid;

use crate::helpers::*;

fn start_tapped(spec: &StreamSpec) -> render_node::StreamHandle {
    engine()
        .start(
            spec,
            StreamOptions {
                live: true,
                tap: true,
                extra_outputs: vec![render_node::output::OutputTarget::Null],
                ..StreamOptions::default()
            },
        )
        .unwrap()
}

/// A 320x240 stream of one moving video layer (a bouncing ball).
fn ball_spec() -> StreamSpec {
    spec(vec![layer(
        Uuid::new_v4(),
        "video",
        json!({"uri": "testsrc://ball"}),
        (0, 0, 320, 240),
        0,
    )])
}

fn next_version(spec: &StreamSpec) -> StreamSpec {
    let mut s = spec.clone();
    s.version += 1;
    s.change = None;
    s
}

/// The next version of `spec`, putting `scene` on air with a 400 ms linear `kind` transition.
fn switch_scene(spec: &StreamSpec, scene: Uuid, kind: SceneTransitionKind) -> StreamSpec {
    let mut s = next_version(spec);
    s.active_scene_id = scene;
    s.change = Some(ChangeHint::Scene {
        scene_id: scene,
        transition: SceneTransition {
            kind,
            duration_ms: 400,
            easing: Easing::Linear,
        },
    });
    s
}

/// Pulls tapped frames until one with index >= `index`, returning all frames seen.
fn frames_until(h: &render_node::StreamHandle, index: u64) -> Vec<TapFrame> {
    let mut seen = Vec::new();
    loop {
        let f = next_tap(h);
        let done = f.index >= index;
        seen.push(f);
        if done {
            return seen;
        }
    }
}

#[test]
fn moved_layer_is_at_its_new_place_within_two_frames() {
    let s = Uuid::new_v4();
    let spec = spec(vec![color(s, "#FF0000", (0, 0, 40, 40), 0)]);
    let h = start_tapped(&spec);
    frames_until(&h, 5);
    let mut moved = next_version(&spec);
    moved.layers[0].position.x = 200;
    let before = h.frames();
    let Applied::AtFrame(at) = h.apply(&moved).unwrap() else {
        panic!("newer version ignored")
    };
    assert!(
        at <= before + 2,
        "change reached frame {at}, {before} frames were out when it arrived"
    );
    let frames = frames_until(&h, at);
    let last = frames.last().unwrap();
    assert_eq!(last.index, at);
    assert!(
        close(last.at(220, 20), [255, 0, 0], 6),
        "not moved in frame {at}: {:?}",
        last.at(220, 20)
    );
    assert!(close(last.at(20, 20), [0, 0, 0], 6));
    if let Some(prev) = frames.iter().rev().nth(1) {
        assert_eq!(prev.index + 1, at);
        assert!(
            close(prev.at(20, 20), [255, 0, 0], 6),
            "frame before the change already moved"
        );
    }
    // An older version does nothing.
    assert_eq!(h.apply(&spec).unwrap(), Applied::Ignored);
    h.stop().unwrap();
}

#[test]
fn animated_move_and_fade_pass_through_intermediate_values() {
    let s = Uuid::new_v4();
    let spec = spec(vec![color(s, "#FFFFFF", (0, 0, 40, 40), 0)]);
    let h = start_tapped(&spec);
    frames_until(&h, 3);
    let mut next = next_version(&spec);
    next.layers[0].opacity = 0.0;
    next.layers[0].position.x = 200;
    next.change = Some(ChangeHint::Layer {
        layer_id: next.layers[0].id,
        transition: Transition {
            duration_ms: 500,
            easing: Easing::EaseInOut,
        },
    });
    let Applied::AtFrame(at) = h.apply(&next).unwrap() else {
        panic!()
    };
    let frames = frames_until(&h, at + 16);
    let after: Vec<&TapFrame> = frames.iter().filter(|f| f.index >= at).collect();
    // Opacity at the layer's moving centre: strictly between on the way, gone at the end.
    let brightest = |f: &TapFrame| (0..W).step_by(4).map(|x| f.at(x, 20)[0]).max().unwrap_or(0);
    let mids: Vec<u8> = after.iter().map(|f| brightest(f)).collect();
    assert!(
        mids.iter().any(|v| (40..215).contains(v)),
        "no intermediate opacity: {mids:?}"
    );
    assert!(
        mids.windows(2).all(|w| w[1] <= w[0].saturating_add(3)),
        "fade not monotonic: {mids:?}"
    );
    assert!(*mids.last().unwrap() < 10, "not faded out: {mids:?}");
    h.stop().unwrap();
}

#[test]
fn scene_fade_and_slide_transitions() {
    let a = Uuid::new_v4();
    let b = Uuid::new_v4();
    let mut spec = spec(vec![
        color(a, "#FF0000", (0, 0, 320, 240), 0),
        color(b, "#0000FF", (0, 0, 320, 240), 0),
    ]);
    spec.scenes.push(shared::scene::Scene {
        id: b,
        name: "b".into(),
    });
    let h = start_tapped(&spec);
    assert!(close(
        frames_until(&h, 2).last().unwrap().at(160, 120),
        [255, 0, 0],
        6
    ));

    let fade = switch_scene(&spec, b, SceneTransitionKind::Fade);
    let Applied::AtFrame(at) = h.apply(&fade).unwrap() else {
        panic!()
    };
    let frames = frames_until(&h, at + 13);
    let mid = frames
        .iter()
        .find(|f| f.index == at + 6)
        .unwrap()
        .at(160, 120);
    assert!(
        (60..200).contains(&mid[0]) && (60..200).contains(&mid[2]),
        "fade midpoint {mid:?}"
    );
    assert!(close(frames.last().unwrap().at(160, 120), [0, 0, 255], 6));

    let slide = switch_scene(&fade, a, SceneTransitionKind::Slide);
    let Applied::AtFrame(at) = h.apply(&slide).unwrap() else {
        panic!()
    };
    let frames = frames_until(&h, at + 13);
    let mid = frames.iter().find(|f| f.index == at + 6).unwrap();
    // Halfway: the old scene (blue) still on the left, the new one (red) coming in on the right.
    assert!(
        close(mid.at(20, 120), [0, 0, 255], 6),
        "{:?}",
        mid.at(20, 120)
    );
    assert!(
        close(mid.at(300, 120), [255, 0, 0], 6),
        "{:?}",
        mid.at(300, 120)
    );
    assert!(close(frames.last().unwrap().at(20, 120), [255, 0, 0], 6));
    h.stop().unwrap();
}

#[test]
fn pause_holds_the_last_frame_and_resume_continues() {
    let spec = ball_spec();
    let h = start_tapped(&spec);
    frames_until(&h, 10);
    let mut paused = next_version(&spec);
    paused.desired = DesiredState::Paused;
    let Applied::AtFrame(at) = h.apply(&paused).unwrap() else {
        panic!()
    };
    let frames = frames_until(&h, at + 12);
    let held: Vec<&TapFrame> = frames.iter().filter(|f| f.index > at + 1).collect();
    assert!(held.len() >= 5);
    assert!(
        held.windows(2)
            .all(|w| w[0].at(160, 120) == w[1].at(160, 120) && same(w[0], w[1]))
    );
    assert_eq!(h.report().state, StreamState::Paused);
    let mut resumed = next_version(&paused);
    resumed.desired = DesiredState::Running;
    let Applied::AtFrame(at) = h.apply(&resumed).unwrap() else {
        panic!()
    };
    let frames = frames_until(&h, at + 10);
    let moving: Vec<&TapFrame> = frames.iter().filter(|f| f.index > at).collect();
    assert!(
        moving.windows(2).any(|w| !same(w[0], w[1])),
        "still frozen after resume"
    );
    h.stop().unwrap();
}

fn same(a: &TapFrame, b: &TapFrame) -> bool {
    (0..H)
        .step_by(8)
        .all(|y| (0..W).step_by(8).all(|x| a.at(x, y) == b.at(x, y)))
}

#[test]
fn layers_added_and_removed_live_and_errors_reported() {
    let s = Uuid::new_v4();
    let spec = spec(vec![color(s, "#FF0000", (0, 0, 100, 100), 0)]);
    let h = start_tapped(&spec);
    let mut events = h.events();
    frames_until(&h, 2);
    let mut added = next_version(&spec);
    added
        .layers
        .push(color(s, "#00FF00", (200, 100, 100, 100), 1));
    added.layers.push(layer(
        s,
        "image",
        json!({"url": "file:///nonexistent/x.png"}),
        (0, 150, 50, 50),
        2,
    ));
    let Applied::AtFrame(at) = h.apply(&added).unwrap() else {
        panic!()
    };
    let f = frames_until(&h, at).pop().unwrap();
    assert!(close(f.at(250, 150), [0, 255, 0], 6));
    assert!(close(f.at(50, 50), [255, 0, 0], 6));
    let mut got_error = false;
    while let Ok(e) = events.try_recv() {
        got_error |=
            matches!(e, NodeEvent::LayerError { layer_id, .. } if layer_id == added.layers[2].id);
    }
    assert!(got_error, "no layer error event for the missing image");
    let mut removed = next_version(&added);
    removed.layers.remove(0);
    let Applied::AtFrame(at) = h.apply(&removed).unwrap() else {
        panic!()
    };
    let f = frames_until(&h, at).pop().unwrap();
    assert!(close(f.at(50, 50), [0, 0, 0], 6));
    assert!(close(f.at(250, 150), [0, 255, 0], 6));
    h.stop().unwrap();
}

#[test]
fn report_is_refreshed_every_second_with_real_figures() {
    let spec = ball_spec();
    let h = start_tapped(&spec);
    std::thread::sleep(Duration::from_millis(2300));
    let r = h.report();
    assert_eq!(r.state, StreamState::Live);
    assert!((25.0..35.0).contains(&r.fps), "fps {}", r.fps);
    assert!(r.frame_count >= 50, "frames {}", r.frame_count);
    assert!(r.average_render_time > 0.0);
    assert!(r.encoder_latency_ms > 0.0);
    assert!(r.memory_usage > 10_000_000);
    assert!(r.cpu_usage > 0.0);
    assert!(r.bitrate > 0.0, "bitrate {}", r.bitrate);
    assert_eq!(r.version, 1);
    let end = h.stop().unwrap();
    assert_eq!(end.state, StreamState::Idle);
}

#[test]
fn new_resolution_rebuilds_the_pipeline_and_keeps_the_handle() {
    let s = Uuid::new_v4();
    let spec = spec(vec![color(s, "#FF0000", (0, 0, 100, 100), 0)]);
    let h = start_tapped(&spec);
    let mut events = h.events();
    frames_until(&h, 3);
    let mut bigger = next_version(&spec);
    bigger.config.resolution = "640x480".parse().unwrap();
    bigger.config.bitrate = "3000k".parse().unwrap();
    let t0 = std::time::Instant::now();
    assert_eq!(h.apply(&bigger).unwrap(), Applied::Restarted);
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "rebuild took {:?}",
        t0.elapsed()
    );
    let sample = h
        .tap()
        .unwrap()
        .try_pull_sample(gstreamer::ClockTime::from_seconds(5))
        .unwrap();
    let caps = sample.caps().unwrap().structure(0).unwrap().to_owned();
    assert_eq!(caps.get::<i32>("width").unwrap(), 640);
    assert_eq!(caps.get::<i32>("height").unwrap(), 480);
    std::thread::sleep(Duration::from_millis(1200));
    let r = h.report();
    assert_eq!(r.version, 2);
    assert_eq!(r.state, StreamState::Live);
    // The old pipeline's end is not the stream's end.
    while let Ok(e) = events.try_recv() {
        assert!(
            !matches!(e, NodeEvent::StreamFailed { .. } | NodeEvent::StreamEnded),
            "{e:?}"
        );
    }
    h.stop().unwrap();
}

#[test]
fn snapshot_is_a_jpeg_of_the_frame_on_air() {
    let s = Uuid::new_v4();
    let spec = spec(vec![color(s, "#00FF00", (0, 0, 160, 240), 0)]);
    let h = start_tapped(&spec);
    frames_until(&h, 3);
    let jpeg = h.snapshot_jpeg(85).unwrap().expect("a frame is on air");
    let img = image::load_from_memory(&jpeg).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), (W, H));
    assert!(
        close(img.get_pixel(80, 120).0, [0, 255, 0], 12),
        "{:?}",
        img.get_pixel(80, 120)
    );
    assert!(close(img.get_pixel(240, 120).0, [0, 0, 0], 12));
    h.stop().unwrap();
}
