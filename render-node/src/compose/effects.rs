//! Layer effects on straight-alpha RGBA pixels: crop, rotate, corner radius, border, shadow,
//! chroma key, colour adjustment, blur, mask and flip, applied in the layer's order.
//!
//! Static layers run the chain once per change (the result is baked into their sprite);
//! moving layers run it on every frame, which is why each pass is a single sweep over the
//! layer's own pixels with integer or table maths where it can be. Crops are not applied
//! here: they cut the *source*, so static layers crop before scaling into the box
//! ([`crop_source`]) and moving layers ask their decoder to (`FrameSource::set_crop`).
//!
//! Effects that change the drawn extent (rotation, shadow) grow the picture; [`extent`]
//! says by how much without touching pixels, so the compositor knows where a baked sprite
//! goes (and its chroma parity) before it bakes it.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use image::imageops::{self, FilterType};
use image::{Rgba as Px, RgbaImage};
use shared::color::Rgba;
use shared::effect::{Border, ChromaKey, ColorAdjust, Crop, Effect, Shadow};
use shared::transition::Easing;
use uuid::Uuid;

use super::canvas::PlanarView;
use super::sprite::{Parity, Sprite};

/// A layer's effects, with the pictures they read (masks) loaded.
#[derive(Debug, Clone, Default)]
pub struct EffectChain {
    pub list: Vec<Effect>,
    /// Mask images by asset id; an effect whose mask is missing is skipped.
    pub masks: HashMap<Uuid, Arc<RgbaImage>>,
    /// Chroma keys' tables (per list entry), made at the first frame that needs them and
    /// shared by the chain's clones, so a moving layer does the keying maths once.
    key_tables: Arc<OnceLock<Vec<Option<KeyTable>>>>,
}

/// For each chroma pair (U << 8 | V): the alpha a chroma key leaves (high byte) and how much
/// of the chroma it keeps (low byte), each out of 255.
type KeyTable = Arc<Vec<u16>>;

impl PartialEq for EffectChain {
    fn eq(&self, other: &Self) -> bool {
        // Assets never change under their id: the ids (in the list) say it all.
        self.list == other.list
    }
}

impl EffectChain {
    /// A chain without masks.
    pub fn new(list: Vec<Effect>) -> Self {
        EffectChain {
            list,
            masks: HashMap::new(),
            key_tables: Arc::default(),
        }
    }

    /// The chroma keys' tables, one per list entry (`None` for other effects).
    fn key_tables(&self) -> &[Option<KeyTable>] {
        self.key_tables.get_or_init(|| {
            self.list
                .iter()
                .map(|e| match e {
                    Effect::ChromaKey(k) => Some(Arc::new(key_table(k))),
                    _ => None,
                })
                .collect()
        })
    }

    /// No effect at all: draw as before.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether anything but crops is in the list (crops are the decoder's or the source's).
    pub fn has_pixel_effects(&self) -> bool {
        self.list.iter().any(|e| !matches!(e, Effect::Crop(_)))
    }

    /// Every crop of the list added up (crops always apply to the source).
    pub fn crop(&self) -> Crop {
        total_crop(&self.list)
    }
}

/// Every crop of `list` added up.
pub fn total_crop(list: &[Effect]) -> Crop {
    list.iter().fold(Crop::default(), |mut acc, e| {
        if let Effect::Crop(c) = e {
            acc.left = acc.left.saturating_add(c.left);
            acc.top = acc.top.saturating_add(c.top);
            acc.right = acc.right.saturating_add(c.right);
            acc.bottom = acc.bottom.saturating_add(c.bottom);
        }
        acc
    })
}

/// A layer's effects moving from one list to another (a PATCH with a `transition`): every
/// number of the effects is interpolated, so a blur can come in or a colour fade. Lists
/// of the same effects in the same order interpolate pairwise; from or to no effects at
/// all, each effect grows from (or shrinks to) its neutral strength. Anything else (other
/// effects, chroma key, masks, flips) switches at the start.
#[derive(Debug, Clone)]
pub struct EffectTween {
    from: EffectChain,
    to: EffectChain,
    start: u64,
    frames: u64,
    easing: Easing,
}

impl EffectTween {
    /// From `from` (what is on show) to `to` over `frames` from frame `start`.
    pub fn new(
        from: EffectChain,
        to: EffectChain,
        start: u64,
        frames: u64,
        easing: Easing,
    ) -> Self {
        EffectTween {
            from,
            to,
            start,
            frames,
            easing,
        }
    }

    /// Where the effects are heading.
    pub fn target(&self) -> &EffectChain {
        &self.to
    }

    /// Whether the effects still change after frame `now`.
    pub fn is_running(&self, now: u64) -> bool {
        self.frames > 0 && now < self.start + self.frames
    }

    /// The effects at output frame `now`.
    pub fn at(&self, now: u64) -> EffectChain {
        let t = super::tween::progress(self.start, self.frames, self.easing, now);
        if t >= 1.0 {
            return self.to.clone();
        }
        let (a, b) = (&self.from.list, &self.to.list);
        let neutral_all = |l: &[Effect]| l.iter().map(neutral).collect::<Option<Vec<_>>>();
        let pairs: Option<(Vec<Effect>, Vec<Effect>)> = if a.len() == b.len() {
            Some((a.clone(), b.clone()))
        } else if a.is_empty() {
            neutral_all(b).map(|n| (n, b.clone()))
        } else if b.is_empty() {
            neutral_all(a).map(|n| (a.clone(), n))
        } else {
            None
        };
        let Some((a, b)) = pairs else {
            return self.to.clone();
        };
        let list = a
            .iter()
            .zip(&b)
            .map(|(x, y)| lerp_effect(x, y, t as f32))
            .collect::<Option<Vec<_>>>();
        match list {
            Some(list) => {
                let mut chain = EffectChain::new(list);
                chain.masks = self.from.masks.clone();
                chain
                    .masks
                    .extend(self.to.masks.iter().map(|(k, v)| (*k, v.clone())));
                chain
            }
            None => self.to.clone(),
        }
    }
}

/// The effect at no strength (what it animates from when it comes in), if it has one.
fn neutral(e: &Effect) -> Option<Effect> {
    let clear = |c: Rgba| Rgba { a: 0, ..c };
    Some(match e {
        Effect::Crop(_) => Effect::Crop(Crop::default()),
        Effect::Rotate(_) => Effect::Rotate(shared::effect::Rotate { degrees: 0.0 }),
        Effect::CornerRadius(_) => Effect::CornerRadius(shared::effect::CornerRadius { radius: 0 }),
        Effect::Border(b) => Effect::Border(Border {
            color: clear(b.color),
            ..*b
        }),
        Effect::Shadow(s) => Effect::Shadow(Shadow {
            color: clear(s.color),
            ..*s
        }),
        Effect::ColorAdjust(_) => Effect::ColorAdjust(ColorAdjust::default()),
        Effect::Blur(_) => Effect::Blur(shared::effect::Blur { radius: 0 }),
        Effect::ChromaKey(_) | Effect::Mask(_) | Effect::Flip(_) => return None,
    })
}

