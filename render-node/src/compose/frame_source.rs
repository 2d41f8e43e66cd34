//! What the compositor asks of a layer whose pixels change by themselves: the newest frame,
//! once per output frame. [`crate::sources`] implements it for videos, test patterns and
//! live feeds.

use std::time::Instant;

use super::canvas::PlanarView;

/// A layer whose pixels change by themselves (video, live feed).
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
