//! Ingest layers: the seam where live camera feeds plug in.
//!
//! The ingest server (its own issue) will implement [`IngestFeeds`]: given a stream key id it
//! hands out a [`FrameSource`] of the feed's decoded frames. Until a feed is up (or with
//! [`NoFeeds`]) the layer shows a slate.

use std::sync::Arc;

use image::RgbaImage;
use shared::color::Rgba;
use shared::layer::TextSource;
use uuid::Uuid;

use super::FrameSource;
use super::text::render_text;

/// Live feeds published to this node, looked up by stream key id.
pub trait IngestFeeds: Send + Sync {
    /// The feed published with `key_id`, if an encoder is publishing it now.
    fn open(&self, key_id: Uuid) -> Option<Box<dyn FrameSource>>;
}

/// No ingest server: every ingest layer shows the slate.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFeeds;

impl IngestFeeds for NoFeeds {
    fn open(&self, _key_id: Uuid) -> Option<Box<dyn FrameSource>> {
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
    let text = TextSource {
        text: "Waiting for feed".into(),
        font_family: "Sans".into(),
        font_size: (height / 8).clamp(8, 96),
        color: Rgba {
            r: 200,
            g: 200,
            b: 200,
            a: 255,
        },
    };
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