/// `a` moved `t` of the way to `b` when both are the same effect.
fn lerp_effect(a: &Effect, b: &Effect, t: f32) -> Option<Effect> {
    let f = |x: f32, y: f32| x + (y - x) * t;
    let u = |x: u32, y: u32| f(x as f32, y as f32).round().max(0.0) as u32;
    let i = |x: i32, y: i32| f(x as f32, y as f32).round() as i32;
    let c = |x: Rgba, y: Rgba| {
        let ch = |p: u8, q: u8| f(f32::from(p), f32::from(q)).round().clamp(0.0, 255.0) as u8;
        Rgba {
            r: ch(x.r, y.r),
            g: ch(x.g, y.g),
            b: ch(x.b, y.b),
            a: ch(x.a, y.a),
        }
    };
    Some(match (a, b) {
        (Effect::Crop(p), Effect::Crop(q)) => Effect::Crop(Crop {
            left: u(p.left, q.left),
            top: u(p.top, q.top),
            right: u(p.right, q.right),
            bottom: u(p.bottom, q.bottom),
        }),
        (Effect::Rotate(p), Effect::Rotate(q)) => Effect::Rotate(shared::effect::Rotate {
            degrees: f(p.degrees, q.degrees),
        }),
        (Effect::CornerRadius(p), Effect::CornerRadius(q)) => {
            Effect::CornerRadius(shared::effect::CornerRadius {
                radius: u(p.radius, q.radius),
            })
        }
        (Effect::Border(p), Effect::Border(q)) => Effect::Border(Border {
            width: u(p.width, q.width).max(1),
            color: c(p.color, q.color),
        }),
        (Effect::Shadow(p), Effect::Shadow(q)) => Effect::Shadow(Shadow {
            offset_x: i(p.offset_x, q.offset_x),
            offset_y: i(p.offset_y, q.offset_y),
            blur: u(p.blur, q.blur),
            color: c(p.color, q.color),
        }),
        (Effect::ChromaKey(p), Effect::ChromaKey(q)) => Effect::ChromaKey(ChromaKey {
            color: c(p.color, q.color),
            similarity: f(p.similarity, q.similarity),
            smoothness: f(p.smoothness, q.smoothness),
            spill: f(p.spill, q.spill),
        }),
        (Effect::ColorAdjust(p), Effect::ColorAdjust(q)) => Effect::ColorAdjust(ColorAdjust {
            brightness: f(p.brightness, q.brightness),
            contrast: f(p.contrast, q.contrast),
            saturation: f(p.saturation, q.saturation),
            gamma: f(p.gamma, q.gamma),
        }),
        (Effect::Blur(p), Effect::Blur(q)) => Effect::Blur(shared::effect::Blur {
            radius: u(p.radius, q.radius),
        }),
        (Effect::Mask(_), Effect::Mask(q)) => Effect::Mask(*q),
        (Effect::Flip(_), Effect::Flip(q)) => Effect::Flip(*q),
        _ => return None,
    })
}

/// Where a picture of `w`×`h` at the box's corner ends up after the chain: offset from the
/// box's top-left corner and size.
pub fn extent(chain: &EffectChain, w: usize, h: usize) -> (i32, i32, usize, usize) {
    let (mut dx, mut dy, mut w, mut h) = (0i32, 0i32, w, h);
    for e in &chain.list {
        let (gx, gy, nw, nh) = growth(e, w, h);
        dx += gx;
        dy += gy;
        w = nw;
        h = nh;
    }
    (dx, dy, w, h)
}

/// How one effect moves and resizes a `w`×`h` picture.
fn growth(e: &Effect, w: usize, h: usize) -> (i32, i32, usize, usize) {
    match e {
        Effect::Rotate(r) => {
            let (nw, nh) = rotated_size(r.degrees, w, h);
            (
                (w as i32 - nw as i32) / 2,
                (h as i32 - nh as i32) / 2,
                nw,
                nh,
            )
        }
        Effect::Shadow(s) => {
            let b = s.blur as i32;
            let left = (s.offset_x - b).min(0);
            let top = (s.offset_y - b).min(0);
            let right = (s.offset_x + b).max(0);
            let bottom = (s.offset_y + b).max(0);
            (
                left,
                top,
                w + (right - left) as usize,
                h + (bottom - top) as usize,
            )
        }
        _ => (0, 0, w, h),
    }
}

/// The bounding box of a `w`×`h` picture turned by `degrees`.
fn rotated_size(degrees: f32, w: usize, h: usize) -> (usize, usize) {
    match right_angle(degrees) {
        Some(0 | 2) => (w, h),
        Some(_) => (h, w),
        None => {
            let t = f64::from(degrees).to_radians();
            let (s, c) = (t.sin().abs(), t.cos().abs());
            let (w, h) = (w as f64, h as f64);
            (
                (w * c + h * s).ceil().max(1.0) as usize,
                (w * s + h * c).ceil().max(1.0) as usize,
            )
        }
    }
}

/// Quarter turns for multiples of 90° (0..=3), `None` for other angles.
fn right_angle(degrees: f32) -> Option<u32> {
    let q = degrees / 90.0;
    ((q - q.round()).abs() < 1e-4).then(|| (q.round() as i32).rem_euclid(4) as u32)
}

/// The part of `img` a crop keeps (at least one pixel).
pub fn crop_source(img: &RgbaImage, c: Crop) -> RgbaImage {
    let (w, h) = img.dimensions();
    let left = c.left.min(w.saturating_sub(1));
    let top = c.top.min(h.saturating_sub(1));
    let kw = w.saturating_sub(left).saturating_sub(c.right).max(1);
    let kh = h.saturating_sub(top).saturating_sub(c.bottom).max(1);
    imageops::crop_imm(img, left, top, kw, kh).to_image()
}

