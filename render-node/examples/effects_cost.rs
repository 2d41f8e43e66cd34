//! What each layer effect costs on a moving 1080p layer, per frame, through the real
//! compositor: a full-canvas moving layer (a still green-screen picture handed over as a
//! new frame every time, as a decoder would) composed FRAMES times with no effect, then with
//! each effect alone, then with a typical chain; and what a static layer costs to bake once
//! and to draw afterwards. Used by `render-node/bench/effects-bench.sh`, which documents it;
//! prints `FIGURE effect_<name>_1080p_ms=… ms/frame` lines (compose time with the effect)
//! and `…_cost_ms` (the same minus the no-effect compose time).
//!
//! usage: effects_cost [FRAMES]   (default 60)

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use render_node::compose::canvas::{Canvas, PlanarView};
use render_node::compose::effects::EffectChain;
use render_node::compose::layer::LayerContent;
use render_node::compose::tween::Geometry;
use render_node::compose::yuv::rgb_to_yuv;
use render_node::compose::{Compositor, FrameSource, Plan, PlannedContent, PlannedLayer};
use shared::effect::Effect;
use shared::transition::SceneTransition;
use uuid::Uuid;

const W: usize = 1920;
const H: usize = 1080;

/// A decoder that always has the same picture: a person-sized block on green.
struct GreenScreen(Canvas);

impl GreenScreen {
    fn new() -> Self {
        let mut c = Canvas::new(W, H, rgb_to_yuv(0, 200, 40));
        let skin = rgb_to_yuv(200, 150, 120);
        for y in H / 4..H {
            for x in W * 3 / 8..W * 5 / 8 {
                c.y[y * W + x] = skin.y;
                c.u[(y / 2) * (W / 2) + x / 2] = skin.u;
                c.v[(y / 2) * (W / 2) + x / 2] = skin.v;
            }
        }
        GreenScreen(c)
    }
}

impl FrameSource for GreenScreen {
    fn set_size(&mut self, _width: u32, _height: u32) {}
    fn frame(&mut self) -> Option<PlanarView<'_>> {
        Some(self.0.view())
    }
    fn describe(&self) -> String {
        "green screen".into()
    }
}

fn effects(v: serde_json::Value) -> Vec<Effect> {
    serde_json::from_value(v).unwrap_or_default()
}

fn full_canvas() -> Geometry {
    Geometry {
        x: 0.0,
        y: 0.0,
        width: W as f64,
        height: H as f64,
        opacity: 1.0,
    }
}

/// Mean compose time (ms) of `frames` frames of one layer with `content` and `list`, and
/// the time of the first frame (which prepares static layers).
fn compose(content: LayerContent, list: Vec<Effect>, frames: u64) -> (f64, f64) {
    let chain = EffectChain::new(list);
    let mut c = Compositor::new(W, H, 30);
    c.apply(
        Plan {
            scene_id: Uuid::from_u128(1),
            scene_transition: SceneTransition::default(),
            layers: vec![PlannedLayer {
                id: Uuid::from_u128(2),
                z: 0,
                visible: true,
                target: full_canvas(),
                transition: None,
                content: PlannedContent::Replace(content),
                effects: chain.clone(),
            }],
        },
        0,
    );
    let t0 = Instant::now();
    c.render(0);
    let first = t0.elapsed().as_secs_f64() * 1000.0;
    let t1 = Instant::now();
    for n in 1..=frames {
        // Static layers do not change: force the compose so the blend is what is measured.
        if !c.needs_redraw(n) {
            c.apply(
                Plan {
                    scene_id: Uuid::from_u128(1),
                    scene_transition: SceneTransition::default(),
                    layers: vec![PlannedLayer {
                        id: Uuid::from_u128(2),
                        z: 0,
                        visible: true,
                        target: full_canvas(),
                        transition: None,
                        content: PlannedContent::Keep,
                        effects: chain.clone(),
                    }],
                },
                n,
            );
        }
        c.render(n);
    }
    let mean = t1.elapsed().as_secs_f64() * 1000.0 / frames as f64;
    (mean, first)
}

fn main() {
    let frames: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60);
    let cases = [
        ("none", serde_json::json!([])),
        (
            "crop",
            serde_json::json!([{"type": "crop", "left": 100, "right": 100}]),
        ),
        ("chromakey", serde_json::json!([{"type": "chromaKey"}])),
        (
            "cornerradius",
            serde_json::json!([{"type": "cornerRadius", "radius": 48}]),
        ),
        (
            "border",
            serde_json::json!([{"type": "border", "width": 8, "color": "#FFFFFF"}]),
        ),
        (
            "rotate90",
            serde_json::json!([{"type": "rotate", "degrees": 90}]),
        ),
        (
            "rotate15",
            serde_json::json!([{"type": "rotate", "degrees": 15}]),
        ),
        (
            "flip",
            serde_json::json!([{"type": "flip", "horizontal": true}]),
        ),
        (
            "coloradjust",
            serde_json::json!([{"type": "colorAdjust", "brightness": 0.1, "contrast": 1.2, "saturation": 1.3, "gamma": 1.1}]),
        ),
        ("blur8", serde_json::json!([{"type": "blur", "radius": 8}])),
        (
            "shadow",
            serde_json::json!([{"type": "shadow", "offsetX": 8, "offsetY": 8, "blur": 12}]),
        ),
        (
            "keyed_card",
            serde_json::json!([{"type": "chromaKey"}, {"type": "cornerRadius", "radius": 32},
                               {"type": "border", "width": 6, "color": "#FFFFFF"}]),
        ),
    ];
    let mut baseline = 0.0;
    for (name, list) in cases {
        let list = effects(list);
        let (ms, _) = compose(
            LayerContent::Live(Box::new(GreenScreen::new())),
            list,
            frames,
        );
        if name == "none" {
            baseline = ms;
        }
        println!("FIGURE effect_{name}_1080p_ms={ms:.2} ms/frame");
        if name != "none" {
            println!(
                "FIGURE effect_{name}_1080p_cost_ms={:.2} ms/frame",
                ms - baseline
            );
        }
    }
    // A static 1080p picture with the keyed-card chain: baked once, then only blended.
    let chain = effects(serde_json::json!([{"type": "chromaKey"},
        {"type": "cornerRadius", "radius": 32}, {"type": "border", "width": 6, "color": "#FFFFFF"}]));
    let picture = Arc::new(image::RgbaImage::from_fn(W as u32, H as u32, |x, _| {
        if (W * 3 / 8..W * 5 / 8).contains(&(x as usize)) {
            image::Rgba([200, 150, 120, 255])
        } else {
            image::Rgba([0, 200, 40, 255])
        }
    }));
    let (frame_ms, bake_ms) = compose(LayerContent::Bitmap(picture), chain, frames);
    println!("FIGURE effect_static_keyed_card_1080p_bake_ms={bake_ms:.1} ms");
    println!("FIGURE effect_static_keyed_card_1080p_frame_ms={frame_ms:.2} ms/frame");
}
