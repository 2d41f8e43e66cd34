//! Video file layers: decoded, scaled into their box, looped, their audio mixed in.

use std::process::Command;

use serde_json::json;
use uuid::Uuid;

use crate::helpers::*;

/// A one-second clip: a moving test pattern and a 1 kHz tone.
fn clip() -> std::path::PathBuf {
    let path = temp_path("clip.mp4");
    let st = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=160x120:r=30:d=1",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=1000:duration=1"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ])
        .arg(&path)
        .status()
        .unwrap();
    assert!(st.success());
    path
}

#[test]
fn video_file_loops_and_its_audio_is_mixed_in() {
    let s = Uuid::new_v4();
    let uri = format!("file://{}", clip().display());
    let spec = spec(vec![layer(
        s,
        "video",
        json!({"uri": uri, "loop": true}),
        (80, 60, 160, 120),
        0,
    )]);
    let out = temp_path("video.flv");
    // 2.5 s in real time: the one-second clip has to loop twice.
    let h = start_with_file(&spec, true, 75, &out);
    h.wait().unwrap();
    let frames = decode(&out);
    assert!(frames.len() >= 70, "{} frames", frames.len());
    // Inside the box the clip plays (not black); outside stays black.
    let lit = |f: &Frame| {
        (80..240)
            .step_by(8)
            .any(|x| f.at(x, 120).iter().any(|c| *c > 60))
    };
    assert!(
        lit(&frames[15]) && lit(&frames[45]) && lit(&frames[70]),
        "clip not shown after looping"
    );
    assert_color(&frames[45], 20, 20, [0, 0, 0]);
    // Frames keep changing after the clip's first second: it looped rather than froze.
    let changed = frames[40..70]
        .windows(2)
        .filter(|w| {
            (0..120)
                .step_by(6)
                .any(|y| w[0].at(80 + y, 60 + y / 2) != w[1].at(80 + y, 60 + y / 2))
        })
        .count();
    assert!(
        changed > 10,
        "only {changed} changing frames after the first loop"
    );
    // The tone reached the output's audio track: far louder than the silence base.
    let vol = Command::new("ffmpeg")
        .args(["-v", "info", "-i"])
        .arg(&out)
        .args(["-map", "0:a", "-af", "volumedetect", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&vol.stderr);
    let max = log
        .lines()
        .find_map(|l| l.split("max_volume: ").nth(1))
        .and_then(|v| v.trim_end_matches(" dB").trim().parse::<f64>().ok())
        .unwrap_or(-91.0);
    assert!(max > -30.0, "audio max volume {max} dB: tone not mixed in");
}

#[test]
fn missing_video_file_is_reported_and_the_stream_goes_on() {
    let s = Uuid::new_v4();
    let spec = spec(vec![
        color(s, "#FF0000", (0, 0, 320, 240), 0),
        layer(
            s,
            "video",
            json!({"uri": "file:///nonexistent/clip.mp4"}),
            (0, 0, 100, 100),
            1,
        ),
    ]);
    let f = &decode(&render_flv(&spec, 6))[3];
    assert_color(f, 50, 50, [255, 0, 0]);
}
