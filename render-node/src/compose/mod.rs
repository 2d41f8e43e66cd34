//! The compositor: draws the scene on air into an I420 canvas, one output frame at a time.
//!
//! - [`yuv`]: colour conversion into the encoder's colour space.
//! - [`canvas`]: the I420 frame and borrowed planar views.
//! - [`sprite`]: static layers prepared once per change (premultiplied I420 + alpha).
//! - [`blend`]: per-frame blending over each layer's own rectangle.
//! - [`tween`]: layer geometry over time (animated changes).
//! - [`layer`]: one layer's content, tween, effects and prepared sprite.
//! - [`effects`]: the per-layer effects (crop, rotate, corners, border, shadow, chroma key,
//!   colour adjustment, blur, mask, flip) on RGBA pixels, baked into static layers' sprites
//!   once and run on moving layers' frames.
//! - [`frame_source`]: what a moving layer's source gives the compositor each frame, and
//!   the ticking pictures of text with live values.
//! - [`cost`]: what a layer's pictures cost in memory (the stream's budget).
//!
//! A [`Plan`] (built by [`crate::engine::plan`] off the render thread) is handed to
//! [`Compositor::apply`] between two frames, so a change shows in the very next frame.

pub mod blend;
pub mod canvas;
pub mod cost;
pub mod effects;
pub mod frame_source;
pub mod layer;
pub mod sprite;
pub mod tween;
pub mod yuv;

use std::collections::HashMap;

use shared::transition::{SceneTransition, SceneTransitionKind, Transition};
use uuid::Uuid;

pub use self::frame_source::FrameSource;

use self::canvas::Canvas;
use self::effects::EffectChain;
use self::layer::{LayerContent, LayerRuntime};
use self::tween::{Geometry, Tween, frames_for, progress};
use self::yuv::BLACK;

/// Where one layer should end up, and with what content.
#[derive(Debug)]
pub struct PlannedLayer {
    pub id: Uuid,
    pub z: i32,
    pub visible: bool,
    pub target: Geometry,
    /// Animate from the current geometry to `target` instead of jumping.
    pub transition: Option<Transition>,
    pub content: PlannedContent,
    /// The layer's effects (a change re-bakes a static layer's sprite).
    pub effects: EffectChain,
}

/// Whether a layer keeps the content the compositor already holds.
#[derive(Debug)]
pub enum PlannedContent {
    /// The source did not change: keep content and prepared sprite.
    Keep,
    /// New or changed source.
    Replace(LayerContent),
}

/// The next state of the scene on air, bottom layer first.
#[derive(Debug)]
pub struct Plan {
    pub scene_id: Uuid,
    /// How to get there when `scene_id` is not the scene on air.
    pub scene_transition: SceneTransition,
    pub layers: Vec<PlannedLayer>,
}

/// The layers of one scene.
#[derive(Debug)]
struct SceneRuntime {
    id: Uuid,
    layers: Vec<LayerRuntime>,
}

impl SceneRuntime {
    fn draw(&mut self, canvas: &mut Canvas, frame: u64) {
        canvas.fill(BLACK);
        for l in &mut self.layers {
            l.draw(canvas, frame);
        }
    }

    fn changes_at(&self, frame: u64) -> bool {
        self.layers.iter().any(|l| l.changes_at(frame))
    }

    fn into_contents(self) -> impl Iterator<Item = LayerContent> {
        self.layers.into_iter().map(|l| l.content)
    }
}

/// A scene leaving the air while the new one comes in.
#[derive(Debug)]
struct Outgoing {
    scene: SceneRuntime,
    kind: SceneTransitionKind,
    start: u64,
    frames: u64,
    easing: shared::transition::Easing,
}

/// Draws frames. Owned by the render thread.
#[derive(Debug)]
pub struct Compositor {
    fps: u32,
    canvas: Canvas,
    scratch: Canvas,
    current: SceneRuntime,
    outgoing: Option<Outgoing>,
    /// Content taken off the air; the owner disposes of it away from the render thread,
    /// since tearing down a decoder pipeline can take longer than a frame.
    retired: Vec<LayerContent>,
    /// The canvas no longer shows the current state (a change arrived).
    dirty: bool,
}

