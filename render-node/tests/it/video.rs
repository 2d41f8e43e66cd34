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

/// Root mean square of each channel of `path`'s audio after its first `skip_s` seconds, as
/// a fraction of full scale.
fn channel_rms(path: &std::path::Path, skip_s: f64) -> (f64, f64) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-map", "0:a", "-f", "s16le", "-ac", "2", "-ar", "48000", "-",
        ])
        .output()
        .unwrap();
    let samples: Vec<f64> = out
        .stdout
        .chunks_exact(2)
        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0)
        .skip((skip_s * 96_000.0) as usize)
        .collect();
    let rms = |ch: usize| {
        let v: Vec<f64> = samples.iter().skip(ch).step_by(2).copied().collect();
        (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt()
    };
    (rms(0), rms(1))
}

#[test]
fn a_video_layers_sound_goes_through_its_fader_and_is_metered() {
    let s = Uuid::new_v4();
    let uri = format!("file://{}", clip().display());
    let mut video = layer(
        s,
        "video",
        json!({"uri": uri, "loop": true}),
        (80, 60, 160, 120),
        0,
    );
    // Panned hard right, at +6 dB.
    video.audio.pan = 1.0;
    video.audio.volume = 2.0;
    let layer_id = video.id;
    let spec = spec(vec![video]);
    let out = temp_path("video-fader.flv");
    let h = start_with_file(&spec, true, 75, &out);
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let levels = h
        .audio_levels()
        .expect("an encoding pipeline meters its audio");
    let layer = levels
        .layers
        .iter()
        .find(|l| l.layer_id == layer_id)
        .expect("the video layer's meter");
    assert!(layer.level.rms_db > -40.0, "{levels:?}");
    assert!(
        levels.programme.peak_db >= layer.level.peak_db - 0.5,
        "{levels:?}"
    );
    h.wait().unwrap();
    let (left, right) = channel_rms(&out, 1.0);
    eprintln!(
        "FIGURE video_pan_right_left_rms_dbfs={:.1}",
        20.0 * left.max(1e-9).log10()
    );
    eprintln!(
        "FIGURE video_pan_right_right_rms_dbfs={:.1}",
        20.0 * right.log10()
    );
    // The clip's tone is 1/8 of full scale (−21.1 dBFS RMS); at volume 2 it is 6 dB up.
    let right_db = 20.0 * right.log10();
    assert!(
        (right_db - (-21.07 + 6.02)).abs() <= 1.0,
        "the right channel is at {right_db:.1} dBFS"
    );
    assert!(
        left < right / 100.0,
        "panned right, yet the left has {left} (right {right})"
    );
}

/// When (seconds into `path`) the clip's picture first shows in its box, and when its tone
/// is first heard.
fn onsets(path: &std::path::Path) -> (f64, f64) {
    let frames = decode(path);
    let lit = |f: &Frame| {
        (80..240)
            .step_by(8)
            .any(|x| f.at(x, 120).iter().any(|c| *c > 60))
    };
    let video = frames.iter().position(lit).expect("the clip never showed") as f64 / 30.0;
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-map", "0:a", "-f", "s16le", "-ac", "1", "-ar", "48000", "-",
        ])
        .output()
        .unwrap();
    let samples: Vec<f64> = out
        .stdout
        .chunks_exact(2)
        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0)
        .collect();
    // The first 10 ms window well above the silence base.
    let window = samples
        .chunks(480)
        .position(|w| (w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64).sqrt() > 0.01)
        .expect("the tone was never heard");
    (video, window as f64 * 0.010)
}

/// A two-second clip, dark and silent until 1 s, then lit with a 1 kHz tone: picture and
/// sound start together well after the decoder's own start-up.
fn flash_and_beep() -> std::path::PathBuf {
    let path = temp_path("flash.mp4");
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("color=c=black:s=160x120:r=30:d=2,drawbox=c=white:t=fill:enable='gte(t,1)'")
        .args(["-f", "lavfi", "-i"])
        .arg("sine=frequency=1000:duration=2,volume=enable='lt(t,1)':volume=0")
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
fn a_layers_delay_plays_its_sound_later_than_its_picture() {
    let uri = format!("file://{}", flash_and_beep().display());
    let offset = |delay_ms: i32| {
        let s = Uuid::new_v4();
        let mut video = layer(
            s,
            "video",
            json!({"uri": uri, "loop": false}),
            (80, 60, 160, 120),
            0,
        );
        video.audio.delay_ms = delay_ms;
        let out = temp_path("video-delay.flv");
        let h = start_with_file(&spec(vec![video]), true, 75, &out);
        h.wait().unwrap();
        let (video, audio) = onsets(&out);
        audio - video
    };
    let base = offset(0);
    let delayed = offset(400);
    eprintln!("FIGURE video_av_offset_ms={:.0}", base * 1000.0);
    eprintln!("FIGURE video_av_offset_delay400_ms={:.0}", delayed * 1000.0);
    assert!(
        ((delayed - base) - 0.4).abs() <= 0.06,
        "a delay of 400 ms moved the sound by {:.0} ms",
        (delayed - base) * 1000.0
    );
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