/// Runs every effect but crops on `img`, in order; the result is [`extent`]'s size.
pub fn apply(chain: &EffectChain, mut img: RgbaImage) -> RgbaImage {
    // The radius of the last corner rounding so far: borders follow it.
    let mut radius = 0u32;
    for e in &chain.list {
        img = match e {
            Effect::Crop(_) => img,
            Effect::Rotate(r) => rotate(&img, r.degrees),
            Effect::CornerRadius(r) => {
                radius = r.radius;
                round_corners(&mut img, r.radius);
                img
            }
            Effect::Border(b) => {
                border(&mut img, b, radius);
                img
            }
            Effect::Shadow(s) => shadow(&img, s),
            Effect::ChromaKey(k) => {
                chroma_key(&mut img, k);
                img
            }
            Effect::ColorAdjust(c) => {
                color_adjust(&mut img, c);
                img
            }
            Effect::Blur(b) => {
                blur(&mut img, b.radius);
                img
            }
            Effect::Mask(m) => {
                if let Some(mask) = chain.masks.get(&m.asset_id) {
                    apply_mask(&mut img, mask);
                }
                img
            }
            Effect::Flip(f) => {
                if f.horizontal {
                    imageops::flip_horizontal_in_place(&mut img);
                }
                if f.vertical {
                    imageops::flip_vertical_in_place(&mut img);
                }
                img
            }
        };
    }
    img
}

/// Turns `img` clockwise about its centre; right angles are exact, other angles bilinear.
fn rotate(img: &RgbaImage, degrees: f32) -> RgbaImage {
    match right_angle(degrees) {
        Some(0) => img.clone(),
        Some(1) => imageops::rotate90(img),
        Some(2) => imageops::rotate180(img),
        Some(_) => imageops::rotate270(img),
        None => {
            let (w, h) = (img.width() as usize, img.height() as usize);
            let (nw, nh) = rotated_size(degrees, w, h);
            let t = f64::from(degrees).to_radians();
            let (s, c) = (t.sin(), t.cos());
            let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
            let (ncx, ncy) = (nw as f64 / 2.0, nh as f64 / 2.0);
            RgbaImage::from_fn(nw as u32, nh as u32, |x, y| {
                // Inverse mapping: where in the source this output pixel's centre comes from.
                let (px, py) = (f64::from(x) + 0.5 - ncx, f64::from(y) + 0.5 - ncy);
                let sx = c * px + s * py + cx - 0.5;
                let sy = -s * px + c * py + cy - 0.5;
                bilinear(img, sx, sy)
            })
        }
    }
}

/// The colour at a fractional position, transparent outside (premultiplied interpolation).
fn bilinear(img: &RgbaImage, x: f64, y: f64) -> Px<u8> {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let mut acc = [0f64; 4];
    for (dx, dy, wgt) in [
        (0, 0, (1.0 - fx) * (1.0 - fy)),
        (1, 0, fx * (1.0 - fy)),
        (0, 1, (1.0 - fx) * fy),
        (1, 1, fx * fy),
    ] {
        let (sx, sy) = (x0 + dx, y0 + dy);
        if sx < 0 || sy < 0 || sx >= i64::from(img.width()) || sy >= i64::from(img.height()) {
            continue;
        }
        let p = img.get_pixel(sx as u32, sy as u32).0;
        let a = f64::from(p[3]) * wgt;
        acc[0] += f64::from(p[0]) * a;
        acc[1] += f64::from(p[1]) * a;
        acc[2] += f64::from(p[2]) * a;
        acc[3] += a;
    }
    if acc[3] <= 0.0 {
        return Px([0, 0, 0, 0]);
    }
    Px([
        (acc[0] / acc[3]).round().clamp(0.0, 255.0) as u8,
        (acc[1] / acc[3]).round().clamp(0.0, 255.0) as u8,
        (acc[2] / acc[3]).round().clamp(0.0, 255.0) as u8,
        acc[3].round().clamp(0.0, 255.0) as u8,
    ])
}

/// Signed distance from a pixel centre to the edge of a `w`×`h` rounded rectangle of
/// corner radius `r` (negative inside).
#[inline]
pub(crate) fn rounded_rect_distance(x: u32, y: u32, w: f32, h: f32, r: f32) -> f32 {
    let (px, py) = (x as f32 + 0.5 - w / 2.0, y as f32 + 0.5 - h / 2.0);
    let qx = px.abs() - (w / 2.0 - r);
    let qy = py.abs() - (h / 2.0 - r);
    let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
    outside + qx.max(qy).min(0.0) - r
}

/// How much of a pixel lies inside an edge at signed distance `d` (one-pixel antialiasing).
#[inline]
pub(crate) fn coverage(d: f32) -> f32 {
    (0.5 - d).clamp(0.0, 1.0)
}

fn clamp_radius(radius: u32, w: u32, h: u32) -> f32 {
    (radius as f32).min(w.min(h) as f32 / 2.0)
}

/// Makes what lies outside the rounded corners transparent. Only the corner squares are
/// visited: the rest of the picture is inside by construction.
fn round_corners(img: &mut RgbaImage, radius: u32) {
    let (w, h) = img.dimensions();
    let r = clamp_radius(radius, w, h);
    if r <= 0.0 {
        return;
    }
    let n = (r.ceil() as u32).min(w).min(h);
    let (fw, fh) = (w as f32, h as f32);
    for y in (0..n).chain(h.saturating_sub(n).max(n)..h) {
        for x in (0..n).chain(w.saturating_sub(n).max(n)..w) {
            let c = coverage(rounded_rect_distance(x, y, fw, fh, r));
            if c < 1.0 {
                let p = img.get_pixel_mut(x, y);
                p.0[3] = (f32::from(p.0[3]) * c).round() as u8;
            }
        }
    }
}

/// Paints a ring of `b.width` along the inside of the edge (rounded by `radius`).
fn border(img: &mut RgbaImage, b: &Border, radius: u32) {
    let (w, h) = img.dimensions();
    let r = clamp_radius(radius, w, h);
    let (fw, fh) = (w as f32, h as f32);
    let bw = b.width as f32;
    let inner = b.width.saturating_add(r.ceil() as u32);
    for y in 0..h {
        // Rows away from the top and bottom edge only touch the left and right bands.
        let band = y >= inner && y + inner < h;
        let xs: Box<dyn Iterator<Item = u32>> = if band {
            Box::new((0..inner.min(w)).chain(w.saturating_sub(inner).max(inner)..w))
        } else {
            Box::new(0..w)
        };
        for x in xs {
            let d = rounded_rect_distance(x, y, fw, fh, r);
            let ring = coverage(d) - coverage(d + bw);
            if ring > 0.0 {
                let p = img.get_pixel_mut(x, y);
                over(p, b.color, ring);
            }
        }
    }
}