impl Compositor {
    /// An empty black canvas of `width`×`height` at `fps`.
    pub fn new(width: usize, height: usize, fps: u32) -> Self {
        Compositor {
            fps: fps.max(1),
            canvas: Canvas::new(width, height, BLACK),
            scratch: Canvas::new(width, height, BLACK),
            current: SceneRuntime {
                id: Uuid::nil(),
                layers: Vec::new(),
            },
            outgoing: None,
            retired: Vec::new(),
            dirty: true,
        }
    }

    /// Takes a new plan into account from output frame `frame` on.
    pub fn apply(&mut self, plan: Plan, frame: u64) {
        self.dirty = true;
        if plan.scene_id != self.current.id {
            self.switch_scene(plan, frame);
            return;
        }
        let mut old: HashMap<Uuid, LayerRuntime> = std::mem::take(&mut self.current.layers)
            .into_iter()
            .map(|l| (l.id, l))
            .collect();
        for p in plan.layers {
            let layer = match old.remove(&p.id) {
                Some(mut l) => {
                    l.z = p.z;
                    l.visible = p.visible;
                    l.tween = match p.transition {
                        Some(t) => l.tween.retarget(
                            frame,
                            p.target,
                            frames_for(t.duration_ms, self.fps),
                            t.easing,
                        ),
                        None => Tween::still(p.target),
                    };
                    let animate = p
                        .transition
                        .map(|t| (frame, frames_for(t.duration_ms, self.fps), t.easing));
                    if let PlannedContent::Replace(c) = p.content {
                        let prev = l.replace_content(c);
                        self.retired.push(prev);
                    }
                    l.change_effects(p.effects, animate);
                    l
                }
                None => {
                    let mut l = LayerRuntime::new(
                        p.id,
                        p.z,
                        p.visible,
                        Tween::still(p.target),
                        new_content(p.content),
                    );
                    l.set_effects(p.effects);
                    l
                }
            };
            self.current.layers.push(layer);
        }
        self.current.layers.sort_by_key(|l| l.z);
        self.retired.extend(old.into_values().map(|l| l.content));
    }

    fn switch_scene(&mut self, plan: Plan, frame: u64) {
        let mut layers: Vec<LayerRuntime> = plan
            .layers
            .into_iter()
            .map(|p| {
                let mut l = LayerRuntime::new(
                    p.id,
                    p.z,
                    p.visible,
                    Tween::still(p.target),
                    new_content(p.content),
                );
                l.set_effects(p.effects);
                l
            })
            .collect();
        layers.sort_by_key(|l| l.z);
        let incoming = SceneRuntime {
            id: plan.scene_id,
            layers,
        };
        let leaving = std::mem::replace(&mut self.current, incoming);
        if let Some(prev) = self.outgoing.take() {
            self.retired.extend(prev.scene.into_contents());
        }
        let t = plan.scene_transition;
        let frames = frames_for(t.duration_ms, self.fps);
        if t.kind == SceneTransitionKind::Cut || frames == 0 || leaving.id.is_nil() {
            self.retired.extend(leaving.into_contents());
        } else {
            self.outgoing = Some(Outgoing {
                scene: leaving,
                kind: t.kind,
                start: frame,
                frames,
                easing: t.easing,
            });
        }
    }

    /// Content taken off the air since the last call.
    pub fn take_retired(&mut self) -> Vec<LayerContent> {
        std::mem::take(&mut self.retired)
    }

    /// Whether frame `frame` would differ from the previous one.
    pub fn needs_redraw(&self, frame: u64) -> bool {
        self.dirty || self.outgoing.is_some() || self.current.changes_at(frame)
    }

