//! Text layers, rendered once per change by Pango (through `textoverlay`) into straight-alpha
//! RGBA. Rendering per change rather than per frame is what keeps text off the frame budget.
//!
//! Pango lays the text out (alignment, wrapping, weight, style, line height; the size it
//! reports drives `autoFit`); outline, shadow and the background box are drawn here from
//! the text's alpha. Text with live placeholders ([`shared::text_template`]) is rendered
//! again by a [`TickingText`] thread, only when its expanded text changes.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use image::RgbaImage;
use shared::color::Rgba;
use shared::layer::{TextAlign, TextSource, VerticalAlign};
use shared::text_template::Template;
use uuid::Uuid;

use super::fetch::{NullOnDrop, bus_error};
use crate::compose::effects::{blur_plane, coverage, over, rounded_rect_distance};
use crate::compose::frame_source::LiveBitmap;
use crate::error::{RenderError, Result, make};

/// Largest text bitmap side: the largest canvas (3840x2160) fits.
const MAX_SIDE: u32 = 3840;

/// Renders `t` into a `width`×`height` box over `background`: aligned, wrapped, in the
/// weight, style and line height asked, shrunk to fit with `autoFit`, then outlined,
/// shadowed and boxed. Callers pass the box as far as the canvas can show it (see
/// [`text_box`]) and the text with its placeholders expanded.
pub fn render_text(t: &TextSource, width: u32, height: u32, background: Rgba) -> Result<RgbaImage> {
    let (width, height) = (width.clamp(1, MAX_SIDE), height.clamp(1, MAX_SIDE));
    let decorated = t.outline.is_some() || t.shadow.is_some() || t.background.is_some();
    let clear = Rgba {
        r: 0,
        g: 0,
        b: 0,
        a: 0,
    };
    let size = if t.auto_fit == Some(true) {
        fit_size(t, width, height)?
    } else {
        t.font_size
    };
    if !decorated {
        return Ok(render_once(t, size, width, height, background)?.0);
    }
    // Decorations need the text's own alpha: render on transparency, then build the layers
    // (box, shadow, outline, text) and lay them over the background colour.
    let (ink, _) = render_once(t, size, width, height, clear)?;
    Ok(decorate(t, ink, background))
}

/// The largest font size up to `t.font_size` at which the text fits the box (at least 4):
/// Pango reports the laid-out size, the font shrinks in proportion (by the square root of
/// the height ratio when wrapping, since wrapped text grows in two directions) until it fits.
fn fit_size(t: &TextSource, width: u32, height: u32) -> Result<u32> {
    let clear = Rgba {
        r: 0,
        g: 0,
        b: 0,
        a: 0,
    };
    let mut size = t.font_size;
    for _ in 0..8 {
        let (_, (tw, th)) = render_once(t, size, width, height, clear)?;
        if (tw <= width && th <= height) || size <= 4 {
            break;
        }
        let wr = f64::from(width) / f64::from(tw.max(1));
        let hr = f64::from(height) / f64::from(th.max(1));
        let ratio = if t.wrap == Some(false) {
            wr.min(hr)
        } else {
            wr.min(hr.sqrt())
        };
        let next = (f64::from(size) * ratio.min(0.97)).floor() as u32;
        size = next.clamp(4, size.saturating_sub(1).max(4));
    }
    Ok(size)
}

