//! Image layers: fetched, decoded with the `image` crate (PNG, JPEG, WebP; alpha kept) and
//! shared between layers and streams by content hash.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use image::RgbaImage;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use super::fetch::{MAX_FETCH_BYTES, fetch};
use super::guard::MAX_DECODED_PIXELS;
use crate::error::{RenderError, Result};

/// Largest decoded image side we accept; with [`MAX_DECODED_PIXELS`], a tiny file cannot
/// expand into gigabytes.
const MAX_SIDE: u32 = 8192;
/// Entries kept before the cache is emptied; layers hold their own `Arc`s, so clearing is safe.
const MAX_ENTRIES: usize = 256;

/// Decoded images by content hash, and the hash last seen at each URL.
#[derive(Debug, Default)]
pub struct ImageCache {
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    by_hash: HashMap<[u8; 32], Arc<RgbaImage>>,
    by_url: HashMap<String, [u8; 32]>,
}

impl ImageCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The decoded image at `uri`, from the cache when this URL was read before.
    pub fn load(&self, uri: &str) -> Result<Arc<RgbaImage>> {
        if let Some(img) = self.cached_url(uri) {
            return Ok(img);
        }
        let bytes = fetch(uri, MAX_FETCH_BYTES, Duration::from_secs(10))?;
        let img = self.decode(uri, &bytes)?;
        Ok(img)
    }

    fn cached_url(&self, uri: &str) -> Option<Arc<RgbaImage>> {
        let inner = self.inner.lock();
        let hash = inner.by_url.get(uri)?;
        inner.by_hash.get(hash).cloned()
    }

    /// Decodes `bytes` (or returns the image already decoded from the same bytes).
    pub fn decode(&self, uri: &str, bytes: &[u8]) -> Result<Arc<RgbaImage>> {
        let hash: [u8; 32] = Sha256::digest(bytes).into();
        {
            let mut inner = self.inner.lock();
            if let Some(img) = inner.by_hash.get(&hash).cloned() {
                inner.by_url.insert(uri.to_owned(), hash);
                return Ok(img);
            }
        }
        let img = Arc::new(decode_rgba(uri, bytes)?);
        let mut inner = self.inner.lock();
        if inner.by_hash.len() >= MAX_ENTRIES {
            inner.by_hash.clear();
            inner.by_url.clear();
        }
        inner.by_hash.insert(hash, img.clone());
        inner.by_url.insert(uri.to_owned(), hash);
        Ok(img)
    }
}

/// Decodes PNG, JPEG or WebP bytes into straight-alpha RGBA.
pub fn decode_rgba(uri: &str, bytes: &[u8]) -> Result<RgbaImage> {
    let fail = |reason: String| RenderError::Decode {
        url: uri.to_owned(),
        reason,
    };
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| fail(e.to_string()))?;
    let (w, h) = reader.into_dimensions().map_err(|e| fail(e.to_string()))?;
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(fail(format!(
            "{w}x{h} is outside 1..={MAX_SIDE} pixels a side"
        )));
    }
    if u64::from(w) * u64::from(h) > MAX_DECODED_PIXELS {
        return Err(RenderError::MediaRefused(format!(
            "the image is {w}x{h}, over the limit of {MAX_DECODED_PIXELS} pixels (4096x4096)"
        )));
    }
    let img = image::load_from_memory(bytes).map_err(|e| fail(e.to_string()))?;
    Ok(img.to_rgba8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_decode_error_and_png_round_trips() {
        let c = ImageCache::new();
        assert!(matches!(
            c.decode("x", b"not an image"),
            Err(RenderError::Decode { .. })
        ));
        let mut png = Vec::new();
        let img = RgbaImage::from_pixel(3, 2, image::Rgba([1, 2, 3, 4]));
        image::DynamicImage::ImageRgba8(img.clone())
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let a = c.decode("a", &png).unwrap();
        let b = c.decode("b", &png).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*a, img);
    }
}