    /// Draws output frame `frame` (or keeps the last one when nothing changed).
    pub fn render(&mut self, frame: u64) -> &Canvas {
        if !self.needs_redraw(frame) {
            return &self.canvas;
        }
        self.dirty = false;
        let finished = self
            .outgoing
            .as_ref()
            .is_some_and(|o| frame >= o.start + o.frames);
        if finished && let Some(o) = self.outgoing.take() {
            self.retired.extend(o.scene.into_contents());
            // One more full redraw so the last transition frame is not left on screen.
            self.dirty = true;
        }
        match &mut self.outgoing {
            None => self.current.draw(&mut self.canvas, frame),
            Some(o) => {
                let t = progress(o.start, o.frames, o.easing, frame);
                o.scene.draw(&mut self.canvas, frame);
                self.current.draw(&mut self.scratch, frame);
                match o.kind {
                    SceneTransitionKind::Slide => {
                        let shift = (t * self.canvas.width as f64).round() as usize;
                        blend::slide(&mut self.canvas, &self.scratch, shift);
                    }
                    _ => blend::cross_fade(
                        &mut self.canvas,
                        &self.scratch,
                        (t * 255.0).round() as u8,
                    ),
                }
            }
        }
        &self.canvas
    }

    /// The last frame drawn.
    pub fn last(&self) -> &Canvas {
        &self.canvas
    }
}

