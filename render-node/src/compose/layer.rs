//! One layer as the compositor holds it: its content, its tween and its prepared sprite.

use std::sync::Arc;

use image::RgbaImage;
use image::imageops::{self, FilterType};
use shared::color::Rgba;
use uuid::Uuid;

use super::FrameSource;
use super::blend::{blend_frame, blend_sprite};
use super::canvas::Canvas;
use super::sprite::{Parity, Sprite};
use super::tween::Tween;

/// What a layer draws.
pub enum LayerContent {
    /// A solid rectangle.
    Solid(Rgba),
    /// Static pixels (a decoded image, rendered text, a slate), straight alpha, any size:
    /// scaled to the layer's box when prepared.
    Bitmap(Arc<RgbaImage>),
    /// Static pixels for the top-left part of a box of size `of` (the rest is transparent),
    /// at the box's scale: text rendered only as far as the canvas can show.
    Partial {
        image: Arc<RgbaImage>,
        of: (u32, u32),
    },
    /// Pixels that change every frame (video, live feed, test pattern).
    Live(Box<dyn FrameSource>),
    /// Content that could not be loaded: the layer is skipped, the error was reported.
    Nothing,
}

impl std::fmt::Debug for LayerContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayerContent::Solid(c) => write!(f, "Solid({c})"),
            LayerContent::Bitmap(b) => write!(f, "Bitmap({}x{})", b.width(), b.height()),
            LayerContent::Partial { image, of } => write!(
                f,
                "Partial({}x{} of {}x{})",
                image.width(),
                image.height(),
                of.0,
                of.1
            ),
            LayerContent::Live(s) => write!(f, "Live({})", s.describe()),
            LayerContent::Nothing => write!(f, "Nothing"),
        }
    }
}

impl LayerContent {
    /// Whether the content changes from frame to frame by itself.
    pub fn is_live(&self) -> bool {
        matches!(self, LayerContent::Live(_))
    }
}

/// The size, parity and (for clipped sprites) visible part a sprite was prepared for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SpriteKey {
    width: usize,
    height: usize,
    parity: Parity,
    /// Canvas rectangle the sprite covers when only the visible part was prepared.
    clip: Option<(i32, i32, usize, usize)>,
}

/// Layers up to this many times the canvas area are prepared whole (cheap to move around);
/// larger ones only over their visible part, so a huge layer cannot exhaust memory.
pub(crate) const WHOLE_SPRITE_MAX_CANVASES: usize = 4;

/// A layer of the scene on air.
#[derive(Debug)]
pub struct LayerRuntime {
    pub id: Uuid,
    pub z: i32,
    pub visible: bool,
    pub tween: Tween,
    pub content: LayerContent,
    cache: Option<(SpriteKey, Sprite)>,
}

impl LayerRuntime {
    /// A layer with nothing prepared yet.
    pub fn new(id: Uuid, z: i32, visible: bool, tween: Tween, content: LayerContent) -> Self {
        LayerRuntime {
            id,
            z,
            visible,
            tween,
            content,
            cache: None,
        }
    }

    /// Replaces the content, dropping the prepared sprite; returns the old content.
    pub fn replace_content(&mut self, content: LayerContent) -> LayerContent {
        self.cache = None;
        std::mem::replace(&mut self.content, content)
    }

    /// Whether drawing this layer at `frame` gives different pixels than at `frame - 1`.
    pub fn changes_at(&self, frame: u64) -> bool {
        self.content.is_live() || self.tween.is_running(frame.saturating_sub(1))
    }