/// `color` at `cover` (0..1) over a straight-alpha pixel.
#[inline]
pub(crate) fn over(p: &mut Px<u8>, color: Rgba, cover: f32) {
    let sa = f32::from(color.a) / 255.0 * cover;
    let da = f32::from(p.0[3]) / 255.0;
    let oa = sa + da * (1.0 - sa);
    if oa <= 0.0 {
        return;
    }
    let mix = |s: u8, d: u8| {
        ((f32::from(s) * sa + f32::from(d) * da * (1.0 - sa)) / oa)
            .round()
            .clamp(0.0, 255.0) as u8
    };
    p.0 = [
        mix(color.r, p.0[0]),
        mix(color.g, p.0[1]),
        mix(color.b, p.0[2]),
        (oa * 255.0).round() as u8,
    ];
}

/// The picture over its own blurred, offset, coloured silhouette, on a grown canvas.
fn shadow(img: &RgbaImage, s: &Shadow) -> RgbaImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (gx, gy, nw, nh) = growth(&Effect::Shadow(*s), w, h);
    let mut silhouette = vec![0u8; nw * nh];
    let (ox, oy) = ((s.offset_x - gx) as usize, (s.offset_y - gy) as usize);
    for y in 0..h {
        for x in 0..w {
            silhouette[(y + oy) * nw + x + ox] = img.get_pixel(x as u32, y as u32).0[3];
        }
    }
    blur_plane(&mut silhouette, nw, nh, s.blur as usize);
    let mut out = RgbaImage::from_fn(nw as u32, nh as u32, |x, y| {
        let a = silhouette[y as usize * nw + x as usize];
        let a = (u32::from(a) * u32::from(s.color.a) + 127) / 255;
        Px([s.color.r, s.color.g, s.color.b, a as u8])
    });
    let (px, py) = ((-gx) as u32, (-gy) as u32);
    for (x, y, p) in img.enumerate_pixels() {
        if p.0[3] == 0 {
            continue;
        }
        let d = out.get_pixel_mut(x + px, y + py);
        over(d, Rgba::from_px(*p), 1.0);
    }
    out
}

/// Conversions between our colour type and image's pixel.
trait FromPx {
    fn from_px(p: Px<u8>) -> Self;
}

impl FromPx for Rgba {
    fn from_px(p: Px<u8>) -> Self {
        Rgba {
            r: p.0[0],
            g: p.0[1],
            b: p.0[2],
            a: p.0[3],
        }
    }
}

/// BT.709 chroma of an sRGB colour, each in 0..=1 (0.5 neutral).
#[inline]
fn cbcr(r: f32, g: f32, b: f32) -> (f32, f32) {
    (
        -0.1146 * r - 0.3854 * g + 0.5 * b + 0.5,
        0.5 * r - 0.4542 * g - 0.0458 * b + 0.5,
    )
}

/// Removes the key colour (the maths of OBS's chroma key filter, so its settings carry
/// over): alpha falls with chroma distance under `similarity` over `smoothness`, and what
/// stays is desaturated by how close to the key it was (`spill`).
fn chroma_key(img: &mut RgbaImage, k: &ChromaKey) {
    let (kb, kr) = cbcr(
        f32::from(k.color.r) / 255.0,
        f32::from(k.color.g) / 255.0,
        f32::from(k.color.b) / 255.0,
    );
    let smooth = k.smoothness.max(1e-4);
    let spill = k.spill.max(1e-4);
    for p in img.pixels_mut() {
        if p.0[3] == 0 {
            continue;
        }
        let (r, g, b) = (
            f32::from(p.0[0]) / 255.0,
            f32::from(p.0[1]) / 255.0,
            f32::from(p.0[2]) / 255.0,
        );
        let (cb, cr) = cbcr(r, g, b);
        let dist = ((cb - kb).powi(2) + (cr - kr).powi(2)).sqrt();
        let base = dist - k.similarity;
        let full = (base / smooth).clamp(0.0, 1.0).powf(1.5);
        let spill_v = (base / spill).clamp(0.0, 1.0).powf(1.5);
        p.0[3] = (f32::from(p.0[3]) * full).round() as u8;
        if spill_v < 1.0 {
            let luma = 0.2126 * r + 0.7152 * g + 0.0722 * b;
            let mix = |c: f32| {
                ((luma + (c - luma) * spill_v) * 255.0)
                    .round()
                    .clamp(0.0, 255.0)
            };
            p.0[0] = mix(r) as u8;
            p.0[1] = mix(g) as u8;
            p.0[2] = mix(b) as u8;
        }
    }
}

/// Brightness, contrast (tables), saturation (about the pixel's luma), gamma (table).
fn color_adjust(img: &mut RgbaImage, c: &ColorAdjust) {
    let table = |f: &dyn Fn(f32) -> f32| -> [u8; 256] {
        std::array::from_fn(|i| (f(i as f32 / 255.0) * 255.0).round().clamp(0.0, 255.0) as u8)
    };
    let bc = table(&|v| (v + c.brightness - 0.5) * c.contrast + 0.5);
    let gamma = table(&|v| v.clamp(0.0, 1.0).powf(1.0 / c.gamma));
    // Saturation in fixed point (8 fractional bits).
    let sat = (c.saturation * 256.0).round() as i32;
    for p in img.pixels_mut() {
        let (r, g, b) = (
            i32::from(bc[p.0[0] as usize]),
            i32::from(bc[p.0[1] as usize]),
            i32::from(bc[p.0[2] as usize]),
        );
        let luma = (54 * r + 183 * g + 19 * b) >> 8;
        let s = |v: i32| (luma + (((v - luma) * sat) >> 8)).clamp(0, 255) as usize;
        p.0[0] = gamma[s(r)];
        p.0[1] = gamma[s(g)];
        p.0[2] = gamma[s(b)];
    }
}

