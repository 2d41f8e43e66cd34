//! What a layer's pictures cost in memory, counted against its stream's memory budget.
//!
//! Every stream shares the node's process, so a stream's size is counted from what it
//! asked for rather than measured: the bitmap a layer holds (decoded image, rendered text),
//! the sprite prepared from it, and a moving layer's frames in flight. Each is bounded by
//! the canvas (sprites of boxes past [`WHOLE_SPRITE_MAX_CANVASES`] canvases are prepared
//! over their visible part only, text is rendered only as far as the canvas shows, decoders
//! scale into at most twice the canvas), so the count is of the stream's own making, not
//! of how large a box a tenant typed.

use shared::layer::{Layer, LayerSource};

use super::layer::{LayerContent, WHOLE_SPRITE_MAX_CANVASES};

/// Bytes per pixel of a prepared sprite: premultiplied I420 (1.5) and alpha (1).
const SPRITE_BYTES_PER_PIXEL: f64 = 2.5;
/// Frames of a moving layer alive at once at its box's size (decoder pool, scaler,
/// converter, the sink's newest frame and the compositor's copy).
const MOVING_FRAMES: u64 = 6;

/// The cost of `layer` on a `canvas` before its content is loaded: sprites and frames,
/// which follow from its box; and for text its bitmap, which is rendered at a known size.
pub fn before_loading(layer: &Layer, canvas: (u32, u32)) -> u64 {
    let (w, h) = (
        u64::from(layer.size.width.max(1) as u32),
        u64::from(layer.size.height.max(1) as u32),
    );
    let (cw, ch) = (u64::from(canvas.0), u64::from(canvas.1));
    let canvas_area = cw * ch;
    let sprite = |area: u64| (area as f64 * SPRITE_BYTES_PER_PIXEL) as u64;
    // A static layer with effects also keeps its baked RGBA (boxes past the whole-sprite
    // limit are drawn without effects, so the box is bounded here).
    let baked = match &layer.source {
        LayerSource::Color(_) | LayerSource::Image(_) | LayerSource::Text(_)
            if !layer.effects.is_empty() =>
        {
            (w * h).min(WHOLE_SPRITE_MAX_CANVASES as u64 * canvas_area) * 4
        }
        _ => 0,
    };
    baked
        + match &layer.source {
            LayerSource::Color(_) => sprite((w.min(cw)) * (h.min(ch))),
            LayerSource::Image(_) => {
                let area = w * h;
                let whole = area <= WHOLE_SPRITE_MAX_CANVASES as u64 * canvas_area;
                sprite(if whole { area } else { canvas_area })
            }
            LayerSource::Text(_) => {
                let shown = w.min(cw) * h.min(ch);
                shown * 4 + sprite(shown)
            }
            LayerSource::Video(_) | LayerSource::Ingest(_) => {
                let frame = w.min(2 * cw) * h.min(2 * ch) * 3 / 2;
                // Every rung of a fallback ladder decodes all the time (a slate holds one frame).
                let rungs = match &layer.source {
                    LayerSource::Ingest(i) => 1 + i.fallbacks.len() as u64,
                    _ => 1,
                };
                frame * MOVING_FRAMES * rungs
            }
        }
}

/// The bytes `content` holds once loaded that [`before_loading`] could not know: an
/// image's decoded bitmap (text's is counted already).
pub fn loaded(layer: &Layer, content: &LayerContent) -> u64 {
    match (&layer.source, content) {
        (LayerSource::Image(_) | LayerSource::Ingest(_), LayerContent::Bitmap(img)) => {
            img.as_raw().len() as u64
        }
        _ => 0,
    }
}
