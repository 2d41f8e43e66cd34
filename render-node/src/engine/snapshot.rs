//! A JPEG of the frame on air, for previews and thumbnails in the API.

use image::codecs::jpeg::JpegEncoder;

use crate::compose::yuv::{Yuv, yuv_to_rgb};
use crate::error::{RenderError, Result};

/// Encodes a tightly packed I420 frame of `width`×`height` (even) as JPEG at `quality`
/// (1..=100).
pub fn i420_to_jpeg(data: &[u8], width: usize, height: usize, quality: u8) -> Result<Vec<u8>> {
    let (ys, cs) = (width * height, (width / 2) * (height / 2));
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) || data.len() < ys + 2 * cs {
        return Err(RenderError::InvalidSpec(format!(
            "frame of {} bytes is not {width}x{height} I420",
            data.len()
        )));
    }
    let (y, rest) = data.split_at(ys);
    let (u, v) = rest.split_at(cs);
    let mut rgb = Vec::with_capacity(ys * 3);
    for row in 0..height {
        for col in 0..width {
            let ci = (row / 2) * (width / 2) + col / 2;
            rgb.extend_from_slice(&yuv_to_rgb(Yuv {
                y: y[row * width + col],
                u: u[ci],
                v: v[ci],
            }));
        }
    }
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode(
            &rgb,
            width as u32,
            height as u32,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| RenderError::Decode {
            url: "snapshot".into(),
            reason: e.to_string(),
        })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_frame_that_decodes_back() {
        let (w, h) = (16, 8);
        let mut frame = vec![235u8; w * h];
        frame.extend(vec![128u8; w * h / 2]);
        let jpeg = i420_to_jpeg(&frame, w, h, 90).unwrap();
        let img = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (16, 8));
        assert!(img.get_pixel(3, 3).0.iter().all(|c| *c > 240));
        assert!(i420_to_jpeg(&frame[..10], w, h, 90).is_err());
    }
}
