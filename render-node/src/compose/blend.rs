//! Per-frame blending, each over the layer's own rectangle only.
//!
//! All maths is premultiplied "over" in 8-bit integers: `out = src' + dst * (255 - a') / 255`,
//! where `src'` and `a'` already carry the layer's opacity. Rows are plain slice loops the
//! compiler vectorises.

use super::canvas::{Canvas, PlanarView};
use super::sprite::Sprite;

/// `x / 255`, rounded, for `x <= 255 * 255 + 255`.
#[inline(always)]
fn div255(x: u16) -> u16 {
    let x = x + 128;
    (x + (x >> 8)) >> 8
}

/// The part of a `w`×`h` box at (`x`,`y`) that lies on the canvas:
/// (source x, source y, canvas x, canvas y, width, height). Positions are even.
fn clip(
    canvas: &Canvas,
    x: i32,
    y: i32,
    w: usize,
    h: usize,
) -> Option<(usize, usize, usize, usize, usize, usize)> {
    let (cw, ch) = (canvas.width as i64, canvas.height as i64);
    let (x, y, w, h) = (i64::from(x), i64::from(y), w as i64, h as i64);
    let x0 = x.max(0);
    let y0 = y.max(0);
    let x1 = (x + w).min(cw);
    let y1 = (y + h).min(ch);
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    Some((
        (x0 - x) as usize,
        (y0 - y) as usize,
        x0 as usize,
        y0 as usize,
        (x1 - x0) as usize,
        (y1 - y0) as usize,
    ))
}

#[inline(always)]
fn over_row(dst: &mut [u8], src: &[u8], alpha: &[u8]) {
    for ((d, &s), &a) in dst.iter_mut().zip(src).zip(alpha) {
        let v = u16::from(s) + div255(u16::from(*d) * (255 - u16::from(a)));
        *d = v.min(255) as u8;
    }
}

#[inline(always)]
fn over_row_faded(dst: &mut [u8], src: &[u8], alpha: &[u8], o: u16) {
    for ((d, &s), &a) in dst.iter_mut().zip(src).zip(alpha) {
        let s = div255(u16::from(s) * o);
        let a = div255(u16::from(a) * o);
        let v = s + div255(u16::from(*d) * (255 - a));
        *d = v.min(255) as u8;
    }
}

#[inline(always)]
fn mix_row(dst: &mut [u8], src: &[u8], o: u16) {
    let inv = 255 - o;
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = div255(u16::from(s) * o + u16::from(*d) * inv) as u8;
    }
}

/// Blends a sprite whose top-left corner (parity padding included) is at the even
/// position (`x`,`y`), at `opacity` (0..=255).
pub fn blend_sprite(canvas: &mut Canvas, s: &Sprite, x: i32, y: i32, opacity: u8) {
    if s.empty || opacity == 0 {
        return;
    }
    let Some((sx, sy, dx, dy, w, h)) = clip(canvas, x, y, s.width, s.height) else {
        return;
    };
    let o = u16::from(opacity);
    let cwid = canvas.width;
    for row in 0..h {
        let d = (dy + row) * cwid + dx;
        let si = (sy + row) * s.width + sx;
        let dst = &mut canvas.y[d..d + w];
        let src = &s.y[si..si + w];
        if s.opaque && opacity == 255 {
            dst.copy_from_slice(src);
        } else if opacity == 255 {
            over_row(dst, src, &s.a[si..si + w]);
        } else {
            over_row_faded(dst, src, &s.a[si..si + w], o);
        }
    }
    let (ccw, scw) = (cwid / 2, s.width / 2);
    let (sx, sy, dx, dy, w, h) = (sx / 2, sy / 2, dx / 2, dy / 2, w / 2, h / 2);
    for row in 0..h {
        let d = (dy + row) * ccw + dx;
        let si = (sy + row) * scw + sx;
        let alpha = &s.ac[si..si + w];
        for (dplane, splane) in [(&mut canvas.u, &s.u), (&mut canvas.v, &s.v)] {
            let dst = &mut dplane[d..d + w];
            let src = &splane[si..si + w];
            if s.opaque && opacity == 255 {
                dst.copy_from_slice(src);
            } else if opacity == 255 {
                over_row(dst, src, alpha);
            } else {
                over_row_faded(dst, src, alpha, o);
            }
        }
    }
}

