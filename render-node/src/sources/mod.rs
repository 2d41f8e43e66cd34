//! Where layer pixels come from.
//!
//! Static content (colours, images, text, slates) becomes a bitmap once per change and the
//! compositor prepares it into a sprite. Moving content implements the compositor's
//! [`FrameSource`]: it is asked for the newest frame once per output frame.
//!
//! - [`fetch`]: reading bytes from `file://` and `http(s)://` URIs.
//! - [`guard`]: what a layer's decoder may fetch and decode (nested fetches, picture size).
//! - [`image`]: decoding and the content-hash cache.
//! - [`pattern`]: test patterns and properties set from strings.
//! - [`text`]: text rendered once per change.
//! - [`video`]: decoding pipelines (files, network streams, test patterns).
//! - [`ingest`]: the interface live feeds plug into, and the slate.
//! - [`live_slot`]: what a live layer shows: its decoder's newest frame, held, then the slate.
//! - [`pull`]: streams a live layer pulls itself (RTMP, SRT, MP4 over HTTP(S)), reconnecting.
//! - [`fallback`]: a live layer's fallback ladder (backup feeds, a slate) and its rules.

pub mod fallback;
pub mod fetch;
pub mod guard;
pub mod image;
pub mod ingest;
pub mod live_slot;
pub mod pattern;
pub mod pull;
pub mod text;
pub mod video;

use std::sync::Arc;

/// Told when a moving source fails after it started (the engine makes it a stream event):
/// the source's name and what went wrong.
pub type OnSourceError = Arc<dyn Fn(&str, &str) + Send + Sync>;
