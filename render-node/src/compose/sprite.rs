//! A static layer prepared once per change: premultiplied I420 planes plus alpha planes.
//!
//! This is the "layer composition cache": decoding, scaling and colour conversion happen
//! here, once, and the per-frame work is a single premultiplied blend over the sprite's own
//! rectangle. Sprites are built for a given position parity so their chroma lines up with
//! the canvas's 2×2 chroma grid: a layer at an odd x gets one transparent column in front.

use image::RgbaImage;
use shared::color::Rgba;

use super::yuv::rgb_to_yuv;

/// A layer's pixels, ready to blend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sprite {
    /// Even width, including the parity padding.
    pub width: usize,
    /// Even height, including the parity padding.
    pub height: usize,
    /// Luma premultiplied by alpha.
    pub y: Vec<u8>,
    /// Per-pixel alpha.
    pub a: Vec<u8>,
    /// Chroma premultiplied by alpha, one sample per 2×2 block.
    pub u: Vec<u8>,
    pub v: Vec<u8>,
    /// Mean alpha of each 2×2 block.
    pub ac: Vec<u8>,
    /// Every pixel fully opaque: blending is a copy.
    pub opaque: bool,
    /// Every pixel fully transparent: nothing to draw.
    pub empty: bool,
}

/// Offsets within a 2×2 block (0 or 1 each) that the sprite must be shifted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parity {
    pub x: usize,
    pub y: usize,
}

impl Parity {
    /// The parity of a canvas position.
    pub fn of(x: i32, y: i32) -> Self {
        Parity {
            x: (x & 1) as usize,
            y: (y & 1) as usize,
        }
    }
}

impl Sprite {
    /// Prepares straight-alpha RGBA pixels (already at the layer's size).
    pub fn from_rgba(img: &RgbaImage, parity: Parity) -> Self {
        let (iw, ih) = (img.width() as usize, img.height() as usize);
        Self::build(iw, ih, parity, |x, y| {
            let p = img.get_pixel(x as u32, y as u32).0;
            (p[0], p[1], p[2], p[3])
        })
    }

    /// Prepares a rectangle of one colour.
    pub fn solid(width: usize, height: usize, color: Rgba, parity: Parity) -> Self {
        Self::build(width, height, parity, |_, _| {
            (color.r, color.g, color.b, color.a)
        })
    }

    fn build(
        iw: usize,
        ih: usize,
        parity: Parity,
        px: impl Fn(usize, usize) -> (u8, u8, u8, u8),
    ) -> Self {
        let width = (iw + parity.x).next_multiple_of(2);
        let height = (ih + parity.y).next_multiple_of(2);
        let (cw, ch) = (width / 2, height / 2);
        let mut s = Sprite {
            width,
            height,
            y: vec![0; width * height],
            a: vec![0; width * height],
            u: vec![0; cw * ch],
            v: vec![0; cw * ch],
            ac: vec![0; cw * ch],
            opaque: true,
            empty: true,
        };
        // Sums of premultiplied chroma and alpha per 2×2 block, averaged afterwards.
        let mut su = vec![0u32; cw * ch];
        let mut sv = vec![0u32; cw * ch];
        let mut sa = vec![0u32; cw * ch];
        for y in 0..height {
            for x in 0..width {
                let inside =
                    x >= parity.x && y >= parity.y && x - parity.x < iw && y - parity.y < ih;
                let (r, g, b, a) = if inside {
                    px(x - parity.x, y - parity.y)
                } else {
                    (0, 0, 0, 0)
                };
                s.opaque &= a == 255;
                s.empty &= a == 0;
                let c = rgb_to_yuv(r, g, b);
                let i = y * width + x;
                s.y[i] = premul(c.y, a);
                s.a[i] = a;
                let ci = (y / 2) * cw + x / 2;
                su[ci] += u32::from(c.u) * u32::from(a);
                sv[ci] += u32::from(c.v) * u32::from(a);
                sa[ci] += u32::from(a);
            }
        }
        for ci in 0..cw * ch {
            // Premultiplied mean over the block: sum(c*a)/255/4, rounded.
            s.u[ci] = ((su[ci] + 510) / 1020).min(255) as u8;
            s.v[ci] = ((sv[ci] + 510) / 1020).min(255) as u8;
            s.ac[ci] = ((sa[ci] + 2) / 4).min(255) as u8;
        }
        s
    }
}

#[inline]
fn premul(c: u8, a: u8) -> u8 {
    ((u32::from(c) * u32::from(a) + 127) / 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_parity_pads_with_transparency() {
        let s = Sprite::solid(
            3,
            3,
            Rgba {
                r: 255,
                g: 0,
                b: 0,
                a: 255,
            },
            Parity { x: 1, y: 1 },
        );
        assert_eq!((s.width, s.height), (4, 4));
        assert_eq!(s.a[0], 0);
        assert_eq!(s.a[5], 255);
        assert!(!s.opaque && !s.empty);
        let s = Sprite::solid(
            4,
            2,
            Rgba {
                r: 1,
                g: 2,
                b: 3,
                a: 255,
            },
            Parity { x: 0, y: 0 },
        );
        assert!(s.opaque);
    }
}
