//! Building specs, running streams and reading pixels back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use render_node::compose::yuv::{Yuv, yuv_to_rgb};
use render_node::output::OutputTarget;
use render_node::{Engine, EngineConfig, StreamHandle, StreamOptions};
use serde_json::{Value, json};
use shared::backoff::Policy;
use shared::layer::Layer;
use shared::scene::Scene;
use shared::spec::{DesiredState, StreamSpec};
use shared::stream_config::{Resolution, StreamConfig};
use uuid::Uuid;

pub const W: u32 = 320;
pub const H: u32 = 240;
pub const FPS: u32 = 30;

/// A spec of one scene at 320x240, 30 fps, ultrafast.
pub fn spec(layers: Vec<Layer>) -> StreamSpec {
    let scene = layers.first().map_or_else(Uuid::new_v4, |l| l.scene_id);
    StreamSpec {
        stream_id: Uuid::new_v4(),
        tenant_id: "t".into(),
        version: 1,
        desired: DesiredState::Running,
        config: StreamConfig {
            resolution: Resolution {
                width: W,
                height: H,
            },
            target_fps: FPS,
            render_quality: 1,
            bitrate: "2000k".parse().unwrap(),
            ..StreamConfig::default()
        },
        scenes: vec![Scene {
            id: scene,
            name: "main".into(),
        }],
        active_scene_id: scene,
        layers,
        change: None,
    }
}

/// A layer from its kind-specific source and geometry.
pub fn layer(
    scene: Uuid,
    kind: &str,
    source: Value,
    (x, y, w, h): (i32, i32, i32, i32),
    z: i32,
) -> Layer {
    serde_json::from_value(json!({
        "id": Uuid::new_v4(), "sceneId": scene, "name": format!("{kind}{z}"), "kind": kind,
        "source": source, "visible": true, "position": {"x": x, "y": y},
        "size": {"width": w, "height": h}, "opacity": 1.0, "zIndex": z
    }))
    .unwrap()
}

/// A solid colour layer.
pub fn color(scene: Uuid, hex: &str, rect: (i32, i32, i32, i32), z: i32) -> Layer {
    layer(scene, "color", json!({"color": hex}), rect, z)
}

pub fn engine() -> Engine {
    Engine::new(EngineConfig {
        retry: Policy {
            first: Duration::from_millis(200),
            max: Duration::from_millis(400),
            max_attempts: Some(3),
        },
        ..EngineConfig::default()
    })
    .unwrap()
}

/// A fresh path under the system temp dir.
pub fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("render-node-it-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Renders `frames` frames of `spec` as fast as possible into an FLV file.
pub fn render_flv(spec: &StreamSpec, frames: u64) -> PathBuf {
    let out = temp_path("out.flv");
    start_with_file(spec, false, frames, &out).wait().unwrap();
    out
}

/// Starts `spec` for `frames` frames (in real time when `live`, to its configured outputs as
/// well), writing them to the FLV file `out` too.
pub fn start_with_file(spec: &StreamSpec, live: bool, frames: u64, out: &Path) -> StreamHandle {
    engine()
        .start(
            spec,
            StreamOptions {
                live,
                max_frames: Some(frames),
                extra_outputs: vec![OutputTarget::File(out.to_path_buf())],
                ..StreamOptions::default()
            },
        )
        .unwrap()
}

/// Decoded RGB frames of a media file.
pub fn decode(path: &Path) -> Vec<Frame> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    frames_of(&out.stdout)
}

pub fn frames_of(raw: &[u8]) -> Vec<Frame> {
    let len = (W * H * 3) as usize;
    raw.chunks_exact(len)
        .map(|c| Frame { rgb: c.to_vec() })
        .collect()
}

/// One RGB frame of the 320x240 canvas.
pub struct Frame {
    pub rgb: Vec<u8>,
}

impl Frame {
    pub fn at(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * W + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// Whether two colours are within `tol` on every channel.
pub fn close(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    (0..3).all(|i| (i32::from(a[i]) - i32::from(b[i])).abs() <= tol)
}

#[track_caller]
pub fn assert_color(f: &Frame, x: u32, y: u32, want: [u8; 3]) {
    let got = f.at(x, y);
    assert!(
        close(got, want, 12),
        "pixel ({x},{y}) is {got:?}, want {want:?}"
    );
}

/// A composed frame from the tap: its index and RGB pixel reader.
pub struct TapFrame {
    pub index: u64,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl TapFrame {
    pub fn at(&self, x: u32, y: u32) -> [u8; 3] {
        let ci = ((y / 2) * (W / 2) + x / 2) as usize;
        yuv_to_rgb(Yuv {
            y: self.y[(y * W + x) as usize],
            u: self.u[ci],
            v: self.v[ci],
        })
    }
}

/// The next composed frame from a stream started with `tap: true`.
pub fn next_tap(h: &StreamHandle) -> TapFrame {
    let sample = h
        .tap()
        .unwrap()
        .try_pull_sample(gstreamer::ClockTime::from_seconds(5))
        .expect("a composed frame");
    let buf = sample.buffer().unwrap();
    let pts = buf.pts().unwrap().nseconds();
    let map = buf.map_readable().unwrap();
    let (ys, cs) = ((W * H) as usize, (W * H / 4) as usize);
    TapFrame {
        index: (pts * u64::from(FPS) + 500_000_000) / 1_000_000_000,
        y: map[..ys].to_vec(),
        u: map[ys..ys + cs].to_vec(),
        v: map[ys + cs..ys + 2 * cs].to_vec(),
    }
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