/// Blurs colour and alpha together (premultiplied, so transparent pixels do not darken
/// the edges): two box passes each way, close to a Gaussian of the same radius.
fn blur(img: &mut RgbaImage, radius: u32) {
    if radius == 0 {
        return;
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut planes: [Vec<u8>; 4] = std::array::from_fn(|_| vec![0u8; w * h]);
    for (i, p) in img.pixels().enumerate() {
        let a = u32::from(p.0[3]);
        for (c, plane) in planes.iter_mut().take(3).enumerate() {
            plane[i] = ((u32::from(p.0[c]) * a + 127) / 255) as u8;
        }
        planes[3][i] = p.0[3];
    }
    for plane in &mut planes {
        blur_plane(plane, w, h, radius as usize);
    }
    for (i, p) in img.pixels_mut().enumerate() {
        let a = planes[3][i];
        p.0[3] = a;
        for (out, plane) in p.0.iter_mut().zip(&planes).take(3) {
            *out = if a == 0 {
                0
            } else {
                ((u32::from(plane[i]) * 255 + u32::from(a) / 2) / u32::from(a)).min(255) as u8
            };
        }
    }
}

/// Two box blurs of `radius` along rows then columns of one 8-bit plane (edges clamp).
pub(crate) fn blur_plane(plane: &mut [u8], w: usize, h: usize, radius: usize) {
    if radius == 0 || w == 0 || h == 0 {
        return;
    }
    let r = radius.div_ceil(2).max(1);
    let mut line = Vec::new();
    let mut src = Vec::new();
    let mut sums = vec![0u32; w];
    let width = (2 * r + 1) as u32;
    for _ in 0..2 {
        for y in 0..h {
            line.clear();
            line.extend_from_slice(&plane[y * w..(y + 1) * w]);
            box_line(&line, &mut plane[y * w..(y + 1) * w], r);
        }
        // Columns as running sums over whole rows: every access is along a row, so it
        // stays in cache and vectorises (a column at a time would stride through memory).
        src.clear();
        src.extend_from_slice(plane);
        let row = |y: isize| {
            let y = y.clamp(0, h as isize - 1) as usize;
            &src[y * w..(y + 1) * w]
        };
        sums.fill(0);
        for k in -(r as isize)..=r as isize {
            for (s, &p) in sums.iter_mut().zip(row(k)) {
                *s += u32::from(p);
            }
        }
        let inv = divide_by(width);
        for y in 0..h {
            for (d, &s) in plane[y * w..(y + 1) * w].iter_mut().zip(&sums) {
                *d = inv(s);
            }
            let (add, sub) = (
                row(y as isize + r as isize + 1),
                row(y as isize - r as isize),
            );
            for ((s, &a), &b) in sums.iter_mut().zip(add).zip(sub) {
                *s = *s + u32::from(a) - u32::from(b);
            }
        }
    }
}

/// A running-sum box filter of radius `r` over `src` into `dst` (edges clamp).
fn box_line(src: &[u8], dst: &mut [u8], r: usize) {
    let n = src.len();
    let (first, last) = (u32::from(src[0]), u32::from(src[n - 1]));
    let at = |i: usize| src.get(i).map_or(last, |&p| u32::from(p));
    let width = (2 * r + 1) as u32;
    let inv = divide_by(width);
    let mut sum: u32 = first * r as u32 + (0..=r).map(at).sum::<u32>();
    for (i, d) in dst.iter_mut().enumerate() {
        *d = inv(sum);
        let sub = if i >= r { u32::from(src[i - r]) } else { first };
        sum = sum + at(i + r + 1) - sub;
    }
}

/// `x / d` rounded, as a multiplication (a division per pixel is the slow part of a blur).
fn divide_by(d: u32) -> impl Fn(u32) -> u8 {
    let inv = ((1u64 << 32) + u64::from(d) / 2) / u64::from(d);
    move |x: u32| ((((u64::from(x) + u64::from(d) / 2) * inv) >> 32).min(255)) as u8
}

/// Multiplies alpha by the mask's alpha, the mask scaled to the picture.
fn apply_mask(img: &mut RgbaImage, mask: &RgbaImage) {
    let (w, h) = img.dimensions();
    let scaled;
    let m = if mask.dimensions() == (w, h) {
        mask
    } else {
        scaled = imageops::resize(mask, w, h, FilterType::Triangle);
        &scaled
    };
    for (p, q) in img.pixels_mut().zip(m.pixels()) {
        p.0[3] = ((u32::from(p.0[3]) * u32::from(q.0[3]) + 127) / 255) as u8;
    }
}

/// An opaque I420 frame as straight-alpha RGBA (BT.709 limited range, chroma shared by
/// each 2×2 block), for moving layers whose effects run on every frame.
pub fn frame_to_rgba(f: &PlanarView<'_>) -> RgbaImage {
    let (w, h) = (f.width & !1, f.height & !1);
    let mut out = RgbaImage::new(w as u32, h as u32);
    let buf: &mut [u8] = &mut out;
    for y in 0..h {
        let yrow = &f.y[y * f.y_stride..y * f.y_stride + w];
        let urow = &f.u[(y / 2) * f.u_stride..];
        let vrow = &f.v[(y / 2) * f.v_stride..];
        let orow = &mut buf[y * w * 4..(y + 1) * w * 4];
        for x in 0..w {
            // Fixed point (16 fractional bits) of the limited-range BT.709 inverse.
            let c = (i32::from(yrow[x]) - 16) * 76309;
            let d = i32::from(urow[x / 2]) - 128;
            let e = i32::from(vrow[x / 2]) - 128;
            let r = (c + 117489 * e + 32768) >> 16;
            let g = (c - 13975 * d - 34925 * e + 32768) >> 16;
            let b = (c + 138438 * d + 32768) >> 16;
            let o = &mut orow[x * 4..x * 4 + 4];
            o[0] = r.clamp(0, 255) as u8;
            o[1] = g.clamp(0, 255) as u8;
            o[2] = b.clamp(0, 255) as u8;
            o[3] = 255;
        }
    }
    out
}

/// OBS's chroma key (as [`chroma_key`]) for every limited-range chroma pair.
fn key_table(k: &ChromaKey) -> Vec<u16> {
    let key = super::yuv::rgb_to_yuv(k.color.r, k.color.g, k.color.b);
    // Limited-range chroma to the 0..1 scale the settings are in.
    let to01 = |c: usize| (c as f32 - 16.0) / 224.0;
    let (kb, kr) = (to01(usize::from(key.u)), to01(usize::from(key.v)));
    let smooth = k.smoothness.max(1e-4);
    let spill = k.spill.max(1e-4);
    let pow15 = |x: f32| x * x.sqrt();
    (0..65_536usize)
        .map(|i| {
            let (cb, cr) = (to01(i >> 8), to01(i & 0xFF));
            let base = ((cb - kb).powi(2) + (cr - kr).powi(2)).sqrt() - k.similarity;
            let full = pow15((base / smooth).clamp(0.0, 1.0));
            let keep = pow15((base / spill).clamp(0.0, 1.0));
            ((full * 255.0).round() as u16) << 8 | (keep * 255.0).round() as u16
        })
        .collect()
}

/// Whether every effect of the chain has a direct I420 version (no RGB round trip): the
/// effects moving layers use most. Shadow, masks and free rotation go through RGBA.
pub fn runs_on_yuv(chain: &EffectChain) -> bool {
    chain.list.iter().all(|e| match e {
        Effect::Crop(_)
        | Effect::ChromaKey(_)
        | Effect::CornerRadius(_)
        | Effect::Border(_)
        | Effect::Flip(_)
        | Effect::ColorAdjust(_)
        | Effect::Blur(_) => true,
        Effect::Rotate(r) => right_angle(r.degrees).is_some(),
        Effect::Shadow(_) | Effect::Mask(_) => false,
    })
}

/// A moving layer's frame through its effects, as a sprite to blend at an even position:
/// directly on the frame's planes when [`runs_on_yuv`], else through RGBA.
pub fn frame_sprite(chain: &EffectChain, f: &PlanarView<'_>) -> Sprite {
    if !runs_on_yuv(chain) {
        let img = apply(chain, frame_to_rgba(f));
        return Sprite::from_rgba(&img, Parity { x: 0, y: 0 });
    }
    let mut img = Yuva::from_frame(f);
    let mut radius = 0u32;
    let tables = chain.key_tables();
    for (i, e) in chain.list.iter().enumerate() {
        match e {
            Effect::ChromaKey(_) => {
                if let Some(Some(t)) = tables.get(i) {
                    img.chroma_key(t);
                }
            }
            Effect::CornerRadius(r) => {
                radius = r.radius;
                img.round_corners(r.radius);
            }
            Effect::Border(b) => img.border(b, radius),
            Effect::Flip(fl) => img.flip(fl.horizontal, fl.vertical),
            Effect::Rotate(r) => img.rotate(right_angle(r.degrees).unwrap_or(0)),
            Effect::ColorAdjust(c) => img.color_adjust(c),
            Effect::Blur(b) => img.blur(b.radius as usize),
            Effect::Crop(_) | Effect::Shadow(_) | Effect::Mask(_) => {}
        }
    }
    img.into_sprite()
}

/// An I420 picture with a full-resolution alpha plane, straight (not premultiplied).
struct Yuva {
    w: usize,
    h: usize,
    y: Vec<u8>,
    a: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl Yuva {
    fn from_frame(f: &PlanarView<'_>) -> Self {
        let (w, h) = (f.width & !1, f.height & !1);
        let (cw, ch) = (w / 2, h / 2);
        let mut y = Vec::with_capacity(w * h);
        for r in 0..h {
            y.extend_from_slice(&f.y[r * f.y_stride..r * f.y_stride + w]);
        }
        let mut u = Vec::with_capacity(cw * ch);
        let mut v = Vec::with_capacity(cw * ch);
        for r in 0..ch {
            u.extend_from_slice(&f.u[r * f.u_stride..r * f.u_stride + cw]);
            v.extend_from_slice(&f.v[r * f.v_stride..r * f.v_stride + cw]);
        }
        Yuva {
            w,
            h,
            y,
            a: vec![255; w * h],
            u,
            v,
        }
    }

    /// A chroma key per 2×2 block: the block's chroma looks up its alpha and how much of
    /// the key's cast stays ([`key_table`]).
    fn chroma_key(&mut self, table: &[u16]) {
        let cw = self.w / 2;
        for by in 0..self.h / 2 {
            for bx in 0..cw {
                let ci = by * cw + bx;
                let t = table[(usize::from(self.u[ci]) << 8) | usize::from(self.v[ci])];
                if t == u16::MAX {
                    continue;
                }
                let (fa, keep) = (u32::from(t >> 8), i32::from(t & 0xFF));
                let scale = |c: u8| (128 + ((i32::from(c) - 128) * keep + 127) / 255) as u8;
                self.u[ci] = scale(self.u[ci]);
                self.v[ci] = scale(self.v[ci]);
                for i in [2 * by * self.w + 2 * bx, (2 * by + 1) * self.w + 2 * bx] {
                    for a in &mut self.a[i..i + 2] {
                        *a = ((u32::from(*a) * fa + 127) / 255) as u8;
                    }
                }
            }
        }
    }

    fn round_corners(&mut self, radius: u32) {
        let (w, h) = (self.w as u32, self.h as u32);
        let r = clamp_radius(radius, w, h);
        if r <= 0.0 {
            return;
        }
        let n = (r.ceil() as u32).min(w).min(h);
        for y in (0..n).chain(h.saturating_sub(n).max(n)..h) {
            for x in (0..n).chain(w.saturating_sub(n).max(n)..w) {
                let c = coverage(rounded_rect_distance(x, y, w as f32, h as f32, r));
                if c < 1.0 {
                    let i = y as usize * self.w + x as usize;
                    self.a[i] = (f32::from(self.a[i]) * c).round() as u8;
                }
            }
        }
    }

    fn border(&mut self, b: &Border, radius: u32) {
        let (w, h) = (self.w as u32, self.h as u32);
        let r = clamp_radius(radius, w, h);
        let bw = b.width as f32;
        let inner = b.width.saturating_add(r.ceil() as u32);
        let c = super::yuv::rgb_to_yuv(b.color.r, b.color.g, b.color.b);
        let ba = f32::from(b.color.a) / 255.0;
        let cw = self.w / 2;
        for y in 0..h {
            let band = y >= inner && y + inner < h;
            let xs: Box<dyn Iterator<Item = u32>> = if band {
                Box::new((0..inner.min(w)).chain(w.saturating_sub(inner).max(inner)..w))
            } else {
                Box::new(0..w)
            };
            for x in xs {
                let d = rounded_rect_distance(x, y, w as f32, h as f32, r);
                let ring = (coverage(d) - coverage(d + bw)) * ba;
                if ring <= 0.0 {
                    continue;
                }
                let i = y as usize * self.w + x as usize;
                let da = f32::from(self.a[i]) / 255.0;
                let oa = ring + da * (1.0 - ring);
                self.y[i] = ((f32::from(c.y) * ring + f32::from(self.y[i]) * da * (1.0 - ring))
                    / oa)
                    .round() as u8;
                self.a[i] = (oa * 255.0).round() as u8;
                // Each of the block's four pixels moves its chroma a quarter of the way.
                let ci = (y as usize / 2) * cw + x as usize / 2;
                let q = ring / 4.0;
                let mix =
                    |s: u8, d: u8| (f32::from(d) + (f32::from(s) - f32::from(d)) * q).round() as u8;
                self.u[ci] = mix(c.u, self.u[ci]);
                self.v[ci] = mix(c.v, self.v[ci]);
            }
        }
    }

    fn flip(&mut self, horizontal: bool, vertical: bool) {
        let (w, h, cw, ch) = (self.w, self.h, self.w / 2, self.h / 2);
        for (plane, pw, ph) in [
            (&mut self.y, w, h),
            (&mut self.a, w, h),
            (&mut self.u, cw, ch),
            (&mut self.v, cw, ch),
        ] {
            if horizontal {
                plane.chunks_exact_mut(pw).for_each(<[u8]>::reverse);
            }
            if vertical {
                for r in 0..ph / 2 {
                    let (top, bottom) = plane.split_at_mut((ph - 1 - r) * pw);
                    top[r * pw..(r + 1) * pw].swap_with_slice(&mut bottom[..pw]);
                }
            }
        }
    }

    /// Quarter turns clockwise.
    fn rotate(&mut self, quarters: u32) {
        match quarters {
            2 => self.flip(true, true),
            1 | 3 => {
                let turn = |plane: &[u8], w: usize, h: usize| -> Vec<u8> {
                    // Output is h wide and w tall; 32×32 tiles keep both sides in cache.
                    const TILE: usize = 32;
                    let mut out = vec![0u8; w * h];
                    for ty in (0..h).step_by(TILE) {
                        for tx in (0..w).step_by(TILE) {
                            for y in ty..(ty + TILE).min(h) {
                                for x in tx..(tx + TILE).min(w) {
                                    let (nx, ny) = if quarters == 1 {
                                        (h - 1 - y, x)
                                    } else {
                                        (y, w - 1 - x)
                                    };
                                    out[ny * h + nx] = plane[y * w + x];
                                }
                            }
                        }
                    }
                    out
                };
                let (w, h) = (self.w, self.h);
                self.y = turn(&self.y, w, h);
                self.a = turn(&self.a, w, h);
                self.u = turn(&self.u, w / 2, h / 2);
                self.v = turn(&self.v, w / 2, h / 2);
                (self.w, self.h) = (h, w);
            }
            _ => {}
        }
    }

    /// Brightness and contrast (luma, and contrast scales chroma too, as it does per RGB
    /// channel), saturation (chroma), gamma (on luma only: an approximation of per-channel
    /// gamma that keeps hues).
    fn color_adjust(&mut self, c: &ColorAdjust) {
        let luma: [u8; 256] = std::array::from_fn(|i| {
            let v = (i as f32 - 16.0) / 219.0;
            let v = ((v + c.brightness - 0.5) * c.contrast + 0.5).clamp(0.0, 1.0);
            let v = v.powf(1.0 / c.gamma);
            (16.0 + v * 219.0).round().clamp(0.0, 255.0) as u8
        });
        let k = c.contrast * c.saturation;
        let chroma: [u8; 256] = std::array::from_fn(|i| {
            (128.0 + (i as f32 - 128.0) * k).round().clamp(16.0, 240.0) as u8
        });
        self.y.iter_mut().for_each(|p| *p = luma[*p as usize]);
        self.u.iter_mut().for_each(|p| *p = chroma[*p as usize]);
        self.v.iter_mut().for_each(|p| *p = chroma[*p as usize]);
    }

    /// Blurs colour and alpha together (premultiplied, as [`blur`]): luma and alpha at full
    /// resolution, chroma and its block alpha at half.
    fn blur(&mut self, radius: usize) {
        if radius == 0 {
            return;
        }
        let (w, h, cw, ch) = (self.w, self.h, self.w / 2, self.h / 2);
        let mut ac: Vec<u8> = (0..cw * ch)
            .map(|ci| {
                let i = 2 * (ci / cw) * w + 2 * (ci % cw);
                let sum = u32::from(self.a[i])
                    + u32::from(self.a[i + 1])
                    + u32::from(self.a[i + w])
                    + u32::from(self.a[i + w + 1]);
                ((sum + 2) / 4) as u8
            })
            .collect();
        let premul = |c: &mut [u8], a: &[u8]| {
            for (c, &a) in c.iter_mut().zip(a) {
                *c = ((u32::from(*c) * u32::from(a) + 127) / 255) as u8;
            }
        };
        premul(&mut self.y, &self.a);
        premul(&mut self.u, &ac);
        premul(&mut self.v, &ac);
        blur_plane(&mut self.y, w, h, radius);
        blur_plane(&mut self.a, w, h, radius);
        let half = radius.div_ceil(2);
        blur_plane(&mut self.u, cw, ch, half);
        blur_plane(&mut self.v, cw, ch, half);
        blur_plane(&mut ac, cw, ch, half);
        let unpremul = |c: &mut [u8], a: &[u8], neutral: u8| {
            for (c, &a) in c.iter_mut().zip(a) {
                *c = if a == 0 {
                    neutral
                } else {
                    ((u32::from(*c) * 255 + u32::from(a) / 2) / u32::from(a)).min(255) as u8
                };
            }
        };
        unpremul(&mut self.y, &self.a, 16);
        unpremul(&mut self.u, &ac, 128);
        unpremul(&mut self.v, &ac, 128);
    }

    fn into_sprite(self) -> Sprite {
        let (w, cw) = (self.w, self.w / 2);
        let mut opaque = true;
        let mut empty = true;
        let mut y = self.y;
        for (p, &a) in y.iter_mut().zip(&self.a) {
            opaque &= a == 255;
            empty &= a == 0;
            if a != 255 {
                *p = ((u32::from(*p) * u32::from(a) + 127) / 255) as u8;
            }
        }
        let mut ac = vec![0u8; self.u.len()];
        let (mut u, mut v) = (self.u, self.v);
        for (ci, m) in ac.iter_mut().enumerate() {
            let (bx, by) = (ci % cw, ci / cw);
            let i = 2 * by * w + 2 * bx;
            let sum = u32::from(self.a[i])
                + u32::from(self.a[i + 1])
                + u32::from(self.a[i + w])
                + u32::from(self.a[i + w + 1]);
            *m = ((sum + 2) / 4) as u8;
            if *m != 255 {
                u[ci] = ((u32::from(u[ci]) * u32::from(*m) + 127) / 255) as u8;
                v[ci] = ((u32::from(v[ci]) * u32::from(*m) + 127) / 255) as u8;
            }
        }
        Sprite {
            width: w,
            height: self.h,
            y,
            a: self.a,
            u,
            v,
            ac,
            opaque,
            empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::effect::{Blur, CornerRadius, Flip, Rotate};

    fn solid(w: u32, h: u32, c: [u8; 4]) -> RgbaImage {
        RgbaImage::from_pixel(w, h, Px(c))
    }

    #[test]
    fn rotate_quarter_swaps_and_keeps_the_centre() {
        let chain = EffectChain::new(vec![Effect::Rotate(Rotate { degrees: 90.0 })]);
        assert_eq!(extent(&chain, 200, 100), (50, -50, 100, 200));
        let mut img = solid(4, 2, [255, 0, 0, 255]);
        img.put_pixel(0, 0, Px([0, 0, 255, 255]));
        let out = apply(&chain, img);
        assert_eq!(out.dimensions(), (2, 4));
        // Clockwise: the top-left corner goes to the top-right.
        assert_eq!(out.get_pixel(1, 0).0, [0, 0, 255, 255]);
        let odd = EffectChain::new(vec![Effect::Rotate(Rotate { degrees: 45.0 })]);
        let (_, _, w, h) = extent(&odd, 100, 100);
        assert_eq!((w, h), (142, 142));
        assert_eq!(
            apply(&odd, solid(100, 100, [9, 9, 9, 255])).dimensions(),
            (142, 142)
        );
    }

    #[test]
    fn corners_become_transparent_and_centre_stays() {
        let chain = EffectChain::new(vec![Effect::CornerRadius(CornerRadius { radius: 20 })]);
        let out = apply(&chain, solid(100, 60, [255, 255, 255, 255]));
        assert_eq!(out.get_pixel(0, 0).0[3], 0);
        assert_eq!(out.get_pixel(99, 59).0[3], 0);
        assert_eq!(out.get_pixel(50, 0).0[3], 255);
        assert_eq!(out.get_pixel(50, 30).0[3], 255);
    }

    #[test]
    fn chroma_key_removes_green_only() {
        let mut img = solid(4, 1, [0, 255, 0, 255]);
        img.put_pixel(1, 0, Px([255, 0, 0, 255]));
        img.put_pixel(2, 0, Px([30, 200, 40, 255]));
        chroma_key(
            &mut img,
            &ChromaKey {
                color: Rgba {
                    r: 0,
                    g: 255,
                    b: 0,
                    a: 255,
                },
                similarity: 0.4,
                smoothness: 0.08,
                spill: 0.1,
            },
        );
        assert_eq!(img.get_pixel(0, 0).0[3], 0);
        assert_eq!(img.get_pixel(1, 0).0, [255, 0, 0, 255]);
        assert_eq!(img.get_pixel(2, 0).0[3], 0);
    }

    #[test]
    fn shadow_grows_and_lies_under() {
        let s = Shadow {
            offset_x: 4,
            offset_y: 4,
            blur: 0,
            color: Rgba {
                r: 0,
                g: 0,
                b: 0,
                a: 255,
            },
        };
        let chain = EffectChain::new(vec![Effect::Shadow(s)]);
        assert_eq!(extent(&chain, 10, 10), (0, 0, 14, 14));
        let out = apply(&chain, solid(10, 10, [255, 255, 255, 255]));
        assert_eq!(out.get_pixel(2, 2).0, [255, 255, 255, 255]);
        assert_eq!(out.get_pixel(12, 12).0, [0, 0, 0, 255]);
        assert_eq!(out.get_pixel(12, 1).0[3], 0);
    }

    #[test]
    fn the_yuv_path_matches_the_rgba_path() {
        use super::super::canvas::Canvas;
        use super::super::yuv::rgb_to_yuv;
        // Green with a red block at the top left: keyed, rounded, bordered, turned, flipped.
        let mut c = Canvas::new(64, 32, rgb_to_yuv(0, 255, 0));
        let red = rgb_to_yuv(255, 0, 0);
        for y in 0..8 {
            for x in 0..16 {
                c.y[y * 64 + x] = red.y;
                c.u[(y / 2) * 32 + x / 2] = red.u;
                c.v[(y / 2) * 32 + x / 2] = red.v;
            }
        }
        let chain = EffectChain::new(vec![
            Effect::ChromaKey(ChromaKey {
                color: Rgba {
                    r: 0,
                    g: 255,
                    b: 0,
                    a: 255,
                },
                similarity: 0.4,
                smoothness: 0.08,
                spill: 0.1,
            }),
            Effect::Rotate(Rotate { degrees: 90.0 }),
            Effect::Flip(Flip {
                horizontal: false,
                vertical: true,
            }),
        ]);
        assert!(runs_on_yuv(&chain));
        let fast = frame_sprite(&chain, &c.view());
        let slow = Sprite::from_rgba(
            &apply(&chain, frame_to_rgba(&c.view())),
            Parity { x: 0, y: 0 },
        );
        assert_eq!((fast.width, fast.height), (32, 64));
        assert_eq!((slow.width, slow.height), (32, 64));
        // Turned clockwise then flipped vertically: the red block ends at the bottom right.
        for (x, y) in [(28, 60), (2, 2), (16, 30)] {
            let i = y * 32 + x;
            assert_eq!(fast.a[i], slow.a[i], "alpha at ({x},{y})");
            assert!(
                (i32::from(fast.y[i]) - i32::from(slow.y[i])).abs() <= 3,
                "luma at ({x},{y})"
            );
        }
        assert_eq!(fast.a[60 * 32 + 28], 255);
        assert_eq!(fast.a[2 * 32 + 2], 0);
    }

    #[test]
    fn a_blurred_frame_spreads_its_light_and_stays_opaque() {
        use super::super::canvas::Canvas;
        use super::super::yuv::{BLACK, rgb_to_yuv};
        let mut c = Canvas::new(32, 32, BLACK);
        let white = rgb_to_yuv(255, 255, 255);
        for y in 12..20 {
            for x in 12..20 {
                c.y[y * 32 + x] = white.y;
            }
        }
        let chain = EffectChain::new(vec![Effect::Blur(Blur { radius: 4 })]);
        assert!(runs_on_yuv(&chain));
        let s = frame_sprite(&chain, &c.view());
        assert!(s.opaque, "an opaque frame stays opaque");
        let (centre, near, far) = (s.y[16 * 32 + 16], s.y[16 * 32 + 10], s.y[16 * 32 + 1]);
        assert!(
            centre < white.y && centre > near && near > far,
            "{centre} {near} {far}"
        );
        assert_eq!(far, BLACK.y);
    }

    #[test]
    fn adjust_blur_flip_and_crop() {
        let mut img = solid(2, 1, [200, 100, 50, 255]);
        color_adjust(
            &mut img,
            &ColorAdjust {
                saturation: 0.0,
                ..ColorAdjust::default()
            },
        );
        let p = img.get_pixel(0, 0).0;
        assert!(p[0] == p[1] && p[1] == p[2], "{p:?}");
        let mut img = solid(9, 9, [0, 0, 0, 0]);
        img.put_pixel(4, 4, Px([255, 255, 255, 255]));
        let chain = EffectChain::new(vec![
            Effect::Blur(Blur { radius: 2 }),
            Effect::Flip(Flip {
                horizontal: true,
                vertical: false,
            }),
        ]);
        let out = apply(&chain, img);
        assert!(out.get_pixel(4, 4).0[3] < 255 && out.get_pixel(3, 4).0[3] > 0);
        assert_eq!(
            out.get_pixel(4, 4).0[0],
            255,
            "colour is kept under the blur"
        );
        let c = crop_source(
            &solid(10, 10, [1, 2, 3, 255]),
            Crop {
                left: 2,
                top: 1,
                right: 3,
                bottom: 0,
            },
        );
        assert_eq!(c.dimensions(), (5, 9));
    }
}