/// One rendering by Pango (through `textoverlay`): the pixels and the laid-out text's size.
fn render_once(
    t: &TextSource,
    font_size: u32,
    width: u32,
    height: u32,
    background: Rgba,
) -> Result<(RgbaImage, (u32, u32))> {
    let fail = |reason: String| RenderError::Pipeline {
        element: "text renderer".into(),
        message: reason,
        debug: None,
    };
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
    overlay.set_property("text", markup(t).as_str());
    // Font family was validated to letters, digits, spaces, '-' and '_'; size is in pixels.
    overlay.set_property("font-desc", format!("{} {}px", t.font_family, font_size));
    overlay.set_property("color", t.color.to_argb());
    // Otherwise textoverlay scales the font with the frame width (relative to 640 px), and
    // our frame is the layer's box, so sizes would depend on the box.
    overlay.set_property("auto-resize", false);
    // Outline and shadow are ours (any width, colour and blur), drawn in `decorate`.
    overlay.set_property("draw-shadow", false);
    overlay.set_property("draw-outline", false);
    let (halign, line) = match t.align.unwrap_or(TextAlign::Left) {
        TextAlign::Left => ("left", "left"),
        TextAlign::Center => ("center", "center"),
        TextAlign::Right => ("right", "right"),
    };
    overlay.set_property_from_str("halignment", halign);
    overlay.set_property_from_str("line-alignment", line);
    overlay.set_property_from_str(
        "valignment",
        match t.vertical_align.unwrap_or(VerticalAlign::Top) {
            VerticalAlign::Top => "top",
            VerticalAlign::Middle => "center",
            VerticalAlign::Bottom => "bottom",
        },
    );
    overlay.set_property_from_str(
        "wrap-mode",
        if t.wrap == Some(false) {
            "none"
        } else {
            "wordchar"
        },
    );
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
    let laid_out = (
        overlay.property::<u32>("text-width"),
        overlay.property::<u32>("text-height"),
    );
    Ok((img, laid_out))
}

/// The text as textoverlay reads it (Pango markup): the tenant's text escaped, so "Q&A"
/// shows and `<span font="150px">` is text, not a size past the validated one; weight,
/// style and line height in a span of ours around it.
fn markup(t: &TextSource) -> String {
    let escaped = gst::glib::markup_escape_text(&t.text);
    let mut attrs = String::new();
    if let Some(w) = t.font_weight {
        attrs.push_str(&format!(" font_weight=\"{w}\""));
    }
    if t.italic == Some(true) {
        attrs.push_str(" font_style=\"italic\"");
    }
    if let Some(lh) = t.line_height {
        attrs.push_str(&format!(" line_height=\"{lh:.3}\""));
    }
    if attrs.is_empty() {
        escaped.to_string()
    } else {
        format!("<span{attrs}>{escaped}</span>")
    }
}

/// Lays the text (`ink`, on transparency) over its outline, shadow and background box,
/// all over `background`.
fn decorate(t: &TextSource, ink: RgbaImage, background: Rgba) -> RgbaImage {
    let (w, h) = ink.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let alpha: Vec<u8> = ink.pixels().map(|p| p.0[3]).collect();
    // The outline: the text's alpha grown by its width.
    let outline = t
        .outline
        .map(|o| (o.color, dilate(&alpha, wu, hu, o.width as usize)));
    let silhouette = outline.as_ref().map_or(&alpha, |(_, a)| a);
    let mut out = RgbaImage::from_pixel(
        w,
        h,
        image::Rgba([background.r, background.g, background.b, background.a]),
    );
    if let Some(b) = &t.background
        && let Some((x0, y0, x1, y1)) = bounds(silhouette, wu, hu)
    {
        let pad = b.padding as i64;
        let bx0 = (x0 as i64 - pad).max(0) as u32;
        let by0 = (y0 as i64 - pad).max(0) as u32;
        let bx1 = (x1 as i64 + 1 + pad).min(i64::from(w)) as u32;
        let by1 = (y1 as i64 + 1 + pad).min(i64::from(h)) as u32;
        let (bw, bh) = (bx1 - bx0, by1 - by0);
        let r = (b.radius as f32).min(bw.min(bh) as f32 / 2.0);
        for y in 0..bh {
            for x in 0..bw {
                let c = coverage(rounded_rect_distance(x, y, bw as f32, bh as f32, r));
                if c > 0.0 {
                    over(out.get_pixel_mut(bx0 + x, by0 + y), b.color, c);
                }
            }
        }
    }
    if let Some(s) = &t.shadow {
        let mut plane = vec![0u8; wu * hu];
        for y in 0..hu {
            let sy = y as i64 - i64::from(s.offset_y);
            if sy < 0 || sy >= hu as i64 {
                continue;
            }
            for x in 0..wu {
                let sx = x as i64 - i64::from(s.offset_x);
                if sx >= 0 && sx < wu as i64 {
                    plane[y * wu + x] = silhouette[sy as usize * wu + sx as usize];
                }
            }
        }
        blur_plane(&mut plane, wu, hu, s.blur as usize);
        for (p, a) in out.pixels_mut().zip(&plane) {
            if *a > 0 {
                over(p, s.color, f32::from(*a) / 255.0);
            }
        }
    }
    if let Some((color, grown)) = &outline {
        for (p, a) in out.pixels_mut().zip(grown) {
            if *a > 0 {
                over(p, *color, f32::from(*a) / 255.0);
            }
        }
    }
    for (p, q) in out.pixels_mut().zip(ink.pixels()) {
        if q.0[3] > 0 {
            let c = Rgba {
                r: q.0[0],
                g: q.0[1],
                b: q.0[2],
                a: 255,
            };
            over(p, c, f32::from(q.0[3]) / 255.0);
        }
    }
    out
}