fn new_content(c: PlannedContent) -> LayerContent {
    match c {
        PlannedContent::Replace(c) => c,
        // The planner only says Keep for layers the compositor holds; if it ever does not,
        // drawing nothing is the safe answer.
        PlannedContent::Keep => LayerContent::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yuv::rgb_to_yuv;
    use shared::color::Rgba;
    use shared::transition::Easing;
    use std::sync::Arc;

    fn red_layer(
        id: Uuid,
        x: f64,
        content: PlannedContent,
        transition: Option<Transition>,
    ) -> PlannedLayer {
        PlannedLayer {
            id,
            z: 0,
            visible: true,
            target: Geometry {
                x,
                y: 0.0,
                width: 4.0,
                height: 4.0,
                opacity: 1.0,
            },
            transition,
            content,
            effects: EffectChain::default(),
        }
    }

    #[test]
    fn move_takes_effect_next_frame_and_animates() {
        let red = Rgba {
            r: 255,
            g: 0,
            b: 0,
            a: 255,
        };
        let scene = Uuid::new_v4();
        let id = Uuid::new_v4();
        let mut c = Compositor::new(32, 8, 10);
        c.apply(
            Plan {
                scene_id: scene,
                scene_transition: SceneTransition::default(),
                layers: vec![red_layer(
                    id,
                    0.0,
                    PlannedContent::Replace(LayerContent::Solid(red)),
                    None,
                )],
            },
            0,
        );
        assert_eq!(c.render(0).pixel(1, 1), rgb_to_yuv(255, 0, 0));
        c.apply(
            Plan {
                scene_id: scene,
                scene_transition: SceneTransition::default(),
                layers: vec![red_layer(id, 20.0, PlannedContent::Keep, None)],
            },
            1,
        );
        let f = c.render(1);
        assert_eq!(f.pixel(1, 1), BLACK);
        assert_eq!(f.pixel(21, 1), rgb_to_yuv(255, 0, 0));
        let anim = Transition {
            duration_ms: 1000,
            easing: Easing::Linear,
        };
        c.apply(
            Plan {
                scene_id: scene,
                scene_transition: SceneTransition::default(),
                layers: vec![red_layer(id, 0.0, PlannedContent::Keep, Some(anim))],
            },
            2,
        );
        assert_eq!(c.render(7).pixel(11, 1), rgb_to_yuv(255, 0, 0));
        assert_eq!(c.render(12).pixel(1, 1), rgb_to_yuv(255, 0, 0));
    }

    #[test]
    fn huge_layers_are_prepared_only_where_visible() {
        let scene = Uuid::new_v4();
        let big = Arc::new(image::RgbaImage::from_pixel(
            4,
            4,
            image::Rgba([0, 0, 255, 255]),
        ));
        let mut c = Compositor::new(32, 16, 10);
        let mut solid = red_layer(
            Uuid::new_v4(),
            -8000.0,
            PlannedContent::Replace(LayerContent::Solid(Rgba {
                r: 255,
                g: 0,
                b: 0,
                a: 255,
            })),
            None,
        );
        solid.target.width = 16_384.0;
        solid.target.height = 16_384.0;
        let mut bitmap = red_layer(
            Uuid::new_v4(),
            16.0,
            PlannedContent::Replace(LayerContent::Bitmap(big)),
            None,
        );
        bitmap.z = 1;
        bitmap.target.width = 16_384.0;
        bitmap.target.height = 16_384.0;
        c.apply(
            Plan {
                scene_id: scene,
                scene_transition: SceneTransition::default(),
                layers: vec![solid, bitmap],
            },
            0,
        );
        let f = c.render(0);
        assert_eq!(f.pixel(3, 3), rgb_to_yuv(255, 0, 0));
        assert_eq!(f.pixel(20, 3), rgb_to_yuv(0, 0, 255));
    }

    #[test]
    fn a_ticking_picture_is_composed_only_when_a_new_one_is_published() {
        let scene = Uuid::new_v4();
        let white = |v: u8| {
            Arc::new(image::RgbaImage::from_pixel(
                4,
                4,
                image::Rgba([v, v, v, 255]),
            ))
        };
        let bitmap = Arc::new(frame_source::LiveBitmap::new(white(255), (4, 4)));
        let mut c = Compositor::new(8, 8, 30);
        c.apply(
            Plan {
                scene_id: scene,
                scene_transition: SceneTransition::default(),
                layers: vec![red_layer(
                    Uuid::new_v4(),
                    0.0,
                    PlannedContent::Replace(LayerContent::Ticking(bitmap.clone())),
                    None,
                )],
            },
            0,
        );
        assert_eq!(c.render(0).pixel(1, 1), rgb_to_yuv(255, 255, 255));
        assert!(!c.needs_redraw(1));
        assert!(!c.needs_redraw(2));
        bitmap.publish(white(0));
        assert!(c.needs_redraw(3));
        assert_eq!(c.render(3).pixel(1, 1), rgb_to_yuv(0, 0, 0));
        assert!(!c.needs_redraw(4));
    }

    #[test]
    fn effects_animate_with_a_layer_transition() {
        use shared::effect::{ColorAdjust, Effect};
        let scene = Uuid::new_v4();
        let id = Uuid::new_v4();
        let dark = EffectChain::new(vec![Effect::ColorAdjust(ColorAdjust {
            brightness: -1.0,
            ..ColorAdjust::default()
        })]);
        let mut c = Compositor::new(8, 8, 10);
        let mut first = red_layer(
            id,
            0.0,
            PlannedContent::Replace(LayerContent::Solid(Rgba {
                r: 255,
                g: 255,
                b: 255,
                a: 255,
            })),
            None,
        );
        first.effects = dark;
        c.apply(
            Plan {
                scene_id: scene,
                scene_transition: SceneTransition::default(),
                layers: vec![first],
            },
            0,
        );
        assert_eq!(c.render(0).pixel(1, 1), rgb_to_yuv(0, 0, 0));
        // To no effect over 1 s (10 frames): the brightness comes back linearly.
        let fade = Transition {
            duration_ms: 1000,
            easing: Easing::Linear,
        };
        c.apply(
            Plan {
                scene_id: scene,
                scene_transition: SceneTransition::default(),
                layers: vec![red_layer(id, 0.0, PlannedContent::Keep, Some(fade))],
            },
            1,
        );
        let mid = c.render(6).pixel(1, 1).y;
        let grey = rgb_to_yuv(128, 128, 128).y;
        assert!(
            (i32::from(mid) - i32::from(grey)).abs() <= 4,
            "{mid} vs {grey}"
        );
        assert!(c.needs_redraw(7));
        assert_eq!(c.render(11).pixel(1, 1), rgb_to_yuv(255, 255, 255));
        assert!(!c.needs_redraw(13));
    }
}
