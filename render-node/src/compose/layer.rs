//! One layer as the compositor holds it: its content, its tween and its prepared sprite.

use std::sync::Arc;

use image::RgbaImage;
use image::imageops::{self, FilterType};
use shared::color::Rgba;
use uuid::Uuid;

use super::blend::{blend_frame, blend_sprite};
use super::canvas::Canvas;
use super::sprite::{Parity, Sprite};
use super::tween::Tween;
use crate::sources::FrameSource;

/// What a layer draws.
pub enum LayerContent {
    /// A solid rectangle.
    Solid(Rgba),
    /// Static pixels (a decoded image, rendered text, a slate), straight alpha, any size:
    /// scaled to the layer's box when prepared.
    Bitmap(Arc<RgbaImage>),
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

/// The size and parity a sprite was prepared for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SpriteKey {
    width: usize,
    height: usize,
    parity: Parity,
}

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
        let parity = Parity::of(x, y);
        let key = SpriteKey {
            width: w,
            height: h,
            parity,
        };
        let (ox, oy) = (x - parity.x as i32, y - parity.y as i32);
        match &mut self.content {
            LayerContent::Nothing => {}
            LayerContent::Live(src) => {
                src.set_size(w.next_multiple_of(2) as u32, h.next_multiple_of(2) as u32);
                if let Some(f) = src.frame() {
                    blend_frame(canvas, &f, x, y, alpha);
                }
            }
            LayerContent::Solid(color) => {
                let sprite = prepared(&mut self.cache, key, || Sprite::solid(w, h, *color, parity));
                blend_sprite(canvas, sprite, ox, oy, alpha);
            }
            LayerContent::Bitmap(img) => {
                let sprite = prepared(&mut self.cache, key, || {
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
                });
                blend_sprite(canvas, sprite, ox, oy, alpha);
            }
        }
    }
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