/// `alpha` grown by `radius` pixels: alternating 3×3 square and cross maxima, which grows
/// an octagon (close to round, at 9 reads per pixel per step).
fn dilate(alpha: &[u8], w: usize, h: usize, radius: usize) -> Vec<u8> {
    let mut cur = alpha.to_vec();
    let mut next = vec![0u8; cur.len()];
    for step in 0..radius {
        let square = step % 2 == 0;
        for y in 0..h {
            for x in 0..w {
                let mut m = 0u8;
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        if !square && dx != 0 && dy != 0 {
                            continue;
                        }
                        let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                        if nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h {
                            m = m.max(cur[ny as usize * w + nx as usize]);
                        }
                    }
                }
                next[y * w + x] = m;
            }
        }
        std::mem::swap(&mut cur, &mut next);
    }
    cur
}

/// The smallest rectangle (inclusive corners) holding every pixel with some alpha.
pub fn bounds(alpha: &[u8], w: usize, h: usize) -> Option<(usize, usize, usize, usize)> {
    let mut b: Option<(usize, usize, usize, usize)> = None;
    for y in 0..h {
        for x in 0..w {
            if alpha[y * w + x] > 0 {
                b = Some(match b {
                    None => (x, y, x, y),
                    Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                });
            }
        }
    }
    b
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

/// Text with live placeholders: rendered now, then again by its own thread each time the
/// expanded text changes (once a second for `{{clock:HH:mm:ss}}`, never in between), and
/// handed to the compositor as a [`LiveBitmap`]. The thread ends when the layer is gone.
pub struct TickingText;

impl TickingText {
    /// Renders `t` as it reads now into a `width`×`height` box (part of a box `of`) and
    /// starts the thread that keeps it current.
    pub fn start(
        t: &TextSource,
        template: Template,
        (width, height): (u32, u32),
        of: (u32, u32),
        layer_id: Uuid,
    ) -> Result<Arc<LiveBitmap>> {
        let clear = Rgba {
            r: 0,
            g: 0,
            b: 0,
            a: 0,
        };
        let mut source = t.clone();
        source.text = template.expand(SystemTime::now());
        let first = render_text(&source, width, height, clear)?;
        let bitmap = Arc::new(LiveBitmap::new(Arc::new(first), of));
        let weak: Weak<LiveBitmap> = Arc::downgrade(&bitmap);
        std::thread::Builder::new()
            .name("text-ticker".into())
            .spawn(move || {
                loop {
                    // A little past the second, so the text read is the new one.
                    let wait = template.next_change(SystemTime::now()) + Duration::from_millis(3);
                    std::thread::sleep(wait);
                    let text = template.expand(SystemTime::now());
                    if text == source.text {
                        if weak.strong_count() == 0 {
                            return;
                        }
                        continue;
                    }
                    source.text = text;
                    let rendered = render_text(&source, width, height, clear);
                    let Some(target) = weak.upgrade() else {
                        return;
                    };
                    match rendered {
                        Ok(img) => target.publish(Arc::new(img)),
                        Err(e) => {
                            tracing::warn!(%layer_id, error = %e, "live text not rendered");
                        }
                    }
                }
            })
            .map_err(|e| RenderError::Pipeline {
                element: "text ticker".into(),
                message: e.to_string(),
                debug: None,
            })?;
        Ok(bitmap)
    }
}