    /// Draws the layer as it is at output frame `frame`.
    pub fn draw(&mut self, canvas: &mut Canvas, frame: u64) {
        if !self.visible {
            return;
        }
        let g = self.tween.at(frame);
        let alpha = g.alpha8();
        if alpha == 0 {
            return;
        }
        let (x, y, w, h) = g.pixels();
        // A partial bitmap is a bitmap in the part of the box it covers.
        let (w, h) = match &self.content {
            LayerContent::Partial { image, of } => (
                part_of(w, image.width(), of.0),
                part_of(h, image.height(), of.1),
            ),
            _ => (w, h),
        };
        let Some(visible) = visible_rect(canvas, x, y, w, h) else {
            return;
        };
        let huge = w.saturating_mul(h) > WHOLE_SPRITE_MAX_CANVASES * canvas.width * canvas.height;
        match &mut self.content {
            LayerContent::Nothing => {}
            LayerContent::Live(src) => {
                // Decoders scale into the box; past twice the canvas that is only waste.
                let (lw, lh) = (w.min(canvas.width * 2), h.min(canvas.height * 2));
                src.set_size(lw.next_multiple_of(2) as u32, lh.next_multiple_of(2) as u32);
                if let Some(f) = src.frame() {
                    blend_frame(canvas, &f, x, y, alpha);
                }
            }
            LayerContent::Solid(color) => {
                // A solid clipped to the canvas looks the same and never outgrows it.
                let (vx, vy, vw, vh) = visible;
                let at = (vx, vy);
                draw_prepared(
                    &mut self.cache,
                    canvas,
                    (vw, vh, None),
                    at,
                    alpha,
                    |parity| Sprite::solid(vw, vh, *color, parity),
                );
            }
            LayerContent::Bitmap(img) | LayerContent::Partial { image: img, .. } if huge => {
                let (vx, vy, vw, vh) = visible;
                let at = (vx, vy);
                draw_prepared(
                    &mut self.cache,
                    canvas,
                    (w, h, Some(visible)),
                    at,
                    alpha,
                    |parity| {
                        // The part of the image that lands on the canvas, scaled to its place.
                        let (sx, sy) = (
                            img.width() as f64 / w as f64,
                            img.height() as f64 / h as f64,
                        );
                        let cx = ((vx - x) as f64 * sx) as u32;
                        let cy = ((vy - y) as f64 * sy) as u32;
                        let cw = ((vw as f64 * sx).ceil() as u32)
                            .clamp(1, img.width().saturating_sub(cx).max(1));
                        let ch = ((vh as f64 * sy).ceil() as u32)
                            .clamp(1, img.height().saturating_sub(cy).max(1));
                        let part = imageops::crop_imm(img.as_ref(), cx, cy, cw, ch).to_image();
                        let scaled =
                            imageops::resize(&part, vw as u32, vh as u32, FilterType::Triangle);
                        Sprite::from_rgba(&scaled, parity)
                    },
                );
            }
            LayerContent::Bitmap(img) | LayerContent::Partial { image: img, .. } => {
                draw_prepared(
                    &mut self.cache,
                    canvas,
                    (w, h, None),
                    (x, y),
                    alpha,
                    |parity| {
                        if img.width() as usize == w && img.height() as usize == h {
                            Sprite::from_rgba(img, parity)
                        } else {
                            let scaled = imageops::resize(
                                img.as_ref(),
                                w as u32,
                                h as u32,
                                FilterType::Triangle,
                            );
                            Sprite::from_rgba(&scaled, parity)
                        }
                    },
                );
            }
        }
    }
}

/// How much of `len` pixels the first `part` of `whole` covers (at least one pixel).
fn part_of(len: usize, part: u32, whole: u32) -> usize {
    if whole == 0 || part >= whole {
        return len;
    }
    ((len as u64 * u64::from(part)).div_ceil(u64::from(whole)) as usize).max(1)
}

/// The part of a `w`×`h` box at (`x`,`y`) on the canvas, if any.
fn visible_rect(
    canvas: &Canvas,
    x: i32,
    y: i32,
    w: usize,
    h: usize,
) -> Option<(i32, i32, usize, usize)> {
    let (x, y) = (i64::from(x), i64::from(y));
    let x0 = x.max(0);
    let y0 = y.max(0);
    let x1 = (x + w as i64).min(canvas.width as i64);
    let y1 = (y + h as i64).min(canvas.height as i64);
    (x1 > x0 && y1 > y0).then(|| (x0 as i32, y0 as i32, (x1 - x0) as usize, (y1 - y0) as usize))
}

/// A rectangle on the canvas: x, y, width, height.
type Rect = (i32, i32, usize, usize);

/// Blends the layer's cached sprite at `at`, preparing it with `make` when the cache holds
/// another one. `size` is the sprite's `(width, height, clip)` as its cache key names it; the
/// sprite starts one pixel early where `at` is odd, so chroma lines up (see [`Parity`]).
fn draw_prepared(
    cache: &mut Option<(SpriteKey, Sprite)>,
    canvas: &mut Canvas,
    size: (usize, usize, Option<Rect>),
    at: (i32, i32),
    alpha: u8,
    make: impl FnOnce(Parity) -> Sprite,
) {
    let parity = Parity::of(at.0, at.1);
    let (width, height, clip) = size;
    let key = SpriteKey {
        width,
        height,
        parity,
        clip,
    };
    let sprite = prepared(cache, key, || make(parity));
    blend_sprite(
        canvas,
        sprite,
        at.0 - parity.x as i32,
        at.1 - parity.y as i32,
        alpha,
    );
}

/// The cached sprite for `key`, prepared with `make` if the cache holds another key.
fn prepared(
    cache: &mut Option<(SpriteKey, Sprite)>,
    key: SpriteKey,
    make: impl FnOnce() -> Sprite,
) -> &Sprite {
    if cache.as_ref().is_some_and(|(k, _)| *k != key) {
        *cache = None;
    }
    &cache.get_or_insert_with(|| (key, make())).1
}
