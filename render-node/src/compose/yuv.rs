//! RGB → Y'CbCr conversion in the encoder's colour space (BT.709, limited range).
//!
//! Every layer is converted once, when it is prepared, so the per-frame path never touches
//! RGB. The output caps say `colorimetry=bt709` so decoders convert back with the same matrix.

/// A colour in limited-range BT.709 Y'CbCr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yuv {
    pub y: u8,
    pub u: u8,
    pub v: u8,
}

/// Canvas background: opaque black.
pub const BLACK: Yuv = Yuv {
    y: 16,
    u: 128,
    v: 128,
};

/// Converts one sRGB pixel. Fixed point (16 fractional bits) keeps this exact enough and fast.
#[inline]
pub fn rgb_to_yuv(r: u8, g: u8, b: u8) -> Yuv {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    // Coefficients are BT.709 scaled to 219 (luma) and 224 (chroma) steps, times 65536.
    let y = (11966 * r + 40254 * g + 4064 * b + (16 << 16) + 32768) >> 16;
    let u = (-6596 * r - 22189 * g + 28785 * b + (128 << 16) + 32768) >> 16;
    let v = (28785 * r - 26145 * g - 2640 * b + (128 << 16) + 32768) >> 16;
    Yuv {
        y: y.clamp(0, 255) as u8,
        u: u.clamp(0, 255) as u8,
        v: v.clamp(0, 255) as u8,
    }
}

/// Converts back to sRGB; tests and snapshots use it to reason in the tenant's colours.
pub fn yuv_to_rgb(c: Yuv) -> [u8; 3] {
    let y = (f64::from(c.y) - 16.0) * 255.0 / 219.0;
    let u = (f64::from(c.u) - 128.0) * 255.0 / 224.0;
    let v = (f64::from(c.v) - 128.0) * 255.0 / 224.0;
    let r = y + 1.5748 * v;
    let g = y - 0.1873 * u - 0.4681 * v;
    let b = y + 1.8556 * u;
    [r, g, b].map(|x| x.round().clamp(0.0, 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primaries_round_trip_closely() {
        for rgb in [
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [255, 255, 255],
            [0, 0, 0],
            [200, 100, 50],
        ] {
            let back = yuv_to_rgb(rgb_to_yuv(rgb[0], rgb[1], rgb[2]));
            for i in 0..3 {
                assert!(
                    (i32::from(back[i]) - i32::from(rgb[i])).abs() <= 3,
                    "{rgb:?} -> {back:?}"
                );
            }
        }
        assert_eq!(rgb_to_yuv(0, 0, 0), BLACK);
        assert_eq!(
            rgb_to_yuv(255, 255, 255),
            Yuv {
                y: 235,
                u: 128,
                v: 128
            }
        );
    }
}
