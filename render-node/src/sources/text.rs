//! Text layers, rendered once per change by Pango (through `textoverlay`) into straight-alpha
//! RGBA. Rendering per change rather than per frame is what keeps text off the frame budget.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use image::RgbaImage;
use shared::color::Rgba;
use shared::layer::TextSource;

use super::fetch::{NullOnDrop, bus_error};
use crate::error::{RenderError, Result, make};

/// Largest text bitmap side: the largest canvas (3840x2160) fits.
const MAX_SIDE: u32 = 3840;

/// Renders `text` into a `width`×`height` box (top-left aligned, wrapped) over `background`.
/// Callers pass the box as far as the canvas can show it (see [`text_box`]).
pub fn render_text(t: &TextSource, width: u32, height: u32, background: Rgba) -> Result<RgbaImage> {
    let fail = |reason: String| RenderError::Pipeline {
        element: "text renderer".into(),
        message: reason,
        debug: None,
    };
    let (width, height) = (width.clamp(1, MAX_SIDE), height.clamp(1, MAX_SIDE));
    let src = make("videotestsrc")?;
    src.set_property("num-buffers", 1i32);
    src.set_property_from_str("pattern", "solid-color");
    src.set_property("foreground-color", background.to_argb());
    let caps = gst::Caps::builder("video/x-raw")
        .field("format", "RGBA")
        .field("width", width as i32)
        .field("height", height as i32)
        .build();
    let filter = make("capsfilter")?;
    filter.set_property("caps", &caps);
    let overlay = make("textoverlay")?;
    // textoverlay reads its text as Pango markup: escaped, "Q&A" shows (unescaped it is
    // invalid markup and shows nothing) and `<span font="150px">` is text, not a size past
    // the validated one.
    overlay.set_property("text", gst::glib::markup_escape_text(&t.text).as_str());
    // Font family was validated to letters, digits, spaces, '-' and '_'; size is in pixels.
    overlay.set_property("font-desc", format!("{} {}px", t.font_family, t.font_size));
    overlay.set_property("color", t.color.to_argb());
    // Otherwise textoverlay scales the font with the frame width (relative to 640 px), and
    // our frame is the layer's box, so sizes would depend on the box.
    overlay.set_property("auto-resize", false);
    overlay.set_property("draw-shadow", false);
    overlay.set_property("draw-outline", false);
    overlay.set_property_from_str("halignment", "left");
    overlay.set_property_from_str("valignment", "top");
    overlay.set_property("xpad", 0i32);
    overlay.set_property("ypad", 0i32);
    let sink = gst_app::AppSink::builder().sync(false).caps(&caps).build();
    let pipeline = gst::Pipeline::new();
    pipeline
        .add_many([&src, &filter, &overlay, sink.upcast_ref()])
        .map_err(|e| fail(e.to_string()))?;
    gst::Element::link_many([&src, &filter, &overlay, sink.upcast_ref()])
        .map_err(|e| fail(e.to_string()))?;
    let _guard = NullOnDrop(pipeline.clone());
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| fail(bus_error(&pipeline).unwrap_or_else(|| "cannot start".into())))?;
    let sample = sink
        .try_pull_sample(gst::ClockTime::from_seconds(5))
        .ok_or_else(|| fail(bus_error(&pipeline).unwrap_or_else(|| "no frame rendered".into())))?;
    let buf = sample.buffer().ok_or_else(|| fail("empty sample".into()))?;
    let map = buf.map_readable().map_err(|e| fail(e.to_string()))?;
    let stride = width as usize * 4;
    let mut img = RgbaImage::new(width, height);
    let rows = map.chunks_exact(stride).take(height as usize);
    for (dst, src) in img.chunks_exact_mut(stride).zip(rows) {
        dst.copy_from_slice(src);
    }
    Ok(img)
}

/// The part of a `width`×`height` text box worth rendering on a `canvas`: no more than the
/// canvas shows at once, from the box's top-left corner (a box larger than the canvas lays
/// its text out, and wraps it, within that part; the rest of it stays transparent).
pub fn text_box(width: u32, height: u32, canvas: (u32, u32)) -> (u32, u32) {
    (
        width.clamp(1, canvas.0.clamp(1, MAX_SIDE)),
        height.clamp(1, canvas.1.clamp(1, MAX_SIDE)),
    )
}
