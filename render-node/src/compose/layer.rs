//! One layer as the compositor holds it: its content, its tween, its effects and its
//! prepared sprite.
//!
//! Static content (solid, bitmap, text) is drawn from a sprite prepared once per change —
//! with the layer's effects baked in — and moving content (video, feeds) blended per frame,
//! running the effects on each frame when it has any (see [`super::effects`]).

use std::sync::Arc;

use image::RgbaImage;
use image::imageops::{self, FilterType};
use shared::color::Rgba;
use shared::transition::Easing;
use uuid::Uuid;

use super::FrameSource;
use super::blend::{blend_frame, blend_sprite};
use super::canvas::Canvas;
use super::effects::{self, EffectChain, EffectTween};
use super::frame_source::LiveBitmap;
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
    /// Static pixels replaced now and then by another thread (text with a clock): drawn
    /// like `Partial`, prepared again only when a new picture is published.
    Ticking(Arc<LiveBitmap>),
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
            LayerContent::Ticking(b) => write!(f, "Ticking(#{})", b.generation()),
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
    /// Which picture of a ticking layer the sprite shows (0 for other content).
    generation: u64,
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
    /// Effects on the layer's pixels; a change drops the prepared sprite.
    effects: EffectChain,
    /// Effects on their way to new values (a change with a transition).
    effect_tween: Option<EffectTween>,
    cache: Option<(SpriteKey, Sprite)>,
    /// A static layer's pixels with its effects applied, by box size and ticking picture:
    /// kept apart from the sprite so a layer moving to another chroma parity (an animated
    /// move) is only converted again, not re-baked.
    baked: Option<((usize, usize, u64), Arc<RgbaImage>)>,
    /// The ticking picture last drawn, to tell when a new one arrived.
    drawn_generation: u64,
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
            effects: EffectChain::default(),
            effect_tween: None,
            cache: None,
            baked: None,
            drawn_generation: 0,
        }
    }

    /// Sets the layer's effects: at once, or with `animate` (start frame, frames, easing)
    /// moving there from what is on show. Nothing is prepared again when nothing changed.
    pub fn change_effects(&mut self, effects: EffectChain, animate: Option<(u64, u64, Easing)>) {
        match animate {
            Some((start, frames, easing)) if frames > 0 => {
                let from = match &self.effect_tween {
                    Some(t) => t.at(start),
                    None => self.effects.clone(),
                };
                if from == effects {
                    self.effect_tween = None;
                    self.set_effects(effects);
                } else {
                    self.effect_tween =
                        Some(EffectTween::new(from, effects, start, frames, easing));
                }
            }
            _ => {
                // A plan that changed another layer carries this one's running animation
                // on; anything else jumps to the new effects.
                let heading = self.effect_tween.as_ref().map(EffectTween::target);
                if heading != Some(&effects) {
                    self.effect_tween = None;
                    self.set_effects(effects);
                }
            }
        }
    }

    /// Sets the layer's effects; the sprite is prepared again only if they changed.
    pub fn set_effects(&mut self, effects: EffectChain) {
        if effects != self.effects {
            self.effects = effects;
            self.cache = None;
            self.baked = None;
        }
    }

    /// Replaces the content, dropping the prepared sprite; returns the old content.
    pub fn replace_content(&mut self, content: LayerContent) -> LayerContent {
        self.cache = None;
        self.baked = None;
        std::mem::replace(&mut self.content, content)
    }

    /// Whether drawing this layer at `frame` gives different pixels than at `frame - 1`.
    pub fn changes_at(&self, frame: u64) -> bool {
        let ticked = match &self.content {
            LayerContent::Ticking(b) => b.generation() != self.drawn_generation,
            _ => false,
        };
        let effects_moving = self
            .effect_tween
            .as_ref()
            .is_some_and(|t| t.is_running(frame.saturating_sub(1)));
        ticked
            || effects_moving
            || self.content.is_live()
            || self.tween.is_running(frame.saturating_sub(1))
    }

    /// Draws the layer as it is at output frame `frame`.
    pub fn draw(&mut self, canvas: &mut Canvas, frame: u64) {
        if !self.visible {
            return;
        }
        if let Some(t) = &self.effect_tween {
            let now = t.at(frame);
            if !t.is_running(frame) {
                self.effect_tween = None;
            }
            self.set_effects(now);
        }
        let g = self.tween.at(frame);
        let alpha = g.alpha8();
        if alpha == 0 {
            return;
        }
        let (x, y, w, h) = g.pixels();
        // A ticking picture is drawn like a partial bitmap: take the one on show now.
        let ticking = match &self.content {
            LayerContent::Ticking(b) => Some((b.generation(), b.image(), b.of)),
            _ => None,
        };
        // A partial bitmap is a bitmap in the part of the box it covers.
        let (w, h) = match (&self.content, &ticking) {
            (LayerContent::Partial { image, of }, _) | (_, Some((_, image, of))) => (
                part_of(w, image.width(), of.0),
                part_of(h, image.height(), of.1),
            ),
            _ => (w, h),
        };
        let huge = w.saturating_mul(h) > WHOLE_SPRITE_MAX_CANVASES * canvas.width * canvas.height;
        // Huge boxes are drawn without effects: baking them would need the whole box.
        if !self.effects.is_empty() && !huge {
            if let Some((generation, _, _)) = ticking {
                self.drawn_generation = generation;
            }
            self.draw_with_effects(canvas, (x, y, w, h), alpha, ticking);
            return;
        }
        let Some(visible) = visible_rect(canvas, x, y, w, h) else {
            return;
        };
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
                    (vw, vh, None, 0),
                    at,
                    alpha,
                    |parity| Sprite::solid(vw, vh, *color, parity),
                );
            }
            LayerContent::Bitmap(_) | LayerContent::Partial { .. } | LayerContent::Ticking(_)
                if huge =>
            {
                let Some(img) = static_image(&self.content) else {
                    return;
                };
                let generation = ticking.as_ref().map_or(0, |t| t.0);
                self.drawn_generation = generation;
                let (vx, vy, vw, vh) = visible;
                let at = (vx, vy);
                draw_prepared(
                    &mut self.cache,
                    canvas,
                    (w, h, Some(visible), generation),
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
            LayerContent::Bitmap(_) | LayerContent::Partial { .. } | LayerContent::Ticking(_) => {
                let Some(img) = static_image(&self.content) else {
                    return;
                };
                let generation = ticking.as_ref().map_or(0, |t| t.0);
                self.drawn_generation = generation;
                draw_prepared(
                    &mut self.cache,
                    canvas,
                    (w, h, None, generation),
                    (x, y),
                    alpha,
                    |parity| {
                        if img.width() as usize == w && img.height() as usize == h {
                            Sprite::from_rgba(&img, parity)
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

    /// Draws the layer's `w`×`h` box at (`x`,`y`) through its effects: static content from
    /// a sprite baked once, moving content by running the effects on the frame.
    fn draw_with_effects(
        &mut self,
        canvas: &mut Canvas,
        (x, y, w, h): Rect,
        alpha: u8,
        ticking: Option<(u64, Arc<RgbaImage>, (u32, u32))>,
    ) {
        let chain = &self.effects;
        match &mut self.content {
            LayerContent::Nothing => {}
            LayerContent::Live(src) => {
                let (lw, lh) = (w.min(canvas.width * 2), h.min(canvas.height * 2));
                src.set_size(lw.next_multiple_of(2) as u32, lh.next_multiple_of(2) as u32);
                let Some(f) = src.frame() else {
                    return;
                };
                if !chain.has_pixel_effects() {
                    blend_frame(canvas, &f, x, y, alpha);
                    return;
                }
                let (fw, fh) = (f.width & !1, f.height & !1);
                let (dx, dy, ew, eh) = effects::extent(chain, fw, fh);
                if visible_rect(canvas, x + dx, y + dy, ew, eh).is_none() {
                    return;
                }
                let sprite = effects::frame_sprite(chain, &f);
                // Like frames, effect sprites land on even positions (chroma alignment).
                blend_sprite(canvas, &sprite, (x + dx) & !1, (y + dy) & !1, alpha);
            }
            content => {
                let (dx, dy, ew, eh) = effects::extent(chain, w, h);
                if visible_rect(canvas, x + dx, y + dy, ew, eh).is_none() {
                    return;
                }
                let generation = ticking.as_ref().map_or(0, |t| t.0);
                // Cheap here (a colour, an `Arc`): the pixels are only made when baking.
                let solid = match content {
                    LayerContent::Solid(c) => Some(*c),
                    _ => None,
                };
                let picture = static_image(content);
                if solid.is_none() && picture.is_none() {
                    return;
                }
                let baked = &mut self.baked;
                draw_prepared(
                    &mut self.cache,
                    canvas,
                    (w, h, None, generation),
                    (x + dx, y + dy),
                    alpha,
                    |parity| {
                        let key = (w, h, generation);
                        let img = match baked {
                            Some((k, img)) if *k == key => img.clone(),
                            _ => {
                                let img = Arc::new(bake(chain, solid, picture, w, h));
                                *baked = Some((key, img.clone()));
                                img
                            }
                        };
                        Sprite::from_rgba(&img, parity)
                    },
                );
            }
        }
    }
}

/// A static layer's pixels at its `w`×`h` box through its effects: the source (a colour or
/// a picture) cropped, scaled into the box, then every other effect in order.
fn bake(
    chain: &EffectChain,
    solid: Option<Rgba>,
    picture: Option<Arc<RgbaImage>>,
    w: usize,
    h: usize,
) -> RgbaImage {
    let base = match (solid, picture) {
        (Some(c), _) => Arc::new(RgbaImage::from_pixel(
            w as u32,
            h as u32,
            image::Rgba([c.r, c.g, c.b, c.a]),
        )),
        (None, Some(img)) => img,
        (None, None) => Arc::new(RgbaImage::new(1, 1)),
    };
    let base = base.as_ref();
    let crop = chain.crop();
    let cropped;
    let src = if crop == shared::effect::Crop::default() {
        base
    } else {
        cropped = effects::crop_source(base, crop);
        &cropped
    };
    let sized = if src.dimensions() == (w as u32, h as u32) {
        src.clone()
    } else {
        imageops::resize(src, w as u32, h as u32, FilterType::Triangle)
    };
    effects::apply(chain, sized)
}

/// The picture of static bitmap content (a ticking layer's current one), if any.
fn static_image(content: &LayerContent) -> Option<Arc<RgbaImage>> {
    match content {
        LayerContent::Bitmap(img) | LayerContent::Partial { image: img, .. } => Some(img.clone()),
        LayerContent::Ticking(b) => Some(b.image()),
        _ => None,
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
/// another one. `size` is the sprite's `(width, height, clip, generation)` as its cache key
/// names it; the sprite starts one pixel early where `at` is odd, so chroma lines up (see
/// [`Parity`]).
fn draw_prepared(
    cache: &mut Option<(SpriteKey, Sprite)>,
    canvas: &mut Canvas,
    size: (usize, usize, Option<Rect>, u64),
    at: (i32, i32),
    alpha: u8,
    make: impl FnOnce(Parity) -> Sprite,
) {
    let parity = Parity::of(at.0, at.1);
    let (width, height, clip, generation) = size;
    let key = SpriteKey {
        width,
        height,
        parity,
        clip,
        generation,
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
