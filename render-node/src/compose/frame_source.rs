//! What the compositor asks of a layer whose pixels change by themselves: the newest frame,
//! once per output frame. [`crate::sources`] implements it for videos, test patterns and
//! live feeds. Also [`LiveBitmap`]: a static picture another thread replaces now and then
//! (text with a clock in it), which the compositor prepares again only when it changed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use image::RgbaImage;
use parking_lot::Mutex;

use std::time::Instant;

use super::canvas::PlanarView;

/// A layer whose pixels change by themselves (video, live feed). Crop effects are the
/// source's business (it cuts before scaling, so crops are in source pixels): a new crop is
/// a new source.
pub trait FrameSource: Send {
    /// The layer's box changed: deliver frames of this (even) size from now on. Frames of
    /// the old size may still come for a moment; they are drawn as they are.
    fn set_size(&mut self, width: u32, height: u32);
    /// The newest I420 frame, or the previous one again if none came since; `None` until
    /// the first frame.
    fn frame(&mut self) -> Option<PlanarView<'_>>;
    /// A short name for logs and events (never a secret: no stream keys).
    fn describe(&self) -> String;
    /// When the source last delivered a new picture of its own (a live feed's frame, not
    /// its slate), read after [`Self::frame`]; `None` before the first, and for sources that
    /// do not tell. A fallback ladder judges its rungs' health by it.
    fn fresh_at(&self) -> Option<Instant> {
        None
    }
    /// Whether the source's audio is heard in the mix: a fallback ladder lets only the rung
    /// on air be heard. Sources without audio ignore it.
    fn set_audible(&mut self, _audible: bool) {}
}

/// A picture for the top-left part of a box of size `of` (like `LayerContent::Partial`)
/// that its producer may replace at any time; each replacement bumps the generation.
#[derive(Debug)]
pub struct LiveBitmap {
    generation: AtomicU64,
    image: Mutex<Arc<RgbaImage>>,
    /// The box the picture belongs to.
    pub of: (u32, u32),
}

impl LiveBitmap {
    /// Starts with `image` as generation 1.
    pub fn new(image: Arc<RgbaImage>, of: (u32, u32)) -> Self {
        LiveBitmap {
            generation: AtomicU64::new(1),
            image: Mutex::new(image),
            of,
        }
    }

    /// Shows `image` from the next frame on.
    pub fn publish(&self, image: Arc<RgbaImage>) {
        *self.image.lock() = image;
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Bumped by every [`publish`](Self::publish).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The picture on show.
    pub fn image(&self) -> Arc<RgbaImage> {
        self.image.lock().clone()
    }
}
