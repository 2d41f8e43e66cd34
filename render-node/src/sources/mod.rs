//! Where layer pixels come from.
//!
//! Static content (colours, images, text, slates) becomes a bitmap once per change and the
//! compositor prepares it into a sprite. Moving content implements [`FrameSource`]: the
//! compositor asks for the newest frame once per output frame.
//!
//! - [`fetch`]: reading bytes from `file://` and `http(s)://` URIs.
//! - [`image`]: decoding and the content-hash cache.
//! - [`text`]: text rendered once per change.
//! - [`video`]: decoding pipelines (files, network streams, test patterns).
//! - [`ingest`]: the interface live feeds plug into, and the slate.

pub mod fetch;
pub mod image;
pub mod ingest;
pub mod text;
pub mod video;

use crate::compose::canvas::PlanarView;

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
}
