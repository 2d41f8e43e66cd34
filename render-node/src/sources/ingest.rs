//! Ingest layers: the seam where live camera feeds plug in.
//!
//! A fleet node's ingest ([`crate::ingest`]) implements [`IngestFeeds`]: given a stream key
//! id it hands out a [`FrameSource`] that shows the feed wherever in the fleet it is
//! published, and the slate while it is not. Without ingest ([`NoFeeds`], the standalone
//! command) the layer shows the slate.

use std::sync::Arc;

use image::RgbaImage;
use shared::color::Rgba;
use shared::layer::TextSource;
use uuid::Uuid;

use super::OnSourceError;
use super::text::render_text;
use crate::compose::FrameSource;
use crate::pipeline::audio::AudioPort;

/// What an ingest layer asks for.
#[derive(Clone)]
pub struct FeedRequest {
    pub key_id: Uuid,
    /// The stream's tenant: a feed published with another tenant's key is never shown.
    pub tenant_id: String,
    /// The layer's box (even sizes).
    pub width: u32,
    pub height: u32,
    /// Where the feed's audio joins the output, when it is mixed.
    pub audio: Option<AudioPort>,
    /// Told when the feed's decoder fails.
    pub on_error: OnSourceError,
    /// Source pixels cut off each side (the layer's crop effects).
    pub crop: shared::effect::Crop,
}

/// Live feeds published to the fleet, looked up by stream key id.
pub trait IngestFeeds: Send + Sync {
    /// A source showing the feed published with `req.key_id` (and a slate while there is
    /// none), or `None` when this node has no ingest at all.
    fn open(&self, req: FeedRequest) -> Option<Box<dyn FrameSource>>;
}

/// No ingest server: every ingest layer shows the slate.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFeeds;

impl IngestFeeds for NoFeeds {
    fn open(&self, _req: FeedRequest) -> Option<Box<dyn FrameSource>> {
        None
    }
}

/// Slate background.
const SLATE: Rgba = Rgba {
    r: 32,
    g: 32,
    b: 40,
    a: 255,
};

/// The placeholder an ingest layer shows while its feed is down.
pub fn slate(width: u32, height: u32) -> Arc<RgbaImage> {
    let text = TextSource::plain(
        "Waiting for feed",
        (height / 8).clamp(8, 96),
        Rgba {
            r: 200,
            g: 200,
            b: 200,
            a: 255,
        },
    );
    match render_text(&text, width, height, SLATE) {
        Ok(img) => Arc::new(img),
        // No text renderer: a plain slate still tells the viewer something is coming.
        Err(_) => Arc::new(RgbaImage::from_pixel(
            width.max(1),
            height.max(1),
            image::Rgba([SLATE.r, SLATE.g, SLATE.b, SLATE.a]),
        )),
    }
}