/// Blends an opaque planar frame (a video) at the even position (`x`,`y`), at `opacity`.
pub fn blend_frame(canvas: &mut Canvas, f: &PlanarView<'_>, x: i32, y: i32, opacity: u8) {
    if opacity == 0 || !f.is_consistent() {
        return;
    }
    // Only whole 2×2 blocks are drawn so chroma stays aligned.
    let (fw, fh) = (f.width & !1, f.height & !1);
    let Some((sx, sy, dx, dy, w, h)) = clip(canvas, x & !1, y & !1, fw, fh) else {
        return;
    };
    let o = u16::from(opacity);
    let cwid = canvas.width;
    for row in 0..h {
        let d = (dy + row) * cwid + dx;
        let si = (sy + row) * f.y_stride + sx;
        let dst = &mut canvas.y[d..d + w];
        let src = &f.y[si..si + w];
        if opacity == 255 {
            dst.copy_from_slice(src);
        } else {
            mix_row(dst, src, o);
        }
    }
    let ccw = cwid / 2;
    let (sx, sy, dx, dy, w, h) = (sx / 2, sy / 2, dx / 2, dy / 2, w / 2, h / 2);
    for row in 0..h {
        let d = (dy + row) * ccw + dx;
        for (dplane, splane, stride) in [
            (&mut canvas.u, f.u, f.u_stride),
            (&mut canvas.v, f.v, f.v_stride),
        ] {
            let si = (sy + row) * stride + sx;
            let dst = &mut dplane[d..d + w];
            let src = &splane[si..si + w];
            if opacity == 255 {
                dst.copy_from_slice(src);
            } else {
                mix_row(dst, src, o);
            }
        }
    }
}

/// Cross-fades: `dst = dst * (1 - t) + other * t`, `t` in 0..=255. Both canvases match.
pub fn cross_fade(dst: &mut Canvas, other: &Canvas, t: u8) {
    let o = u16::from(t);
    mix_row(&mut dst.y, &other.y, o);
    mix_row(&mut dst.u, &other.u, o);
    mix_row(&mut dst.v, &other.v, o);
}

/// Slides: the first `shift` columns of `dst` leave to the left and `incoming` enters from
/// the right by the same amount. `shift` is even and at most the width.
pub fn slide(dst: &mut Canvas, incoming: &Canvas, shift: usize) {
    let shift = shift.min(dst.width) & !1;
    let w = dst.width;
    for row in 0..dst.height {
        let line = &mut dst.y[row * w..(row + 1) * w];
        line.copy_within(shift.., 0);
        line[w - shift..].copy_from_slice(&incoming.y[row * w..row * w + shift]);
    }
    let (cw, cs) = (w / 2, shift / 2);
    for row in 0..dst.height / 2 {
        for (d, s) in [(&mut dst.u, &incoming.u), (&mut dst.v, &incoming.v)] {
            let line = &mut d[row * cw..(row + 1) * cw];
            line.copy_within(cs.., 0);
            line[cw - cs..].copy_from_slice(&s[row * cw..row * cw + cs]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::sprite::Parity;
    use crate::compose::yuv::{BLACK, rgb_to_yuv};
    use shared::color::Rgba;

    #[test]
    fn div255_is_exact_enough() {
        for x in 0..=(255u32 * 255) {
            let exact = (x as f64 / 255.0).round() as i64;
            assert!((i64::from(div255(x as u16)) - exact).abs() <= 1, "{x}");
        }
    }

    #[test]
    fn half_opacity_white_over_black_is_mid_grey() {
        let mut c = Canvas::new(8, 8, BLACK);
        let s = Sprite::solid(4, 4, Rgba::WHITE, Parity { x: 0, y: 0 });
        blend_sprite(&mut c, &s, 2, 2, 128);
        let p = c.pixel(3, 3);
        assert!((i32::from(p.y) - 126).abs() <= 2, "{p:?}");
        assert_eq!(c.pixel(0, 0), BLACK);
        assert_eq!(c.pixel(6, 6), BLACK);
    }

    #[test]
    fn clipped_sprite_off_canvas_edges() {
        let mut c = Canvas::new(8, 8, BLACK);
        let red = Rgba {
            r: 255,
            g: 0,
            b: 0,
            a: 255,
        };
        let s = Sprite::solid(6, 6, red, Parity { x: 0, y: 0 });
        blend_sprite(&mut c, &s, -4, 6, 255);
        assert_eq!(c.pixel(0, 7), rgb_to_yuv(255, 0, 0));
        assert_eq!(c.pixel(2, 7), BLACK);
        blend_sprite(&mut c, &s, 100, 100, 255);
        blend_sprite(&mut c, &s, -100, -100, 255);
    }

    #[test]
    fn slide_moves_columns() {
        let mut a = Canvas::new(8, 2, BLACK);
        let white = rgb_to_yuv(255, 255, 255);
        let b = Canvas::new(8, 2, white);
        slide(&mut a, &b, 4);
        assert_eq!(a.pixel(3, 0), BLACK);
        assert_eq!(a.pixel(4, 0), white);
    }
}
